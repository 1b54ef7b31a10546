// The AArch64 MacroAssembler: lowers the front-end's neutral three-address operations with asmjit.
// SPDX-License-Identifier: Apache-2.0
//
// Registers (AAPCS64): x28 holds the ExecContext, x27 the frame base (value-stack slots), x26 the
// linear memory's base, x25 the fuel left; all four are callee-saved, so helper calls keep them.
// x15, x16 and x17 and d30/d31 are this file's scratch (addresses out of immediate range,
// materialised constants, bounds checks). x18 (the platform register) and x29/x30 (frame record)
// are never touched. Every other register is allocatable: the front-end spills before calls, so
// caller-saved x0-x14 and the callee-saved x19-x24 (kept for the caller by the entry trampoline)
// serve alike.
//
// Fuel lives in x25 while generated code runs, so a charge is one subtract and branch, as on
// x86-64. ctx->fuel is the truth everywhere else: the trampoline loads x25 from it and stores it
// back on return and on every trap exit (x25 is intact there), and call_helper stores it before a
// helper runs and reloads it after (helpers charge bulk work and calls out run metered code).
//
// Values: an i32 in a gp register always has its upper 32 bits zero, because every W-register
// write zero-extends; memory accesses use an i32 address register directly as their index.
//
// Frames: each wasm function pushes its frame record (x29, x30) on entry, which keeps sp 16-byte
// aligned for helper calls, and nothing else: every wasm frame is exactly 16 bytes of native
// stack. So call depth costs no counter, as on x86-64: the trampoline lowers
// ctx->native_stack_limit to max(limit, T - 16 * depth_left), T being sp at its call, and the
// prologue's one stack compare traps at the same frame the interpreter's depth count would. The
// depth at entry is kept in the trampoline's frame, and call_helper writes
// ctx->depth_left = that - (T - sp) / 16 for the helper (nested activations, other tiers).
// Conditional branches reach +-1 MiB; a function whose code is larger makes asmjit fail, and the
// module is then refused as a whole (it runs on the interpreter).
#pragma once

#include <asmjit/arm/a64assembler.h>
#include <asmjit/arm/a64utils.h>

#include <array>
#include <limits>
#include <span>
#include <vector>

#include "jit/context.hpp"
#include "jit/masm.hpp"
#include "jit/masm_common.hpp"

namespace tollgate::jit::a64 {

namespace aa = asmjit::a64;

class Masm {
 public:
  static constexpr std::array<Reg, 21> kAllocatableGp = {
      gpr(0),  gpr(1),  gpr(2),  gpr(3),  gpr(4),  gpr(5),  gpr(6),
      gpr(7),  gpr(8),  gpr(9),  gpr(10), gpr(11), gpr(12), gpr(13),
      gpr(14), gpr(19), gpr(20), gpr(21), gpr(22), gpr(23), gpr(24)};
  static constexpr std::array<Reg, 30> kAllocatableFp = {
      vr(0),  vr(1),  vr(2),  vr(3),  vr(4),  vr(5),  vr(6),  vr(7),  vr(16), vr(17),
      vr(18), vr(19), vr(20), vr(21), vr(22), vr(23), vr(24), vr(25), vr(26), vr(27),
      vr(28), vr(29), vr(8),  vr(9),  vr(10), vr(11), vr(12), vr(13), vr(14), vr(15)};

  static constexpr uint8_t kCtx = 28;
  static constexpr uint8_t kFrame = 27;
  static constexpr uint8_t kMemory = 26;
  static constexpr uint8_t kFuel = 25;
  /// Where the entry trampoline keeps ctx->depth_left as it was at entry, from ctx->saved_sp.
  static constexpr int32_t kEntryDepthSlot = 176;

  Masm(aa::Assembler& as, asmjit::Label trap_exit) : as_(as), trap_exit_(trap_exit) {}

  Reg fp() const { return gpr(kFrame); }
  Reg ctx() const { return gpr(kCtx); }
  Reg helper_result() const { return gpr(0); }

