// The JIT tier against the interpreter: same results, same traps, same fuel left, per op class.
// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "jit/jit.hpp"
#include "runtime/store.hpp"
#include "tests/utils/wat.hpp"

namespace tollgate::jit {
namespace {

using runtime::CallOptions;
using runtime::CallResult;
using runtime::Instance;
using runtime::Store;
using runtime::TrapKind;
using runtime::Value;

// One module instantiated twice: once run by the interpreter, once by the JIT.
struct BothTiers {
  std::shared_ptr<const runtime::Module> module;
  std::shared_ptr<const CompiledModule> code;
  std::optional<runtime::Error> refused;
  Store interp_store, jit_store;
  Instance* interp = nullptr;
  Instance* jit = nullptr;

  explicit BothTiers(std::string_view wat, CompileOptions options = {}) {
    module = test::load_wat(wat);
    if (!module)
      return;
    auto compiled = compile_module(*module, options);
    if (compiled.ok())
      code = *compiled;
    else
      refused = compiled.error();
    auto a = runtime::instantiate(interp_store, module, {});
    auto b = runtime::instantiate(jit_store, module, {});
    EXPECT_TRUE(a.ok() && b.ok());
    if (a.ok() && b.ok()) {
      interp = *a;
      jit = *b;
    }
  }

  CallResult run_interp(std::string_view name,
                        const std::vector<Value>& args,
                        const CallOptions& o) {
    return runtime::call(interp_store, *interp->exported_function(name), args, o);
  }
  CallResult run_jit(std::string_view name, const std::vector<Value>& args, const CallOptions& o) {
    return invoke(*code, jit_store, *jit->exported_function(name), args, o);
  }

