// The x86-64 MacroAssembler: lowers the front-end's neutral three-address operations with asmjit.
// SPDX-License-Identifier: Apache-2.0
//
// Invariant relied on by memory addressing: a gp register holding an i32 has its upper 32 bits
// zero. Every w32 operation here writes a 32-bit register (which zero-extends on x86-64: mov,
// lea, ALU ops, cmov, movzx/movsx to r32, movd, 32-bit loads), so an i32 address is used as a
// 64-bit index as is; a violation would let guard-region code address past the reservation.
//
// Registers (abi, System V): r15 holds the ExecContext, r14 the frame base (value-stack slots),
// r13 the linear memory's base, rbp the fuel left. rax, rcx, rdx and xmm14/xmm15 are this file's
// scratch (division, shift counts and three-to-two-address moves need fixed or spare registers).
// Everything else is allocatable. Inside a function body rsp is 16-byte aligned, so helpers are
// called directly.
//
// Call depth costs no counter: every wasm frame takes exactly 16 bytes of native stack (return
// address + alignment), so the trampoline lowers ctx->native_stack_limit (restored on exit) to
// max(limit, T - 16 * depth_left), T being rsp at its call, and the prologue's single stack
// compare traps at the same frame the interpreter's depth count would. The depth at entry is
// kept at [ctx->saved_sp] (== T) and call_helper writes ctx->depth_left = that - (T - rsp) / 16
// before any helper, for nested activations and calls into other tiers.
//
// Fuel lives in rbp while generated code runs, so a charge is one register subtract and branch
// (in memory it was a read-modify-write, a store-to-load chain from block to block). ctx->fuel is
// the truth everywhere else: the trampoline loads rbp from it and stores it back on return and on
// every trap exit (rbp is intact there: trap stubs, helpers' trap checks and the guard-region
// fault handler, which only moves the pc, all get there from generated code), and call_helper
// stores it before a helper and reloads it after (helpers charge bulk fuel and may run nested
// activations, which keep their own fuel in ctx->fuel).
#pragma once

#include <asmjit/asmjit.h>

#include <array>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include "jit/context.hpp"
#include "jit/masm.hpp"
#include "jit/masm_common.hpp"

namespace tollgate::jit::x64 {

namespace ax = asmjit::x86;

class Masm {
 public:
  static constexpr std::array<Reg, 8> kAllocatableGp = {gpr(3), gpr(6),  gpr(7),  gpr(8),
                                                        gpr(9), gpr(10), gpr(11), gpr(12)};
  static constexpr std::array<Reg, 14> kAllocatableFp = {vr(0),  vr(1),  vr(2),  vr(3), vr(4),
                                                         vr(5),  vr(6),  vr(7),  vr(8), vr(9),
                                                         vr(10), vr(11), vr(12), vr(13)};

  /// `far_calls` collects the calls to far functions (jit/module_compiler.hpp); without it
  /// every call_wasm target must be a label of this assembler.
  Masm(ax::Assembler& as, asmjit::Label trap_exit, std::vector<FarCall>* far_calls = nullptr)
      : as_(as), trap_exit_(trap_exit), far_calls_(far_calls) {}

  Reg fp() const { return gpr(14); }
  Reg ctx() const { return gpr(15); }
  Reg helper_result() const { return gpr(0); }

  // ---- labels and control ----
  Label new_label() { return Label{as_.newLabel().id()}; }
  void bind(Label l) { as_.bind(lab(l)); }
  void jump(Label l) { as_.jmp(lab(l)); }
  Label trap_label(runtime::TrapKind kind) {
    return traps_.get(kind, [this] { return new_label(); });
  }
  void branch_cmp(Cond c, Width w, Reg lhs, Reg rhs, Label l) {
    as_.cmp(gp(lhs, w), gp(rhs, w));
    jcc(c, lab(l));
  }
  void branch_cmp_imm(Cond c, Width w, Reg lhs, int64_t imm, Label l) {
    if (imm == 0 && (c == Cond::eq || c == Cond::ne)) {
      as_.test(gp(lhs, w), gp(lhs, w));
    } else if (w == Width::w32 || fits_i32(imm)) {
      as_.cmp(gp(lhs, w), w == Width::w32 ? static_cast<int32_t>(imm) : imm);
    } else {
      as_.mov(ax::rax, imm);
      as_.cmp(gp(lhs, w), ax::rax);
    }
    jcc(c, lab(l));
  }
  /// Jumps to cases[index], or to `otherwise` when index >= cases.size().
  void jump_table(Reg index, std::span<const Label> cases, Label otherwise) {
    if (cases.empty()) {
      jump(otherwise);
      return;
    }
    as_.cmp(gp(index, Width::w32), static_cast<uint32_t>(cases.size()));
    as_.jae(lab(otherwise));
    const asmjit::Label table = as_.newLabel();
    as_.lea(ax::rax, ax::ptr(table));
    as_.jmp(ax::ptr(ax::rax, ax::gpq(index.code), 3));
    tables_.emplace_back(table, std::vector<Label>(cases.begin(), cases.end()));
  }