  // ---- labels and control ----
  Label new_label() { return Label{as_.newLabel().id()}; }
  void bind(Label l) { as_.bind(lab(l)); }
  void jump(Label l) { as_.b(lab(l)); }
  Label trap_label(runtime::TrapKind kind) {
    return traps_.get(kind, [this] { return new_label(); });
  }
  void branch_cmp(Cond c, Width w, Reg lhs, Reg rhs, Label l) {
    as_.cmp(gp(lhs, w), gp(rhs, w));
    as_.b(cond(c), lab(l));
  }
  void branch_cmp_imm(Cond c, Width w, Reg lhs, int64_t imm, Label l) {
    if (truncate(w, imm) == 0 && (c == Cond::eq || c == Cond::ne)) {
      if (c == Cond::eq)
        as_.cbz(gp(lhs, w), lab(l));
      else
        as_.cbnz(gp(lhs, w), lab(l));
      return;
    }
    compare_imm(w, lhs, imm);
    as_.b(cond(c), lab(l));
  }
  /// Jumps to cases[index], or to `otherwise` when index >= cases.size(). The table is a run of
  /// unconditional branches right after the indirect one.
  void jump_table(Reg index, std::span<const Label> cases, Label otherwise) {
    if (cases.empty()) {
      jump(otherwise);
      return;
    }
    compare_imm(Width::w32, index, static_cast<int64_t>(cases.size()));
    as_.b(asmjit::arm::CondCode::kHS, lab(otherwise));
    const asmjit::Label table = as_.newLabel();
    as_.adr(aa::x16, table);
    as_.mov(aa::w17, gp(index, Width::w32));
    as_.add(aa::x16, aa::x16, aa::x17, aa::lsl(2));
    as_.br(aa::x16);
    as_.bind(table);
    for (Label c : cases)
      as_.b(lab(c));
  }

  // ---- frames and calls ----
  void prologue(uint32_t param_slots, uint32_t local_slots, uint32_t frame_slots) {
    const asmjit::Label exhausted = lab(trap_label(runtime::TrapKind::call_stack_exhausted));
    // One compare checks both the native stack and the call depth: the trampoline lowered the
    // limit to where frame depth_left + 1 would start (see the file comment).
    as_.stp(aa::x29, aa::x30, aa::ptr_pre(aa::sp, -16));
    as_.mov(aa::x16, aa::sp);
    as_.ldr(aa::x17, ctx_mem(ctx_offset::kNativeStackLimit));
    as_.cmp(aa::x16, aa::x17);
    as_.b(asmjit::arm::CondCode::kLO, exhausted);
    add_imm(aa::x16, aa::x(kFrame), int64_t{8} * frame_slots);
    as_.ldr(aa::x17, ctx_mem(ctx_offset::kValueStackEnd));
    as_.cmp(aa::x16, aa::x17);
    as_.b(asmjit::arm::CondCode::kHI, exhausted);
    const uint32_t n = local_slots - param_slots;
    if (n == 0)
      return;
    if (n <= 16) {
      for (uint32_t i = param_slots; i < local_slots; ++i)
        store_word(aa::xzr, Mem{fp(), static_cast<int32_t>(8 * i)});
      return;
    }
    const asmjit::Label loop = as_.newLabel();
    add_imm(aa::x16, aa::x(kFrame), int64_t{8} * param_slots);
    materialize(aa::x17, n);
    as_.bind(loop);
    as_.str(aa::xzr, aa::ptr_post(aa::x16, 8));
    as_.subs(aa::x17, aa::x17, 1);
    as_.b(asmjit::arm::CondCode::kNE, loop);
  }
  void epilogue() {
    as_.ldp(aa::x29, aa::x30, aa::ptr_post(aa::sp, 16));
    as_.ret(aa::x30);
  }
  void call_wasm(Label target, int32_t fp_delta) {
    add_imm(aa::x(kFrame), aa::x(kFrame), fp_delta);
    as_.bl(lab(target));
    add_imm(aa::x(kFrame), aa::x(kFrame), -int64_t{fp_delta});
  }
  void call_wasm_reg(Reg target, int32_t fp_delta) {
    add_imm(aa::x(kFrame), aa::x(kFrame), fp_delta);
    as_.blr(aa::x(target.code));
    add_imm(aa::x(kFrame), aa::x(kFrame), -int64_t{fp_delta});
  }
  void call_helper(const void* fn, std::span<const HelperArg> args) {
    // ctx->depth_left = depth at entry (in the trampoline's frame at saved_sp) - frames below,
    // (saved_sp - sp) / 16.
    as_.ldr(aa::x16, ctx_mem(ctx_offset::kSavedSp));
    as_.mov(aa::x17, aa::sp);
    as_.sub(aa::x17, aa::x16, aa::x17);
    as_.ldr(aa::w16, aa::ptr(aa::x16, kEntryDepthSlot));
    as_.sub(aa::w16, aa::w16, aa::w17, aa::lsr(4));
    as_.str(aa::w16, ctx_mem(ctx_offset::kDepthLeft));
    for (size_t i = 0; i < args.size() && i < 8; ++i) {
      const aa::GpX r = aa::x(static_cast<uint32_t>(i));
      const HelperArg& a = args[i];
      switch (a.kind) {
        case HelperArg::Kind::ctx:
          as_.mov(r, aa::x(kCtx));
          break;
        case HelperArg::Kind::imm:
          materialize(r, static_cast<uint64_t>(a.imm));
          break;
        case HelperArg::Kind::mem:
          load_word(r, a.mem);
          break;
        case HelperArg::Kind::addr:
          add_imm(r, aa::x(a.mem.base.code), a.mem.disp);
          break;
      }
    }
    as_.str(aa::x(kFuel), ctx_mem(ctx_offset::kFuel));
    materialize(aa::x16, reinterpret_cast<uint64_t>(fn));
    as_.blr(aa::x16);
    as_.ldr(aa::x(kFuel), ctx_mem(ctx_offset::kFuel));
  }
  /// Leaves through the trap exit when a helper reported a trap.
  void check_trapped() {
    as_.ldrb(aa::w16, ctx_mem(ctx_offset::kTrapped));
    as_.cbnz(aa::w16, local_trap_exit());
  }
  /// Subtracts `cost`; on a borrow, a per-cost stub adds it back (a failed charge leaves the fuel
  /// untouched) and traps out_of_fuel.
  void charge_fuel(uint32_t cost) {
    const Label stub = fuel_stubs_.get(cost, [this] { return new_label(); });
    if (cost < 4096) {
      as_.subs(aa::x(kFuel), aa::x(kFuel), cost);
    } else {
      materialize(aa::x17, cost);
      as_.subs(aa::x(kFuel), aa::x(kFuel), aa::x17);
    }
    as_.b(asmjit::arm::CondCode::kLO, lab(stub));
  }
  void poll_interrupt() {
    as_.ldr(aa::x16, ctx_mem(ctx_offset::kInterrupt));
    as_.ldrb(aa::w16, aa::ptr(aa::x16));
    as_.cbnz(aa::w16, lab(trap_label(runtime::TrapKind::interrupted)));
  }
  /// Emits the function's out-of-line trap stubs.
  void finish_function() {
    const Label out_of_fuel =
        fuel_stubs_.empty() ? Label{} : trap_label(runtime::TrapKind::out_of_fuel);
    fuel_stubs_.drain([&](uint32_t cost, Label stub) {
      bind(stub);
      add_imm(aa::x(kFuel), aa::x(kFuel), cost);
      as_.b(lab(out_of_fuel));
    });
    traps_.drain([this](runtime::TrapKind kind, Label stub) {
      bind(stub);
      as_.mov(aa::w16, static_cast<uint32_t>(kind));
      as_.strb(aa::w16, ctx_mem(ctx_offset::kTrapKind));
      as_.mov(aa::w16, 1);
      as_.strb(aa::w16, ctx_mem(ctx_offset::kTrapped));
      as_.b(trap_exit_);
    });
    if (local_trap_exit_.isValid()) {
      as_.bind(local_trap_exit_);
      as_.b(trap_exit_);
      local_trap_exit_ = asmjit::Label();
    }
  }

