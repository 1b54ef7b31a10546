// `tollgate wasm validate|run|inspect`: work on one WebAssembly module from the command line.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "server/cli/engine_option.hpp"

namespace tollgate::server::cli {

/// Exit codes of the wasm subcommands (CLI11 uses its own for usage errors).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed =
    1;  ///< unreadable, malformed, invalid or unlinkable module, bad arguments
inline constexpr int kExitTrapped = 2;  ///< the module ran and trapped (including out of fuel)

/// Registers `wasm` and its subcommands on `parent`. CLI11 writes the parsed options into this
/// object, so it must outlive parsing and stays where it was built.
class WasmCommand {
 public:
  explicit WasmCommand(CLI::App& parent);
  WasmCommand(const WasmCommand&) = delete;
  WasmCommand& operator=(const WasmCommand&) = delete;

  /// After parsing: runs the subcommand the command line chose and returns its exit code, or
  /// nullopt when the command line chose no `wasm` subcommand.
  std::optional<int> dispatch() const;

 private:
  CLI::App* validate_ = nullptr;
  CLI::App* run_ = nullptr;
  CLI::App* inspect_ = nullptr;
  std::string file_;
  std::string invoke_;
  std::vector<std::string> args_;
  std::optional<uint64_t> fuel_;
  EngineFlags engine_;
};

}  // namespace tollgate::server::cli