  // ---- frames and calls ----
  void prologue(uint32_t param_slots, uint32_t local_slots, uint32_t frame_slots) {
    const Label exhausted = trap_label(runtime::TrapKind::call_stack_exhausted);
    // One compare checks both the native stack and the call depth: the trampoline lowered the
    // limit to where frame depth_left + 1 would start (see the file comment).
    as_.sub(ax::rsp, 8);
    as_.cmp(ax::rsp, ctx_mem(ctx_offset::kNativeStackLimit, 8));
    as_.jb(lab(exhausted));
    as_.lea(ax::rax, ax::ptr(ax::r14, static_cast<int32_t>(8 * frame_slots)));
    as_.cmp(ax::rax, ctx_mem(ctx_offset::kValueStackEnd, 8));
    as_.ja(lab(exhausted));
    const uint32_t n = local_slots - param_slots;
    if (n == 0)
      return;
    as_.xor_(ax::eax, ax::eax);
    if (n <= 16) {
      for (uint32_t i = param_slots; i < local_slots; ++i)
        as_.mov(ax::qword_ptr(ax::r14, static_cast<int32_t>(8 * i)), ax::rax);
      return;
    }
    const asmjit::Label loop = as_.newLabel();
    as_.lea(ax::rdx, ax::ptr(ax::r14, static_cast<int32_t>(8 * param_slots)));
    as_.mov(ax::ecx, n);
    as_.bind(loop);
    as_.mov(ax::qword_ptr(ax::rdx), ax::rax);
    as_.add(ax::rdx, 8);
    as_.sub(ax::ecx, 1);
    as_.jnz(loop);
  }
  void epilogue() {
    as_.add(ax::rsp, 8);
    as_.ret();
  }
  void call_wasm(Label target, int32_t fp_delta) {
    if (fp_delta != 0)
      as_.add(ax::r14, fp_delta);
    if (target.far()) {
      // call rel32, the displacement patched by the driver (patch_far_call).
      as_.db(0xE8);
      as_.dd(0);
      far_calls_->push_back(FarCall{static_cast<uint32_t>(as_.offset()), target.far_index()});
    } else {
      as_.call(lab(target));
    }
    if (fp_delta != 0)
      as_.sub(ax::r14, fp_delta);
  }
  void call_wasm_reg(Reg target, int32_t fp_delta) {
    if (fp_delta != 0)
      as_.add(ax::r14, fp_delta);
    as_.call(ax::gpq(target.code));
    if (fp_delta != 0)
      as_.sub(ax::r14, fp_delta);
  }
  void call_helper(const void* fn, std::span<const HelperArg> args) {
    // ctx->depth_left = depth at entry (kept at [saved_sp]) - frames below: (saved_sp - rsp) / 16.
    as_.mov(ax::rax, ctx_mem(ctx_offset::kSavedSp, 8));
    as_.mov(ax::rcx, ax::rax);
    as_.sub(ax::rcx, ax::rsp);
    as_.shr(ax::rcx, 4);
    as_.mov(ax::eax, ax::dword_ptr(ax::rax));
    as_.sub(ax::eax, ax::ecx);
    as_.mov(ctx_mem(ctx_offset::kDepthLeft, 4), ax::eax);
    static constexpr uint8_t kArgRegs[] = {7, 6, 2, 1, 8, 9};  // rdi rsi rdx rcx r8 r9
    for (size_t i = 0; i < args.size() && i < 6; ++i) {
      const ax::Gp r = ax::gpq(kArgRegs[i]);
      const HelperArg& a = args[i];
      switch (a.kind) {
        case HelperArg::Kind::ctx:
          as_.mov(r, ax::r15);
          break;
        case HelperArg::Kind::imm:
          as_.mov(r, a.imm);
          break;
        case HelperArg::Kind::mem:
          as_.mov(r, mem(a.mem, 8));
          break;
        case HelperArg::Kind::addr:
          as_.lea(r, mem(a.mem, 0));
          break;
      }
    }
    as_.mov(ctx_mem(ctx_offset::kFuel, 8), ax::rbp);
    as_.mov(ax::rax, reinterpret_cast<uint64_t>(fn));
    as_.call(ax::rax);
    as_.mov(ax::rbp, ctx_mem(ctx_offset::kFuel, 8));
  }
  /// Leaves through the trap exit when a helper reported a trap.
  void check_trapped() {
    as_.cmp(ctx_mem(ctx_offset::kTrapped, 1), 0);
    as_.jne(trap_exit_);
  }
  /// Subtracts and branches on the borrow; the out-of-line stub (one per cost) adds the cost
  /// back before trapping, so fuel left is unchanged by a charge that fails.
  void charge_fuel(uint32_t cost) {
    const Label stub = fuel_stubs_.get(cost, [this] { return new_label(); });
    if (cost <= static_cast<uint32_t>(std::numeric_limits<int32_t>::max())) {
      as_.sub(ax::rbp, static_cast<int32_t>(cost));
    } else {
      as_.mov(ax::eax, cost);
      as_.sub(ax::rbp, ax::rax);
    }
    as_.jb(lab(stub));
  }
  void poll_interrupt() {
    as_.mov(ax::rax, ctx_mem(ctx_offset::kInterrupt, 8));
    as_.cmp(ax::byte_ptr(ax::rax), 0);
    as_.jne(lab(trap_label(runtime::TrapKind::interrupted)));
  }
  /// Emits the function's out-of-line trap stubs and jump tables.
  void finish_function() {
    fuel_stubs_.drain([this](uint32_t cost, Label stub) {
      bind(stub);
      as_.mov(ax::eax, cost);
      as_.add(ax::rbp, ax::rax);
      jump(trap_label(runtime::TrapKind::out_of_fuel));
    });
    traps_.drain([this](runtime::TrapKind kind, Label stub) {
      bind(stub);
      as_.mov(ctx_mem(ctx_offset::kTrapKind, 1), static_cast<uint8_t>(kind));
      as_.mov(ctx_mem(ctx_offset::kTrapped, 1), 1);
      as_.jmp(trap_exit_);
    });
    for (const auto& [table, cases] : tables_) {
      as_.align(asmjit::AlignMode::kData, 8);
      as_.bind(table);
      for (Label c : cases)
        as_.embedLabel(lab(c), 8);
    }
    tables_.clear();
  }

