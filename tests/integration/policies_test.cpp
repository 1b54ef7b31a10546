// The example policies, annotated by `tollgate annotate`, against policies/expectations.json.
// SPDX-License-Identifier: Apache-2.0
//
// Every case of expectations.json runs `validate` on its fixture with the evaluator the server
// and `tollgate run` use; mutations are checked twice: the guest's mutated_object against the
// expected object (the expectation's patch applied to request.object), and the server's JSONPatch
// (diff) applied to request.object against the same object.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <boost/json.hpp>

#include "hostabi/kubewarden/evaluator.hpp"
#include "hostabi/kubewarden/session.hpp"
#include "jit/jit.hpp"
#include "server/evaluation/admission_response.hpp"
#include "server/evaluation/json_patch.hpp"
#include "tests/unit/hostabi/guests.hpp"
#include "tests/utils/wat.hpp"

#ifndef TG_POLICIES_DIR
#error "TG_POLICIES_DIR (the built, annotated example policies) must be defined"
#endif
#ifndef TG_FIXTURES_DIR
#error "TG_FIXTURES_DIR (../shared/fixtures/admission) must be defined"
#endif
#ifndef TG_EXPECTATIONS
#error "TG_EXPECTATIONS (policies/expectations.json) must be defined"
#endif

namespace tollgate {
namespace {

namespace json = boost::json;
namespace kw = hostabi::kubewarden;
namespace ev = server::evaluation;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

json::value read_json(const std::string& path) {
  boost::system::error_code ec;
  json::value v = kw::parse_json(read_text(path), ec);
  if (ec)
    ADD_FAILURE() << path << ": " << ec.message();
  return v;
}

const json::object& expectations() {
  static const json::value doc = read_json(TG_EXPECTATIONS);
  static const json::object empty;
  if (!doc.is_object() || !doc.get_object().contains("policies"))
    return empty;
  return doc.at("policies").get_object();
}

/// The built, annotated policy `name`, loaded once per `copy` (a module keeps the code of the
/// first JIT engine that prepares it, so each JIT bounds mode needs its own copy).
std::shared_ptr<const kw::PolicyModule> policy(const std::string& name, int copy = 0) {
  static std::map<std::pair<std::string, int>, std::shared_ptr<const kw::PolicyModule>> cache;
  const std::pair<std::string, int> key{name, copy};
  auto it = cache.find(key);
  if (it != cache.end())
    return it->second;
  std::string wasm = read_text(std::string(TG_POLICIES_DIR) + "/" + name + ".wasm");
  auto loaded = kw::load_policy(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(wasm.data()), wasm.size()));
  if (!loaded) {
    ADD_FAILURE() << name << ": " << loaded.error().message;
    return cache[key] = nullptr;
  }
  return cache[key] = loaded.value();
}

/// What a fixture sends: an AdmissionReview's `.request` (for raw policies the /validate_raw
/// body's raw `.request`), else the file itself.
json::value fixture_request(const std::string& fixture, bool raw) {
  json::value v = read_json(std::string(TG_FIXTURES_DIR) + "/" + fixture);
  if (!v.is_object())
    return v;
  const json::object& o = v.get_object();
  const json::value* kind = o.if_contains("kind");
  bool review = kind && kind->is_string() && kind->get_string() == "AdmissionReview";
  if (review || (raw && fixture == "review_raw.json"))
    return o.at("request");
  return v;
}

bool is_raw(const kw::PolicyModule& p) {
  return p.metadata.policy_type == kw::PolicyType::raw;
}

// --- validate cases ---------------------------------------------------------------------------

struct Case {
  std::string policy;
  size_t index;  ///< in the policy's `cases` (or `settings_cases`)
  std::string label;
};

std::string test_name(std::string s) {
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)))
      c = '_';
  }
  return s;
}

std::vector<Case> cases_of(const char* key) {
  std::vector<Case> out;
  for (const auto& [name, p] : expectations()) {
    const json::array& cases = p.at(key).get_array();
    for (size_t i = 0; i < cases.size(); ++i) {
      std::string label(name);
      label.append("_").append(std::to_string(i));
      if (const json::value* f = cases[i].get_object().if_contains("fixture"))
        label.append("_").append(f->get_string());
      out.push_back({std::string(name), i, test_name(label)});
    }
  }
  return out;
}

