// WASI preview1 (`wasi_snapshot_preview1`) for policies: in-memory stdio, args, env, clocks,
// random. SPDX-License-Identifier: Apache-2.0
//
// Policies get no files, sockets or preopens. stdin is an in-memory buffer the host can refill
// (Kubewarden's WASI mode delivers host-call responses through it) that reads as EOF when empty;
// stdout and stderr are captured in memory up to a cap. Every other preview1 function exists with
// its exact signature and answers ENOSYS, so modules built by wasi-libc, Rust wasm32-wasi and
// TinyGo link, and fail cleanly only if they really use something we lack.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/store.hpp"

namespace tollgate::hostabi::wasi {

inline constexpr std::string_view kModuleName = "wasi_snapshot_preview1";

/// Preview1 errno values we answer with (https://github.com/WebAssembly/WASI, witx `errno`).
enum Errno : uint16_t {
  kSuccess = 0,
  kBadf = 8,
  kFault = 21,
  kInval = 28,
  kIo = 29,
  kNosys = 52,
  kNotsup = 58,
};

struct WasiOptions {
  std::vector<std::string> args;
  std::vector<std::string> env;  ///< "KEY=value" entries
  /// Bytes kept of stdout and of stderr each; further output is dropped (and reported written,
  /// so the guest does not retry forever).
  size_t max_output_bytes = 4u << 20;
  /// Bytes stdin may hold at once.
  size_t max_stdin_bytes = 64u << 20;
  /// Checked while poll_oneoff sleeps, so a sleeping guest still honours the deadline.
  const std::atomic<bool>* interrupt = nullptr;
};

/// The state one instance's WASI functions share. Outlives the Store it is linked into.
class WasiContext {
 public:
  explicit WasiContext(WasiOptions options = {});

  /// Appends to stdin; false when that would exceed max_stdin_bytes (nothing appended).
  bool push_stdin(std::string_view bytes);
  size_t stdin_available() const { return stdin_.size() - stdin_pos_; }
  const std::string& stdout_data() const { return stdout_; }
  const std::string& stderr_data() const { return stderr_; }
  bool stdout_truncated() const { return stdout_truncated_; }
  bool stderr_truncated() const { return stderr_truncated_; }
  const WasiOptions& options() const { return options_; }

  /// Reads up to `max` bytes of stdin.
  std::string_view read_stdin(size_t max);
  /// Appends to stdout (fd 1) or stderr (fd 2) within the cap.
  void write_output(uint32_t fd, std::string_view bytes);

  /// Makes this the context the shared WASI functions (define_wasi_shared) use for calls from
  /// `store`; it must outlive the store's use.
  void bind(runtime::Store& store);

 private:
  WasiOptions options_;
  std::string stdin_;
  size_t stdin_pos_ = 0;
  std::string stdout_;
  std::string stderr_;
  bool stdout_truncated_ = false;
  bool stderr_truncated_ = false;
};

/// Defines in `linker` every `wasi_snapshot_preview1` function `module` imports, bound to `ctx`.
/// `proc_exit(code)` traps with TrapKind::exit and `exit_code = code`.
void define_wasi(runtime::Linker& linker,
                 runtime::Store& store,
                 const runtime::Module& module,
                 WasiContext& ctx);

/// Like define_wasi, but the functions (allocated in `owner`) serve whichever WasiContext is bound
/// to the store of the calling instance, so one set made once serves every evaluation (see
/// runtime::InstancePre). A call from a store with no bound context fails with a host error.
void define_wasi_shared(runtime::Linker& linker,
                        runtime::Store& owner,
                        const runtime::Module& module);

/// True when `trap` is WASI proc_exit with code 0 (a clean exit, not a failure).
bool is_clean_exit(const runtime::Trap& trap);

}  // namespace tollgate::hostabi::wasi
