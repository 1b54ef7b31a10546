// C++ functions generated code calls for work that is not worth inlining (traps set ctx->trapped).
// SPDX-License-Identifier: Apache-2.0
//
// Every helper takes the execution context first and plain words after it, so any backend calls
// them with its C calling convention. Operands of stack-form operations are passed as the address
// of their first (spilled) value-stack slot; results are written back from that slot. None of
// them throws; a trap sets `trap_kind` and `trapped` and the caller leaves through its trap path.
#pragma once

#include <cstdint>

#include "jit/context.hpp"

namespace tollgate::jit {

/// Calls imported function `func` (host or wasm of any instance and tier).
uint64_t helper_call_import(ExecContext* ctx, uint32_t func, uint64_t* sp) noexcept;
/// Resolves `table[elem]` and checks its type against `type`. A wasm function of this very
/// instance comes back as its code address for the caller to call; anything else is called here
/// and null comes back.
const void* helper_call_indirect(ExecContext* ctx,
                                 uint32_t table,
                                 uint32_t elem,
                                 uint32_t type,
                                 uint64_t* sp) noexcept;

uint64_t helper_memory_grow(ExecContext* ctx, uint64_t* sp) noexcept;
uint64_t helper_memory_fill(ExecContext* ctx, uint64_t* sp) noexcept;
uint64_t helper_memory_copy(ExecContext* ctx, uint64_t* sp) noexcept;
uint64_t helper_memory_init(ExecContext* ctx, uint32_t data, uint64_t* sp) noexcept;
uint64_t helper_data_drop(ExecContext* ctx, uint32_t data, uint64_t* sp) noexcept;
uint64_t helper_table_get(ExecContext* ctx, uint32_t table, uint64_t* sp) noexcept;
uint64_t helper_table_set(ExecContext* ctx, uint32_t table, uint64_t* sp) noexcept;
uint64_t helper_table_size(ExecContext* ctx, uint32_t table, uint64_t* sp) noexcept;
uint64_t helper_table_grow(ExecContext* ctx, uint32_t table, uint64_t* sp) noexcept;
uint64_t helper_table_fill(ExecContext* ctx, uint32_t table, uint64_t* sp) noexcept;
uint64_t helper_table_copy(ExecContext* ctx, uint32_t dst, uint32_t src, uint64_t* sp) noexcept;
uint64_t helper_table_init(ExecContext* ctx, uint32_t elem, uint32_t table, uint64_t* sp) noexcept;
uint64_t helper_elem_drop(ExecContext* ctx, uint32_t elem, uint64_t* sp) noexcept;

// Float-to-integer truncations: the trapping ones (spec `trunc`) and the saturating ones.
#define TG_JIT_TRUNCS(X)                                                                         \
  X(i32_trunc_f32_s)                                                                             \
  X(i32_trunc_f32_u)                                                                             \
  X(i32_trunc_f64_s) X(i32_trunc_f64_u) X(i64_trunc_f32_s) X(i64_trunc_f32_u) X(i64_trunc_f64_s) \
      X(i64_trunc_f64_u) X(i32_trunc_sat_f32_s) X(i32_trunc_sat_f32_u) X(i32_trunc_sat_f64_s)    \
          X(i32_trunc_sat_f64_u) X(i64_trunc_sat_f32_s) X(i64_trunc_sat_f32_u)                   \
              X(i64_trunc_sat_f64_s) X(i64_trunc_sat_f64_u)
#define X(name) uint64_t helper_##name(ExecContext* ctx, uint64_t bits) noexcept;
TG_JIT_TRUNCS(X)
#undef X

}  // namespace tollgate::jit
