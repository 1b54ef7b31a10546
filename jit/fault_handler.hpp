// Guard-region mode's fault handler: which code ranges turn a memory fault into a trap.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>

namespace tollgate::jit {

/// Makes faults at pc in [begin, begin+size) resume at `oob_stub`. False when the fixed registry
/// is full (the module then cannot use guard-region mode).
bool register_code_range(const void* begin, size_t size, const void* oob_stub);
void unregister_code_range(const void* begin);

}  // namespace tollgate::jit
