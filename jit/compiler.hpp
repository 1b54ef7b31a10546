// The ISA-neutral single-pass front-end: lowers one ir::FuncCode through a MacroAssembler.
// SPDX-License-Identifier: Apache-2.0
//
// Only this file knows wasm semantics (house-style 2.4). It walks the IR once, keeping a
// compile-time value stack whose entries live in a register, as a constant or in their own
// frame slot (V8 Liftoff's VarState). Constants fold into immediates; registers are handed out
// across the value stack and spilled when the pool runs dry. At every branch, label and call the
// operand stack is spilled to its slots, so each label has one canonical state: every operand in
// the slot the IR's stack machine gives it (fp[local_slots + height]). A compare feeding a
// conditional branch becomes one compare-and-branch.
//
// Locals: a pre-pass weighs each local's uses (ten times more inside each enclosing loop, a loop
// being the span of a backward branch) and pins the heaviest to registers of the allocatable
// pools for the whole function, leaving a few registers to the operand stack. A pinned local is
// in its register at every label, so merges need no moves for it; around calls (which clobber
// every allocatable register) it is stored to its frame slot and reloaded. Other locals live in
// their frame slots.
//
// Frames: a function's frame is the IR's [params][locals][operand stack] in 8-byte slots on the
// JIT's value stack, addressed from the pinned frame register; a call moves the frame register to
// the first argument, and the callee leaves its results where its arguments were.
//
// Fuel: every IR `fuel`/`fuel_poll` becomes a compare-and-subtract that branches to the function's
// out_of_fuel stub without touching the fuel left, exactly the IR's semantics; `fuel_poll` then
// polls the interruption flag. Bulk operations charge their dynamic part inside their helpers,
// before any effect, as the interpreter does.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "jit/context.hpp"
#include "jit/helpers.hpp"
#include "jit/masm.hpp"
#include "runtime/base/result.hpp"
#include "runtime/ir.hpp"
#include "runtime/module.hpp"

namespace tollgate::jit {

/// What a function compiler needs from the whole-module driver.
struct ModuleEnv {
  const runtime::Module* module = nullptr;
  std::span<const Label> func_entries;  ///< one per defined function
  BoundsMode bounds = BoundsMode::explicit_checks;
};

template <MacroAssembler Masm>
class FunctionCompiler {
  using Op = runtime::ir::Op;
  using ValType = runtime::ValType;
  using TrapKind = runtime::TrapKind;

 public:
  struct Scratch;

  /// `scratch`, when given, is the working memory to use (a driver compiling many functions
  /// passes the same one each time, so its vectors are allocated once); else the compiler has
  /// its own.
  FunctionCompiler(Masm& masm,
                   const ModuleEnv& env,
                   runtime::FuncIdx func,
                   Scratch* scratch = nullptr)
      : own_(scratch != nullptr ? nullptr : std::make_unique<Scratch>()),
        s_(scratch != nullptr ? *scratch : *own_),
        masm_(masm),
        env_(env),
        module_(*env.module),
        code_(module_.code(func)),
        func_(func) {}

  /// Emits the function at its entry label; Error{unsupported} for an operation this JIT lacks.
  runtime::Status compile() {
    const uint32_t n = static_cast<uint32_t>(code_.code.size());
    targets_.assign(n + 1, false);
    labels_.assign(n + 1, Label{});
    label_first_.assign(n + 1, kNoTarget);
    label_count_.assign(n + 1, 0);
    label_types_.clear();
    stack_.clear();
    pinned_.clear();
    // Branch targets, and for pin_locals() the loop depth of each instruction: a backward
    // branch from pc to t makes [t, pc] a loop (+1 from t, -1 after pc). One pass over the IR.
    std::vector<int32_t>& delta = s_.loop_delta;
    delta.assign(n + 1, 0);
    auto target = [&](uint32_t from, uint32_t to) {
      targets_[to] = true;
      if (to <= from) {
        ++delta[to];
        --delta[from + 1];
      }
    };
    for (uint32_t pc = 0; pc < n; ++pc) {
      const runtime::ir::Instr& i = code_.code[pc];
      switch (i.op) {
        case Op::br:
        case Op::br_if:
        case Op::br_unless:
        case Op::br_drop:
        case Op::br_if_drop:
          target(pc, i.a);
          break;
        case Op::br_table:
          for (uint32_t k = 0; k <= static_cast<uint32_t>(i.b); ++k)
            target(pc, code_.br_targets[i.a + k].pc);
          break;
        default:
          break;
      }
    }
    if (code_.local_slots + uint64_t{code_.max_stack_slots} > (1u << 26))
      return unsupported("frame too large");
    for (ValType t : code_.local_types)
      if (t == ValType::v128)
        return unsupported("v128 locals");
    pin_locals();

    masm_.bind(env_.func_entries[func_ - module_.num_imported_funcs]);
    enter_function();
    for (pc_ = 0; pc_ < n; ++pc_) {
      if (targets_[pc_])
        enter_label(pc_);
      if (!reachable_)
        continue;
      TG_TRY(visit(code_.code[pc_]));
    }
    masm_.finish_function();
    return runtime::Ok{};
  }

 private:
  /// Where a value-stack entry is: its own slot, a register it owns, a constant, or the
  /// current value of a pinned local (`local.get` costs nothing until a write to that local,
  /// which first stores such entries to their slots).
  struct VarState {
    enum class Loc : uint8_t { slot, reg, imm, local };
    Loc loc = Loc::slot;
    ValType type = ValType::i32;
    Reg reg;
    int64_t imm = 0;
    uint32_t local = 0;  ///< Loc::local: the local's slot offset
    // Loc::local of an i32 may carry a wrapping addend in `imm` (local + k): loads and stores
    // fold it into their address, a local.set into one add, anything else materializes it.
  };
  /// An operand read by an operation: a register, and whether the operation owns it (it must
  /// then release it or hand it on) or only borrows a pinned local's register.
  struct Operand {
    Reg reg;
    bool owned = false;
  };

 public:
  /// The vectors a function's compilation works in.
  struct Scratch {
    std::vector<VarState> stack;
    std::vector<bool> targets;
    std::vector<Label> labels;
    std::vector<uint32_t> label_first;
    std::vector<uint32_t> label_count;
    std::vector<ValType> label_types;
    std::vector<Reg> local_regs;
    std::vector<uint32_t> pinned;
    std::vector<int32_t> loop_delta;
    std::vector<uint64_t> weight;
    std::vector<uint32_t> order;
    std::vector<Label> cases;
    std::vector<std::pair<Label, uint32_t>> case_stubs;
  };

 private:
  static RegClass class_of(ValType t) {
    return t == ValType::f32 || t == ValType::f64 ? RegClass::fp : RegClass::gp;
  }
  static Width width_of(ValType t) {
    return t == ValType::i32 || t == ValType::f32 ? Width::w32 : Width::w64;
  }
  static OperandSize size_of(ValType t) {
    return width_of(t) == Width::w32 ? OperandSize::s32 : OperandSize::s64;
  }

  runtime::Error unsupported(const std::string& what) const {
    return runtime::Error{
        runtime::ErrorKind::unsupported, code_.body_offset,
        "jit: " + what + " not supported (function " + std::to_string(func_) + ")"};
  }

  // ---- frame addressing ----
  Mem slot_mem(uint32_t pos) const {
    return Mem{masm_.fp(), static_cast<int32_t>(8 * (code_.local_slots + pos))};
  }
  Mem local_mem(uint32_t offset) const { return Mem{masm_.fp(), static_cast<int32_t>(8 * offset)}; }
  uint32_t height() const { return static_cast<uint32_t>(stack_.size()); }

