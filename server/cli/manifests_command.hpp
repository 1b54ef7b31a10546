// `tollgate manifests`: Kubewarden policy YAML to policies.yml and plain-webhook manifests.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>

#include <CLI/CLI.hpp>

namespace tollgate::server::cli {

/// Registers its subcommands on `parent`; CLI11 writes parsed options into this object, so it
/// must outlive parsing.
class ManifestsCommand {
 public:
  explicit ManifestsCommand(CLI::App& parent);
  ManifestsCommand(const ManifestsCommand&) = delete;
  ManifestsCommand& operator=(const ManifestsCommand&) = delete;

  /// After parsing: runs the chosen subcommand and returns its exit code, or nullopt when the
  /// command line chose none of this group's subcommands.
  std::optional<int> dispatch() const;
};

}  // namespace tollgate::server::cli
