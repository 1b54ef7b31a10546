// The module decoder: sections, module-level validation, constant expressions, the name section.
// SPDX-License-Identifier: Apache-2.0
//
// https://webassembly.github.io/spec/core/binary/modules.html and
// https://webassembly.github.io/spec/core/valid/modules.html. Sections are decoded and validated
// in one pass: every section may only refer to what earlier sections declared, so each check can
// run as soon as its section is read. Function bodies go to runtime/func_decoder.cpp.
#include <algorithm>
#include <string_view>

#include "runtime/base/limits.hpp"
#include "runtime/decoder_func.hpp"
#include "runtime/module.hpp"

namespace tollgate::runtime {

namespace {

using detail::Reader;

enum SectionId : uint8_t {
  kCustom = 0,
  kType = 1,
  kImport = 2,
  kFunction = 3,
  kTable = 4,
  kMemory = 5,
  kGlobal = 6,
  kExport = 7,
  kStart = 8,
  kElement = 9,
  kCode = 10,
  kData = 11,
  kDataCount = 12,
};

/// Position of a section id in the required order (the data count section sits before code).
int section_rank(uint8_t id) {
  switch (id) {
    case kDataCount:
      return 10;
    case kCode:
      return 11;
    case kData:
      return 12;
    default:
      return id;
  }
}

bool is_val_type_byte(uint8_t b) {
  return b == 0x7F || b == 0x7E || b == 0x7D || b == 0x7C || b == 0x7B || b == 0x70 || b == 0x6F;
}

class ModuleDecoder {
 public:
  /// `syntax_only` decodes without validating, to tell a malformed module from an invalid one.
  ModuleDecoder(std::span<const uint8_t> bytes, Module& m, bool syntax_only)
      : r_(bytes.data(), bytes.data(), bytes.data() + bytes.size(), &error_),
        m_(m),
        syntax_only_(syntax_only) {}

  Error& error() { return error_; }

  bool decode() {
    if (r_.remaining() > kMaxModuleSize) {
      return r_.fail(ErrorKind::resource, 0, "module larger than the 1 GiB limit");
    }
    const uint8_t* p{};
    if (r_.remaining() < 4)
      return r_.malformed_at(0, "unexpected end: magic header not detected");
    r_.bytes(4, p);
    if (p[0] != 0 || p[1] != 'a' || p[2] != 's' || p[3] != 'm') {
      return r_.malformed_at(0, "magic header not detected");
    }
    if (r_.remaining() < 4)
      return r_.malformed_at(4, "unexpected end: unknown binary version");
    r_.bytes(4, p);
    if (p[0] != 1 || p[1] != 0 || p[2] != 0 || p[3] != 0) {
      return r_.malformed_at(4, "unknown binary version");
    }
    int last_rank = 0;
    while (!r_.eof()) {
      const uint32_t at = r_.offset();
      uint8_t id{};
      uint32_t size{};
      if (!r_.u8(id))
        return false;
      if (id > kDataCount)
        return r_.malformed_at(at, "malformed section id");
      if (!r_.u32(size))
        return false;
      if (size > r_.remaining()) {
        return r_.malformed_at(at, "length out of bounds: section size exceeds the module");
      }
      Reader s = r_.split(size);
      if (id != kCustom) {
        const int rank = section_rank(id);
        if (rank <= last_rank)
          return r_.malformed_at(at, "unexpected content after last section");
        last_rank = rank;
      }
      if (!section(id, s))
        return false;
      if (!s.eof())
        return s.malformed("section size mismatch");
    }
    const size_t defined = m_.funcs.size() - m_.num_imported_funcs;
    if (!saw_code_ && defined != 0) {
      return r_.malformed("function and code section have inconsistent lengths");
    }
    if (m_.data_count && !saw_data_ && *m_.data_count != 0) {
      return r_.malformed("data count and data section have inconsistent lengths");
    }
    if (data_use_.used) {
      if (data_use_.max_index >= m_.datas.size()) {
        if (syntax_only_)
          return true;
        return r_.invalid_at(data_use_.first_offset,
                             "unknown data segment " + std::to_string(data_use_.max_index));
      }
      return r_.malformed_at(data_use_.first_offset, "data count section required");
    }
    return true;
  }

