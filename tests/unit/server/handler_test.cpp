// api::handle over the evaluation environment: every route and status code, post-processing,
// policy groups, continue-on-errors and timeouts, with the example policies and the fixtures.
// SPDX-License-Identifier: Apache-2.0
#include "server/api/handler.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>
#include <boost/json.hpp>

#include "hostabi/kubewarden/evaluator.hpp"
#include "hostabi/kubewarden/metadata.hpp"
#include "server/api/admission_request.hpp"
#include "server/evaluation/json_patch.hpp"
#include "tests/unit/hostabi/guests.hpp"
#include "tests/utils/wat.hpp"

namespace tollgate::server::api {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
namespace kw = hostabi::kubewarden;
using evaluation::EnvironmentOptions;
using evaluation::EvaluationEnvironment;
using namespace tollgate::test::guests;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string fixture(const std::string& name) {
  std::string text = read_text(fs::path(TG_FIXTURES_DIR) / name);
  EXPECT_FALSE(text.empty()) << name;
  return text;
}

/// An AdmissionReview body: review_* fixtures as they are, bare requests wrapped.
std::string review(const std::string& name) {
  if (name.starts_with("review_"))
    return fixture(name);
  return R"({"request":)" + fixture(name) + "}";
}

/// Per-process scratch directory for annotated modules.
fs::path scratch() {
  static fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("tollgate-server-tests-" + std::to_string(getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

/// Writes `wasm` plus `metadata` (when set) to the scratch directory; returns the path.
std::string write_module(const std::string& name,
                         std::vector<uint8_t> wasm,
                         const std::optional<kw::Metadata>& metadata) {
  if (metadata)
    kw::write_metadata(wasm, *metadata);
  fs::path path = scratch() / (name + ".wasm");
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(wasm.data()), static_cast<std::streamsize>(wasm.size()));
  return path.string();
}

/// An example policy built by the project, annotated with its metadata as `kwctl annotate` does.
std::string example(const char* wasm_path, const char* metadata_path, const std::string& name) {
  std::string bytes = read_text(wasm_path);
  auto metadata = kw::parse_metadata(read_text(metadata_path));
  EXPECT_TRUE(metadata) << name;
  return write_module(name, std::vector<uint8_t>(bytes.begin(), bytes.end()),
                      metadata ? std::optional(*metadata) : std::nullopt);
}

kw::Metadata wapc_metadata() {
  kw::Metadata m;
  m.protocol_version = "v1";
  return m;
}

std::string wat_module(const std::string& name, const std::string& wat) {
  return write_module(name, test::wat_to_wasm(wat), wapc_metadata());
}

/// validate never returns; validate_settings accepts.
std::string looping_guest() {
  Data d;
  Str valid = d.add(R"({"valid":true})");
  std::string body = "(if (i32.eq (local.get $op_len) (i32.const 17)) (then " + respond(valid) +
                     "))\n(loop $l (br $l)) (i32.const 1)\n";
  return wat_module("looping", wapc_guest(d, body));
}

std::string mutating_guest() {
  return wat_module("mutating",
                    policy_guest(R"({"accepted":true,"mutated_object":{"mutated":true}})"));
}

std::string bad_settings_guest() {
  return wat_module("bad-settings", policy_guest(R"({"accepted":true})",
                                                 R"({"valid":false,"message":"bad setting"})"));
}

const std::string& pod_privileged() {
  static std::string p =
      example(TG_POLICY_POD_PRIVILEGED_WASM, TG_POLICY_POD_PRIVILEGED_METADATA, "pod-privileged");
  return p;
}
const std::string& container_resources() {
  static std::string p = example(TG_POLICY_CONTAINER_RESOURCES_WASM,
                                 TG_POLICY_CONTAINER_RESOURCES_METADATA, "container-resources");
  return p;
}
const std::string& require_labels() {
  static std::string p =
      example(TG_POLICY_REQUIRE_LABELS_WASM, TG_POLICY_REQUIRE_LABELS_METADATA, "require-labels");
  return p;
}

const char* kContainerSettings =
    R"({"cpu":{"defaultRequest":"100m","defaultLimit":"500m","maxLimit":"2"},)"
    R"("memory":{"defaultRequest":"128Mi","defaultLimit":"512Mi","maxLimit":"2Gi"}})";

std::unique_ptr<EvaluationEnvironment> build(const std::string& yaml,
                                             EnvironmentOptions options = {}) {
  auto entries = evaluation::parse_policies(yaml);
  EXPECT_TRUE(entries) << (entries ? "" : entries.error().message);
  if (!entries)
    return nullptr;
  if (!options.logger)
    options.logger = std::make_shared<evaluation::Logger>(
        evaluation::LogLevel::error, evaluation::LogFormat::text, [](std::string_view) {});
  auto env = EvaluationEnvironment::build(std::move(entries).value(), std::move(options));
  EXPECT_TRUE(env) << (env ? "" : env.error().message);
  return env ? std::move(env).value() : nullptr;
}

HttpResponse post(const EvaluationEnvironment& env,
                  const std::string& target,
                  const std::string& body,
                  const std::string& content_type = "application/json") {
  return handle(env, HttpRequest{"POST", target, content_type, body});
}

json::value response_of(const HttpResponse& r) {
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  json::value v = json::parse(r.body);
  return v.at("response");
}

/// The main environment most tests share.
class Handler : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string yaml;
    yaml += "privileged:\n  module: " + pod_privileged() + "\n";
    yaml += "privileged-monitor:\n  module: " + pod_privileged() + "\n  policyMode: monitor\n";
    yaml += "privileged-custom:\n  module: file://" + pod_privileged() +
            "\n  message: custom rejection\n";
    yaml += "resources:\n  module: " + container_resources() +
            "\n  allowedToMutate: true\n  settings: " + kContainerSettings + "\n";
    yaml += "resources-no-mutate:\n  module: " + container_resources() +
            "\n  settings: " + kContainerSettings + "\n";
    yaml += "mutating:\n  module: " + mutating_guest() + "\n  allowedToMutate: true\n";
    yaml += "looping:\n  module: " + looping_guest() + "\n  timeoutEvalSeconds: 1\n";
    yaml +=
        "group:\n  expression: privileged() && labels()\n  message: group rejected\n"
        "  policies:\n    privileged:\n      module: " +
        pod_privileged() + "\n    labels:\n      module: " + require_labels() +
        "\n      settings: {required_labels: [team]}\n";
    yaml +=
        "group-mutating:\n  expression: \"!mutates() || privileged()\"\n  message: no\n"
        "  policies:\n    mutates:\n      module: " +
        mutating_guest() + "\n    privileged:\n      module: " + pod_privileged() + "\n";
#ifdef TG_POLICY_RAW_VALIDATION_WASI_WASM
    yaml +=
        "raw:\n  module: " +
        example(TG_POLICY_RAW_VALIDATION_WASI_WASM, TG_POLICY_RAW_VALIDATION_WASI_METADATA,
                "raw-validation-wasi") +
        "\n  settings: {valid_users: [tonio], valid_actions: [eats], valid_resources: [banana]}\n";
#endif
    EnvironmentOptions options;
    options.always_accept_namespace = "kubewarden";
    options.workers = 2;
    env_ = build(yaml, options).release();
  }
  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(env_, nullptr);
  }

