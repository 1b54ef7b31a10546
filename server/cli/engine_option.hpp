// The `--engine jit|interp` option of the commands that run guest code, and its TOLLGATE_ENGINE
// environment variable. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "runtime/executor.hpp"

namespace tollgate::server::cli {

/// The environment variable `--engine` falls back on (`serve` in a container, for instance).
inline constexpr std::string_view kEngineEnv = "TOLLGATE_ENGINE";

/// Registers `--engine` on `app`, writing the chosen name into `engine` ("" when not given).
void add_engine_option(CLI::App& app, std::string& engine);

/// The engine `name` means: null for `interp` (the interpreter), the JIT for `jit`, and for ""
/// the JIT where this host has a backend, else the interpreter. Nullopt, after saying why on
/// stderr, for an unknown name or `jit` on a host without a backend.
std::optional<const runtime::Engine*> select_engine(const std::string& name);

/// "jit" or "interp": what an engine from select_engine is called in reports.
std::string_view engine_name(const runtime::Engine* engine);

}  // namespace tollgate::server::cli
