// Function bodies: decode, validate and lower to the IR of runtime/ir.hpp in one pass.
// SPDX-License-Identifier: Apache-2.0
//
// The validator follows the algorithm of the spec's appendix
// (https://webassembly.github.io/spec/core/appendix/algorithm.html): an operand stack of types
// with an "unknown" type for the polymorphic stack after unconditional branches, and a stack of
// control frames. Lowering rides along: every control frame knows its operand height in slots,
// so a branch knows how many slots to keep and drop, and forward branches are chained through
// their target fields and patched when the frame's `end` is reached.
#include <algorithm>
#include <array>
#include <string>

#include "runtime/base/limits.hpp"
#include "runtime/decoder_func.hpp"

namespace tollgate::runtime::detail {

using ir::ImmKind;
using ir::Instr;
using ir::Op;

namespace {

struct OpRow {
  uint8_t prefix{};
  uint32_t code{};
  ImmKind imm;
  const char* sig;
};

constexpr OpRow kRows[] = {
#define TG_OP(name, prefix, code, imm, sig, fuel) {prefix, code, ImmKind::imm, sig},
#include "runtime/opcodes.def"
#undef TG_OP
};
constexpr uint32_t kWasmOpCount = sizeof(kRows) / sizeof(kRows[0]);

/// Static costs, as ir::op_fuel() returns them, without the call on the hot path.
constexpr uint8_t kFuel[] = {
#define TG_OP(name, prefix, code, imm, sig, fuel) fuel,
#include "runtime/opcodes.def"
#undef TG_OP
};

/// The unknown type of the spec's algorithm: popped from a polymorphic stack, matches anything.
constexpr ValType kUnknown = static_cast<ValType>(0);

constexpr uint32_t kNone = 0xFFFFFFFFu;
/// Marks a forward-branch chain link that lives in `br_targets` rather than `code`.
constexpr uint32_t kTableLink = 0x80000000u;

ValType letter_type(char c) {
  switch (c) {
    case 'i':
      return ValType::i32;
    case 'I':
      return ValType::i64;
    case 'f':
      return ValType::f32;
    case 'F':
      return ValType::f64;
    default:
      return ValType::v128;
  }
}

/// The opcodes.def signature strings, parsed once.
struct Sig {
  bool manual = true;
  uint8_t n_params = 0;
  uint8_t n_results = 0;
  std::array<ValType, 3> params{};
  ValType result = ValType::i32;
};

struct Tables {
  std::array<uint16_t, 256> single;
  std::array<uint16_t, 32> misc;
  std::array<uint16_t, 256> simd;
  std::array<Sig, kWasmOpCount> sigs;

