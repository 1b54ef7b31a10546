// Runs an execution unit test on every tier: gtest value parameters over the engine.
// SPDX-License-Identifier: Apache-2.0
//
// A suite derives from TierTest, its tests are TEST_P, TG_ON_EVERY_TIER(suite) instantiates it
// for the interpreter and the JIT, and every Store the tests make is a TierStore, which runs on
// the current test's tier. Tests that need to know (a JIT must not silently fall back to the
// interpreter) ask TierTest::on_jit().
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "jit/jit.hpp"
#include "runtime/executor.hpp"
#include "runtime/store.hpp"

namespace tollgate::test {

enum class Tier { interp, jit };

/// The engine of the running test (null: the interpreter); set by TierTest for its duration.
inline const runtime::Engine*& current_engine() {
  static const runtime::Engine* engine = nullptr;
  return engine;
}

class TierTest : public ::testing::TestWithParam<Tier> {
 protected:
  void SetUp() override {
    if (GetParam() == Tier::jit && !jit::available())
      GTEST_SKIP() << "this host has no JIT backend";
    current_engine() = GetParam() == Tier::jit ? &jit::engine() : nullptr;
  }
  void TearDown() override { current_engine() = nullptr; }
  bool on_jit() const { return GetParam() == Tier::jit; }
};

inline std::string tier_name(const ::testing::TestParamInfo<Tier>& info) {
  return info.param == Tier::jit ? "jit" : "interp";
}

/// A Store on the running test's tier.
class TierStore : public runtime::Store {
 public:
  explicit TierStore(runtime::StoreLimits limits = {}) : Store(limits) {
    set_engine(current_engine());
  }
};

/// True when `func` runs where the test wants it: compiled code on the JIT tier.
inline bool on_expected_tier(const runtime::Function& func) {
  const runtime::Engine* engine = current_engine();
  return engine == nullptr || engine->runs(func);
}

}  // namespace tollgate::test

#define TG_ON_EVERY_TIER(suite)                                                       \
  INSTANTIATE_TEST_SUITE_P(                                                           \
      Tiers, suite,                                                                   \
      ::testing::Values(::tollgate::test::Tier::interp, ::tollgate::test::Tier::jit), \
      ::tollgate::test::tier_name)
