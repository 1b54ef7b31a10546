// The x86-64 backend's entry point (asmjit stays behind it).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include "jit/jit.hpp"

namespace tollgate::jit::x64 {

/// Whether this CPU has what the backend emits (SSE4.1 rounding, LZCNT, TZCNT, POPCNT).
bool host_supported();

runtime::Result<std::shared_ptr<const CompiledModule>> compile_module(
    const runtime::Module& module,
    const CompileOptions& options);

}  // namespace tollgate::jit::x64
