// The WebAssembly type model: value types, function, table, memory and global types, index aliases.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tollgate::runtime {

/// https://webassembly.github.io/spec/core/binary/types.html#value-types — the enumerator values
/// are the binary encodings.
enum class ValType : uint8_t {
  i32 = 0x7F,
  i64 = 0x7E,
  f32 = 0x7D,
  f64 = 0x7C,
  v128 = 0x7B,
  funcref = 0x70,
  externref = 0x6F,
};

const char* val_type_name(ValType type);
inline bool is_ref(ValType t) { return t == ValType::funcref || t == ValType::externref; }
inline bool is_num(ValType t) { return !is_ref(t) && t != ValType::v128; }
/// Interpreter value-stack slots (8 bytes each) a value of this type occupies.
inline uint32_t slot_count(ValType t) { return t == ValType::v128 ? 2 : 1; }

// Index spaces, https://webassembly.github.io/spec/core/syntax/modules.html#indices
using TypeIdx = uint32_t;    ///< into Module::types
using FuncIdx = uint32_t;    ///< imported functions first, then defined ones
using TableIdx = uint32_t;   ///< imported tables first
using MemIdx = uint32_t;     ///< imported memory first (at most one in 2.0)
using GlobalIdx = uint32_t;  ///< imported globals first
using ElemIdx = uint32_t;    ///< into Module::elems
using DataIdx = uint32_t;    ///< into Module::datas
using LocalIdx = uint32_t;   ///< parameters first, then declared locals
using LabelIdx = uint32_t;   ///< relative block depth of a branch

/// https://webassembly.github.io/spec/core/syntax/types.html#function-types
struct FuncType {
  std::vector<ValType> params;
  std::vector<ValType> results;
  bool operator==(const FuncType&) const = default;
};

std::string to_string(const FuncType& type);

/// Interns a function type process-wide and returns its canonical id: two types are equal iff
/// their ids are, which makes call_indirect's signature check one integer compare even across
/// modules. Thread-safe; ids are never reused.
uint32_t intern_func_type(const FuncType& type);

/// https://webassembly.github.io/spec/core/syntax/types.html#limits
struct Limits {
  uint32_t min = 0;
  std::optional<uint32_t> max;
};

struct TableType {
  ValType elem = ValType::funcref;
  Limits limits;
};

struct MemoryType {
  Limits limits;  ///< in pages
};

struct GlobalType {
  ValType type = ValType::i32;
  bool mutable_ = false;
};

/// https://webassembly.github.io/spec/core/binary/modules.html#export-section (kind bytes)
enum class ExternKind : uint8_t { func = 0, table = 1, memory = 2, global = 3 };
const char* extern_kind_name(ExternKind kind);

}  // namespace tollgate::runtime
