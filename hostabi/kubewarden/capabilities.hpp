// Host capabilities under binding `kubewarden` (kubewarden.md 2.4) plus our `regex` namespace.
// SPDX-License-Identifier: Apache-2.0
//
// Dispatch follows policy-evaluator's runtimes/callback.rs: binding, then namespace, then
// operation, with its exact error strings. What needs the outside world (Kubernetes, OCI
// registries, the log) comes through CapabilityProvider and LogSink, which server/ implements,
// so hostabi never includes server.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "hostabi/host_call.hpp"
#include "hostabi/kubewarden/metadata.hpp"

namespace tollgate::hostabi::kubewarden {

class InteractionRecorder;
class InteractionReplayer;

enum class LogLevel : uint8_t { trace, debug, info, warning, error };
const char* log_level_name(LogLevel level);

/// Where policy log lines go (policy-server emits them with target `policy_log`).
class LogSink {
 public:
  virtual ~LogSink() = default;
  /// A `kubewarden/tracing/log` entry; `fields` holds the entry's other keys.
  virtual void policy_log(std::string_view policy_id,
                          LogLevel level,
                          std::string_view message,
                          const boost::json::object& fields) = 0;
  /// A waPC `__console_log` line (logged at info by Kubewarden).
  virtual void console_log(std::string_view policy_id, std::string_view line) = 0;
};

/// What the embedder supplies for the capabilities that reach outside the process. The
/// defaults answer "not available", which is what `tollgate run` without a cluster gives.
class CapabilityProvider {
 public:
  virtual ~CapabilityProvider() = default;
  /// `kubernetes/<operation>`: list_resources_by_namespace, list_resources_all, get_resource,
  /// can_i, with the decoded request. The allow-list check has already passed.
  virtual HostCallOutcome kubernetes(std::string_view operation, const boost::json::value& request);
  /// `oci/<operation>`: v1/manifest_digest, v1/oci_manifest, v1/oci_manifest_config, v1/verify,
  /// v2/verify.
  virtual HostCallOutcome oci(std::string_view operation, const boost::json::value& request);
};

/// Everything one evaluation's host calls need. Pointers are borrowed and may be null.
struct CapabilityContext {
  std::string policy_id;
  CapabilityProvider* provider = nullptr;  ///< null: kubernetes/oci are not available
  LogSink* log = nullptr;
  /// Kubernetes kinds the policy may read (policies.yml contextAwareResources).
  std::vector<ContextAwareResource> context_aware_resources;
  /// [MONO] hostCapabilities patterns ("*", "oci/*", "oci/v1/verify"); nullopt: no gating.
  std::optional<std::vector<std::string>> host_capabilities;
  InteractionRecorder* recorder = nullptr;  ///< records exchanges with the outside world
  InteractionReplayer* replayer = nullptr;  ///< answers them from a recording instead
};

/// Handles one host call. Never throws; every failure is an error outcome for the guest.
HostCallOutcome dispatch_host_call(const CapabilityContext& ctx,
                                   std::string_view binding,
                                   std::string_view ns,
                                   std::string_view operation,
                                   std::span<const uint8_t> payload);

/// A HostCallHandler bound to `ctx` (which must outlive it).
HostCallHandler make_host_call_handler(const CapabilityContext& ctx);

// The individual capabilities, callable directly (tests, `tollgate` tools).
HostCallOutcome verify_certificate(std::string_view request_json);
HostCallOutcome dns_lookup_host(std::string_view request_json);
HostCallOutcome regex_call(std::string_view operation, std::string_view request_json);

}  // namespace tollgate::hostabi::kubewarden
