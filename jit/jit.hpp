// The JIT tier's public interface: whole-module compilation and calls into compiled code.
// SPDX-License-Identifier: Apache-2.0
//
// A module compiles once, before any instance exists, into an immutable CompiledModule that every
// instance of it shares (instances are bound at call time through the execution context). A
// module using anything the JIT lacks is refused as a whole with Error{unsupported}; it then runs
// on the interpreter. There is never half-compiled code.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "jit/masm.hpp"
#include "runtime/base/result.hpp"
#include "runtime/executor.hpp"
#include "runtime/module.hpp"
#include "runtime/store.hpp"

namespace tollgate::jit {

struct ExecContext;

struct CompileOptions {
  BoundsMode bounds = BoundsMode::explicit_checks;
  /// Threads compiling functions at most; 0: as many as the hardware has. Small modules compile
  /// on the calling thread whatever this says (jit/module_compiler.hpp).
  uint32_t threads = 0;
};

/// Machine code for every defined function of one module, plus its entry trampoline.
class CompiledModule {
 public:
  /// Runs `entry` with frame `fp` under `ctx`; 0 when it returned, 1 when it trapped (the kind
  /// is in ctx->trap_kind).
  using Trampoline = uint32_t (*)(ExecContext* ctx, uint64_t* fp, const void* entry);

  CompiledModule(const runtime::Module& module,
                 BoundsMode bounds,
                 std::shared_ptr<void> code,
                 Trampoline trampoline,
                 std::vector<const void*> entries,
                 size_t code_size)
      : module_(&module),
        bounds_(bounds),
        code_(std::move(code)),
        trampoline_(trampoline),
        entries_(std::move(entries)),
        code_size_(code_size) {}

  const runtime::Module& module() const { return *module_; }
  BoundsMode bounds() const { return bounds_; }
  Trampoline trampoline() const { return trampoline_; }
  /// Code of defined function `f` (an index in the module's function space).
  const void* entry(runtime::FuncIdx f) const { return entries_[f - module_->num_imported_funcs]; }
  size_t code_size() const { return code_size_; }

 private:
  const runtime::Module* module_;
  BoundsMode bounds_;
  std::shared_ptr<void> code_;  ///< the executable memory, released with the last owner
  Trampoline trampoline_;
  std::vector<const void*> entries_;
  size_t code_size_;
};

/// True when this build has a backend for the host ISA.
bool available();

/// Compiles every function of `module`, which must outlive the result. Error{unsupported} when
/// the module uses an operation the JIT lacks or the host has no backend.
runtime::Result<std::shared_ptr<const CompiledModule>> compile_module(
    const runtime::Module& module,
    const CompileOptions& options = {});

/// Whether `invoke(code, ..., func, ...)` runs `func` on compiled code (rather than handing it to
/// runtime::call).
bool runs_on_jit(const CompiledModule& code, const runtime::Function& func);

/// Calls `func` with `args` (checked against its type) on compiled code. `func` must be a wasm
/// function of an instance of `code`'s module; any other function goes to runtime::call, and so
/// does guard-region code whose instance's memory could not get the full 8 GiB reservation.
/// Calls out of compiled code into another module's function go to the store's engine when it
/// runs that module, else to the interpreter.
runtime::CallResult invoke(const CompiledModule& code,
                           runtime::Store& store,
                           runtime::Function& func,
                           std::span<const runtime::Value> args,
                           const runtime::CallOptions& options = {});

/// The JIT as the runtime's execution engine (runtime/executor.hpp): prepare() compiles a module
/// with `bounds` once and keeps the code with the module, for every instance, store and thread;
/// a refused module, or any module on a host without a backend, runs interpreted. One engine
/// per bounds mode, alive for the whole program. A module prepared by one of them is
/// interpreted on the other.
const runtime::Engine& engine(BoundsMode bounds = BoundsMode::explicit_checks);

/// The code `engine(...)` compiled for `module`, or null (not prepared, or refused).
std::shared_ptr<const CompiledModule> prepared_code(const runtime::Module& module);

}  // namespace tollgate::jit
