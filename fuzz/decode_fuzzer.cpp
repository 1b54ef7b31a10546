// Fuzz target `decode`: decode_module on arbitrary bytes. Any Error is fine; only a crash, a
// sanitizer report, a hang or an unbounded allocation is a finding.
// SPDX-License-Identifier: Apache-2.0
#include <cstddef>
#include <cstdint>
#include <span>

#include "runtime/module.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto module = tollgate::runtime::decode_module(std::span<const uint8_t>(data, size));
  if (module) {
    // Touch what the decoder produced, so a lowering bug that leaves garbage shows up here.
    const auto& m = *module.value();
    size_t total = 0;
    for (const auto& code : m.codes)
      total += code.code.size();
    (void)total;
  }
  return 0;
}
