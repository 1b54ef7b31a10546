// Picks the backend for the host ISA (house-style 2.4: `jit::lookup`) and serves as the
// runtime's execution engine.
// SPDX-License-Identifier: Apache-2.0
#include "jit/jit.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#if defined(__x86_64__)
#include "jit/x64/backend_x64.hpp"
#elif defined(__aarch64__)
#include "jit/a64/backend_a64.hpp"
#endif

namespace tollgate::jit {
namespace {

// What an engine installs in Module::tier_code: its code, or null for a refused module, so a
// refusal is not retried by every instantiation.
struct TierCode {
  const runtime::Engine* owner;
  std::shared_ptr<const CompiledModule> code;
};

void delete_tier_code(void* p) {
  delete static_cast<TierCode*>(p);
}

const TierCode* tier_code(const runtime::Module& module) {
  return static_cast<const TierCode*>(module.tier_code.get());
}

// With TOLLGATE_PERF_MAP set, every module the engine compiles is listed in /tmp/perf-PID.map,
// where `perf report` finds the names of JIT code (the guest's function names), so profiles of
// policies say which guest function is hot. A function's size runs to the next one's entry; the
// last one's is an upper bound.
void write_perf_map(const CompiledModule& code) {
  static const bool enabled = std::getenv("TOLLGATE_PERF_MAP") != nullptr;
  if (!enabled)
    return;
  const runtime::Module& m = code.module();
  std::vector<std::pair<uintptr_t, runtime::FuncIdx>> starts;
  for (auto f = static_cast<runtime::FuncIdx>(m.num_imported_funcs); f < m.funcs.size(); ++f)
    starts.emplace_back(reinterpret_cast<uintptr_t>(code.entry(f)), f);
  if (starts.empty())
    return;
  std::sort(starts.begin(), starts.end());
  const uintptr_t end = starts.front().first + code.code_size();
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  const std::string path = "/tmp/perf-" + std::to_string(getpid()) + ".map";
  std::FILE* out = std::fopen(path.c_str(), "a");
  if (out == nullptr)
    return;
  for (size_t i = 0; i < starts.size(); ++i) {
    const uintptr_t next = i + 1 < starts.size() ? starts[i + 1].first : end;
    std::fprintf(out, "%lx %lx wasm %s\n", static_cast<unsigned long>(starts[i].first),
                 static_cast<unsigned long>(next - starts[i].first),
                 m.func_display_name(starts[i].second).c_str());
  }
  std::fclose(out);
}

class JitEngine final : public runtime::Engine {
 public:
  explicit JitEngine(BoundsMode bounds) : bounds_(bounds) {}

  std::string_view name() const override { return "jit"; }

  bool prepare(const runtime::Module& module) const override {
    const TierCode* installed = tier_code(module);
    if (installed == nullptr) {
      // Two threads may compile the same module at once; the loser's code is freed unused.
      auto* made = new TierCode{this, nullptr};
      if (auto code = compile_module(module, CompileOptions{bounds_})) {
        made->code = std::move(code.value());
        write_perf_map(*made->code);
      }
      installed = static_cast<const TierCode*>(module.tier_code.install(made, &delete_tier_code));
    }
    return installed->owner == this && installed->code != nullptr;
  }

  bool runs(const runtime::Function& func) const override {
    if (func.is_host() || func.instance == nullptr)
      return false;
    const TierCode* installed = tier_code(*func.instance->module);
    return installed != nullptr && installed->owner == this && installed->code != nullptr &&
           runs_on_jit(*installed->code, func);
  }

  runtime::CallResult call(runtime::Store& store,
                           runtime::Function& func,
                           std::span<const runtime::Value> args,
                           const runtime::CallOptions& options) const override {
    return invoke(*tier_code(*func.instance->module)->code, store, func, args, options);
  }

 private:
  BoundsMode bounds_;
};

}  // namespace

bool available() {
#if defined(__x86_64__)
  return x64::host_supported();
#elif defined(__aarch64__)
  return a64::host_supported();
#else
  return false;
#endif
}

runtime::Result<std::shared_ptr<const CompiledModule>> compile_module(
    const runtime::Module& module,
    const CompileOptions& options) {
#if defined(__x86_64__)
  return x64::compile_module(module, options);
#elif defined(__aarch64__)
  return a64::compile_module(module, options);
#else
  (void)module;
  (void)options;
  return runtime::Error{runtime::ErrorKind::unsupported, 0, "jit: no backend for this ISA"};
#endif
}

const runtime::Engine& engine(BoundsMode bounds) {
  static const JitEngine explicit_checks(BoundsMode::explicit_checks);
  static const JitEngine guard_region(BoundsMode::guard_region);
  return bounds == BoundsMode::guard_region ? guard_region : explicit_checks;
}

std::shared_ptr<const CompiledModule> prepared_code(const runtime::Module& module) {
  const TierCode* installed = tier_code(module);
  return installed != nullptr ? installed->code : nullptr;
}

}  // namespace tollgate::jit
