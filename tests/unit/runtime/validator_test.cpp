// Validation rules (assert_invalid cases) and the shape of the lowered IR (runtime/ir.hpp).
// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "runtime/module.hpp"
#include "tests/utils/wat.hpp"

namespace tollgate::runtime {
namespace {

using ir::Op;
using test::from_hex;
using test::load_wat;

/// wat2wasm --no-check: assembles modules that are well-formed but invalid, so the validator
/// (not wabt's) has to reject them.
std::vector<uint8_t> unchecked_wasm(std::string_view wat) {
  char dir_template[] = "/tmp/tollgate-val-XXXXXX";
  const char* dir = mkdtemp(dir_template);
  if (dir == nullptr)
    return {};
  const std::string in = std::string(dir) + "/m.wat";
  const std::string out = std::string(dir) + "/m.wasm";
  std::ofstream(in) << wat;
  const std::string cmd =
      std::string(TG_WAT2WASM) + " --no-check " + in + " -o " + out + " 2>/dev/null";
  std::vector<uint8_t> bytes;
  if (std::system(cmd.c_str()) == 0) {
    std::ifstream f(out, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f), {});
  } else {
    ADD_FAILURE() << "wat2wasm --no-check rejected:\n" << wat;
  }
  std::remove(in.c_str());
  std::remove(out.c_str());
  rmdir(dir);
  return bytes;
}

void expect_invalid(std::string_view wat) {
  const auto bytes = unchecked_wasm(wat);
  ASSERT_FALSE(bytes.empty());
  auto r = decode_module(bytes);
  ASSERT_FALSE(r.ok()) << "accepted:\n" << wat;
  EXPECT_EQ(r.error().kind, ErrorKind::invalid) << r.error().message << "\n" << wat;
  EXPECT_GT(r.error().offset, 8u);
}

void expect_valid(std::string_view wat) {
  const auto bytes = unchecked_wasm(wat);
  auto r = decode_module(bytes);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message) << "\n" << wat;
}

TEST(Validator, TypeMismatches) {
  expect_invalid("(module (func (result i32) (i64.const 0)))");
  expect_invalid("(module (func (i32.add (i32.const 0) (f32.const 0)) drop))");
  expect_invalid("(module (func (result i32)))");
  expect_invalid("(module (func (i32.const 0)))");  // value left on the stack
  expect_invalid("(module (func (block (result i32) (nop)) drop))");
  expect_invalid(
      "(module (func (param i32) (if (result i32) (local.get 0) (then (i32.const 1))) drop))");
  expect_invalid("(module (func (result i32) (br_if 0 (f32.const 1) (i32.const 1))))");
  expect_invalid("(module (func (local.set 0 (i32.const 0))))");  // unknown local
  expect_invalid(
      "(module (func (block (result i32) (block (result i64) (br_table 0 1 (i64.const 0) "
      "(i32.const 0))) drop "
      "(i32.const 0)) drop))");
  expect_invalid("(module (func (select (i32.const 0) (i64.const 0) (i32.const 1)) drop))");
  expect_invalid(
      "(module (func (param funcref) (select (local.get 0) (local.get 0) (i32.const 1)) drop))");
  expect_invalid("(module (func (ref.is_null (i32.const 0)) drop))");
}

TEST(Validator, PolymorphicStackAfterUnreachable) {
  expect_valid("(module (func (result i32) unreachable))");
  expect_valid("(module (func (result i32) unreachable i32.add))");
  expect_valid(
      "(module (func (result i64) (block (result f32) (br 1 (i64.const 1))) drop (i64.const 0)))");
  expect_valid("(module (func unreachable select drop))");
  expect_valid("(module (func (result i32) (return (i32.const 1)) (i32.add)))");
  // Still typed after unreachable: a known wrong type is an error.
  expect_invalid("(module (func (result i32) unreachable (i64.const 0)))");
  expect_invalid("(module (func unreachable (i32.add (f32.const 0)) drop))");
}

