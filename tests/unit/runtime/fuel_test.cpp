// Fuel accounting, interruption and resource limits, with costs computed by hand from ir.hpp.
// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "runtime/store.hpp"
#include "tests/unit/runtime/tiers.hpp"
#include "tests/utils/wat.hpp"

namespace tollgate::runtime {
namespace {

using test::load_wat;
using test::TierStore;

class FuelTest : public test::TierTest {};
TG_ON_EVERY_TIER(FuelTest);

struct Guest {
  TierStore store;
  Instance* inst = nullptr;

  explicit Guest(std::string_view wat, StoreLimits limits = {}) : store(limits) {
    auto module = load_wat(wat);
    if (!module)
      return;
    auto r = instantiate(store, module, {});
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    if (r.ok())
      inst = *r;
  }
  CallResult run(std::string_view name,
                 std::vector<Value> args,
                 std::optional<uint64_t> fuel,
                 const std::atomic<bool>* interrupt = nullptr) {
    CallOptions opts;
    opts.fuel = fuel;
    opts.interrupt = interrupt;
    Function* f = inst ? inst->exported_function(name) : nullptr;
    if (f == nullptr) {
      ADD_FAILURE() << "no export " << name;
      return {};
    }
    EXPECT_TRUE(test::on_expected_tier(*f)) << name << " would not run on the JIT";
    return call(store, *f, args, opts);
  }
  uint32_t global_i32(std::string_view name) {
    auto e = inst->find_export(name);
    return e && e->kind == ExternKind::global ? e->global->get().i32 : 0xDEADBEEF;
  }
};

bool out_of_fuel(const CallResult& r) {
  return r.trap && r.trap->kind == TrapKind::out_of_fuel;
}

// The loop body is one block: global.get, i32.const, i32.add, global.set, global.get,
// local.get, i32.lt_u, br_if = 8 units. `loop` and both `end`s cost 0, so nothing else is charged.
constexpr std::string_view kCounterLoop = R"((module
  (global $count (export "count") (mut i32) (i32.const 0))
  (func (export "run") (param $n i32)
    (loop $l
      (global.set $count (i32.add (global.get $count) (i32.const 1)))
      (br_if $l (i32.lt_u (global.get $count) (local.get $n)))))
))";

TEST_P(FuelTest, LoopRunsOutAtTheExpectedIteration) {
  {
    Guest g(kCounterLoop);
    CallResult r = g.run("run", {Value::make_i32(10)}, 8 * 10);
    EXPECT_TRUE(r.ok()) << (r.trap ? r.trap->message() : "");
    EXPECT_EQ(r.fuel_left, 0u);
    EXPECT_EQ(g.global_i32("count"), 10u);
  }
  {
    Guest g(kCounterLoop);
    CallResult r = g.run("run", {Value::make_i32(10)}, 8 * 5 + 3);
    EXPECT_TRUE(out_of_fuel(r));
    EXPECT_EQ(r.trap->message(), "out of fuel");
    EXPECT_EQ(r.fuel_left, 3u);  // the failed charge leaves the remainder untouched
    EXPECT_EQ(g.global_i32("count"), 5u);
  }
  {
    Guest g(kCounterLoop);
    CallResult r = g.run("run", {Value::make_i32(10)}, 8 * 10 - 1);
    EXPECT_TRUE(out_of_fuel(r));
    EXPECT_EQ(r.fuel_left, 7u);
    EXPECT_EQ(g.global_i32("count"), 9u);
  }
  {
    Guest g(kCounterLoop);
    CallResult r = g.run("run", {Value::make_i32(1000)}, std::nullopt);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.fuel_left, 0u);  // unmetered
    EXPECT_EQ(g.global_i32("count"), 1000u);
  }
}

