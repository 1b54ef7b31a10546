// The AArch64 backend's entry point (asmjit stays behind it).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include "jit/jit.hpp"

namespace tollgate::jit::a64 {

/// Whether this CPU has what the backend emits: the AArch64 base ISA with FP and Advanced SIMD,
/// which every AArch64 Linux system has.
bool host_supported();

runtime::Result<std::shared_ptr<const CompiledModule>> compile_module(
    const runtime::Module& module,
    const CompileOptions& options);

}  // namespace tollgate::jit::a64
