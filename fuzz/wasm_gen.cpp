// The structured module generator: types, globals, memory, table, segments and well-typed bodies.
// SPDX-License-Identifier: Apache-2.0
//
// Bodies are built top-down for the type that is wanted (an expression yields exactly one value
// of a type, a statement leaves the stack as it found it), so validity never depends on the
// input; branches carry the values their label takes. Choice 0 of every pick is the cheapest
// leaf, so an exhausted input (FuzzedDataProvider then returns zeros) ends generation quickly.
#include "fuzz/wasm_gen.hpp"

#include <string>

namespace tollgate::fuzz {
namespace {

enum class T : uint8_t { i32 = 0x7f, i64 = 0x7e, f32 = 0x7d, f64 = 0x7c, funcref = 0x70 };
constexpr T kNumTypes[] = {T::i32, T::i64, T::f32, T::f64};

struct Type {
  std::vector<T> params;
  std::vector<T> results;
};

struct Global {
  T type;
  bool mutable_;
};

using Bytes = std::vector<uint8_t>;

void leb_u(Bytes& out, uint64_t v) {
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    out.push_back(v ? (b | 0x80) : b);
  } while (v);
}

void leb_s(Bytes& out, int64_t v) {
  while (true) {
    uint8_t b = v & 0x7f;
    v >>= 7;  // arithmetic shift
    if ((v == 0 && !(b & 0x40)) || (v == -1 && (b & 0x40))) {
      out.push_back(b);
      return;
    }
    out.push_back(b | 0x80);
  }
}

void name(Bytes& out, const std::string& s) {
  leb_u(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

/// "f3", "g0": export names, built without operator+ (GCC 12 warns falsely about it).
std::string indexed(char prefix, uint32_t i) {
  std::string s(1, prefix);
  s += std::to_string(i);
  return s;
}

void section(Bytes& module, uint8_t id, const Bytes& content) {
  module.push_back(id);
  leb_u(module, content.size());
  module.insert(module.end(), content.begin(), content.end());
}

// Opcode tables per value type, in the order i32, i64, f32, f64.
const std::vector<uint8_t> kUnary[] = {{0x67, 0x68, 0x69, 0xc0, 0xc1},
                                       {0x79, 0x7a, 0x7b, 0xc2, 0xc3, 0xc4},
                                       {0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91},
                                       {0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f}};
constexpr uint8_t kBinaryFirst[] = {0x6a, 0x7c, 0x92, 0xa0};
constexpr uint8_t kBinaryLast[] = {0x78, 0x8a, 0x98, 0xa6};
constexpr uint8_t kCompareFirst[] = {0x46, 0x51, 0x5b, 0x61};
constexpr uint8_t kCompareLast[] = {0x4f, 0x5a, 0x60, 0x66};

/// A conversion: its encoding (0xfc-prefixed when `sat`), operand and result types.
struct Conversion {
  uint8_t op;
  bool sat;
  T from;
  T to;
};
const Conversion kConversions[] = {
    {0xa7, false, T::i64, T::i32}, {0xa8, false, T::f32, T::i32}, {0xa9, false, T::f32, T::i32},
    {0xaa, false, T::f64, T::i32}, {0xab, false, T::f64, T::i32}, {0xbc, false, T::f32, T::i32},
    {0, true, T::f32, T::i32},     {1, true, T::f32, T::i32},     {2, true, T::f64, T::i32},
    {3, true, T::f64, T::i32},     {0xac, false, T::i32, T::i64}, {0xad, false, T::i32, T::i64},
    {0xae, false, T::f32, T::i64}, {0xaf, false, T::f32, T::i64}, {0xb0, false, T::f64, T::i64},
    {0xb1, false, T::f64, T::i64}, {0xbd, false, T::f64, T::i64}, {4, true, T::f32, T::i64},
    {5, true, T::f32, T::i64},     {6, true, T::f64, T::i64},     {7, true, T::f64, T::i64},
    {0xb2, false, T::i32, T::f32}, {0xb3, false, T::i32, T::f32}, {0xb4, false, T::i64, T::f32},
    {0xb5, false, T::i64, T::f32}, {0xb6, false, T::f64, T::f32}, {0xbe, false, T::i32, T::f32},
    {0xb7, false, T::i32, T::f64}, {0xb8, false, T::i32, T::f64}, {0xb9, false, T::i64, T::f64},
    {0xba, false, T::i64, T::f64}, {0xbb, false, T::f32, T::f64}, {0xbf, false, T::i64, T::f64},
};

/// A load or store: opcode, value type, natural alignment (log2).
struct MemOp {
  uint8_t op;
  T type;
  uint8_t natural;
};
const MemOp kLoads[] = {{0x28, T::i32, 2}, {0x2c, T::i32, 0}, {0x2d, T::i32, 0}, {0x2e, T::i32, 1},
                        {0x2f, T::i32, 1}, {0x29, T::i64, 3}, {0x30, T::i64, 0}, {0x31, T::i64, 0},
                        {0x32, T::i64, 1}, {0x33, T::i64, 1}, {0x34, T::i64, 2}, {0x35, T::i64, 2},
                        {0x2a, T::f32, 2}, {0x2b, T::f64, 3}};
const MemOp kStores[] = {{0x36, T::i32, 2}, {0x3a, T::i32, 0}, {0x3b, T::i32, 1},
                         {0x37, T::i64, 3}, {0x3c, T::i64, 0}, {0x3d, T::i64, 1},
                         {0x3e, T::i64, 2}, {0x38, T::f32, 2}, {0x39, T::f64, 3}};

int type_slot(T t) {
  switch (t) {
    case T::i32:
      return 0;
    case T::i64:
      return 1;
    case T::f32:
      return 2;
    default:
      return 3;
  }
}

class Gen {
 public:
  Gen(FuzzedDataProvider& in, const GenOptions& o) : in_(in), o_(o) {}
  Bytes module();

 private:
  struct Label {
    std::vector<T> types;  ///< what a branch to it carries
    bool loop = false;
  };

  uint32_t pick(uint32_t n) { return n <= 1 ? 0 : in_.ConsumeIntegralInRange<uint32_t>(0, n - 1); }
  T num_type() { return kNumTypes[pick(4)]; }
  void op(uint8_t b) { code_.push_back(b); }
  void u(uint64_t v) { leb_u(code_, v); }
  /// i32.const (signed LEB128, as the binary format has it).
  void i32c(int64_t v) {
    op(0x41);
    leb_s(code_, static_cast<int32_t>(v));
  }
  void fc(uint32_t sub) {
    op(0xfc);
    u(sub);
  }

  void constant(T t);
  void leaf(T t);
  void expr(T t, uint32_t depth);
  void exprs(const std::vector<T>& ts, uint32_t depth) {
    for (T t : ts)
      expr(t, depth);
  }
  /// With canonical_nans: the float on the stack, its NaNs made the canonical positive one.
  void canonical_nan(T t);
  void drops(size_t n) {
    for (size_t i = 0; i < n; ++i)
      op(0x1a);
  }
  void address(uint32_t depth);
  void memarg(uint8_t natural);
  void funcref(uint32_t depth);
  void stmt(uint32_t depth);
  void stmts(uint32_t depth);
  /// The type index of `type`, added to the type section when new.
  uint32_t type_index(const Type& type);
  /// A block (0x02), loop (0x03) or if (0x04) of type `type` with a random body, its operands
  /// first. A loop branches back under a counter local, so it usually ends by itself.
  void structured(uint8_t kind, const Type& type, uint32_t depth);
  void body(uint32_t func_type);
  /// Functions a call may target: all, or in differential mode the lower ones (no recursion).
  uint32_t callable() const {
    return o_.differential ? current_func_ : static_cast<uint32_t>(func_types_.size());
  }
  /// A label index a branch may target (differential mode never targets a loop), or -1.
  int64_t branch_label() {
    std::vector<uint32_t> ok;
    for (uint32_t i = 0; i < labels_.size(); ++i)
      if (!o_.differential || !labels_[labels_.size() - 1 - i].loop)
        ok.push_back(i);
    return ok[pick(static_cast<uint32_t>(ok.size()))];
  }
  bool budget_left() const { return budget_ > 0 && in_.remaining_bytes() > 0; }

  FuzzedDataProvider& in_;
  GenOptions o_;
  std::vector<Type> types_;
  std::vector<uint32_t> func_types_;  ///< every function, the imported one first
  std::vector<Global> globals_;       ///< the imported i32 first
  uint32_t mem_pages_ = 0;
  bool memory_ = false;
  uint32_t table_size_ = 0;
  uint32_t num_imported_funcs_ = 1;
  uint32_t num_imported_globals_ = 1;
  // The function being generated.
  uint32_t current_func_ = 0;
  std::vector<T> locals_;
  uint32_t first_counter_ = 0;  ///< loop counters: one i32 local per block depth
  std::vector<Label> labels_;
  Bytes code_;
  uint32_t budget_ = 0;
  uint32_t block_depth_ = 0;
};

uint32_t Gen::type_index(const Type& type) {
  for (uint32_t i = 0; i < types_.size(); ++i)
    if (types_[i].params == type.params && types_[i].results == type.results)
      return i;
  types_.push_back(type);
  return static_cast<uint32_t>(types_.size() - 1);
}

void Gen::constant(T t) {
  // Edge values half of the time: they are where arithmetic and conversions go wrong.
  static constexpr uint64_t kEdges64[] = {0,
                                          1,
                                          ~0ull,
                                          0x8000000000000000ull,
                                          0x7fffffffffffffffull,
                                          0x7ff8000000000000ull,
                                          0x7ff0000000000000ull,
                                          0x43e0000000000000ull};
  static constexpr uint32_t kEdges32[] = {0,           1,           ~0u,         0x80000000u,
                                          0x7fffffffu, 0x7fc00000u, 0x7f800000u, 0x4f000000u};
  const bool edge = in_.ConsumeBool();
  switch (t) {
    case T::i32: {
      op(0x41);
      uint32_t v = edge ? kEdges32[pick(8)] : in_.ConsumeIntegral<uint32_t>();
      leb_s(code_, static_cast<int32_t>(v));
      break;
    }
    case T::i64: {
      op(0x42);
      uint64_t v = edge ? kEdges64[pick(8)] : in_.ConsumeIntegral<uint64_t>();
      leb_s(code_, static_cast<int64_t>(v));
      break;
    }
    case T::f32: {
      op(0x43);
      uint32_t v = edge ? kEdges32[pick(8)] : in_.ConsumeIntegral<uint32_t>();
      for (int i = 0; i < 4; ++i)
        op(static_cast<uint8_t>(v >> (8 * i)));
      break;
    }
    case T::f64: {
      op(0x44);
      uint64_t v = edge ? kEdges64[pick(8)] : in_.ConsumeIntegral<uint64_t>();
      for (int i = 0; i < 8; ++i)
        op(static_cast<uint8_t>(v >> (8 * i)));
      break;
    }
    case T::funcref:
      op(0xd0);
      op(0x70);
      break;
  }
}

void Gen::canonical_nan(T t) {
  if (!o_.canonical_nans || (t != T::f32 && t != T::f64))
    return;
  const uint32_t scratch = first_counter_ + o_.max_block_depth + 1 + (t == T::f64 ? 1 : 0);
  // x local.set s; canonical NaN; s; (s != s); select: the NaN when s is one, else s.
  op(0x21);
  u(scratch);
  if (t == T::f32) {
    op(0x43);
    for (uint8_t b : {0x00, 0x00, 0xc0, 0x7f})
      op(b);
  } else {
    op(0x44);
    for (uint8_t b : {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x7f})
      op(b);
  }
  for (int i = 0; i < 3; ++i) {
    op(0x20);
    u(scratch);
  }
  op(t == T::f32 ? 0x5c : 0x62);  // f32.ne / f64.ne
  op(0x1b);
}

void Gen::leaf(T t) {
  if (t != T::funcref && pick(2) == 1) {
    std::vector<uint32_t> candidates;
    for (uint32_t i = 0; i < first_counter_; ++i)
      if (locals_[i] == t)
        candidates.push_back(i);
    if (!candidates.empty()) {
      op(0x20);
      u(candidates[pick(static_cast<uint32_t>(candidates.size()))]);
      return;
    }
  }
  constant(t);
}

void Gen::address(uint32_t depth) {
  // Mostly inside the memory: an arbitrary address masked to the first pages, sometimes raw.
  expr(T::i32, depth + 1);
  if (pick(4) != 3) {
    i32c(static_cast<int32_t>(mem_pages_ ? 0xffff : 0xff));
    op(0x71);  // i32.and
  }
}

void Gen::memarg(uint8_t natural) {
  u(pick(natural + 1u));  // alignment, at most the natural one
  u(pick(4) == 0 ? in_.ConsumeIntegral<uint32_t>() : pick(64));  // offset
}

void Gen::funcref(uint32_t depth) {
  switch (pick(3)) {
    case 0:
      constant(T::funcref);
      break;
    case 1:
      op(0xd2);
      u(pick(static_cast<uint32_t>(func_types_.size())));
      break;
    default:
      expr(T::i32, depth + 1);
      op(0x25);
      u(0);
      break;
  }
}

void Gen::expr(T t, uint32_t depth) {
  if (t == T::funcref) {
    funcref(depth);
    return;
  }
  if (depth >= o_.max_expr_depth || !budget_left()) {
    leaf(t);
    return;
  }
  --budget_;
  const int slot = type_slot(t);
  switch (pick(16)) {
    case 0:
    case 1:
      leaf(t);
      return;
    case 2:
      expr(t, depth + 1);
      op(kUnary[slot][pick(static_cast<uint32_t>(kUnary[slot].size()))]);
      return;
    case 3:
    case 4: {
      expr(t, depth + 1);
      expr(t, depth + 1);
      const auto binary = static_cast<uint8_t>(kBinaryFirst[slot] +
                                               pick(kBinaryLast[slot] - kBinaryFirst[slot] + 1u));
      if (binary == 0x98 || binary == 0xa6)  // copysign: the sign may come from a NaN
        canonical_nan(t);
      op(binary);
      return;
    }
    case 5:
      if (t == T::i32) {
        const int from = static_cast<int>(pick(4));
        if (from <= 1 && pick(4) == 0) {
          expr(kNumTypes[from], depth + 1);
          op(from == 0 ? 0x45 : 0x50);  // eqz
          return;
        }
        expr(kNumTypes[from], depth + 1);
        expr(kNumTypes[from], depth + 1);
        op(static_cast<uint8_t>(kCompareFirst[from] +
                                pick(kCompareLast[from] - kCompareFirst[from] + 1u)));
        return;
      }
      [[fallthrough]];
    case 6: {
      std::vector<const Conversion*> candidates;
      for (const Conversion& c : kConversions)
        if (c.to == t)
          candidates.push_back(&c);
      const Conversion* c = candidates[pick(static_cast<uint32_t>(candidates.size()))];
      expr(c->from, depth + 1);
      if (!c->sat && (c->op == 0xbc || c->op == 0xbd))  // i32/i64.reinterpret of a float
        canonical_nan(c->from);
      if (c->sat)
        fc(c->op);
      else
        op(c->op);
      return;
    }
    case 7: {
      if (!memory_)
        break;
      std::vector<const MemOp*> candidates;
      for (const MemOp& m : kLoads)
        if (m.type == t)
          candidates.push_back(&m);
      const MemOp* m = candidates[pick(static_cast<uint32_t>(candidates.size()))];
      address(depth);
      op(m->op);
      memarg(m->natural);
      return;
    }
    case 8: {
      std::vector<uint32_t> candidates;
      for (uint32_t i = 0; i < globals_.size(); ++i)
        if (globals_[i].type == t)
          candidates.push_back(i);
      if (candidates.empty())
        break;
      op(0x23);
      u(candidates[pick(static_cast<uint32_t>(candidates.size()))]);
      return;
    }
    case 9:
      if (block_depth_ >= o_.max_block_depth)
        break;
      structured(static_cast<uint8_t>(0x02 + pick(3)), Type{{}, {t}}, depth);
      return;
    case 10:
      expr(t, depth + 1);
      expr(t, depth + 1);
      expr(T::i32, depth + 1);
      if (pick(2)) {
        op(0x1b);
      } else {
        op(0x1c);
        u(1);
        op(static_cast<uint8_t>(t));
      }
      return;
    case 11:
    case 12: {
      // A call (or call_indirect through the table) of a function returning exactly [t].
      std::vector<uint32_t> candidates;
      for (uint32_t f = 0; f < callable(); ++f)
        if (types_[func_types_[f]].results == std::vector<T>{t})
          candidates.push_back(f);
      if (candidates.empty())
        break;
      const uint32_t f = candidates[pick(static_cast<uint32_t>(candidates.size()))];
      exprs(types_[func_types_[f]].params, depth + 1);
      if (pick(2)) {
        op(0x10);
        u(f);
      } else {
        // The element segment puts function f at index f; other indices trap or mismatch.
        i32c(pick(4) || o_.differential ? f : pick(table_size_ + 2));
        op(0x11);
        u(func_types_[f]);
        u(0);
      }
      return;
    }
    case 13: {
      std::vector<uint32_t> candidates;
      for (uint32_t i = 0; i < first_counter_; ++i)
        if (locals_[i] == t)
          candidates.push_back(i);
      if (candidates.empty())
        break;
      expr(t, depth + 1);
      op(0x22);
      u(candidates[pick(static_cast<uint32_t>(candidates.size()))]);
      return;
    }
    case 14:
      if (t != T::i32)
        break;
      switch (pick(4)) {
        case 0:
          if (!memory_)
            break;
          op(0x3f);
          u(0);
          return;
        case 1:
          if (!memory_)
            break;
          expr(T::i32, depth + 1);
          op(0x40);
          u(0);
          return;
        case 2:
          fc(16);  // table.size
          u(0);
          return;
        default:
          funcref(depth);
          op(0xd1);  // ref.is_null
          return;
      }
      break;
    default: {
      // A value through br_if out of a block: the value stays when the branch is not taken.
      if (block_depth_ >= o_.max_block_depth)
        break;
      op(0x02);
      op(static_cast<uint8_t>(t));
      labels_.push_back({{t}});
      ++block_depth_;
      expr(t, depth + 1);
      expr(T::i32, depth + 1);
      op(0x0d);
      u(0);
      --block_depth_;
      labels_.pop_back();
      op(0x0b);
      return;
    }
  }
  leaf(t);
}

void Gen::structured(uint8_t kind, const Type& type, uint32_t depth) {
  exprs(type.params, depth + 1);
  if (kind == 0x04)
    expr(T::i32, depth + 1);
  const uint32_t counter = first_counter_ + block_depth_;
  if (kind == 0x03) {
    // Iterations of the loop: few, unless the counter starts huge or the body resets it.
    i32c(pick(8) || o_.differential ? static_cast<int64_t>(pick(8)) : -1);
    op(0x21);
    u(counter);
  }
  op(kind);
  if (type.params.empty() && type.results.empty())
    op(0x40);
  else if (type.params.empty() && type.results.size() == 1)
    op(static_cast<uint8_t>(type.results[0]));
  else
    leb_s(code_, type_index(type));
  ++block_depth_;
  for (int arm = 0; arm < (kind == 0x04 ? 2 : 1); ++arm) {
    if (arm == 1)
      op(0x05);  // else
    labels_.push_back({kind == 0x03 ? type.params : type.results, kind == 0x03});
    // The block's operands are on the stack: keep them as results when the types line up,
    // otherwise drop them and compute the results.
    const bool pass_through = type.params == type.results && pick(2);
    if (!pass_through)
      drops(type.params.size());
    stmts(depth + 1);
    if (kind == 0x03) {
      if (!pass_through) {
        exprs(type.params, depth + 1);  // the loop label takes the params
      }
      op(0x20);
      u(counter);
      i32c(1);
      op(0x6b);  // i32.sub
      op(0x22);
      u(counter);
      op(0x0d);
      u(0);
      // Falling through: the params are still there; turn them into the results.
      drops(type.params.size());
      exprs(type.results, depth + 1);
    } else if (!pass_through) {
      exprs(type.results, depth + 1);
    }
    labels_.pop_back();
  }
  --block_depth_;
  op(0x0b);
}

void Gen::stmt(uint32_t depth) {
  --budget_;
  switch (pick(16)) {
    case 0:
    case 1: {
      const T t = num_type();
      expr(t, depth + 1);
      op(0x1a);
      return;
    }
    case 2:
    case 3: {
      const uint32_t local = pick(first_counter_ ? first_counter_ : 1);
      if (local >= first_counter_)
        break;
      expr(locals_[local], depth + 1);
      op(0x21);
      u(local);
      return;
    }
    case 4: {
      std::vector<uint32_t> candidates;
      for (uint32_t i = 0; i < globals_.size(); ++i)
        if (globals_[i].mutable_)
          candidates.push_back(i);
      if (candidates.empty())
        break;
      const uint32_t g = candidates[pick(static_cast<uint32_t>(candidates.size()))];
      expr(globals_[g].type, depth + 1);
      op(0x24);
      u(g);
      return;
    }
    case 5: {
      if (!memory_)
        break;
      const MemOp& m = kStores[pick(sizeof kStores / sizeof kStores[0])];
      address(depth);
      expr(m.type, depth + 1);
      canonical_nan(m.type);
      op(m.op);
      memarg(m.natural);
      return;
    }
    case 6:
    case 7: {
      if (block_depth_ >= o_.max_block_depth)
        break;
      // Any type: the empty one, a random one (params and multiple results), or [] -> [].
      Type type;
      if (pick(2))
        type = types_[pick(static_cast<uint32_t>(types_.size()))];
      structured(static_cast<uint8_t>(0x02 + pick(3)), type, depth);
      drops(type.results.size());
      return;
    }
    case 8: {
      // br_if to any label, carrying its values, which stay when the branch is not taken.
      const uint32_t l = static_cast<uint32_t>(branch_label());
      const std::vector<T> types = labels_[labels_.size() - 1 - l].types;
      exprs(types, depth + 1);
      expr(T::i32, depth + 1);
      op(0x0d);
      u(l);
      drops(types.size());
      return;
    }
    case 9: {
      // br or br_table to labels of one type; the rest of the block is unreachable but still
      // well-typed code.
      if (pick(4))
        break;
      const uint32_t l = static_cast<uint32_t>(branch_label());
      const std::vector<T> types = labels_[labels_.size() - 1 - l].types;
      exprs(types, depth + 1);
      if (pick(2)) {
        op(0x0c);
        u(l);
        return;
      }
      std::vector<uint32_t> same;
      for (uint32_t i = 0; i < labels_.size(); ++i) {
        const Label& label = labels_[labels_.size() - 1 - i];
        if (label.types == types && !(o_.differential && label.loop))
          same.push_back(i);
      }
      expr(T::i32, depth + 1);
      op(0x0e);
      const uint32_t n = pick(5);
      u(n);
      for (uint32_t i = 0; i < n; ++i)
        u(same[pick(static_cast<uint32_t>(same.size()))]);
      u(same[pick(static_cast<uint32_t>(same.size()))]);
      return;
    }
    case 10:
      if (pick(4))
        break;
      exprs(labels_.front().types, depth + 1);
      op(0x0f);  // return
      return;
    case 11: {
      if (callable() == 0)
        break;
      const uint32_t f = pick(callable());
      const Type& type = types_[func_types_[f]];
      exprs(type.params, depth + 1);
      op(0x10);
      u(f);
      drops(type.results.size());
      return;
    }
    case 12: {
      const uint32_t ti = pick(static_cast<uint32_t>(types_.size()));
      const Type type = types_[ti];
      exprs(type.params, depth + 1);
      // Differential mode: only lower functions (or an index past the table, which traps).
      if (o_.differential)
        i32c(current_func_ ? pick(current_func_) : table_size_ + 8);
      else
        i32c(pick(table_size_ + 2));
      op(0x11);
      u(ti);
      u(0);
      drops(type.results.size());
      return;
    }
    case 13: {
      if (!memory_)
        break;
      switch (pick(4)) {
        case 0:  // memory.fill dst value len
          address(depth);
          expr(T::i32, depth + 1);
          i32c(pick(300));
          fc(11);
          u(0);
          return;
        case 1:  // memory.copy dst src len
          address(depth);
          address(depth);
          i32c(pick(300));
          fc(10);
          u(0);
          u(0);
          return;
        case 2:  // memory.init of the passive segment (index 1)
          address(depth);
          i32c(pick(8));
          i32c(pick(8));
          fc(8);
          u(1);
          u(0);
          return;
        default:
          fc(9);  // data.drop
          u(pick(2));
          return;
      }
    }
    case 14: {
      if (o_.differential)
        break;
      switch (pick(6)) {
        case 0:  // table.set
          i32c(pick(table_size_ + 1));
          funcref(depth);
          op(0x26);
          u(0);
          return;
        case 1:  // table.grow
          funcref(depth);
          i32c(pick(4));
          fc(15);
          u(0);
          op(0x1a);
          return;
        case 2:  // table.fill
          i32c(pick(table_size_));
          funcref(depth);
          i32c(pick(4));
          fc(17);
          u(0);
          return;
        case 3:  // table.copy
          i32c(pick(table_size_));
          i32c(pick(table_size_));
          i32c(pick(4));
          fc(14);
          u(0);
          u(0);
          return;
        case 4:  // table.init of the passive segment (index 1)
          i32c(pick(table_size_));
          i32c(pick(3));
          i32c(pick(3));
          fc(12);
          u(1);
          u(0);
          return;
        default:
          fc(13);  // elem.drop
          u(pick(2));
          return;
      }
    }
    default:
      if (pick(16) == 0) {
        op(0x00);  // unreachable
        return;
      }
      break;
  }
  op(0x01);  // nop
}

void Gen::stmts(uint32_t depth) {
  const uint32_t n = pick(5);
  for (uint32_t i = 0; i < n && budget_left() && depth < o_.max_expr_depth + o_.max_block_depth;
       ++i)
    stmt(depth);
}

void Gen::body(uint32_t func_type) {
  const Type type = types_[func_type];
  locals_ = type.params;
  const uint32_t declared = pick(o_.max_locals + 1);
  for (uint32_t i = 0; i < declared; ++i)
    locals_.push_back(num_type());
  first_counter_ = static_cast<uint32_t>(locals_.size());
  code_.clear();
  // Locals: the declared ones one by one, then the loop counters as one group.
  leb_u(code_, declared + 1 + (o_.canonical_nans ? 2 : 0));
  for (size_t i = type.params.size(); i < locals_.size(); ++i) {
    u(1);
    op(static_cast<uint8_t>(locals_[i]));
  }
  u(o_.max_block_depth + 1);
  op(static_cast<uint8_t>(T::i32));
  if (o_.canonical_nans) {  // canonical_nan's scratch locals, after the counters
    u(1);
    op(static_cast<uint8_t>(T::f32));
    u(1);
    op(static_cast<uint8_t>(T::f64));
  }
  labels_.assign(1, Label{type.results});
  budget_ = o_.max_instrs_per_func;
  block_depth_ = 0;
  stmts(0);
  stmts(0);
  exprs(type.results, 0);
  op(0x0b);
}

Bytes Gen::module() {
  // Types: at least [] -> [], then random ones.
  types_.push_back({});
  const uint32_t ntypes = 1 + pick(o_.max_types);
  for (uint32_t i = 0; i < ntypes; ++i) {
    Type t;
    const uint32_t np = pick(o_.max_params + 1);
    for (uint32_t j = 0; j < np; ++j)
      t.params.push_back(num_type());
    const uint32_t nr = pick(o_.max_results + 1);
    for (uint32_t j = 0; j < nr; ++j)
      t.results.push_back(num_type());
    types_.push_back(t);
  }
  const uint32_t base_types = static_cast<uint32_t>(types_.size());
  // Normally function 0 and global 0 are imported ("env" "f", "env" "g").
  num_imported_funcs_ = o_.differential ? 0 : 1;
  num_imported_globals_ = o_.differential ? 0 : 1;
  const uint32_t nfuncs = 1 + pick(o_.max_funcs);
  for (uint32_t i = 0; i < nfuncs + num_imported_funcs_; ++i)
    func_types_.push_back(pick(base_types));
  if (o_.differential) {
    // "main" takes no parameters.
    Type main = types_[func_types_.back()];
    main.params.clear();
    func_types_.back() = type_index(main);
  }
  if (num_imported_globals_)
    globals_.push_back({T::i32, false});
  const uint32_t nglobals = pick(o_.max_globals + 1);
  for (uint32_t i = 0; i < nglobals; ++i)
    globals_.push_back({num_type(), pick(4) != 0});
  memory_ = pick(8) != 0;
  mem_pages_ = memory_ && pick(8) != 0 ? 1 + pick(o_.max_memory_pages) : 0;
  table_size_ = static_cast<uint32_t>(func_types_.size()) + pick(4);

  // Global initialisers are generated before the bodies so the input order is stable.
  Bytes global_inits;
  for (size_t i = num_imported_globals_; i < globals_.size(); ++i) {
    code_.clear();
    if (globals_[i].type == T::i32 && num_imported_globals_ && pick(4) == 0) {
      op(0x23);
      u(0);
    } else {
      constant(globals_[i].type);
    }
    global_inits.push_back(static_cast<uint8_t>(globals_[i].type));
    global_inits.push_back(globals_[i].mutable_ ? 1 : 0);
    global_inits.insert(global_inits.end(), code_.begin(), code_.end());
    global_inits.push_back(0x0b);
  }
  std::vector<Bytes> bodies;
  for (uint32_t f = num_imported_funcs_; f < func_types_.size(); ++f) {
    current_func_ = f;
    body(func_types_[f]);
    bodies.push_back(code_);
  }

  Bytes m = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  Bytes s;
  leb_u(s, types_.size());
  for (const Type& t : types_) {
    s.push_back(0x60);
    leb_u(s, t.params.size());
    for (T v : t.params)
      s.push_back(static_cast<uint8_t>(v));
    leb_u(s, t.results.size());
    for (T v : t.results)
      s.push_back(static_cast<uint8_t>(v));
  }
  section(m, 1, s);

  if (!o_.differential) {
    s.clear();
    leb_u(s, 2);
    name(s, "env");
    name(s, "f");
    s.push_back(0x00);
    leb_u(s, func_types_[0]);
    name(s, "env");
    name(s, "g");
    s.push_back(0x03);
    s.push_back(static_cast<uint8_t>(T::i32));
    s.push_back(0x00);
    section(m, 2, s);
  }

  s.clear();
  leb_u(s, func_types_.size() - num_imported_funcs_);
  for (size_t f = num_imported_funcs_; f < func_types_.size(); ++f)
    leb_u(s, func_types_[f]);
  section(m, 3, s);

  s.clear();
  leb_u(s, 1);
  s.push_back(0x70);
  s.push_back(0x01);
  leb_u(s, table_size_);
  leb_u(s, table_size_ + 8);
  section(m, 4, s);

  if (memory_) {
    s.clear();
    leb_u(s, 1);
    s.push_back(0x01);
    leb_u(s, mem_pages_);
    leb_u(s, mem_pages_ + 2);
    section(m, 5, s);
  }

  if (globals_.size() > num_imported_globals_) {
    s.clear();
    leb_u(s, globals_.size() - num_imported_globals_);
    s.insert(s.end(), global_inits.begin(), global_inits.end());
    section(m, 6, s);
  }

  s.clear();
  if (o_.differential) {
    leb_u(s, 1);
    name(s, "main");
    s.push_back(0x00);
    leb_u(s, func_types_.size() - 1);
  } else {
    leb_u(s, func_types_.size() + globals_.size() + 1 + (memory_ ? 1 : 0));
    for (uint32_t f = 0; f < func_types_.size(); ++f) {
      name(s, indexed('f', f));
      s.push_back(0x00);
      leb_u(s, f);
    }
    for (uint32_t g = 0; g < globals_.size(); ++g) {
      name(s, indexed('g', g));
      s.push_back(0x03);
      leb_u(s, g);
    }
    name(s, "table");
    s.push_back(0x01);
    leb_u(s, 0);
    if (memory_) {
      name(s, "memory");
      s.push_back(0x02);
      leb_u(s, 0);
    }
  }
  section(m, 7, s);

  // Elements: function f at table index f (active), and a passive segment for table.init.
  s.clear();
  leb_u(s, 2);
  s.push_back(0x00);
  s.push_back(0x41);
  s.push_back(0x00);
  s.push_back(0x0b);
  leb_u(s, func_types_.size());
  for (uint32_t f = 0; f < func_types_.size(); ++f)
    leb_u(s, f);
  s.push_back(0x01);
  s.push_back(0x00);
  leb_u(s, 3);
  for (uint32_t i = 0; i < 3; ++i)
    leb_u(s, i % func_types_.size());
  section(m, 9, s);

  if (memory_) {
    s.clear();
    leb_u(s, 2);
    section(m, 12, s);  // data count: memory.init and data.drop need it
  }

  s.clear();
  leb_u(s, bodies.size());
  for (const Bytes& b : bodies) {
    leb_u(s, b.size());
    s.insert(s.end(), b.begin(), b.end());
  }
  section(m, 10, s);

  if (memory_) {
    // An active segment inside the initial pages (or empty at 0 when there are none) and a
    // passive one.
    s.clear();
    leb_u(s, 2);
    const std::string active = mem_pages_ ? in_.ConsumeRandomLengthString(32) : std::string();
    const uint32_t offset = mem_pages_ ? pick(static_cast<uint32_t>(65536 - active.size())) : 0;
    s.push_back(0x00);
    s.push_back(0x41);
    leb_s(s, offset);
    s.push_back(0x0b);
    name(s, active);
    s.push_back(0x01);
    name(s, "passive segment");
    section(m, 11, s);
  }
  return m;
}

}  // namespace

std::vector<uint8_t> generate_module(FuzzedDataProvider& in, const GenOptions& options) {
  return Gen(in, options).module();
}

}  // namespace tollgate::fuzz