TEST(Validator, UnknownIndices) {
  expect_invalid("(module (func (call 3)))");
  expect_invalid("(module (func (global.get 0) drop))");
  expect_invalid("(module (func (br 1)))");
  expect_invalid("(module (func (i32.load (i32.const 0)) drop))");  // no memory
  expect_invalid("(module (func (memory.size) drop))");
  expect_invalid("(module (func (table.get 0 (i32.const 0)) drop))");
  expect_invalid(
      "(module (type (func)) (table 1 funcref) (func (call_indirect (type 5) (i32.const 0))))");
  expect_invalid("(module (func (elem.drop 0)))");
  expect_invalid("(module (export \"f\" (func 0)))");
  expect_invalid("(module (start 0))");
}

TEST(Validator, MemoryAndTableLimits) {
  expect_valid("(module (memory 65536))");
  expect_invalid("(module (memory 65537))");
  expect_invalid("(module (memory 0 65537))");
  expect_invalid("(module (memory 2 1))");
  expect_invalid("(module (memory 1) (memory 1))");
  expect_invalid("(module (import \"a\" \"b\" (memory 1)) (memory 1))");
  expect_invalid("(module (table 2 1 funcref))");
  expect_valid("(module (table 0 4294967295 funcref))");
}

TEST(Validator, Alignment) {
  expect_valid("(module (memory 1) (func (i64.load align=8 (i32.const 0)) drop))");
  expect_invalid("(module (memory 1) (func (i64.load align=16 (i32.const 0)) drop))");
  expect_invalid("(module (memory 1) (func (i32.load8_u align=2 (i32.const 0)) drop))");
  expect_invalid("(module (memory 1) (func (v128.load32_splat align=8 (i32.const 0)) drop))");
  expect_valid("(module (memory 1) (func (v128.load align=16 (i32.const 0)) drop))");
}

TEST(Validator, ExportsAndStart) {
  expect_invalid("(module (func) (export \"a\" (func 0)) (export \"a\" (func 0)))");
  expect_valid(
      "(module (func) (global i32 (i32.const 0)) (export \"a\" (func 0)) (export \"b\" (global "
      "0)))");
  expect_invalid("(module (func (param i32)) (start 0))");
  expect_invalid("(module (func (result i32) (i32.const 0)) (start 0))");
  auto m = load_wat("(module (func) (start 0))");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->start, 0u);
}

TEST(Validator, ConstantExpressions) {
  // global.get may only name an imported, immutable global.
  expect_valid("(module (import \"a\" \"g\" (global i32)) (global i32 (global.get 0)))");
  expect_invalid("(module (global i32 (i32.const 0)) (global i32 (global.get 0)))");
  expect_invalid("(module (import \"a\" \"g\" (global (mut i32))) (global i32 (global.get 0)))");
  expect_invalid("(module (global i32 (i32.add (i32.const 0) (i32.const 1))))");
  expect_invalid("(module (global i32 (i64.const 0)))");
  expect_invalid("(module (memory 1) (global i32 (i32.const 0)) (data (global.get 0) \"\"))");
  expect_invalid("(module (global funcref (ref.func 3)))");
  expect_invalid("(module (table 1 funcref) (elem (i64.const 0) func))");
  expect_invalid("(module (table 1 externref) (func) (elem (i32.const 0) func 0))");
}

TEST(Validator, RefFuncMustBeDeclared) {
  expect_invalid("(module (func $f (ref.func $f) drop))");
  // Declared by an element segment (declarative or not), an export, or a global initialiser.
  expect_valid("(module (func $f (ref.func $f) drop) (elem declare func $f))");
  expect_valid("(module (func $f (ref.func $f) drop) (export \"f\" (func $f)))");
  expect_valid("(module (func $f (ref.func $f) drop) (global funcref (ref.func $f)))");
  expect_valid("(module (table 1 funcref) (func $f (ref.func $f) drop) (elem (i32.const 0) $f))");
}

