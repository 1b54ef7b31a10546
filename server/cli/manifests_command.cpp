// `tollgate manifests`: Kubewarden policy YAML to policies.yml and plain-webhook manifests.
// SPDX-License-Identifier: Apache-2.0
#include "server/cli/manifests_command.hpp"

namespace tollgate::server::cli {

ManifestsCommand::ManifestsCommand(CLI::App& /*parent*/) {}

std::optional<int> ManifestsCommand::dispatch() const {
  return std::nullopt;
}

}  // namespace tollgate::server::cli
