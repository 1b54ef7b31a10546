// Encodings of the AArch64 macro-assembler, checked against GNU as on any host (asmjit emits a64 as
// foreign code). SPDX-License-Identifier: Apache-2.0
//
// Each case emits operations through jit::a64::Masm into a CodeHolder for AArch64 and compares
// the words with `expected`, which is what aarch64-linux-gnu-as assembles from the case's `asm`
// text (tests/unit/jit/a64_encoding_refresh.py re-assembles every case: `--check` verifies the
// words, without it rewrites them). The text says which instructions the operation must become,
// so a wrong lowering shows up as a readable difference, not only as different bytes.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "jit/a64/masm_a64.hpp"

namespace tollgate::jit::a64 {
namespace {

using runtime::TrapKind;

struct Case {
  const char* name;
  std::function<void(Masm&)> emit;
  const char* asm_text;
  std::vector<uint32_t> expected;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

std::vector<uint32_t> assemble(const Case& c) {
  asmjit::CodeHolder holder;
  holder.init(asmjit::Environment(asmjit::Arch::kAArch64));
  aa::Assembler as(&holder);
  const asmjit::Label trap_exit = as.newLabel();
  Masm masm(as, trap_exit);
  c.emit(masm);
  as.bind(trap_exit);
  const asmjit::CodeBuffer& buf = holder.textSection()->buffer();
  std::vector<uint32_t> words(buf.size() / 4);
  std::memcpy(words.data(), buf.data(), words.size() * 4);
  return words;
}

std::string hex(const std::vector<uint32_t>& words) {
  std::string s;
  for (uint32_t w : words) {
    char b[12];
    std::snprintf(b, sizeof b, "%08x ", w);
    s += b;
  }
  return s;
}

constexpr Reg x0 = gpr(0), x1 = gpr(1), x2 = gpr(2), x5 = gpr(5), x6 = gpr(6);
constexpr Reg v0 = vr(0), v1 = vr(1), v2 = vr(2);
constexpr Mem frame(int32_t disp) {
  return Mem{gpr(Masm::kFrame), disp};
}

// clang-format off
const Case kCases[] = {
  {"add_w32", [](Masm& m) { m.int_binop(IntBinOp::add, Width::w32, x0, x1, x2); },
   R"asm(
    add w0, w1, w2
   )asm", {0x0b020020}},
  {"sub_mul_w64_w32", [](Masm& m) {
     m.int_binop(IntBinOp::sub, Width::w64, x5, x6, x1);
     m.int_binop(IntBinOp::mul, Width::w32, x0, x1, x2); },
   R"asm(
    sub x5, x6, x1
    mul w0, w1, w2
   )asm", {0xcb0100c5, 0x1b027c20}},
  {"bitwise_w64", [](Masm& m) {
     m.int_binop(IntBinOp::and_, Width::w64, x0, x1, x2);
     m.int_binop(IntBinOp::or_, Width::w64, x0, x1, x2);
     m.int_binop(IntBinOp::xor_, Width::w64, x0, x1, x2); },
   R"asm(
    and x0, x1, x2
    orr x0, x1, x2
    eor x0, x1, x2
   )asm", {0x8a020020, 0xaa020020, 0xca020020}},
  {"shifts_by_register", [](Masm& m) {
     m.int_binop(IntBinOp::shl, Width::w64, x0, x1, x2);
     m.int_binop(IntBinOp::shr_s, Width::w32, x0, x1, x2);
     m.int_binop(IntBinOp::shr_u, Width::w64, x0, x1, x2);
     m.int_binop(IntBinOp::rotr, Width::w32, x0, x1, x2); },
   R"asm(
    lsl x0, x1, x2
    asr w0, w1, w2
    lsr x0, x1, x2
    ror w0, w1, w2
   )asm", {0x9ac22020, 0x1ac22820, 0x9ac22420, 0x1ac22c20}},
  {"rotl_is_rotr_by_negated_count", [](Masm& m) {
     m.int_binop(IntBinOp::rotl, Width::w32, x0, x1, x2); },
   R"asm(
    neg w16, w2
    ror w0, w1, w16
   )asm", {0x4b0203f0, 0x1ad02c20}},
  {"division_w64", [](Masm& m) {
     m.int_binop(IntBinOp::div_s, Width::w64, x0, x1, x2);
     m.int_binop(IntBinOp::div_u, Width::w64, x0, x1, x2); },
   R"asm(
    sdiv x0, x1, x2
    udiv x0, x1, x2
   )asm", {0x9ac20c20, 0x9ac20820}},
  {"remainder_is_divide_and_multiply_subtract", [](Masm& m) {
     m.int_binop(IntBinOp::rem_s, Width::w32, x0, x1, x2);
     m.int_binop(IntBinOp::rem_u, Width::w64, x2, x1, x2); },
   R"asm(
    sdiv w16, w1, w2
    msub w0, w16, w2, w1
    udiv x16, x1, x2
    msub x2, x16, x2, x1
   )asm", {0x1ac20c30, 0x1b028600, 0x9ac20830, 0x9b028602}},
  {"add_sub_immediates", [](Masm& m) {
     m.int_binop_imm(IntBinOp::add, Width::w32, x0, x1, 7);
     m.int_binop_imm(IntBinOp::add, Width::w64, x0, x1, -7);
     m.int_binop_imm(IntBinOp::sub, Width::w64, x0, x1, 4095);
     m.int_binop_imm(IntBinOp::add, Width::w32, x0, x1, 0x12345);
     m.int_binop_imm(IntBinOp::sub, Width::w64, x0, x0, 0x12000);
     m.int_binop_imm(IntBinOp::add, Width::w64, x0, x1, 0x1234567);
     m.int_binop_imm(IntBinOp::sub, Width::w32, x0, x1, INT32_MIN); },
   R"asm(
    add w0, w1, #7
    sub x0, x1, #7
    sub x0, x1, #4095
    add w0, w1, #0x12, lsl #12
    add w0, w0, #0x345
    sub x0, x0, #0x12, lsl #12
    movz x15, #0x4567
    movk x15, #0x123, lsl #16
    add x0, x1, x15
    movz w15, #0x8000, lsl #16
    sub w0, w1, w15
   )asm", {0x11001c20, 0xd1001c20, 0xd13ffc20, 0x11404820, 0x110d1400, 0xd1404800, 0xd288acef,
           0xf2a0246f, 0x8b0f0020, 0x52b0000f, 0x4b0f0020}},
  {"logical_immediates_and_fallback", [](Masm& m) {
     m.int_binop_imm(IntBinOp::and_, Width::w64, x0, x1, 0xff);
     m.int_binop_imm(IntBinOp::or_, Width::w32, x0, x1, static_cast<int32_t>(0xffff0000u));
     m.int_binop_imm(IntBinOp::xor_, Width::w32, x0, x1, 0x12345); },
   R"asm(
    and x0, x1, #0xff
    orr w0, w1, #0xffff0000
    movz w15, #0x2345
    movk w15, #0x1, lsl #16
    eor w0, w1, w15
   )asm", {0x92401c20, 0x32103c20, 0x528468af, 0x72a0002f, 0x4a0f0020}},
  {"shift_immediates_wrap_at_the_width", [](Masm& m) {
     m.int_binop_imm(IntBinOp::shr_u, Width::w64, x0, x1, 33);
     m.int_binop_imm(IntBinOp::shl, Width::w32, x0, x1, 35);
     m.int_binop_imm(IntBinOp::shr_s, Width::w64, x0, x1, 63);
     m.int_binop_imm(IntBinOp::rotl, Width::w32, x0, x1, 8); },
   R"asm(
    lsr x0, x1, #33
    lsl w0, w1, #3
    asr x0, x1, #63
    ror w0, w1, #24
   )asm", {0xd361fc20, 0x531d7020, 0x937ffc20, 0x13816020}},
  {"immediate_multiply_and_divide_use_x15", [](Masm& m) {
     m.int_binop_imm(IntBinOp::mul, Width::w64, x0, x1, -3);
     m.int_binop_imm(IntBinOp::div_u, Width::w32, x0, x1, 10); },
   R"asm(
    movn x15, #2
    mul x0, x1, x15
    movz w15, #10
    udiv w0, w1, w15
   )asm", {0x9280004f, 0x9b0f7c20, 0x5280014f, 0x1acf0820}},
  {"count_bits", [](Masm& m) {
     m.int_unop(IntUnOp::clz, Width::w64, x0, x1);
     m.int_unop(IntUnOp::ctz, Width::w32, x0, x1);
     m.int_unop(IntUnOp::popcnt, Width::w64, x0, x1); },
   R"asm(
    clz x0, x1
    rbit w16, w1
    clz w0, w16
    fmov d31, x1
    cnt v31.8b, v31.8b
    addv b31, v31.8b
    fmov w0, s31
   )asm", {0xdac01020, 0x5ac00030, 0x5ac01200, 0x9e67003f, 0x0e205bff, 0x0e31bbff, 0x1e2603e0}},
  {"sign_extensions", [](Masm& m) {
     m.int_unop(IntUnOp::extend8_s, Width::w64, x0, x1);
     m.int_unop(IntUnOp::extend16_s, Width::w32, x0, x1);
     m.int_unop(IntUnOp::extend32_s, Width::w64, x0, x1); },
   R"asm(
    sxtb x0, w1
    sxth w0, w1
    sxtw x0, w1
   )asm", {0x93401c20, 0x13003c20, 0x93407c20}},
  {"compare_and_set", [](Masm& m) {
     m.compare_set(Cond::lt_u, Width::w64, x0, x1, x2);
     m.compare_set(Cond::gt_s, Width::w32, x0, x1, x2);
     m.compare_set_imm(Cond::ge_s, Width::w32, x0, x1, -5);
     m.compare_set_imm(Cond::le_u, Width::w64, x0, x1, 100000); },
   R"asm(
    cmp x1, x2
    cset w0, lo
    cmp w1, w2
    cset w0, gt
    cmn w1, #5
    cset w0, ge
    movz x17, #0x86a0
    movk x17, #0x1, lsl #16
    cmp x1, x17
    cset w0, ls
   )asm", {0xeb02003f, 0x1a9f27e0, 0x6b02003f, 0x1a9fd7e0, 0x3100143f, 0x1a9fb7e0, 0xd290d411,
           0xf2a00031, 0xeb11003f, 0x1a9f87e0}},
  {"select", [](Masm& m) {
     m.select(Width::w64, x0, x2, x1);
     m.select(Width::w32, v0, x2, v1);
     m.select(Width::w64, v0, x2, v1); },
   R"asm(
    cmp w2, #0
    csel x0, x0, x1, ne
    cmp w2, #0
    fcsel s0, s0, s1, ne
    cmp w2, #0
    fcsel d0, d0, d1, ne
   )asm", {0x7100005f, 0x9a811000, 0x7100005f, 0x1e211c00, 0x7100005f, 0x1e611c00}},
  {"integer_constants", [](Masm& m) {
     m.mov_imm(Width::w64, x1, 0x123456789abcdef0);
     m.mov_imm(Width::w64, x1, -2);
     m.mov_imm(Width::w32, x1, -2);
     m.mov_imm(Width::w64, x1, 0);
     m.mov_imm(Width::w64, x1, static_cast<int64_t>(0xffff1234ffffffffu)); },
   R"asm(
    movz x1, #0xdef0
    movk x1, #0x9abc, lsl #16
    movk x1, #0x5678, lsl #32
    movk x1, #0x1234, lsl #48
    movn x1, #1
    movn w1, #1
    movz x1, #0
    movn x1, #0xedcb, lsl #32
   )asm", {0xd29bde01, 0xf2b35781, 0xf2cacf01, 0xf2e24681, 0x92800021, 0x12800021, 0xd2800001,
           0x92ddb961}},
  {"float_constants_go_through_x16", [](Masm& m) {
     m.mov_fp_imm(Width::w64, v0, 0x3ff0000000000000);
     m.mov_fp_imm(Width::w32, v1, 0x3f800000); },
   R"asm(
    movz x16, #0x3ff0, lsl #48
    fmov d0, x16
    movz w16, #0x3f80, lsl #16
    fmov s1, w16
   )asm", {0xd2e7fe10, 0x9e670200, 0x52a7f010, 0x1e270201}},
  {"moves", [](Masm& m) {
     m.mov(Width::w32, x0, x1);
     m.mov(Width::w64, x0, x1);
     m.mov(Width::w64, v0, v1);
     m.mov(Width::w64, x2, x2); },
   R"asm(
    mov w0, w1
    mov x0, x1
    fmov d0, d1
   )asm", {0x2a0103e0, 0xaa0103e0, 0x1e604020}},
  {"float_arithmetic", [](Masm& m) {
     m.float_binop(FloatBinOp::add, Width::w64, v0, v1, v2);
     m.float_binop(FloatBinOp::sub, Width::w32, v0, v1, v2);
     m.float_binop(FloatBinOp::mul, Width::w64, v0, v1, v2);
     m.float_binop(FloatBinOp::div, Width::w32, v0, v1, v2);
     m.float_binop(FloatBinOp::min, Width::w32, v0, v1, v2);
     m.float_binop(FloatBinOp::max, Width::w64, v0, v1, v2); },
   R"asm(
    fadd d0, d1, d2
    fsub s0, s1, s2
    fmul d0, d1, d2
    fdiv s0, s1, s2
    fmin s0, s1, s2
    fmax d0, d1, d2
   )asm", {0x1e622820, 0x1e223820, 0x1e620820, 0x1e221820, 0x1e225820, 0x1e624820}},
  {"copysign_moves_the_sign_bit_only", [](Masm& m) {
     m.float_binop(FloatBinOp::copysign, Width::w64, v0, v1, v2);
     m.float_binop(FloatBinOp::copysign, Width::w32, v0, v1, v2); },
   R"asm(
    fmov x16, d1
    fmov x17, d2
    bfxil x17, x16, #0, #63
    fmov d0, x17
    fmov w16, s1
    fmov w17, s2
    bfxil w17, w16, #0, #31
    fmov s0, w17
   )asm", {0x9e660030, 0x9e660051, 0xb340fa11, 0x9e670220, 0x1e260030, 0x1e260051, 0x33007a11,
           0x1e270220}},
  {"float_unary", [](Masm& m) {
     m.float_unop(FloatUnOp::abs, Width::w32, v0, v1);
     m.float_unop(FloatUnOp::neg, Width::w64, v0, v1);
     m.float_unop(FloatUnOp::sqrt, Width::w64, v0, v1);
     m.float_unop(FloatUnOp::ceil, Width::w32, v0, v1);
     m.float_unop(FloatUnOp::floor, Width::w64, v0, v1);
     m.float_unop(FloatUnOp::trunc, Width::w32, v0, v1);
     m.float_unop(FloatUnOp::nearest, Width::w64, v0, v1); },
   R"asm(
    fabs s0, s1
    fneg d0, d1
    fsqrt d0, d1
    frintp s0, s1
    frintm d0, d1
    frintz s0, s1
    frintn d0, d1
   )asm", {0x1e20c020, 0x1e614020, 0x1e61c020, 0x1e24c020, 0x1e654020, 0x1e25c020, 0x1e644020}},
  {"float_compares_are_false_on_unordered", [](Masm& m) {
     m.float_compare_set(FCond::eq, Width::w32, x0, v1, v2);
     m.float_compare_set(FCond::ne, Width::w64, x0, v1, v2);
     m.float_compare_set(FCond::lt, Width::w64, x0, v1, v2);
     m.float_compare_set(FCond::gt, Width::w32, x0, v1, v2);
     m.float_compare_set(FCond::le, Width::w64, x0, v1, v2);
     m.float_compare_set(FCond::ge, Width::w32, x0, v1, v2); },
   R"asm(
    fcmp s1, s2
    cset w0, eq
    fcmp d1, d2
    cset w0, ne
    fcmp d1, d2
    cset w0, mi
    fcmp s1, s2
    cset w0, gt
    fcmp d1, d2
    cset w0, ls
    fcmp s1, s2
    cset w0, ge
   )asm", {0x1e222020, 0x1a9f17e0, 0x1e622020, 0x1a9f07e0, 0x1e622020, 0x1a9f57e0, 0x1e222020,
           0x1a9fd7e0, 0x1e622020, 0x1a9f87e0, 0x1e222020, 0x1a9fb7e0}},
  {"conversions", [](Masm& m) {
     m.convert(Convert::i32_wrap_i64, x0, x1);
     m.convert(Convert::i64_extend_i32_s, x0, x1);
     m.convert(Convert::f32_demote_f64, v0, v1);
     m.convert(Convert::f64_promote_f32, v0, v1);
     m.convert(Convert::f32_convert_i64_u, v0, x1);
     m.convert(Convert::f64_convert_i32_s, v0, x1);
     m.convert(Convert::i64_reinterpret_f64, x0, v1);
     m.convert(Convert::f32_reinterpret_i32, v0, x1); },
   R"asm(
    mov w0, w1
    sxtw x0, w1
    fcvt s0, d1
    fcvt d0, s1
    ucvtf s0, x1
    scvtf d0, w1
    fmov x0, d1
    fmov s0, w1
   )asm", {0x2a0103e0, 0x93407c20, 0x1e624020, 0x1e22c020, 0x9e230020, 0x1e620020, 0x9e660020,
           0x1e270020}},
  {"frame_slots_near_and_far", [](Masm& m) {
     m.load(OperandSize::s64, false, x0, frame(16));
     m.store(OperandSize::s32, v0, frame(8));
     m.load(OperandSize::s64, false, v1, frame(40000));
     m.store_imm(OperandSize::s64, 0, frame(24));
     m.store_imm(OperandSize::s32, -1, frame(32));
     m.copy_word(frame(48), frame(56)); },
   R"asm(
    ldr x0, [x27, #16]
    str s0, [x27, #8]
    movz x17, #40000
    ldr d1, [x27, x17]
    str xzr, [x27, #24]
    movn w16, #0
    str w16, [x27, #32]
    ldr x16, [x27, #56]
    str x16, [x27, #48]
   )asm", {0xf9400b60, 0xbd000b60, 0xd2938811, 0xfc716b61, 0xf9000f7f, 0x12800010, 0xb9002370,
           0xf9401f70, 0xf9001b70}},
  {"guard_region_accesses_have_no_check", [](Masm& m) {
     m.load_memory(MemAccess{OperandSize::s8, true, Width::w32, RegClass::gp}, x0, x1, 0,
                   BoundsMode::guard_region);
     m.load_memory(MemAccess{OperandSize::s32, true, Width::w64, RegClass::gp}, x0, x1, 8,
                   BoundsMode::guard_region);
     m.store_memory(MemAccess{OperandSize::s16, false, Width::w32, RegClass::gp}, x2, x1,
                    0x10000, BoundsMode::guard_region);
     m.load_memory(MemAccess{OperandSize::s64, false, Width::w64, RegClass::fp}, v0, x1,
                   0xfffffff0u, BoundsMode::guard_region); },
   R"asm(
    ldrsb w0, [x26, x1]
    add x16, x1, #8
    ldrsw x0, [x26, x16]
    add x16, x1, #16, lsl #12
    strh w2, [x26, x16]
    movz x17, #0xfff0
    movk x17, #0xffff, lsl #16
    add x16, x1, x17
    ldr d0, [x26, x16]
   )asm", {0x38e16b40, 0x91002030, 0xb8b06b40, 0x91404030, 0x78306b42, 0xd29ffe11, 0xf2bffff1,
           0x8b110030, 0xfc706b40}},
  {"folded_addends_wrap_at_32_bits_before_the_offset", [](Masm& m) {
     m.load_memory_add(MemAccess{OperandSize::s32, false, Width::w32, RegClass::gp}, x0, x1, -4,
                       16, BoundsMode::guard_region);
     m.store_memory_add(MemAccess{OperandSize::s64, false, Width::w64, RegClass::fp}, v0, x1,
                        0x100000, 0, BoundsMode::guard_region);
     m.load_memory_add(MemAccess{OperandSize::s8, false, Width::w32, RegClass::gp}, x0, Reg{},
                       -1, 2, BoundsMode::guard_region); },
   R"asm(
    sub w16, w1, #4
    add x16, x16, #16
    ldr w0, [x26, x16]
    add w16, w1, #0x100, lsl #12
    str d0, [x26, x16]
    movn w16, #0
    add x16, x16, #2
    ldrb w0, [x26, x16]
   )asm", {0x51001030, 0x91004210, 0xb8706b40, 0x11440030, 0xfc306b40, 0x12800010, 0x91000a10,
           0x38706b40}},
  {"constant_stores", [](Masm& m) {
     m.store_memory_imm_add(MemAccess{OperandSize::s32, false, Width::w32, RegClass::fp},
                            0x3f800000, x1, 4, 0, BoundsMode::guard_region);
     m.store_memory_imm_add(MemAccess{OperandSize::s64, false, Width::w64, RegClass::gp}, 0,
                            Reg{}, 64, 8, BoundsMode::guard_region);
     m.store_memory_imm_add(MemAccess{OperandSize::s8, false, Width::w32, RegClass::gp}, -1, x1,
                            0, 0, BoundsMode::explicit_checks);
     m.finish_function(); },
   R"asm(
    add w16, w1, #4
    movz w15, #0x3f80, lsl #16
    str w15, [x26, x16]
    movz w16, #64
    add x16, x16, #8
    str xzr, [x26, x16]
    add x17, x1, #1
    ldr x15, [x28, #8]
    cmp x17, x15
    b.hi 1f
    movn w15, #0
    strb w15, [x26, x1]
1:  movz w16, #1
    strb w16, [x28, #92]
    movz w16, #1
    strb w16, [x28, #93]
    b trap_exit
trap_exit:
   )asm", {0x11001030, 0x52a7f00f, 0xb8306b4f, 0x52800810, 0x91002210, 0xf8306b5f, 0x91000431,
           0xf940078f, 0xeb0f023f, 0x54000068, 0x1280000f, 0x38216b4f, 0x52800030, 0x39017390,
           0x52800030, 0x39017790, 0x14000001}},
  {"explicit_bounds_check_against_the_context_size", [](Masm& m) {
     m.load_memory(MemAccess{OperandSize::s32, false, Width::w32, RegClass::gp}, x0, x1, 4,
                   BoundsMode::explicit_checks);
     m.finish_function(); },
   R"asm(
    add x16, x1, #4
    add x17, x16, #4
    ldr x15, [x28, #8]
    cmp x17, x15
    b.hi 1f
    ldr w0, [x26, x16]
1:  movz w16, #1
    strb w16, [x28, #92]
    movz w16, #1
    strb w16, [x28, #93]
    b trap_exit
trap_exit:
   )asm", {0x91001030, 0x91001211, 0xf940078f, 0xeb0f023f, 0x54000048, 0xb8706b40, 0x52800030,
           0x39017390, 0x52800030, 0x39017790, 0x14000001}},
  {"branches", [](Masm& m) {
     const Label l = m.new_label();
     m.branch_cmp_imm(Cond::eq, Width::w32, x1, 0, l);
     m.branch_cmp_imm(Cond::ne, Width::w64, x1, 0, l);
     m.branch_cmp(Cond::lt_s, Width::w64, x1, x2, l);
     m.branch_cmp_imm(Cond::ge_u, Width::w32, x1, 10, l);
     m.branch_cmp_imm(Cond::eq, Width::w32, x1, -2147483648LL, l);
     m.jump(l);
     m.bind(l); },
   R"asm(
    cbz w1, 1f
    cbnz x1, 1f
    cmp x1, x2
    b.lt 1f
    cmp w1, #10
    b.hs 1f
    movz w17, #0x8000, lsl #16
    cmp w1, w17
    b.eq 1f
    b 1f
1:
   )asm", {0x34000141, 0xb5000121, 0xeb02003f, 0x540000eb, 0x7100283f, 0x540000a2, 0x52b00011,
           0x6b11003f, 0x54000040, 0x14000001}},
  {"jump_table_is_a_run_of_branches", [](Masm& m) {
     const Label c0 = m.new_label(), c1 = m.new_label(), other = m.new_label();
     const Label cases[] = {c0, c1};
     m.jump_table(x1, cases, other);
     m.bind(c0);
     m.bind(c1);
     m.bind(other); },
   R"asm(
    cmp w1, #2
    b.hs 2f
    adr x16, 1f
    mov w17, w1
    add x16, x16, x17, lsl #2
    br x16
1:  b 2f
    b 2f
2:
   )asm", {0x7100083f, 0x540000e2, 0x10000090, 0x2a0103f1, 0x8b110a10, 0xd61f0200, 0x14000002,
           0x14000001}},
  {"prologue_checks_the_stacks_and_zeroes_locals", [](Masm& m) {
     m.prologue(1, 3, 10);
     m.epilogue();
     m.finish_function(); },
   R"asm(
    stp x29, x30, [sp, #-16]!
    mov x16, sp
    ldr x17, [x28, #64]
    cmp x16, x17
    b.lo 1f
    add x16, x27, #80
    ldr x17, [x28, #72]
    cmp x16, x17
    b.hi 1f
    str xzr, [x27, #8]
    str xzr, [x27, #16]
    ldp x29, x30, [sp], #16
    ret
1:  movz w16, #9
    strb w16, [x28, #92]
    movz w16, #1
    strb w16, [x28, #93]
    b trap_exit
trap_exit:
   )asm", {0xa9bf7bfd, 0x910003f0, 0xf9402391, 0xeb11021f, 0x54000123, 0x91014370, 0xf9402791,
           0xeb11021f, 0x540000a8, 0xf900077f, 0xf9000b7f, 0xa8c17bfd, 0xd65f03c0, 0x52800130,
           0x39017390, 0x52800030, 0x39017790, 0x14000001}},
  {"calls_move_the_frame_register", [](Masm& m) {
     const Label target = m.new_label();
     m.call_wasm(target, 24);
     m.call_wasm_reg(x1, 0x12008);
     m.bind(target); },
   R"asm(
    add x27, x27, #24
    bl 1f
    sub x27, x27, #24
    add x27, x27, #18, lsl #12
    add x27, x27, #8
    blr x1
    sub x27, x27, #18, lsl #12
    sub x27, x27, #8
1:
   )asm", {0x9100637b, 0x94000007, 0xd100637b, 0x91404b7b, 0x9100237b, 0xd63f0020, 0xd1404b7b,
           0xd100237b}},
  {"fuel_lives_in_x25_and_a_failed_charge_is_undone", [](Masm& m) {
     m.charge_fuel(5);
     m.charge_fuel(70000);
     m.finish_function(); },
   R"asm(
    subs x25, x25, #5
    b.lo 1f
    movz x17, #0x1170
    movk x17, #0x1, lsl #16
    subs x25, x25, x17
    b.lo 2f
1:  add x25, x25, #5
    b 3f
2:  add x25, x25, #17, lsl #12
    add x25, x25, #0x170
    b 3f
3:  movz w16, #10
    strb w16, [x28, #92]
    movz w16, #1
    strb w16, [x28, #93]
    b trap_exit
trap_exit:
   )asm", {0xf1001739, 0x540000a3, 0xd2822e11, 0xf2a00031, 0xeb110339, 0x54000063, 0x91001739,
           0x14000004, 0x91404739, 0x9105c339, 0x14000001, 0x52800150, 0x39017390, 0x52800030,
           0x39017790, 0x14000001}},
  {"helper_calls_sync_depth_and_fuel_with_the_context", [](Masm& m) {
     const HelperArg args[] = {HelperArg::ctx(), HelperArg::of(7), HelperArg::word(frame(16)),
                               HelperArg::address(frame(24))};
     m.call_helper(reinterpret_cast<const void*>(uintptr_t{0x123456789abc}), args);
     m.check_trapped();
     m.finish_function(); },
   R"asm(
    ldr x16, [x28, #80]
    mov x17, sp
    sub x17, x16, x17
    ldr w16, [x16, #176]
    sub w16, w16, w17, lsr #4
    str w16, [x28, #88]
    mov x0, x28
    movz x1, #7
    ldr x2, [x27, #16]
    add x3, x27, #24
    str x25, [x28, #48]
    movz x16, #0x9abc
    movk x16, #0x5678, lsl #16
    movk x16, #0x1234, lsl #32
    blr x16
    ldr x25, [x28, #48]
    ldrb w16, [x28, #93]
    cbnz w16, 1f
1:  b trap_exit
trap_exit:
   )asm", {0xf9402b90, 0x910003f1, 0xcb110211, 0xb940b210, 0x4b511210, 0xb9005b90, 0xaa1c03e0,
           0xd28000e1, 0xf9400b62, 0x91006363, 0xf9001b99, 0xd2935790, 0xf2aacf10, 0xf2c24690,
           0xd63f0200, 0xf9401b99, 0x39417790, 0x35000030, 0x14000001}},
};
// clang-format on

class A64Encoding : public ::testing::TestWithParam<Case> {};

TEST_P(A64Encoding, MatchesTheAssembler) {
  const Case& c = GetParam();
  const std::vector<uint32_t> got = assemble(c);
  EXPECT_EQ(hex(got), hex(c.expected)) << "assembly:" << c.asm_text;
}

INSTANTIATE_TEST_SUITE_P(Masm,
                         A64Encoding,
                         ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

// The expected words above were assembled with this context layout and these trap numbers.
TEST(A64Encoding, ContextLayoutTheCasesAssume) {
  EXPECT_EQ(ctx_offset::kMemSize, 8);
  EXPECT_EQ(ctx_offset::kFuel, 48);
  EXPECT_EQ(ctx_offset::kNativeStackLimit, 64);
  EXPECT_EQ(ctx_offset::kValueStackEnd, 72);
  EXPECT_EQ(ctx_offset::kDepthLeft, 88);
  EXPECT_EQ(ctx_offset::kSavedSp, 80);
  EXPECT_EQ(Masm::kEntryDepthSlot, 176);
  EXPECT_EQ(ctx_offset::kTrapKind, 92);
  EXPECT_EQ(ctx_offset::kTrapped, 93);
  EXPECT_EQ(static_cast<int>(TrapKind::memory_out_of_bounds), 1);
  EXPECT_EQ(static_cast<int>(TrapKind::call_stack_exhausted), 9);
  EXPECT_EQ(static_cast<int>(TrapKind::out_of_fuel), 10);
}

}  // namespace
}  // namespace tollgate::jit::a64
