// WebAssembly numeric semantics the C++ operators don't give directly, shared by every tier.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>

#include "runtime/trap.hpp"

namespace tollgate::runtime::numerics {

// https://webassembly.github.io/spec/core/exec/numerics.html#op-fmin: a NaN operand gives a
// NaN (the sum quiets it and keeps an input's payload, an arithmetic NaN), and -0 < +0.
template <typename F>
inline F wasm_min(F a, F b) {
  if (std::isnan(a) || std::isnan(b))
    return a + b;
  if (a == b)
    return std::signbit(a) ? a : b;
  return a < b ? a : b;
}
template <typename F>
inline F wasm_max(F a, F b) {
  if (std::isnan(a) || std::isnan(b))
    return a + b;
  if (a == b)
    return std::signbit(a) ? b : a;
  return a > b ? a : b;
}

// libm's rounding functions may return a signalling NaN unchanged; wasm needs a quiet
// (arithmetic) NaN, which adding the NaN to itself gives.
template <typename F, typename Op>
inline F round_op(F x, Op op) {
  return std::isnan(x) ? x + x : op(x);
}

// Bounds of the trapping float-to-int truncations: the input is in range iff lo < x < hi, both
// exact in double (an f32 promotes to double exactly).
template <typename Int>
struct TruncRange;
template <>
struct TruncRange<int32_t> {
  static constexpr double lo = -2147483649.0, hi = 2147483648.0;
};
template <>
struct TruncRange<uint32_t> {
  static constexpr double lo = -1.0, hi = 4294967296.0;
};
template <>
struct TruncRange<int64_t> {
  // -2^63 itself is representable, so the exclusive bound is the next double below it.
  static constexpr double lo = -9223372036854777856.0, hi = 9223372036854775808.0;
};
template <>
struct TruncRange<uint64_t> {
  static constexpr double lo = -1.0, hi = 18446744073709551616.0;
};

// 0 on success, else the trap.
template <typename Int>
inline std::optional<TrapKind> trunc_checked(double x, Int& out) {
  if (std::isnan(x))
    return TrapKind::invalid_conversion_to_integer;
  if (!(x > TruncRange<Int>::lo && x < TruncRange<Int>::hi))
    return TrapKind::integer_overflow;
  out = static_cast<Int>(x);
  return std::nullopt;
}

template <typename Int>
inline Int trunc_sat(double x) {
  if (std::isnan(x))
    return 0;
  if (!(x > TruncRange<Int>::lo))
    return std::numeric_limits<Int>::min();
  if (!(x < TruncRange<Int>::hi))
    return std::numeric_limits<Int>::max();
  return static_cast<Int>(x);
}

}  // namespace tollgate::runtime::numerics