  Tables() {
    single.fill(0xFFFF);
    misc.fill(0xFFFF);
    simd.fill(0xFFFF);
    for (uint32_t i = 0; i < kWasmOpCount; ++i) {
      const OpRow& r = kRows[i];
      if (r.prefix == 0)
        single[r.code] = static_cast<uint16_t>(i);
      if (r.prefix == 0xFC)
        misc[r.code] = static_cast<uint16_t>(i);
      if (r.prefix == 0xFD)
        simd[r.code] = static_cast<uint16_t>(i);
      Sig& s = sigs[i];
      const std::string_view sig = r.sig;
      if (sig == "*")
        continue;
      s.manual = false;
      const size_t colon = sig.find(':');
      for (size_t k = 0; k < colon; ++k)
        s.params[s.n_params++] = letter_type(sig[k]);
      if (colon + 1 < sig.size()) {
        s.n_results = 1;
        s.result = letter_type(sig[colon + 1]);
      }
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

/// log2 of the natural alignment of a memory access.
uint32_t natural_align(Op op) {
  switch (op) {
    case Op::i32_load8_s:
    case Op::i32_load8_u:
    case Op::i64_load8_s:
    case Op::i64_load8_u:
    case Op::i32_store8:
    case Op::i64_store8:
    case Op::v128_load8_splat:
    case Op::v128_load8_lane:
    case Op::v128_store8_lane:
      return 0;
    case Op::i32_load16_s:
    case Op::i32_load16_u:
    case Op::i64_load16_s:
    case Op::i64_load16_u:
    case Op::i32_store16:
    case Op::i64_store16:
    case Op::v128_load16_splat:
    case Op::v128_load16_lane:
    case Op::v128_store16_lane:
      return 1;
    case Op::i32_load:
    case Op::f32_load:
    case Op::i64_load32_s:
    case Op::i64_load32_u:
    case Op::i32_store:
    case Op::f32_store:
    case Op::i64_store32:
    case Op::v128_load32_splat:
    case Op::v128_load32_zero:
    case Op::v128_load32_lane:
    case Op::v128_store32_lane:
      return 2;
    case Op::v128_load:
    case Op::v128_store:
      return 4;
    default:
      return 3;  // i64/f64 loads and stores, v128 8x8/16x4/32x2 loads, 64-bit splat/zero/lane
  }
}

/// Lane count of a SIMD lane immediate (extract/replace_lane, load/store_lane).
uint32_t lane_count(Op op) {
  switch (op) {
    case Op::i8x16_extract_lane_s:
    case Op::i8x16_extract_lane_u:
    case Op::i8x16_replace_lane:
    case Op::v128_load8_lane:
    case Op::v128_store8_lane:
      return 16;
    case Op::i16x8_extract_lane_s:
    case Op::i16x8_extract_lane_u:
    case Op::i16x8_replace_lane:
    case Op::v128_load16_lane:
    case Op::v128_store16_lane:
      return 8;
    case Op::i32x4_extract_lane:
    case Op::i32x4_replace_lane:
    case Op::f32x4_extract_lane:
    case Op::f32x4_replace_lane:
    case Op::v128_load32_lane:
    case Op::v128_store32_lane:
      return 4;
    default:
      return 2;
  }
}

constexpr ValType kValTypes[] = {ValType::i32,  ValType::i64,     ValType::f32,      ValType::f64,
                                 ValType::v128, ValType::funcref, ValType::externref};

const ValType* single_type(ValType t) {
  for (const ValType& v : kValTypes) {
    if (v == t)
      return &v;
  }
  return nullptr;
}

bool is_val_type_byte(uint8_t b) {
  return b == 0x7F || b == 0x7E || b == 0x7D || b == 0x7C || b == 0x7B || b == 0x70 || b == 0x6F;
}

uint32_t slots_of(const ValType* types, uint32_t n) {
  uint32_t s = 0;
  for (uint32_t i = 0; i < n; ++i)
    s += slot_count(types[i]);
  return s;
}

}  // namespace

bool lookup_opcode(uint8_t prefix, uint32_t code, Op& out) {
  const Tables& t = tables();
  uint16_t row = 0xFFFF;
  if (prefix == 0) {
    row = t.single[code & 0xFF];
  } else if (prefix == 0xFC) {
    if (code < t.misc.size())
      row = t.misc[code];
  } else if (prefix == 0xFD) {
    if (code < t.simd.size())
      row = t.simd[code];
  }
  if (row == 0xFFFF)
    return false;
  out = static_cast<Op>(row);
  return true;
}

namespace {

bool skip_val_types(Reader& r, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) {
    uint8_t b = 0;
    if (!r.u8(b))
      return false;
    if (!is_val_type_byte(b))
      return r.malformed_at(r.offset() - 1, "malformed value type");
  }
  return true;
}

bool skip_immediates(Reader& r, Op op, bool has_data_count, DataIndexUse& use, uint32_t at) {
  uint32_t u = 0;
  uint8_t b = 0;
  switch (kRows[static_cast<uint32_t>(op)].imm) {
    case ImmKind::none:
      return true;
    case ImmKind::block: {
      if (!r.peek(b))
        return false;
      if (b == 0x40 || is_val_type_byte(b))
        return r.u8(b);
      int64_t idx = 0;
      if (!r.s33(idx))
        return false;
      return idx >= 0 || r.malformed_at(at, "malformed block type");
    }
    case ImmKind::label:
    case ImmKind::func:
    case ImmKind::local:
    case ImmKind::global:
    case ImmKind::table:
    case ImmKind::elem:
      return r.u32(u);
    case ImmKind::br_table: {
      uint32_t n = 0;
      if (!r.count(n))
        return false;
      for (uint32_t i = 0; i <= n; ++i) {
        if (!r.u32(u))
          return false;
      }
      return true;
    }
    case ImmKind::call_indirect:
    case ImmKind::table_init:
    case ImmKind::table_copy:
      return r.u32(u) && r.u32(u);
    case ImmKind::select_t: {
      uint32_t n = 0;
      return r.count(n) && skip_val_types(r, n);
    }
    case ImmKind::memarg:
    case ImmKind::memarg_lane:
      if (!r.u32(u))
        return false;
      if (u >= 32)
        return r.malformed_at(at, "malformed memop flags");
      if (!r.u32(u))
        return false;
      return kRows[static_cast<uint32_t>(op)].imm == ImmKind::memarg || r.u8(b);
    case ImmKind::memory:
    case ImmKind::memory_copy:
      for (int i = kRows[static_cast<uint32_t>(op)].imm == ImmKind::memory ? 1 : 2; i > 0; --i) {
        if (!r.u8(b))
          return false;
        if (b != 0)
          return r.malformed_at(at, "zero byte expected");
      }
      return true;
    case ImmKind::i32: {
      int32_t v = 0;
      return r.s32(v);
    }
    case ImmKind::i64: {
      int64_t v = 0;
      return r.s64(v);
    }
    case ImmKind::f32: {
      uint32_t v = 0;
      return r.fixed32(v);
    }
    case ImmKind::f64: {
      uint64_t v = 0;
      return r.fixed64(v);
    }
    case ImmKind::ref_type:
      if (!r.u8(b))
        return false;
      return b == 0x70 || b == 0x6F || r.malformed_at(at, "malformed reference type");
    case ImmKind::memory_init:
    case ImmKind::data:
      if (!r.u32(u))
        return false;
      if (!has_data_count) {
        if (!use.used)
          use.first_offset = at;
        use.used = true;
        use.max_index = std::max(use.max_index, u);
      }
      if (kRows[static_cast<uint32_t>(op)].imm == ImmKind::data)
        return true;
      if (!r.u8(b))
        return false;
      return b == 0 || r.malformed_at(at, "zero byte expected");
    case ImmKind::v128:
    case ImmKind::shuffle: {
      const uint8_t* p = nullptr;
      return r.bytes(16, p);
    }
    case ImmKind::lane:
      return r.u8(b);
  }
  return r.malformed_at(at, "illegal opcode");
}

}  // namespace

bool skip_expression(Reader& r, bool has_data_count, DataIndexUse& data_use) {
  // Open constructs: 1 for an `if` (which may take an `else`), 0 for block and loop.
  std::vector<uint8_t> open{0};
  const Tables& tb = tables();
  while (!open.empty()) {
    const uint32_t at = r.offset();
    uint8_t byte = 0;
    if (!r.u8(byte))
      return r.malformed_at(at, "unexpected end: END opcode expected");
    uint16_t row = 0xFFFF;
    if (byte == 0xFC || byte == 0xFD) {
      uint32_t sub = 0;
      if (!r.u32(sub))
        return false;
      Op op{};
      if (lookup_opcode(byte, sub, op))
        row = static_cast<uint16_t>(op);
    } else {
      row = tb.single[byte];
    }
    if (row == 0xFFFF)
      return r.malformed_at(at, "illegal opcode");
    const Op op = static_cast<Op>(row);
    if (op == Op::end) {
      open.pop_back();
      continue;
    }
    if (op == Op::else_) {
      if (open.back() != 1)
        return r.malformed_at(at, "else without matching if");
      open.back() = 2;
      continue;
    }
    if (!skip_immediates(r, op, has_data_count, data_use, at))
      return false;
    if (op == Op::block || op == Op::loop || op == Op::if_) {
      if (open.size() >= kMaxBlockDepth)
        return r.fail(ErrorKind::resource, at, "blocks nested too deeply");
      open.push_back(op == Op::if_ ? 1 : 0);
    }
  }
  return true;
}

bool skip_body(Reader body, bool has_data_count, DataIndexUse& data_use) {
  uint32_t groups = 0;
  if (!body.count(groups, 2))
    return false;
  uint64_t total = 0;
  const uint32_t at = body.offset();
  for (uint32_t i = 0; i < groups; ++i) {
    uint32_t n = 0;
    if (!body.u32(n) || !skip_val_types(body, 1))
      return false;
    total += n;
  }
  if (total > 0xFFFFFFFFull)
    return body.malformed_at(at, "too many locals");
  if (!skip_expression(body, has_data_count, data_use))
    return false;
  return body.eof() ||
         body.malformed_at(body.offset(), "section size mismatch: END opcode expected");
}

struct FuncDecoder::Impl {
  struct Ctrl {
    Op kind;               ///< block, loop, if_, else_; the function frame is a block
    bool unreachable;      ///< validation: the rest of the frame is stack-polymorphic
    bool emitted;          ///< the construct was entered in live code
    bool targeted;         ///< an emitted forward branch goes to its end
    uint32_t height;       ///< operand stack height (types) below the params
    uint32_t slot_height;  ///< the same in slots
    const ValType* params{};
    const ValType* results{};
    uint32_t n_params{};
    uint32_t n_results{};
    uint32_t label_slots;  ///< slots a branch to this frame carries
    uint32_t loop_pc;      ///< loop: the fuel_poll its back-edges land on
    uint32_t patch_head;   ///< chain of forward branches to this frame's end
    uint32_t else_pc;      ///< if: its br_unless, until `else` or `end` patches it
  };

