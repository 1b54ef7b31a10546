// `tollgate run|bench|inspect|annotate`: kwctl's jobs on one policy module.
// SPDX-License-Identifier: Apache-2.0
#include "server/cli/policy_command.hpp"

#include "server/cli/engine_option.hpp"

namespace tollgate::server::cli {
namespace {

/// kwctl's `run` flags (kubewarden.md 3.2) plus tollgate's fuel and memory limits.
void add_run_flags(CLI::App& app, RunFlags& f) {
  app.add_option("policy", f.policy, "Policy module: a .wasm path or a file:// URL")->required();
  app.add_option("-r,--request-path", f.request_path,
                 "AdmissionReview or AdmissionRequest JSON file, `-` for stdin")
      ->required();
  auto* json = app.add_option("--settings-json", f.settings_json, "Policy settings as JSON");
  app.add_option("-s,--settings-path", f.settings_path, "Policy settings file (YAML or JSON)")
      ->excludes(json);
  app.add_flag("--raw", f.raw, "Validate a raw request (the JSON is passed as is)");
  app.add_option("-e,--execution-mode", f.execution_mode, "Override the metadata's execution mode")
      ->check(CLI::IsMember({"opa", "gatekeeper", "kubewarden", "wasi"}));
  app.add_flag("--allow-context-aware", f.allow_context_aware,
               "Grant the Kubernetes resources listed in the metadata's contextAwareResources");
  auto* record = app.add_option("--record-host-capabilities-interactions", f.record_path,
                                "Record the host-capability exchanges to this YAML file");
  app.add_option("--replay-host-capabilities-interactions", f.replay_path,
                 "Answer host-capability calls from this recorded session")
      ->excludes(record);
  app.add_option("--fuel", f.fuel, "Fuel for each phase (initialisation, then the call)");
  app.add_option("--memory-pages", f.memory_pages, "Linear memory cap in 64 KiB pages")
      ->check(CLI::Range(1u, 65536u));
  add_engine_options(app, f.engine);
}

}  // namespace

PolicyCommand::PolicyCommand(CLI::App& parent) {
  run_ = parent.add_subcommand("run", "Evaluate a policy on one request, as `kwctl run`");
  add_run_flags(*run_, run_flags_);

  bench_ = parent.add_subcommand(
      "bench", "Time validate_settings and validate, a fresh instance each, as policy-server");
  add_run_flags(*bench_, bench_run_flags_);
  bench_->add_option("-n,--iterations", bench_flags_.iterations, "Measured evaluations")
      ->check(CLI::Range(1u, 10000000u));
  bench_->add_option("--warm-up", bench_flags_.warm_up, "Unmeasured evaluations first");
  bench_->add_option("-o,--output", bench_flags_.output, "Report format")
      ->check(CLI::IsMember({"text", "json"}));

  inspect_ = parent.add_subcommand("inspect", "Show a policy's metadata, imports and exports");
  inspect_->add_option("file", inspect_file_, "Policy module: a .wasm path or a file:// URL")
      ->required();
  inspect_->add_option("-o,--output", inspect_format_, "Output format")
      ->check(CLI::IsMember({"yaml", "json"}));

  annotate_ = parent.add_subcommand(
      "annotate", "Embed metadata.yml as the io.kubewarden.metadata section, as `kwctl annotate`");
  annotate_->add_option("wasm", annotate_flags_.input, "Policy module to annotate")->required();
  annotate_->add_option("-m,--metadata-path", annotate_flags_.metadata_path, "metadata.yml")
      ->required();
  annotate_->add_option("-u,--usage-path", annotate_flags_.usage_path,
                        "Markdown file stored as the io.kubewarden.policy.usage annotation");
  annotate_->add_option("-o,--output-path", annotate_flags_.output, "Annotated module to write")
      ->required();
}

std::optional<int> PolicyCommand::dispatch() const {
  if (run_->parsed())
    return run_policy(run_flags_);
  if (bench_->parsed())
    return bench_policy(bench_run_flags_, bench_flags_);
  if (inspect_->parsed())
    return inspect_policy(inspect_file_, inspect_format_);
  if (annotate_->parsed())
    return annotate_policy(annotate_flags_);
  return std::nullopt;
}

}  // namespace tollgate::server::cli