  /// Runs `name` on both tiers and checks they agree bit for bit; returns the JIT's result.
  CallResult same(std::string_view name,
                  std::vector<Value> args,
                  std::optional<uint64_t> fuel = std::nullopt) {
    CallOptions o;
    o.fuel = fuel;
    EXPECT_TRUE(code != nullptr) << "refused: " << (refused ? refused->message : "");
    if (code == nullptr || interp == nullptr)
      return {};
    const CallResult want = run_interp(name, args, o);
    const CallResult got = run_jit(name, args, o);
    EXPECT_EQ(want.trap.has_value(), got.trap.has_value()) << name;
    if (want.trap && got.trap) {
      EXPECT_EQ(want.trap->kind, got.trap->kind)
          << name << ": " << want.trap->message() << " vs " << got.trap->message();
    }
    EXPECT_EQ(want.fuel_left, got.fuel_left) << name;
    EXPECT_EQ(want.values.size(), got.values.size()) << name;
    for (size_t i = 0; i < want.values.size() && i < got.values.size(); ++i) {
      EXPECT_EQ(want.values[i].type, got.values[i].type) << name;
      EXPECT_EQ(want.values[i].i64 & mask(want.values[i].type),
                got.values[i].i64 & mask(got.values[i].type))
          << name << " result " << i << ": " << runtime::to_string(want.values[i]) << " vs "
          << runtime::to_string(got.values[i]);
    }
    return got;
  }
  static uint64_t mask(runtime::ValType t) {
    return t == runtime::ValType::i32 || t == runtime::ValType::f32 ? 0xFFFFFFFFull : ~0ull;
  }
};

Value i32(uint32_t v) {
  return Value::make_i32(v);
}
Value i64(uint64_t v) {
  return Value::make_i64(v);
}
Value f32(float v) {
  return Value::make_f32(v);
}
Value f64(double v) {
  return Value::make_f64(v);
}

TEST(jit, available_on_this_host) {
  EXPECT_TRUE(available());
}

TEST(jit, integer_arithmetic) {
  BothTiers t(R"((module
    (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
    (func (export "addk") (param i32) (result i32) (i32.add (local.get 0) (i32.const 7)))
    (func (export "sub64") (param i64 i64) (result i64) (i64.sub (local.get 0) (local.get 1)))
    (func (export "mul") (param i32 i32) (result i32) (i32.mul (local.get 0) (local.get 1)))
    (func (export "shl") (param i32 i32) (result i32) (i32.shl (local.get 0) (local.get 1)))
    (func (export "shr_s64") (param i64 i64) (result i64) (i64.shr_s (local.get 0) (local.get 1)))
    (func (export "rotr") (param i32 i32) (result i32) (i32.rotr (local.get 0) (local.get 1)))
    (func (export "rotl64k") (param i64) (result i64) (i64.rotl (local.get 0) (i64.const 13)))
    (func (export "div_s") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
    (func (export "div_u64") (param i64 i64) (result i64) (i64.div_u (local.get 0) (local.get 1)))
    (func (export "rem_s") (param i32 i32) (result i32) (i32.rem_s (local.get 0) (local.get 1)))
    (func (export "rem_s64") (param i64 i64) (result i64) (i64.rem_s (local.get 0) (local.get 1)))
    (func (export "clz") (param i32) (result i32) (i32.clz (local.get 0)))
    (func (export "ctz64") (param i64) (result i64) (i64.ctz (local.get 0)))
    (func (export "popcnt") (param i32) (result i32) (i32.popcnt (local.get 0)))
    (func (export "ext8") (param i32) (result i32) (i32.extend8_s (local.get 0)))
    (func (export "ext32") (param i64) (result i64) (i64.extend32_s (local.get 0)))
    (func (export "lt_u") (param i32 i32) (result i32) (i32.lt_u (local.get 0) (local.get 1)))
    (func (export "ge_s64") (param i64 i64) (result i32) (i64.ge_s (local.get 0) (local.get 1)))
    (func (export "eqz64") (param i64) (result i32) (i64.eqz (local.get 0)))
    (func (export "big") (param i64) (result i64) (i64.and (local.get 0) (i64.const 0x123456789)))
    (func (export "wrap") (param i64) (result i32) (i32.wrap_i64 (local.get 0)))
    (func (export "ext_u") (param i32) (result i64) (i64.extend_i32_u (local.get 0)))
    (func (export "ext_s") (param i32) (result i64) (i64.extend_i32_s (local.get 0)))
  ))");
  t.same("add", {i32(0xFFFFFFFF), i32(2)});
  t.same("addk", {i32(5)});
  t.same("sub64", {i64(1), i64(3)});
  t.same("mul", {i32(0x10001), i32(0x10001)});
  t.same("shl", {i32(1), i32(33)});
  t.same("shr_s64", {i64(0x8000000000000000ull), i64(65)});
  t.same("rotr", {i32(0x80000001), i32(1)});
  t.same("rotl64k", {i64(0x8000000000000001ull)});
  t.same("div_s", {i32(static_cast<uint32_t>(-7)), i32(2)});
  t.same("div_s", {i32(0x80000000), i32(0xFFFFFFFF)});
  t.same("div_s", {i32(1), i32(0)});
  t.same("div_u64", {i64(~0ull), i64(3)});
  t.same("div_u64", {i64(1), i64(0)});
  t.same("rem_s", {i32(0x80000000), i32(0xFFFFFFFF)});
  t.same("rem_s", {i32(static_cast<uint32_t>(-7)), i32(2)});
  t.same("rem_s64", {i64(0x8000000000000000ull), i64(~0ull)});
  t.same("clz", {i32(0)});
  t.same("clz", {i32(0x00F00000)});
  t.same("ctz64", {i64(0)});
  t.same("ctz64", {i64(0x100000000ull)});
  t.same("popcnt", {i32(0xF0F0F0F1)});
  t.same("ext8", {i32(0x80)});
  t.same("ext32", {i64(0x80000000ull)});
  t.same("lt_u", {i32(1), i32(0xFFFFFFFF)});
  t.same("ge_s64", {i64(~0ull), i64(0)});
  t.same("eqz64", {i64(0x100000000ull)});
  t.same("big", {i64(~0ull)});
  t.same("wrap", {i64(0x1234567887654321ull)});
  t.same("ext_u", {i32(0x80000000)});
  t.same("ext_s", {i32(0x80000000)});
}

TEST(jit, control_flow_and_fuel) {
  BothTiers t(R"((module
    (func $fac (export "fac") (param i64) (result i64)
      (if (result i64) (i64.eqz (local.get 0)) (then (i64.const 1))
        (else (i64.mul (local.get 0) (call $fac (i64.sub (local.get 0) (i64.const 1)))))))
    (func (export "sum") (param $n i32) (result i32) (local $s i32)
      (block $done (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $s (i32.add (local.get $s) (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
      (local.get $s))
    (func (export "switch") (param i32) (result i32)
      (block $d (block $c (block $b (block $a
        (br_table $a $b $c $d (local.get 0)))
        (return (i32.const 10)))
        (return (i32.const 11)))
        (return (i32.const 12)))
      (i32.const 13))
    (func (export "table_keep") (param i32) (result i32)
      (block $out (result i32)
        (i32.const 1) (i32.const 2) (drop)
        (br_table $out $out (i32.const 40) (local.get 0))
        (drop)))
    (func (export "brif_value") (param i32) (result i32)
      (block $b (result i32)
        (i32.const 5) (i32.const 6) (drop)
        (br_if $b (i32.const 7) (local.get 0))
        (drop) (drop) (i32.const 8)))
    (func (export "sel") (param i32 i64 i64) (result i64)
      (select (local.get 1) (local.get 2) (local.get 0)))
    (func (export "self") (param f64 f64 i32) (result f64)
      (select (local.get 0) (local.get 1) (local.get 2)))
    (func (export "multi") (param i32) (result i32 i64)
      (local.get 0) (i64.extend_i32_u (i32.add (local.get 0) (i32.const 1))))
    (func (export "callmulti") (result i64) (local i64)
      (call 7 (i32.const 4)) (local.set 0) (i64.extend_i32_u) (local.get 0) (i64.add))
    (func (export "unreachable") (unreachable))
    (func $inf (export "inf") (call $inf))
    (func (export "spin") (loop $l (br $l)))
  ))");
  t.same("fac", {i64(20)});
  t.same("fac", {i64(20)}, 1000);
  t.same("sum", {i32(100)});
  for (uint64_t fuel = 0; fuel < 60; ++fuel)
    t.same("sum", {i32(5)}, fuel);
  for (uint32_t i = 0; i < 6; ++i)
    t.same("switch", {i32(i)});
  t.same("switch", {i32(0xFFFFFFFF)});
  t.same("table_keep", {i32(0)});
  t.same("table_keep", {i32(7)});
  t.same("brif_value", {i32(0)});
  t.same("brif_value", {i32(1)});
  t.same("sel", {i32(0), i64(1), i64(2)});
  t.same("sel", {i32(3), i64(1), i64(2)});
  t.same("self", {f64(1.5), f64(2.5), i32(0)});
  t.same("self", {f64(1.5), f64(2.5), i32(1)});
  t.same("multi", {i32(9)});
  t.same("callmulti", {});
  const CallResult u = t.same("unreachable", {});
  ASSERT_TRUE(u.trap);
  EXPECT_EQ(u.trap->kind, TrapKind::unreachable);
  const CallResult inf = t.same("inf", {});
  ASSERT_TRUE(inf.trap);
  EXPECT_EQ(inf.trap->kind, TrapKind::call_stack_exhausted);
  t.same("inf", {}, 5000);
  const CallResult spin = t.same("spin", {}, 12345);
  ASSERT_TRUE(spin.trap);
  EXPECT_EQ(spin.trap->kind, TrapKind::out_of_fuel);
}

// The call depth limit holds at exactly max_call_depth frames, the exported function being the
// first (x64 enforces it with the native stack pointer, not a counter), with the same fuel left
// as the interpreter, also in calls from a frame deep in the recursion to a helper.
TEST(jit, call_depth_limit_is_exact) {
  BothTiers t(R"((module
    (memory 1)
    (func $down (export "down") (param i32) (result i32)
      (if (result i32) (i32.eqz (local.get 0))
        (then (i32.const 7))
        (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1)))))))
    (func $grow_deep (export "grow_deep") (param i32) (result i32)
      (if (result i32) (i32.eqz (local.get 0))
        (then (memory.grow (i32.const 1)))
        (else (call $grow_deep (i32.sub (local.get 0) (i32.const 1))))))
  ))");
  ASSERT_TRUE(t.jit);
  for (const uint32_t depth : {1u, 2u, 50u, 1000u}) {
    CallOptions o;
    o.max_call_depth = depth;
    o.fuel = 1'000'000;
    for (const uint32_t n : {depth - 1, depth}) {
      const std::vector<Value> args{i32(n)};
      const CallResult want = t.run_interp("down", args, o);
      const CallResult got = t.run_jit("down", args, o);
      // down(n) makes n + 1 frames.
      if (n + 1 <= depth) {
        ASSERT_FALSE(got.trap) << depth << " " << n;
        EXPECT_EQ(got.values.at(0).i32, n + 7);
      } else {
        ASSERT_TRUE(got.trap) << depth << " " << n;
        EXPECT_EQ(got.trap->kind, TrapKind::call_stack_exhausted);
      }
      EXPECT_EQ(want.trap.has_value(), got.trap.has_value()) << depth << " " << n;
      EXPECT_EQ(want.fuel_left, got.fuel_left) << depth << " " << n;
    }
    const CallResult grown = t.run_jit("grow_deep", {i32(depth - 1)}, o);
    ASSERT_FALSE(grown.trap) << depth;
  }
}

TEST(jit, interrupt_flag_stops_a_loop) {
  BothTiers t(R"((module (func (export "spin") (loop $l (br $l)))))");
  ASSERT_TRUE(t.code);
  std::atomic<bool> stop{true};
  CallOptions o;
  o.interrupt = &stop;
  const CallResult r = t.run_jit("spin", {}, o);
  ASSERT_TRUE(r.trap);
  EXPECT_EQ(r.trap->kind, TrapKind::interrupted);
}

class jit_memory : public testing::TestWithParam<BoundsMode> {};
INSTANTIATE_TEST_SUITE_P(bounds,
                         jit_memory,
                         testing::Values(BoundsMode::explicit_checks, BoundsMode::guard_region));

TEST_P(jit_memory, memory_globals_and_bulk) {
  BothTiers t(R"((module
    (memory 1 3)
    (global $g (mut i64) (i64.const 5))
    (global $f (mut f32) (f32.const 1.5))
    (data (i32.const 8) "\01\02\03\04\05\06\07\08\ff\fe")
    (func (export "ld") (param i32) (result i64) (i64.load offset=4 (local.get 0)))
    (func (export "ld8s") (param i32) (result i32) (i32.load8_s (local.get 0)))
    (func (export "ld16u") (param i32) (result i64) (i64.load16_u (local.get 0)))
    (func (export "ld32s") (param i32) (result i64) (i64.load32_s offset=65530 (local.get 0)))
    (func (export "st") (param i32 i64) (result i64)
      (i64.store16 (local.get 0) (local.get 1)) (i64.load (local.get 0)))
    (func (export "stf") (param i32 f64) (result f64)
      (f64.store offset=3 (local.get 0) (local.get 1)) (f64.load offset=3 (local.get 0)))
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "size") (result i32) (memory.size))
    (func (export "glob") (param i64) (result i64)
      (global.set $g (i64.add (global.get $g) (local.get 0))) (global.get $g))
    (func (export "globf") (result f32)
      (global.set $f (f32.mul (global.get $f) (f32.const 3))) (global.get $f))
    (func (export "fill") (param i32 i32 i32) (result i64)
      (memory.fill (local.get 0) (local.get 1) (local.get 2)) (i64.load (i32.const 0)))
    (func (export "copy") (param i32 i32 i32) (result i64)
      (memory.copy (local.get 0) (local.get 1) (local.get 2)) (i64.load (i32.const 0)))
    (func (export "far") (param i32) (result i32) (i32.load offset=0xFFFFFFF0 (local.get 0)))
  ))",
              CompileOptions{GetParam()});
  ASSERT_TRUE(t.jit);
  if (GetParam() == BoundsMode::guard_region) {  // else invoke would fall back to the interpreter
    EXPECT_GE(t.jit->memories[0]->reserved, uint64_t{8} << 30);
  }
  t.same("ld", {i32(4)});
  t.same("ld", {i32(65524)});
  t.same("ld", {i32(65525)});
  t.same("ld", {i32(0xFFFFFFFF)});
  t.same("ld8s", {i32(16)});
  t.same("ld16u", {i32(16)});
  t.same("ld32s", {i32(2)});
  t.same("ld32s", {i32(3)});
  t.same("st", {i32(100), i64(0x123456789)});
  t.same("st", {i32(65535), i64(1)});
  t.same("stf", {i32(20), f64(-2.25)});
  t.same("size", {});
  t.same("grow", {i32(1)}, 1000);
  t.same("grow", {i32(1)}, 10);
  t.same("grow", {i32(5)});
  t.same("size", {});
  t.same("ld", {i32(65525)});
  t.same("glob", {i64(7)});
  t.same("globf", {});
  t.same("fill", {i32(0), i32(0xAB), i32(6)}, 100);
  t.same("fill", {i32(65530), i32(1), i32(1000)}, 100);
  t.same("copy", {i32(0), i32(8), i32(8)});
  t.same("copy", {i32(0), i32(0xFFFF0000), i32(8)});
  t.same("far", {i32(0xFFFFFFFF)});
  t.same("far", {i32(0x20)});
  t.same("ld", {i32(3 * 65536 - 12)});
  t.same("ld", {i32(3 * 65536 - 11)});
}