  const Module& m;
  const std::vector<bool>& declared;
  DataIndexUse& data_use;

  // Per body.
  Reader r{nullptr, nullptr, nullptr, nullptr};
  ir::FuncCode* out = nullptr;
  std::vector<ValType> stack;
  std::vector<Ctrl> ctrls;
  std::vector<ValType> scratch;
  uint32_t slots = 0;
  bool live = false;  ///< the current position can execute: emit IR and charge fuel
  uint32_t fuel_pc = 0;
  uint32_t op_start = 0;  ///< offset of the current instruction, for errors

  Impl(const Module& module, const std::vector<bool>& decl, DataIndexUse& use)
      : m(module), declared(decl), data_use(use) {}

  // ---- errors ----
  bool invalid(std::string msg) { return r.invalid_at(op_start, std::move(msg)); }
  bool malformed(std::string msg) { return r.malformed_at(op_start, std::move(msg)); }
  bool type_mismatch(ValType expected, ValType got) {
    return invalid(std::string("type mismatch: expected ") + val_type_name(expected) + ", got " +
                   (got == kUnknown ? "nothing" : val_type_name(got)));
  }

  // ---- operand stack ----
  void push(ValType t) {
    stack.push_back(t);
    slots += t == kUnknown ? 1 : slot_count(t);
    if (slots > out->max_stack_slots)
      out->max_stack_slots = slots;
  }

  bool pop(ValType& got) {
    const Ctrl& c = ctrls.back();
    if (stack.size() == c.height) {
      if (c.unreachable) {
        got = kUnknown;
        return true;
      }
      return invalid("type mismatch: operand stack underflow");
    }
    got = stack.back();
    stack.pop_back();
    slots -= got == kUnknown ? 1 : slot_count(got);
    return true;
  }

  bool pop_expect(ValType expected) {
    // Fast path: the expected type is on top, above the frame's base.
    if (stack.size() > ctrls.back().height && stack.back() == expected) {
      stack.pop_back();
      slots -= slot_count(expected);
      return true;
    }
    ValType got{};
    if (!pop(got))
      return false;
    if (got != expected && got != kUnknown && expected != kUnknown) {
      return type_mismatch(expected, got);
    }
    return true;
  }

  bool pop_vals(const ValType* types, uint32_t n) {
    for (uint32_t i = n; i-- > 0;) {
      if (!pop_expect(types[i]))
        return false;
    }
    return true;
  }

  void push_vals(const ValType* types, uint32_t n) {
    for (uint32_t i = 0; i < n; ++i)
      push(types[i]);
  }

  /// Sets the stack to the frame's height (the spec's `unreachable()`), and stops emission.
  void set_unreachable() {
    Ctrl& c = ctrls.back();
    stack.resize(c.height);
    slots = c.slot_height;
    c.unreachable = true;
    live = false;
  }