// Every case runs on every tier: the interpreter, and the JIT in both bounds modes (which must
// accept every example policy, or the case would silently test the interpreter again).
enum class Tier { interp, jit, jit_guard };
using TieredCase = std::tuple<Case, Tier>;

std::string tiered_name(const testing::TestParamInfo<TieredCase>& info) {
  const char* suffix[] = {"_interp", "_jit", "_jit_guard"};
  return std::get<0>(info.param).label + suffix[static_cast<int>(std::get<1>(info.param))];
}

/// The policy for `tier` and its evaluation options; null when that tier cannot run here (no
/// JIT backend: the case is skipped).
std::shared_ptr<const kw::PolicyModule> tier_policy(const std::string& name,
                                                    Tier tier,
                                                    kw::EvalOptions& o) {
  if (tier == Tier::interp)
    return policy(name);
  if (!jit::available())
    return nullptr;
  const bool guard = tier == Tier::jit_guard;
  auto p = policy(name, guard ? 1 : 0);
  if (!p)
    return nullptr;
  o.engine = &jit::engine(guard ? jit::BoundsMode::guard_region : jit::BoundsMode::explicit_checks);
  EXPECT_TRUE(kw::prepare_code(*p, *o.engine)) << "the JIT refused the policy";
  return p;
}

class PolicyCase : public testing::TestWithParam<TieredCase> {};

TEST_P(PolicyCase, matches_expectation) {
  const Case& c = std::get<0>(GetParam());
  const json::object& spec = expectations().at(c.policy).get_object();
  const json::object& expect = spec.at("cases").get_array()[c.index].get_object();
  kw::EvalOptions options;
  auto p = tier_policy(c.policy, std::get<1>(GetParam()), options);
  if (std::get<1>(GetParam()) != Tier::interp && !jit::available())
    GTEST_SKIP() << "this host has no JIT backend";
  ASSERT_TRUE(p);
  const json::value request =
      fixture_request(std::string(expect.at("fixture").get_string()), is_raw(*p));
  const json::value& settings =
      expect.contains("settings") ? expect.at("settings") : spec.at("settings");
  SCOPED_TRACE(std::string(expect.at("why").get_string()));

  // As policy-server and `tollgate run` do: settings first.
  kw::SettingsValidationResponse valid = kw::validate_settings(*p, settings, options);
  ASSERT_TRUE(valid.valid) << valid.message.value_or("");

  kw::ValidationResponse r = kw::evaluate(*p, request, settings, options);
  EXPECT_EQ(r.accepted, expect.at("accepted").as_bool()) << r.message.value_or("(no message)");
  if (const json::value* m = expect.if_contains("message")) {
    EXPECT_EQ(r.message, std::string(m->get_string()));
  } else {
    EXPECT_FALSE(r.message) << *r.message;
  }
  if (const json::value* code = expect.if_contains("code")) {
    if (code->is_null()) {
      EXPECT_FALSE(r.code) << *r.code;
    } else {
      EXPECT_EQ(r.code, code->to_number<int64_t>());
    }
  }

  const json::value* mutation = expect.if_contains("mutation");
  if (mutation == nullptr) {
    EXPECT_FALSE(r.mutated_object) << json::serialize(*r.mutated_object);
    return;
  }
  ASSERT_TRUE(r.mutated_object);
  const json::value& original = request.at("object");
  json::value wanted = original;
  ASSERT_TRUE(ev::json_patch::apply(wanted, mutation->get_array()).ok());
  EXPECT_EQ(*r.mutated_object, wanted) << json::serialize(*r.mutated_object);

  // The server's answer: a base64 JSONPatch whose application gives the same object.
  ev::AdmissionResponse answer = ev::from_validation_response("uid", r, &original);
  ASSERT_TRUE(answer.patch);
  auto patch = ev::decode_patch(*answer.patch);
  ASSERT_TRUE(patch.ok()) << patch.error().message;
  json::value patched = original;
  ASSERT_TRUE(ev::json_patch::apply(patched, patch.value()).ok()) << json::serialize(patch.value());
  EXPECT_EQ(patched, wanted) << json::serialize(patch.value());
}