// local + constant addresses fold into the access (x64: one 32-bit lea): the add still wraps
// like i32.add (https://webassembly.github.io/spec/core/exec/numerics.html#op-iadd) while the
// memarg offset does not
// (https://webassembly.github.io/spec/core/exec/instructions.html#t-mathsf-xref-syntax-instructions-syntax-instr-memory-mathsf-load-xref-syntax-instructions-syntax-memarg-mathit-memarg).
TEST_P(jit_memory, local_plus_constant_addresses) {
  BothTiers t(R"((module
    (memory 1)
    (data (i32.const 0) "\01\02\03\04\05\06\07\08")
    (func (export "ld_add") (param i32) (result i32)
      (i32.load8_u (i32.add (local.get 0) (i32.const 5))))
    (func (export "ld_sub") (param i32) (result i32)
      (i32.load8_u (i32.sub (local.get 0) (i32.const 2))))
    (func (export "st_add") (param i32 i32) (result i32)
      (i32.store8 offset=2 (i32.add (local.get 0) (i32.const -4)) (local.get 1))
      (i32.load8_u (i32.const 4)))
    (func (export "ld_const") (result i32) (i32.load (i32.const 65532)))
    (func (export "ld_const_oob") (result i32) (i32.load (i32.const 65533)))
    (func (export "ld_const_offset") (result i32) (i32.load offset=4 (i32.const 0xFFFFFFFC)))
    (func (export "old_value") (param i32) (result i32)
      (i32.add (i32.add (local.get 0) (i32.const 7))
               (block (result i32) (local.set 0 (i32.const 100)) (i32.const 0))))
    (func (export "ld_wrap") (param i64) (result i32) (i32.load8_u (i32.wrap_i64 (local.get 0))))
    (func (export "ld_sum") (param i32 i32) (result i32)
      (i32.load8_u (i32.add (local.get 0) (local.get 1))))
    (func (export "sum_bytes") (param i32) (result i32) (local i32)
      (block $done (loop $next
        (br_if $done (i32.eqz (local.get 0)))
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (local.set 1 (i32.add (local.get 1) (i32.load8_u (i32.add (local.get 0) (i32.const 0)))))
        (br $next)))
      (local.get 1))
  ))",
              CompileOptions{GetParam()});
  ASSERT_TRUE(t.jit);
  auto trap_of = [](const CallResult& r) {
    return r.trap ? std::optional<TrapKind>(r.trap->kind) : std::nullopt;
  };
  // 0xFFFFFFFE + 5 wraps to 3: the fourth data byte.
  EXPECT_EQ(t.same("ld_add", {i32(0xFFFFFFFE)}).values.at(0).i32, 4u);
  EXPECT_EQ(t.same("ld_add", {i32(2)}).values.at(0).i32, 8u);
  EXPECT_EQ(trap_of(t.same("ld_add", {i32(65531)})), TrapKind::memory_out_of_bounds);
  // 1 - 2 wraps to 0xFFFFFFFF: out of bounds.
  EXPECT_EQ(trap_of(t.same("ld_sub", {i32(1)})), TrapKind::memory_out_of_bounds);
  EXPECT_EQ(t.same("ld_sub", {i32(2)}).values.at(0).i32, 1u);
  // 2 - 4 wraps to 0xFFFFFFFE, plus offset 2 is 2^32: out of bounds (the offset does not wrap).
  EXPECT_EQ(trap_of(t.same("st_add", {i32(2), i32(9)})), TrapKind::memory_out_of_bounds);
  EXPECT_EQ(t.same("st_add", {i32(6), i32(9)}).values.at(0).i32, 9u);
  EXPECT_EQ(t.same("ld_const", {}).values.at(0).i32, 0u);
  EXPECT_EQ(trap_of(t.same("ld_const_oob", {})), TrapKind::memory_out_of_bounds);
  EXPECT_EQ(trap_of(t.same("ld_const_offset", {})), TrapKind::memory_out_of_bounds);
  // An i32 address made from a 64-bit value or by a wrapping register add: only its low 32
  // bits count (x64 uses such registers as 64-bit indexes).
  EXPECT_EQ(t.same("ld_wrap", {i64(0xFFFFFFFF00000003)}).values.at(0).i32, 4u);
  EXPECT_EQ(t.same("ld_sum", {i32(0xFFFFFFFF), i32(4)}).values.at(0).i32, 4u);
  EXPECT_EQ(trap_of(t.same("ld_sum", {i32(0xFFFFFFFF), i32(0)})), TrapKind::memory_out_of_bounds);
  // The sum is taken before the block overwrites the local.
  EXPECT_EQ(t.same("old_value", {i32(5)}).values.at(0).i32, 12u);
  // 1 + 2 + ... + 8, with st_add having replaced byte 4 (5) by 9.
  EXPECT_EQ(t.same("sum_bytes", {i32(8)}, 10000).values.at(0).i32, 40u);
}