  static EvaluationEnvironment* env_;
};
EvaluationEnvironment* Handler::env_ = nullptr;

TEST_F(Handler, accept) {
  HttpResponse r = post(*env_, "/validate/privileged", review("review_pod_unprivileged.json"));
  json::value full = json::parse(r.body);
  EXPECT_EQ(full.at("kind"), "AdmissionReview");
  EXPECT_EQ(full.at("apiVersion"), "admission.k8s.io/v1");
  json::value resp = response_of(r);
  json::value request = json::parse(review("review_pod_unprivileged.json")).at("request");
  EXPECT_EQ(resp.at("uid"), request.at("uid"));
  EXPECT_EQ(resp.at("allowed"), true);
  EXPECT_FALSE(resp.as_object().contains("status"));
  EXPECT_TRUE(resp.at("auditAnnotations").is_null());
  EXPECT_TRUE(resp.at("warnings").is_null());
}

TEST_F(Handler, reject_with_message) {
  json::value resp =
      response_of(post(*env_, "/validate/privileged", review("review_pod_privileged.json")));
  EXPECT_EQ(resp.at("allowed"), false);
  EXPECT_EQ(resp.at("status"), json::parse(R"({"message":"Privileged container is not allowed"})"));
  resp = response_of(
      post(*env_, "/validate/privileged", review("req_pod_privileged_init_container.json")));
  EXPECT_EQ(resp.at("status").at("message"), "Privileged init container is not allowed");
}

