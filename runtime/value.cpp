// Text form of values for the CLI and test diagnostics.
// SPDX-License-Identifier: Apache-2.0
#include "runtime/value.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace tollgate::runtime {
namespace {

template <typename Float, typename Bits>
std::string float_text(Float f, Bits bits, Bits mantissa_mask) {
  if (std::isnan(f)) {
    // The payload matters to wasm (canonical vs arithmetic NaN), so it is shown unless canonical.
    std::string s = std::signbit(f) ? "-nan" : "nan";
    Bits payload = bits & mantissa_mask;
    if (payload != (mantissa_mask / 2 + 1)) {
      char buf[32];
      std::snprintf(buf, sizeof buf, ":0x%llx", static_cast<unsigned long long>(payload));
      s += buf;
    }
    return s;
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, f);
  if (ec != std::errc())
    return "?";
  return std::string(buf, end);
}

std::string ref_text(RefBits r) {
  if (r == 0)
    return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(r));
  return buf;
}

}  // namespace

std::string to_string(const Value& value) {
  std::string out = val_type_name(value.type);
  out += ':';
  switch (value.type) {
    case ValType::i32:
      out += std::to_string(static_cast<int32_t>(value.i32));
      break;
    case ValType::i64:
      out += std::to_string(static_cast<int64_t>(value.i64));
      break;
    case ValType::f32:
      out += float_text(value.f32(), value.f32_bits, uint32_t{0x7FFFFF});
      break;
    case ValType::f64:
      out += float_text(value.f64(), value.f64_bits, uint64_t{0xFFFFFFFFFFFFF});
      break;
    case ValType::v128: {
      char buf[48];
      std::snprintf(buf, sizeof buf, "0x%016llx%016llx",
                    static_cast<unsigned long long>(value.v128.u64[1]),
                    static_cast<unsigned long long>(value.v128.u64[0]));
      out += buf;
      break;
    }
    case ValType::funcref:
    case ValType::externref:
      out += ref_text(value.ref);
      break;
  }
  return out;
}

}  // namespace tollgate::runtime