// Constant divisors skip the checks they cannot fail and unsigned powers of two become shifts
// and masks; constant values are stored as immediates. Expected values per
// https://webassembly.github.io/spec/core/exec/numerics.html (idiv/irem truncate toward zero).
TEST_P(jit_memory, constant_divisors_and_stored_constants) {
  BothTiers t(R"((module
    (memory 1)
    (func (export "div_s7") (param i32) (result i32) (i32.div_s (local.get 0) (i32.const 7)))
    (func (export "rem_s7") (param i32) (result i32) (i32.rem_s (local.get 0) (i32.const -7)))
    (func (export "div_s_m1") (param i32) (result i32) (i32.div_s (local.get 0) (i32.const -1)))
    (func (export "rem_s_m1") (param i64) (result i64) (i64.rem_s (local.get 0) (i64.const -1)))
    (func (export "div_0") (param i32) (result i32) (i32.div_u (local.get 0) (i32.const 0)))
    (func (export "div_u8") (param i32) (result i32) (i32.div_u (local.get 0) (i32.const 8)))
    (func (export "rem_u16") (param i64) (result i64) (i64.rem_u (local.get 0) (i64.const 16)))
    (func (export "div_u_big") (param i32) (result i32)
      (i32.div_u (local.get 0) (i32.const 0x80000000)))
    (func (export "store_consts") (param i32) (result i64)
      (i32.store8 (local.get 0) (i32.const 0x1ff))
      (i32.store16 offset=1 (local.get 0) (i32.const 0xabcd))
      (f32.store offset=3 (local.get 0) (f32.const -1))
      (i64.load (local.get 0)))
    (func (export "store_big") (param i32) (result i64)
      (i64.store (i32.add (local.get 0) (i32.const 8)) (i64.const 0x123456789abcdef0))
      (f64.store (i32.const 16) (f64.const 0.5))
      (i64.add (i64.load offset=8 (local.get 0)) (i64.load (i32.const 16))))
  ))",
              CompileOptions{GetParam()});
  ASSERT_TRUE(t.jit);
  auto trap_of = [](const CallResult& r) {
    return r.trap ? std::optional<TrapKind>(r.trap->kind) : std::nullopt;
  };
  EXPECT_EQ(t.same("div_s7", {i32(static_cast<uint32_t>(-20))}).values.at(0).i32,
            static_cast<uint32_t>(-2));
  EXPECT_EQ(t.same("rem_s7", {i32(static_cast<uint32_t>(-20))}).values.at(0).i32,
            static_cast<uint32_t>(-6));
  EXPECT_EQ(trap_of(t.same("div_s_m1", {i32(0x80000000)})), TrapKind::integer_overflow);
  EXPECT_EQ(t.same("div_s_m1", {i32(5)}).values.at(0).i32, static_cast<uint32_t>(-5));
  EXPECT_EQ(t.same("rem_s_m1", {i64(0x8000000000000000)}).values.at(0).i64, 0u);
  EXPECT_EQ(trap_of(t.same("div_0", {i32(1)})), TrapKind::integer_divide_by_zero);
  EXPECT_EQ(t.same("div_u8", {i32(0xFFFFFFFF)}).values.at(0).i32, 0x1FFFFFFFu);
  EXPECT_EQ(t.same("rem_u16", {i64(0xFFFFFFFFFFFFFFF5)}).values.at(0).i64, 5u);
  EXPECT_EQ(t.same("div_u_big", {i32(0xFFFFFFFF)}).values.at(0).i32, 1u);
  // Bytes 0..7: ff, cd ab, 00 00 80 bf (-1.0f), 00.
  EXPECT_EQ(t.same("store_consts", {i32(0)}).values.at(0).i64, 0x00bf800000abcdffu);
  EXPECT_EQ(trap_of(t.same("store_consts", {i32(65533)})), TrapKind::memory_out_of_bounds);
  EXPECT_EQ(t.same("store_big", {i32(32)}).values.at(0).i64,
            0x123456789abcdef0u + 0x3fe0000000000000u);
}

