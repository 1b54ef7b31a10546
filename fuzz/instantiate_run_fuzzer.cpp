// Fuzz target `instantiate_run`: decode arbitrary bytes; when valid, instantiate with stub imports
// and call every export with zero arguments under small fuel, twice, requiring identical runs.
// SPDX-License-Identifier: Apache-2.0
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz/exec_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto module = tollgate::runtime::decode_module(std::span<const uint8_t>(data, size));
  if (module)
    tollgate::fuzz::run_module_twice(module.value());
  return 0;
}
