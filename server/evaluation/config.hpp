// policies.yml and sources.yml: the policy-server configuration files, parsed and checked.
// SPDX-License-Identifier: Apache-2.0
//
// policies.yml follows policy-server's `PolicyOrPolicyGroup` (kubewarden.md 1.2): a map from
// policy id to either an individual policy (chosen when `module` is present) or a policy group
// (chosen when `policies`, `expression` and `message` are present). The controller writes it as
// JSON with an extra `namespacedName` key, which is ignored. Errors name the entry and the key.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <boost/json/object.hpp>

#include "hostabi/kubewarden/metadata.hpp"
#include "runtime/base/result.hpp"

namespace tollgate::server::evaluation {

enum class PolicyMode : uint8_t { protect, monitor };

/// "protect" or "monitor" (the label value of the metrics and the policies.yml spelling).
const char* policy_mode_name(PolicyMode mode);

/// The fields an individual policy and a group member share.
struct ModuleSpec {
  std::string module;            ///< URL as written: file://, https://, registry:// or a bare ref
  boost::json::object settings;  ///< absent or null in the file -> {}
  std::vector<hostabi::kubewarden::ContextAwareResource> context_aware_resources;
  std::optional<uint64_t> timeout_eval_seconds;  ///< overrides the global policy timeout
  std::optional<std::vector<std::string>> host_capabilities;  ///< [MONO]; nullopt: not given
};

struct PolicySpec : ModuleSpec {
  PolicyMode mode = PolicyMode::protect;
  bool allowed_to_mutate = false;
  std::optional<std::string> message;  ///< custom rejection message
};

struct PolicyGroupSpec {
  PolicyMode mode = PolicyMode::protect;
  std::string expression;
  std::string message;
  /// Members in file order (member names are the expression's function names).
  std::vector<std::pair<std::string, ModuleSpec>> policies;
};

struct PolicyEntry {
  std::string id;
  std::variant<PolicySpec, PolicyGroupSpec> spec;
};

/// Parses policies.yml text (YAML or JSON). Entries keep the file's order.
runtime::Result<std::vector<PolicyEntry>> parse_policies(std::string_view text);
/// Reads and parses the file at `path`.
runtime::Result<std::vector<PolicyEntry>> load_policies_file(const std::string& path);

/// One `source_authorities` entry: a CA certificate given by path or inline (PEM or DER).
struct SourceAuthority {
  enum class Type : uint8_t { path, data };
  Type type = Type::path;
  std::string value;  ///< the path, or the certificate data
};

struct SourcesConfig {
  std::vector<std::string>
      insecure_sources;  ///< hosts (host[:port]) allowed plain HTTP/unverified TLS
  std::map<std::string, std::vector<SourceAuthority>> source_authorities;  ///< host -> CAs
};

/// Parses sources.yml (kubewarden.md 1.3).
runtime::Result<SourcesConfig> parse_sources(std::string_view text);
runtime::Result<SourcesConfig> load_sources_file(const std::string& path);

}  // namespace tollgate::server::evaluation