TEST(jit, floats_and_conversions) {
  BothTiers t(R"((module
    (func (export "add") (param f32 f32) (result f32) (f32.add (local.get 0) (local.get 1)))
    (func (export "div") (param f64 f64) (result f64) (f64.div (local.get 0) (local.get 1)))
    (func (export "min") (param f32 f32) (result f32) (f32.min (local.get 0) (local.get 1)))
    (func (export "max") (param f64 f64) (result f64) (f64.max (local.get 0) (local.get 1)))
    (func (export "copysign") (param f64 f64) (result f64) (f64.copysign (local.get 0) (local.get 1)))
    (func (export "copysign32") (param f32 f32) (result f32) (f32.copysign (local.get 0) (local.get 1)))
    (func (export "neg") (param f32) (result f32) (f32.neg (local.get 0)))
    (func (export "abs") (param f64) (result f64) (f64.abs (local.get 0)))
    (func (export "sqrt") (param f64) (result f64) (f64.sqrt (local.get 0)))
    (func (export "nearest") (param f32) (result f32) (f32.nearest (local.get 0)))
    (func (export "floor") (param f64) (result f64) (f64.floor (local.get 0)))
    (func (export "lt") (param f64 f64) (result i32) (f64.lt (local.get 0) (local.get 1)))
    (func (export "ne") (param f32 f32) (result i32) (f32.ne (local.get 0) (local.get 1)))
    (func (export "eq") (param f32 f32) (result i32) (f32.eq (local.get 0) (local.get 1)))
    (func (export "ge") (param f64 f64) (result i32) (f64.ge (local.get 0) (local.get 1)))
    (func (export "trunc") (param f64) (result i32) (i32.trunc_f64_s (local.get 0)))
    (func (export "trunc_u64") (param f32) (result i64) (i64.trunc_f32_u (local.get 0)))
    (func (export "sat") (param f64) (result i32) (i32.trunc_sat_f64_u (local.get 0)))
    (func (export "cvt_u64") (param i64) (result f32) (f32.convert_i64_u (local.get 0)))
    (func (export "cvt_u64d") (param i64) (result f64) (f64.convert_i64_u (local.get 0)))
    (func (export "cvt_u32") (param i32) (result f64) (f64.convert_i32_u (local.get 0)))
    (func (export "cvt_s32") (param i32) (result f32) (f32.convert_i32_s (local.get 0)))
    (func (export "demote") (param f64) (result f32) (f32.demote_f64 (local.get 0)))
    (func (export "bits") (param f32) (result i32) (i32.reinterpret_f32 (local.get 0)))
    (func (export "konst") (result f64) (f64.add (f64.const 0.1) (f64.const 0.2)))
  ))");
  const float nan = std::numeric_limits<float>::quiet_NaN();
  t.same("add", {f32(1.5f), f32(2.25f)});
  t.same("div", {f64(1), f64(0)});
  t.same("min", {f32(0.0f), f32(-0.0f)});
  t.same("min", {f32(-0.0f), f32(0.0f)});
  t.same("min", {f32(3), f32(2)});
  t.same("max", {f64(-0.0), f64(0.0)});
  t.same("max", {f64(-1), f64(-2)});
  t.same("copysign", {f64(2), f64(-0.0)});
  t.same("copysign32", {f32(-2), f32(1)});
  t.same("neg", {f32(nan)});
  t.same("abs", {f64(-3)});
  t.same("sqrt", {f64(2)});
  t.same("nearest", {f32(2.5f)});
  t.same("nearest", {f32(-3.5f)});
  t.same("floor", {f64(-0.5)});
  t.same("lt", {f64(1), f64(2)});
  t.same("lt", {f64(std::numeric_limits<double>::quiet_NaN()), f64(2)});
  t.same("ne", {f32(nan), f32(nan)});
  t.same("eq", {f32(nan), f32(nan)});
  t.same("eq", {f32(1), f32(1)});
  t.same("ge", {f64(2), f64(2)});
  t.same("trunc", {f64(-3.9)});
  t.same("trunc", {f64(3e9)});
  t.same("trunc", {f64(std::numeric_limits<double>::quiet_NaN())});
  t.same("trunc_u64", {f32(1e19f)});
  t.same("trunc_u64", {f32(-1.0f)});
  t.same("sat", {f64(-5)});
  t.same("sat", {f64(1e20)});
  t.same("cvt_u64", {i64(~0ull)});
  t.same("cvt_u64", {i64(0x8000008000000001ull)});
  t.same("cvt_u64d", {i64(0x8000000000000401ull)});
  t.same("cvt_u64d", {i64(12345)});
  t.same("cvt_u32", {i32(0xFFFFFFFF)});
  t.same("cvt_s32", {i32(0xFFFFFFFF)});
  t.same("demote", {f64(1e300)});
  t.same("bits", {f32(-1.0f)});
  t.same("konst", {});
}