TEST(Validator, TableAndBulkRules) {
  expect_invalid(
      "(module (table 1 externref) (type (func)) (func (call_indirect (type 0) (i32.const 0))))");
  expect_invalid(
      "(module (table 1 funcref) (table 1 externref) (func (table.copy 0 1 (i32.const 0) "
      "(i32.const 0) "
      "(i32.const 0))))");
  expect_invalid(
      "(module (table 1 externref) (func $f) (elem func $f) (func (table.init 0 0 (i32.const 0) "
      "(i32.const 0) (i32.const 0))))");
  expect_invalid("(module (memory 1) (func (data.drop 0)))");  // unknown data segment
  expect_invalid("(module (global i32 (i32.const 0)) (func (global.set 0 (i32.const 1))))");
  expect_invalid(
      "(module (func (select (result i32 i32) (i32.const 0) (i32.const 0) (i32.const 0)) drop))");
}

TEST(Validator, SimdRules) {
  expect_invalid("(module (func (i8x16.extract_lane_s 16 (v128.const i64x2 0 0)) drop))");
  expect_invalid(
      "(module (func (f64x2.replace_lane 2 (v128.const i64x2 0 0) (f64.const 0)) drop))");
  expect_invalid("(module (func (i32x4.add (v128.const i64x2 0 0) (i32.const 0)) drop))");
  expect_valid("(module (func (i8x16.extract_lane_s 15 (v128.const i64x2 0 0)) drop))");
  // i8x16.shuffle lanes index 32 lanes; hand-made since text formats refuse the bad lane.
  const std::string shuffle =
      "0061736d 01000000 01 04 01 60 00 00 03 02 01 00 0a 3b 01 39 00"
      " fd 0c 00000000000000000000000000000000"
      " fd 0c 00000000000000000000000000000000"
      " fd 0d 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 20 1a 0b";
  auto r = decode_module(from_hex(shuffle));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::invalid) << r.error().message;
}

TEST(Validator, IfWithoutElseMustPassParamsThrough) {
  expect_valid(
      "(module (func (param i32) (result i32) (i32.const 1) (local.get 0) (if (param i32) (result "
      "i32) (then))))");
  expect_invalid(
      "(module (func (param i32) (result i64) (i32.const 1) (local.get 0) (if (param i32) (result "
      "i64) (then (drop) (i64.const 0)))))");
}

// ---- IR shape (runtime/ir.hpp) ----

const ir::FuncCode& only_code(const std::shared_ptr<const Module>& m) {
  EXPECT_EQ(m->codes.size(), 1u);
  return m->codes.front();
}

std::vector<Op> ops(const ir::FuncCode& c) {
  std::vector<Op> out;
  for (const ir::Instr& i : c.code)
    out.push_back(i.op);
  return out;
}

TEST(ValidatorIr, EmptyFunctionIsPollThenReturn) {
  auto m = load_wat("(module (func))");
  ASSERT_TRUE(m);
  const auto& c = only_code(m);
  EXPECT_EQ(ops(c), (std::vector<Op>{Op::fuel_poll, Op::return_}));
  EXPECT_EQ(c.code[0].a, 0u);
  EXPECT_EQ(c.code[1].a, 0u);
  EXPECT_EQ(c.max_stack_slots, 0u);
}

TEST(ValidatorIr, StraightLineBlockCostAndNoStructure) {
  // block/nop/end emit nothing and cost nothing; 3 real instructions cost 3.
  auto m = load_wat(R"((module (func (param i32) (result i32)
      (block (nop) (nop)) (i32.add (local.get 0) (i32.const 2)))))");
  ASSERT_TRUE(m);
  const auto& c = only_code(m);
  EXPECT_EQ(ops(c), (std::vector<Op>{Op::fuel_poll, Op::local_get, Op::i32_const, Op::i32_add,
                                     Op::return_}));
  EXPECT_EQ(c.code[0].a, 3u);
  EXPECT_EQ(c.code[1].a, 0u);  // slot of param 0
  EXPECT_EQ(c.code[1].aux, static_cast<uint16_t>(ValType::i32));
  EXPECT_EQ(c.code[2].b, 2u);
  EXPECT_EQ(c.code[4].a, 1u);  // one result slot
  EXPECT_EQ(c.max_stack_slots, 2u);
  EXPECT_EQ(c.param_slots, 1u);
  EXPECT_EQ(c.local_slots, 1u);
  EXPECT_EQ(c.result_slots, 1u);
}

