// Calls between instances on different tiers (JIT code calling a module the JIT refused) behave
// exactly as when everything is interpreted: results, traps, fuel left, depth limits.
// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "jit/jit.hpp"
#include "runtime/executor.hpp"
#include "runtime/store.hpp"
#include "tests/utils/wat.hpp"

namespace tollgate::runtime {
namespace {

using test::load_wat;

// The JIT refuses this module as a whole (it has no v128 locals), so it runs interpreted.
constexpr std::string_view kRefused = R"((module
  (func $simd (local v128))
  (func $down (export "down") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (i32.add (i32.const 2) (call $down (i32.sub (local.get 0) (i32.const 1)))))))
  (func (export "boom") (param i32) (result i32)
    (if (local.get 0) (then unreachable))
    (i32.const 7))
  (func (export "spin") (param i32) (result i32) (local i32)
    (loop $l
      (local.set 1 (i32.add (local.get 1) (i32.const 3)))
      (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (local.get 1))
))";

// Compiled: calls into the refused module, around its own work.
constexpr std::string_view kCompiled = R"((module
  (import "r" "down" (func $down (param i32) (result i32)))
  (import "r" "boom" (func $boom (param i32) (result i32)))
  (import "r" "spin" (func $spin (param i32) (result i32)))
  (func $self (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (call $down (i32.const 10)))
      (else (i32.add (i32.const 1) (call $self (i32.sub (local.get 0) (i32.const 1)))))))
  (func (export "deep") (param i32) (result i32) (call $self (local.get 0)))
  (func (export "down") (param i32) (result i32) (i32.mul (call $down (local.get 0)) (i32.const 3)))
  (func (export "boom") (param i32) (result i32) (i32.add (call $boom (local.get 0)) (i32.const 1)))
  (func (export "spin") (param i32) (result i32) (i32.add (call $spin (local.get 0)) (i32.const 1)))
))";

struct Pair {
  Store store;
  Instance* compiled = nullptr;
  Instance* refused = nullptr;

  explicit Pair(const Engine* engine) {
    store.set_engine(engine);
    auto r = load_wat(kRefused);
    auto c = load_wat(kCompiled);
    if (!r || !c)
      return;
    auto ir = instantiate(store, r, {});
    EXPECT_TRUE(ir.ok());
    if (!ir.ok())
      return;
    refused = *ir;
    Linker linker;
    linker.define_instance("r", *refused);
    auto ic = linker.instantiate(store, c);
    EXPECT_TRUE(ic.ok());
    if (ic.ok())
      compiled = *ic;
  }
  std::string run(std::string_view name, uint32_t arg, const CallOptions& options) {
    Function* f = compiled != nullptr ? compiled->exported_function(name) : nullptr;
    if (f == nullptr)
      return "no instance";
    Value v = Value::make_i32(arg);
    CallResult r = call(store, *f, {&v, 1}, options);
    std::string out =
        r.trap ? "trap " + r.trap->message() : "ok " + std::to_string(r.values[0].i32);
    return out + " fuel " + std::to_string(r.fuel_left);
  }
};

class MixedTierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!jit::available())
      GTEST_SKIP() << "this host has no JIT backend";
  }
};

TEST_F(MixedTierTest, TheModulesRunOnTheTiersTheTestAssumes) {
  Pair mixed(&jit::engine());
  ASSERT_NE(mixed.compiled, nullptr);
  EXPECT_TRUE(jit::engine().runs(*mixed.compiled->exported_function("down")));
  EXPECT_FALSE(jit::engine().runs(*mixed.refused->exported_function("down")));
}

