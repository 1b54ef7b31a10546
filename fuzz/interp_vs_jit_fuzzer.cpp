// Fuzz target `interp_vs_jit`: a generated module (wasm_gen) runs on the interpreter and on the
// JIT, which must agree on every export's results, trap kind and fuel left.
// SPDX-License-Identifier: Apache-2.0
//
// Input: the generator's bytes; bit 0 of the first byte picks the JIT's bounds mode (explicit
// checks or the guard region), so both modes get inputs and a crasher replays in its own mode.
// The module is generated with canonical_nans and results print NaNs as `nan`: that is the
// only nondeterminism the spec allows here (NaN sign and payload), and it stays hidden. A module
// the JIT refuses is skipped; so is a call that jit::invoke would hand to runtime::call (guard
// mode without the reservation). Counts are printed at exit.
#include <FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include "fuzz/exec_harness.hpp"
#include "fuzz/fuzz_util.hpp"
#include "fuzz/wasm_gen.hpp"
#include "jit/jit.hpp"
#include "runtime/module.hpp"

namespace {

using namespace tollgate;

struct Counts {
  uint64_t modules = 0;
  uint64_t compiled[2] = {0, 0};  ///< per bounds mode: explicit, guard
  uint64_t refused = 0;
  uint64_t calls_on_jit = 0;
  uint64_t calls_handed_back = 0;  ///< runs_on_jit was false: the call ran on the interpreter
  std::map<std::string, uint64_t> refusals;
};

Counts& counts() {
  static Counts c;
  return c;
}

void print_counts() {
  const Counts& c = counts();
  std::fprintf(
      stderr,
      "interp_vs_jit: %llu modules, compiled %llu (explicit) + %llu (guard), refused "
      "%llu; calls on the JIT %llu, handed back to the interpreter %llu\n",
      static_cast<unsigned long long>(c.modules), static_cast<unsigned long long>(c.compiled[0]),
      static_cast<unsigned long long>(c.compiled[1]), static_cast<unsigned long long>(c.refused),
      static_cast<unsigned long long>(c.calls_on_jit),
      static_cast<unsigned long long>(c.calls_handed_back));
  for (const auto& [why, n] : c.refusals)
    std::fprintf(stderr, "  refused %llu: %s\n", static_cast<unsigned long long>(n), why.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::atexit(print_counts);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!jit::available())
    return 0;
  const bool guard = size > 0 && (data[0] & 1) != 0;
  FuzzedDataProvider in(data, size);
  fuzz::GenOptions gen;
  gen.canonical_nans = true;
  const std::vector<uint8_t> wasm = fuzz::generate_module(in, gen);
  if (const char* out = std::getenv("TG_FUZZ_WASM_OUT"))  // the module, for looking at it
    std::ofstream(out, std::ios::binary)
        .write(reinterpret_cast<const char*>(wasm.data()),
               static_cast<std::streamsize>(wasm.size()));
  auto module = runtime::decode_module(wasm);
  if (!module)
    fuzz::fail("generated module rejected",
               "at " + std::to_string(module.error().offset) + ": " + module.error().message);
  Counts& c = counts();
  ++c.modules;
  jit::CompileOptions options;
  options.bounds = guard ? jit::BoundsMode::guard_region : jit::BoundsMode::explicit_checks;
  auto code = jit::compile_module(*module.value(), options);
  if (!code) {
    if (code.error().kind != runtime::ErrorKind::unsupported)
      fuzz::fail("the JIT failed on a valid module", code.error().message);
    ++c.refused;
    ++c.refusals[code.error().message];
    return 0;
  }
  ++c.compiled[guard ? 1 : 0];
  const jit::CompiledModule& compiled = *code.value();

  fuzz::RunOptions interp_run;
  interp_run.canonical_nans = true;
  fuzz::RunOptions jit_run;
  jit_run.canonical_nans = true;
  jit_run.call = [&](runtime::Store& store, runtime::Function& f,
                     std::span<const runtime::Value> args, const runtime::CallOptions& o) {
    ++(jit::runs_on_jit(compiled, f) ? c.calls_on_jit : c.calls_handed_back);
    return jit::invoke(compiled, store, f, args, o);
  };
  const std::string on_interp = fuzz::run_module(module.value(), {}, interp_run);
  const std::string on_jit = fuzz::run_module(module.value(), {}, jit_run);
  if (on_interp != on_jit) {
    std::fprintf(stderr, "interpreter and JIT (%s bounds) differ:\n--- interpreter\n%s--- jit\n%s",
                 guard ? "guard" : "explicit", on_interp.c_str(), on_jit.c_str());
    std::abort();
  }
  if (std::getenv("TG_FUZZ_VERBOSE") != nullptr)
    std::fprintf(stderr, "%s bounds:\n%s", guard ? "guard" : "explicit", on_jit.c_str());
  return 0;
}