  // ---- moves ----
  void load(OperandSize s, bool sign_extend, Reg dst, Mem m) {
    if (dst.cls == RegClass::fp) {
      if (s == OperandSize::s32)
        at(m, 4, [&](const aa::Mem& a) { as_.ldr(aa::s(dst.code), a); });
      else
        at(m, 8, [&](const aa::Mem& a) { as_.ldr(aa::d(dst.code), a); });
      return;
    }
    at(m, operand_bytes(s), [&](const aa::Mem& a) { load_gp(s, sign_extend, Width::w64, dst, a); });
  }
  void store(OperandSize s, Reg src, Mem m) {
    if (src.cls == RegClass::fp) {
      if (s == OperandSize::s32)
        at(m, 4, [&](const aa::Mem& a) { as_.str(aa::s(src.code), a); });
      else
        at(m, 8, [&](const aa::Mem& a) { as_.str(aa::d(src.code), a); });
      return;
    }
    at(m, operand_bytes(s), [&](const aa::Mem& a) { store_gp(s, aa::x(src.code), a); });
  }
  void store_imm(OperandSize s, int64_t imm, Mem m) {
    const uint64_t v = s == OperandSize::s64 ? static_cast<uint64_t>(imm)
                                             : static_cast<uint32_t>(static_cast<uint64_t>(imm));
    if (v == 0) {
      at(m, operand_bytes(s), [&](const aa::Mem& a) { store_gp(s, aa::xzr, a); });
      return;
    }
    if (s == OperandSize::s64)
      materialize(aa::x16, v);
    else
      materialize(aa::w16, v);
    at(m, operand_bytes(s), [&](const aa::Mem& a) { store_gp(s, aa::x16, a); });
  }
  void copy_word(Mem dst, Mem src) {
    load_word(aa::x16, src);
    store_word(aa::x16, dst);
  }
  void mov(Width w, Reg dst, Reg src) {
    if (dst == src)
      return;
    if (dst.cls == RegClass::fp)
      as_.fmov(aa::d(dst.code), aa::d(src.code));
    else
      as_.mov(gp(dst, w), gp(src, w));
  }
  void mov_imm(Width w, Reg dst, int64_t imm) {
    if (w == Width::w32)
      materialize(aa::w(dst.code), static_cast<uint32_t>(static_cast<uint64_t>(imm)));
    else
      materialize(aa::x(dst.code), static_cast<uint64_t>(imm));
  }
  void mov_fp_imm(Width w, Reg dst, uint64_t bits) {
    if (w == Width::w32) {
      materialize(aa::w16, static_cast<uint32_t>(bits));
      as_.fmov(aa::s(dst.code), aa::w16);
    } else {
      materialize(aa::x16, bits);
      as_.fmov(aa::d(dst.code), aa::x16);
    }
  }

