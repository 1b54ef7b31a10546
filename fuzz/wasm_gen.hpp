// A generator of valid WebAssembly 2.0 modules (no SIMD) driven by fuzzer bytes, so that most
// inputs reach execution instead of dying in the validator.
// SPDX-License-Identifier: Apache-2.0
//
// The module has random function types (multi-value included), an imported function and global,
// functions whose bodies are well-typed random code (expressions built for a wanted type, with
// blocks, loops, ifs, branches of every kind, calls, call_indirect, memory, table and bulk
// instructions), at most one memory with data segments, a funcref table filled by an element
// segment, mutable globals, and exports of everything. Loops may run forever: callers bound them
// with fuel. Every byte sequence gives a valid module; an exhausted input gives a small one.
#pragma once

#include <FuzzedDataProvider.h>

#include <cstdint>
#include <vector>

namespace tollgate::fuzz {

struct GenOptions {
  uint32_t max_types = 8;
  uint32_t max_funcs = 8;
  uint32_t max_params = 4;
  uint32_t max_results = 3;
  uint32_t max_locals = 6;
  uint32_t max_globals = 6;
  uint32_t max_expr_depth = 6;
  uint32_t max_block_depth = 6;
  uint32_t max_instrs_per_func = 400;  ///< soft budget; generation winds down after it
  uint32_t max_memory_pages = 2;
  /// For running on other engines, which have no fuel and see no stub imports: no imports,
  /// every loop ends by itself (counters never start huge, no branch targets a loop), calls
  /// only go to lower function indices and the table is never changed, so every run
  /// terminates; only the last function is exported, as "main", of type [] -> [results].
  bool differential = false;
  /// For comparing two engines bit for bit: a NaN is replaced by the canonical positive NaN
  /// wherever its bits could reach a non-float value (before f32/f64 reinterpret to integers,
  /// before float stores, and as copysign's sign operand). The spec leaves a NaN result's sign
  /// and payload open, so without this two correct engines may disagree on integers.
  bool canonical_nans = false;
};

/// A valid binary module generated from `in`.
std::vector<uint8_t> generate_module(FuzzedDataProvider& in, const GenOptions& options = {});

}  // namespace tollgate::fuzz