TEST(ValidatorIr, LoopStartsWithFuelPollCarryingItsCost) {
  auto m = load_wat(R"((module (func (param i32)
      (i32.const 0) drop
      (loop $l
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (br_if $l (local.get 0))))))");
  ASSERT_TRUE(m);
  const auto& c = only_code(m);
  EXPECT_EQ(ops(c), (std::vector<Op>{Op::fuel_poll, Op::i32_const, Op::drop, Op::fuel_poll,
                                     Op::local_get, Op::i32_const, Op::i32_sub, Op::local_set,
                                     Op::local_get, Op::br_if, Op::fuel, Op::return_}));
  EXPECT_EQ(c.code[0].a, 2u);    // i32.const, drop (loop costs 0)
  EXPECT_EQ(c.code[3].a, 6u);    // 5 instructions + br_if
  EXPECT_EQ(c.code[3].aux, 1u);  // a back-edge lands here
  EXPECT_EQ(c.code[9].a, 3u);    // br_if goes back to the poll
  EXPECT_EQ(c.code[10].a, 0u);   // the fall-through block holds only the end
  EXPECT_EQ(c.code[10].aux, 0u);
}

TEST(ValidatorIr, BranchDroppingValuesBecomesBrDrop) {
  // At `br 1` the stack holds [i64 (outer block's operand), i32, i32]; the outer block yields
  // one i32, so keep 1 slot and drop 2 (the inner i32 and the i64).
  auto m = load_wat(R"((module (func (result i32)
      (block $out (result i32)
        (i64.const 9)
        (block (result i32)
          (i32.const 1) (i32.const 2) (br $out))
        drop drop (i32.const 0)))))");
  ASSERT_TRUE(m);
  const auto& c = only_code(m);
  EXPECT_EQ(ops(c), (std::vector<Op>{Op::fuel_poll, Op::i64_const, Op::i32_const, Op::i32_const,
                                     Op::br_drop, Op::fuel, Op::return_}));
  const ir::Instr& br = c.code[4];
  EXPECT_EQ(br.keep(), 1u);
  EXPECT_EQ(br.drop(), 2u);
  EXPECT_EQ(br.a, 5u);
  EXPECT_EQ(c.code[5].aux, 1u);  // a branch target
  EXPECT_EQ(c.code[0].a, 4u);    // 3 consts + br; the dead drop/drop/const are not charged
  EXPECT_EQ(c.max_stack_slots, 3u);
}

TEST(ValidatorIr, V128OperandsCountTwoSlots) {
  auto m = load_wat(R"((module (func (param v128 i32) (result v128)
      (block (result v128)
        (local.get 0) (local.get 0) (br_if 0 (local.get 1))
        drop))))");
  ASSERT_TRUE(m);
  const auto& c = only_code(m);
  EXPECT_EQ(ops(c),
            (std::vector<Op>{Op::fuel_poll, Op::local_get_v128, Op::local_get_v128, Op::local_get,
                             Op::br_if_drop, Op::fuel, Op::drop_v128, Op::fuel, Op::return_}));
  EXPECT_EQ(c.code[3].a, 2u);  // param 1 sits after the two slots of param 0
  EXPECT_EQ(c.code[4].keep(), 2u);
  EXPECT_EQ(c.code[4].drop(), 2u);
  EXPECT_EQ(c.code[4].a, 7u);
  EXPECT_EQ(c.local_offsets, (std::vector<uint32_t>{0, 2}));
  EXPECT_EQ(c.param_slots, 3u);
  EXPECT_EQ(c.result_slots, 2u);
  EXPECT_EQ(c.max_stack_slots, 5u);
}

