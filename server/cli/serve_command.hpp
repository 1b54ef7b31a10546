// `tollgate serve`: the admission webhook server with policy-server's flags and env.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <optional>

#include <CLI/CLI.hpp>

namespace tollgate::server::cli {

/// Every `serve` flag (kubewarden.md 1.1); CLI11 writes into it while parsing.
struct ServeFlags;

/// Registers its subcommands on `parent`; CLI11 writes parsed options into this object, so it
/// must outlive parsing.
class ServeCommand {
 public:
  explicit ServeCommand(CLI::App& parent);
  ~ServeCommand();
  ServeCommand(const ServeCommand&) = delete;
  ServeCommand& operator=(const ServeCommand&) = delete;

  /// After parsing: runs the chosen subcommand and returns its exit code, or nullopt when the
  /// command line chose none of this group's subcommands.
  std::optional<int> dispatch() const;

 private:
  CLI::App* serve_ = nullptr;
  std::unique_ptr<ServeFlags> flags_;
};

}  // namespace tollgate::server::cli