  // ---- moves ----
  void load(OperandSize s, bool sign_extend, Reg dst, Mem m) {
    if (dst.cls == RegClass::fp) {
      if (s == OperandSize::s32)
        as_.movss(ax::xmm(dst.code), mem(m, 4));
      else
        as_.movsd(ax::xmm(dst.code), mem(m, 8));
      return;
    }
    load_gp(s, sign_extend, Width::w64, dst, mem(m, operand_bytes(s)));
  }
  void store(OperandSize s, Reg src, Mem m) {
    if (src.cls == RegClass::fp) {
      if (s == OperandSize::s32)
        as_.movss(mem(m, 4), ax::xmm(src.code));
      else
        as_.movsd(mem(m, 8), ax::xmm(src.code));
      return;
    }
    store_gp(s, src, mem(m, operand_bytes(s)));
  }
  void store_imm(OperandSize s, int64_t imm, Mem m) {
    if (s == OperandSize::s64 && !fits_i32(imm)) {
      as_.mov(ax::rax, imm);
      as_.mov(mem(m, 8), ax::rax);
    } else if (s == OperandSize::s64) {
      as_.mov(mem(m, 8), static_cast<int32_t>(imm));
    } else {
      as_.mov(mem(m, 4), static_cast<int32_t>(static_cast<uint32_t>(imm)));
    }
  }
  void copy_word(Mem dst, Mem src) {
    as_.mov(ax::rax, mem(src, 8));
    as_.mov(mem(dst, 8), ax::rax);
  }
  void mov(Width w, Reg dst, Reg src) {
    if (dst == src)
      return;
    if (dst.cls == RegClass::fp)
      as_.movaps(ax::xmm(dst.code), ax::xmm(src.code));
    else
      as_.mov(gp(dst, w), gp(src, w));
  }
  void mov_imm(Width w, Reg dst, int64_t imm) {
    if (imm == 0 || (w == Width::w32 && static_cast<uint32_t>(imm) == 0))
      as_.xor_(gp(dst, Width::w32), gp(dst, Width::w32));
    else if (w == Width::w32)
      as_.mov(gp(dst, Width::w32), static_cast<uint32_t>(imm));
    else
      as_.mov(gp(dst, Width::w64), imm);
  }
  void mov_fp_imm(Width w, Reg dst, uint64_t bits) {
    const ax::Xmm x = ax::xmm(dst.code);
    if (bits == 0) {
      as_.xorps(x, x);
      return;
    }
    if (w == Width::w32) {
      as_.mov(ax::eax, static_cast<uint32_t>(bits));
      as_.movd(x, ax::eax);
    } else {
      as_.mov(ax::rax, bits);
      as_.movq(x, ax::rax);
    }
  }