TEST(ValidatorIr, UnreachableCodeEmitsNothing) {
  auto m = load_wat(R"((module (func (result i32)
      (return (i32.const 7))
      (i32.const 1) (i32.const 2) i32.add)))");
  ASSERT_TRUE(m);
  const auto& c = only_code(m);
  EXPECT_EQ(ops(c), (std::vector<Op>{Op::fuel_poll, Op::i32_const, Op::return_}));
  EXPECT_EQ(c.code[0].a, 2u);
  auto m2 = load_wat("(module (func unreachable (loop (br 0)) (block (br_if 0 (i32.const 1)))))");
  ASSERT_TRUE(m2);
  EXPECT_EQ(ops(only_code(m2)), (std::vector<Op>{Op::fuel_poll, Op::unreachable}));
}

TEST(ValidatorIr, IfElseLowersToBrUnlessAndBr) {
  auto m = load_wat(R"((module (func (param i32) (result i32)
      (if (result i32) (local.get 0)
        (then (i32.const 1))
        (else (i32.const 2) (i32.const 3) i32.add)))))");
  ASSERT_TRUE(m);
  const auto& c = only_code(m);
  EXPECT_EQ(ops(c), (std::vector<Op>{Op::fuel_poll, Op::local_get, Op::br_unless, Op::fuel,
                                     Op::i32_const, Op::br, Op::fuel, Op::i32_const, Op::i32_const,
                                     Op::i32_add, Op::fuel, Op::return_}));
  EXPECT_EQ(c.code[0].a, 2u);  // local.get + if
  EXPECT_EQ(c.code[2].a, 6u);  // to the else arm
  EXPECT_EQ(c.code[3].a, 1u);
  EXPECT_EQ(c.code[3].aux, 0u);
  EXPECT_EQ(c.code[5].a, 10u);  // then arm jumps over the else arm
  EXPECT_EQ(c.code[6].a, 3u);
  EXPECT_EQ(c.code[6].aux, 1u);
  EXPECT_EQ(c.code[10].aux, 1u);
  // Without else the br_unless goes to the end.
  auto m2 =
      load_wat("(module (func (param i32) (if (local.get 0) (then (nop) (i32.const 1) drop))))");
  ASSERT_TRUE(m2);
  const auto& c2 = only_code(m2);
  EXPECT_EQ(ops(c2), (std::vector<Op>{Op::fuel_poll, Op::local_get, Op::br_unless, Op::fuel,
                                      Op::i32_const, Op::drop, Op::fuel, Op::return_}));
  EXPECT_EQ(c2.code[2].a, 6u);
  EXPECT_EQ(c2.code[3].a, 2u);
}

TEST(ValidatorIr, BrTableTargets) {
  auto m = load_wat(R"((module (func (param i32) (result i32)
      (block $b (result i32)
        (i32.const 5)
        (block $a (result i32)
          (i32.const 9)
          (br_table $a $b $a (i32.const 7) (local.get 0)))
        i32.add))))");
  ASSERT_TRUE(m);
  const auto& c = only_code(m);
  EXPECT_EQ(ops(c), (std::vector<Op>{Op::fuel_poll, Op::i32_const, Op::i32_const, Op::i32_const,
                                     Op::local_get, Op::br_table, Op::fuel, Op::i32_add, Op::fuel,
                                     Op::return_}));
  const ir::Instr& bt = c.code[5];
  EXPECT_EQ(bt.a, 0u);
  EXPECT_EQ(bt.b, 2u);  // two labels plus the default
  ASSERT_EQ(c.br_targets.size(), 3u);
  // The stack is [5, 9, 7]; $a's base holds the 5: keep the 7, drop the 9.
  EXPECT_EQ(c.br_targets[0].pc, 6u);
  EXPECT_EQ(c.br_targets[0].keep, 1u);
  EXPECT_EQ(c.br_targets[0].drop, 1u);
  // $b keeps the 7 and drops 9 and 5.
  EXPECT_EQ(c.br_targets[1].pc, 8u);
  EXPECT_EQ(c.br_targets[1].keep, 1u);
  EXPECT_EQ(c.br_targets[1].drop, 2u);
  EXPECT_EQ(c.br_targets[2].pc, 6u);
  EXPECT_EQ(c.br_targets[2].drop, 1u);
  EXPECT_EQ(c.code[0].a, 5u);  // 4 instructions + br_table
  EXPECT_EQ(c.code[6].a, 1u);
  EXPECT_EQ(c.code[6].aux, 1u);
}