  // ---- registers ----
  uint32_t& used_mask(RegClass c) { return c == RegClass::gp ? gp_used_ : fp_used_; }
  static std::span<const Reg> pool(RegClass c) {
    return c == RegClass::gp ? std::span<const Reg>(Masm::kAllocatableGp)
                             : std::span<const Reg>(Masm::kAllocatableFp);
  }
  static uint32_t index_in_pool(Reg r) {
    std::span<const Reg> p = pool(r.cls);
    for (uint32_t i = 0; i < p.size(); ++i)
      if (p[i] == r)
        return i;
    return 0;
  }
  Reg alloc(RegClass c) {
    std::span<const Reg> p = pool(c);
    uint32_t& used = used_mask(c);
    for (uint32_t i = 0; i < p.size(); ++i) {
      if ((used & (1u << i)) == 0) {
        used |= 1u << i;
        return p[i];
      }
    }
    // Spill the deepest register of this class: it is the least likely to be used soon.
    for (uint32_t pos = 0; pos < stack_.size(); ++pos) {
      VarState& v = stack_[pos];
      if (v.loc == VarState::Loc::reg && v.reg.cls == c) {
        const Reg r = v.reg;
        masm_.store(size_of(v.type), r, slot_mem(pos));
        v.loc = VarState::Loc::slot;
        return r;  // stays marked used, now for the caller
      }
    }
    return p[0];  // unreachable: popped operands never exceed the pool
  }
  void release(Reg r) {
    if (r.valid())
      used_mask(r.cls) &= ~(1u << index_in_pool(r));
  }
  void release(const VarState& v) {
    if (v.loc == VarState::Loc::reg)
      release(v.reg);
  }

  // ---- locals pinned to registers ----
  /// Registers of each class left to the operand stack: the most one operation holds at once
  /// (select: condition and two operands; a float compare: two operands and its result).
  static constexpr uint32_t kStackRegsGp = 3;
  static constexpr uint32_t kStackRegsFp = 4;
  static constexpr uint32_t kLoopWeight = 10;
  static constexpr uint32_t kMaxLoopDepth = 6;

  /// Chooses the locals that live in registers: the most used ones, uses in loops weighing more.
  void pin_locals() {
    const uint32_t n = static_cast<uint32_t>(code_.code.size());
    local_regs_.assign(code_.local_slots, Reg{});
    if (code_.local_types.empty())
      return;
    const std::vector<int32_t>& delta = s_.loop_delta;  // filled by compile()
    std::vector<uint64_t>& weight = s_.weight;
    weight.assign(code_.local_slots, 0);
    int32_t depth = 0;
    for (uint32_t pc = 0; pc < n; ++pc) {
      depth += delta[pc];
      const runtime::ir::Instr& i = code_.code[pc];
      if (i.op == Op::local_get || i.op == Op::local_set || i.op == Op::local_tee) {
        uint64_t w = 1;
        for (int32_t d = 0; d < depth && d < static_cast<int32_t>(kMaxLoopDepth); ++d)
          w *= kLoopWeight;
        weight[i.a] += w;
      }
    }
    std::vector<uint32_t>& order = s_.order;
    order.clear();
    for (size_t k = 0; k < code_.local_types.size(); ++k)
      if (weight[code_.local_offsets[k]] != 0)
        order.push_back(static_cast<uint32_t>(k));
    // Heaviest first, ties in index order (std::sort with the index as tie-break: stable_sort
    // would allocate a buffer for every function).
    std::sort(order.begin(), order.end(), [&](uint32_t x, uint32_t y) {
      const uint64_t wx = weight[code_.local_offsets[x]], wy = weight[code_.local_offsets[y]];
      return wx != wy ? wx > wy : x < y;
    });
    const auto spare = [](size_t pool_size, uint32_t keep) {
      return pool_size > keep ? static_cast<uint32_t>(pool_size) - keep : 0u;
    };
    uint32_t free_gp = spare(pool(RegClass::gp).size(), kStackRegsGp);
    uint32_t free_fp = spare(pool(RegClass::fp).size(), kStackRegsFp);
    for (uint32_t k : order) {
      const RegClass c = class_of(code_.local_types[k]);
      uint32_t& left = c == RegClass::gp ? free_gp : free_fp;
      if (left == 0)
        continue;
      --left;
      const Reg r = alloc(c);  // stays marked used for the whole function
      local_regs_[code_.local_offsets[k]] = r;
      pinned_.push_back(k);
    }
  }
  Reg local_reg(uint32_t offset) const { return local_regs_[offset]; }
  /// Stores every pinned local to its frame slot (before anything that clobbers registers).
  void spill_locals() {
    for (uint32_t k : pinned_) {
      const uint32_t offset = code_.local_offsets[k];
      masm_.store(size_of(code_.local_types[k]), local_regs_[offset], local_mem(offset));
    }
  }
  /// Loads every pinned local from its frame slot (at entry and after calls).
  void reload_locals() {
    for (uint32_t k : pinned_) {
      const uint32_t offset = code_.local_offsets[k];
      masm_.load(size_of(code_.local_types[k]), false, local_regs_[offset], local_mem(offset));
    }
  }
  /// The prologue, then the locals: pinned params loaded, pinned declared locals zeroed in
  /// their registers, the other declared locals zeroed in their slots (by the front-end when
  /// there are few, sparing the pinned ones' slots; else by the masm's zeroing loop).
  void enter_function() {
    constexpr uint32_t kMaxSingleZeroes = 16;
    uint32_t unpinned = 0;
    for (uint32_t offset : code_.local_offsets)
      if (offset >= code_.param_slots && !local_reg(offset).valid())
        ++unpinned;
    const bool single = unpinned <= kMaxSingleZeroes;
    masm_.prologue(code_.param_slots, single ? code_.param_slots : code_.local_slots,
                   code_.local_slots + code_.max_stack_slots);
    for (size_t k = 0; k < code_.local_types.size(); ++k) {
      const uint32_t offset = code_.local_offsets[k];
      const ValType t = code_.local_types[k];
      const Reg r = local_reg(offset);
      if (offset < code_.param_slots) {
        if (r.valid())
          masm_.load(size_of(t), false, r, local_mem(offset));
      } else if (r.valid()) {
        materialize_imm(r, t, 0);
      } else if (single) {
        masm_.store_imm(OperandSize::s64, 0, local_mem(offset));
      }
    }
  }
  /// Around a call: the operand stack in its slots, pinned locals in theirs.
  void before_call() {
    spill_all();
    spill_locals();
  }