  // ---- integers ----
  void int_binop(IntBinOp op, Width w, Reg dst, Reg lhs, Reg rhs) {
    const aa::Gp d = gp(dst, w), l = gp(lhs, w), r = gp(rhs, w);
    switch (op) {
      case IntBinOp::add:
        as_.add(d, l, r);
        return;
      case IntBinOp::sub:
        as_.sub(d, l, r);
        return;
      case IntBinOp::mul:
        as_.mul(d, l, r);
        return;
      case IntBinOp::and_:
        as_.and_(d, l, r);
        return;
      case IntBinOp::or_:
        as_.orr(d, l, r);
        return;
      case IntBinOp::xor_:
        as_.eor(d, l, r);
        return;
      // The variable shifts take the count modulo the width, as wasm does.
      case IntBinOp::shl:
        as_.lslv(d, l, r);
        return;
      case IntBinOp::shr_s:
        as_.asrv(d, l, r);
        return;
      case IntBinOp::shr_u:
        as_.lsrv(d, l, r);
        return;
      case IntBinOp::rotr:
        as_.rorv(d, l, r);
        return;
      case IntBinOp::rotl: {
        // Rotating left by n is rotating right by -n (mod width).
        const aa::Gp t = scratch16(w);
        as_.neg(t, r);
        as_.rorv(d, l, t);
        return;
      }
      case IntBinOp::div_s:
        as_.sdiv(d, l, r);
        return;
      case IntBinOp::div_u:
        as_.udiv(d, l, r);
        return;
      case IntBinOp::rem_s:
      case IntBinOp::rem_u: {
        const aa::Gp t = scratch16(w);
        if (op == IntBinOp::rem_s)
          as_.sdiv(t, l, r);
        else
          as_.udiv(t, l, r);
        as_.msub(d, t, r, l);
        return;
      }
    }
  }
  void int_binop_imm(IntBinOp op, Width w, Reg dst, Reg lhs, int32_t imm) {
    const aa::Gp d = gp(dst, w), l = gp(lhs, w);
    const uint32_t mask = w == Width::w32 ? 31 : 63;
    const uint32_t bits = mask + 1;
    const uint64_t value = truncate(w, imm);
    switch (op) {
      case IntBinOp::add:
      case IntBinOp::sub: {
        const int64_t v = op == IntBinOp::add ? int64_t{imm} : -int64_t{imm};
        if (v > -(int64_t{1} << 24) && v < (int64_t{1} << 24)) {
          add_imm(d, l, v);
          return;
        }
        break;
      }
      case IntBinOp::and_:
      case IntBinOp::or_:
      case IntBinOp::xor_:
        if (aa::Utils::isLogicalImm(value, bits)) {
          if (op == IntBinOp::and_)
            as_.and_(d, l, value);
          else if (op == IntBinOp::or_)
            as_.orr(d, l, value);
          else
            as_.eor(d, l, value);
          return;
        }
        break;
      case IntBinOp::shl:
        as_.lsl(d, l, imm & mask);
        return;
      case IntBinOp::shr_s:
        as_.asr(d, l, imm & mask);
        return;
      case IntBinOp::shr_u:
        as_.lsr(d, l, imm & mask);
        return;
      case IntBinOp::rotr:
        as_.ror(d, l, imm & mask);
        return;
      case IntBinOp::rotl:
        as_.ror(d, l, (bits - (imm & mask)) & mask);
        return;
      default:
        break;
    }
    // Everything else takes the constant from the scratch register (x15: x16 is the remainder's).
    const Reg t = gpr(15);
    materialize(gp(t, w), value);
    int_binop(op, w, dst, lhs, t);
  }
  void int_unop(IntUnOp op, Width w, Reg dst, Reg src) {
    const aa::Gp d = gp(dst, w), s = gp(src, w);
    switch (op) {
      case IntUnOp::clz:
        as_.clz(d, s);
        return;
      case IntUnOp::ctz: {
        const aa::Gp t = scratch16(w);
        as_.rbit(t, s);
        as_.clz(d, t);
        return;
      }
      case IntUnOp::popcnt:
        // No scalar population count before FEAT_CSSC: count bytes in a vector register, add them.
        if (w == Width::w32)
          as_.fmov(aa::s31, gp(src, Width::w32));
        else
          as_.fmov(aa::d31, gp(src, Width::w64));
        as_.cnt(aa::v31.b8(), aa::v31.b8());
        as_.addv(aa::b31, aa::v31.b8());
        as_.fmov(gp(dst, Width::w32), aa::s31);
        return;
      case IntUnOp::extend8_s:
        as_.sxtb(d, gp(src, Width::w32));
        return;
      case IntUnOp::extend16_s:
        as_.sxth(d, gp(src, Width::w32));
        return;
      case IntUnOp::extend32_s:
        as_.sxtw(gp(dst, Width::w64), gp(src, Width::w32));
        return;
    }
  }
  void compare_set(Cond c, Width w, Reg dst, Reg lhs, Reg rhs) {
    as_.cmp(gp(lhs, w), gp(rhs, w));
    as_.cset(gp(dst, Width::w32), cond(c));
  }
  void compare_set_imm(Cond c, Width w, Reg dst, Reg lhs, int32_t imm) {
    compare_imm(w, lhs, imm);
    as_.cset(gp(dst, Width::w32), cond(c));
  }
  /// dst = cond != 0 ? dst : other
  void select(Width w, Reg dst, Reg cond_reg, Reg other) {
    as_.cmp(gp(cond_reg, Width::w32), 0);
    if (dst.cls == RegClass::gp)
      as_.csel(gp(dst, w), gp(dst, w), gp(other, w), asmjit::arm::CondCode::kNE);
    else if (w == Width::w32)
      as_.fcsel(aa::s(dst.code), aa::s(dst.code), aa::s(other.code), asmjit::arm::CondCode::kNE);
    else
      as_.fcsel(aa::d(dst.code), aa::d(dst.code), aa::d(other.code), asmjit::arm::CondCode::kNE);
  }