  // ---- emission ----
  uint32_t pc() const { return static_cast<uint32_t>(out->code.size()); }

  void emit(Op op, uint32_t a = 0, uint64_t b = 0, uint16_t aux = 0) {
    Instr i;
    i.op = op;
    i.a = a;
    i.b = b;
    i.aux = aux;
    out->code.push_back(i);
  }

  void charge(Op op) {
    if (live)
      out->code[fuel_pc].a += kFuel[static_cast<uint32_t>(op)];
  }

  /// Starts a basic block here and returns the pc of its fuel instruction. A current block that
  /// lowered to nothing is merged into the new one instead (ir.hpp allows it).
  uint32_t start_block(bool poll, bool target) {
    if (live && fuel_pc + 1 == pc()) {
      Instr& f = out->code[fuel_pc];
      if (poll)
        f.op = Op::fuel_poll;
      if (target)
        f.aux = 1;
    } else {
      fuel_pc = pc();
      emit(poll ? Op::fuel_poll : Op::fuel, 0, 0, target ? 1 : 0);
    }
    live = true;
    return fuel_pc;
  }

  void patch_chain(uint32_t head, uint32_t target) {
    while (head != kNone) {
      if (head & kTableLink) {
        ir::BrTarget& t = out->br_targets[head & ~kTableLink];
        head = t.pc;
        t.pc = target;
      } else {
        Instr& i = out->code[head];
        head = i.a;
        i.a = target;
      }
    }
  }

  /// Target pc for a branch to `c` from the instruction about to be emitted at `link`; forward
  /// branches join the frame's patch chain.
  uint32_t branch_target(Ctrl& c, uint32_t link) {
    if (c.kind == Op::loop) {
      out->code[c.loop_pc].aux = 1;
      return c.loop_pc;
    }
    const uint32_t next = c.patch_head;
    c.patch_head = link;
    c.targeted = true;
    return next;
  }

  /// Emits br/br_if (or the _drop forms) to frame `c`; `slots` holds the operands only.
  void emit_branch(Ctrl& c, bool conditional) {
    const uint32_t keep = c.label_slots;
    const uint32_t drop = slots - c.slot_height - keep;
    if (!conditional && &c == &ctrls.front()) {
      emit(Op::return_, out->result_slots);
      return;
    }
    const uint32_t target = branch_target(c, pc());
    if (drop == 0) {
      emit(conditional ? Op::br_if : Op::br, target);
    } else {
      emit(conditional ? Op::br_if_drop : Op::br_drop, target,
           static_cast<uint64_t>(keep) | (static_cast<uint64_t>(drop) << 32));
    }
  }

  // ---- immediates ----
  bool read_val_type(ValType& t) {
    uint8_t b{};
    if (!r.u8(b))
      return false;
    if (!is_val_type_byte(b))
      return r.malformed_at(r.offset() - 1, "malformed value type");
    t = static_cast<ValType>(b);
    return true;
  }

  bool read_ref_type(ValType& t) {
    uint8_t b{};
    if (!r.u8(b))
      return false;
    if (b != 0x70 && b != 0x6F)
      return r.malformed_at(r.offset() - 1, "malformed reference type");
    t = static_cast<ValType>(b);
    return true;
  }

  bool read_block_type(const ValType*& params,
                       uint32_t& np,
                       const ValType*& results,
                       uint32_t& nr) {
    uint8_t b{};
    if (!r.peek(b))
      return false;
    params = results = nullptr;
    np = nr = 0;
    if (b == 0x40) {
      r.u8(b);
      return true;
    }
    if (is_val_type_byte(b)) {
      r.u8(b);
      results = single_type(static_cast<ValType>(b));
      nr = 1;
      return true;
    }
    int64_t idx{};
    if (!r.s33(idx))
      return false;
    if (idx < 0)
      return malformed("malformed block type");
    if (static_cast<uint64_t>(idx) >= m.types.size())
      return invalid("unknown type");
    const FuncType& ft = m.types[static_cast<size_t>(idx)];
    params = ft.params.data();
    np = static_cast<uint32_t>(ft.params.size());
    results = ft.results.data();
    nr = static_cast<uint32_t>(ft.results.size());
    return true;
  }

  bool read_memarg(Op op, uint32_t& align, uint32_t& offset) {
    if (!r.u32(align) || !r.u32(offset))
      return false;
    // An exponent that cannot describe a 32-bit alignment is a decoding error, not a type error.
    if (align >= 32)
      return malformed("malformed memop flags");
    if (m.memories.empty())
      return invalid("unknown memory 0");
    if (align > natural_align(op))
      return invalid("alignment must not be larger than natural");
    return true;
  }

  bool zero_byte() {
    uint8_t b{};
    if (!r.u8(b))
      return false;
    if (b != 0)
      return malformed("zero byte expected");
    return true;
  }

  bool need_memory() {
    if (m.memories.empty())
      return invalid("unknown memory 0");
    return true;
  }

  bool read_table(uint32_t& t) {
    if (!r.u32(t))
      return false;
    if (t >= m.tables.size())
      return invalid("unknown table " + std::to_string(t));
    return true;
  }

  bool read_elem(uint32_t& e) {
    if (!r.u32(e))
      return false;
    if (e >= m.elems.size())
      return invalid("unknown elem segment " + std::to_string(e));
    return true;
  }

  bool read_data(uint32_t& d) {
    if (!r.u32(d))
      return false;
    if (!m.data_count) {
      // The data section comes after the code: the module decoder settles this use at the end.
      if (!data_use.used)
        data_use.first_offset = op_start;
      data_use.used = true;
      if (d > data_use.max_index)
        data_use.max_index = d;
      return true;
    }
    if (d >= *m.data_count)
      return invalid("unknown data segment " + std::to_string(d));
    return true;
  }

