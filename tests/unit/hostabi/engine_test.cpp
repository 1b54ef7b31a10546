// The evaluator on the JIT engine: the same responses as on the interpreter, and deadlines, fuel
// and host calls work from compiled code.
// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <chrono>

#include <boost/json.hpp>

#include "hostabi/kubewarden/evaluator.hpp"
#include "jit/jit.hpp"
#include "tests/unit/hostabi/guests.hpp"
#include "tests/utils/wat.hpp"

namespace tollgate::hostabi::kubewarden {
namespace {

namespace json = boost::json;
using namespace tollgate::test::guests;
using namespace std::chrono_literals;

const json::value kRequest = json::parse(R"({"uid":"1","object":{"kind":"Pod"}})");
const json::value kSettings = json::parse(R"({"limit":3})");

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!jit::available())
      GTEST_SKIP() << "this host has no JIT backend";
  }

  /// The policy, compiled for the JIT (a refusal would make these tests test the interpreter).
  std::shared_ptr<const PolicyModule> compiled(std::string_view wat) {
    auto p = load_policy(test::wat_to_wasm(wat));
    if (!p) {
      ADD_FAILURE() << p.error().message;
      return nullptr;
    }
    EXPECT_TRUE(prepare_code(**p, jit::engine())) << "the JIT refused the guest";
    return p.value();
  }

  static EvalOptions on(const runtime::Engine* engine) {
    EvalOptions o;
    o.engine = engine;
    return o;
  }
};

TEST_F(EngineTest, ResponsesMatchTheInterpreter) {
  auto p = compiled(
      policy_guest(R"({"accepted":false,"message":"privileged","code":403,"warnings":["w"]})"));
  ASSERT_TRUE(p);
  const ValidationResponse jit = evaluate(*p, kRequest, kSettings, on(&jit::engine()));
  const ValidationResponse interp = evaluate(*p, kRequest, kSettings, on(nullptr));
  EXPECT_EQ(json::serialize(to_json(jit)), json::serialize(to_json(interp)));
  EXPECT_EQ(jit.message, "privileged");
  EXPECT_EQ(jit.code, 403);
  const SettingsValidationResponse settings = validate_settings(*p, kSettings, on(&jit::engine()));
  EXPECT_TRUE(settings.valid);
}

TEST_F(EngineTest, DeadlineStopsCompiledCode) {
  auto p = compiled(wapc_guest(Data(), "(loop $l (br $l)) (i32.const 1)"));
  ASSERT_TRUE(p);
  EvalOptions o = on(&jit::engine());
  o.deadline = 100ms;
  EvalDiagnostics diag;
  o.diagnostics = &diag;
  const auto start = std::chrono::steady_clock::now();
  const ValidationResponse r = evaluate(*p, kRequest, kSettings, o);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(r.code, 500);
  EXPECT_EQ(r.message, kTimeoutMessage);
  EXPECT_TRUE(diag.timed_out);
}

TEST_F(EngineTest, FuelRunsOutAsOnTheInterpreter) {
  auto p = compiled(wapc_guest(Data(), "(loop $l (br $l)) (i32.const 1)"));
  ASSERT_TRUE(p);
  for (const runtime::Engine* engine :
       {&jit::engine(), static_cast<const runtime::Engine*>(nullptr)}) {
    EvalOptions o = on(engine);
    o.fuel = 1'000'000;
    EvalDiagnostics diag;
    o.diagnostics = &diag;
    const ValidationResponse r = evaluate(*p, kRequest, kSettings, o);
    EXPECT_EQ(diag.trap, runtime::TrapKind::out_of_fuel);
    EXPECT_EQ(r.message, "internal server error: Guest call failure: out of fuel");
  }
}

}  // namespace
}  // namespace tollgate::hostabi::kubewarden