  // ---- the value stack ----
  void push_reg(ValType t, Reg r) { stack_.push_back(VarState{VarState::Loc::reg, t, r, 0, 0}); }
  void push_imm(ValType t, int64_t v) {
    stack_.push_back(VarState{VarState::Loc::imm, t, {}, v, 0});
  }
  void push_slot(ValType t) { stack_.push_back(VarState{VarState::Loc::slot, t, {}, 0, 0}); }
  void push_local(ValType t, uint32_t offset) {
    stack_.push_back(VarState{VarState::Loc::local, t, {}, 0, offset});
  }
  VarState pop() {
    VarState v = stack_.back();
    stack_.pop_back();
    return v;
  }
  /// Puts `v` (just popped from position `pos`) into a register it owns.
  Reg to_reg(const VarState& v, uint32_t pos) {
    switch (v.loc) {
      case VarState::Loc::reg:
        return v.reg;
      case VarState::Loc::imm: {
        const Reg r = alloc(class_of(v.type));
        materialize_imm(r, v.type, v.imm);
        return r;
      }
      case VarState::Loc::local: {
        const Reg r = alloc(class_of(v.type));
        local_value_to(r, v);
        return r;
      }
      case VarState::Loc::slot:
        break;
    }
    const Reg r = alloc(class_of(v.type));
    masm_.load(size_of(v.type), false, r, slot_mem(pos));
    return r;
  }
  /// Computes a Loc::local entry (the local plus its addend) into `dst`.
  void local_value_to(Reg dst, const VarState& v) {
    if (v.imm == 0)
      masm_.mov(width_of(v.type), dst, local_reg(v.local));
    else
      masm_.int_binop_imm(IntBinOp::add, Width::w32, dst, local_reg(v.local),
                          static_cast<int32_t>(v.imm));
  }
  /// `v` (just popped from `pos`) in a register to read: a pinned local's own, or one owned.
  Operand use(const VarState& v, uint32_t pos) {
    if (v.loc == VarState::Loc::local && v.imm == 0)
      return Operand{local_reg(v.local), false};
    return Operand{to_reg(v, pos), true};
  }
  Operand pop_use() {
    const VarState v = pop();
    return use(v, height());
  }
  void done(Operand o) {
    if (o.owned)
      release(o.reg);
  }
  /// Where an operation's result goes: straight into a pinned local when the next instruction
  /// is a local.set/tee of it (push_result then consumes that instruction), else the owned
  /// operand `reuse` when there is one, else a fresh register.
  Reg result_reg(ValType t, Operand reuse) {
    const uint32_t next = pc_ + 1;
    if (next < code_.code.size() && !targets_[next]) {
      const runtime::ir::Instr& in = code_.code[next];
      if ((in.op == Op::local_set || in.op == Op::local_tee) && local_reg(in.a).valid() &&
          static_cast<ValType>(in.aux) == t) {
        detach_local(in.a);
        retarget_ = &in;
        return local_reg(in.a);
      }
    }
    return reuse.owned ? reuse.reg : alloc(class_of(t));
  }
  /// Pushes the result `r` of result_reg(), releasing `operand` unless it became the result.
  void push_result(ValType t, Reg r, Operand operand = {}) {
    if (operand.owned && operand.reg != r)
      release(operand.reg);
    if (retarget_ != nullptr) {
      const runtime::ir::Instr* in = retarget_;
      retarget_ = nullptr;
      ++pc_;  // the local.set/tee is done
      if (in->op == Op::local_tee)
        push_local(t, in->a);
      return;
    }
    push_reg(t, r);
  }
  /// Before pinned local `offset` changes: stack entries still meaning its old value go to
  /// their slots, or to a register when they add to it (callers hold at most two registers, so
  /// alloc() always finds one free or on the stack).
  void detach_local(uint32_t offset) {
    for (uint32_t pos = 0; pos < stack_.size(); ++pos) {
      VarState& v = stack_[pos];
      if (v.loc != VarState::Loc::local || v.local != offset)
        continue;
      if (v.imm == 0) {
        masm_.store(size_of(v.type), local_reg(offset), slot_mem(pos));
        v.loc = VarState::Loc::slot;
      } else {
        const Reg r = alloc(class_of(v.type));
        local_value_to(r, stack_[pos]);
        stack_[pos].loc = VarState::Loc::reg;
        stack_[pos].reg = r;
      }
    }
  }
  void materialize_imm(Reg r, ValType t, int64_t bits) {
    if (r.cls == RegClass::fp)
      masm_.mov_fp_imm(width_of(t), r, static_cast<uint64_t>(bits));
    else
      masm_.mov_imm(width_of(t), r, bits);
  }
  Reg pop_reg() {
    const VarState v = pop();
    return to_reg(v, height());
  }
  void spill(uint32_t pos) {
    VarState& v = stack_[pos];
    if (v.loc == VarState::Loc::reg) {
      masm_.store(size_of(v.type), v.reg, slot_mem(pos));
      release(v.reg);
    } else if (v.loc == VarState::Loc::imm) {
      masm_.store_imm(size_of(v.type), v.imm, slot_mem(pos));
    } else if (v.loc == VarState::Loc::local && v.imm == 0) {
      masm_.store(size_of(v.type), local_reg(v.local), slot_mem(pos));
    } else if (v.loc == VarState::Loc::local) {
      const VarState sum = v;
      const Reg r = alloc(RegClass::gp);
      local_value_to(r, sum);
      masm_.store(size_of(sum.type), r, slot_mem(pos));
      release(r);
    }
    stack_[pos].loc = VarState::Loc::slot;
  }
  void spill_all() {
    for (uint32_t pos = 0; pos < stack_.size(); ++pos)
      spill(pos);
  }

  // ---- control ----
  Label label_at(uint32_t pc) {
    if (!labels_[pc].valid())
      labels_[pc] = masm_.new_label();
    return labels_[pc];
  }
  /// The stack a branch to `pc` delivers: everything below `keep + drop`, then the top `keep`.
  void record_target(uint32_t pc, uint32_t keep, uint32_t drop) {
    if (label_first_[pc] != kNoTarget)
      return;
    label_first_[pc] = static_cast<uint32_t>(label_types_.size());
    const uint32_t h = height();
    for (uint32_t i = 0; i < h - keep - drop; ++i)
      label_types_.push_back(stack_[i].type);
    for (uint32_t i = h - keep; i < h; ++i)
      label_types_.push_back(stack_[i].type);
    label_count_[pc] = h - drop;
  }
  void enter_label(uint32_t pc) {
    if (reachable_) {
      spill_all();
      record_target(pc, 0, 0);
    }
    if (label_first_[pc] == kNoTarget) {
      reachable_ = false;  // no branch reaches it
      return;
    }
    stack_.clear();
    for (uint32_t i = 0; i < label_count_[pc]; ++i)
      push_slot(label_types_[label_first_[pc] + i]);
    reachable_ = true;
    masm_.bind(label_at(pc));
  }
  /// Moves the top `keep` slots down over `drop` slots (the stack is spilled).
  void shift_slots(uint32_t keep, uint32_t drop) {
    if (drop == 0)
      return;
    const uint32_t h = height();
    for (uint32_t i = 0; i < keep; ++i)
      masm_.copy_word(slot_mem(h - keep - drop + i), slot_mem(h - keep + i));
  }
  void branch_to(uint32_t pc, uint32_t keep, uint32_t drop) {
    record_target(pc, keep, drop);
    shift_slots(keep, drop);
    masm_.jump(label_at(pc));
  }
  /// Results go where the arguments were, fp[0..]: each straight from its register, constant
  /// or slot. Slots are read in increasing order and never below the one written, so a result
  /// read from a slot is never overwritten first.
  void do_return(uint32_t result_slots) {
    const uint32_t h = height();
    // Sums are computed first: allocating may spill, which must not land on a result written.
    for (uint32_t pos = h - result_slots; pos < h; ++pos) {
      VarState& v = stack_[pos];
      if (v.loc == VarState::Loc::local && v.imm != 0) {
        const Reg r = to_reg(v, pos);
        stack_[pos].loc = VarState::Loc::reg;
        stack_[pos].reg = r;
      }
    }
    for (uint32_t i = 0; i < result_slots; ++i) {
      const uint32_t pos = h - result_slots + i;
      VarState& v = stack_[pos];
      switch (v.loc) {
        case VarState::Loc::reg:
          masm_.store(size_of(v.type), v.reg, local_mem(i));
          break;
        case VarState::Loc::local:
          masm_.store(size_of(v.type), local_reg(v.local), local_mem(i));
          break;
        case VarState::Loc::imm:
          masm_.store_imm(size_of(v.type), v.imm, local_mem(i));
          break;
        case VarState::Loc::slot:
          if (code_.local_slots + pos != i)
            masm_.copy_word(local_mem(i), slot_mem(pos));
          break;
      }
    }
    for (VarState& v : stack_)
      release(v);
    stack_.clear();
    masm_.epilogue();
    reachable_ = false;
  }
  static Cond negate(Cond c) {
    switch (c) {
      case Cond::eq:
        return Cond::ne;
      case Cond::ne:
        return Cond::eq;
      case Cond::lt_s:
        return Cond::ge_s;
      case Cond::lt_u:
        return Cond::ge_u;
      case Cond::gt_s:
        return Cond::le_s;
      case Cond::gt_u:
        return Cond::le_u;
      case Cond::le_s:
        return Cond::gt_s;
      case Cond::le_u:
        return Cond::gt_u;
      case Cond::ge_s:
        return Cond::lt_s;
      case Cond::ge_u:
        return Cond::lt_u;
    }
    return c;
  }
  /// The condition with its operands swapped (a < b is b > a).
  static Cond mirror(Cond c) {
    switch (c) {
      case Cond::lt_s:
        return Cond::gt_s;
      case Cond::lt_u:
        return Cond::gt_u;
      case Cond::gt_s:
        return Cond::lt_s;
      case Cond::gt_u:
        return Cond::lt_u;
      case Cond::le_s:
        return Cond::ge_s;
      case Cond::le_u:
        return Cond::ge_u;
      case Cond::ge_s:
        return Cond::le_s;
      case Cond::ge_u:
        return Cond::le_u;
      default:
        return c;
    }
  }