TEST_F(Handler, reject_with_code) {
  // container-resources rejects limits above maxLimit with code 400.
  json::value request = json::parse(fixture("req_pod_no_privileged.json"));
  json::object& container = request.at("object").at("spec").at("containers").at(0).as_object();
  container["resources"] = json::parse(R"({"limits":{"cpu":"64"}})");
  json::value resp = response_of(
      post(*env_, "/validate/resources", json::serialize(json::object{{"request", request}})));
  EXPECT_EQ(resp.at("allowed"), false);
  EXPECT_EQ(resp.at("status").at("code"), 400);
  EXPECT_TRUE(resp.at("status").at("message").is_string());
}

TEST_F(Handler, mutation_patch_applies_to_the_mutated_object) {
  std::string body = review("review_pod_unprivileged.json");
  json::value resp = response_of(post(*env_, "/validate/resources", body));
  EXPECT_EQ(resp.at("allowed"), true);
  EXPECT_EQ(resp.at("patchType"), "JSONPatch");
  auto patch = evaluation::decode_patch(resp.at("patch").as_string());
  ASSERT_TRUE(patch);
  json::value object = json::parse(body).at("request").at("object");
  json::value expected = object;
  json::value resources = json::parse(
      R"({"limits":{"memory":"512Mi","cpu":"500m"},"requests":{"memory":"128Mi","cpu":"100m"}})");
  expected.at("spec").at("containers").at(0).as_object()["resources"] = resources;
  expected.at("spec").at("containers").at(1).as_object()["resources"] = resources;
  ASSERT_TRUE(evaluation::json_patch::apply(object, *patch));
  EXPECT_EQ(object, expected);
}

TEST_F(Handler, mutation_not_allowed) {
  json::value resp = response_of(
      post(*env_, "/validate/resources-no-mutate", review("review_pod_unprivileged.json")));
  EXPECT_EQ(resp.at("allowed"), false);
  EXPECT_FALSE(resp.as_object().contains("patch"));
  EXPECT_EQ(resp.at("status"),
            json::parse(R"({"message":"Request rejected by policy resources-no-mutate. The policy )"
                        R"(attempted to mutate the request, but it is currently configured to not )"
                        R"(allow mutations."})"));
}

TEST_F(Handler, delete_mutation_rejected) {
  json::value resp = response_of(post(*env_, "/validate/mutating", review("req_pod_delete.json")));
  EXPECT_EQ(resp.at("allowed"), false);
  EXPECT_EQ(resp.at("status").at("message").as_string(), evaluation::kDeleteMutationMessage);
  EXPECT_FALSE(resp.at("status").as_object().contains("code"));
}

TEST_F(Handler, monitor_mode_accepts_and_audit_sees_the_real_verdict) {
  json::value resp = response_of(
      post(*env_, "/validate/privileged-monitor", review("review_pod_privileged.json")));
  EXPECT_EQ(resp.at("allowed"), true);
  EXPECT_FALSE(resp.as_object().contains("status"));
  resp =
      response_of(post(*env_, "/audit/privileged-monitor", review("review_pod_privileged.json")));
  EXPECT_EQ(resp.at("allowed"), false);
  EXPECT_EQ(resp.at("status").at("message"), "Privileged container is not allowed");
}

TEST_F(Handler, custom_message) {
  json::value resp =
      response_of(post(*env_, "/validate/privileged-custom", review("review_pod_privileged.json")));
  EXPECT_EQ(resp.at("status"),
            json::parse(R"({"message":"custom rejection","details":{"causes":[{"reason":null,)"
                        R"("message":"Privileged container is not allowed","field":null}]}})"));
  // /audit skips it.
  resp = response_of(post(*env_, "/audit/privileged-custom", review("review_pod_privileged.json")));
  EXPECT_EQ(resp.at("status").at("message"), "Privileged container is not allowed");
}

