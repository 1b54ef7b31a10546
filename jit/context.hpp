// The execution context generated code reaches through its pinned context register.
// SPDX-License-Identifier: Apache-2.0
//
// One ExecContext per JIT activation (one jit::invoke). Its layout is ISA-neutral: both backends
// address the fields with offsetof. The instance fields are what lets every instance of a module
// share one compiled code object: code never embeds an instance's addresses, only offsets here.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "runtime/store.hpp"

namespace tollgate::jit {

class CompiledModule;
struct Activation;

struct ExecContext {
  // The instance being executed (swapped around calls into another instance of the same module).
  uint8_t* mem_base = nullptr;
  uint64_t mem_size = 0;  ///< bytes; refreshed after anything that may grow the memory
  runtime::Global* const* globals = nullptr;
  runtime::Function* const* funcs = nullptr;
  runtime::Instance* instance = nullptr;
  runtime::Memory* memory = nullptr;
  // The activation.
  /// Fuel left; an unmetered call runs with UINT64_MAX, which no guest can exhaust.
  uint64_t fuel = 0;
  const std::atomic<bool>* interrupt = nullptr;
  uintptr_t native_stack_limit = 0;  ///< generated code traps call_stack_exhausted below this
  uint64_t* value_stack_end = nullptr;
  void* saved_sp = nullptr;  ///< the entry trampoline's native stack pointer
  uint32_t depth_left = 0;   ///< wasm frames that may still be entered
  uint8_t trap_kind = 0;     ///< a runtime::TrapKind once `trapped`
  uint8_t trapped = 0;       ///< set by trap stubs and by helpers
  uint8_t metering = 0;
  const CompiledModule* code = nullptr;
  Activation* activation = nullptr;
};

namespace ctx_offset {
inline constexpr int32_t kMemBase = offsetof(ExecContext, mem_base);
inline constexpr int32_t kMemSize = offsetof(ExecContext, mem_size);
inline constexpr int32_t kGlobals = offsetof(ExecContext, globals);
inline constexpr int32_t kFuncs = offsetof(ExecContext, funcs);
inline constexpr int32_t kFuel = offsetof(ExecContext, fuel);
inline constexpr int32_t kInterrupt = offsetof(ExecContext, interrupt);
inline constexpr int32_t kNativeStackLimit = offsetof(ExecContext, native_stack_limit);
inline constexpr int32_t kValueStackEnd = offsetof(ExecContext, value_stack_end);
inline constexpr int32_t kSavedSp = offsetof(ExecContext, saved_sp);
inline constexpr int32_t kDepthLeft = offsetof(ExecContext, depth_left);
inline constexpr int32_t kTrapKind = offsetof(ExecContext, trap_kind);
inline constexpr int32_t kTrapped = offsetof(ExecContext, trapped);
}  // namespace ctx_offset

}  // namespace tollgate::jit