  /// The conditional branch right after the current instruction, if it can consume its i32
  /// result as flags (no label between them).
  const runtime::ir::Instr* fusable_branch() const {
    const uint32_t next = pc_ + 1;
    if (next >= code_.code.size() || targets_[next])
      return nullptr;
    const runtime::ir::Instr& in = code_.code[next];
    if (in.op == Op::br_if || in.op == Op::br_unless || in.op == Op::br_if_drop)
      return &in;
    return nullptr;
  }
  /// Emits the conditional branch `br` whose condition is "`c` holds for lhs and rhs (a register
  /// or, when `rhs` is invalid, `imm`)", consumes it, and releases the operands.
  void fused_branch(const runtime::ir::Instr& br,
                    Cond c,
                    Width w,
                    Operand lhs_op,
                    Operand rhs_op,
                    int64_t imm) {
    const Reg lhs = lhs_op.reg, rhs = rhs_op.reg;
    if (br.op == Op::br_unless)
      c = negate(c);
    conditional_branch(br, br.op == Op::br_if_drop ? br.keep() : 0,
                       br.op == Op::br_if_drop ? br.drop() : 0, [&](bool taken, Label l) {
                         const Cond k = taken ? c : negate(c);
                         if (rhs.valid())
                           masm_.branch_cmp(k, w, lhs, rhs, l);
                         else
                           masm_.branch_cmp_imm(k, w, lhs, imm, l);
                       });
    done(lhs_op);
    done(rhs_op);
    ++pc_;  // the branch is done
  }

  /// Spills the stack, then `emit(taken, label)` must jump to `label` when the branch is taken
  /// (taken) or not taken (!taken).
  template <typename Emit>
  void conditional_branch(const runtime::ir::Instr& in, uint32_t keep, uint32_t drop, Emit emit) {
    spill_all();
    if (drop == 0) {
      record_target(in.a, 0, 0);
      emit(true, label_at(in.a));
      return;
    }
    const Label skip = masm_.new_label();
    emit(false, skip);
    branch_to(in.a, keep, drop);
    masm_.bind(skip);
  }
  void test_and_branch(const runtime::ir::Instr& in,
                       bool if_nonzero,
                       uint32_t keep,
                       uint32_t drop) {
    const Operand c = pop_use();
    conditional_branch(in, keep, drop, [&](bool taken, Label l) {
      masm_.branch_cmp_imm(taken == if_nonzero ? Cond::ne : Cond::eq, Width::w32, c.reg, 0, l);
    });
    done(c);
  }

  void br_table(const runtime::ir::Instr& in) {
    const Operand index_op = pop_use();
    spill_all();
    done(index_op);
    const Reg index = index_op.reg;
    const uint32_t count = static_cast<uint32_t>(in.b);
    std::vector<Label>& cases = s_.cases;
    std::vector<std::pair<Label, uint32_t>>& stubs = s_.case_stubs;  // (stub, br_targets index)
    cases.clear();
    stubs.clear();
    for (uint32_t k = 0; k <= count; ++k) {
      const runtime::ir::BrTarget& t = code_.br_targets[in.a + k];
      record_target(t.pc, t.keep, t.drop);
      if (t.drop == 0) {
        cases.push_back(label_at(t.pc));
      } else {
        const Label stub = masm_.new_label();
        stubs.emplace_back(stub, in.a + k);
        cases.push_back(stub);
      }
    }
    masm_.jump_table(index, std::span<const Label>(cases.data(), count), cases[count]);
    for (const auto& [stub, k] : stubs) {
      const runtime::ir::BrTarget& t = code_.br_targets[k];
      masm_.bind(stub);
      shift_slots(t.keep, t.drop);
      masm_.jump(label_at(t.pc));
    }
    reachable_ = false;
  }

  // ---- calls ----
  void push_results(const runtime::FuncType& type) {
    for (ValType t : type.results)
      push_slot(t);
  }
  runtime::Status call(runtime::FuncIdx f) {
    const runtime::FuncType& type = module_.func_type(f);
    TG_TRY(check_signature(type));
    before_call();
    const uint32_t base = height() - static_cast<uint32_t>(type.params.size());
    if (f < module_.num_imported_funcs) {
      const HelperArg args[] = {HelperArg::ctx(), HelperArg::of(f),
                                HelperArg::address(slot_mem(base))};
      masm_.call_helper(reinterpret_cast<const void*>(&helper_call_import), args);
      masm_.check_trapped();
    } else {
      masm_.call_wasm(env_.func_entries[f - module_.num_imported_funcs], slot_mem(base).disp);
    }
    reload_locals();
    stack_.resize(base);
    push_results(type);
    return runtime::Ok{};
  }
  runtime::Status call_indirect(const runtime::ir::Instr& in) {
    const runtime::FuncType& type = module_.types[in.a];
    TG_TRY(check_signature(type));
    before_call();
    const uint32_t index_pos = height() - 1;
    stack_.pop_back();
    const uint32_t base = height() - static_cast<uint32_t>(type.params.size());
    const HelperArg args[] = {HelperArg::ctx(), HelperArg::of(static_cast<int64_t>(in.b)),
                              HelperArg::word(slot_mem(index_pos)), HelperArg::of(in.a),
                              HelperArg::address(slot_mem(base))};
    masm_.call_helper(reinterpret_cast<const void*>(&helper_call_indirect), args);
    masm_.check_trapped();
    // A callee in this instance comes back as its code address; anything else was called by
    // the helper already.
    const Reg target = masm_.helper_result();
    const Label done = masm_.new_label();
    masm_.branch_cmp_imm(Cond::eq, Width::w64, target, 0, done);
    masm_.call_wasm_reg(target, slot_mem(base).disp);
    masm_.bind(done);
    reload_locals();
    stack_.resize(base);
    push_results(type);
    return runtime::Ok{};
  }
  runtime::Status check_signature(const runtime::FuncType& type) const {
    for (ValType t : type.params)
      if (t == ValType::v128)
        return unsupported("v128 parameters");
    for (ValType t : type.results)
      if (t == ValType::v128)
        return unsupported("v128 results");
    return runtime::Ok{};
  }

  /// Calls `fn(ctx, imms..., address of the operands)` over the top `operands` (spilled) stack
  /// entries, then replaces them with `results` of `result_types` left in their slots.
  void bulk_helper(const void* fn,
                   std::initializer_list<int64_t> imms,
                   uint32_t operands,
                   std::initializer_list<ValType> result_types) {
    before_call();
    const uint32_t base = height() - operands;
    // ctx, at most two immediates, the operands' address.
    std::array<HelperArg, 4> args{HelperArg::ctx()};
    size_t count = 1;
    for (int64_t v : imms)
      args[count++] = HelperArg::of(v);
    args[count++] = HelperArg::address(slot_mem(base));
    masm_.call_helper(fn, std::span<const HelperArg>(args.data(), count));
    masm_.check_trapped();
    reload_locals();
    stack_.resize(base);
    for (ValType t : result_types)
      push_slot(t);
  }
  /// A pure unary numeric helper over bits (trapping ones set ctx->trapped).
  void unary_helper(const void* fn, ValType result, bool traps) {
    before_call();
    const uint32_t pos = height() - 1;
    const HelperArg args[] = {HelperArg::ctx(), HelperArg::word(slot_mem(pos))};
    masm_.call_helper(fn, args);
    if (traps)
      masm_.check_trapped();
    // The result stays in the helper's result register until the locals are back.
    const Reg tmp = alloc(RegClass::gp);
    masm_.mov(class_of(result) == RegClass::gp ? width_of(result) : Width::w64, tmp,
              masm_.helper_result());
    reload_locals();
    stack_.pop_back();
    if (class_of(result) == RegClass::gp) {
      push_reg(result, tmp);
      return;
    }
    const Reg r = alloc(class_of(result));
    masm_.convert(width_of(result) == Width::w32 ? Convert::f32_reinterpret_i32
                                                 : Convert::f64_reinterpret_i64,
                  r, tmp);
    release(tmp);
    push_reg(result, r);
  }

