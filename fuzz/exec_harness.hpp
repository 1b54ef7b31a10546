// Shared by the execution targets: instantiate a decoded module with stub imports and call every
// exported function under small limits, twice, checking that both runs agree exactly.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "runtime/module.hpp"
#include "runtime/store.hpp"

namespace tollgate::fuzz {

/// The small limits the execution targets run under (house-style 2.6: fuzzers lower them).
struct ExecLimits {
  uint64_t fuel = 100'000;  ///< per call, and for the start function
  uint32_t max_call_depth = 100;
  uint32_t max_memory_pages = 16;  ///< 1 MiB per memory
  uint32_t max_table_elems = 1000;
  uint32_t max_exports_called = 32;
};

/// How a run calls an exported function: runtime::call, or another tier (interp_vs_jit).
using CallFn = std::function<runtime::CallResult(runtime::Store&,
                                                 runtime::Function&,
                                                 std::span<const runtime::Value>,
                                                 const runtime::CallOptions&)>;

struct RunOptions {
  CallFn call;  ///< empty: runtime::call
  /// Every float NaN printed as `nan`: the spec leaves a NaN result's sign and payload open, so
  /// two correct tiers may differ there.
  bool canonical_nans = false;
};

/// Everything observable about one run, as text: the instantiation error, or per exported
/// function its results (raw bits), trap kind and fuel left, then the exported globals and the
/// memory sizes.
std::string run_module(const std::shared_ptr<const runtime::Module>& module,
                       const ExecLimits& limits = {},
                       const RunOptions& run = {});

/// Runs `module` twice in fresh stores and aborts (a fuzz finding) when the two runs differ:
/// results, traps and fuel left must be deterministic.
void run_module_twice(const std::shared_ptr<const runtime::Module>& module,
                      const ExecLimits& limits = {});

}  // namespace tollgate::fuzz