  // ---- integers ----
  void int_binop(IntBinOp op, Width w, Reg dst, Reg lhs, Reg rhs) {
    const ax::Gp d = gp(dst, w), l = gp(lhs, w), r = gp(rhs, w);
    const ax::Gp a = gp(gpr(0), w);
    const ax::Gp dx = gp(gpr(2), w);
    switch (op) {
      case IntBinOp::add:
      case IntBinOp::sub:
      case IntBinOp::mul:
      case IntBinOp::and_:
      case IntBinOp::or_:
      case IntBinOp::xor_: {
        ax::Gp src = r;
        if (dst == rhs && dst != lhs) {
          if (op != IntBinOp::sub) {  // commutative: dst op= lhs
            arith(op, d, l);
            return;
          }
          as_.mov(a, r);
          src = a;
        }
        if (dst != lhs)
          as_.mov(d, l);
        arith(op, d, src);
        return;
      }
      case IntBinOp::shl:
      case IntBinOp::shr_s:
      case IntBinOp::shr_u:
      case IntBinOp::rotl:
      case IntBinOp::rotr:
        as_.mov(ax::ecx, gp(rhs, Width::w32));
        if (dst != lhs)
          as_.mov(d, l);
        shift(op, d, ax::cl);
        return;
      case IntBinOp::div_s:
      case IntBinOp::div_u:
      case IntBinOp::rem_s:
      case IntBinOp::rem_u: {
        const bool is_signed = op == IntBinOp::div_s || op == IntBinOp::rem_s;
        as_.mov(a, l);
        if (is_signed) {
          if (w == Width::w32)
            as_.cdq(ax::edx, ax::eax);
          else
            as_.cqo(ax::rdx, ax::rax);
          as_.idiv(dx, a, r);
        } else {
          as_.xor_(ax::edx, ax::edx);
          as_.div(dx, a, r);
        }
        as_.mov(d, op == IntBinOp::div_s || op == IntBinOp::div_u ? a : dx);
        return;
      }
    }
  }
  void int_binop_imm(IntBinOp op, Width w, Reg dst, Reg lhs, int32_t imm) {
    const ax::Gp d = gp(dst, w);
    if (dst != lhs && (op == IntBinOp::add ||
                       (op == IntBinOp::sub && imm != std::numeric_limits<int32_t>::min()))) {
      // One lea instead of mov + add (a 32-bit lea wraps and zero-extends like add).
      as_.lea(d, ax::ptr(ax::gpq(lhs.code), op == IntBinOp::add ? imm : -imm));
      return;
    }
    if (dst != lhs)
      as_.mov(d, gp(lhs, w));
    const int bits = w == Width::w32 ? 32 : 64;
    switch (op) {
      case IntBinOp::add:
        as_.add(d, imm);
        return;
      case IntBinOp::sub:
        as_.sub(d, imm);
        return;
      case IntBinOp::mul:
        as_.imul(d, d, imm);
        return;
      case IntBinOp::and_:
        as_.and_(d, imm);
        return;
      case IntBinOp::or_:
        as_.or_(d, imm);
        return;
      case IntBinOp::xor_:
        as_.xor_(d, imm);
        return;
      case IntBinOp::shl:
        as_.shl(d, imm & (bits - 1));
        return;
      case IntBinOp::shr_s:
        as_.sar(d, imm & (bits - 1));
        return;
      case IntBinOp::shr_u:
        as_.shr(d, imm & (bits - 1));
        return;
      case IntBinOp::rotl:
        as_.rol(d, imm & (bits - 1));
        return;
      case IntBinOp::rotr:
        as_.ror(d, imm & (bits - 1));
        return;
      default:
        // Division by a constant goes through the register form (the front-end never asks).
        as_.mov(ax::edx, imm);
        int_binop(op, w, dst, dst, gpr(2));
        return;
    }
  }
  void int_unop(IntUnOp op, Width w, Reg dst, Reg src) {
    const ax::Gp d = gp(dst, w), s = gp(src, w);
    switch (op) {
      case IntUnOp::clz:
        as_.lzcnt(d, s);
        return;
      case IntUnOp::ctz:
        as_.tzcnt(d, s);
        return;
      case IntUnOp::popcnt:
        as_.popcnt(d, s);
        return;
      case IntUnOp::extend8_s:
        as_.movsx(d, ax::gpb(src.code));
        return;
      case IntUnOp::extend16_s:
        as_.movsx(d, ax::gpw(src.code));
        return;
      case IntUnOp::extend32_s:
        as_.movsxd(gp(dst, Width::w64), gp(src, Width::w32));
        return;
    }
  }
  void compare_set(Cond c, Width w, Reg dst, Reg lhs, Reg rhs) {
    as_.cmp(gp(lhs, w), gp(rhs, w));
    set_bool(c, dst);
  }
  void compare_set_imm(Cond c, Width w, Reg dst, Reg lhs, int32_t imm) {
    if (imm == 0 && (c == Cond::eq || c == Cond::ne))
      as_.test(gp(lhs, w), gp(lhs, w));
    else
      as_.cmp(gp(lhs, w), imm);
    set_bool(c, dst);
  }
  /// dst = cond != 0 ? dst : other
  void select(Width w, Reg dst, Reg cond, Reg other) {
    as_.test(gp(cond, Width::w32), gp(cond, Width::w32));
    if (dst.cls == RegClass::gp) {
      as_.cmove(gp(dst, w), gp(other, w));
      return;
    }
    const asmjit::Label keep = as_.newLabel();
    as_.jne(keep);
    as_.movaps(ax::xmm(dst.code), ax::xmm(other.code));
    as_.bind(keep);
  }