  // ---- numeric ----
  static bool fits_i32(int64_t v) {
    return v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max();
  }
  static int64_t imm_value(const VarState& v, Width w) {
    return w == Width::w32 ? static_cast<int64_t>(static_cast<int32_t>(v.imm)) : v.imm;
  }
  static bool commutative(IntBinOp op) {
    return op == IntBinOp::add || op == IntBinOp::mul || op == IntBinOp::and_ ||
           op == IntBinOp::or_ || op == IntBinOp::xor_;
  }
  void int_binop(IntBinOp op, ValType t) {
    const Width w = width_of(t);
    const uint32_t base = height() - 2;
    VarState rhs = pop();
    VarState lhs = pop();
    uint32_t lhs_pos = base, rhs_pos = base + 1;
    if (lhs.loc == VarState::Loc::imm && rhs.loc != VarState::Loc::imm && commutative(op)) {
      std::swap(lhs, rhs);
      std::swap(lhs_pos, rhs_pos);
    }
    if (t == ValType::i32 && (op == IntBinOp::add || op == IntBinOp::sub) &&
        lhs.loc == VarState::Loc::local && rhs.loc == VarState::Loc::imm) {
      // local + k stays symbolic: most such sums are addresses or the next value of the local.
      const uint32_t k = static_cast<uint32_t>(rhs.imm);
      const uint32_t sum = static_cast<uint32_t>(lhs.imm) + (op == IntBinOp::add ? k : 0u - k);
      lhs.imm = static_cast<int32_t>(sum);
      stack_.push_back(lhs);
      return;
    }
    const Operand l = use(lhs, lhs_pos);
    if (rhs.loc == VarState::Loc::imm && fits_i32(imm_value(rhs, w))) {
      const Reg d = result_reg(t, l);
      masm_.int_binop_imm(op, w, d, l.reg, static_cast<int32_t>(imm_value(rhs, w)));
      push_result(t, d, l);
      return;
    }
    const Operand r = use(rhs, rhs_pos);
    const Reg d = result_reg(t, l);
    masm_.int_binop(op, w, d, l.reg, r.reg);
    done(r);
    push_result(t, d, l);
  }
  void int_divrem(IntBinOp op, ValType t) {
    const Width w = width_of(t);
    const VarState rhs_v = pop();
    const VarState lhs_v = pop();
    // A constant divisor needs no zero check, and no -1 check unless it is -1; an unsigned
    // division or remainder by a power of two is a shift or a mask.
    const bool known = rhs_v.loc == VarState::Loc::imm;
    const int64_t k = known ? imm_value(rhs_v, w) : 0;
    const uint64_t uk = w == Width::w32 ? static_cast<uint32_t>(k) : static_cast<uint64_t>(k);
    if (known && (op == IntBinOp::div_u || op == IntBinOp::rem_u) && uk != 0 &&
        (uk & (uk - 1)) == 0 && uk <= (uint64_t{1} << 30)) {
      const Operand x = use(lhs_v, height());
      const Reg d = result_reg(t, x);
      if (op == IntBinOp::div_u)
        masm_.int_binop_imm(IntBinOp::shr_u, w, d, x.reg, std::countr_zero(uk));
      else
        masm_.int_binop_imm(IntBinOp::and_, w, d, x.reg, static_cast<int32_t>(uk - 1));
      push_result(t, d, x);
      return;
    }
    const Reg l = to_reg(lhs_v, height());
    const Operand r_op = use(rhs_v, height() + 1);
    const Reg r = r_op.reg;
    if (!known || k == 0)
      masm_.branch_cmp_imm(Cond::eq, w, r, 0, masm_.trap_label(TrapKind::integer_divide_by_zero));
    const int64_t min =
        w == Width::w32 ? std::numeric_limits<int32_t>::min() : std::numeric_limits<int64_t>::min();
    if (known && k != -1 && (op == IntBinOp::div_s || op == IntBinOp::rem_s)) {
      masm_.int_binop(op, w, l, l, r);
    } else if (op == IntBinOp::div_s) {
      const Label ok = masm_.new_label();
      masm_.branch_cmp_imm(Cond::ne, w, r, -1, ok);
      masm_.branch_cmp_imm(Cond::eq, w, l, min, masm_.trap_label(TrapKind::integer_overflow));
      masm_.bind(ok);
      masm_.int_binop(op, w, l, l, r);
    } else if (op == IntBinOp::rem_s) {
      // x % -1 is 0 for every x, and INT_MIN % -1 must not reach the hardware divide.
      const Label divide = masm_.new_label();
      const Label done_label = masm_.new_label();
      masm_.branch_cmp_imm(Cond::ne, w, r, -1, divide);
      masm_.mov_imm(w, l, 0);
      masm_.jump(done_label);
      masm_.bind(divide);
      masm_.int_binop(op, w, l, l, r);
      masm_.bind(done_label);
    } else {
      masm_.int_binop(op, w, l, l, r);
    }
    done(r_op);
    push_reg(t, l);
  }
  void int_compare(Cond c, ValType operand) {
    const Width w = width_of(operand);
    const uint32_t base = height() - 2;
    VarState rhs = pop();
    VarState lhs = pop();
    uint32_t lhs_pos = base, rhs_pos = base + 1;
    if (lhs.loc == VarState::Loc::imm && rhs.loc != VarState::Loc::imm) {
      std::swap(lhs, rhs);
      std::swap(lhs_pos, rhs_pos);
      c = mirror(c);
    }
    const Operand l = use(lhs, lhs_pos);
    const bool use_imm = rhs.loc == VarState::Loc::imm && fits_i32(imm_value(rhs, w));
    const Operand r = use_imm ? Operand{} : use(rhs, rhs_pos);
    const int64_t imm = use_imm ? imm_value(rhs, w) : 0;
    if (const runtime::ir::Instr* br = fusable_branch()) {
      fused_branch(*br, c, w, l, r, imm);
      return;
    }
    const Reg d = result_reg(ValType::i32, l);
    if (use_imm)
      masm_.compare_set_imm(c, w, d, l.reg, static_cast<int32_t>(imm));
    else
      masm_.compare_set(c, w, d, l.reg, r.reg);
    done(r);
    push_result(ValType::i32, d, l);
  }
  void int_eqz(ValType operand) {
    const Operand x = pop_use();
    if (const runtime::ir::Instr* br = fusable_branch()) {
      fused_branch(*br, Cond::eq, width_of(operand), x, Operand{}, 0);
      return;
    }
    const Reg d = result_reg(ValType::i32, x);
    masm_.compare_set_imm(Cond::eq, width_of(operand), d, x.reg, 0);
    push_result(ValType::i32, d, x);
  }
  void int_unop(IntUnOp op, ValType t) {
    const Operand x = pop_use();
    const Reg d = result_reg(t, x);
    masm_.int_unop(op, width_of(t), d, x.reg);
    push_result(t, d, x);
  }
  void float_binop(FloatBinOp op, ValType t) {
    const Operand r = pop_use();
    const Operand l = pop_use();
    const Reg d = result_reg(t, l);
    masm_.float_binop(op, width_of(t), d, l.reg, r.reg);
    done(r);
    push_result(t, d, l);
  }
  void float_unop(FloatUnOp op, ValType t) {
    const Operand x = pop_use();
    const Reg d = result_reg(t, x);
    masm_.float_unop(op, width_of(t), d, x.reg);
    push_result(t, d, x);
  }
  void float_compare(FCond c, ValType operand) {
    const Operand r = pop_use();
    const Operand l = pop_use();
    const Reg d = result_reg(ValType::i32, Operand{});
    masm_.float_compare_set(c, width_of(operand), d, l.reg, r.reg);
    done(l);
    done(r);
    push_result(ValType::i32, d);
  }
  void convert(Convert op, ValType result) {
    const Operand x = pop_use();
    const Reg d = result_reg(result, x.reg.cls == class_of(result) ? x : Operand{});
    masm_.convert(op, d, x.reg);
    push_result(result, d, x);
  }

