// The `--engine jit|interp` and `--jit-bounds explicit|guard` options of the commands that run
// guest code, and their TOLLGATE_ENGINE and TOLLGATE_JIT_BOUNDS environment variables.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "runtime/executor.hpp"

namespace tollgate::server::cli {

/// The environment variables the options fall back on (`serve` in a container, for instance).
inline constexpr std::string_view kEngineEnv = "TOLLGATE_ENGINE";
inline constexpr std::string_view kJitBoundsEnv = "TOLLGATE_JIT_BOUNDS";

struct EngineFlags {
  std::string engine;      ///< "jit", "interp" or "" (the default)
  std::string jit_bounds;  ///< "explicit", "guard" or "" (guard)
};

/// Registers `--engine` and `--jit-bounds` on `app`, writing into `flags`.
void add_engine_options(CLI::App& app, EngineFlags& flags);

/// The engine the flags mean: null for `interp` (the interpreter), the JIT with the chosen
/// bounds mode for `jit`, and with no --engine the JIT where this host has a backend, else the
/// interpreter. Nullopt, after saying why on stderr, for `jit` on a host without a backend.
std::optional<const runtime::Engine*> select_engine(const EngineFlags& flags);

/// "jit", "jit (guard region)" or "interp": what an engine from select_engine is called in
/// reports.
std::string engine_name(const runtime::Engine* engine);

}  // namespace tollgate::server::cli
