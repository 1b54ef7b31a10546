// Values to and from the 8-byte value-stack slots both tiers use (a v128 takes two).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>

#include "runtime/value.hpp"

namespace tollgate::runtime {

/// Reads a value of type `t` from the slots at `s`.
inline Value slot_to_value(ValType t, const uint64_t* s) {
  switch (t) {
    case ValType::i32:
      return Value::make_i32(static_cast<uint32_t>(s[0]));
    case ValType::f32:
      return Value::make_f32_bits(static_cast<uint32_t>(s[0]));
    case ValType::i64:
      return Value::make_i64(s[0]);
    case ValType::f64:
      return Value::make_f64_bits(s[0]);
    case ValType::v128: {
      V128 v;
      v.u64 = {s[0], s[1]};
      return Value::make_v128(v);
    }
    default:
      return Value::make_ref(t, static_cast<RefBits>(s[0]));
  }
}

/// Writes `v` to the slots at `s`; returns how many it wrote.
inline uint32_t value_to_slot(const Value& v, uint64_t* s) {
  switch (v.type) {
    case ValType::i32:
    case ValType::f32:
      s[0] = v.i32;
      return 1;
    case ValType::v128:
      s[0] = v.v128.u64[0];
      s[1] = v.v128.u64[1];
      return 2;
    default:
      s[0] = v.i64;
      return 1;
  }
}

}  // namespace tollgate::runtime
