// Picks the backend for the host ISA (house-style 2.4: `jit::lookup`).
// SPDX-License-Identifier: Apache-2.0
#include "jit/jit.hpp"

#if defined(__x86_64__)
#include "jit/x64/backend_x64.hpp"
#elif defined(__aarch64__)
#include "jit/a64/backend_a64.hpp"
#endif

namespace tollgate::jit {

bool available() {
#if defined(__x86_64__)
  return x64::host_supported();
#elif defined(__aarch64__)
  return a64::host_supported();
#else
  return false;
#endif
}

runtime::Result<std::shared_ptr<const CompiledModule>> compile_module(
    const runtime::Module& module,
    const CompileOptions& options) {
#if defined(__x86_64__)
  return x64::compile_module(module, options);
#elif defined(__aarch64__)
  return a64::compile_module(module, options);
#else
  (void)module;
  (void)options;
  return runtime::Error{runtime::ErrorKind::unsupported, 0, "jit: no backend for this ISA"};
#endif
}

}  // namespace tollgate::jit