  // ---- floats ----
  void float_binop(FloatBinOp op, Width w, Reg dst, Reg lhs, Reg rhs) {
    const ax::Xmm d = ax::xmm(dst.code), l = ax::xmm(lhs.code), r = ax::xmm(rhs.code);
    const bool f32 = w == Width::w32;
    if (op == FloatBinOp::copysign) {
      if (f32) {
        as_.movd(ax::eax, l);
        as_.movd(ax::ecx, r);
        as_.and_(ax::eax, 0x7FFFFFFF);
        as_.and_(ax::ecx, static_cast<int32_t>(0x80000000u));
        as_.or_(ax::eax, ax::ecx);
        as_.movd(d, ax::eax);
      } else {
        as_.movq(ax::rax, l);
        as_.movq(ax::rcx, r);
        as_.btr(ax::rax, 63);
        as_.shr(ax::rcx, 63);
        as_.shl(ax::rcx, 63);
        as_.or_(ax::rax, ax::rcx);
        as_.movq(d, ax::rax);
      }
      return;
    }
    if (op == FloatBinOp::add || op == FloatBinOp::sub || op == FloatBinOp::mul ||
        op == FloatBinOp::div) {
      // Two-address forms straight into dst, lhs always the first operand (x86 propagates the
      // first operand's NaN, and the interpreter's results must match bit for bit); a dst that
      // is the rhs goes through the scratch register.
      ax::Xmm src = r;
      if (dst == rhs && dst != lhs) {
        as_.movaps(ax::xmm15, r);
        src = ax::xmm15;
        as_.movaps(d, l);
      } else if (dst != lhs) {
        as_.movaps(d, l);
      }
      switch (op) {
        case FloatBinOp::add:
          f32 ? as_.addss(d, src) : as_.addsd(d, src);
          return;
        case FloatBinOp::sub:
          f32 ? as_.subss(d, src) : as_.subsd(d, src);
          return;
        case FloatBinOp::mul:
          f32 ? as_.mulss(d, src) : as_.mulsd(d, src);
          return;
        default:
          f32 ? as_.divss(d, src) : as_.divsd(d, src);
          return;
      }
    }
    const ax::Xmm t = ax::xmm15;
    as_.movaps(t, l);
    {
      // min/max: https://webassembly.github.io/spec/core/exec/numerics.html#op-fmin: NaN in, NaN
      // out; -0 is below +0 (x86's min/max return the second operand for both).
      const asmjit::Label nan = as_.newLabel(), differ = as_.newLabel(), done = as_.newLabel();
      if (f32)
        as_.ucomiss(t, r);
      else
        as_.ucomisd(t, r);
      as_.jp(nan);
      as_.jne(differ);
      if (op == FloatBinOp::min)
        as_.orps(t, r);
      else
        as_.andps(t, r);
      as_.jmp(done);
      as_.bind(differ);
      if (op == FloatBinOp::min)
        f32 ? as_.minss(t, r) : as_.minsd(t, r);
      else
        f32 ? as_.maxss(t, r) : as_.maxsd(t, r);
      as_.jmp(done);
      as_.bind(nan);
      f32 ? as_.addss(t, r) : as_.addsd(t, r);
      as_.bind(done);
    }
    as_.movaps(d, t);
  }
  void float_unop(FloatUnOp op, Width w, Reg dst, Reg src) {
    const ax::Xmm d = ax::xmm(dst.code), s = ax::xmm(src.code);
    const bool f32 = w == Width::w32;
    switch (op) {
      case FloatUnOp::abs:
      case FloatUnOp::neg:
        if (f32) {
          as_.movd(ax::eax, s);
          if (op == FloatUnOp::abs)
            as_.and_(ax::eax, 0x7FFFFFFF);
          else
            as_.xor_(ax::eax, static_cast<int32_t>(0x80000000u));
          as_.movd(d, ax::eax);
        } else {
          as_.movq(ax::rax, s);
          if (op == FloatUnOp::abs)
            as_.btr(ax::rax, 63);
          else
            as_.btc(ax::rax, 63);
          as_.movq(d, ax::rax);
        }
        return;
      case FloatUnOp::sqrt:
        f32 ? as_.sqrtss(d, s) : as_.sqrtsd(d, s);
        return;
      default: {
        const uint32_t mode = op == FloatUnOp::nearest ? 0
                              : op == FloatUnOp::floor ? 1
                              : op == FloatUnOp::ceil  ? 2
                                                       : 3;
        f32 ? as_.roundss(d, s, mode) : as_.roundsd(d, s, mode);
        return;
      }
    }
  }
  void float_compare_set(FCond c, Width w, Reg dst, Reg lhs, Reg rhs) {
    ax::Xmm a = ax::xmm(lhs.code), b = ax::xmm(rhs.code);
    // lt/le compare swapped, so "above" (false on unordered) serves every ordered relation.
    if (c == FCond::lt || c == FCond::le)
      std::swap(a, b);
    w == Width::w32 ? as_.ucomiss(a, b) : as_.ucomisd(a, b);
    const ax::Gp d8 = ax::gpb(dst.code);
    switch (c) {
      case FCond::eq:
        as_.sete(d8);
        as_.setnp(ax::cl);
        as_.and_(d8, ax::cl);
        break;
      case FCond::ne:
        as_.setne(d8);
        as_.setp(ax::cl);
        as_.or_(d8, ax::cl);
        break;
      case FCond::lt:
      case FCond::gt:
        as_.seta(d8);
        break;
      case FCond::le:
      case FCond::ge:
        as_.setae(d8);
        break;
    }
    as_.movzx(gp(dst, Width::w32), d8);
  }
  void convert(Convert op, Reg dst, Reg src) {
    switch (op) {
      case Convert::i32_wrap_i64:
      case Convert::i64_extend_i32_u:
        as_.mov(gp(dst, Width::w32), gp(src, Width::w32));
        return;
      case Convert::i64_extend_i32_s:
        as_.movsxd(gp(dst, Width::w64), gp(src, Width::w32));
        return;
      case Convert::f32_demote_f64:
        as_.cvtsd2ss(ax::xmm(dst.code), ax::xmm(src.code));
        return;
      case Convert::f64_promote_f32:
        as_.cvtss2sd(ax::xmm(dst.code), ax::xmm(src.code));
        return;
      case Convert::i32_reinterpret_f32:
        as_.movd(gp(dst, Width::w32), ax::xmm(src.code));
        return;
      case Convert::i64_reinterpret_f64:
        as_.movq(gp(dst, Width::w64), ax::xmm(src.code));
        return;
      case Convert::f32_reinterpret_i32:
        as_.movd(ax::xmm(dst.code), gp(src, Width::w32));
        return;
      case Convert::f64_reinterpret_i64:
        as_.movq(ax::xmm(dst.code), gp(src, Width::w64));
        return;
      default:
        int_to_float(op, ax::xmm(dst.code), src);
        return;
    }
  }