TEST(jit, indirect_and_host_calls) {
  auto module = test::load_wat(R"((module
    (import "env" "twice" (func $twice (param i32) (result i32)))
    (type $ii (func (param i32) (result i32)))
    (table 4 funcref)
    (elem (i32.const 0) $inc $twice $wrong)
    (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
    (func $wrong (param i64) (result i64) (local.get 0))
    (func (export "dispatch") (param i32 i32) (result i32)
      (call_indirect (type $ii) (local.get 1) (local.get 0)))
    (func (export "host") (param i32) (result i32) (call $twice (local.get 0)))
  ))");
  ASSERT_TRUE(module);
  auto compiled = compile_module(*module);
  ASSERT_TRUE(compiled.ok()) << compiled.error().message;
  for (int tier = 0; tier < 2; ++tier) {
    Store store;
    runtime::FuncType type{{runtime::ValType::i32}, {runtime::ValType::i32}};
    runtime::Function* twice =
        store.create_host_function(type,
                                   [](runtime::HostContext&, std::span<const Value> args,
                                      std::span<Value> results) -> std::optional<runtime::Trap> {
                                     if (args[0].i32 == 13)
                                       return runtime::Trap{TrapKind::host_error, "unlucky", 0};
                                     results[0] = Value::make_i32(args[0].i32 * 2);
                                     return std::nullopt;
                                   });
    const runtime::Extern imports[] = {runtime::Extern::of(twice)};
    auto inst = runtime::instantiate(store, module, imports);
    ASSERT_TRUE(inst.ok());
    auto run = [&](std::string_view name, std::vector<Value> args) {
      runtime::Function* f = (*inst)->exported_function(name);
      return tier == 0 ? runtime::call(store, *f, args) : invoke(**compiled, store, *f, args);
    };
    SCOPED_TRACE(tier == 0 ? "interp" : "jit");
    EXPECT_EQ(run("dispatch", {i32(0), i32(41)}).values.at(0).i32, 42u);
    EXPECT_EQ(run("dispatch", {i32(1), i32(21)}).values.at(0).i32, 42u);
    EXPECT_EQ(run("dispatch", {i32(2), i32(1)}).trap->kind, TrapKind::indirect_call_type_mismatch);
    EXPECT_EQ(run("dispatch", {i32(3), i32(1)}).trap->kind, TrapKind::uninitialized_element);
    EXPECT_EQ(run("dispatch", {i32(4), i32(1)}).trap->kind, TrapKind::undefined_element);
    EXPECT_EQ(run("host", {i32(8)}).values.at(0).i32, 16u);
    const CallResult bad = run("host", {i32(13)});
    ASSERT_TRUE(bad.trap);
    EXPECT_EQ(bad.trap->message(), "host error: unlucky");
  }
}

