// Evaluating Kubewarden policies: a module loaded once, a fresh Store and instance per evaluation.
// SPDX-License-Identifier: Apache-2.0
//
// As policy-server does (kubewarden.md 1.7), every evaluation instantiates the shared, immutable
// module in a brand-new runtime::Store, so nothing carries over between requests and a trapped
// or interrupted guest leaves nothing behind. Guest failures never surface as C++ errors: they
// become the rejections Kubewarden produces (accepted=false, code 500, Kubewarden's messages).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <boost/json/value.hpp>

#include "hostabi/kubewarden/capabilities.hpp"
#include "hostabi/kubewarden/metadata.hpp"
#include "hostabi/kubewarden/protocol.hpp"
#include "runtime/base/limits.hpp"
#include "runtime/executor.hpp"
#include "runtime/module.hpp"
#include "runtime/trap.hpp"

namespace tollgate::hostabi::kubewarden {

/// Kubewarden's rejection message when the evaluation deadline fires (waPC).
inline constexpr std::string_view kTimeoutMessage =
    "Policy execution interrupted because it exceeded the allowed execution time";
/// policy-server's refusal of a waPC module without `protocolVersion`.
inline constexpr std::string_view kMissingProtocolVersion =
    "Policy is missing protocol version, which is required for KubewardenWapc execution mode";

/// The host functions and instance images of a policy (see make_policy).
struct PreparedPolicy;

/// A decoded policy plus its metadata: load once, share between threads and evaluations.
struct PolicyModule {
  std::shared_ptr<const runtime::Module> module;
  Metadata metadata;  ///< defaults when the module has no metadata section
  bool has_metadata = false;
  ExecutionMode execution_mode = ExecutionMode::kubewarden_wapc;  ///< metadata or override
  /// Made by make_policy: host functions that serve every evaluation through per-store state,
  /// and the module's imports resolved and initial state computed once (runtime::InstancePre),
  /// so a fresh instance per evaluation is cheap. Null (a PolicyModule put together by hand, or
  /// a module that cannot be linked) sets everything up per evaluation instead.
  std::shared_ptr<const PreparedPolicy> prepared;
};

/// Decodes `wasm` and reads its metadata. `mode` overrides the metadata's execution mode
/// (kwctl `-e`).
runtime::Result<std::shared_ptr<const PolicyModule>> load_policy(
    std::span<const uint8_t> wasm,
    std::optional<ExecutionMode> mode = std::nullopt);
runtime::Result<std::shared_ptr<const PolicyModule>> make_policy(
    std::shared_ptr<const runtime::Module> module,
    std::optional<ExecutionMode> mode = std::nullopt);

/// policy-server's load-time checks: a waPC policy needs `protocolVersion: v1`.
runtime::Status check_policy(const PolicyModule& policy);

/// What happened inside, for logs, metrics and tests.
struct EvalDiagnostics {
  std::optional<runtime::TrapKind> trap;  ///< the guest's trap, if it trapped
  bool timed_out = false;                 ///< the deadline fired
  std::string guest_stderr;               ///< WASI mode: captured stderr
  std::string guest_stdout;               ///< WASI mode: captured stdout
  /// Wall time of the fresh instance's set-up (store, host functions, instantiation) and of
  /// running the guest (initialisation plus the call); JSON encoding and decoding are in neither.
  std::chrono::nanoseconds instantiate_time{0};
  std::chrono::nanoseconds run_time{0};
  /// Wall time of dropping the store and instance afterwards (a pooled instance is reset here).
  std::chrono::nanoseconds teardown_time{0};
};

struct EvalOptions {
  /// Fuel for each phase (initialisation, then the call); nullopt runs unmetered.
  std::optional<uint64_t> fuel;
  /// Wall-clock budget for each phase, as Kubewarden re-arms its epoch deadline before the call;
  /// nullopt: no deadline (kwctl).
  std::optional<std::chrono::nanoseconds> deadline;
  /// Linear-memory cap: a guest growing beyond it sees memory.grow fail.
  uint32_t max_memory_pages = runtime::kDefaultMaxMemoryPages;
  /// Host capabilities: policy id, provider, log sink, allow-lists, record/replay.
  CapabilityContext capabilities;
  EvalDiagnostics* diagnostics = nullptr;  ///< filled when set
  /// The tier the guest runs on (runtime/executor.hpp), e.g. the JIT's; null interprets. The
  /// module's code is prepared on the first evaluation unless prepare_code did it before.
  const runtime::Engine* engine = nullptr;
};

/// Prepares `policy`'s code for `engine` now (the server does it before it reports ready), so
/// no evaluation pays for compiling. False when the module will run interpreted (refused, or
/// no backend); harmless to call again.
bool prepare_code(const PolicyModule& policy, const runtime::Engine& engine);

/// Runs `validate`: `request` is the AdmissionRequest (or raw) JSON, `settings` the policy's
/// settings. Always returns a response; failures are Kubewarden's rejections.
ValidationResponse evaluate(const PolicyModule& policy,
                            const boost::json::value& request,
                            const boost::json::value& settings,
                            const EvalOptions& options = {});

/// Runs `validate_settings` (waPC) or `validate-settings` (WASI) on `settings`.
SettingsValidationResponse validate_settings(const PolicyModule& policy,
                                             const boost::json::value& settings,
                                             const EvalOptions& options = {});

/// Calls the waPC guest's `protocol_version` (what `kwctl annotate` records): "v1" or an error.
runtime::Result<std::string> protocol_version(const PolicyModule& policy,
                                              const EvalOptions& options = {});

}  // namespace tollgate::hostabi::kubewarden
