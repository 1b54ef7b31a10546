// Fuzz target `gen_run`: the structured generator (wasm_gen) turns the input into a valid module,
// which must decode, and which then runs as in `instantiate_run` (stub imports, fuel, twice).
// SPDX-License-Identifier: Apache-2.0
#include <FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz/exec_harness.hpp"
#include "fuzz/fuzz_util.hpp"
#include "fuzz/wasm_gen.hpp"
#include "runtime/module.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const std::vector<uint8_t> wasm = tollgate::fuzz::generate_module(in);
  auto module = tollgate::runtime::decode_module(wasm);
  // Every generated module is valid: a rejection is a generator or a validator bug.
  if (!module)
    tollgate::fuzz::fail(
        "generated module rejected",
        "at " + std::to_string(module.error().offset) + ": " + module.error().message);
  tollgate::fuzz::run_module_twice(module.value());
  return 0;
}
