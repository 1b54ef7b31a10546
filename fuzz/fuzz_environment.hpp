// The evaluation environment the server fuzz targets send requests to, built from policies.yml
// text. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "fuzz/fuzz_util.hpp"
#include "server/evaluation/config.hpp"
#include "server/evaluation/environment.hpp"

namespace tollgate::fuzz {

/// The environment a one-worker policy server would build from `policies_yml` (kube-system always
/// accepted, only errors logged, to nowhere); aborts when it does not build, since every input
/// would then test nothing. Never freed: targets keep it for the life of the process.
inline const server::evaluation::EvaluationEnvironment* build_environment(
    const std::string& policies_yml) {
  namespace ev = server::evaluation;
  auto entries = ev::parse_policies(policies_yml);
  if (!entries)
    fail("environment policies.yml", entries.error().message);
  ev::EnvironmentOptions options;
  options.workers = 1;
  options.always_accept_namespace = "kube-system";
  options.logger = std::make_shared<ev::Logger>(ev::LogLevel::error, ev::LogFormat::text,
                                                [](std::string_view) {});
  auto built = ev::EvaluationEnvironment::build(std::move(entries).value(), std::move(options));
  if (!built)
    fail("environment", built.error().message);
  return std::move(built).value().release();
}

}  // namespace tollgate::fuzz