TEST(jit, refuses_simd_modules_whole) {
  auto module = test::load_wat(R"((module
    (func (export "ok") (result i32) (i32.const 1))
    (func (export "simd") (result i32) (i32x4.extract_lane 0 (v128.const i32x4 1 2 3 4)))))");
  ASSERT_TRUE(module);
  auto compiled = compile_module(*module);
  ASSERT_FALSE(compiled.ok());
  EXPECT_EQ(compiled.error().kind, runtime::ErrorKind::unsupported);
}

TEST(jit, instances_share_code) {
  auto module = test::load_wat(R"((module (global $g (mut i32) (i32.const 0))
    (func (export "bump") (result i32)
      (global.set $g (i32.add (global.get $g) (i32.const 1))) (global.get $g))))");
  ASSERT_TRUE(module);
  auto compiled = compile_module(*module);
  ASSERT_TRUE(compiled.ok());
  Store store;
  auto a = runtime::instantiate(store, module, {});
  auto b = runtime::instantiate(store, module, {});
  ASSERT_TRUE(a.ok() && b.ok());
  invoke(**compiled, store, *(*a)->exported_function("bump"), {});
  invoke(**compiled, store, *(*a)->exported_function("bump"), {});
  EXPECT_EQ(invoke(**compiled, store, *(*a)->exported_function("bump"), {}).values.at(0).i32, 3u);
  EXPECT_EQ(invoke(**compiled, store, *(*b)->exported_function("bump"), {}).values.at(0).i32, 1u);
}

// A host function that calls back into the same module: the nested call runs on the JIT above the
// outer frames, and a trap inside it surfaces through both activations.
TEST(jit, host_function_reenters_the_jit) {
  auto module = test::load_wat(R"((module
    (import "env" "back" (func $back (param i32) (result i32)))
    (func $down (export "down") (param i32) (result i32)
      (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 100))
        (else (i32.add (i32.const 1) (call $back (i32.sub (local.get 0) (i32.const 1)))))))
    (func (export "boom") (param i32) (result i32)
      (if (i32.eqz (local.get 0)) (then unreachable))
      (call $back (i32.sub (local.get 0) (i32.const 1))))))");
  ASSERT_TRUE(module);
  auto compiled = compile_module(*module);
  ASSERT_TRUE(compiled.ok());
  Store store;
  Instance* inst = nullptr;
  std::string target = "down";
  runtime::FuncType type{{runtime::ValType::i32}, {runtime::ValType::i32}};
  runtime::Function* back = store.create_host_function(
      type,
      [&](runtime::HostContext& hc, std::span<const Value> args,
          std::span<Value> results) -> std::optional<runtime::Trap> {
        CallResult r = invoke(**compiled, hc.store, *inst->exported_function(target),
                              std::vector<Value>{args[0]});
        if (r.trap)
          return r.trap;
        results[0] = r.values.at(0);
        return std::nullopt;
      });
  const runtime::Extern imports[] = {runtime::Extern::of(back)};
  auto made = runtime::instantiate(store, module, imports);
  ASSERT_TRUE(made.ok());
  inst = *made;
  const CallResult r =
      invoke(**compiled, store, *inst->exported_function("down"), std::vector<Value>{i32(30)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.values.at(0).i32, 130u);
  target = "boom";
  const CallResult t =
      invoke(**compiled, store, *inst->exported_function("boom"), std::vector<Value>{i32(5)});
  ASSERT_TRUE(t.trap);
  EXPECT_EQ(t.trap->kind, TrapKind::unreachable);
  target = "down";
  const CallResult again =
      invoke(**compiled, store, *inst->exported_function("down"), std::vector<Value>{i32(3)});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.values.at(0).i32, 103u);
}

