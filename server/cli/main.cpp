// The `tollgate` command: parses the command line with CLI11 and runs the chosen subcommand.
// SPDX-License-Identifier: Apache-2.0
#include <CLI/CLI.hpp>

#include "server/cli/manifests_command.hpp"
#include "server/cli/policy_command.hpp"
#include "server/cli/serve_command.hpp"
#include "server/cli/wasm_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "tollgate: a Kubewarden-compatible admission policy server on its own WebAssembly "
      "runtime."};
  app.require_subcommand(1);
  // Each command group registers its subcommands here and runs one after parsing, so a
  // command never runs from inside CLI11's parser.
  tollgate::server::cli::WasmCommand wasm(app);
  tollgate::server::cli::PolicyCommand policy(app);
  tollgate::server::cli::ServeCommand serve(app);
  tollgate::server::cli::ManifestsCommand manifests(app);
  CLI11_PARSE(app, argc, argv);
  for (auto code : {wasm.dispatch(), policy.dispatch(), serve.dispatch(), manifests.dispatch()}) {
    if (code)
      return *code;
  }
  return 0;
}
