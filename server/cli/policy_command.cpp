// `tollgate run|bench|inspect|annotate`: kwctl's jobs on one policy module.
// SPDX-License-Identifier: Apache-2.0
#include "server/cli/policy_command.hpp"

namespace tollgate::server::cli {

PolicyCommand::PolicyCommand(CLI::App& /*parent*/) {}

std::optional<int> PolicyCommand::dispatch() const {
  return std::nullopt;
}

}  // namespace tollgate::server::cli