TEST_F(MixedTierTest, ResultsTrapsAndFuelMatchTheInterpreter) {
  Pair mixed(&jit::engine());
  Pair interp(nullptr);
  struct Case {
    const char* name;
    uint32_t arg;
    std::optional<uint64_t> fuel;
  };
  for (Case c : {Case{"down", 20, std::nullopt}, Case{"down", 20, 1000}, Case{"down", 20, 50},
                 Case{"boom", 0, 100}, Case{"boom", 1, 100}, Case{"spin", 100, 100'000},
                 Case{"spin", 100'000, 100'000}, Case{"spin", 1000, std::nullopt},
                 Case{"deep", 30, 10'000}, Case{"deep", 30, 200}}) {
    CallOptions o;
    o.fuel = c.fuel;
    EXPECT_EQ(mixed.run(c.name, c.arg, o), interp.run(c.name, c.arg, o))
        << c.name << "(" << c.arg << ") fuel " << c.fuel.value_or(0);
  }
  // Spot checks against the spec, so that both tiers cannot agree on a wrong answer.
  CallOptions unmetered;
  EXPECT_EQ(interp.run("down", 20, unmetered), "ok 120 fuel 0");
  EXPECT_EQ(interp.run("boom", 1, unmetered), "trap unreachable fuel 0");
}

TEST_F(MixedTierTest, CallDepthCountsFramesOfBothTiers) {
  Pair mixed(&jit::engine());
  Pair interp(nullptr);
  // deep(n): n + 2 frames of the compiled module, then down(10): 11 frames of the other one.
  for (uint32_t limit : {10u, 20u, 40u, 42u, 43u, 44u, 60u}) {
    CallOptions o;
    o.max_call_depth = limit;
    for (uint32_t n : {0u, 10u, 29u, 30u, 31u, 32u})
      EXPECT_EQ(mixed.run("deep", n, o), interp.run("deep", n, o))
          << "deep(" << n << ") with max_call_depth " << limit;
  }
}

TEST_F(MixedTierTest, InterruptionStopsBothTiersAlike) {
  Pair mixed(&jit::engine());
  Pair interp(nullptr);
  std::atomic<bool> stop{true};
  CallOptions o;
  o.interrupt = &stop;
  o.fuel = 1000;
  EXPECT_EQ(mixed.run("spin", 1000, o), interp.run("spin", 1000, o));
  EXPECT_EQ(interp.run("spin", 1000, o).rfind("trap interrupted", 0), 0u);
}

// Modules are shared across threads: whichever thread instantiates first compiles, the others
// wait for nothing and every instance in every store runs the one installed code.
TEST_F(MixedTierTest, AModuleCompilesOnceForEveryThread) {
  auto module = load_wat(R"((module
    (func (export "sum") (param i32) (result i32) (local i32)
      (loop $l
        (local.set 1 (i32.add (local.get 1) (local.get 0)))
        (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
      (local.get 1))))");
  ASSERT_TRUE(module);
  constexpr int kThreads = 4;
  std::vector<uint32_t> sums(kThreads, 0);
  std::vector<int> compiled(kThreads, 0);  // not vector<bool>: threads write neighbours
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        Store store;
        store.set_engine(&jit::engine());
        auto inst = instantiate(store, module, {});
        if (!inst.ok())
          return;
        Function* f = (*inst)->exported_function("sum");
        compiled[t] = jit::engine().runs(*f) ? 1 : 0;
        Value v = Value::make_i32(100);
        CallResult r = call(store, *f, {&v, 1});
        sums[t] = r.ok() ? r.values[0].i32 : 0;
      }
    });
  }
  for (std::thread& t : threads)
    t.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_TRUE(compiled[t]) << "thread " << t;
    EXPECT_EQ(sums[t], 5050u) << "thread " << t;
  }
  const auto code = jit::prepared_code(*module);
  ASSERT_NE(code, nullptr);
  EXPECT_EQ(&code->module(), module.get());
  // The same module on the interpreter is untouched by the JIT's code.
  Store plain;
  auto inst = instantiate(plain, module, {});
  ASSERT_TRUE(inst.ok());
  Value v = Value::make_i32(10);
  CallResult r = call(plain, *(*inst)->exported_function("sum"), {&v, 1});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.values[0].i32, 55u);
}

}  // namespace
}  // namespace tollgate::runtime