 private:
  bool section(uint8_t id, Reader& s) {
    // C.refs grows as later sections name functions; size it to the function index space.
    declared_.resize(m_.funcs.size(), false);
    switch (id) {
      case kCustom:
        return custom_section(s);
      case kType:
        return type_section(s);
      case kImport:
        return import_section(s);
      case kFunction:
        return function_section(s);
      case kTable:
        return table_section(s);
      case kMemory:
        return memory_section(s);
      case kGlobal:
        return global_section(s);
      case kExport:
        return export_section(s);
      case kStart:
        return start_section(s);
      case kElement:
        return element_section(s);
      case kCode:
        return code_section(s);
      case kData:
        return data_section(s);
      case kDataCount:
        return data_count_section(s);
    }
    return s.malformed("malformed section id");
  }

  /// A validation failure; the syntax-only pass notes nothing and reads on.
  bool reject(Reader& s, uint32_t at, std::string message) {
    return syntax_only_ || s.invalid_at(at, std::move(message));
  }

  bool resource(Reader& s, uint32_t at, const char* what) {
    return s.fail(ErrorKind::resource, at, std::string("too many ") + what);
  }

  /// A vector count, checked against the bytes left (each item takes `min_bytes`) and our limit.
  bool count(Reader& s,
             uint32_t& n,
             uint64_t already,
             uint32_t limit,
             const char* what,
             size_t min_bytes = 1) {
    const uint32_t at = s.offset();
    if (!s.count(n, min_bytes))
      return false;
    if (already + n > limit)
      return resource(s, at, what);
    return true;
  }

  bool val_type(Reader& s, ValType& t) {
    uint8_t b{};
    if (!s.u8(b))
      return false;
    if (!is_val_type_byte(b))
      return s.malformed_at(s.offset() - 1, "malformed value type");
    t = static_cast<ValType>(b);
    return true;
  }

  bool ref_type(Reader& s, ValType& t) {
    uint8_t b{};
    if (!s.u8(b))
      return false;
    if (b != 0x70 && b != 0x6F)
      return s.malformed_at(s.offset() - 1, "malformed reference type");
    t = static_cast<ValType>(b);
    return true;
  }

  bool limits(Reader& s, Limits& l) {
    uint8_t flag{};
    if (!s.u8(flag))
      return false;
    if (flag > 1)
      return s.malformed_at(s.offset() - 1, "integer too large: malformed limits flags");
    if (!s.u32(l.min))
      return false;
    if (flag == 1) {
      uint32_t max{};
      if (!s.u32(max))
        return false;
      l.max = max;
    }
    return true;
  }

  bool table_type(Reader& s, TableType& t) {
    const uint32_t at = s.offset();
    if (!ref_type(s, t.elem) || !limits(s, t.limits))
      return false;
    if (t.limits.max && *t.limits.max < t.limits.min) {
      if (!reject(s, at, "size minimum must not be greater than maximum"))
        return false;
    }
    return true;
  }

  bool memory_type(Reader& s, MemoryType& t) {
    const uint32_t at = s.offset();
    if (!limits(s, t.limits))
      return false;
    if (t.limits.min > kMaxMemoryPages) {
      if (!reject(s, at, "memory size must be at most 65536 pages (4GiB)"))
        return false;
    }
    if (t.limits.max) {
      if (*t.limits.max > kMaxMemoryPages) {
        if (!reject(s, at, "memory size must be at most 65536 pages (4GiB)"))
          return false;
      }
      if (*t.limits.max < t.limits.min) {
        if (!reject(s, at, "size minimum must not be greater than maximum"))
          return false;
      }
    }
    return true;
  }

  bool global_type(Reader& s, GlobalType& g) {
    uint8_t mut{};
    if (!val_type(s, g.type) || !s.u8(mut))
      return false;
    if (mut > 1)
      return s.malformed_at(s.offset() - 1, "malformed mutability");
    g.mutable_ = mut == 1;
    return true;
  }

