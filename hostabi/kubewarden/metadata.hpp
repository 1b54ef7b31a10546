// The `io.kubewarden.metadata` custom section: parse, serialise, read from and append to wasm.
// SPDX-License-Identifier: Apache-2.0
//
// kwctl annotate stores the policy's Metadata as JSON (camelCase keys) in a custom section named
// `io.kubewarden.metadata`; readers take the first section with that name (kubewarden.md 3.1).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "runtime/base/result.hpp"
#include "runtime/module.hpp"

namespace tollgate::hostabi::kubewarden {

inline constexpr std::string_view kMetadataSection = "io.kubewarden.metadata";

enum class ExecutionMode : uint8_t { kubewarden_wapc, opa, gatekeeper, wasi };
enum class PolicyType : uint8_t { kubernetes, raw };

/// "kubewarden-wapc", "opa", "gatekeeper", "wasi".
const char* execution_mode_name(ExecutionMode mode);
/// Also accepts kwctl's `-e kubewarden` spelling.
std::optional<ExecutionMode> parse_execution_mode(std::string_view name);

struct ContextAwareResource {
  std::string api_version;
  std::string kind;
  bool operator==(const ContextAwareResource&) const = default;
  auto operator<=>(const ContextAwareResource&) const = default;
};

struct Metadata {
  std::optional<std::string> protocol_version;      ///< "v1" | "Unknown"; absent in defaults
  boost::json::value rules = boost::json::array();  ///< kept as JSON (k8s RuleWithOperations)
  std::optional<std::map<std::string, std::string>> annotations;
  bool mutating = false;
  bool background_audit = true;
  ExecutionMode execution_mode = ExecutionMode::kubewarden_wapc;
  PolicyType policy_type = PolicyType::kubernetes;
  std::vector<ContextAwareResource> context_aware_resources;
  std::optional<std::string> minimum_kubewarden_version;
  std::optional<std::vector<std::string>> host_capabilities;
};

/// Parses the JSON text of the section. Unknown keys are ignored (e.g. legacy `contextAware`).
runtime::Result<Metadata> parse_metadata(std::string_view json);
/// The JSON kwctl writes: camelCase keys, absent optionals omitted.
std::string serialize_metadata(const Metadata& metadata);

/// The metadata of a decoded module: nullopt without the section, an error when it is not
/// valid Metadata JSON.
runtime::Result<std::optional<Metadata>> read_metadata(const runtime::Module& module);

/// The payload of the first custom section called `name` in a wasm binary, without decoding the
/// rest of the module. Errors on a truncated or malformed section layout.
runtime::Result<std::optional<std::vector<uint8_t>>> find_custom_section(
    std::span<const uint8_t> wasm,
    std::string_view name);

/// Appends a custom section (id 0, LEB128 size, LEB128 name length, name, payload) to `wasm`.
void append_custom_section(std::vector<uint8_t>& wasm,
                           std::string_view name,
                           std::span<const uint8_t> payload);

/// `append_custom_section(wasm, kMetadataSection, serialize_metadata(metadata))`.
void write_metadata(std::vector<uint8_t>& wasm, const Metadata& metadata);

}  // namespace tollgate::hostabi::kubewarden
