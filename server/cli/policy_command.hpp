// `tollgate run|bench|inspect|annotate`: kwctl's jobs on one policy module.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "server/cli/policy_common.hpp"

namespace tollgate::server::cli {

/// `bench`'s own flags.
struct BenchFlags {
  uint32_t iterations = 100;
  uint32_t warm_up = 10;
  std::string output = "text";  ///< text | json
};

/// `annotate`'s flags.
struct AnnotateFlags {
  std::string input;
  std::string metadata_path;
  std::optional<std::string> usage_path;
  std::string output;
};

int run_policy(const RunFlags& flags);
int bench_policy(const RunFlags& flags, const BenchFlags& bench);
int inspect_policy(const std::string& uri, const std::string& format);
int annotate_policy(const AnnotateFlags& flags);

/// Registers its subcommands on `parent`; CLI11 writes parsed options into this object, so it
/// must outlive parsing.
class PolicyCommand {
 public:
  explicit PolicyCommand(CLI::App& parent);
  PolicyCommand(const PolicyCommand&) = delete;
  PolicyCommand& operator=(const PolicyCommand&) = delete;

  /// After parsing: runs the chosen subcommand and returns its exit code, or nullopt when the
  /// command line chose none of this group's subcommands.
  std::optional<int> dispatch() const;

 private:
  CLI::App* run_ = nullptr;
  CLI::App* bench_ = nullptr;
  CLI::App* inspect_ = nullptr;
  CLI::App* annotate_ = nullptr;
  RunFlags run_flags_;
  RunFlags bench_run_flags_;
  BenchFlags bench_flags_;
  std::string inspect_file_;
  std::string inspect_format_ = "yaml";
  AnnotateFlags annotate_flags_;
};

}  // namespace tollgate::server::cli