TEST_F(Handler, unknown_policy_is_404) {
  for (std::string route : {"/validate/", "/audit/", "/validate_raw/"}) {
    HttpResponse r = post(*env_, route + "nope", review("review_pod_privileged.json"));
    EXPECT_EQ(r.status, 404u) << route;
    EXPECT_EQ(r.body, R"({"message":"unknown policy: nope","status":404})");
  }
}

// A policy id is one percent-decoded path segment; axum answers 400 when it is not UTF-8, and it
// must never reach a JSON body raw (fuzz/corpus/http_handler/regress-404-invalid-utf8).
TEST_F(Handler, policy_id_that_is_not_utf8_is_400) {
  for (const char* route : {"/validate/", "/audit/", "/validate_raw/"}) {
    auto r = post(*env_, std::string(route) + "%FF", "{}");
    EXPECT_EQ(r.status, 400u) << route;
    EXPECT_EQ(r.body.find('\xff'), std::string::npos) << route;
    EXPECT_EQ(
        post(*env_, std::string(route) + "%C3%A9t%C3%A9", review("review_pod_privileged.json"))
            .status,
        404u)
        << route;
  }
}

TEST_F(Handler, malformed_json_is_400) {
  HttpResponse r = post(*env_, "/validate/privileged", "{\"request\": ");
  EXPECT_EQ(r.status, 400u);
  json::value body = json::parse(r.body);
  EXPECT_EQ(body.at("status"), 400);
  EXPECT_TRUE(
      body.at("message").as_string().starts_with("Failed to parse the request body as JSON"));
  // /audit answers in plain text.
  r = post(*env_, "/audit/privileged", "not json");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.content_type.find("text/plain"), 0u);
}

TEST_F(Handler, wrong_shape_is_422) {
  for (std::string body :
       {R"({})", R"([])", R"({"request":{}})",
        R"({"request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"}}})",
        R"({"request":{"uid":1}})"}) {
    HttpResponse r = post(*env_, "/validate/privileged", body);
    EXPECT_EQ(r.status, 422u) << body;
    json::value error = json::parse(r.body);
    EXPECT_EQ(error.at("status"), 422);
    EXPECT_TRUE(error.at("message").as_string().starts_with(
        "Failed to deserialize the JSON body into the target type"));
  }
  EXPECT_EQ(post(*env_, "/validate_raw/privileged", "{}").status, 422u);
  // The body is checked before the policy id.
  EXPECT_EQ(post(*env_, "/validate/nope", "{}").status, 422u);
}

TEST_F(Handler, wrong_content_type_is_415) {
  std::string body = review("review_pod_privileged.json");
  for (std::string type : {"", "text/plain", "application/xml"}) {
    HttpResponse r = post(*env_, "/validate/privileged", body, type);
    EXPECT_EQ(r.status, 415u) << type;
    EXPECT_EQ(json::parse(r.body).at("status"), 415);
  }
  EXPECT_EQ(post(*env_, "/validate/privileged", body, "application/json; charset=utf-8").status,
            200u);
  EXPECT_EQ(post(*env_, "/validate_raw/privileged", body, "text/plain").status, 415u);
}

TEST_F(Handler, other_paths_and_methods) {
  EXPECT_EQ(post(*env_, "/mutate/privileged", "{}").status, 404u);
  EXPECT_EQ(post(*env_, "/validate/", "{}").status, 404u);
  EXPECT_EQ(post(*env_, "/validate/a/b", "{}").status, 404u);
  EXPECT_EQ(handle(*env_, HttpRequest{"GET", "/validate/privileged", "", ""}).status, 405u);
  // A query string is not part of the id.
  EXPECT_EQ(
      post(*env_, "/validate/privileged?timeout=10s", review("review_pod_privileged.json")).status,
      200u);
}