  bool read_label(uint32_t& depth) {
    if (!r.u32(depth))
      return false;
    if (depth >= ctrls.size())
      return invalid("unknown label");
    return true;
  }

  static const ValType* label_types(const Ctrl& c, uint32_t& n) {
    if (c.kind == Op::loop) {
      n = c.n_params;
      return c.params;
    }
    n = c.n_results;
    return c.results;
  }

  // ---- control ----
  /// Opens a frame; the caller has popped its params, which the frame pushes back above its
  /// height.
  bool push_ctrl(Op kind, const ValType* params, uint32_t np, const ValType* results, uint32_t nr) {
    if (ctrls.size() >= kMaxBlockDepth) {
      return r.fail(ErrorKind::resource, op_start, "blocks nested too deeply");
    }
    Ctrl c{};
    c.kind = kind;
    c.emitted = live;
    c.height = static_cast<uint32_t>(stack.size());
    c.slot_height = slots;
    c.params = params;
    c.n_params = np;
    c.results = results;
    c.n_results = nr;
    c.label_slots = kind == Op::loop ? slots_of(params, np) : slots_of(results, nr);
    c.loop_pc = kNone;
    c.patch_head = kNone;
    c.else_pc = kNone;
    ctrls.push_back(c);
    push_vals(params, np);
    return true;
  }

  /// Checks the frame's results are exactly what is on its stack (the spec's pop_ctrl checks).
  bool check_frame_end(const Ctrl& c) {
    if (!pop_vals(c.results, c.n_results))
      return false;
    if (stack.size() != c.height)
      return invalid("type mismatch: values remain on the stack");
    return true;
  }

  bool op_block(Op kind) {
    const ValType *params, *results;
    uint32_t np{}, nr{};
    if (!read_block_type(params, np, results, nr))
      return false;
    if (kind == Op::if_ && !pop_expect(ValType::i32))
      return false;
    if (!pop_vals(params, np))
      return false;
    if (kind == Op::if_) {
      charge(Op::if_);
      uint32_t br_pc = kNone;
      if (live) {
        br_pc = pc();
        emit(Op::br_unless, kNone);
      }
      if (!push_ctrl(kind, params, np, results, nr))
        return false;
      ctrls.back().else_pc = br_pc;
      if (live)
        start_block(false, false);
      return true;
    }
    if (!push_ctrl(kind, params, np, results, nr))
      return false;
    if (kind == Op::loop && live)
      ctrls.back().loop_pc = start_block(true, false);
    return true;
  }

  bool op_else() {
    Ctrl& c = ctrls.back();
    if (c.kind != Op::if_ || ctrls.size() == 1)
      return malformed("else without matching if");
    if (!check_frame_end(c))
      return false;
    if (live)
      emit(Op::br, branch_target(c, pc()));
    live = false;
    if (c.else_pc != kNone) {
      const uint32_t at = start_block(false, true);
      out->code[c.else_pc].a = at;
      c.else_pc = kNone;
    }
    c.kind = Op::else_;
    c.unreachable = false;
    stack.resize(c.height);
    slots = c.slot_height;
    push_vals(c.params, c.n_params);
    return true;
  }

  /// `end` of any frame but the function's.
  bool op_end() {
    Ctrl& c = ctrls.back();
    if (c.kind == Op::if_) {
      // No else arm: the implicit one passes the params through, so they must be the results.
      if (c.n_params != c.n_results)
        return invalid("type mismatch: if without else");
      for (uint32_t i = 0; i < c.n_params; ++i) {
        if (c.params[i] != c.results[i])
          return invalid("type mismatch: if without else");
      }
      if (c.else_pc != kNone) {
        out->code[c.else_pc].a = c.patch_head;
        c.patch_head = c.else_pc;
        c.targeted = true;
      }
    }
    if (!check_frame_end(c))
      return false;
    const Ctrl done = c;
    ctrls.pop_back();
    stack.resize(done.height);
    slots = done.slot_height;
    push_vals(done.results, done.n_results);
    if (done.targeted)
      patch_chain(done.patch_head, start_block(false, true));
    return true;
  }

  bool op_function_end() {
    Ctrl& c = ctrls.back();
    if (!check_frame_end(c))
      return false;
    if (c.targeted)
      patch_chain(c.patch_head, start_block(false, true));
    if (live)
      emit(Op::return_, out->result_slots);
    ctrls.pop_back();
    return true;
  }

