// The per-ISA macro-assembler contract the ISA-neutral compiler front-end emits through.
// SPDX-License-Identifier: Apache-2.0
//
// Only neutral types cross this boundary (house-style 2.4): registers are (class, number) pairs,
// labels are integers, memory operands are base + displacement. Each ISA (jit/x64, later jit/a64)
// provides a class satisfying `MacroAssembler`; the front-end (jit/compiler.hpp) is a template over
// it, so there is no virtual call per instruction. Operations are three-address; an ISA that only
// has two-address forms (x64) adapts internally, so the front-end never sees such constraints.
//
// Register contract: `kAllocatableGp`/`kAllocatableFp` are what the front-end may hand out; the
// masm keeps its own scratch registers outside them. Pinned registers (the execution context, the
// frame base, the memory base) are never allocatable. Helper and wasm calls clobber every
// allocatable register, so the front-end spills its value stack before any call.
#pragma once

#include <concepts>
#include <cstdint>
#include <span>

#include "runtime/trap.hpp"

namespace tollgate::jit {

enum class RegClass : uint8_t { gp, fp };

/// A machine register: its class and its number in the ISA's encoding.
struct Reg {
  uint8_t code = 0xFF;
  RegClass cls = RegClass::gp;
  bool valid() const { return code != 0xFF; }
  bool operator==(const Reg&) const = default;
};

struct Imm {
  int64_t value = 0;
};

/// Width of an integer or float operation (i32/f32 vs i64/f64).
enum class Width : uint8_t { w32, w64 };

/// Bytes moved by a load or store.
enum class OperandSize : uint8_t { s8, s16, s32, s64 };

struct Label {
  uint32_t id = UINT32_MAX;
  bool valid() const { return id != UINT32_MAX; }
  /// The entry of defined function `def_index` compiled in another chunk (jit/module_compiler.hpp):
  /// only ever a `call_wasm` target, which the masm emits as a call the driver patches later.
  static Label far_function(uint32_t def_index) { return Label{kFarBit | def_index}; }
  bool far() const { return valid() && (id & kFarBit) != 0; }
  uint32_t far_index() const { return id & ~kFarBit; }
  static constexpr uint32_t kFarBit = 1u << 31;
};

/// A far call the masm emitted (`call_wasm` to a `Label::far_function`): the call instruction
/// ends at `site` (an offset in the masm's code buffer; the driver patches its displacement)
/// and targets defined function `callee`.
struct FarCall {
  uint32_t site = 0;
  uint32_t callee = 0;
};

/// base + disp; `base` is a gp register (often the pinned frame or context register).
struct Mem {
  Reg base;
  int32_t disp = 0;
};

enum class Cond : uint8_t { eq, ne, lt_s, lt_u, gt_s, gt_u, le_s, le_u, ge_s, ge_u };
/// Float comparisons with wasm's meaning: every one but `ne` is false on NaN.
enum class FCond : uint8_t { eq, ne, lt, gt, le, ge };

enum class IntBinOp : uint8_t {
  add,
  sub,
  mul,
  and_,
  or_,
  xor_,
  shl,
  shr_s,
  shr_u,
  rotl,
  rotr,
  /// The front-end has already trapped on a zero divisor and on signed overflow, and gives
  /// rem_s by -1 its result (0) itself, so these never fault.
  div_s,
  div_u,
  rem_s,
  rem_u,
};
enum class IntUnOp : uint8_t { clz, ctz, popcnt, extend8_s, extend16_s, extend32_s };
enum class FloatBinOp : uint8_t { add, sub, mul, div, min, max, copysign };
enum class FloatUnOp : uint8_t { abs, neg, sqrt, ceil, floor, trunc, nearest };

/// Conversions that never trap (the trapping truncations go through helpers).
enum class Convert : uint8_t {
  i32_wrap_i64,
  i64_extend_i32_s,
  i64_extend_i32_u,
  f32_demote_f64,
  f64_promote_f32,
  f32_convert_i32_s,
  f32_convert_i32_u,
  f32_convert_i64_s,
  f32_convert_i64_u,
  f64_convert_i32_s,
  f64_convert_i32_u,
  f64_convert_i64_s,
  f64_convert_i64_u,
  i32_reinterpret_f32,
  i64_reinterpret_f64,
  f32_reinterpret_i32,
  f64_reinterpret_i64,
};

/// What a linear-memory access reads or writes: size, extension, register class.
struct MemAccess {
  OperandSize size = OperandSize::s32;
  bool sign_extend = false;
  Width width = Width::w32;  ///< of the value register
  RegClass cls = RegClass::gp;
};

/// How linear-memory accesses are kept inside the memory.
enum class BoundsMode : uint8_t {
  explicit_checks,  ///< compare each effective address with the memory's size
  guard_region,     ///< rely on the 8 GiB reservation + guard and the fault handler
};

/// One argument of a call to a C++ helper (`extern "C"`-like functions taking words).
struct HelperArg {
  enum class Kind : uint8_t { ctx, imm, mem, addr } kind = Kind::imm;
  int64_t imm = 0;  ///< kind imm
  Mem mem;          ///< kind mem: the 64-bit word there; kind addr: its address
  static HelperArg ctx() { return {Kind::ctx, 0, {}}; }
  static HelperArg of(int64_t v) { return {Kind::imm, v, {}}; }
  static HelperArg word(Mem m) { return {Kind::mem, 0, m}; }
  static HelperArg address(Mem m) { return {Kind::addr, 0, m}; }
};

/// Optional operations (the front-end uses them when the masm has them, detected with a
/// requires-expression, and falls back to the required ones otherwise):
///
///   void load_memory_add(const MemAccess&, Reg dst, Reg addr, int32_t addend, uint32_t offset,
///                        BoundsMode);
///   void store_memory_add(const MemAccess&, Reg value, Reg addr, int32_t addend,
///                         uint32_t offset, BoundsMode);
///
///   void store_memory_imm_add(const MemAccess&, int64_t value, Reg addr, int32_t addend,
///                             uint32_t offset, BoundsMode);
///
/// store_memory_imm_add stores the low `size` bytes of the constant `value` (float constants
/// come as their bits) at the address store_memory_add would use.
///
/// load_memory/store_memory at the effective address u32(addr + addend) + offset: the addend is
/// added with i32.add's wrap-around before wasm's (non-wrapping) offset, and bounds-checked as
/// load_memory does. An invalid `addr` (Reg{}) stands for 0, i.e. the constant address
/// u32(addend).
///
/// The contract, checked at instantiation of the front-end (a representative subset; the rest is
/// documented on the x64 implementation and enforced by compilation).
template <typename M>
concept MacroAssembler = requires(M m, Reg r, Label l, Mem mem, Width w) {
  { M::kAllocatableGp } -> std::convertible_to<std::span<const Reg>>;
  { M::kAllocatableFp } -> std::convertible_to<std::span<const Reg>>;
  { m.fp() } -> std::same_as<Reg>;
  { m.ctx() } -> std::same_as<Reg>;
  { m.new_label() } -> std::same_as<Label>;
  m.bind(l);
  m.jump(l);
  { m.trap_label(runtime::TrapKind::unreachable) } -> std::same_as<Label>;
  m.int_binop(IntBinOp::add, w, r, r, r);
  m.int_binop_imm(IntBinOp::add, w, r, r, int32_t{0});
  m.branch_cmp(Cond::eq, w, r, r, l);
  m.branch_cmp_imm(Cond::eq, w, r, int64_t{0}, l);
  m.load(OperandSize::s64, false, r, mem);
  m.store(OperandSize::s64, r, mem);
};

}  // namespace tollgate::jit