TEST_P(FuelTest, CalleesPayForThemselvesAndBranchesSplitBlocks) {
  Guest g(R"((module
    (global $count (export "count") (mut i32) (i32.const 0))
    (func $inc (global.set $count (i32.add (global.get $count) (i32.const 1))))
    (func (export "calls") (call $inc) (call $inc) (call $inc))
    (func (export "branchy") (param i32) (result i32)
      (if (result i32) (local.get 0) (then (i32.const 1)) (else (i32.const 2))))
    (func (export "trap_after") (drop (i32.const 1)) (unreachable))
  ))");
  // Caller: 3 calls = 3 units paid at entry; each callee: 4 units.
  CallResult r = g.run("calls", {}, 15);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.fuel_left, 0u);
  EXPECT_EQ(g.global_i32("count"), 3u);
  r = g.run("calls", {}, 14);
  EXPECT_TRUE(out_of_fuel(r));
  EXPECT_EQ(r.fuel_left, 3u);
  EXPECT_EQ(g.global_i32("count"), 5u);
  // Entry block local.get + if = 2; each arm = 1 more, charged after the conditional branch.
  r = g.run("branchy", {Value::make_i32(1)}, 3);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.values[0].i32, 1u);
  EXPECT_EQ(r.fuel_left, 0u);
  r = g.run("branchy", {Value::make_i32(0)}, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.values[0].i32, 2u);
  EXPECT_EQ(r.fuel_left, 7u);
  r = g.run("branchy", {Value::make_i32(0)}, 2);
  EXPECT_TRUE(out_of_fuel(r));
  EXPECT_EQ(r.fuel_left, 0u);
  // Fuel left is reported after other traps too: the block (i32.const, drop, unreachable) is
  // paid in full on entry.
  r = g.run("trap_after", {}, 10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.trap->kind, TrapKind::unreachable);
  EXPECT_EQ(r.fuel_left, 7u);
}

TEST_P(FuelTest, BulkOperationsChargeTheirSizeBeforeActing) {
  Guest g(R"((module
    (memory 1 10)
    (func (export "fill") (param i32) (memory.fill (i32.const 0) (i32.const 1) (local.get 0)))
    (func (export "peek") (result i32) (i32.load8_u (i32.const 0)))
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  ))");
  // Static: i32.const, i32.const, local.get, memory.fill = 4; dynamic: 640 / 64 = 10.
  CallResult r = g.run("fill", {Value::make_i32(640)}, 14);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.fuel_left, 0u);
  Guest g2(R"((module
    (memory 1)
    (func (export "fill") (param i32) (memory.fill (i32.const 0) (i32.const 1) (local.get 0)))
    (func (export "peek") (result i32) (i32.load8_u (i32.const 0)))
  ))");
  r = g2.run("fill", {Value::make_i32(640)}, 13);
  EXPECT_TRUE(out_of_fuel(r));
  EXPECT_EQ(r.fuel_left, 9u);
  CallResult peek = g2.run("peek", {}, std::nullopt);
  ASSERT_TRUE(peek.ok());
  EXPECT_EQ(peek.values[0].i32, 0u);             // nothing was written
  r = g2.run("fill", {Value::make_i32(63)}, 4);  // under one unit of dynamic cost
  EXPECT_TRUE(r.ok());
  // memory.grow: local.get + memory.grow = 2, plus 64 per page.
  r = g.run("grow", {Value::make_i32(2)}, 2 + 128);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.values[0].i32, 1u);
  EXPECT_EQ(r.fuel_left, 0u);
  r = g.run("grow", {Value::make_i32(1)}, 2 + 63);
  EXPECT_TRUE(out_of_fuel(r));
  EXPECT_EQ(r.fuel_left, 63u);
  EXPECT_EQ(g.inst->memories[0]->pages(), 3u);
}

// A byte-copy loop, which the interpreter runs as one block copy when the fuel covers all of it
// (`to[i] = from[i]`, `from` at a constant address). Loop body: local.get, local.get, i32.add,
// local.tee, local.get, i32.const, i32.add, i32.load8_u, i32.store8, local.get, i32.const,
// i32.add, local.tee, local.get, i32.ne, br_if = 16 units a byte; the block after it (local.get,
// drop) 2 units.
constexpr std::string_view kCopyLoop = R"((module
  (memory 112)
  (func (export "copy") (param $to i32) (param $n i32)
    (local $i i32) (local $t i32)
    (loop $l
      (i32.store8 (local.tee $t (i32.add (local.get $i) (local.get $to)))
                  (i32.load8_u (i32.add (local.get $i) (i32.const 1024))))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (drop (local.get $n)))
  (func (export "fill") (param $n i32)
    (memory.fill (i32.const 1024) (i32.const 7) (local.get $n)))
  (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0)))
))";

