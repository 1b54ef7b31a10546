// `tollgate manifests`: controller ids, policies.yml that the server reads back, webhook shape.
// SPDX-License-Identifier: Apache-2.0
#include "server/cli/manifests_command.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "server/evaluation/config.hpp"
#include "server/evaluation/yaml_json.hpp"

namespace tollgate::server::cli {
namespace {

namespace json = boost::json;

const char* kPolicies = R"Y(
apiVersion: policies.kubewarden.io/v1
kind: ClusterAdmissionPolicy
metadata: {name: privileged-pods}
spec:
  module: registry://ghcr.io/kubewarden/policies/pod-privileged:v0.2.2
  rules: [{apiGroups: [""], apiVersions: [v1], resources: [pods], operations: [CREATE]}]
  mutating: false
  settings: {skip: "true"}
  namespaceSelector: {matchLabels: {team: a}}
---
apiVersion: policies.kubewarden.io/v1
kind: AdmissionPolicy
metadata: {name: psa, namespace: team-a}
spec:
  module: file:///policies/psa.wasm
  mode: monitor
  mutating: true
  message: custom
  timeoutSeconds: 5
  rules: [{apiGroups: [""], apiVersions: [v1], resources: [namespaces], operations: [CREATE]}]
---
apiVersion: policies.kubewarden.io/v1
kind: ClusterAdmissionPolicyGroup
metadata: {name: images}
spec:
  expression: "a() || b()"
  message: rejected
  policies:
    a: {module: file:///a.wasm}
    b: {module: file:///b.wasm, settings: {x: 1}}
  rules: []
)Y";

std::vector<json::value> docs(std::string_view text) {
  auto parsed = evaluation::parse_yaml_documents(text);
  EXPECT_TRUE(parsed);
  return parsed ? *parsed : std::vector<json::value>();
}

TEST(manifests, unique_names) {
  auto d = docs(kPolicies);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(unique_name(d[0]), "clusterwide-privileged-pods");
  EXPECT_EQ(unique_name(d[1]), "namespaced-team-a-psa");
  EXPECT_EQ(unique_name(d[2]), "clusterwide-group-images");
  EXPECT_FALSE(unique_name(json::parse(R"({"kind":"Pod"})")));
}

TEST(manifests, policies_yml_reads_back) {
  ManifestOptions options;
  options.ca_bundle = "CA";
  auto m = render_manifests(docs(kPolicies), options);
  ASSERT_TRUE(m) << m.error().message;
  auto entries = evaluation::parse_policies(json::serialize(m->policies));
  ASSERT_TRUE(entries) << entries.error().message;
  ASSERT_EQ(entries->size(), 3u);
  const auto& p = std::get<evaluation::PolicySpec>((*entries)[0].spec);
  EXPECT_EQ(p.module, "registry://ghcr.io/kubewarden/policies/pod-privileged:v0.2.2");
  EXPECT_EQ(json::value(p.settings), json::parse(R"({"skip":"true"})"));
  const auto& psa = std::get<evaluation::PolicySpec>((*entries)[1].spec);
  EXPECT_EQ(psa.mode, evaluation::PolicyMode::monitor);
  EXPECT_TRUE(psa.allowed_to_mutate);
  EXPECT_EQ(psa.message, "custom");
  const auto& group = std::get<evaluation::PolicyGroupSpec>((*entries)[2].spec);
  EXPECT_EQ(group.expression, "a() || b()");
  EXPECT_EQ(group.policies.size(), 2u);
}

TEST(manifests, webhooks) {
  ManifestOptions options;
  options.ca_bundle = "CA";
  options.namespace_ = "tollgate-system";
  auto m = render_manifests(docs(kPolicies), options);
  ASSERT_TRUE(m);
  auto out = docs(m->yaml);
  std::vector<std::string> kinds;
  for (const json::value& d : out)
    kinds.emplace_back(d.at("kind").as_string());
  EXPECT_EQ(kinds, (std::vector<std::string>{"ConfigMap", "Deployment", "Service",
                                             "ValidatingWebhookConfiguration",
                                             "MutatingWebhookConfiguration"}));
  json::array validating = out[3].at("webhooks").as_array();
  ASSERT_EQ(validating.size(), 2u);
  json::value hook = validating[0];
  EXPECT_EQ(hook.at("name"), "clusterwide-privileged-pods.kubewarden.admission");
  EXPECT_EQ(hook.at("clientConfig").at("service").at("path"),
            "/validate/clusterwide-privileged-pods");
  EXPECT_EQ(hook.at("clientConfig").at("service").at("namespace"), "tollgate-system");
  EXPECT_EQ(hook.at("clientConfig").at("caBundle"), "Q0E=");
  EXPECT_EQ(hook.at("admissionReviewVersions"), json::parse(R"(["v1"])"));
  EXPECT_EQ(hook.at("namespaceSelector").at("matchLabels").at("team"), "a");
  EXPECT_EQ(hook.at("namespaceSelector").at("matchExpressions").at(0).at("values").at(0),
            "tollgate-system");
  json::value mutating = out[4].at("webhooks").at(0);
  EXPECT_EQ(mutating.at("clientConfig").at("service").at("path"),
            "/validate/namespaced-team-a-psa");
  EXPECT_EQ(mutating.at("namespaceSelector").at("matchLabels").at("kubernetes.io/metadata.name"),
            "team-a");
  EXPECT_EQ(mutating.at("timeoutSeconds"), 5);
  // The ConfigMap carries the same policies.yml.
  EXPECT_EQ(json::parse(out[0].at("data").at("policies.yml").as_string()),
            json::value(m->policies));
  EXPECT_EQ(out[2].at("spec").at("ports").at(0).at("targetPort"), 8443);
}

TEST(manifests, errors) {
  EXPECT_FALSE(render_manifests(docs("kind: Pod\nmetadata: {name: x}\n"), {}));
  EXPECT_FALSE(render_manifests(
      docs("kind: AdmissionPolicy\nmetadata: {name: x}\nspec: {module: a.wasm}\n"), {}));
  EXPECT_FALSE(render_manifests(docs("kind: ClusterAdmissionPolicy\nmetadata: {name: x}\n"), {}));
}

TEST(manifests, policy_server_filter) {
  ManifestOptions options;
  options.policy_server = "other";
  auto m = render_manifests(docs(kPolicies), options);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->policies.empty());
}

}  // namespace
}  // namespace tollgate::server::cli
