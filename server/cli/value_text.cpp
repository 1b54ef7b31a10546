// Typed wasm values from command-line text, for `tollgate wasm run` arguments.
// SPDX-License-Identifier: Apache-2.0
#include "server/cli/value_text.hpp"

#include <bit>
#include <charconv>
#include <cstdint>
#include <limits>
#include <system_error>
#include <utility>

namespace tollgate::server::cli {
namespace {

using runtime::ValType;
using runtime::Value;

/// Removes a leading `-` or `+`; true for `-`.
bool take_sign(std::string_view& text) {
  if (text.empty() || (text[0] != '-' && text[0] != '+'))
    return false;
  bool negative = text[0] == '-';
  text.remove_prefix(1);
  return negative;
}

bool take_hex_prefix(std::string_view& text) {
  if (text.size() < 2 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
    return false;
  text.remove_prefix(2);
  return true;
}

/// All of `text` as an unsigned number in `base` (no sign, no prefix, no spaces).
std::optional<uint64_t> parse_digits(std::string_view text, int base) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [stop, ec] = std::from_chars(text.data(), end, value, base);
  if (text.empty() || ec != std::errc{} || stop != end)
    return std::nullopt;
  return value;
}

/// An integer of `bits` bits, from either its signed or its unsigned range, as raw bits.
std::optional<uint64_t> parse_int(std::string_view text, unsigned bits) {
  bool negative = take_sign(text);
  int base = take_hex_prefix(text) ? 16 : 10;
  auto magnitude = parse_digits(text, base);
  if (!magnitude)
    return std::nullopt;
  const uint64_t unsigned_max = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
  if (negative) {
    if (*magnitude > uint64_t{1} << (bits - 1))
      return std::nullopt;
    return (uint64_t{0} - *magnitude) & unsigned_max;
  }
  if (*magnitude > unsigned_max)
    return std::nullopt;
  return magnitude;
}

/// A float of type F (float or double) as its bit pattern, held in uint64_t.
template <typename F>
std::optional<uint64_t> parse_float(std::string_view text) {
  constexpr unsigned kBits = sizeof(F) * 8;
  constexpr unsigned kMantissaBits = std::numeric_limits<F>::digits - 1;
  constexpr uint64_t kExponentMask =
      ((uint64_t{1} << (kBits - 1)) - 1) & ~((uint64_t{1} << kMantissaBits) - 1);
  using Bits = std::conditional_t<kBits == 32, uint32_t, uint64_t>;

  bool negative = take_sign(text);
  const uint64_t sign = negative ? uint64_t{1} << (kBits - 1) : 0;
  if (text == "inf" || text == "infinity")
    return sign | kExponentMask;
  if (text == "nan")
    return sign | kExponentMask | (uint64_t{1} << (kMantissaBits - 1));
  if (text.starts_with("nan:")) {
    text.remove_prefix(4);
    if (!take_hex_prefix(text))
      return std::nullopt;
    auto payload = parse_digits(text, 16);
    if (!payload || *payload == 0 || *payload >= uint64_t{1} << kMantissaBits)
      return std::nullopt;
    return sign | kExponentMask | *payload;
  }
  auto format = take_hex_prefix(text) ? std::chars_format::hex : std::chars_format::general;
  // from_chars takes its own `-` and spellings of inf and nan; only the forms above are ours.
  if (text.empty() || !((text[0] >= '0' && text[0] <= '9') || text[0] == '.'))
    return std::nullopt;
  F value = 0;
  const char* end = text.data() + text.size();
  auto [stop, ec] = std::from_chars(text.data(), end, value, format);
  // Out of range (overflow, or underflow the library reports) is refused, as in the text format.
  if (ec != std::errc{} || stop != end)
    return std::nullopt;
  return sign | std::bit_cast<Bits>(value);
}

std::string describe(ValType type) {
  switch (type) {
    case ValType::i32:
      return "an i32 (a decimal or 0x-hex integer from -2147483648 to 4294967295)";
    case ValType::i64:
      return "an i64 (a decimal or 0x-hex integer from -9223372036854775808 to "
             "18446744073709551615)";
    case ValType::f32:
    case ValType::f64:
      return std::string("an ") + runtime::val_type_name(type) +
             " (a decimal or 0x-hex float, inf, nan or nan:0xPAYLOAD)";
    case ValType::funcref:
    case ValType::externref:
      return std::string("a ") + runtime::val_type_name(type) + " (only `null` can be given)";
    case ValType::v128:
      break;
  }
  return "a v128, which cannot be given on the command line";
}

}  // namespace

ParsedValue parse_value(ValType type, std::string_view text) {
  ParsedValue parsed;
  switch (type) {
    case ValType::i32:
      if (auto bits = parse_int(text, 32))
        parsed.value = Value::make_i32(static_cast<uint32_t>(*bits));
      break;
    case ValType::i64:
      if (auto bits = parse_int(text, 64))
        parsed.value = Value::make_i64(*bits);
      break;
    case ValType::f32:
      if (auto bits = parse_float<float>(text))
        parsed.value = Value::make_f32_bits(static_cast<uint32_t>(*bits));
      break;
    case ValType::f64:
      if (auto bits = parse_float<double>(text))
        parsed.value = Value::make_f64_bits(*bits);
      break;
    case ValType::funcref:
    case ValType::externref:
      if (text == "null")
        parsed.value = Value::make_ref(type, 0);
      break;
    case ValType::v128:
      break;
  }
  if (!parsed.value) {
    // Built by appending to a reserved string: gcc 12 warns falsely (-Wrestrict) otherwise.
    std::string error;
    error.reserve(text.size() + 128);
    error += '`';
    error.append(text);
    error.append("` is not ");
    error.append(describe(type));
    parsed.error = std::move(error);
  }
  return parsed;
}

}  // namespace tollgate::server::cli