  // ---- floats ----
  void float_binop(FloatBinOp op, Width w, Reg dst, Reg lhs, Reg rhs) {
    const aa::Vec d = fpr(dst, w), l = fpr(lhs, w), r = fpr(rhs, w);
    switch (op) {
      case FloatBinOp::add:
        as_.fadd(d, l, r);
        return;
      case FloatBinOp::sub:
        as_.fsub(d, l, r);
        return;
      case FloatBinOp::mul:
        as_.fmul(d, l, r);
        return;
      case FloatBinOp::div:
        as_.fdiv(d, l, r);
        return;
      // FMIN/FMAX already have wasm's semantics: a NaN operand gives a NaN, and -0 < +0.
      case FloatBinOp::min:
        as_.fmin(d, l, r);
        return;
      case FloatBinOp::max:
        as_.fmax(d, l, r);
        return;
      case FloatBinOp::copysign:
        // The magnitude bits of lhs inserted under the sign of rhs, in gp scratch registers.
        if (w == Width::w32) {
          as_.fmov(aa::w16, l);
          as_.fmov(aa::w17, r);
          as_.bfxil(aa::w17, aa::w16, 0, 31);
          as_.fmov(d, aa::w17);
        } else {
          as_.fmov(aa::x16, l);
          as_.fmov(aa::x17, r);
          as_.bfxil(aa::x17, aa::x16, 0, 63);
          as_.fmov(d, aa::x17);
        }
        return;
    }
  }
  void float_unop(FloatUnOp op, Width w, Reg dst, Reg src) {
    const aa::Vec d = fpr(dst, w), s = fpr(src, w);
    switch (op) {
      case FloatUnOp::abs:
        as_.fabs(d, s);
        return;
      case FloatUnOp::neg:
        as_.fneg(d, s);
        return;
      case FloatUnOp::sqrt:
        as_.fsqrt(d, s);
        return;
      case FloatUnOp::ceil:
        as_.frintp(d, s);
        return;
      case FloatUnOp::floor:
        as_.frintm(d, s);
        return;
      case FloatUnOp::trunc:
        as_.frintz(d, s);
        return;
      case FloatUnOp::nearest:
        as_.frintn(d, s);
        return;
    }
  }
  void float_compare_set(FCond c, Width w, Reg dst, Reg lhs, Reg rhs) {
    as_.fcmp(fpr(lhs, w), fpr(rhs, w));
    // After FCMP, unordered is NZCV=0011: these conditions are all false on it but NE.
    using CC = asmjit::arm::CondCode;
    CC cc = CC::kEQ;
    switch (c) {
      case FCond::eq:
        cc = CC::kEQ;
        break;
      case FCond::ne:
        cc = CC::kNE;
        break;
      case FCond::lt:
        cc = CC::kMI;
        break;
      case FCond::gt:
        cc = CC::kGT;
        break;
      case FCond::le:
        cc = CC::kLS;
        break;
      case FCond::ge:
        cc = CC::kGE;
        break;
    }
    as_.cset(gp(dst, Width::w32), cc);
  }
  void convert(Convert op, Reg dst, Reg src) {
    const uint32_t dn = dst.code, sn = src.code;
    switch (op) {
      case Convert::i32_wrap_i64:
      case Convert::i64_extend_i32_u:
        as_.mov(aa::w(dn), aa::w(sn));
        return;
      case Convert::i64_extend_i32_s:
        as_.sxtw(aa::x(dn), aa::w(sn));
        return;
      case Convert::f32_demote_f64:
        as_.fcvt(aa::s(dn), aa::d(sn));
        return;
      case Convert::f64_promote_f32:
        as_.fcvt(aa::d(dn), aa::s(sn));
        return;
      case Convert::f32_convert_i32_s:
        as_.scvtf(aa::s(dn), aa::w(sn));
        return;
      case Convert::f32_convert_i32_u:
        as_.ucvtf(aa::s(dn), aa::w(sn));
        return;
      case Convert::f32_convert_i64_s:
        as_.scvtf(aa::s(dn), aa::x(sn));
        return;
      case Convert::f32_convert_i64_u:
        as_.ucvtf(aa::s(dn), aa::x(sn));
        return;
      case Convert::f64_convert_i32_s:
        as_.scvtf(aa::d(dn), aa::w(sn));
        return;
      case Convert::f64_convert_i32_u:
        as_.ucvtf(aa::d(dn), aa::w(sn));
        return;
      case Convert::f64_convert_i64_s:
        as_.scvtf(aa::d(dn), aa::x(sn));
        return;
      case Convert::f64_convert_i64_u:
        as_.ucvtf(aa::d(dn), aa::x(sn));
        return;
      case Convert::i32_reinterpret_f32:
        as_.fmov(aa::w(dn), aa::s(sn));
        return;
      case Convert::i64_reinterpret_f64:
        as_.fmov(aa::x(dn), aa::d(sn));
        return;
      case Convert::f32_reinterpret_i32:
        as_.fmov(aa::s(dn), aa::w(sn));
        return;
      case Convert::f64_reinterpret_i64:
        as_.fmov(aa::d(dn), aa::x(sn));
        return;
    }
  }

