// Picks the backend for the host ISA (house-style 2.4: `jit::lookup`) and serves as the
// runtime's execution engine.
// SPDX-License-Identifier: Apache-2.0
#include "jit/jit.hpp"

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

class JitEngine final : public runtime::Engine {
 public:
  explicit JitEngine(BoundsMode bounds) : bounds_(bounds) {}

  std::string_view name() const override { return "jit"; }

  bool prepare(const runtime::Module& module) const override {
    const TierCode* installed = tier_code(module);
    if (installed == nullptr) {
      // Two threads may compile the same module at once; the loser's code is freed unused.
      auto* made = new TierCode{this, nullptr};
      if (auto code = compile_module(module, CompileOptions{bounds_}))
        made->code = std::move(code.value());
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
