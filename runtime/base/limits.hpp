// Every limit of the runtime in one place, each with the reason for its value.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>

namespace tollgate::runtime {

/// The WebAssembly page size (spec: 64 KiB).
inline constexpr uint64_t kPageSize = 65536;
/// The largest memory a 32-bit address space can name (spec: 65536 pages).
inline constexpr uint32_t kMaxMemoryPages = 65536;
/// Table elements: the spec allows 2^32-1; like V8 (10M) we refuse more, so no module can make
/// us allocate gigabytes of table.
inline constexpr uint32_t kMaxTableSize = 10'000'000;

// Counts read from a module are checked against these before anything is allocated, so a
// hostile module cannot make the decoder allocate without bound. The values are V8's
// (src/wasm/wasm-limits.h), which real toolchains stay far below.
inline constexpr uint32_t kMaxModuleSize = 1024u * 1024u * 1024u;  ///< 1 GiB of bytes
inline constexpr uint32_t kMaxTypes = 1'000'000;
inline constexpr uint32_t kMaxFunctions = 1'000'000;
inline constexpr uint32_t kMaxImports = 100'000;
inline constexpr uint32_t kMaxExports = 100'000;
inline constexpr uint32_t kMaxGlobals = 1'000'000;
inline constexpr uint32_t kMaxTables = 100'000;
inline constexpr uint32_t kMaxMemories = 1;  ///< WebAssembly 2.0 has at most one memory
inline constexpr uint32_t kMaxDataSegments = 100'000;
inline constexpr uint32_t kMaxElemSegments = 10'000'000;
inline constexpr uint32_t kMaxFunctionParams = 1000;
inline constexpr uint32_t kMaxFunctionResults = 1000;
inline constexpr uint32_t kMaxFunctionLocals = 50'000;
inline constexpr uint32_t kMaxFunctionSize = 7'654'321;  ///< bytes of one body (V8's value)
inline constexpr uint32_t kMaxBrTableSize = 65'520;
inline constexpr uint32_t kMaxBlockDepth = 65'536;  ///< nesting of block/loop/if in one body

/// Wasm-to-wasm call depth; the spec suite's exhaustion tests need some finite bound, and 10k
/// frames covers real recursive guests (the interpreter keeps frames off the native stack).
inline constexpr uint32_t kDefaultMaxCallDepth = 10'000;
/// Value-stack slots (8 bytes each) per execution: 1 MiB slots = 8 MiB.
inline constexpr uint32_t kDefaultValueStackSlots = 1u << 20;
/// Default cap on one instance's linear memory: 256 MiB. Policies need a few MiB; a guest that
/// grows beyond this sees memory.grow fail (-1) instead of exhausting the host.
inline constexpr uint32_t kDefaultMaxMemoryPages = 4096;

}  // namespace tollgate::runtime
