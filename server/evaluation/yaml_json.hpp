// YAML (yaml-cpp) to and from Boost.JSON values, for configuration files and manifests.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>
#include <boost/json/value.hpp>

#include "runtime/base/result.hpp"

namespace tollgate::server::evaluation {

/// Plain scalars become null, booleans and numbers as YAML 1.2's core schema reads them;
/// quoted scalars stay strings. Nesting beyond kMaxJsonDepth is an error.
runtime::Result<boost::json::value> yaml_to_json(const YAML::Node& node);

/// Every document of a YAML stream (`---` separated), null documents skipped.
runtime::Result<std::vector<boost::json::value>> parse_yaml_documents(std::string_view text);

/// Emits `value` as block-style YAML (strings that would read back as something else are
/// quoted).
void emit_yaml(YAML::Emitter& out, const boost::json::value& value);

}  // namespace tollgate::server::evaluation