TEST_P(FuelTest, CopyLoopChargesEveryIterationAndStopsAtTheSameByte) {
  constexpr uint32_t kTo = 0x240000;  // after the source; two copies fit below 7 MiB
  // 1000 bytes (one block copy) and 2 MiB + 8 (more than one, each at most 1 MiB).
  for (uint32_t n : {1000u, (2u << 20) + 8}) {
    SCOPED_TRACE(n);
    Guest g(kCopyLoop);
    ASSERT_TRUE(g.run("fill", {Value::make_i32(n)}, std::nullopt).ok());
    const std::vector<Value> args{Value::make_i32(kTo), Value::make_i32(n)};
    const auto peek = [&](uint32_t at) {
      CallResult r = g.run("peek", {Value::make_i32(at)}, std::nullopt);
      return r.ok() ? r.values[0].i32 : 0xDEADBEEF;
    };
    // Fuel for every byte but the last: the last iteration's block is refused, the rest copied.
    CallResult r = g.run("copy", args, uint64_t{16} * n - 1);
    EXPECT_TRUE(out_of_fuel(r));
    EXPECT_EQ(r.fuel_left, 15u);
    EXPECT_EQ(peek(kTo + n - 2), 7u);
    EXPECT_EQ(peek(kTo + n - 1), 0u);
    // Fuel for 300 bytes and 7 units over.
    r = g.run("copy", {Value::make_i32(kTo + n), Value::make_i32(n)}, 16 * 300 + 7);
    EXPECT_TRUE(out_of_fuel(r));
    EXPECT_EQ(r.fuel_left, 7u);
    EXPECT_EQ(peek(kTo + n + 299), 7u);
    EXPECT_EQ(peek(kTo + n + 300), 0u);
    // All of the loop but not the block after it: every byte copied, then the trap.
    r = g.run("copy", args, uint64_t{16} * n + 1);
    EXPECT_TRUE(out_of_fuel(r));
    EXPECT_EQ(r.fuel_left, 1u);
    EXPECT_EQ(peek(kTo + n - 1), 7u);
    // Exactly enough, and more.
    r = g.run("copy", args, uint64_t{16} * n + 2);
    EXPECT_TRUE(r.ok()) << (r.trap ? r.trap->message() : "");
    EXPECT_EQ(r.fuel_left, 0u);
    r = g.run("copy", args, uint64_t{16} * n + 7);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.fuel_left, 5u);
  }
}