TEST(ValidatorIr, BranchToFunctionLabel) {
  // br to the outermost label is a return; br_if goes to the final return_.
  auto m = load_wat(R"((module (func (param i32) (result i32)
      (br_if 0 (i32.const 3) (local.get 0)) drop
      (br 0 (i32.const 4)))))");
  ASSERT_TRUE(m);
  const auto& c = only_code(m);
  EXPECT_EQ(ops(c),
            (std::vector<Op>{Op::fuel_poll, Op::i32_const, Op::local_get, Op::br_if, Op::fuel,
                             Op::drop, Op::i32_const, Op::return_, Op::fuel, Op::return_}));
  EXPECT_EQ(c.code[3].a, 8u);
  EXPECT_EQ(c.code[7].a, 1u);
  EXPECT_EQ(c.code[8].aux, 1u);
}

TEST(ValidatorIr, ImmediatesOfMemoryGlobalsAndConstants) {
  auto m = load_wat(R"((module (memory 1) (global $g (mut f64) (f64.const 0))
      (func (result f32)
        (i64.store16 offset=12 align=1 (i32.const 0) (i64.const -1))
        (global.set $g (f64.const 1))
        (f32.load offset=3 (i32.const 0)))))");
  ASSERT_TRUE(m);
  const auto& c = only_code(m);
  ASSERT_GE(c.code.size(), 9u);
  EXPECT_EQ(c.code[2].op, Op::i64_const);
  EXPECT_EQ(c.code[2].b, ~uint64_t{0});
  EXPECT_EQ(c.code[3].op, Op::i64_store16);
  EXPECT_EQ(c.code[3].a, 12u);
  EXPECT_EQ(c.code[3].aux, 0u);  // align=1 is 2^0
  EXPECT_EQ(c.code[4].op, Op::f64_const);
  EXPECT_EQ(c.code[4].b, 0x3FF0000000000000ull);
  EXPECT_EQ(c.code[5].op, Op::global_set);
  EXPECT_EQ(c.code[5].a, 0u);
  EXPECT_EQ(c.code[5].aux, static_cast<uint16_t>(ValType::f64));
  EXPECT_EQ(c.code[7].op, Op::f32_load);
  EXPECT_EQ(c.code[7].a, 3u);
  EXPECT_EQ(c.code[7].aux, 2u);  // natural alignment by default
}

TEST(ValidatorIr, CallsAndReferences) {
  auto m = load_wat(R"((module (type $t (func (param i32) (result i32)))
      (table 1 funcref) (elem declare func 0)
      (func (type $t) (call_indirect (type $t) (local.get 0) (i32.const 0)))
      (func (result funcref) (call 0 (i32.const 1)) drop (ref.null func) drop (ref.func 0))))");
  ASSERT_TRUE(m);
  const auto& c0 = m->codes[0];
  EXPECT_EQ(c0.code[3].op, Op::call_indirect);
  EXPECT_EQ(c0.code[3].a, 0u);
  EXPECT_EQ(c0.code[3].b, 0u);
  const auto& c1 = m->codes[1];
  EXPECT_EQ(ops(c1), (std::vector<Op>{Op::fuel_poll, Op::i32_const, Op::call, Op::drop,
                                      Op::ref_null, Op::drop, Op::ref_func, Op::return_}));
  EXPECT_EQ(c1.code[4].aux, static_cast<uint16_t>(ValType::funcref));
  EXPECT_EQ(c1.code[0].a, 6u);  // calls do not end a block
}

}  // namespace
}  // namespace tollgate::runtime