  // ---- linear memory ----
  void load_memory(const MemAccess& a, Reg dst, Reg addr, uint32_t offset, BoundsMode mode) {
    load_memory_add(a, dst, addr, 0, offset, mode);
  }
  void store_memory(const MemAccess& a, Reg value, Reg addr, uint32_t offset, BoundsMode mode) {
    store_memory_add(a, value, addr, 0, offset, mode);
  }
  /// load_memory at address u32(addr + addend) + offset (the i32.add wraps; an invalid addr
  /// stands for 0, i.e. a constant address).
  void load_memory_add(const MemAccess& a,
                       Reg dst,
                       Reg addr,
                       int32_t addend,
                       uint32_t offset,
                       BoundsMode mode) {
    const ax::Mem m = effective_address(addr, addend, offset, operand_bytes(a.size), mode);
    if (a.cls == RegClass::fp) {
      if (a.size == OperandSize::s32)
        as_.movss(ax::xmm(dst.code), m);
      else
        as_.movsd(ax::xmm(dst.code), m);
      return;
    }
    load_gp(a.size, a.sign_extend, a.width, dst, m);
  }
  /// store_memory_add of the constant `value` (its low a.size bytes; float constants as bits).
  void store_memory_imm_add(const MemAccess& a,
                            int64_t value,
                            Reg addr,
                            int32_t addend,
                            uint32_t offset,
                            BoundsMode mode) {
    ax::Mem m = effective_address(addr, addend, offset, operand_bytes(a.size), mode);
    m.setSize(operand_bytes(a.size));
    switch (a.size) {
      case OperandSize::s8:
        as_.mov(m, static_cast<int32_t>(static_cast<int8_t>(value)));
        return;
      case OperandSize::s16:
        as_.mov(m, static_cast<int32_t>(static_cast<int16_t>(value)));
        return;
      case OperandSize::s32:
        as_.mov(m, static_cast<int32_t>(value));
        return;
      case OperandSize::s64:
        if (fits_i32(value)) {
          as_.mov(m, static_cast<int32_t>(value));
        } else {
          as_.mov(ax::rdx, value);
          as_.mov(m, ax::rdx);
        }
        return;
    }
  }
  void store_memory_add(const MemAccess& a,
                        Reg value,
                        Reg addr,
                        int32_t addend,
                        uint32_t offset,
                        BoundsMode mode) {
    const ax::Mem m = effective_address(addr, addend, offset, operand_bytes(a.size), mode);
    if (a.cls == RegClass::fp) {
      if (a.size == OperandSize::s32)
        as_.movss(m, ax::xmm(value.code));
      else
        as_.movsd(m, ax::xmm(value.code));
      return;
    }
    store_gp(a.size, value, m);
  }

