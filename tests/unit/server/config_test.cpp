// policies.yml and sources.yml parsing (kubewarden.md 1.2, 1.3): defaults, variants, errors.
// SPDX-License-Identifier: Apache-2.0
#include "server/evaluation/config.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace tollgate::server::evaluation {
namespace {

namespace json = boost::json;

TEST(config, individual_policy_with_defaults) {
  auto entries = parse_policies(R"(
pod-privileged:
  module: file:///policies/pod-privileged.wasm
)");
  ASSERT_TRUE(entries) << entries.error().message;
  ASSERT_EQ(entries->size(), 1u);
  const PolicyEntry& e = (*entries)[0];
  EXPECT_EQ(e.id, "pod-privileged");
  const auto& p = std::get<PolicySpec>(e.spec);
  EXPECT_EQ(p.module, "file:///policies/pod-privileged.wasm");
  EXPECT_EQ(p.mode, PolicyMode::protect);
  EXPECT_FALSE(p.allowed_to_mutate);
  EXPECT_TRUE(p.settings.empty());
  EXPECT_TRUE(p.context_aware_resources.empty());
  EXPECT_FALSE(p.message);
  EXPECT_FALSE(p.timeout_eval_seconds);
  EXPECT_FALSE(p.host_capabilities);
}

TEST(config, individual_policy_with_every_field) {
  auto entries = parse_policies(R"(
psp:
  module: registry://ghcr.io/kubewarden/policies/psp-capabilities:v0.1.7
  policyMode: monitor
  allowedToMutate: true
  settings:
    allowed: [NET_ADMIN]
    count: 3
    name: "007"
  contextAwareResources:
    - apiVersion: v1
      kind: Namespace
  message: custom rejection message
  timeoutEvalSeconds: 3
  hostCapabilities: ["*"]
)");
  ASSERT_TRUE(entries) << entries.error().message;
  const auto& p = std::get<PolicySpec>((*entries)[0].spec);
  EXPECT_EQ(p.mode, PolicyMode::monitor);
  EXPECT_TRUE(p.allowed_to_mutate);
  EXPECT_EQ(json::value(p.settings),
            json::parse(R"({"allowed":["NET_ADMIN"],"count":3,"name":"007"})"));
  ASSERT_EQ(p.context_aware_resources.size(), 1u);
  EXPECT_EQ(p.context_aware_resources[0].api_version, "v1");
  EXPECT_EQ(p.context_aware_resources[0].kind, "Namespace");
  EXPECT_EQ(p.message, "custom rejection message");
  EXPECT_EQ(p.timeout_eval_seconds, 3u);
  ASSERT_TRUE(p.host_capabilities);
  EXPECT_EQ(*p.host_capabilities, std::vector<std::string>{"*"});
}

TEST(config, controller_json_with_namespaced_name_ignored_and_null_settings) {
  auto entries = parse_policies(
      R"({"clusterwide-privileged":{"namespacedName":{"Namespace":"","Name":"privileged"},)"
      R"("module":"https://example.com/p.wasm","policyMode":"protect","allowedToMutate":false,)"
      R"("settings":null,"contextAwareResources":[]}})");
  ASSERT_TRUE(entries) << entries.error().message;
  const auto& p = std::get<PolicySpec>((*entries)[0].spec);
  EXPECT_EQ((*entries)[0].id, "clusterwide-privileged");
  EXPECT_EQ(p.module, "https://example.com/p.wasm");
  EXPECT_TRUE(p.settings.empty());
}

TEST(config, policy_group) {
  auto entries = parse_policies(R"Y(
group:
  policyMode: monitor
  expression: "a() || (b() && !c())"
  message: The group policy is rejected.
  policies:
    a:
      module: file:///a.wasm
      settings: {x: 1}
    b:
      module: file:///b.wasm
      timeoutEvalSeconds: 1
    c:
      module: file:///c.wasm
)Y");
  ASSERT_TRUE(entries) << entries.error().message;
  const auto& g = std::get<PolicyGroupSpec>((*entries)[0].spec);
  EXPECT_EQ(g.mode, PolicyMode::monitor);
  EXPECT_EQ(g.expression, "a() || (b() && !c())");
  EXPECT_EQ(g.message, "The group policy is rejected.");
  ASSERT_EQ(g.policies.size(), 3u);
  EXPECT_EQ(g.policies[0].first, "a");
  EXPECT_EQ(json::value(g.policies[0].second.settings), json::parse(R"({"x":1})"));
  EXPECT_EQ(g.policies[1].second.timeout_eval_seconds, 1u);
}

TEST(config, entries_keep_file_order) {
  auto entries = parse_policies("z: {module: a.wasm}\na: {module: b.wasm}\nm: {module: c.wasm}\n");
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].id, "z");
  EXPECT_EQ((*entries)[1].id, "a");
  EXPECT_EQ((*entries)[2].id, "m");
}