  /// https://webassembly.github.io/spec/core/valid/instructions.html#constant-expressions: one
  /// constant instruction yielding `expected`, then `end`. `global.get` may only name one of the
  /// first `visible_globals` globals, and only an immutable one.
  bool const_expr(Reader& s, ValType expected, uint32_t visible_globals, ConstExpr& out) {
    if (syntax_only_)
      return detail::skip_expression(s, m_.data_count.has_value(), data_use_);
    uint32_t depth = 0;
    ValType produced = expected;
    for (;;) {
      const uint32_t at = s.offset();
      uint8_t op{};
      if (!s.u8(op))
        return false;
      if (op == 0x0B) {
        if (depth != 1)
          if (!reject(s, at, "type mismatch: constant expression arity"))
            return false;
        if (produced != expected)
          if (!reject(s, at, "type mismatch in constant expression"))
            return false;
        return true;
      }
      ++depth;
      switch (op) {
        case 0x41: {
          int32_t v{};
          if (!s.s32(v))
            return false;
          out.kind = ConstExpr::Kind::value;
          out.value = Value::make_i32(static_cast<uint32_t>(v));
          break;
        }
        case 0x42: {
          int64_t v{};
          if (!s.s64(v))
            return false;
          out.kind = ConstExpr::Kind::value;
          out.value = Value::make_i64(static_cast<uint64_t>(v));
          break;
        }
        case 0x43: {
          uint32_t v{};
          if (!s.fixed32(v))
            return false;
          out.kind = ConstExpr::Kind::value;
          out.value = Value::make_f32_bits(v);
          break;
        }
        case 0x44: {
          uint64_t v{};
          if (!s.fixed64(v))
            return false;
          out.kind = ConstExpr::Kind::value;
          out.value = Value::make_f64_bits(v);
          break;
        }
        case 0xD0: {
          ValType t{};
          if (!ref_type(s, t))
            return false;
          out.kind = ConstExpr::Kind::value;
          out.value = Value::make_ref(t, 0);
          break;
        }
        case 0xD2: {
          uint32_t f{};
          if (!s.u32(f))
            return false;
          if (f >= m_.funcs.size())
            if (!reject(s, at, "unknown function " + std::to_string(f)))
              return false;
          declared_[f] = true;
          out.kind = ConstExpr::Kind::ref_func;
          out.index = f;
          out.value = Value::make_ref(ValType::funcref, 0);
          break;
        }
        case 0x23: {
          uint32_t g{};
          if (!s.u32(g))
            return false;
          if (g >= visible_globals)
            if (!reject(s, at, "unknown global " + std::to_string(g)))
              return false;
          if (m_.globals[g].mutable_)
            if (!reject(s, at, "constant expression required"))
              return false;
          out.kind = ConstExpr::Kind::global_get;
          out.index = g;
          out.value = Value::zero(m_.globals[g].type);
          break;
        }
        case 0xFD: {
          uint32_t sub{};
          if (!s.u32(sub))
            return false;
          ir::Op simd{};
          if (!detail::lookup_opcode(0xFD, sub, simd))
            return s.malformed_at(at, "illegal opcode");
          if (simd != ir::Op::v128_const)
            if (!reject(s, at, "constant expression required"))
              return false;
          const uint8_t* p{};
          if (!s.bytes(16, p))
            return false;
          V128 v;
          std::memcpy(v.u64.data(), p, 16);
          out.kind = ConstExpr::Kind::value;
          out.value = Value::make_v128(v);
          break;
        }
        default: {
          ir::Op any{};
          uint32_t code = 0;
          if (op == 0xFC && !s.u32(code))
            return false;
          if (!detail::lookup_opcode(op == 0xFC ? 0xFC : 0, op == 0xFC ? code : op, any)) {
            return s.malformed_at(at, "illegal opcode");
          }
          if (!reject(s, at, "constant expression required"))
            return false;
        }
      }
      produced = out.value.type;
    }
  }

  bool custom_section(Reader& s) {
    CustomSection c;
    if (!s.name(c.name))
      return false;
    c.offset = s.offset();
    c.bytes.assign(s.pos(), s.end());
    s.skip_to_end();
    if (c.name == "name")
      parse_names(c);
    m_.customs.push_back(std::move(c));
    return true;
  }

  /// https://webassembly.github.io/spec/core/appendix/custom.html#name-section: the module and
  /// function names. Anything malformed leaves `names` empty; the section is not normative.
  void parse_names(const CustomSection& c) {
    Error ignored;
    Reader s(c.bytes.data(), c.bytes.data(), c.bytes.data() + c.bytes.size(), &ignored);
    NameSection names;
    int last_id = -1;
    while (!s.eof()) {
      uint8_t id{};
      uint32_t size{};
      if (!s.u8(id) || !s.u32(size) || size > s.remaining() || id <= last_id)
        return;
      last_id = id;
      Reader sub = s.split(size);
      if (id == 0) {
        if (!sub.name(names.module_name))
          return;
      } else if (id == 1) {
        uint32_t n{};
        if (!sub.count(n, 2))
          return;
        for (uint32_t i = 0; i < n; ++i) {
          uint32_t f{};
          std::string name;
          if (!sub.u32(f) || !sub.name(name))
            return;
          names.function_names[f] = std::move(name);
        }
      } else {
        sub.skip_to_end();
      }
      if (!sub.eof())
        return;
    }
    m_.names = std::move(names);
  }