  // ---- linear memory ----
  void load_memory(const MemAccess& a, Reg dst, Reg addr, uint32_t offset, BoundsMode mode) {
    access_load(a, dst, effective_address(addr, 0, offset, operand_bytes(a.size), mode));
  }
  void store_memory(const MemAccess& a, Reg value, Reg addr, uint32_t offset, BoundsMode mode) {
    access_store(a, value, effective_address(addr, 0, offset, operand_bytes(a.size), mode));
  }
  /// load_memory at u32(addr + addend) + offset; an invalid `addr` stands for 0.
  void load_memory_add(const MemAccess& a,
                       Reg dst,
                       Reg addr,
                       int32_t addend,
                       uint32_t offset,
                       BoundsMode mode) {
    const aa::Mem m = effective_address(addr, addend, offset, operand_bytes(a.size), mode);
    access_load(a, dst, m);
  }
  /// store_memory_add of the low a.size bytes of `value` (a float's bits for fp stores).
  void store_memory_imm_add(const MemAccess& a,
                            int64_t value,
                            Reg addr,
                            int32_t addend,
                            uint32_t offset,
                            BoundsMode mode) {
    const aa::Mem m = effective_address(addr, addend, offset, operand_bytes(a.size), mode);
    const uint64_t v =
        a.size == OperandSize::s64 ? static_cast<uint64_t>(value) : static_cast<uint32_t>(value);
    if (v == 0) {
      store_gp(a.size, aa::xzr, m);
      return;
    }
    // x15 held the memory size for the check; the access no longer needs it.
    if (a.size == OperandSize::s64)
      materialize(aa::x15, v);
    else
      materialize(aa::w15, v);
    store_gp(a.size, aa::x15, m);
  }
  void store_memory_add(const MemAccess& a,
                        Reg value,
                        Reg addr,
                        int32_t addend,
                        uint32_t offset,
                        BoundsMode mode) {
    const aa::Mem m = effective_address(addr, addend, offset, operand_bytes(a.size), mode);
    access_store(a, value, m);
  }

