// RFC 6902 JSON Patch: the diff between two JSON documents, and applying a patch.
// SPDX-License-Identifier: Apache-2.0
//
// The server reports a policy's mutation as `diff(request.object, mutated_object)`
// (kubewarden.md 1.5). Only an equivalent patch is required, not json-patch's exact text:
// objects are diffed member by member, arrays element by element over their common prefix,
// then extra elements are removed (from the end) or added.
#pragma once

#include <string>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include "runtime/base/result.hpp"

namespace tollgate::server::evaluation::json_patch {

/// RFC 6901 escaping of one reference token ("~" -> "~0", "/" -> "~1").
std::string escape_token(std::string_view token);

/// The operations (add, remove, replace) turning `from` into `to`; empty when equal.
boost::json::array diff(const boost::json::value& from, const boost::json::value& to);

/// Applies `patch` (add, remove, replace, move, copy, test) to `document`. An error names the
/// failing operation; the document is then left partly patched, so pass a copy.
runtime::Status apply(boost::json::value& document, const boost::json::array& patch);

}  // namespace tollgate::server::evaluation::json_patch