INSTANTIATE_TEST_SUITE_P(
    examples,
    PolicyCase,
    testing::Combine(testing::ValuesIn(cases_of("cases")),
                     testing::Values(Tier::interp, Tier::jit, Tier::jit_guard)),
    tiered_name);

// --- settings cases ---------------------------------------------------------------------------

class SettingsCase : public testing::TestWithParam<TieredCase> {};

TEST_P(SettingsCase, matches_expectation) {
  const Case& c = std::get<0>(GetParam());
  const json::object& expect =
      expectations().at(c.policy).at("settings_cases").get_array()[c.index].get_object();
  kw::EvalOptions options;
  auto p = tier_policy(c.policy, std::get<1>(GetParam()), options);
  if (std::get<1>(GetParam()) != Tier::interp && !jit::available())
    GTEST_SKIP() << "this host has no JIT backend";
  ASSERT_TRUE(p);
  kw::SettingsValidationResponse r = kw::validate_settings(*p, expect.at("settings"), options);
  EXPECT_EQ(r.valid, expect.at("valid").as_bool()) << r.message.value_or("");
  if (const json::value* m = expect.if_contains("message")) {
    EXPECT_EQ(r.message, std::string(m->get_string()));
  }
  if (const json::value* prefix = expect.if_contains("message_prefix")) {
    ASSERT_TRUE(r.message);
    EXPECT_EQ(r.message->rfind(std::string(prefix->get_string()), 0), 0u) << *r.message;
    EXPECT_GT(r.message->size(), prefix->get_string().size()) << "the host's error is missing";
  }
}

INSTANTIATE_TEST_SUITE_P(
    examples,
    SettingsCase,
    testing::Combine(testing::ValuesIn(cases_of("settings_cases")),
                     testing::Values(Tier::interp, Tier::jit, Tier::jit_guard)),
    tiered_name);

// --- annotation -------------------------------------------------------------------------------

TEST(annotated, every_expected_policy_is_built_and_loads) {
  ASSERT_GE(expectations().size(), 7u);
  for (const auto& [name, spec] : expectations()) {
    auto p = policy(std::string(name));
    ASSERT_TRUE(p) << name;
    EXPECT_TRUE(p->has_metadata) << name;
    EXPECT_TRUE(kw::check_policy(*p).ok()) << name;
    const bool wapc = spec.at("mode").get_string() == "wapc";
    EXPECT_EQ(p->execution_mode,
              wapc ? kw::ExecutionMode::kubewarden_wapc : kw::ExecutionMode::wasi)
        << name;
    // The annotation step recorded what the guest itself answers (kubewarden.md 3.1).
    EXPECT_EQ(p->metadata.protocol_version, wapc ? "v1" : "Unknown") << name;
    if (wapc) {
      auto version = kw::protocol_version(*p);
      ASSERT_TRUE(version.ok()) << name << ": " << version.error().message;
      EXPECT_EQ(version.value(), "v1") << name;
    }
    ASSERT_TRUE(p->metadata.annotations) << name;
    EXPECT_TRUE(p->metadata.annotations->count("io.kubewarden.kwctl")) << name;
  }
}

TEST(annotated, mutating_flags_follow_the_policies) {
  EXPECT_TRUE(policy("container-resources")->metadata.mutating);
  EXPECT_TRUE(policy("psa-label-enforcer")->metadata.mutating);
  EXPECT_FALSE(policy("pod-privileged")->metadata.mutating);
  EXPECT_EQ(policy("raw-validation-wasi")->metadata.policy_type, kw::PolicyType::raw);
}

TEST(annotated, the_unannotated_module_is_refused_by_the_server_checks) {
  std::string wasm = read_text(std::string(TG_POLICIES_DIR) + "/pod-privileged.unannotated.wasm");
  ASSERT_FALSE(wasm.empty());
  auto p = kw::load_policy(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(wasm.data()), wasm.size()));
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_FALSE(p.value()->has_metadata);
  auto checked = kw::check_policy(*p.value());
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().message, kw::kMissingProtocolVersion);
}

// --- record and replay ------------------------------------------------------------------------