void expect_error(std::string_view text, std::string_view fragment) {
  auto entries = parse_policies(text);
  ASSERT_FALSE(entries) << text;
  EXPECT_NE(entries.error().message.find(fragment), std::string::npos) << entries.error().message;
}

TEST(config, errors) {
  expect_error("a/b:\n  module: x.wasm\n", "contains `/`");
  expect_error("p:\n  module: x.wasm\n  settings: [1]\n", "`settings` must be a map");
  expect_error("p:\n  module: x.wasm\n  settings: 3\n", "`settings` must be a map");
  expect_error("p:\n  module: x.wasm\n  policyMode: enforce\n", "unknown variant `enforce`");
  expect_error("p:\n  module: x.wasm\n  allowedToMutate: maybe\n", "`allowedToMutate`");
  expect_error("p:\n  module: x.wasm\n  timeoutEvalSeconds: -1\n", "`timeoutEvalSeconds`");
  expect_error("p:\n  settings: {}\n", "did not match any variant");
  expect_error("- a\n- b\n", "expected a map");
  expect_error("p: [1, 2]\n", "expected a map");
  expect_error("p: {module: [1]}\n", "`module` must be a string");
  expect_error("p:\n  module: x.wasm\n  contextAwareResources: [{kind: Pod}]\n",
               "contextAwareResources");
  expect_error("p: {module: x.wasm\n", "");  // YAML syntax error
}

// yaml-cpp 0.7 reads a stray ',' as endless empty documents (fuzz/corpus/policies_yml/
// regress-yaml-cpp-*): each must be an error, not a server that eats its memory and hangs.
TEST(config, stray_comma_that_makes_yaml_cpp_loop_is_an_error) {
  expect_error(",g:\n", "documents");
  expect_error(std::string("{\x02!(2(") + std::string(15, '\xff') + ") },\"h||os },\"h||ost",
               "documents");
}

TEST(config, group_errors) {
  expect_error("g:\n  expression: a()\n  policies:\n    a: {module: a.wasm}\n",
               "missing field `message`");
  expect_error("g:\n  message: m\n  policies:\n    a: {module: a.wasm}\n",
               "missing field `expression`");
  expect_error(
      "g:\n  expression: a()\n  message: m\n  policies:\n    a: {module: a.wasm, message: x}\n",
      "unknown field `message`");
  expect_error(
      "g:\n  expression: a()\n  message: m\n  policies:\n    a: {module: a.wasm, allowedToMutate: "
      "true}\n",
      "unknown field `allowedToMutate`");
  expect_error("g:\n  expression: a()\n  message: m\n  policies:\n    a/b: {module: a.wasm}\n",
               "contains `/`");
  expect_error("g:\n  expression: a()\n  message: m\n  policies:\n    a: {settings: {}}\n",
               "missing field `module`");
}

TEST(config, empty_file_has_no_policies) {
  auto entries = parse_policies("");
  ASSERT_TRUE(entries);
  EXPECT_TRUE(entries->empty());
}

TEST(config, sources) {
  auto sources = parse_sources(R"(
insecure_sources: ["registry.dev.my-corp.com", "registry-2.dev.my-corp.com:5001"]
source_authorities:
  "registry-2.pre.my-corp.com:5001":
    - {type: Path, path: /path/to/ca.pem}
    - {type: Data, data: "-----BEGIN CERTIFICATE-----"}
)");
  ASSERT_TRUE(sources) << sources.error().message;
  EXPECT_EQ(
      sources->insecure_sources,
      (std::vector<std::string>{"registry.dev.my-corp.com", "registry-2.dev.my-corp.com:5001"}));
  const auto& cas = sources->source_authorities.at("registry-2.pre.my-corp.com:5001");
  ASSERT_EQ(cas.size(), 2u);
  EXPECT_EQ(cas[0].type, SourceAuthority::Type::path);
  EXPECT_EQ(cas[0].value, "/path/to/ca.pem");
  EXPECT_EQ(cas[1].type, SourceAuthority::Type::data);
  EXPECT_EQ(cas[1].value, "-----BEGIN CERTIFICATE-----");
}

TEST(config, sources_errors) {
  EXPECT_FALSE(parse_sources("insecure_sources: 3\n"));
  EXPECT_FALSE(parse_sources("source_authorities:\n  h: [{type: File, path: x}]\n"));
  EXPECT_FALSE(parse_sources("source_authorities:\n  h: [{type: Path}]\n"));
  auto empty = parse_sources("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->insecure_sources.empty());
}

}  // namespace
}  // namespace tollgate::server::evaluation