 private:
  static uint64_t truncate(Width w, int64_t v) {
    return w == Width::w32 ? uint64_t{static_cast<uint32_t>(v)} : static_cast<uint64_t>(v);
  }
  static asmjit::Label lab(Label l) { return asmjit::Label(l.id); }
  static aa::Gp gp(Reg r, Width w) {
    return w == Width::w32 ? aa::Gp(aa::w(r.code)) : aa::Gp(aa::x(r.code));
  }
  static aa::Vec fpr(Reg r, Width w) {
    return w == Width::w32 ? aa::Vec(aa::s(r.code)) : aa::Vec(aa::d(r.code));
  }
  static aa::Gp scratch16(Width w) { return w == Width::w32 ? aa::Gp(aa::w16) : aa::Gp(aa::x16); }
  static aa::Mem ctx_mem(int32_t offset) { return aa::ptr(aa::x(kCtx), offset); }
  static asmjit::arm::CondCode cond(Cond c) {
    using CC = asmjit::arm::CondCode;
    switch (c) {
      case Cond::eq:
        return CC::kEQ;
      case Cond::ne:
        return CC::kNE;
      case Cond::lt_s:
        return CC::kLT;
      case Cond::lt_u:
        return CC::kLO;
      case Cond::gt_s:
        return CC::kGT;
      case Cond::gt_u:
        return CC::kHI;
      case Cond::le_s:
        return CC::kLE;
      case Cond::le_u:
        return CC::kLS;
      case Cond::ge_s:
        return CC::kGE;
      case Cond::ge_u:
        return CC::kHS;
    }
    return CC::kEQ;
  }

  asmjit::Label local_trap_exit() {
    if (!local_trap_exit_.isValid())
      local_trap_exit_ = as_.newLabel();
    return local_trap_exit_;
  }

