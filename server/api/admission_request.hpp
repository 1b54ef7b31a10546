// The typed AdmissionRequest of policy-evaluator: required fields checked, unknown ones dropped.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include <boost/json/value.hpp>

#include "runtime/base/result.hpp"

namespace tollgate::server::api {

/// Checks `request` against PE's AdmissionRequest (kubewarden.md 1.4) and returns it rebuilt
/// with only the known fields, in the type's order: uid, kind, resource, subResource,
/// requestKind, requestResource, requestSubResource, name, namespace, operation, userInfo,
/// object, oldObject, dryRun, options. Absent and null optionals are left out. The error
/// message says which field is wrong, serde style ("missing field `uid`").
runtime::Result<boost::json::value> parse_admission_request(const boost::json::value& request);

}  // namespace tollgate::server::api
