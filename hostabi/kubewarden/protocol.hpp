// The Kubewarden policy protocol payloads (kubewarden.md 2.3): requests and responses as JSON.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

#include "runtime/base/result.hpp"

namespace tollgate::hostabi::kubewarden {

/// The operations the host calls on a waPC guest.
inline constexpr std::string_view kOpValidate = "validate";
inline constexpr std::string_view kOpValidateSettings = "validate_settings";
inline constexpr std::string_view kOpProtocolVersion = "protocol_version";

/// ValidationResponse: snake_case keys, null == absent.
struct ValidationResponse {
  bool accepted = false;
  std::optional<std::string> message;
  std::optional<int64_t> code;
  std::optional<boost::json::value> mutated_object;
  std::optional<std::map<std::string, std::string>> audit_annotations;
  std::optional<std::vector<std::string>> warnings;

  /// A rejection as Kubewarden builds it for a failed evaluation.
  static ValidationResponse reject(std::string message, int64_t code);
  /// `AdmissionResponse::reject_internal_server_error`: "internal server error: <error>", 500.
  static ValidationResponse internal_server_error(std::string_view error);
};

struct SettingsValidationResponse {
  bool valid = false;
  std::optional<std::string> message;
};

/// `{"request": <request>, "settings": <settings>}` serialised.
std::string make_validation_request(const boost::json::value& request,
                                    const boost::json::value& settings);

/// Parses a ValidationResponse; the error message is serde's kind of description.
runtime::Result<ValidationResponse> parse_validation_response(std::string_view json);
runtime::Result<SettingsValidationResponse> parse_settings_response(std::string_view json);

boost::json::object to_json(const ValidationResponse& response);
boost::json::object to_json(const SettingsValidationResponse& response);

/// Nesting accepted in JSON from guests and policies. Boost.JSON's default (32) is too tight for
/// deep Kubernetes objects; the bound still keeps recursive destruction shallow.
inline constexpr std::size_t kMaxJsonDepth = 256;

/// `boost::json::parse` with kMaxJsonDepth; errors in `ec`, never thrown.
boost::json::value parse_json(std::string_view text, boost::system::error_code& ec);

/// Rust's `{:?}` rendering of a string ("..." with escapes), which Kubewarden's messages embed.
std::string rust_debug_string(std::string_view s);

}  // namespace tollgate::hostabi::kubewarden