  bool op_br_table() {
    uint32_t n{};
    if (!r.count(n))
      return false;
    if (n > kMaxBrTableSize)
      return r.fail(ErrorKind::resource, op_start, "br_table too large");
    const uint32_t first = static_cast<uint32_t>(out->br_targets.size());
    // Labels are read before the operand is typed, so decode them into br_targets first.
    for (uint32_t i = 0; i <= n; ++i) {
      uint32_t depth{};
      if (!read_label(depth))
        return false;
      ir::BrTarget t;
      t.pc = depth;
      out->br_targets.push_back(t);
    }
    if (!pop_expect(ValType::i32))
      return false;
    const Ctrl& dflt = ctrls[ctrls.size() - 1 - out->br_targets.back().pc];
    uint32_t arity{};
    label_types(dflt, arity);
    for (uint32_t i = 0; i < n; ++i) {
      const Ctrl& c = ctrls[ctrls.size() - 1 - out->br_targets[first + i].pc];
      uint32_t na{};
      const ValType* types = label_types(c, na);
      if (na != arity)
        return invalid("type mismatch: br_table targets differ in arity");
      // push_vals(pop_vals(labels)): keeps the actual types, refining unknowns per label.
      scratch.resize(na);
      for (uint32_t k = na; k-- > 0;) {
        ValType got{};
        if (!pop(got))
          return false;
        if (got != types[k] && got != kUnknown)
          return type_mismatch(types[k], got);
        scratch[k] = got;
      }
      for (uint32_t k = 0; k < na; ++k)
        push(scratch[k]);
    }
    uint32_t nd{};
    const ValType* dtypes = label_types(dflt, nd);
    if (!pop_vals(dtypes, nd))
      return false;
    for (uint32_t k = 0; k < nd; ++k)
      push(dtypes[k]);
    if (live) {
      charge(Op::br_table);
      const uint32_t height = slots;
      for (uint32_t i = 0; i <= n; ++i) {
        Ctrl& c = ctrls[ctrls.size() - 1 - out->br_targets[first + i].pc];
        ir::BrTarget& t = out->br_targets[first + i];
        t.keep = c.label_slots;
        t.drop = height - c.slot_height - c.label_slots;
        t.pc = branch_target(c, (first + i) | kTableLink);
      }
      emit(Op::br_table, first, n);
    } else {
      out->br_targets.resize(first);
    }
    set_unreachable();
    return true;
  }

  bool op_select(bool typed) {
    ValType t = kUnknown;
    if (typed) {
      uint32_t n{};
      if (!r.count(n))
        return false;
      if (n != 1)
        return invalid("invalid result arity");
      if (!read_val_type(t))
        return false;
    }
    if (!pop_expect(ValType::i32))
      return false;
    ValType a{}, b{};
    if (!pop(b) || !pop(a))
      return false;
    if (typed) {
      if (a != kUnknown && a != t)
        return type_mismatch(t, a);
      if (b != kUnknown && b != t)
        return type_mismatch(t, b);
    } else {
      if ((a != kUnknown && is_ref(a)) || (b != kUnknown && is_ref(b))) {
        return invalid("type mismatch: select without type needs numeric operands");
      }
      if (a != kUnknown && b != kUnknown && a != b)
        return type_mismatch(a, b);
      t = a != kUnknown ? a : b;
    }
    push(t);
    charge(Op::select);
    if (live)
      emit(t == ValType::v128 ? Op::select_v128 : Op::select);
    return true;
  }

  bool op_local(Op op) {
    uint32_t idx{};
    if (!r.u32(idx))
      return false;
    if (idx >= out->local_types.size())
      return invalid("unknown local " + std::to_string(idx));
    const ValType t = out->local_types[idx];
    if (op == Op::local_get) {
      push(t);
    } else if (op == Op::local_set) {
      if (!pop_expect(t))
        return false;
    } else {
      if (!pop_expect(t))
        return false;
      push(t);
    }
    charge(op);
    if (live) {
      Op lowered = op;
      if (t == ValType::v128) {
        lowered = op == Op::local_get   ? Op::local_get_v128
                  : op == Op::local_set ? Op::local_set_v128
                                        : Op::local_tee_v128;
      }
      emit(lowered, out->local_offsets[idx], 0, static_cast<uint16_t>(t));
    }
    return true;
  }

  bool op_global(Op op) {
    uint32_t idx{};
    if (!r.u32(idx))
      return false;
    if (idx >= m.globals.size())
      return invalid("unknown global " + std::to_string(idx));
    const GlobalType& g = m.globals[idx];
    if (op == Op::global_get) {
      push(g.type);
    } else {
      if (!g.mutable_)
        return invalid("global is immutable");
      if (!pop_expect(g.type))
        return false;
    }
    charge(op);
    if (live) {
      Op lowered = op;
      if (g.type == ValType::v128) {
        lowered = op == Op::global_get ? Op::global_get_v128 : Op::global_set_v128;
      }
      emit(lowered, idx, 0, static_cast<uint16_t>(g.type));
    }
    return true;
  }

  bool op_call(bool indirect) {
    const FuncType* ft;
    uint32_t a, table = 0;
    if (indirect) {
      if (!r.u32(a) || !r.u32(table))
        return false;
      if (a >= m.types.size())
        return invalid("unknown type " + std::to_string(a));
      if (table >= m.tables.size())
        return invalid("unknown table " + std::to_string(table));
      if (m.tables[table].elem != ValType::funcref) {
        return invalid("type mismatch: call_indirect needs a funcref table");
      }
      if (!pop_expect(ValType::i32))
        return false;
      ft = &m.types[a];
    } else {
      if (!r.u32(a))
        return false;
      if (a >= m.funcs.size())
        return invalid("unknown function " + std::to_string(a));
      ft = &m.types[m.funcs[a]];
    }
    if (!pop_vals(ft->params.data(), static_cast<uint32_t>(ft->params.size())))
      return false;
    push_vals(ft->results.data(), static_cast<uint32_t>(ft->results.size()));
    const Op op = indirect ? Op::call_indirect : Op::call;
    charge(op);
    if (live)
      emit(op, a, table);
    return true;
  }

