// Typed wasm values from command-line text, for `tollgate wasm run` arguments.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "runtime/types.hpp"
#include "runtime/value.hpp"

namespace tollgate::server::cli {

/// A value read from text, or why the text is not one.
struct ParsedValue {
  std::optional<runtime::Value> value;
  std::string error;
};

/// Reads `text` as a value of `type`:
/// - i32, i64: a decimal or `0x` hex integer, optionally signed, in the signed or the unsigned
///   range of the type (`-1` and `4294967295` are the same i32);
/// - f32, f64: a decimal or `0x` hex float, `inf`, `nan`, or `nan:0xPAYLOAD` (the spec text
///   format's NaN with a payload), each optionally signed, rounded to nearest;
/// - funcref, externref: only `null`.
/// v128 is not accepted.
ParsedValue parse_value(runtime::ValType type, std::string_view text);

}  // namespace tollgate::server::cli
