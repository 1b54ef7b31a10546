// The evaluation environment: every policy of policies.yml loaded, checked and ready to run.
// SPDX-License-Identifier: Apache-2.0
//
// Built once at start-up (kubewarden.md 1.7): each unique module URL is fetched and decoded
// once and shared by every policy using it; metadata is checked (waPC needs protocolVersion
// v1); every policy's and group member's settings are validated. Without continue_on_errors any
// failure aborts the build; with it, the failing policy answers every request with a 500
// rejection carrying its initialisation error. Evaluation is thread-safe: at most `workers`
// evaluations run at once, each in a fresh instance (hostabi::kubewarden::evaluate).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "hostabi/kubewarden/capabilities.hpp"
#include "runtime/base/limits.hpp"
#include "runtime/base/result.hpp"
#include "runtime/executor.hpp"
#include "server/evaluation/admission_response.hpp"
#include "server/evaluation/config.hpp"
#include "server/evaluation/log.hpp"
#include "server/evaluation/metrics.hpp"

namespace tollgate::server::evaluation {

/// "registry:// module URLs are not supported yet"
inline constexpr std::string_view kRegistryUnsupported =
    "registry:// module URLs are not supported yet";

/// Downloads an https:// module and returns its bytes (the transport implements it with
/// sources.yml and the download directory). Called at start-up only, from one thread.
using ModuleFetcher = std::function<runtime::Result<std::vector<uint8_t>>(const std::string& url)>;

struct EnvironmentOptions {
  /// Concurrent evaluations (policy-server's semaphore); 0 means the number of CPUs.
  std::size_t workers = 0;
  /// --policy-timeout: each phase's (init, call) deadline unless the policy sets
  /// timeoutEvalSeconds.
  std::chrono::seconds policy_timeout{2};
  /// --disable-timeout-protection: no deadline at all, whatever the policies say.
  bool disable_timeout_protection = false;
  /// --continue-on-errors: a broken policy rejects with its error instead of failing start-up.
  bool continue_on_errors = false;
  /// --always-accept-admission-reviews-on-namespace ("" = none).
  std::string always_accept_namespace;
  /// https:// module URLs; when empty, they fail with a clear error.
  ModuleFetcher fetch_https;
  /// Relative file paths (bare or file://) are resolved against this directory ("" = cwd).
  std::string base_dir;
  uint32_t max_memory_pages = runtime::kDefaultMaxMemoryPages;
  /// Kubernetes/OCI capabilities; null: not available. Must outlive the environment.
  hostabi::kubewarden::CapabilityProvider* capability_provider = nullptr;
  /// null: a Logger at info, text, on stderr.
  std::shared_ptr<Logger> logger;
  /// null: the environment makes its own.
  std::shared_ptr<Metrics> metrics;
  /// The tier policies run on (runtime/executor.hpp), e.g. the JIT's; null interprets. Every
  /// module is compiled for it once, at build time, before the server reports ready.
  const runtime::Engine* engine = nullptr;
};

/// Where an admission request came from (the `request_origin` metric label). Audit requests
/// skip post-processing.
enum class RequestOrigin : uint8_t { validate, audit };

class EvaluationEnvironment {
 public:
  /// Loads and checks everything, or returns the first start-up error (naming the policy).
  static runtime::Result<std::unique_ptr<EvaluationEnvironment>> build(
      std::vector<PolicyEntry> policies,
      EnvironmentOptions options);

  ~EvaluationEnvironment();
  EvaluationEnvironment(const EvaluationEnvironment&) = delete;
  EvaluationEnvironment& operator=(const EvaluationEnvironment&) = delete;

  bool has_policy(std::string_view id) const;
  /// Policy and group ids, sorted.
  std::vector<std::string> policy_ids() const;
  /// Policies kept broken under continue_on_errors: id -> the error they answer with.
  const std::map<std::string, std::string>& initialization_errors() const;

  /// Evaluates an AdmissionRequest (as re-serialised from the typed request: unknown fields
  /// dropped) with `policy_id`, which must exist (has_policy). Honours the always-accept
  /// namespace, post-processes unless `origin` is audit, records metrics. Blocks for a worker.
  AdmissionResponse validate(std::string_view policy_id,
                             const boost::json::value& request,
                             RequestOrigin origin) const;
  /// The same for `/validate_raw`: `request` is any JSON, diffed whole for mutations.
  AdmissionResponse validate_raw(std::string_view policy_id,
                                 const boost::json::value& request) const;

  Metrics& metrics() const;
  const Logger& logger() const;
  const EnvironmentOptions& options() const;

  struct Impl;

 private:
  explicit EvaluationEnvironment(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tollgate::server::evaluation
