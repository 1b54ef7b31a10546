// Shared pieces of the policy subcommands: files, YAML settings, policy loading, the CLI's
// response. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "hostabi/kubewarden/evaluator.hpp"
#include "runtime/executor.hpp"
#include "server/cli/engine_option.hpp"

namespace tollgate::server::cli {

/// Exit codes of the policy subcommands (kwctl exits 1 on any error; a rejection is not one).
inline constexpr int kPolicyExitOk = 0;
inline constexpr int kPolicyExitFailed = 1;

/// The policy id kwctl evaluates under.
inline constexpr std::string_view kCliPolicyId = "policy-from-cli";

/// The whole file (`-` reads stdin), at most `limit` bytes, or nullopt after saying why on stderr.
std::optional<std::string> read_text(const std::string& path, size_t limit);

/// `file:///x.wasm` -> `/x.wasm`; plain paths pass through; other schemes are refused (nullopt,
/// with the reason on stderr): the CLI does not download.
std::optional<std::string> local_path(const std::string& uri);

/// Reads, decodes and loads a policy; nullopt after saying why on stderr.
std::shared_ptr<const hostabi::kubewarden::PolicyModule> load_policy_file(
    const std::string& uri,
    std::optional<hostabi::kubewarden::ExecutionMode> mode);

/// The flags `run` and `bench` share (kwctl's `run` flags plus tollgate's limits).
struct RunFlags {
  std::string policy;
  std::string request_path;
  std::optional<std::string> settings_json;
  std::optional<std::string> settings_path;
  bool raw = false;
  std::optional<std::string> execution_mode;
  bool allow_context_aware = false;
  std::optional<std::string> record_path;
  std::optional<std::string> replay_path;
  std::optional<uint64_t> fuel;
  std::optional<uint32_t> memory_pages;
  EngineFlags engine;  ///< --engine, --jit-bounds
};

/// What `run` and `bench` evaluate, after parsing and checking every input.
struct RunInputs {
  std::shared_ptr<const hostabi::kubewarden::PolicyModule> policy;
  boost::json::value request;   ///< the AdmissionRequest, or the raw JSON with --raw
  boost::json::value settings;  ///< an object (null settings become {})
  bool raw = false;
  /// The tier from --engine (null: the interpreter), the policy's code already prepared on it.
  const runtime::Engine* engine = nullptr;
};

/// Loads the policy, the request and the settings; nullopt after saying why on stderr.
std::optional<RunInputs> prepare_inputs(const RunFlags& flags);

/// The evaluation options kwctl uses: id `policy-from-cli`, no deadline, and the flags' limits,
/// context-aware allow-list and record/replay hooks (borrowed: they must outlive the options).
hostabi::kubewarden::EvalOptions cli_eval_options(
    const RunFlags& flags,
    const RunInputs& inputs,
    hostabi::kubewarden::InteractionRecorder* recorder,
    hostabi::kubewarden::InteractionReplayer* replayer);

/// The bare AdmissionResponse kwctl prints: policy-server's conversion and post-processing in
/// protect mode with mutations allowed (kubewarden.md 1.5, 1.6).
boost::json::object cli_admission_response(const hostabi::kubewarden::ValidationResponse& response,
                                           const RunInputs& inputs);

}  // namespace tollgate::server::cli