TEST_F(Handler, always_accept_namespace) {
  json::value request = json::parse(fixture("review_pod_privileged.json")).at("request");
  request.as_object()["namespace"] = "kubewarden";
  std::string body = json::serialize(json::object{{"request", request}});
  // The looping policy would time out if it ran.
  auto start = std::chrono::steady_clock::now();
  for (std::string route : {"/validate/looping", "/audit/looping", "/validate/privileged"}) {
    json::value resp = response_of(post(*env_, route, body));
    EXPECT_EQ(resp, json::parse(R"({"uid":")" + std::string(request.at("uid").as_string()) +
                                R"(","allowed":true,"auditAnnotations":null,"warnings":null})"));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  EXPECT_EQ(post(*env_, "/validate/nope", body).status, 404u);
}

TEST_F(Handler, group_accepts_and_rejects) {
  // Unprivileged pod without the `team` label: privileged() passes, labels() fails.
  json::value request = json::parse(fixture("req_pod_no_privileged.json"));
  json::value resp = response_of(
      post(*env_, "/validate/group", json::serialize(json::object{{"request", request}})));
  EXPECT_EQ(resp.at("allowed"), false);
  json::value status = resp.at("status");
  EXPECT_EQ(status.at("message"), "group rejected");
  EXPECT_FALSE(status.as_object().contains("code"));
  json::array causes = status.at("details").at("causes").as_array();
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].at("field"), "spec.policies.labels");
  EXPECT_TRUE(causes[0].at("message").as_string().starts_with("The following required labels"));

  request.at("object").at("metadata").at("labels").as_object()["team"] = "platform";
  resp = response_of(
      post(*env_, "/validate/group", json::serialize(json::object{{"request", request}})));
  EXPECT_EQ(resp.at("allowed"), true) << resp;
  EXPECT_FALSE(resp.as_object().contains("status"));

  // Short-circuit: a privileged pod fails the first member; the second never runs.
  resp = response_of(post(*env_, "/validate/group", review("review_pod_privileged.json")));
  causes = resp.at("status").at("details").at("causes").as_array();
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].at("field"), "spec.policies.privileged");
}

TEST_F(Handler, group_member_mutation_counts_as_rejection) {
  // !mutates() is true because the mutation is a rejection; the group then accepts.
  json::value resp =
      response_of(post(*env_, "/validate/group-mutating", review("review_pod_privileged.json")));
  EXPECT_EQ(resp.at("allowed"), true);
  EXPECT_FALSE(resp.as_object().contains("patch"));
}

TEST_F(Handler, timeout) {
  auto start = std::chrono::steady_clock::now();
  json::value resp =
      response_of(post(*env_, "/validate/looping", review("review_pod_privileged.json")));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(resp.at("allowed"), false);
  EXPECT_EQ(resp.at("status"),
            json::parse(R"({"message":"Policy execution interrupted because it exceeded the )"
                        R"(allowed execution time","code":500})"));
}

TEST_F(Handler, metrics_recorded) {
  post(*env_, "/audit/privileged", review("review_pod_privileged.json"));
  std::string text = env_->metrics().render_prometheus();
  EXPECT_NE(
      text.find(
          R"(accepted="false",mutated="false",policy_mode="protect",policy_name="privileged",request_origin="audit",resource_kind="Pod",resource_namespace="default",resource_request_operation="CREATE"})"),
      std::string::npos)
      << text;
}

#ifdef TG_POLICY_RAW_VALIDATION_WASI_WASM
TEST_F(Handler, validate_raw) {
  HttpResponse r = post(*env_, "/validate_raw/raw", fixture("review_raw.json"));
  json::value full = json::parse(r.body);
  EXPECT_FALSE(full.as_object().contains("kind"));
  json::value resp = response_of(r);
  EXPECT_EQ(resp.at("uid"), "");
  EXPECT_EQ(resp.at("allowed"), true);
  resp = response_of(
      post(*env_, "/validate_raw/raw", R"({"request":)" + fixture("raw_validation.json") + "}"));
  EXPECT_EQ(resp.at("allowed"), false);
  EXPECT_EQ(resp.at("status").at("message"),
            "not allowed: tonio eats hay (resource not in valid_resources)");
}
#endif