  // ---- memory ----
  /// A load or store address that folds into the access: a pinned local plus a constant, or a
  /// constant (base invalid).
  /// Whether the masm has the optional addend forms of load_memory/store_memory
  /// (jit/masm.hpp); without them such addresses are computed into a register first.
  static constexpr bool kFoldsAddends = requires(Masm m, const MemAccess& a, Reg r) {
    m.load_memory_add(a, r, r, int32_t{0}, uint32_t{0}, BoundsMode::explicit_checks);
    m.store_memory_add(a, r, r, int32_t{0}, uint32_t{0}, BoundsMode::explicit_checks);
  };
  /// Whether the masm has the optional store_memory_imm_add (jit/masm.hpp).
  static constexpr bool kStoresImm = requires(Masm m, const MemAccess& a, Reg r) {
    m.store_memory_imm_add(a, int64_t{0}, r, int32_t{0}, uint32_t{0}, BoundsMode::explicit_checks);
  };
  static bool folds_into_access(const VarState& v) {
    return kFoldsAddends &&
           ((v.loc == VarState::Loc::local && v.imm != 0) || v.loc == VarState::Loc::imm);
  }
  static Reg folded_base(const VarState& v, std::span<const Reg> local_regs) {
    return v.loc == VarState::Loc::local ? local_regs[v.local] : Reg{};
  }
  void load(const MemAccess& access, ValType result, uint32_t offset) {
    if constexpr (kFoldsAddends) {
      if (folds_into_access(stack_.back())) {
        const VarState a = pop();
        const Reg dst = result_reg(result, Operand{});
        masm_.load_memory_add(access, dst, folded_base(a, local_regs_), static_cast<int32_t>(a.imm),
                              offset, env_.bounds);
        push_result(result, dst);
        return;
      }
    }
    const Operand addr = pop_use();
    const Reg dst = result_reg(result, access.cls == RegClass::gp ? addr : Operand{});
    masm_.load_memory(access, dst, addr.reg, offset, env_.bounds);
    push_result(result, dst, addr);
  }
  void store(const MemAccess& access, uint32_t offset) {
    if constexpr (kStoresImm) {
      if (stack_.back().loc == VarState::Loc::imm) {
        const VarState value = pop();
        const VarState a = pop();
        if (folds_into_access(a)) {
          masm_.store_memory_imm_add(access, value.imm, folded_base(a, local_regs_),
                                     static_cast<int32_t>(a.imm), offset, env_.bounds);
          return;
        }
        const Operand addr = use(a, height());
        masm_.store_memory_imm_add(access, value.imm, addr.reg, 0, offset, env_.bounds);
        done(addr);
        return;
      }
    }
    const Operand value = pop_use();
    if constexpr (kFoldsAddends) {
      if (folds_into_access(stack_.back())) {
        const VarState a = pop();
        masm_.store_memory_add(access, value.reg, folded_base(a, local_regs_),
                               static_cast<int32_t>(a.imm), offset, env_.bounds);
        done(value);
        return;
      }
    }
    const Operand addr = pop_use();
    masm_.store_memory(access, value.reg, addr.reg, offset, env_.bounds);
    done(value);
    done(addr);
  }

  // ---- variables ----
  void local_get(uint32_t offset, ValType t) {
    if (local_reg(offset).valid()) {
      push_local(t, offset);
      return;
    }
    const Reg r = alloc(class_of(t));
    masm_.load(size_of(t), false, r, local_mem(offset));
    push_reg(t, r);
  }
  void local_set(uint32_t offset, bool tee) {
    if (const Reg home = local_reg(offset); home.valid()) {
      const VarState v = pop();
      if (v.loc == VarState::Loc::local && v.local == offset && v.imm == 0) {
        if (tee)
          stack_.push_back(v);
        return;
      }
      detach_local(offset);
      switch (v.loc) {
        case VarState::Loc::imm:
          materialize_imm(home, v.type, v.imm);
          if (tee)
            stack_.push_back(v);
          return;
        case VarState::Loc::slot:
          masm_.load(size_of(v.type), false, home, slot_mem(height()));
          break;
        case VarState::Loc::reg:
          masm_.mov(width_of(v.type), home, v.reg);
          release(v.reg);
          break;
        case VarState::Loc::local:
          local_value_to(home, v);
          break;
      }
      if (tee)
        push_local(v.type, offset);
      return;
    }
    VarState v = pop();
    if (v.loc == VarState::Loc::imm) {
      masm_.store_imm(size_of(v.type), v.imm, local_mem(offset));
      if (tee)
        stack_.push_back(v);
      return;
    }
    const Operand r = use(v, height());
    masm_.store(size_of(v.type), r.reg, local_mem(offset));
    if (!tee)
      done(r);
    else if (r.owned)
      push_reg(v.type, r.reg);
    else
      stack_.push_back(v);
  }
  Reg global_ptr(uint32_t index) {
    const Reg p = alloc(RegClass::gp);
    masm_.load(OperandSize::s64, false, p, Mem{masm_.ctx(), ctx_offset::kGlobals});
    masm_.load(OperandSize::s64, false, p, Mem{p, static_cast<int32_t>(8 * index)});
    return p;
  }
  void global_get(uint32_t index, ValType t) {
    const Reg p = global_ptr(index);
    Reg dst = p;
    if (class_of(t) != RegClass::gp)
      dst = alloc(class_of(t));
    masm_.load(size_of(t), false, dst, Mem{p, kGlobalBitsOffset});
    if (dst != p)
      release(p);
    push_reg(t, dst);
  }
  void global_set(uint32_t index) {
    const VarState v = pop();
    const Operand r = use(v, height());
    const Reg p = global_ptr(index);
    masm_.store(size_of(v.type), r.reg, Mem{p, kGlobalBitsOffset});
    release(p);
    done(r);
  }

  void select() {
    const Operand c = pop_use();
    const VarState b = pop();
    const VarState a = pop();
    const Operand rb = use(b, height() + 1);
    const Reg ra = to_reg(a, height());
    masm_.select(width_of(a.type), ra, c.reg, rb.reg);
    done(c);
    done(rb);
    push_reg(a.type, ra);
  }

  void charge_fuel(uint32_t cost, bool poll) {
    if (cost != 0)
      masm_.charge_fuel(cost);
    if (poll)
      masm_.poll_interrupt();
  }

  runtime::Status visit(const runtime::ir::Instr& in);

  static constexpr int32_t kGlobalBitsOffset = offsetof(runtime::Global, bits);

