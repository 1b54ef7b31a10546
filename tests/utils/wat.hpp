// Test helper: WebAssembly text to binary through wabt's wat2wasm, and loading it.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "runtime/module.hpp"

namespace tollgate::test {

/// Assembles `wat` with wat2wasm (its defaults: exactly the 2.0 features). Fails the current test (and returns an
/// empty vector) when wat2wasm rejects it, so fixtures cannot silently be wrong.
std::vector<uint8_t> wat_to_wasm(std::string_view wat);

/// wat_to_wasm + runtime::decode_module; fails the test on any error.
std::shared_ptr<const runtime::Module> load_wat(std::string_view wat);

/// Bytes from a hex string such as "0061736d 01000000" (spaces ignored), for hand-made binaries.
std::vector<uint8_t> from_hex(std::string_view hex);

}  // namespace tollgate::test
