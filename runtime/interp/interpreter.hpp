// The interpreter tier: executes lowered IR (runtime/ir.hpp) with an explicit frame stack.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <span>

#include "runtime/store.hpp"
#include "runtime/value.hpp"

namespace tollgate::runtime::interp {

/// Runs `func` (wasm or host) with `args`, which the caller has checked against its type.
/// Re-entrant: a host function may call back into `execute` on the same store; the nested call
/// uses the value stack above the caller's operands and counts towards the same call depth.
CallResult execute(Store& store,
                   Function& func,
                   std::span<const Value> args,
                   const CallOptions& options);

}  // namespace tollgate::runtime::interp