// A module big enough for the module driver to cut into chunks compiled on several threads:
// `n` functions, each padded with arithmetic, calling across the module directly (to the next
// function), indirectly (through the table, far away) and recursively (itself). Function k
// returns a function of its argument, so the interpreter gives each call's expected value.
std::string many_functions_wat(uint32_t n, uint32_t padding) {
  std::string wat = "(module (type $t (func (param i32) (result i32))) (memory 1)\n";
  wat += "(table " + std::to_string(n) + " funcref)\n(elem (i32.const 0)";
  for (uint32_t k = 0; k < n; ++k)
    wat += " $f" + std::to_string(k);
  wat += ")\n";
  for (uint32_t k = 0; k < n; ++k) {
    const std::string ks = std::to_string(k);
    wat += "(func $f" + ks + " (type $t) (local i32)\n";
    wat += "  (if (i32.eqz (local.get 0)) (then (return (i32.const " + ks + "))))\n";
    wat += "  (local.set 1 (i32.const " + ks + "))\n";
    for (uint32_t p = 0; p < padding; ++p)
      wat += "  (local.set 1 (i32.xor (i32.mul (local.get 1) (i32.const 31)) (local.get 0)))\n";
    const std::string arg = "(i32.sub (local.get 0) (i32.const 1))";
    switch (k % 3) {
      case 0:  // direct, to the next function (the last one wraps to the first)
        wat += "  (i32.add (local.get 1) (call $f" + std::to_string((k + 1) % n) + " " + arg + "))";
        break;
      case 1:  // indirect, to a function far away
        wat += "  (i32.add (local.get 1) (call_indirect (type $t) " + arg + " (i32.const " +
               std::to_string((k * 7 + n / 2) % n) + ")))";
        break;
      default:  // recursive, then direct backwards
        wat += "  (i32.add (call $f" + ks + " (i32.shr_u (local.get 0) (i32.const 1))) (call $f" +
               std::to_string((k + n - 1) % n) + " " + arg + "))";
        break;
    }
    wat += ")\n";
  }
  // Traps far from the trampoline's chunk: a memory access past the end and `unreachable`.
  wat +=
      "(func $oob (param i32) (result i32) (i32.load (i32.add (local.get 0) (i32.const 65532))))\n";
  wat +=
      "(func $stop (param i32) (result i32) (if (local.get 0) (then unreachable)) (i32.const 1))\n";
  wat += "(func (export \"first\") (param i32) (result i32) (call $f0 (local.get 0)))\n";
  wat += "(func (export \"middle\") (param i32) (result i32) (call $f" + std::to_string(n / 2) +
         " (local.get 0)))\n";
  wat +=
      "(func (export \"last\") (param i32) (result i32) (call_indirect (type $t) (local.get 0) "
      "(i32.const " +
      std::to_string(n - 1) + ")))\n";
  wat += "(func (export \"oob\") (param i32) (result i32) (call $oob (local.get 0)))\n";
  wat += "(func (export \"stop\") (param i32) (result i32) (call $stop (local.get 0))))\n";
  return wat;
}

class jit_parallel : public ::testing::TestWithParam<BoundsMode> {};

TEST_P(jit_parallel, calls_across_chunks_compiled_on_several_threads) {
  const std::string wat = many_functions_wat(600, 24);
  CompileOptions options;
  options.bounds = GetParam();
  options.threads = 8;  // capped by the hardware's threads
  BothTiers t(wat, options);
  ASSERT_TRUE(t.module);
  size_t instrs = 0;
  for (const runtime::ir::FuncCode& code : t.module->codes)
    instrs += code.code.size();
  // Enough IR for more than one thread (jit/module_compiler.hpp's threshold), so several
  // chunks.
  EXPECT_GE(instrs, 4 * size_t{16384});
  for (uint32_t arg : {0u, 1u, 2u, 3u, 7u, 12u})
    for (const char* entry : {"first", "middle", "last"})
      t.same(entry, {i32(arg)});
  t.same("first", {i32(9)}, 1'000'000);  // fuel left compared too
  t.same("middle", {i32(9)}, 2'000);     // runs out of fuel in some chunk
  EXPECT_EQ(t.same("oob", {i32(0)}).values.at(0).i32, 0u);
  EXPECT_EQ(t.same("oob", {i32(3)}).trap->kind, TrapKind::memory_out_of_bounds);
  EXPECT_EQ(t.same("stop", {i32(1)}).trap->kind, TrapKind::unreachable);
  // The same code after a trap (the trap exit of another chunk restored the trampoline's state).
  t.same("last", {i32(5)});
}

INSTANTIATE_TEST_SUITE_P(bounds,
                         jit_parallel,
                         ::testing::Values(BoundsMode::explicit_checks, BoundsMode::guard_region));

}  // namespace
}  // namespace tollgate::jit