TEST_F(Handler, validate_raw_mutation_diffs_the_whole_request) {
  json::value resp = response_of(
      post(*env_, "/validate_raw/mutating", R"({"request":{"uid":"r1","user":"tonio"}})"));
  EXPECT_EQ(resp.at("uid"), "r1");
  auto patch = evaluation::decode_patch(resp.at("patch").as_string());
  ASSERT_TRUE(patch);
  json::value doc = json::parse(R"({"uid":"r1","user":"tonio"})");
  ASSERT_TRUE(evaluation::json_patch::apply(doc, *patch));
  EXPECT_EQ(doc, json::parse(R"({"mutated":true})"));
}

TEST_F(Handler, concurrent_requests) {
  std::vector<std::thread> threads;
  std::atomic<int> rejected{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        HttpResponse r = post(*env_, "/validate/privileged", review("review_pod_privileged.json"));
        if (r.status == 200 && json::parse(r.body).at("response").at("allowed") == false)
          ++rejected;
      }
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(rejected, 20);
}

// --- start-up ---------------------------------------------------------------------------------

runtime::Result<std::unique_ptr<EvaluationEnvironment>> try_build(const std::string& yaml,
                                                                  EnvironmentOptions options = {}) {
  auto entries = evaluation::parse_policies(yaml);
  if (!entries)
    return entries.take_error();
  options.logger = std::make_shared<evaluation::Logger>(
      evaluation::LogLevel::error, evaluation::LogFormat::text, [](std::string_view) {});
  return EvaluationEnvironment::build(std::move(entries).value(), std::move(options));
}

TEST(Startup, invalid_settings_fail_start_up) {
  auto env = try_build("p:\n  module: " + bad_settings_guest() + "\n");
  ASSERT_FALSE(env);
  EXPECT_NE(env.error().message.find("Policy settings are invalid: bad setting"), std::string::npos)
      << env.error().message;
  env = try_build("p:\n  module: " + require_labels() + "\n  settings: {required_labels: 3}\n");
  ASSERT_FALSE(env);
  EXPECT_NE(env.error().message.find("Policy settings are invalid: "), std::string::npos);
}

TEST(Startup, continue_on_errors_turns_broken_policies_into_rejections) {
  EnvironmentOptions options;
  options.continue_on_errors = true;
  auto env = try_build("broken:\n  module: " + bad_settings_guest() +
                           "\nmissing:\n  module: " + (scratch() / "no-such.wasm").string() +
                           "\nfine:\n  module: " + pod_privileged() + "\n",
                       options);
  ASSERT_TRUE(env) << env.error().message;
  EXPECT_EQ((*env)->initialization_errors().size(), 2u);
  json::value resp =
      response_of(post(**env, "/validate/broken", review("review_pod_unprivileged.json")));
  EXPECT_EQ(resp.at("allowed"), false);
  EXPECT_EQ(resp.at("status"),
            json::parse(R"({"message":"Policy settings are invalid: bad setting","code":500})"));
  resp = response_of(post(**env, "/validate/missing", review("review_pod_unprivileged.json")));
  EXPECT_EQ(resp.at("status").at("code"), 500);
  EXPECT_TRUE(resp.at("status").at("message").as_string().starts_with(
      "Error while downloading policy 'missing'"));
  resp = response_of(post(**env, "/validate/fine", review("review_pod_unprivileged.json")));
  EXPECT_EQ(resp.at("allowed"), true);
  EXPECT_NE((*env)->metrics().render_prometheus().find(
                R"(initialization_error="Policy settings are invalid: bad setting")"),
            std::string::npos);
}

TEST(Startup, module_url_errors) {
  auto env = try_build("p:\n  module: registry://ghcr.io/kubewarden/policies/x:v1\n");
  ASSERT_FALSE(env);
  EXPECT_NE(env.error().message.find("registry:// module URLs are not supported yet"),
            std::string::npos);
  env = try_build("p:\n  module: ghcr.io/kubewarden/policies/x:v1\n");
  ASSERT_FALSE(env);
  EXPECT_NE(env.error().message.find("registry:// module URLs are not supported yet"),
            std::string::npos);
  env = try_build("p:\n  module: https://example.com/x.wasm\n");
  ASSERT_FALSE(env);
  EXPECT_NE(env.error().message.find("Error while downloading policy 'p'"), std::string::npos);
}

