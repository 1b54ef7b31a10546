// Typed values at the embedding boundary (the interpreter's stack holds untyped 8-byte slots).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>

#include "runtime/types.hpp"

namespace tollgate::runtime {

struct Function;

/// 128 bits, little-endian lanes, as the SIMD proposal lays them out.
struct V128 {
  std::array<uint64_t, 2> u64{};
  bool operator==(const V128&) const = default;
};

/// A reference: 0 is null. A funcref is a `Function*`; an externref is an opaque host word the
/// embedder chose (it must not be 0, which is null).
using RefBits = uintptr_t;

/// A value with its type. Floats are kept as bit patterns so NaN payloads survive round trips.
struct Value {
  ValType type = ValType::i32;
  union {
    uint32_t i32;
    uint64_t i64;
    uint32_t f32_bits;
    uint64_t f64_bits;
    RefBits ref;
    V128 v128;
  };

  Value() : v128{} {}
  static Value make_i32(uint32_t v) { Value r; r.type = ValType::i32; r.i32 = v; return r; }
  static Value make_i64(uint64_t v) { Value r; r.type = ValType::i64; r.i64 = v; return r; }
  static Value make_f32_bits(uint32_t v) { Value r; r.type = ValType::f32; r.f32_bits = v; return r; }
  static Value make_f64_bits(uint64_t v) { Value r; r.type = ValType::f64; r.f64_bits = v; return r; }
  static Value make_f32(float v) { return make_f32_bits(std::bit_cast<uint32_t>(v)); }
  static Value make_f64(double v) { return make_f64_bits(std::bit_cast<uint64_t>(v)); }
  static Value make_v128(V128 v) { Value r; r.type = ValType::v128; r.v128 = v; return r; }
  static Value make_ref(ValType t, RefBits bits) { Value r; r.type = t; r.ref = bits; return r; }
  static Value make_funcref(const Function* f) {
    return make_ref(ValType::funcref, reinterpret_cast<RefBits>(f));
  }
  /// The zero value of a type, which fresh locals and globals start with.
  static Value zero(ValType t) { Value r; r.type = t; return r; }

  float f32() const { return std::bit_cast<float>(f32_bits); }
  double f64() const { return std::bit_cast<double>(f64_bits); }
  bool is_null() const { return ref == 0; }
};

/// Formats a value the way `tollgate wasm run` prints it: `i32:42`, `f64:1.5`, `funcref:null`.
std::string to_string(const Value& value);

}  // namespace tollgate::runtime
