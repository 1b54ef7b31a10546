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

/// jit: explicit bounds checks; jit_guard: accesses kept in bounds by the guard region.
enum class Tier { interp, jit, jit_guard };

/// The engine of the running test (null: the interpreter); set by TierTest for its duration.
inline const runtime::Engine*& current_engine() {
  static const runtime::Engine* engine = nullptr;
  return engine;
}

class TierTest : public ::testing::TestWithParam<Tier> {
 protected:
  void SetUp() override {
    if (GetParam() != Tier::interp && !jit::available())
      GTEST_SKIP() << "this host has no JIT backend";
    switch (GetParam()) {
      case Tier::interp:
        current_engine() = nullptr;
        break;
      case Tier::jit:
        current_engine() = &jit::engine(jit::BoundsMode::explicit_checks);
        break;
      case Tier::jit_guard:
        current_engine() = &jit::engine(jit::BoundsMode::guard_region);
        break;
    }
  }
  void TearDown() override { current_engine() = nullptr; }
  bool on_jit() const { return GetParam() != Tier::interp; }
};

inline std::string tier_name(const ::testing::TestParamInfo<Tier>& info) {
  switch (info.param) {
    case Tier::interp:
      return "interp";
    case Tier::jit:
      return "jit";
    case Tier::jit_guard:
      return "jit_guard";
  }
  return "unknown";
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

#define TG_ON_EVERY_TIER(suite)                                                      \
  INSTANTIATE_TEST_SUITE_P(                                                          \
      Tiers, suite,                                                                  \
      ::testing::Values(::tollgate::test::Tier::interp, ::tollgate::test::Tier::jit, \
                        ::tollgate::test::Tier::jit_guard),                          \
      ::tollgate::test::tier_name)