  bool type_section(Reader& s) {
    uint32_t n{};
    if (!count(s, n, 0, kMaxTypes, "types", 3))
      return false;
    m_.types.reserve(n);
    m_.type_ids.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
      uint8_t form{};
      if (!s.u8(form))
        return false;
      if (form != 0x60)
        return s.malformed_at(s.offset() - 1,
                              "integer representation too long: malformed function type");
      FuncType ft;
      uint32_t np{}, nr{};
      if (!count(s, np, 0, kMaxFunctionParams, "params"))
        return false;
      ft.params.resize(np);
      for (ValType& t : ft.params) {
        if (!val_type(s, t))
          return false;
      }
      if (!count(s, nr, 0, kMaxFunctionResults, "results"))
        return false;
      ft.results.resize(nr);
      for (ValType& t : ft.results) {
        if (!val_type(s, t))
          return false;
      }
      m_.type_ids.push_back(intern_func_type(ft));
      m_.types.push_back(std::move(ft));
    }
    return true;
  }

  bool import_section(Reader& s) {
    uint32_t n{};
    if (!count(s, n, 0, kMaxImports, "imports", 4))
      return false;
    m_.imports.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
      Import im;
      if (!s.name(im.module) || !s.name(im.name))
        return false;
      const uint32_t at = s.offset();
      uint8_t kind{};
      if (!s.u8(kind))
        return false;
      switch (kind) {
        case 0: {
          im.kind = ExternKind::func;
          if (!s.u32(im.func_type))
            return false;
          if (im.func_type >= m_.types.size()) {
            if (!reject(s, at, "unknown type " + std::to_string(im.func_type)))
              return false;
          }
          if (m_.funcs.size() >= kMaxFunctions)
            return resource(s, at, "functions");
          m_.funcs.push_back(im.func_type);
          ++m_.num_imported_funcs;
          break;
        }
        case 1:
          im.kind = ExternKind::table;
          if (!table_type(s, im.table))
            return false;
          if (m_.tables.size() >= kMaxTables)
            return resource(s, at, "tables");
          m_.tables.push_back(im.table);
          ++m_.num_imported_tables;
          break;
        case 2:
          im.kind = ExternKind::memory;
          if (!memory_type(s, im.memory))
            return false;
          if (!m_.memories.empty())
            if (!reject(s, at, "multiple memories"))
              return false;
          m_.memories.push_back(im.memory);
          ++m_.num_imported_memories;
          break;
        case 3:
          im.kind = ExternKind::global;
          if (!global_type(s, im.global))
            return false;
          if (m_.globals.size() >= kMaxGlobals)
            return resource(s, at, "globals");
          m_.globals.push_back(im.global);
          ++m_.num_imported_globals;
          break;
        default:
          return s.malformed_at(at, "malformed import kind");
      }
      m_.imports.push_back(std::move(im));
    }
    return true;
  }

