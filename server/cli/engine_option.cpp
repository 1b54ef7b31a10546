// The `--engine jit|interp` and `--jit-bounds explicit|guard` options of the commands that run
// guest code. SPDX-License-Identifier: Apache-2.0
#include "server/cli/engine_option.hpp"

#include <cstdio>

#include "jit/jit.hpp"

namespace tollgate::server::cli {

void add_engine_options(CLI::App& app, EngineFlags& flags) {
  app.add_option("--engine", flags.engine,
                 "Execution tier: jit (compiled machine code; the default where the host has a "
                 "JIT backend) or interp (the interpreter); a module the JIT cannot compile runs "
                 "interpreted")
      ->envname(std::string(kEngineEnv))
      ->check(CLI::IsMember({"jit", "interp"}));
  app.add_option("--jit-bounds", flags.jit_bounds,
                 "How JIT code keeps memory accesses in bounds: guard (the default: the memory's "
                 "8 GiB reservation and a fault handler, no check per access; a memory that "
                 "cannot get the reservation runs interpreted) or explicit (a check per access)")
      ->envname(std::string(kJitBoundsEnv))
      ->check(CLI::IsMember({"explicit", "guard"}));
}

std::optional<const runtime::Engine*> select_engine(const EngineFlags& flags) {
  if (flags.engine == "interp")
    return nullptr;
  if (!jit::available()) {
    if (flags.engine.empty())
      return nullptr;
    std::fprintf(stderr, "tollgate: --engine jit: this host has no JIT backend\n");
    return std::nullopt;
  }
  return &jit::engine(flags.jit_bounds == "explicit" ? jit::BoundsMode::explicit_checks
                                                     : jit::BoundsMode::guard_region);
}

std::string engine_name(const runtime::Engine* engine) {
  if (engine == nullptr)
    return "interp";
  if (engine == &jit::engine(jit::BoundsMode::guard_region))
    return std::string(engine->name()) + " (guard region)";
  return std::string(engine->name());
}

}  // namespace tollgate::server::cli
