// `tollgate serve`: the admission webhook server with policy-server's flags and env.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>

#include <CLI/CLI.hpp>

namespace tollgate::server::cli {

/// Registers its subcommands on `parent`; CLI11 writes parsed options into this object, so it
/// must outlive parsing.
class ServeCommand {
 public:
  explicit ServeCommand(CLI::App& parent);
  ServeCommand(const ServeCommand&) = delete;
  ServeCommand& operator=(const ServeCommand&) = delete;

  /// After parsing: runs the chosen subcommand and returns its exit code, or nullopt when the
  /// command line chose none of this group's subcommands.
  std::optional<int> dispatch() const;
};

}  // namespace tollgate::server::cli
