// `tollgate manifests`: Kubewarden policy YAML to policies.yml and plain-webhook manifests.
// SPDX-License-Identifier: Apache-2.0
#include "server/cli/manifests_command.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <yaml-cpp/yaml.h>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/json.hpp>

#include "server/evaluation/yaml_json.hpp"

namespace tollgate::server::cli {
namespace {

namespace json = boost::json;
using runtime::Error;
using runtime::ErrorKind;

Error manifest_error(const std::string& what) {
  return Error{ErrorKind::invalid, 0, what};
}

std::string string_at(const json::value& value, std::string_view key) {
  const json::object* o = value.if_object();
  const json::value* v = o ? o->if_contains(key) : nullptr;
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

const json::value* member(const json::value& value, std::string_view key) {
  const json::object* o = value.if_object();
  const json::value* v = o ? o->if_contains(key) : nullptr;
  return v && !v->is_null() ? v : nullptr;
}

std::string base64(std::string_view bytes) {
  namespace b64 = boost::beast::detail::base64;
  std::string out(b64::encoded_size(bytes.size()), '\0');
  out.resize(b64::encode(out.data(), bytes.data(), bytes.size()));
  return out;
}

bool is_group(std::string_view kind) {
  return kind == "ClusterAdmissionPolicyGroup" || kind == "AdmissionPolicyGroup";
}

bool is_namespaced(std::string_view kind) {
  return kind == "AdmissionPolicy" || kind == "AdmissionPolicyGroup";
}

/// The fields policies.yml shares between a policy and a group member.
void copy_module_fields(const json::value& spec, json::object& out) {
  out["module"] = string_at(spec, "module");
  const json::value* settings = member(spec, "settings");
  out["settings"] = settings && settings->is_object() ? *settings : json::value(json::object());
  if (const json::value* car = member(spec, "contextAwareResources"))
    out["contextAwareResources"] = *car;
  if (const json::value* t = member(spec, "timeoutEvalSeconds"))
    out["timeoutEvalSeconds"] = *t;
  if (const json::value* h = member(spec, "hostCapabilities"))
    out["hostCapabilities"] = *h;
}

runtime::Result<json::object> policies_entry(const json::value& policy) {
  std::string kind = string_at(policy, "kind");
  const json::value* spec = member(policy, "spec");
  if (spec == nullptr)
    return manifest_error(kind + " " + string_at(*member(policy, "metadata"), "name") +
                          ": missing spec");
  json::object entry;
  std::string mode = string_at(*spec, "mode");
  entry["policyMode"] = mode.empty() ? "protect" : mode;
  if (is_group(kind)) {
    entry["expression"] = string_at(*spec, "expression");
    entry["message"] = string_at(*spec, "message");
    json::object members;
    if (const json::value* policies = member(*spec, "policies");
        policies && policies->is_object()) {
      for (const auto& m : policies->get_object()) {
        json::object out;
        copy_module_fields(m.value(), out);
        members[m.key()] = std::move(out);
      }
    }
    entry["policies"] = std::move(members);
    return entry;
  }
  if (string_at(*spec, "module").empty())
    return manifest_error(kind + ": spec.module is required");
  copy_module_fields(*spec, entry);
  const json::value* mutating = member(*spec, "mutating");
  entry["allowedToMutate"] = mutating && mutating->is_bool() && mutating->get_bool();
  if (const json::value* message = member(*spec, "message"))
    entry["message"] = *message;
  return entry;
}

json::object webhook(const json::value& policy,
                     const std::string& id,
                     const ManifestOptions& options) {
  const json::value& spec = *member(policy, "spec");
  std::string kind = string_at(policy, "kind");
  json::object hook;
  hook["name"] = id + ".kubewarden.admission";
  json::object service{{"name", options.name},
                       {"namespace", options.namespace_},
                       {"path", "/validate/" + id},
                       {"port", 443}};
  json::object client{{"service", std::move(service)}};
  if (!options.ca_bundle.empty())
    client["caBundle"] = base64(options.ca_bundle);
  hook["clientConfig"] = std::move(client);
  const json::value* rules = member(spec, "rules");
  hook["rules"] = rules ? *rules : json::value(json::array());
  std::string failure = string_at(spec, "failurePolicy");
  hook["failurePolicy"] = failure.empty() ? "Fail" : failure;
  std::string match = string_at(spec, "matchPolicy");
  hook["matchPolicy"] = match.empty() ? "Equivalent" : match;
  if (is_namespaced(kind)) {
    // A namespaced policy only sees its own namespace.
    hook["namespaceSelector"] = json::object{
        {"matchLabels", json::object{{"kubernetes.io/metadata.name",
                                      string_at(*member(policy, "metadata"), "namespace")}}}};
  } else {
    // Cluster-wide policies never see tollgate's own namespace, so it cannot lock itself out.
    json::value selector = member(spec, "namespaceSelector") ? *member(spec, "namespaceSelector")
                                                             : json::value(json::object());
    json::array expressions;
    if (const json::value* existing = member(selector, "matchExpressions");
        existing && existing->is_array())
      expressions = existing->get_array();
    expressions.push_back(json::object{{"key", "kubernetes.io/metadata.name"},
                                       {"operator", "NotIn"},
                                       {"values", json::array{json::value(options.namespace_)}}});
    selector.as_object()["matchExpressions"] = std::move(expressions);
    hook["namespaceSelector"] = std::move(selector);
  }
  if (const json::value* object_selector = member(spec, "objectSelector"))
    hook["objectSelector"] = *object_selector;
  std::string side_effects = string_at(spec, "sideEffects");
  hook["sideEffects"] = side_effects.empty() ? "None" : side_effects;
  const json::value* timeout = member(spec, "timeoutSeconds");
  hook["timeoutSeconds"] = timeout ? *timeout : json::value(10);
  hook["admissionReviewVersions"] = json::array{"v1"};
  return hook;
}

json::object metadata(const std::string& name, const ManifestOptions& options, bool namespaced) {
  json::object m{{"name", name}};
  if (namespaced)
    m["namespace"] = options.namespace_;
  m["labels"] = json::object{{"app.kubernetes.io/name", options.name},
                             {"app.kubernetes.io/component", "policy-server"}};
  return m;
}

json::object deployment(const ManifestOptions& options) {
  json::array env = {
      json::object{{"name", "KUBEWARDEN_CERT_FILE"}, {"value", "/pki/tls.crt"}},
      json::object{{"name", "KUBEWARDEN_KEY_FILE"}, {"value", "/pki/tls.key"}},
      json::object{{"name", "KUBEWARDEN_PORT"}, {"value", "8443"}},
      json::object{{"name", "KUBEWARDEN_READINESS_PROBE_PORT"}, {"value", "8081"}},
      json::object{{"name", "KUBEWARDEN_POLICIES"}, {"value", "/config/policies.yml"}},
      json::object{{"name", "KUBEWARDEN_POLICIES_DOWNLOAD_DIR"}, {"value", "/tmp"}},
      json::object{{"name", "KUBEWARDEN_SIGSTORE_CACHE_DIR"}, {"value", "/tmp/sigstore-data"}},
      json::object{{"name", "KUBEWARDEN_ALWAYS_ACCEPT_ADMISSION_REVIEWS_ON_NAMESPACE"},
                   {"value", options.namespace_}},
      json::object{{"name", "KUBEWARDEN_IGNORE_KUBERNETES_CONNECTION_FAILURE"}, {"value", "true"}},
  };
  json::object container{
      {"name", "tollgate"},
      {"image", options.image},
      {"args", json::array{"serve"}},
      {"env", std::move(env)},
      {"ports", json::array{json::object{{"name", "https"}, {"containerPort", 8443}},
                            json::object{{"name", "readiness"}, {"containerPort", 8081}}}},
      {"readinessProbe",
       json::object{
           {"httpGet", json::object{{"path", "/readiness"}, {"port", 8081}, {"scheme", "HTTP"}}}}},
      {"securityContext",
       json::object{{"readOnlyRootFilesystem", true},
                    {"runAsNonRoot", true},
                    {"allowPrivilegeEscalation", false},
                    {"capabilities", json::object{{"drop", json::array{"ALL"}}}}}},
      {"volumeMounts",
       json::array{json::object{{"name", "policies"}, {"mountPath", "/config"}, {"readOnly", true}},
                   json::object{{"name", "pki"}, {"mountPath", "/pki"}, {"readOnly", true}},
                   json::object{{"name", "tmp"}, {"mountPath", "/tmp"}}}},
  };
  std::string secret = options.tls_secret.empty() ? options.name + "-tls" : options.tls_secret;
  json::object pod_spec{
      {"securityContext", json::object{{"runAsNonRoot", true}, {"runAsUser", 65532}}},
      {"containers", json::array{std::move(container)}},
      {"volumes",
       json::array{json::object{{"name", "policies"},
                                {"configMap", json::object{{"name", options.name + "-policies"}}}},
                   json::object{{"name", "pki"}, {"secret", json::object{{"secretName", secret}}}},
                   json::object{{"name", "tmp"}, {"emptyDir", json::object{}}}}},
  };
  json::object labels{{"app.kubernetes.io/name", options.name}};
  json::object spec{
      {"replicas", options.replicas},
      {"selector", json::object{{"matchLabels", labels}}},
      {"template",
       json::object{{"metadata", json::object{{"labels", labels}}}, {"spec", std::move(pod_spec)}}},
  };
  return json::object{{"apiVersion", "apps/v1"},
                      {"kind", "Deployment"},
                      {"metadata", metadata(options.name, options, true)},
                      {"spec", std::move(spec)}};
}

json::object service(const ManifestOptions& options) {
  json::object spec{
      {"selector", json::object{{"app.kubernetes.io/name", options.name}}},
      {"ports", json::array{json::object{
                    {"name", "https"}, {"port", 443}, {"targetPort", 8443}, {"protocol", "TCP"}}}},
  };
  return json::object{{"apiVersion", "v1"},
                      {"kind", "Service"},
                      {"metadata", metadata(options.name, options, true)},
                      {"spec", std::move(spec)}};
}

}  // namespace

std::optional<std::string> unique_name(const json::value& policy) {
  std::string kind = string_at(policy, "kind");
  const json::value* meta = member(policy, "metadata");
  std::string name = meta ? string_at(*meta, "name") : "";
  std::string ns = meta ? string_at(*meta, "namespace") : "";
  if (kind == "ClusterAdmissionPolicy")
    return "clusterwide-" + name;
  if (kind == "AdmissionPolicy")
    return "namespaced-" + ns + "-" + name;
  if (kind == "ClusterAdmissionPolicyGroup")
    return "clusterwide-group-" + name;
  if (kind == "AdmissionPolicyGroup")
    return "namespaced-group-" + ns + "-" + name;
  return std::nullopt;
}

runtime::Result<Manifests> render_manifests(const std::vector<json::value>& documents,
                                            const ManifestOptions& options) {
  Manifests out;
  json::array validating;
  json::array mutating;
  for (const json::value& document : documents) {
    std::string kind = string_at(document, "kind");
    auto id = unique_name(document);
    if (!id)
      return manifest_error("unsupported kind `" + kind +
                            "` (expected ClusterAdmissionPolicy, AdmissionPolicy, "
                            "ClusterAdmissionPolicyGroup or AdmissionPolicyGroup)");
    const json::value* meta = member(document, "metadata");
    if (meta == nullptr || string_at(*meta, "name").empty())
      return manifest_error(kind + ": metadata.name is required");
    if (is_namespaced(kind) && string_at(*meta, "namespace").empty())
      return manifest_error(kind + " " + string_at(*meta, "name") +
                            ": metadata.namespace is required");
    const json::value* spec = member(document, "spec");
    if (spec == nullptr || !spec->is_object())
      return manifest_error(kind + " " + string_at(*meta, "name") + ": missing spec");
    if (options.policy_server) {
      std::string server = string_at(*spec, "policyServer");
      if ((server.empty() ? "default" : server) != *options.policy_server)
        continue;
    }
    if (out.policies.contains(*id))
      return manifest_error("two policies have the id `" + *id + "`");
    auto entry = policies_entry(document);
    if (!entry)
      return entry.take_error();
    out.policies[*id] = std::move(entry).value();
    const json::value* is_mutating = member(*spec, "mutating");
    bool mutates =
        !is_group(kind) && is_mutating && is_mutating->is_bool() && is_mutating->get_bool();
    (mutates ? mutating : validating).push_back(webhook(document, *id, options));
  }

  std::vector<json::value> manifests;
  manifests.push_back(
      json::object{{"apiVersion", "v1"},
                   {"kind", "ConfigMap"},
                   {"metadata", metadata(options.name + "-policies", options, true)},
                   {"data", json::object{{"policies.yml", json::serialize(out.policies)}}}});
  manifests.push_back(deployment(options));
  manifests.push_back(service(options));
  if (!validating.empty())
    manifests.push_back(json::object{{"apiVersion", "admissionregistration.k8s.io/v1"},
                                     {"kind", "ValidatingWebhookConfiguration"},
                                     {"metadata", metadata(options.name, options, false)},
                                     {"webhooks", std::move(validating)}});
  if (!mutating.empty())
    manifests.push_back(json::object{{"apiVersion", "admissionregistration.k8s.io/v1"},
                                     {"kind", "MutatingWebhookConfiguration"},
                                     {"metadata", metadata(options.name, options, false)},
                                     {"webhooks", std::move(mutating)}});
  for (const json::value& manifest : manifests) {
    YAML::Emitter emitter;
    evaluation::emit_yaml(emitter, manifest);
    out.yaml += "---\n";
    out.yaml += emitter.c_str();
    out.yaml += "\n";
  }
  return out;
}

ManifestsCommand::ManifestsCommand(CLI::App& parent) {
  command_ = parent.add_subcommand(
      "manifests",
      "Turn Kubewarden (Cluster)AdmissionPolicy YAML into policies.yml and the manifests that run "
      "tollgate as a plain webhook (ConfigMap, Deployment, Service, webhook configurations)");
  command_->add_option("FILES", files_, "policy YAML files (multi-document); - for stdin")
      ->required();
  command_->add_option("--name", options_.name, "name of the Deployment, Service and webhooks")
      ->capture_default_str();
  command_->add_option("--namespace", options_.namespace_, "namespace tollgate runs in")
      ->capture_default_str();
  command_->add_option("--image", options_.image, "tollgate container image")
      ->capture_default_str();
  command_->add_option("--tls-secret", options_.tls_secret,
                       "secret with tls.crt and tls.key (default: <name>-tls)");
  command_->add_option("--ca-file", ca_file_,
                       "PEM CA certificate for the webhooks' caBundle (the serving cert's CA)");
  command_->add_option("--policy-server", policy_server_,
                       "only policies whose spec.policyServer is this (unset means `default`)");
  command_->add_option("--replicas", options_.replicas, "Deployment replicas")
      ->capture_default_str();
  command_->add_option("--policies-output", policies_out_,
                       "also write policies.yml (JSON, as the controller writes it) to this file");
}

std::optional<int> ManifestsCommand::dispatch() const {
  if (!command_->parsed())
    return std::nullopt;
  auto read = [](const std::string& path) -> std::optional<std::string> {
    std::ostringstream text;
    if (path == "-") {
      text << std::cin.rdbuf();
      return text.str();
    }
    std::ifstream in(path, std::ios::binary);
    if (!in)
      return std::nullopt;
    text << in.rdbuf();
    return text.str();
  };
  ManifestOptions options = options_;
  if (!policy_server_.empty())
    options.policy_server = policy_server_;
  if (!ca_file_.empty()) {
    auto ca = read(ca_file_);
    if (!ca) {
      std::fprintf(stderr, "tollgate: cannot read %s\n", ca_file_.c_str());
      return 1;
    }
    options.ca_bundle = *ca;
  } else {
    std::fprintf(stderr, "tollgate: warning: no --ca-file, the webhooks have no caBundle\n");
  }
  std::vector<json::value> documents;
  for (const std::string& file : files_) {
    auto text = read(file);
    if (!text) {
      std::fprintf(stderr, "tollgate: cannot read %s\n", file.c_str());
      return 1;
    }
    auto parsed = evaluation::parse_yaml_documents(*text);
    if (!parsed) {
      std::fprintf(stderr, "tollgate: %s: %s\n", file.c_str(), parsed.error().message.c_str());
      return 1;
    }
    for (json::value& doc : *parsed)
      documents.push_back(std::move(doc));
  }
  auto manifests = render_manifests(documents, options);
  if (!manifests) {
    std::fprintf(stderr, "tollgate: %s\n", manifests.error().message.c_str());
    return 1;
  }
  if (!policies_out_.empty()) {
    std::ofstream out(policies_out_, std::ios::binary);
    out << json::serialize(manifests->policies) << "\n";
    if (!out) {
      std::fprintf(stderr, "tollgate: cannot write %s\n", policies_out_.c_str());
      return 1;
    }
  }
  std::fwrite(manifests->yaml.data(), 1, manifests->yaml.size(), stdout);
  return 0;
}

}  // namespace tollgate::server::cli