TEST(Startup, https_modules_come_from_the_fetcher_once_per_url) {
  EnvironmentOptions options;
  int fetches = 0;
  std::string wasm_path = pod_privileged();
  options.fetch_https = [&](const std::string& url) -> runtime::Result<std::vector<uint8_t>> {
    ++fetches;
    EXPECT_EQ(url, "https://example.com/p.wasm");
    std::string bytes = read_text(wasm_path);
    return std::vector<uint8_t>(bytes.begin(), bytes.end());
  };
  auto env = try_build(
      "a: {module: \"https://example.com/p.wasm\"}\n"
      "b: {module: \"https://example.com/p.wasm\"}\n",
      options);
  ASSERT_TRUE(env) << env.error().message;
  EXPECT_EQ(fetches, 1);
  EXPECT_EQ((*env)->policy_ids(), (std::vector<std::string>{"a", "b"}));
}

TEST(Startup, waPC_module_needs_protocol_version) {
  std::string path = write_module(
      "no-metadata", test::wat_to_wasm(policy_guest(R"({"accepted":true})")), std::nullopt);
  auto env = try_build("p:\n  module: " + path + "\n");
  ASSERT_FALSE(env);
  EXPECT_NE(env.error().message.find(kw::kMissingProtocolVersion), std::string::npos)
      << env.error().message;
}

TEST(Startup, group_expression_errors) {
  std::string member = "  policies:\n    a:\n      module: " + pod_privileged() + "\n";
  auto env = try_build("g:\n  expression: a() +\n  message: m\n" + member);
  ASSERT_FALSE(env);
  EXPECT_NE(env.error().message.find("error evaluating policy group expression"),
            std::string::npos);
  env = try_build("g:\n  expression: a() && b()\n  message: m\n" + member);
  ASSERT_FALSE(env);
  EXPECT_NE(env.error().message.find("Function not found: b"), std::string::npos);
  EnvironmentOptions options;
  options.continue_on_errors = true;
  env = try_build("g:\n  expression: a() && b()\n  message: m\n" + member, options);
  ASSERT_TRUE(env);
  json::value resp =
      response_of(post(**env, "/validate/g", review("review_pod_unprivileged.json")));
  EXPECT_EQ(resp.at("status").at("code"), 500);
}

TEST(Startup, disable_timeout_protection_and_timeout_override) {
  // The global timeout (1 s) applies when the policy sets none.
  EnvironmentOptions options;
  options.policy_timeout = std::chrono::seconds(1);
  auto env = try_build("p:\n  module: " + looping_guest() + "\n", options);
  ASSERT_TRUE(env);
  json::value resp = response_of(post(**env, "/validate/p", review("review_pod_privileged.json")));
  EXPECT_EQ(resp.at("status").at("code"), 500);
}

TEST(AdmissionRequest, unknown_fields_dropped_and_order_fixed) {
  json::value in = json::parse(
      R"({"extra":1,"operation":"CREATE","uid":"u","userInfo":{"username":"me","bogus":2},)"
      R"("kind":{"group":"","version":"v1","kind":"Pod","x":1},)"
      R"("resource":{"group":"","version":"v1","resource":"pods"},"object":{"a":1},"oldObject":null,)"
      R"("namespace":"ns","dryRun":false})");
  auto out = parse_admission_request(in);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(
      json::serialize(*out),
      R"({"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},)"
      R"("resource":{"group":"","version":"v1","resource":"pods"},"namespace":"ns",)"
      R"("operation":"CREATE","userInfo":{"username":"me"},"object":{"a":1},"dryRun":false})");
  for (std::string field : {"uid", "kind", "resource", "operation", "userInfo"}) {
    json::value missing = in;
    missing.as_object().erase(field);
    auto r = parse_admission_request(missing);
    ASSERT_FALSE(r) << field;
    EXPECT_NE(r.error().message.find("missing field `" + field + "`"), std::string::npos);
  }
}

}  // namespace
}  // namespace tollgate::server::api
