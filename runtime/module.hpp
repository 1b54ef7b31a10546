// A decoded, validated and lowered module: immutable, shared by any number of instances and threads.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/base/result.hpp"
#include "runtime/ir.hpp"
#include "runtime/types.hpp"
#include "runtime/value.hpp"

namespace tollgate::runtime {

/// A constant expression (https://webassembly.github.io/spec/core/valid/instructions.html#constant-expressions).
/// In 2.0 it is one instruction: a constant (`value`, which also covers ref.null), `global.get`
/// of an imported global, or `ref.func`.
struct ConstExpr {
  enum class Kind : uint8_t { value, global_get, ref_func };
  Kind kind = Kind::value;
  Value value;         ///< for Kind::value
  uint32_t index = 0;  ///< GlobalIdx or FuncIdx
};

struct Import {
  std::string module;
  std::string name;
  ExternKind kind = ExternKind::func;
  TypeIdx func_type = 0;  ///< kind == func
  TableType table;        ///< kind == table
  MemoryType memory;      ///< kind == memory
  GlobalType global;      ///< kind == global
};

struct Export {
  std::string name;
  ExternKind kind = ExternKind::func;
  uint32_t index = 0;
};

enum class SegmentMode : uint8_t { active, passive, declarative };

struct ElemSegment {
  SegmentMode mode = SegmentMode::active;
  ValType type = ValType::funcref;
  TableIdx table = 0;
  ConstExpr offset;              ///< active only; an i32 expression
  std::vector<ConstExpr> items;  ///< each yields a reference of `type`
};

struct DataSegment {
  SegmentMode mode = SegmentMode::active;  ///< active or passive
  MemIdx memory = 0;
  ConstExpr offset;  ///< active only
  std::vector<uint8_t> bytes;
};

struct CustomSection {
  std::string name;
  std::vector<uint8_t> bytes;  ///< the payload after the name
  uint32_t offset = 0;         ///< of the payload in the module binary
};

/// What the `name` custom section says, for diagnostics. A malformed name section is ignored
/// (the spec makes custom sections non-normative).
struct NameSection {
  std::string module_name;
  std::map<FuncIdx, std::string> function_names;
};

struct Module {
  std::vector<FuncType> types;
  std::vector<uint32_t> type_ids;  ///< intern_func_type() of each entry of `types`
  std::vector<Import> imports;

  // Index spaces: imported entities first, in import order, then the defined ones.
  std::vector<TypeIdx> funcs;
  std::vector<TableType> tables;
  std::vector<MemoryType> memories;
  std::vector<GlobalType> globals;
  uint32_t num_imported_funcs = 0;
  uint32_t num_imported_tables = 0;
  uint32_t num_imported_memories = 0;
  uint32_t num_imported_globals = 0;

  std::vector<ConstExpr> global_inits;  ///< one per defined global
  std::vector<Export> exports;
  std::optional<FuncIdx> start;
  std::vector<ElemSegment> elems;
  std::vector<DataSegment> datas;
  std::optional<uint32_t> data_count;
  /// Lowered bodies of the defined functions: `codes[i]` is function `num_imported_funcs + i`.
  std::vector<ir::FuncCode> codes;
  std::vector<CustomSection> customs;  ///< every custom section, in module order
  NameSection names;
  /// A compiling tier's code for the whole module, or its refusal (runtime/executor.hpp).
  ir::TierCache tier_code;

  const FuncType& func_type(FuncIdx f) const { return types[funcs[f]]; }
  const ir::FuncCode& code(FuncIdx f) const { return codes[f - num_imported_funcs]; }
  const Export* find_export(std::string_view name) const;
  /// The payload of the first custom section with this name, if any.
  const CustomSection* find_custom(std::string_view name) const;
  /// "$name" from the name section, or "func[N]".
  std::string func_display_name(FuncIdx f) const;
};

/// Decodes, validates and lowers a binary module. Every failure is an Error value of kind
/// `malformed` or `invalid` (or `resource` for our own limits) with the byte offset where it was
/// found; no input crashes, hangs or allocates without bound.
Result<std::shared_ptr<const Module>> decode_module(std::span<const uint8_t> bytes);

}  // namespace tollgate::runtime