  /// Loads `v` into `r` with MOVZ/MOVN and MOVKs (at most four instructions).
  void materialize(const aa::Gp& r, uint64_t v) {
    const bool is64 = r.isGpX();
    const int halves = is64 ? 4 : 2;
    if (!is64)
      v &= 0xFFFFFFFFu;
    int zeros = 0, ones = 0;
    for (int i = 0; i < halves; ++i) {
      const uint32_t h = static_cast<uint32_t>(v >> (16 * i)) & 0xFFFF;
      zeros += h == 0;
      ones += h == 0xFFFF;
    }
    if (v == 0) {
      as_.movz(r, 0, 0);
      return;
    }
    const bool inverted = ones > zeros;
    const uint32_t fill = inverted ? 0xFFFF : 0;
    bool first = true;
    for (int i = 0; i < halves; ++i) {
      const uint32_t h = static_cast<uint32_t>(v >> (16 * i)) & 0xFFFF;
      if (h == fill)
        continue;
      if (first) {
        if (inverted)
          as_.movn(r, (~h) & 0xFFFF, 16 * i);
        else
          as_.movz(r, h, 16 * i);
        first = false;
      } else {
        as_.movk(r, h, 16 * i);
      }
    }
    if (first)  // every half was the fill: all ones
      as_.movn(r, 0, 0);
  }
  /// dst = src + v at dst's width (dst may be src): one or two ADD/SUB immediates when |v| fits
  /// in 24 bits, else through x17/w17.
  void add_imm(const aa::Gp& dst, const aa::Gp& src, int64_t v) {
    const bool is64 = dst.isGpX();
    if (!is64)
      v = static_cast<int32_t>(static_cast<uint32_t>(v));
    if (v == 0) {
      if (dst.id() != src.id())
        as_.mov(dst, src);
      return;
    }
    const uint64_t mag = v < 0 ? uint64_t(0) - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
    if (mag < (uint64_t{1} << 24)) {
      const uint64_t lo = mag & 0xFFF, hi = mag >> 12;
      bool first = true;
      auto step = [&](uint64_t part, uint32_t shift) {
        const aa::Gp& from = first ? src : dst;
        if (v < 0)
          as_.sub(dst, from, part, aa::lsl(shift));
        else
          as_.add(dst, from, part, aa::lsl(shift));
        first = false;
      };
      if (hi != 0)
        step(hi, 12);
      if (lo != 0)
        step(lo, 0);
      return;
    }
    const aa::Gp t = is64 ? aa::Gp(aa::x17) : aa::Gp(aa::w17);
    materialize(t, static_cast<uint64_t>(v));
    as_.add(dst, src, t);
  }
  void compare_imm(Width w, Reg lhs, int64_t imm) {
    const aa::Gp l = gp(lhs, w);
    const uint64_t v = truncate(w, imm);
    const uint64_t neg = truncate(w, static_cast<int64_t>(uint64_t(0) - v));
    if (v < 4096) {
      as_.cmp(l, v);
    } else if (neg < 4096) {
      as_.cmn(l, neg);
    } else {
      const aa::Gp t = w == Width::w32 ? aa::Gp(aa::w17) : aa::Gp(aa::x17);
      materialize(t, v);
      as_.cmp(l, t);
    }
  }
  /// Emits `emit` on [m.base + m.disp]: the scaled 12-bit form when the displacement allows,
  /// otherwise with the displacement in x17 as an index.
  template <typename F>
  void at(Mem m, uint32_t size, F&& emit) {
    const aa::GpX base = aa::x(m.base.code);
    if (m.disp >= 0 && m.disp % static_cast<int32_t>(size) == 0 &&
        m.disp / static_cast<int32_t>(size) < 4096) {
      emit(aa::ptr(base, m.disp));
      return;
    }
    materialize(aa::x17, static_cast<uint64_t>(static_cast<int64_t>(m.disp)));
    emit(aa::ptr(base, aa::x17));
  }
  void load_word(const aa::GpX& dst, Mem m) {
    at(m, 8, [&](const aa::Mem& a) { as_.ldr(dst, a); });
  }
  void store_word(const aa::GpX& src, Mem m) {
    at(m, 8, [&](const aa::Mem& a) { as_.str(src, a); });
  }
  void load_gp(OperandSize s, bool sign_extend, Width w, Reg dst, const aa::Mem& m) {
    const aa::Gp d = sign_extend ? gp(dst, w) : gp(dst, Width::w32);
    switch (s) {
      case OperandSize::s8:
        if (sign_extend)
          as_.ldrsb(d, m);
        else
          as_.ldrb(d, m);
        return;
      case OperandSize::s16:
        if (sign_extend)
          as_.ldrsh(d, m);
        else
          as_.ldrh(d, m);
        return;
      case OperandSize::s32:
        if (sign_extend)
          as_.ldrsw(gp(dst, Width::w64), m);
        else
          as_.ldr(aa::w(dst.code), m);
        return;
      case OperandSize::s64:
        as_.ldr(aa::x(dst.code), m);
        return;
    }
  }
  void store_gp(OperandSize s, const aa::GpX& src, const aa::Mem& m) {
    const aa::GpW w = aa::w(src.id());
    switch (s) {
      case OperandSize::s8:
        as_.strb(w, m);
        return;
      case OperandSize::s16:
        as_.strh(w, m);
        return;
      case OperandSize::s32:
        as_.str(w, m);
        return;
      case OperandSize::s64:
        as_.str(src, m);
        return;
    }
  }
  /// index = u32(addr + addend) + offset, bounds-checked in explicit mode; returns [x26 + index].
  /// Writing a W register zero-extends into its X register, so an i32 address register is already
  /// its u32 and serves as the index itself when nothing is added.
  aa::Mem effective_address(Reg addr,
                            int32_t addend,
                            uint32_t offset,
                            uint32_t size,
                            BoundsMode mode) {
    aa::GpX index = aa::x16;
    if (addr.valid() && addend == 0) {
      if (offset == 0)
        index = aa::x(addr.code);
      else
        add_imm(aa::x16, aa::x(addr.code), offset);
    } else {
      if (addr.valid())
        add_imm(aa::w16, aa::w(addr.code), addend);
      else
        materialize(aa::w16, static_cast<uint32_t>(addend));
      add_imm(aa::x16, aa::x16, offset);
    }
    if (mode == BoundsMode::explicit_checks) {
      as_.add(aa::x17, index, size);
      as_.ldr(aa::x15, ctx_mem(ctx_offset::kMemSize));
      as_.cmp(aa::x17, aa::x15);
      as_.b(asmjit::arm::CondCode::kHI, lab(trap_label(runtime::TrapKind::memory_out_of_bounds)));
    }
    return aa::ptr(aa::x(kMemory), index);
  }
  void access_load(const MemAccess& a, Reg dst, const aa::Mem& m) {
    if (a.cls == RegClass::fp) {
      if (a.size == OperandSize::s32)
        as_.ldr(aa::s(dst.code), m);
      else
        as_.ldr(aa::d(dst.code), m);
      return;
    }
    load_gp(a.size, a.sign_extend, a.width, dst, m);
  }
  void access_store(const MemAccess& a, Reg value, const aa::Mem& m) {
    if (a.cls == RegClass::fp) {
      if (a.size == OperandSize::s32)
        as_.str(aa::s(value.code), m);
      else
        as_.str(aa::d(value.code), m);
      return;
    }
    store_gp(a.size, aa::x(value.code), m);
  }

  aa::Assembler& as_;
  asmjit::Label trap_exit_;
  asmjit::Label local_trap_exit_;
  TrapStubs traps_;
  FuelStubs fuel_stubs_;
};

static_assert(MacroAssembler<Masm>);

}  // namespace tollgate::jit::a64