  /// Instructions of opcodes.def typed by hand ("*") other than control and variables.
  bool op_table_ref(Op op) {
    uint32_t t = 0;
    switch (op) {
      case Op::table_get:
        if (!read_table(t) || !pop_expect(ValType::i32))
          return false;
        push(m.tables[t].elem);
        break;
      case Op::table_set:
        if (!read_table(t) || !pop_expect(m.tables[t].elem) || !pop_expect(ValType::i32)) {
          return false;
        }
        break;
      case Op::table_grow:
        if (!read_table(t) || !pop_expect(ValType::i32) || !pop_expect(m.tables[t].elem)) {
          return false;
        }
        push(ValType::i32);
        break;
      case Op::table_fill:
        if (!read_table(t) || !pop_expect(ValType::i32) || !pop_expect(m.tables[t].elem) ||
            !pop_expect(ValType::i32)) {
          return false;
        }
        break;
      case Op::ref_null: {
        ValType rt{};
        if (!read_ref_type(rt))
          return false;
        push(rt);
        charge(op);
        if (live)
          emit(op, 0, 0, static_cast<uint16_t>(rt));
        return true;
      }
      case Op::ref_is_null: {
        ValType got{};
        if (!pop(got))
          return false;
        if (got != kUnknown && !is_ref(got)) {
          return invalid("type mismatch: ref.is_null needs a reference");
        }
        push(ValType::i32);
        break;
      }
      case Op::ref_func: {
        if (!r.u32(t))
          return false;
        if (t >= m.funcs.size())
          return invalid("unknown function " + std::to_string(t));
        if (!declared[t])
          return invalid("undeclared function reference");
        push(ValType::funcref);
        break;
      }
      default:
        return malformed("illegal opcode");
    }
    charge(op);
    if (live)
      emit(op, t);
    return true;
  }

  /// Instructions typed from their opcodes.def signature; decodes the immediates.
  bool op_table_driven(Op op, const Sig& s) {
    uint32_t a = 0;
    uint64_t b = 0;
    uint16_t aux = 0;
    switch (kRows[static_cast<uint32_t>(op)].imm) {
      case ImmKind::none:
        break;
      case ImmKind::memarg: {
        uint32_t align{};
        if (!read_memarg(op, align, a))
          return false;
        aux = static_cast<uint16_t>(align);
        break;
      }
      case ImmKind::memarg_lane: {
        uint32_t align{};
        uint8_t lane{};
        if (!read_memarg(op, align, a) || !r.u8(lane))
          return false;
        if (lane >= lane_count(op))
          return invalid("invalid lane index");
        aux = static_cast<uint16_t>(align);
        b = lane;
        break;
      }
      case ImmKind::lane: {
        uint8_t lane{};
        if (!r.u8(lane))
          return false;
        if (lane >= lane_count(op))
          return invalid("invalid lane index");
        b = lane;
        break;
      }
      case ImmKind::memory:
        if (!zero_byte() || !need_memory())
          return false;
        break;
      case ImmKind::i32: {
        int32_t v{};
        if (!r.s32(v))
          return false;
        b = static_cast<uint32_t>(v);
        break;
      }
      case ImmKind::i64: {
        int64_t v{};
        if (!r.s64(v))
          return false;
        b = static_cast<uint64_t>(v);
        break;
      }
      case ImmKind::f32: {
        uint32_t v{};
        if (!r.fixed32(v))
          return false;
        b = v;
        break;
      }
      case ImmKind::f64:
        if (!r.fixed64(b))
          return false;
        break;
      case ImmKind::memory_init:
        if (!read_data(a) || !zero_byte() || !need_memory())
          return false;
        break;
      case ImmKind::data:
        if (!read_data(a))
          return false;
        break;
      case ImmKind::memory_copy:
        if (!zero_byte() || !zero_byte() || !need_memory())
          return false;
        break;
      case ImmKind::table_init: {
        uint32_t t{};
        if (!read_elem(a) || !read_table(t))
          return false;
        if (m.elems[a].type != m.tables[t].elem)
          return invalid("type mismatch: table.init");
        b = t;
        break;
      }
      case ImmKind::elem:
        if (!read_elem(a))
          return false;
        break;
      case ImmKind::table_copy: {
        uint32_t src{};
        if (!read_table(a) || !read_table(src))
          return false;
        if (m.tables[a].elem != m.tables[src].elem)
          return invalid("type mismatch: table.copy");
        b = src;
        break;
      }
      case ImmKind::table:
        if (!read_table(a))
          return false;
        break;
      case ImmKind::v128:
      case ImmKind::shuffle: {
        const uint8_t* p{};
        if (!r.bytes(16, p))
          return false;
        if (op == Op::i8x16_shuffle) {
          for (int i = 0; i < 16; ++i) {
            if (p[i] >= 32)
              return invalid("invalid lane index");
          }
        }
        V128 v;
        std::memcpy(v.u64.data(), p, 16);
        if (live) {
          a = static_cast<uint32_t>(out->v128_pool.size());
          out->v128_pool.push_back(v);
        }
        break;
      }
      default:
        return malformed("illegal opcode");
    }
    for (uint32_t i = s.n_params; i-- > 0;) {
      if (!pop_expect(s.params[i]))
        return false;
    }
    if (s.n_results)
      push(s.result);
    charge(op);
    if (live)
      emit(op, a, b, aux);
    return true;
  }