// `c[j] += y * b[j]` unrolled by two with its counted back-edge, which the interpreter runs as one
// instruction looping by itself (x_f64_madd2_loop). Loop body: 9 units for the first element's
// store, 4 for `c2 = c + 8`, 11 for the second element's store, 4 + 4 to move c and b on, and
// local.get, i32.const, i32.add, local.tee, local.get, i32.ne, br_if = 39 units an iteration of
// two elements; the block after it (local.get, drop) 2 units.
constexpr std::string_view kAxpyLoop = R"((module
  (memory 1)
  (func (export "axpy") (param $c i32) (param $b i32) (param $n i32) (param $y f64)
    (local $j i32) (local $c2 i32)
    (loop $l
      (f64.store (local.get $c)
        (f64.add (f64.load (local.get $c)) (f64.mul (local.get $y) (f64.load (local.get $b)))))
      (local.set $c2 (i32.add (local.get $c) (i32.const 8)))
      (f64.store (local.get $c2)
        (f64.add (f64.load (local.get $c2))
                 (f64.mul (local.get $y) (f64.load (i32.add (local.get $b) (i32.const 8))))))
      (local.set $c (i32.add (local.get $c) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (br_if $l (i32.ne (local.tee $j (i32.add (local.get $j) (i32.const 2))) (local.get $n))))
    (drop (local.get $n)))
  (func (export "fill") (param $at i32) (param $n i32)
    (loop $l
      (f64.store (local.get $at) (f64.const 1))
      (local.set $at (i32.add (local.get $at) (i32.const 8)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "peek") (param i32) (result f64) (f64.load (local.get 0)))
))";

TEST_P(FuelTest, AxpyLoopChargesEveryIterationAndStopsAtTheSameElement) {
  constexpr uint32_t kC = 1024, kB = 32768, kIterations = 1000;
  const auto run = [&](uint64_t fuel, double* at_stop, uint32_t stop) {
    Guest g(kAxpyLoop);
    EXPECT_TRUE(
        g.run("fill", {Value::make_i32(kB), Value::make_i32(2 * kIterations)}, std::nullopt).ok());
    CallResult r = g.run("axpy",
                         {Value::make_i32(kC), Value::make_i32(kB),
                          Value::make_i32(2 * kIterations), Value::make_f64(2.0)},
                         fuel);
    for (uint32_t k = 0; k < 2; ++k) {
      CallResult peek = g.run("peek", {Value::make_i32(kC + 8 * (stop + k))}, std::nullopt);
      at_stop[k] = peek.ok() ? peek.values[0].f64() : -1;
    }
    return r;
  };
  double seen[2];
  // Fuel for every iteration but the last: the last one's back-edge is refused.
  CallResult r = run(uint64_t{39} * kIterations - 1, seen, 2 * kIterations - 3);
  EXPECT_TRUE(out_of_fuel(r));
  EXPECT_EQ(r.fuel_left, 38u);
  EXPECT_EQ(seen[0], 2.0);  // the last element of the iteration before
  EXPECT_EQ(seen[1], 0.0);  // the first of the one refused
  // Fuel for 300 iterations and 7 units over.
  r = run(uint64_t{39} * 300 + 7, seen, 599);
  EXPECT_TRUE(out_of_fuel(r));
  EXPECT_EQ(r.fuel_left, 7u);
  EXPECT_EQ(seen[0], 2.0);
  EXPECT_EQ(seen[1], 0.0);
  // All of the loop but not the block after it: every element written, then the trap.
  r = run(uint64_t{39} * kIterations + 1, seen, 2 * kIterations - 2);
  EXPECT_TRUE(out_of_fuel(r));
  EXPECT_EQ(r.fuel_left, 1u);
  EXPECT_EQ(seen[0], 2.0);
  EXPECT_EQ(seen[1], 2.0);
  // Exactly enough, and more.
  r = run(uint64_t{39} * kIterations + 2, seen, 0);
  EXPECT_TRUE(r.ok()) << (r.trap ? r.trap->message() : "");
  EXPECT_EQ(r.fuel_left, 0u);
  r = run(uint64_t{39} * kIterations + 7, seen, 0);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.fuel_left, 5u);
}

TEST_P(FuelTest, InterruptStopsAnInfiniteLoopPromptly) {
  // Every shape of back-edge: the interpreter drops a loop header's own check when each branch
  // back checks for itself, and keeps it for those that do not (br_table). Each loop comes
  // after other code so that its header is not the function's entry.
  Guest g(R"((module
    (func (export "spin") (param i32)
      (local.set 0 (i32.xor (local.get 0) (i32.const 2)))
      (loop $l (br $l)))
    (func (export "spin_if") (param i32)
      (local.set 0 (i32.xor (local.get 0) (i32.const 2)))
      (loop $l (br_if $l (i32.ne (local.get 0) (i32.const 7)))))
    (func (export "spin_inc") (param i32)
      (local.set 0 (i32.xor (local.get 0) (i32.const 2)))
      (loop $l
        (local.set 0 (i32.add (local.get 0) (i32.const 1)))
        (br_if $l (i32.ne (local.get 0) (i32.const 0)))))
    (func (export "spin_table") (param i32)
      (local.set 0 (i32.xor (local.get 0) (i32.const 2)))
      (loop $l (br_table $l $l (local.get 0))))
    (func (export "spin_nested") (param i32)
      (local.set 0 (i32.xor (local.get 0) (i32.const 2)))
      (loop $outer
        (loop $inner (br_if $inner (i32.eqz (local.get 0))))
        (br $outer)))
  ))");
  for (const char* name : {"spin", "spin_if", "spin_inc", "spin_table", "spin_nested"}) {
    SCOPED_TRACE(name);
    for (bool metered : {false, true}) {
      std::atomic<bool> stop{false};
      const auto start = std::chrono::steady_clock::now();
      std::thread timer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        stop.store(true);
      });
      const std::vector<Value> args{Value::make_i32(1)};
      CallResult r =
          g.run(name, args, metered ? std::optional<uint64_t>(UINT64_MAX) : std::nullopt, &stop);
      timer.join();
      const auto elapsed = std::chrono::steady_clock::now() - start;
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.trap->kind, TrapKind::interrupted);
      EXPECT_EQ(r.trap->message(), "interrupted");
      EXPECT_LT(elapsed, std::chrono::seconds(2));
    }
  }
}

TEST_P(FuelTest, MemoryLimitStopsAMemoryBomb) {
  StoreLimits limits;
  limits.max_memory_pages = 16;
  Guest g(R"((module
    (memory 1)
    (func (export "bomb") (result i32) (local $n i32)
      (block $done (loop $l
        (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $l)))
      (local.get $n))
    (func (export "big") (result i32) (memory.grow (i32.const 65535)))
  ))",
          limits);
  CallResult r = g.run("bomb", {}, std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.values[0].i32, 15u);
  EXPECT_EQ(g.inst->memories[0]->pages(), 16u);
  r = g.run("big", {}, std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.values[0].i32, 0xFFFFFFFFu);
}

}  // namespace
}  // namespace tollgate::runtime
