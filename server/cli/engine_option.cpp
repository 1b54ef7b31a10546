// The `--engine jit|interp` option of the commands that run guest code.
// SPDX-License-Identifier: Apache-2.0
#include "server/cli/engine_option.hpp"

#include <cstdio>

#include "jit/jit.hpp"

namespace tollgate::server::cli {

void add_engine_option(CLI::App& app, std::string& engine) {
  app.add_option("--engine", engine,
                 "Execution tier: jit (compiled machine code; the default where the host has a "
                 "JIT backend) or interp (the interpreter); a module the JIT cannot compile runs "
                 "interpreted")
      ->envname(std::string(kEngineEnv))
      ->check(CLI::IsMember({"jit", "interp"}));
}

std::optional<const runtime::Engine*> select_engine(const std::string& name) {
  if (name == "interp")
    return nullptr;
  if (name == "jit" || name.empty()) {
    if (jit::available())
      return &jit::engine();
    if (name.empty())
      return nullptr;
    std::fprintf(stderr, "tollgate: --engine jit: this host has no JIT backend\n");
    return std::nullopt;
  }
  std::fprintf(stderr, "tollgate: unknown engine `%s` (jit, interp)\n", name.c_str());
  return std::nullopt;
}

std::string_view engine_name(const runtime::Engine* engine) {
  return engine != nullptr ? engine->name() : "interp";
}

}  // namespace tollgate::server::cli
