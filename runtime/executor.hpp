// The execution-tier interface: how runtime::call hands wasm functions to a compiling tier.
// SPDX-License-Identifier: Apache-2.0
//
// The runtime itself knows one tier, the interpreter, and depends on no other. A compiling tier
// (the JIT) implements Engine; an embedder picks it per Store (Store::set_engine), so everything
// one evaluation runs — calls, start functions, host functions calling back into the guest — goes
// to the same tier. Without an engine, or for a module the engine refused, code is interpreted.
//
// An engine prepares a module's code once and keeps it with the module (Module::tier_code), so
// every instance in every store and thread shares it; instantiation prepares it if nobody did
// before, and an embedder may do so ahead of time (the server before it reports ready). Calls
// never compile.
//
// Every tier implements the same observable semantics: results, traps (kind and detail), fuel
// left, interruption, call-depth limits and calls to host functions and to other instances are
// the same whichever tier runs a function.
#pragma once

#include <span>
#include <string_view>

#include "runtime/module.hpp"
#include "runtime/store.hpp"
#include "runtime/value.hpp"

namespace tollgate::runtime {

class Engine {
 public:
  virtual ~Engine() = default;

  /// A short name for logs and command lines ("jit").
  virtual std::string_view name() const = 0;

  /// Makes this engine's code for `module` unless it exists already (thread-safe: the first
  /// installer wins). False when the module runs interpreted: the engine refused it (it uses
  /// something the tier lacks) or the host has no backend. The answer is remembered.
  virtual bool prepare(const Module& module) const = 0;

  /// Whether `call` runs `func` (a wasm function) on this engine's code: its module was
  /// prepared and accepted, and its instance suits the code.
  virtual bool runs(const Function& func) const = 0;

  /// Runs `func`, for which `runs` is true, with `args` already checked against its type.
  virtual CallResult call(Store& store,
                          Function& func,
                          std::span<const Value> args,
                          const CallOptions& options) const = 0;
};

}  // namespace tollgate::runtime