  std::unique_ptr<Scratch> own_;
  Scratch& s_;
  Masm& masm_;
  const ModuleEnv& env_;
  const runtime::Module& module_;
  const runtime::ir::FuncCode& code_;
  runtime::FuncIdx func_;
  uint32_t pc_ = 0;
  bool reachable_ = true;
  std::vector<VarState>& stack_ = s_.stack;
  uint32_t gp_used_ = 0;
  uint32_t fp_used_ = 0;
  std::vector<bool>& targets_ = s_.targets;
  std::vector<Label>& labels_ = s_.labels;
  /// The stack types every branch to a pc delivers: label_types_[label_first_[pc]...], or
  /// kNoTarget when no branch to it was seen yet.
  static constexpr uint32_t kNoTarget = UINT32_MAX;
  std::vector<uint32_t>& label_first_ = s_.label_first;
  std::vector<uint32_t>& label_count_ = s_.label_count;
  std::vector<ValType>& label_types_ = s_.label_types;
  std::vector<Reg>& local_regs_ =
      s_.local_regs;  ///< by slot offset: the register a pinned local lives in
  /// The local.set/tee that result_reg() made the current operation write its result to.
  const runtime::ir::Instr* retarget_ = nullptr;
  std::vector<uint32_t>& pinned_ = s_.pinned;  ///< indices (in local_types) of the pinned locals
};

template <MacroAssembler Masm>
runtime::Status FunctionCompiler<Masm>::visit(const runtime::ir::Instr& in) {
  using V = ValType;
  switch (in.op) {
    case Op::fuel:
      charge_fuel(in.a, false);
      return runtime::Ok{};
    case Op::fuel_poll:
      charge_fuel(in.a, true);
      return runtime::Ok{};
    case Op::unreachable:
      masm_.jump(masm_.trap_label(TrapKind::unreachable));
      reachable_ = false;
      return runtime::Ok{};
    case Op::nop:
      return runtime::Ok{};
    case Op::br:
      spill_all();
      branch_to(in.a, 0, 0);
      reachable_ = false;
      return runtime::Ok{};
    case Op::br_drop:
      spill_all();
      branch_to(in.a, in.keep(), in.drop());
      reachable_ = false;
      return runtime::Ok{};
    case Op::br_if:
      test_and_branch(in, true, 0, 0);
      return runtime::Ok{};
    case Op::br_unless:
      test_and_branch(in, false, 0, 0);
      return runtime::Ok{};
    case Op::br_if_drop:
      test_and_branch(in, true, in.keep(), in.drop());
      return runtime::Ok{};
    case Op::br_table:
      br_table(in);
      return runtime::Ok{};
    case Op::return_:
      do_return(in.a);
      return runtime::Ok{};
    case Op::call:
      return call(in.a);
    case Op::call_indirect:
      return call_indirect(in);
    case Op::drop:
      release(pop());
      return runtime::Ok{};
    case Op::select:
    case Op::select_t:
      select();
      return runtime::Ok{};
    case Op::local_get:
      local_get(in.a, static_cast<V>(in.aux));
      return runtime::Ok{};
    case Op::local_set:
      local_set(in.a, false);
      return runtime::Ok{};
    case Op::local_tee:
      local_set(in.a, true);
      return runtime::Ok{};
    case Op::global_get:
      global_get(in.a, static_cast<V>(in.aux));
      return runtime::Ok{};
    case Op::global_set:
      global_set(in.a);
      return runtime::Ok{};

    case Op::i32_const:
      push_imm(V::i32, static_cast<int64_t>(static_cast<uint32_t>(in.b)));
      return runtime::Ok{};
    case Op::i64_const:
      push_imm(V::i64, static_cast<int64_t>(in.b));
      return runtime::Ok{};
    case Op::f32_const:
      push_imm(V::f32, static_cast<int64_t>(static_cast<uint32_t>(in.b)));
      return runtime::Ok{};
    case Op::f64_const:
      push_imm(V::f64, static_cast<int64_t>(in.b));
      return runtime::Ok{};

#define TG_INT(prefix, T)             \
  case Op::prefix##_add:              \
    int_binop(IntBinOp::add, T);      \
    return runtime::Ok{};             \
  case Op::prefix##_sub:              \
    int_binop(IntBinOp::sub, T);      \
    return runtime::Ok{};             \
  case Op::prefix##_mul:              \
    int_binop(IntBinOp::mul, T);      \
    return runtime::Ok{};             \
  case Op::prefix##_and_:             \
    int_binop(IntBinOp::and_, T);     \
    return runtime::Ok{};             \
  case Op::prefix##_or_:              \
    int_binop(IntBinOp::or_, T);      \
    return runtime::Ok{};             \
  case Op::prefix##_xor_:             \
    int_binop(IntBinOp::xor_, T);     \
    return runtime::Ok{};             \
  case Op::prefix##_shl:              \
    int_binop(IntBinOp::shl, T);      \
    return runtime::Ok{};             \
  case Op::prefix##_shr_s:            \
    int_binop(IntBinOp::shr_s, T);    \
    return runtime::Ok{};             \
  case Op::prefix##_shr_u:            \
    int_binop(IntBinOp::shr_u, T);    \
    return runtime::Ok{};             \
  case Op::prefix##_rotl:             \
    int_binop(IntBinOp::rotl, T);     \
    return runtime::Ok{};             \
  case Op::prefix##_rotr:             \
    int_binop(IntBinOp::rotr, T);     \
    return runtime::Ok{};             \
  case Op::prefix##_div_s:            \
    int_divrem(IntBinOp::div_s, T);   \
    return runtime::Ok{};             \
  case Op::prefix##_div_u:            \
    int_divrem(IntBinOp::div_u, T);   \
    return runtime::Ok{};             \
  case Op::prefix##_rem_s:            \
    int_divrem(IntBinOp::rem_s, T);   \
    return runtime::Ok{};             \
  case Op::prefix##_rem_u:            \
    int_divrem(IntBinOp::rem_u, T);   \
    return runtime::Ok{};             \
  case Op::prefix##_eq:               \
    int_compare(Cond::eq, T);         \
    return runtime::Ok{};             \
  case Op::prefix##_ne:               \
    int_compare(Cond::ne, T);         \
    return runtime::Ok{};             \
  case Op::prefix##_lt_s:             \
    int_compare(Cond::lt_s, T);       \
    return runtime::Ok{};             \
  case Op::prefix##_lt_u:             \
    int_compare(Cond::lt_u, T);       \
    return runtime::Ok{};             \
  case Op::prefix##_gt_s:             \
    int_compare(Cond::gt_s, T);       \
    return runtime::Ok{};             \
  case Op::prefix##_gt_u:             \
    int_compare(Cond::gt_u, T);       \
    return runtime::Ok{};             \
  case Op::prefix##_le_s:             \
    int_compare(Cond::le_s, T);       \
    return runtime::Ok{};             \
  case Op::prefix##_le_u:             \
    int_compare(Cond::le_u, T);       \
    return runtime::Ok{};             \
  case Op::prefix##_ge_s:             \
    int_compare(Cond::ge_s, T);       \
    return runtime::Ok{};             \
  case Op::prefix##_ge_u:             \
    int_compare(Cond::ge_u, T);       \
    return runtime::Ok{};             \
  case Op::prefix##_eqz:              \
    int_eqz(T);                       \
    return runtime::Ok{};             \
  case Op::prefix##_clz:              \
    int_unop(IntUnOp::clz, T);        \
    return runtime::Ok{};             \
  case Op::prefix##_ctz:              \
    int_unop(IntUnOp::ctz, T);        \
    return runtime::Ok{};             \
  case Op::prefix##_popcnt:           \
    int_unop(IntUnOp::popcnt, T);     \
    return runtime::Ok{};             \
  case Op::prefix##_extend8_s:        \
    int_unop(IntUnOp::extend8_s, T);  \
    return runtime::Ok{};             \
  case Op::prefix##_extend16_s:       \
    int_unop(IntUnOp::extend16_s, T); \
    return runtime::Ok{};
      TG_INT(i32, V::i32)
      TG_INT(i64, V::i64)
#undef TG_INT
    case Op::i64_extend32_s:
      int_unop(IntUnOp::extend32_s, V::i64);
      return runtime::Ok{};

#define TG_FLOAT(prefix, T)               \
  case Op::prefix##_add:                  \
    float_binop(FloatBinOp::add, T);      \
    return runtime::Ok{};                 \
  case Op::prefix##_sub:                  \
    float_binop(FloatBinOp::sub, T);      \
    return runtime::Ok{};                 \
  case Op::prefix##_mul:                  \
    float_binop(FloatBinOp::mul, T);      \
    return runtime::Ok{};                 \
  case Op::prefix##_div:                  \
    float_binop(FloatBinOp::div, T);      \
    return runtime::Ok{};                 \
  case Op::prefix##_min:                  \
    float_binop(FloatBinOp::min, T);      \
    return runtime::Ok{};                 \
  case Op::prefix##_max:                  \
    float_binop(FloatBinOp::max, T);      \
    return runtime::Ok{};                 \
  case Op::prefix##_copysign:             \
    float_binop(FloatBinOp::copysign, T); \
    return runtime::Ok{};                 \
  case Op::prefix##_abs:                  \
    float_unop(FloatUnOp::abs, T);        \
    return runtime::Ok{};                 \
  case Op::prefix##_neg:                  \
    float_unop(FloatUnOp::neg, T);        \
    return runtime::Ok{};                 \
  case Op::prefix##_sqrt:                 \
    float_unop(FloatUnOp::sqrt, T);       \
    return runtime::Ok{};                 \
  case Op::prefix##_ceil:                 \
    float_unop(FloatUnOp::ceil, T);       \
    return runtime::Ok{};                 \
  case Op::prefix##_floor:                \
    float_unop(FloatUnOp::floor, T);      \
    return runtime::Ok{};                 \
  case Op::prefix##_trunc:                \
    float_unop(FloatUnOp::trunc, T);      \
    return runtime::Ok{};                 \
  case Op::prefix##_nearest:              \
    float_unop(FloatUnOp::nearest, T);    \
    return runtime::Ok{};                 \
  case Op::prefix##_eq:                   \
    float_compare(FCond::eq, T);          \
    return runtime::Ok{};                 \
  case Op::prefix##_ne:                   \
    float_compare(FCond::ne, T);          \
    return runtime::Ok{};                 \
  case Op::prefix##_lt:                   \
    float_compare(FCond::lt, T);          \
    return runtime::Ok{};                 \
  case Op::prefix##_gt:                   \
    float_compare(FCond::gt, T);          \
    return runtime::Ok{};                 \
  case Op::prefix##_le:                   \
    float_compare(FCond::le, T);          \
    return runtime::Ok{};                 \
  case Op::prefix##_ge:                   \
    float_compare(FCond::ge, T);          \
    return runtime::Ok{};
      TG_FLOAT(f32, V::f32)
      TG_FLOAT(f64, V::f64)
#undef TG_FLOAT

#define TG_CONV(name, T)       \
  case Op::name:               \
    convert(Convert::name, T); \
    return runtime::Ok{};
      TG_CONV(i32_wrap_i64, V::i32)
      TG_CONV(i64_extend_i32_s, V::i64)
      TG_CONV(i64_extend_i32_u, V::i64)
      TG_CONV(f32_demote_f64, V::f32)
      TG_CONV(f64_promote_f32, V::f64)
      TG_CONV(f32_convert_i32_s, V::f32)
      TG_CONV(f32_convert_i32_u, V::f32)
      TG_CONV(f32_convert_i64_s, V::f32)
      TG_CONV(f32_convert_i64_u, V::f32)
      TG_CONV(f64_convert_i32_s, V::f64)
      TG_CONV(f64_convert_i32_u, V::f64)
      TG_CONV(f64_convert_i64_s, V::f64)
      TG_CONV(f64_convert_i64_u, V::f64)
      TG_CONV(i32_reinterpret_f32, V::i32)
      TG_CONV(i64_reinterpret_f64, V::i64)
      TG_CONV(f32_reinterpret_i32, V::f32)
      TG_CONV(f64_reinterpret_i64, V::f64)
#undef TG_CONV

#define TG_TRUNC(name, T, traps)                                           \
  case Op::name:                                                           \
    unary_helper(reinterpret_cast<const void*>(&helper_##name), T, traps); \
    return runtime::Ok{};
      TG_TRUNC(i32_trunc_f32_s, V::i32, true)
      TG_TRUNC(i32_trunc_f32_u, V::i32, true)
      TG_TRUNC(i32_trunc_f64_s, V::i32, true)
      TG_TRUNC(i32_trunc_f64_u, V::i32, true)
      TG_TRUNC(i64_trunc_f32_s, V::i64, true)
      TG_TRUNC(i64_trunc_f32_u, V::i64, true)
      TG_TRUNC(i64_trunc_f64_s, V::i64, true)
      TG_TRUNC(i64_trunc_f64_u, V::i64, true)
      TG_TRUNC(i32_trunc_sat_f32_s, V::i32, false)
      TG_TRUNC(i32_trunc_sat_f32_u, V::i32, false)
      TG_TRUNC(i32_trunc_sat_f64_s, V::i32, false)
      TG_TRUNC(i32_trunc_sat_f64_u, V::i32, false)
      TG_TRUNC(i64_trunc_sat_f32_s, V::i64, false)
      TG_TRUNC(i64_trunc_sat_f32_u, V::i64, false)
      TG_TRUNC(i64_trunc_sat_f64_s, V::i64, false)
      TG_TRUNC(i64_trunc_sat_f64_u, V::i64, false)
#undef TG_TRUNC

#define TG_LOAD(name, size, sext, width, cls, T)                                    \
  case Op::name:                                                                    \
    load(MemAccess{OperandSize::size, sext, Width::width, RegClass::cls}, T, in.a); \
    return runtime::Ok{};
      TG_LOAD(i32_load, s32, false, w32, gp, V::i32)
      TG_LOAD(i64_load, s64, false, w64, gp, V::i64)
      TG_LOAD(f32_load, s32, false, w32, fp, V::f32)
      TG_LOAD(f64_load, s64, false, w64, fp, V::f64)
      TG_LOAD(i32_load8_s, s8, true, w32, gp, V::i32)
      TG_LOAD(i32_load8_u, s8, false, w32, gp, V::i32)
      TG_LOAD(i32_load16_s, s16, true, w32, gp, V::i32)
      TG_LOAD(i32_load16_u, s16, false, w32, gp, V::i32)
      TG_LOAD(i64_load8_s, s8, true, w64, gp, V::i64)
      TG_LOAD(i64_load8_u, s8, false, w64, gp, V::i64)
      TG_LOAD(i64_load16_s, s16, true, w64, gp, V::i64)
      TG_LOAD(i64_load16_u, s16, false, w64, gp, V::i64)
      TG_LOAD(i64_load32_s, s32, true, w64, gp, V::i64)
      TG_LOAD(i64_load32_u, s32, false, w64, gp, V::i64)
#undef TG_LOAD
#define TG_STORE(name, size, width, cls)                                           \
  case Op::name:                                                                   \
    store(MemAccess{OperandSize::size, false, Width::width, RegClass::cls}, in.a); \
    return runtime::Ok{};
      TG_STORE(i32_store, s32, w32, gp)
      TG_STORE(i64_store, s64, w64, gp)
      TG_STORE(f32_store, s32, w32, fp)
      TG_STORE(f64_store, s64, w64, fp)
      TG_STORE(i32_store8, s8, w32, gp)
      TG_STORE(i32_store16, s16, w32, gp)
      TG_STORE(i64_store8, s8, w64, gp)
      TG_STORE(i64_store16, s16, w64, gp)
      TG_STORE(i64_store32, s32, w64, gp)
#undef TG_STORE

    case Op::memory_size: {
      const Reg r = alloc(RegClass::gp);
      masm_.load(OperandSize::s64, false, r, Mem{masm_.ctx(), ctx_offset::kMemSize});
      masm_.int_binop_imm(IntBinOp::shr_u, Width::w64, r, r, 16);
      push_reg(V::i32, r);
      return runtime::Ok{};
    }
    case Op::memory_grow:
      bulk_helper(reinterpret_cast<const void*>(&helper_memory_grow), {}, 1, {V::i32});
      return runtime::Ok{};
    case Op::memory_fill:
      bulk_helper(reinterpret_cast<const void*>(&helper_memory_fill), {}, 3, {});
      return runtime::Ok{};
    case Op::memory_copy:
      bulk_helper(reinterpret_cast<const void*>(&helper_memory_copy), {}, 3, {});
      return runtime::Ok{};
    case Op::memory_init:
      bulk_helper(reinterpret_cast<const void*>(&helper_memory_init), {in.a}, 3, {});
      return runtime::Ok{};
    case Op::data_drop:
      bulk_helper(reinterpret_cast<const void*>(&helper_data_drop), {in.a}, 0, {});
      return runtime::Ok{};
    case Op::table_get:
      bulk_helper(reinterpret_cast<const void*>(&helper_table_get), {in.a}, 1,
                  {module_.tables[in.a].elem});
      return runtime::Ok{};
    case Op::table_set:
      bulk_helper(reinterpret_cast<const void*>(&helper_table_set), {in.a}, 2, {});
      return runtime::Ok{};
    case Op::table_size:
      bulk_helper(reinterpret_cast<const void*>(&helper_table_size), {in.a}, 0, {V::i32});
      return runtime::Ok{};
    case Op::table_grow:
      bulk_helper(reinterpret_cast<const void*>(&helper_table_grow), {in.a}, 2, {V::i32});
      return runtime::Ok{};
    case Op::table_fill:
      bulk_helper(reinterpret_cast<const void*>(&helper_table_fill), {in.a}, 3, {});
      return runtime::Ok{};
    case Op::table_copy:
      bulk_helper(reinterpret_cast<const void*>(&helper_table_copy),
                  {in.a, static_cast<int64_t>(in.b)}, 3, {});
      return runtime::Ok{};
    case Op::table_init:
      bulk_helper(reinterpret_cast<const void*>(&helper_table_init),
                  {in.a, static_cast<int64_t>(in.b)}, 3, {});
      return runtime::Ok{};
    case Op::elem_drop:
      bulk_helper(reinterpret_cast<const void*>(&helper_elem_drop), {in.a}, 0, {});
      return runtime::Ok{};

    case Op::ref_null:
      push_imm(static_cast<V>(in.aux), 0);
      return runtime::Ok{};
    case Op::ref_is_null:
      int_eqz(V::i64);
      return runtime::Ok{};
    case Op::ref_func: {
      const Reg r = alloc(RegClass::gp);
      masm_.load(OperandSize::s64, false, r, Mem{masm_.ctx(), ctx_offset::kFuncs});
      masm_.load(OperandSize::s64, false, r, Mem{r, static_cast<int32_t>(8 * in.a)});
      push_reg(V::funcref, r);
      return runtime::Ok{};
    }
    default:
      break;
  }
  return unsupported(std::string("operation ") + runtime::ir::op_name(in.op));
}

}  // namespace tollgate::jit