// safe-labels' regexes are pure host helpers, not exchanges with the outside world: nothing is
// recorded, and replaying the (empty) session gives the same verdicts.
TEST(record_replay, safe_labels_regex_calls_need_no_session) {
  auto p = policy("safe-labels");
  ASSERT_TRUE(p);
  const json::value request = fixture_request("req_ingress_labels.json", false);
  const json::value settings = json::parse(R"({"constrained_labels":{"owner":"^team-"}})");
  kw::InteractionRecorder recorder;
  kw::EvalOptions record;
  record.capabilities.recorder = &recorder;
  kw::ValidationResponse live = kw::evaluate(*p, request, settings, record);
  EXPECT_TRUE(recorder.exchanges().empty());

  auto replayer = kw::InteractionReplayer::parse(recorder.to_yaml());
  ASSERT_TRUE(replayer.ok()) << replayer.error().message;
  kw::EvalOptions replay;
  replay.capabilities.replayer = &replayer.value();
  kw::ValidationResponse again = kw::evaluate(*p, request, settings, replay);
  EXPECT_EQ(json::serialize(kw::to_json(again)), json::serialize(kw::to_json(live)));
}

// A guest that asks the host for a DNS lookup with its validation payload and answers whatever
// the host says: the exchange is recorded, and a replay answers from the session alone.
TEST(record_replay, host_call_round_trips_through_a_session_file) {
  using namespace tollgate::test::guests;
  std::vector<uint8_t> wasm =
      test::wat_to_wasm(host_call_guest("kubewarden", "net", "v1/dns_lookup_host"));
  kw::Metadata m;
  m.protocol_version = "v1";
  kw::write_metadata(wasm, m);
  auto loaded = kw::load_policy(wasm);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  const kw::PolicyModule& p = *loaded.value();
  const json::value request = fixture_request("review_pod_privileged.json", false);
  const json::value settings = json::object();

  kw::InteractionRecorder recorder;
  kw::EvalOptions record;
  record.capabilities.recorder = &recorder;
  kw::ValidationResponse live = kw::evaluate(p, request, settings, record);
  // The payload is not a host name: the live lookup fails, and the guest passes the error on.
  EXPECT_FALSE(live.accepted);
  ASSERT_EQ(recorder.exchanges().size(), 1u);
  EXPECT_FALSE(recorder.exchanges()[0].response.ok);
  const std::string session = recorder.to_yaml();
  const std::string path = testing::TempDir() + "/tollgate_policies_session.yml";
  ASSERT_TRUE(recorder.save(path).ok());

  auto replayer = kw::InteractionReplayer::load(path);
  ASSERT_TRUE(replayer.ok()) << replayer.error().message;
  kw::EvalOptions replay;
  replay.capabilities.replayer = &replayer.value();
  kw::ValidationResponse again = kw::evaluate(p, request, settings, replay);
  EXPECT_EQ(json::serialize(kw::to_json(again)), json::serialize(kw::to_json(live)));
  EXPECT_EQ(replayer.value().remaining(), 0u);

  // An edited session answers differently: the replayed payload is what the guest returns.
  json::value edited_answer = json::parse(R"({"accepted":true,"warnings":["from the session"]})");
  kw::InteractionRecorder edited;
  edited.record(recorder.exchanges()[0].request,
                hostabi::HostCallOutcome::success(json::serialize(edited_answer)));
  auto edited_replayer = kw::InteractionReplayer::parse(edited.to_yaml());
  ASSERT_TRUE(edited_replayer.ok()) << edited_replayer.error().message;
  kw::EvalOptions from_session;
  from_session.capabilities.replayer = &edited_replayer.value();
  kw::ValidationResponse answered = kw::evaluate(p, request, settings, from_session);
  EXPECT_TRUE(answered.accepted) << answered.message.value_or("");
  ASSERT_TRUE(answered.warnings);
  EXPECT_EQ((*answered.warnings)[0], "from the session");

  // A replay whose next exchange is a different request fails the call instead of answering.
  auto mismatched = kw::InteractionReplayer::parse(session);
  ASSERT_TRUE(mismatched.ok()) << mismatched.error().message;
  kw::EvalOptions wrong;
  wrong.capabilities.replayer = &mismatched.value();
  kw::ValidationResponse other =
      kw::evaluate(p, fixture_request("review_pod_unprivileged.json", false), settings, wrong);
  EXPECT_FALSE(other.accepted);
  ASSERT_TRUE(other.message);
  EXPECT_NE(other.message->find("replay session mismatch"), std::string::npos) << *other.message;
}

}  // namespace
}  // namespace tollgate
