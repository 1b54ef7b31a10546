// `tollgate serve`: the admission webhook server with policy-server's flags and env.
// SPDX-License-Identifier: Apache-2.0
#include "server/cli/serve_command.hpp"

namespace tollgate::server::cli {

ServeCommand::ServeCommand(CLI::App& /*parent*/) {}

std::optional<int> ServeCommand::dispatch() const {
  return std::nullopt;
}

}  // namespace tollgate::server::cli