  bool function_section(Reader& s) {
    uint32_t n{};
    if (!count(s, n, m_.funcs.size(), kMaxFunctions, "functions"))
      return false;
    m_.funcs.reserve(m_.funcs.size() + n);
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t at = s.offset();
      uint32_t t{};
      if (!s.u32(t))
        return false;
      if (t >= m_.types.size())
        if (!reject(s, at, "unknown type " + std::to_string(t)))
          return false;
      m_.funcs.push_back(t);
    }
    return true;
  }

  bool table_section(Reader& s) {
    uint32_t n{};
    if (!count(s, n, m_.tables.size(), kMaxTables, "tables", 3))
      return false;
    for (uint32_t i = 0; i < n; ++i) {
      TableType t;
      if (!table_type(s, t))
        return false;
      m_.tables.push_back(t);
    }
    return true;
  }

  bool memory_section(Reader& s) {
    uint32_t n{};
    if (!s.count(n, 2))
      return false;
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t at = s.offset();
      MemoryType t;
      if (!memory_type(s, t))
        return false;
      if (!m_.memories.empty())
        if (!reject(s, at, "multiple memories"))
          return false;
      m_.memories.push_back(t);
    }
    return true;
  }

  bool global_section(Reader& s) {
    uint32_t n{};
    if (!count(s, n, m_.globals.size(), kMaxGlobals, "globals", 3))
      return false;
    m_.global_inits.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
      GlobalType g;
      ConstExpr init;
      if (!global_type(s, g))
        return false;
      if (!const_expr(s, g.type, m_.num_imported_globals, init))
        return false;
      m_.globals.push_back(g);
      m_.global_inits.push_back(init);
    }
    return true;
  }

  bool export_section(Reader& s) {
    uint32_t n{};
    if (!count(s, n, 0, kMaxExports, "exports", 3))
      return false;
    m_.exports.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
      Export e;
      if (!s.name(e.name))
        return false;
      const uint32_t at = s.offset();
      uint8_t kind{};
      if (!s.u8(kind) || !s.u32(e.index))
        return false;
      size_t space{};
      switch (kind) {
        case 0:
          space = m_.funcs.size();
          if (e.index < space)
            declared_[e.index] = true;
          break;
        case 1:
          space = m_.tables.size();
          break;
        case 2:
          space = m_.memories.size();
          break;
        case 3:
          space = m_.globals.size();
          break;
        default:
          return s.malformed_at(at, "malformed export kind");
      }
      e.kind = static_cast<ExternKind>(kind);
      if (e.index >= space) {
        if (!reject(
                s, at,
                std::string("unknown ") + extern_kind_name(e.kind) + " " + std::to_string(e.index)))
          return false;
      }
      m_.exports.push_back(std::move(e));
    }
    std::vector<std::string_view> names;
    names.reserve(m_.exports.size());
    for (const Export& e : m_.exports)
      names.push_back(e.name);
    std::sort(names.begin(), names.end());
    if (std::adjacent_find(names.begin(), names.end()) != names.end()) {
      if (!reject(s, s.offset(), "duplicate export name"))
        return false;
    }
    return true;
  }

  bool start_section(Reader& s) {
    const uint32_t at = s.offset();
    uint32_t f{};
    if (!s.u32(f))
      return false;
    if (f >= m_.funcs.size()) {
      if (!reject(s, at, "unknown function " + std::to_string(f)))
        return false;
    } else if (!syntax_only_) {
      const FuncType& t = m_.func_type(f);
      if (!t.params.empty() || !t.results.empty())
        return s.invalid_at(at, "start function must be [] -> []");
    }
    m_.start = f;
    return true;
  }

  bool table_index(Reader& s, TableIdx& t) {
    const uint32_t at = s.offset();
    if (!s.u32(t))
      return false;
    if (t >= m_.tables.size())
      if (!reject(s, at, "unknown table " + std::to_string(t)))
        return false;
    return true;
  }

  bool element_section(Reader& s) {
    uint32_t n{};
    if (!count(s, n, 0, kMaxElemSegments, "element segments"))
      return false;
    m_.elems.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t at = s.offset();
      uint32_t flags{};
      if (!s.u32(flags))
        return false;
      if (flags > 7)
        return s.malformed_at(at, "malformed elements segment kind");
      ElemSegment e;
      const bool passive_or_declarative = flags & 1;
      const bool explicit_table = flags & 2;
      const bool expressions = flags & 4;
      if (!passive_or_declarative) {
        e.mode = SegmentMode::active;
        if (explicit_table && !table_index(s, e.table))
          return false;
        if (!const_expr(s, ValType::i32, m_.num_imported_globals, e.offset)) {
          return false;
        }
      } else {
        e.mode = explicit_table ? SegmentMode::declarative : SegmentMode::passive;
      }
      // Flags 0 and 4 imply funcref; the others spell an elemkind (0x00) or a reftype.
      if (passive_or_declarative || explicit_table) {
        if (expressions) {
          if (!ref_type(s, e.type))
            return false;
        } else {
          uint8_t kind{};
          if (!s.u8(kind))
            return false;
          if (kind != 0)
            return s.malformed_at(s.offset() - 1, "malformed element kind");
          e.type = ValType::funcref;
        }
      }
      uint32_t items{};
      if (!s.count(items))
        return false;
      e.items.reserve(items);
      for (uint32_t k = 0; k < items; ++k) {
        ConstExpr item;
        if (expressions) {
          if (!const_expr(s, e.type, m_.num_imported_globals, item))
            return false;
        } else {
          const uint32_t fat = s.offset();
          uint32_t f{};
          if (!s.u32(f))
            return false;
          if (f >= m_.funcs.size()) {
            if (!reject(s, fat, "unknown function " + std::to_string(f)))
              return false;
          } else {
            declared_[f] = true;
          }
          item.kind = ConstExpr::Kind::ref_func;
          item.index = f;
          item.value = Value::make_ref(ValType::funcref, 0);
        }
        e.items.push_back(item);
      }
      if (e.mode == SegmentMode::active) {
        if (e.table >= m_.tables.size()) {
          if (!reject(s, at, "unknown table " + std::to_string(e.table)))
            return false;
        } else if (m_.tables[e.table].elem != e.type) {
          if (!reject(s, at, "type mismatch: element segment and table types differ"))
            return false;
        }
      }
      m_.elems.push_back(std::move(e));
    }
    return true;
  }

  bool data_count_section(Reader& s) {
    uint32_t n{};
    if (!s.u32(n))
      return false;
    if (n > kMaxDataSegments)
      return resource(s, s.offset(), "data segments");
    m_.data_count = n;
    return true;
  }

  bool code_section(Reader& s) {
    saw_code_ = true;
    const uint32_t at = s.offset();
    uint32_t n{};
    if (!s.count(n, 2))
      return false;
    if (n != m_.funcs.size() - m_.num_imported_funcs) {
      return s.malformed_at(at, "function and code section have inconsistent lengths");
    }
    m_.codes.resize(n);
    detail::FuncDecoder fd(m_, declared_, data_use_);
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t body_at = s.offset();
      uint32_t size{};
      if (!s.u32(size))
        return false;
      if (size > s.remaining())
        return s.malformed_at(body_at, "length out of bounds: function body");
      if (size > kMaxFunctionSize) {
        return s.fail(ErrorKind::resource, body_at, "function body larger than the limit");
      }
      if (syntax_only_) {
        if (!detail::skip_body(s.split(size), m_.data_count.has_value(), data_use_))
          return false;
        continue;
      }
      if (!fd.decode(m_.funcs[m_.num_imported_funcs + i], s.split(size), m_.codes[i]))
        return false;
    }
    return true;
  }

  bool data_section(Reader& s) {
    saw_data_ = true;
    const uint32_t at = s.offset();
    uint32_t n{};
    if (!count(s, n, 0, kMaxDataSegments, "data segments"))
      return false;
    if (m_.data_count && *m_.data_count != n) {
      return s.malformed_at(at, "data count and data section have inconsistent lengths");
    }
    m_.datas.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t seg_at = s.offset();
      uint32_t flags{};
      if (!s.u32(flags))
        return false;
      DataSegment d;
      if (flags > 2)
        return s.malformed_at(seg_at, "malformed data segment kind");
      if (flags == 1) {
        d.mode = SegmentMode::passive;
      } else {
        d.mode = SegmentMode::active;
        if (flags == 2 && !s.u32(d.memory))
          return false;
        if (d.memory >= m_.memories.size()) {
          if (!reject(s, seg_at, "unknown memory " + std::to_string(d.memory)))
            return false;
        }
        if (!const_expr(s, ValType::i32, m_.num_imported_globals, d.offset)) {
          return false;
        }
      }
      uint32_t len{};
      if (!s.u32(len))
        return false;
      const uint8_t* p{};
      if (len > s.remaining())
        return s.malformed("unexpected end of section or function: data segment");
      s.bytes(len, p);
      d.bytes.assign(p, p + len);
      m_.datas.push_back(std::move(d));
    }
    return true;
  }

  Error error_;
  Reader r_;
  Module& m_;
  const bool syntax_only_;
  bool saw_code_ = false;
  bool saw_data_ = false;
  detail::DataIndexUse data_use_;
  /// C.refs: functions named outside bodies (elements, exports, global initialisers).
  std::vector<bool> declared_;
};

}  // namespace

Result<std::shared_ptr<const Module>> decode_module(std::span<const uint8_t> bytes) {
  auto module = std::make_shared<Module>();
  ModuleDecoder d(bytes, *module, false);
  if (!d.decode()) {
    // Validation runs as the sections are read, but the spec decodes the whole module before it
    // validates: an invalid module that is also malformed further on is malformed.
    if (d.error().kind == ErrorKind::invalid) {
      Module scratch;
      ModuleDecoder syntax(bytes, scratch, true);
      if (!syntax.decode() && syntax.error().kind == ErrorKind::malformed)
        return std::move(syntax.error());
    }
    return std::move(d.error());
  }
  return std::shared_ptr<const Module>(std::move(module));
}

}  // namespace tollgate::runtime
