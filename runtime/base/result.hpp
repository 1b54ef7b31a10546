// Load errors as values: Error{kind, offset, message} and Result<T>, never thrown (house-style 2.3).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace tollgate::runtime {

/// The spec's failure categories, one per assertion kind of the official test suite, plus the
/// embedder's own. Callers branch on the kind, never on the message text.
enum class ErrorKind : uint8_t {
  malformed,       ///< bytes are not a module (spec: assert_malformed)
  invalid,         ///< decodes, but fails validation (spec: assert_invalid)
  unlinkable,      ///< imports missing or of the wrong type (spec: assert_unlinkable)
  uninstantiable,  ///< a trap while initialising segments or running start (assert_uninstantiable)
  resource,        ///< over one of our limits (memory pages, table size, instance memory budget)
  unsupported,     ///< valid, but this build cannot run it (e.g. a tier lacking an operation)
};

const char* error_kind_name(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::malformed;
  uint32_t offset = 0;  ///< byte offset in the module binary where the problem was found
  std::string message;
};

/// Either a value or an Error. `[[nodiscard]]` so an ignored failure is a compile warning.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}
  Result(Error error) : state_(std::move(error)) {}

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(state_); }
  Error&& take_error() { return std::get<1>(std::move(state_)); }

 private:
  std::variant<T, Error> state_;
};

/// Success-or-Error for operations that produce nothing.
struct Ok {};
using Status = Result<Ok>;

}  // namespace tollgate::runtime

/// Propagates an Error from an expression yielding Result<T> or Status (wabt CHECK_RESULT).
#define TG_TRY(expr)                     \
  do {                                   \
    auto tg_try_result_ = (expr);        \
    if (!tg_try_result_.ok())            \
      return tg_try_result_.take_error(); \
  } while (0)