  bool decode_locals(TypeIdx type) {
    const FuncType& ft = m.types[type];
    ir::FuncCode& f = *out;
    f.type = type;
    uint32_t groups{};
    if (!r.count(groups, 2))
      return false;
    // Sum the counts before allocating: 2^32-1 locals is the spec's bound (malformed above it),
    // kMaxFunctionLocals ours.
    uint64_t total = ft.params.size();
    const Reader start = r;
    for (uint32_t i = 0; i < groups; ++i) {
      uint32_t n{};
      ValType t{};
      if (!r.u32(n) || !read_val_type(t))
        return false;
      total += n;
    }
    if (total > 0xFFFFFFFFull)
      return r.malformed_at(start.offset(), "too many locals");
    if (total > kMaxFunctionLocals) {
      return r.fail(ErrorKind::resource, start.offset(), "too many locals");
    }
    f.local_types.reserve(total);
    f.local_offsets.reserve(total);
    f.local_types = ft.params;
    uint32_t slot = 0;
    for (ValType t : ft.params) {
      f.local_offsets.push_back(slot);
      slot += slot_count(t);
    }
    f.param_slots = slot;
    r = start;
    for (uint32_t i = 0; i < groups; ++i) {
      uint32_t n{};
      ValType t{};
      r.u32(n);
      read_val_type(t);
      for (uint32_t k = 0; k < n; ++k) {
        f.local_types.push_back(t);
        f.local_offsets.push_back(slot);
        slot += slot_count(t);
      }
    }
    f.local_slots = slot;
    f.result_slots = slots_of(ft.results.data(), static_cast<uint32_t>(ft.results.size()));
    return true;
  }

  bool decode(TypeIdx type, Reader body, ir::FuncCode& code) {
    r = body;
    out = &code;
    code = ir::FuncCode{};
    code.body_offset = body.offset();
    stack.clear();
    ctrls.clear();
    slots = 0;
    op_start = r.offset();
    if (!decode_locals(type))
      return false;
    const FuncType& ft = m.types[type];
    // Compiled code averages about 3 bytes per instruction; growth covers denser bodies.
    code.code.reserve(r.remaining() / 3 + 4);
    live = true;
    fuel_pc = 0;
    emit(Op::fuel_poll);
    push_ctrl(Op::block, nullptr, 0, ft.results.data(), static_cast<uint32_t>(ft.results.size()));
    const Tables& tb = tables();
    while (!ctrls.empty()) {
      op_start = r.offset();
      uint8_t byte{};
      if (!r.u8(byte))
        return r.malformed_at(op_start, "unexpected end: END opcode expected");
      uint16_t row{};
      if (byte == 0xFC || byte == 0xFD) {
        uint32_t sub{};
        if (!r.u32(sub))
          return false;
        const auto& t = byte == 0xFC ? tb.misc.data() : tb.simd.data();
        const size_t size = byte == 0xFC ? tb.misc.size() : tb.simd.size();
        row = sub < size ? t[sub] : 0xFFFF;
      } else {
        row = tb.single[byte];
      }
      if (row == 0xFFFF)
        return malformed("illegal opcode");
      const Op op = static_cast<Op>(row);
      const Sig& s = tb.sigs[row];
      if (!s.manual) {
        if (!op_table_driven(op, s))
          return false;
        continue;
      }
      switch (op) {
        case Op::unreachable:
          charge(op);
          if (live)
            emit(op);
          set_unreachable();
          break;
        case Op::nop:
          break;
        case Op::block:
        case Op::loop:
        case Op::if_:
          if (!op_block(op))
            return false;
          break;
        case Op::else_:
          if (!op_else())
            return false;
          break;
        case Op::end:
          if (ctrls.size() == 1) {
            if (!op_function_end())
              return false;
          } else if (!op_end()) {
            return false;
          }
          break;
        case Op::br:
        case Op::br_if: {
          uint32_t depth{};
          if (!read_label(depth))
            return false;
          if (op == Op::br_if && !pop_expect(ValType::i32))
            return false;
          Ctrl& c = ctrls[ctrls.size() - 1 - depth];
          uint32_t n{};
          const ValType* types = label_types(c, n);
          if (!pop_vals(types, n))
            return false;
          push_vals(types, n);
          charge(op);
          if (live)
            emit_branch(c, op == Op::br_if);
          if (op == Op::br) {
            set_unreachable();
          } else if (live) {
            start_block(false, false);
          }
          break;
        }
        case Op::br_table:
          if (!op_br_table())
            return false;
          break;
        case Op::return_:
          if (!pop_vals(ctrls.front().results, ctrls.front().n_results))
            return false;
          charge(op);
          if (live)
            emit(Op::return_, code.result_slots);
          set_unreachable();
          break;
        case Op::call:
        case Op::call_indirect:
          if (!op_call(op == Op::call_indirect))
            return false;
          break;
        case Op::drop: {
          ValType t{};
          if (!pop(t))
            return false;
          charge(op);
          if (live)
            emit(t == ValType::v128 ? Op::drop_v128 : Op::drop);
          break;
        }
        case Op::select:
        case Op::select_t:
          if (!op_select(op == Op::select_t))
            return false;
          break;
        case Op::local_get:
        case Op::local_set:
        case Op::local_tee:
          if (!op_local(op))
            return false;
          break;
        case Op::global_get:
        case Op::global_set:
          if (!op_global(op))
            return false;
          break;
        default:
          if (!op_table_ref(op))
            return false;
          break;
      }
    }
    if (!r.eof())
      return r.malformed_at(r.offset(), "section size mismatch: END opcode expected");
    return true;
  }
};

FuncDecoder::FuncDecoder(const Module& module,
                         const std::vector<bool>& declared_funcs,
                         DataIndexUse& data_use)
    : impl_(std::make_unique<Impl>(module, declared_funcs, data_use)) {}

FuncDecoder::~FuncDecoder() = default;

bool FuncDecoder::decode(TypeIdx type, Reader body, ir::FuncCode& out) {
  return impl_->decode(type, body, out);
}

}  // namespace tollgate::runtime::detail
