// The waPC host: the nine `wapc` imports, guest initialisation and the `__guest_call` sequence.
// SPDX-License-Identifier: Apache-2.0
//
// Reproduces wapc-rs (`crates/wapc` WapcHost::call, `crates/wasmtime-provider` callbacks):
// the host stores (operation, payload), calls `__guest_call(op_len, payload_len)`, and the guest
// pulls them with `__guest_request` and answers with `__guest_response` or `__guest_error`.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hostabi/host_call.hpp"
#include "runtime/store.hpp"

namespace tollgate::hostabi::wapc {

inline constexpr std::string_view kModuleName = "wapc";
/// What wapc-rs reports when the wasmtime epoch deadline stops the guest; Kubewarden matches it.
inline constexpr std::string_view kInterruptedMessage =
    "guest code interrupted, execution deadline exceeded";
/// Largest response or error a guest may hand over in one call (16 MiB).
inline constexpr uint32_t kMaxGuestResponseBytes = 16u << 20;

/// Per-evaluation protocol state (wapc-rs ModuleState).
struct WapcState {
  std::string op;
  std::vector<uint8_t> payload;
  std::optional<std::vector<uint8_t>> guest_response;
  std::optional<std::string> guest_error;
  std::optional<std::vector<uint8_t>> host_response;
  std::optional<std::string> host_error;
};

/// Receives `__console_log` lines.
using ConsoleLog = std::function<void(std::string_view)>;

/// How a call or the initialisation ended.
struct WapcOutcome {
  bool ok = false;
  std::vector<uint8_t> response;  ///< when ok
  std::string error;              ///< when !ok: the guest's error or the trap text
  /// When the guest trapped: the trap kind (interrupted = deadline, out_of_fuel, ...).
  std::optional<runtime::TrapKind> trap;

  bool interrupted() const { return trap == runtime::TrapKind::interrupted; }
};

class WapcHost {
 public:
  /// `host_call` answers `__host_call`; `console_log` may be empty (lines are dropped).
  WapcHost(HostCallHandler host_call, ConsoleLog console_log);

  /// Defines the `wapc` functions `module` imports, bound to this host (which must outlive the
  /// store).
  void define_imports(runtime::Linker& linker,
                      runtime::Store& store,
                      const runtime::Module& module);

  /// Defines the `wapc` functions `module` imports as host functions allocated in `owner` that
  /// serve whichever WapcHost is bound to the store of the calling instance: one set, made
  /// once, serves every evaluation (see runtime::InstancePre). A call from a store with no
  /// bound host fails with a host error.
  static void define_shared_imports(runtime::Linker& linker,
                                    runtime::Store& owner,
                                    const runtime::Module& module);
  /// Binds this host to `store` for the shared imports; it must outlive the store's use.
  void bind(runtime::Store& store);

  /// Runs `_start` (a WASI proc_exit(0) is success, any other exit code fails) and then
  /// `wapc_init`, each only if exported.
  WapcOutcome initialize(runtime::Store& store,
                         runtime::Instance& instance,
                         const runtime::CallOptions& options);

  /// One waPC call of `op` with `payload`, exactly as WapcHost::call.
  WapcOutcome call(runtime::Store& store,
                   runtime::Instance& instance,
                   std::string_view op,
                   std::span<const uint8_t> payload,
                   const runtime::CallOptions& options);

  const WapcState& state() const { return state_; }

 private:
  using Lookup = std::function<WapcHost*(runtime::HostContext&)>;
  static void define(runtime::Linker& linker,
                     runtime::Store& store,
                     const runtime::Module& module,
                     Lookup host_of);

  WapcState state_;
  HostCallHandler host_call_;
  ConsoleLog console_log_;
};

/// The text a trap is reported with; an interruption becomes kInterruptedMessage.
std::string trap_text(const runtime::Trap& trap);

}  // namespace tollgate::hostabi::wapc