 private:
  static bool fits_i32(int64_t v) {
    return v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max();
  }
  static asmjit::Label lab(Label l) { return asmjit::Label(l.id); }
  static ax::Gp gp(Reg r, Width w) {
    return w == Width::w32 ? ax::Gp(ax::gpd(r.code)) : ax::Gp(ax::gpq(r.code));
  }
  static ax::Mem mem(Mem m, uint32_t size) { return ax::ptr(ax::gpq(m.base.code), m.disp, size); }
  static ax::Mem ctx_mem(int32_t offset, uint32_t size) { return ax::ptr(ax::r15, offset, size); }

  void load_gp(OperandSize s, bool sign_extend, Width w, Reg dst, ax::Mem m) {
    m.setSize(operand_bytes(s));
    switch (s) {
      case OperandSize::s8:
      case OperandSize::s16:
        if (sign_extend)
          as_.movsx(gp(dst, w), m);
        else
          as_.movzx(gp(dst, Width::w32), m);
        return;
      case OperandSize::s32:
        if (sign_extend)
          as_.movsxd(gp(dst, Width::w64), m);
        else
          as_.mov(gp(dst, Width::w32), m);
        return;
      case OperandSize::s64:
        as_.mov(gp(dst, Width::w64), m);
        return;
    }
  }
  void store_gp(OperandSize s, Reg src, ax::Mem m) {
    m.setSize(operand_bytes(s));
    switch (s) {
      case OperandSize::s8:
        as_.mov(m, ax::gpb(src.code));
        return;
      case OperandSize::s16:
        as_.mov(m, ax::gpw(src.code));
        return;
      case OperandSize::s32:
        as_.mov(m, ax::gpd(src.code));
        return;
      case OperandSize::s64:
        as_.mov(m, ax::gpq(src.code));
        return;
    }
  }
  /// rax = zero-extended address + offset, bounds-checked in explicit mode; returns [r13 + rax].
  /// The address u32(addr + addend) + offset as [r13 + index + disp], bounds-checked in
  /// explicit mode. index is `addr` itself when there is no addend (an i32 register's upper half
  /// is zero, see the file comment), else rax = a 32-bit lea, which wraps like i32.add and
  /// zero-extends. The guard region covers any u32 address plus any u32 offset plus the access
  /// size, so an offset up to INT32_MAX - size is a plain displacement.
  ax::Mem effective_address(Reg addr,
                            int32_t addend,
                            uint32_t offset,
                            uint32_t size,
                            BoundsMode mode) {
    constexpr uint64_t kMaxDisp = static_cast<uint64_t>(std::numeric_limits<int32_t>::max());
    uint64_t disp = offset;
    ax::Gp index = ax::rax;
    if (!addr.valid()) {
      disp += static_cast<uint32_t>(addend);
      index = ax::Gp();
    } else if (addend != 0) {
      as_.lea(ax::eax, ax::ptr(ax::gpq(addr.code), addend));
    } else {
      index = ax::gpq(addr.code);
    }
    if (disp + size > kMaxDisp) {
      if (index.isValid())
        as_.mov(ax::eax, index.r32());
      else
        as_.xor_(ax::eax, ax::eax);
      as_.mov(ax::rdx, disp);
      as_.add(ax::rax, ax::rdx);
      index = ax::rax;
      disp = 0;
    }
    const int32_t d = static_cast<int32_t>(disp);
    if (mode == BoundsMode::explicit_checks) {
      const int32_t end = d + static_cast<int32_t>(size);
      if (index.isValid())
        as_.lea(ax::rdx, ax::ptr(index, end));
      else
        as_.mov(ax::edx, end);
      as_.cmp(ax::rdx, ctx_mem(ctx_offset::kMemSize, 8));
      as_.ja(lab(trap_label(runtime::TrapKind::memory_out_of_bounds)));
    }
    if (!index.isValid())
      return ax::ptr(ax::r13, d, size);
    return ax::ptr(ax::r13, index, 0, d, size);
  }
  void arith(IntBinOp op, const ax::Gp& d, const ax::Gp& s) {
    switch (op) {
      case IntBinOp::add:
        as_.add(d, s);
        return;
      case IntBinOp::sub:
        as_.sub(d, s);
        return;
      case IntBinOp::mul:
        as_.imul(d, s);
        return;
      case IntBinOp::and_:
        as_.and_(d, s);
        return;
      case IntBinOp::or_:
        as_.or_(d, s);
        return;
      default:
        as_.xor_(d, s);
        return;
    }
  }
  void shift(IntBinOp op, const ax::Gp& d, const ax::Gp& count) {
    switch (op) {
      case IntBinOp::shl:
        as_.shl(d, count);
        return;
      case IntBinOp::shr_s:
        as_.sar(d, count);
        return;
      case IntBinOp::shr_u:
        as_.shr(d, count);
        return;
      case IntBinOp::rotl:
        as_.rol(d, count);
        return;
      default:
        as_.ror(d, count);
        return;
    }
  }
  void int_to_float(Convert op, const ax::Xmm& d, Reg src) {
    const bool f32 = op == Convert::f32_convert_i32_s || op == Convert::f32_convert_i32_u ||
                     op == Convert::f32_convert_i64_s || op == Convert::f32_convert_i64_u;
    auto cvt = [&](const ax::Gp& g) { f32 ? as_.cvtsi2ss(d, g) : as_.cvtsi2sd(d, g); };
    as_.xorps(d, d);
    switch (op) {
      case Convert::f32_convert_i32_s:
      case Convert::f64_convert_i32_s:
        cvt(gp(src, Width::w32));
        return;
      case Convert::f32_convert_i32_u:
      case Convert::f64_convert_i32_u:
        as_.mov(ax::eax, gp(src, Width::w32));
        cvt(ax::rax);
        return;
      case Convert::f32_convert_i64_s:
      case Convert::f64_convert_i64_s:
        cvt(gp(src, Width::w64));
        return;
      default: {
        // Unsigned 64-bit: halve values with the top bit set (keeping the lost bit sticky so
        // rounding stays correct), convert, double.
        const asmjit::Label big = as_.newLabel(), done = as_.newLabel();
        const ax::Gp s = gp(src, Width::w64);
        as_.test(s, s);
        as_.js(big);
        cvt(s);
        as_.jmp(done);
        as_.bind(big);
        as_.mov(ax::rax, s);
        as_.shr(ax::rax, 1);
        as_.mov(ax::rcx, s);
        as_.and_(ax::ecx, 1);
        as_.or_(ax::rax, ax::rcx);
        cvt(ax::rax);
        f32 ? as_.addss(d, d) : as_.addsd(d, d);
        as_.bind(done);
        return;
      }
    }
  }
  void set_bool(Cond c, Reg dst) {
    const ax::Gp d8 = ax::gpb(dst.code);
    switch (c) {
      case Cond::eq:
        as_.sete(d8);
        break;
      case Cond::ne:
        as_.setne(d8);
        break;
      case Cond::lt_s:
        as_.setl(d8);
        break;
      case Cond::lt_u:
        as_.setb(d8);
        break;
      case Cond::gt_s:
        as_.setg(d8);
        break;
      case Cond::gt_u:
        as_.seta(d8);
        break;
      case Cond::le_s:
        as_.setle(d8);
        break;
      case Cond::le_u:
        as_.setbe(d8);
        break;
      case Cond::ge_s:
        as_.setge(d8);
        break;
      case Cond::ge_u:
        as_.setae(d8);
        break;
    }
    as_.movzx(gp(dst, Width::w32), d8);
  }
  void jcc(Cond c, asmjit::Label l) {
    switch (c) {
      case Cond::eq:
        as_.je(l);
        break;
      case Cond::ne:
        as_.jne(l);
        break;
      case Cond::lt_s:
        as_.jl(l);
        break;
      case Cond::lt_u:
        as_.jb(l);
        break;
      case Cond::gt_s:
        as_.jg(l);
        break;
      case Cond::gt_u:
        as_.ja(l);
        break;
      case Cond::le_s:
        as_.jle(l);
        break;
      case Cond::le_u:
        as_.jbe(l);
        break;
      case Cond::ge_s:
        as_.jge(l);
        break;
      case Cond::ge_u:
        as_.jae(l);
        break;
    }
  }

  ax::Assembler& as_;
  asmjit::Label trap_exit_;
  std::vector<FarCall>* far_calls_;
  TrapStubs traps_;
  FuelStubs fuel_stubs_;
  std::vector<std::pair<asmjit::Label, std::vector<Label>>> tables_;
};

static_assert(MacroAssembler<Masm>);

}  // namespace tollgate::jit::x64
