// Guard-region mode: turns a fault inside generated code into the spec's trap, on every backend.
// SPDX-License-Identifier: Apache-2.0
//
// With BoundsMode::guard_region, loads and stores skip their bounds check: every address a guest
// can form (32-bit index + 32-bit offset + access size) lands in its memory's 8 GiB reservation,
// whose pages beyond the current size are PROT_NONE. The SIGSEGV/SIGBUS handler below acts only
// when the faulting instruction lies in a registered code range: it resumes at that module's
// out-of-bounds stub (which stores the trap in the context, still in its pinned register, and
// leaves through the trampoline). Any other fault goes to the handler installed before ours.
#include "jit/fault_handler.hpp"

#include <signal.h>
#include <ucontext.h>

#include <atomic>
#include <cstdint>
#include <mutex>

namespace tollgate::jit {
namespace {

// The only ISA-specific part: where the interrupted context keeps its program counter.
#if defined(__x86_64__)
uintptr_t fault_pc(const ucontext_t* uc) {
  return static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
}
void resume_at(ucontext_t* uc, uintptr_t pc) {
  uc->uc_mcontext.gregs[REG_RIP] = static_cast<greg_t>(pc);
}
#elif defined(__aarch64__)
uintptr_t fault_pc(const ucontext_t* uc) {
  return static_cast<uintptr_t>(uc->uc_mcontext.pc);
}
void resume_at(ucontext_t* uc, uintptr_t pc) {
  uc->uc_mcontext.pc = pc;
}
#else
#error "guard-region faults: no backend for this ISA"
#endif

struct CodeRange {
  std::atomic<uintptr_t> begin{0};
  std::atomic<uintptr_t> end{0};
  std::atomic<uintptr_t> stub{0};
};
// Fixed-size so the signal handler reads it without locks or allocation.
constexpr size_t kMaxRanges = 4096;
CodeRange g_ranges[kMaxRanges];
std::mutex g_ranges_mutex;  // writers only
struct sigaction g_previous_segv;
struct sigaction g_previous_bus;

void forward(int sig, siginfo_t* info, void* context) {
  const struct sigaction& prev = sig == SIGBUS ? g_previous_bus : g_previous_segv;
  if (prev.sa_flags & SA_SIGINFO) {
    prev.sa_sigaction(sig, info, context);
    return;
  }
  if (prev.sa_handler == SIG_IGN)
    return;
  if (prev.sa_handler != SIG_DFL) {
    prev.sa_handler(sig);
    return;
  }
  // Default action: re-raise with the default disposition so the process dies as it would have.
  signal(sig, SIG_DFL);
  raise(sig);
}

void on_fault(int sig, siginfo_t* info, void* context) {
  auto* uc = static_cast<ucontext_t*>(context);
  const uintptr_t pc = fault_pc(uc);
  for (CodeRange& r : g_ranges) {
    const uintptr_t begin = r.begin.load(std::memory_order_acquire);
    if (begin != 0 && pc >= begin && pc < r.end.load(std::memory_order_relaxed)) {
      resume_at(uc, r.stub.load(std::memory_order_relaxed));
      return;
    }
  }
  forward(sig, info, context);
}

void install_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &g_previous_segv);
    sigaction(SIGBUS, &sa, &g_previous_bus);
  });
}

}  // namespace

bool register_code_range(const void* begin, size_t size, const void* oob_stub) {
  install_handler();
  std::lock_guard<std::mutex> lock(g_ranges_mutex);
  for (CodeRange& r : g_ranges) {
    if (r.begin.load(std::memory_order_relaxed) == 0) {
      r.end.store(reinterpret_cast<uintptr_t>(begin) + size, std::memory_order_relaxed);
      r.stub.store(reinterpret_cast<uintptr_t>(oob_stub), std::memory_order_relaxed);
      r.begin.store(reinterpret_cast<uintptr_t>(begin), std::memory_order_release);
      return true;
    }
  }
  return false;
}

void unregister_code_range(const void* begin) {
  std::lock_guard<std::mutex> lock(g_ranges_mutex);
  for (CodeRange& r : g_ranges) {
    if (r.begin.load(std::memory_order_relaxed) == reinterpret_cast<uintptr_t>(begin)) {
      r.begin.store(0, std::memory_order_release);
      return;
    }
  }
}

}  // namespace tollgate::jit
