// Generated valid modules run on the interpreter and on the JIT (both bounds modes) must agree
// exactly: results, traps, fuel left, and the state they leave (globals, memory, tables).
// SPDX-License-Identifier: Apache-2.0
#include <FuzzedDataProvider.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "fuzz/wasm_gen.hpp"
#include "jit/jit.hpp"
#include "runtime/executor.hpp"
#include "runtime/store.hpp"

namespace tollgate::runtime {
namespace {

constexpr uint64_t kSeeds = 300;
constexpr size_t kInputBytes = 2048;
constexpr uint64_t kFuel = 100'000;
constexpr uint32_t kMaxCallDepth = 200;

void append_bits(std::string& out, const Value& v) {
  char buf[48];
  switch (v.type) {
    case ValType::funcref:
    case ValType::externref:
      // Addresses differ between stores; only nullness is comparable.
      std::snprintf(buf, sizeof buf, "%s ", v.is_null() ? "null" : "ref");
      break;
    case ValType::v128:
      std::snprintf(buf, sizeof buf, "%016llx%016llx ",
                    static_cast<unsigned long long>(v.v128.u64[1]),
                    static_cast<unsigned long long>(v.v128.u64[0]));
      break;
    case ValType::i32:
    case ValType::f32:
      std::snprintf(buf, sizeof buf, "%08x ", v.i32);
      break;
    default:
      std::snprintf(buf, sizeof buf, "%016llx ", static_cast<unsigned long long>(v.i64));
      break;
  }
  out += buf;
}

// FNV-1a over the memory's bytes: two runs that wrote differently differ here.
uint64_t digest(const Memory& m) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint64_t i = 0; i < m.size; ++i)
    h = (h ^ m.data[i]) * 0x100000001b3ull;
  return h;
}

struct Outcome {
  std::string text;     ///< everything observable
  bool on_jit = false;  ///< the engine ran the module's code (not the interpreter)
};

// Instantiates `module` in a fresh store on `engine` with imports that answer deterministically
// (host functions return their arguments' sum in each result, so values flow through them) and
// calls every exported function under fuel, then reads the exported and internal state.
Outcome run(const std::shared_ptr<const Module>& module, const Engine* engine) {
  Outcome out;
  StoreLimits limits;
  limits.max_memory_pages = 16;
  limits.max_table_elems = 1000;
  Store store(limits);
  store.set_engine(engine);
  std::vector<Extern> imports;
  for (const Import& imp : module->imports) {
    switch (imp.kind) {
      case ExternKind::func: {
        FuncType type = module->types[imp.func_type];
        imports.push_back(Extern::of(store.create_host_function(
            type,
            [type](HostContext&, std::span<const Value> args,
                   std::span<Value> results) -> std::optional<Trap> {
              uint64_t sum = 0;
              for (const Value& a : args) {
                if (a.type == ValType::i32)
                  sum += a.i32;
                else if (a.type == ValType::i64)
                  sum += a.i64;
              }
              for (size_t i = 0; i < results.size(); ++i) {
                Value v = Value::zero(type.results[i]);
                if (v.type == ValType::i32 || v.type == ValType::i64)
                  v.i64 = v.type == ValType::i32 ? static_cast<uint32_t>(sum + i) : sum + i;
                results[i] = v;
              }
              return std::nullopt;
            })));
        break;
      }
      case ExternKind::memory:
        imports.push_back(Extern::of(store.create_memory(imp.memory).value()));
        break;
      case ExternKind::table:
        imports.push_back(Extern::of(store.create_table(imp.table, 0).value()));
        break;
      case ExternKind::global: {
        Value init = Value::zero(imp.global.type);
        if (init.type == ValType::i32 || init.type == ValType::i64)
          init.i64 = 3;
        imports.push_back(Extern::of(store.create_global(imp.global, init)));
        break;
      }
    }
  }
  CallOptions options;
  options.fuel = kFuel;
  options.max_call_depth = kMaxCallDepth;
  auto instance = instantiate(store, module, imports, options);
  if (!instance) {
    out.text = "instantiate: " + instance.error().message;
    return out;
  }
  Instance& inst = *instance.value();
  uint32_t salt = 0;
  for (const Export& e : module->exports) {
    if (e.kind != ExternKind::func)
      continue;
    Function* f = inst.funcs[e.index];
    out.on_jit = out.on_jit || (engine != nullptr && engine->runs(*f));
    std::vector<Value> args;
    for (ValType t : f->type.params) {
      Value v = Value::zero(t);
      if (t == ValType::i32 || t == ValType::i64)
        v.i64 = t == ValType::i32 ? uint64_t{0x11u * ++salt} : 0x100000001ull * ++salt;
      args.push_back(v);
    }
    CallResult r = call(store, *f, args, options);
    out.text += "call " + e.name + ": ";
    if (r.trap)
      out.text += "trap " + r.trap->message() + " ";
    for (const Value& v : r.values)
      append_bits(out.text, v);
    out.text += "fuel " + std::to_string(r.fuel_left) + "\n";
  }
  for (const Global* g : inst.globals) {
    out.text += "global ";
    append_bits(out.text, g->get());
    out.text += "\n";
  }
  for (const Memory* m : inst.memories)
    out.text += "memory " + std::to_string(m->pages()) + " " + std::to_string(digest(*m)) + "\n";
  for (const Table* t : inst.tables) {
    out.text += "table " + std::to_string(t->size()) + ":";
    for (RefBits r : t->elems)
      out.text += r == 0 ? " -" : " f";
    out.text += "\n";
  }
  return out;
}

TEST(DifferentialTest, GeneratedModulesAgreeOnBothTiers) {
  if (!jit::available())
    GTEST_SKIP() << "this host has no JIT backend";
  const Engine* explicit_checks = &jit::engine(jit::BoundsMode::explicit_checks);
  const Engine* guard_region = &jit::engine(jit::BoundsMode::guard_region);
  uint64_t compared = 0, ran_on_jit = 0, ran_on_guard = 0, trapped = 0, calls = 0;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    std::mt19937_64 rng(seed);
    std::vector<uint8_t> input(kInputBytes);
    for (uint8_t& b : input)
      b = static_cast<uint8_t>(rng());
    FuzzedDataProvider provider(input.data(), input.size());
    const std::vector<uint8_t> bytes = fuzz::generate_module(provider);
    // Each tier decodes its own copy: a module keeps the code of the first engine that
    // prepared it.
    auto for_interp = decode_module(bytes);
    auto for_jit = decode_module(bytes);
    auto for_guard = decode_module(bytes);
    ASSERT_TRUE(for_interp.ok()) << "seed " << seed << ": " << for_interp.error().message;
    ASSERT_TRUE(for_jit.ok() && for_guard.ok());
    const Outcome interp = run(*for_interp, nullptr);
    const Outcome jit = run(*for_jit, explicit_checks);
    const Outcome guard = run(*for_guard, guard_region);
    ASSERT_EQ(interp.text, jit.text) << "seed " << seed;
    ASSERT_EQ(interp.text, guard.text) << "seed " << seed << " (guard region)";
    ++compared;
    for (size_t at = 0; (at = interp.text.find("call ", at)) != std::string::npos; ++at)
      ++calls;
    ran_on_jit += jit.on_jit ? 1 : 0;
    ran_on_guard += guard.on_jit ? 1 : 0;
    trapped += interp.text.find("trap ") != std::string::npos ? 1 : 0;
  }
  // The comparison means something only if the JIT really ran most modules, and if they
  // exercised traps as well as normal returns.
  RecordProperty("modules", std::to_string(compared));
  RecordProperty("modules_with_a_trap", std::to_string(trapped));
  RecordProperty("calls", std::to_string(calls));
  EXPECT_EQ(ran_on_jit, compared) << "modules the JIT refused ran interpreted";
  EXPECT_EQ(ran_on_guard, compared) << "modules the JIT refused ran interpreted";
  EXPECT_GT(trapped, compared / 10);
  EXPECT_LT(trapped, compared);
}

}  // namespace
}  // namespace tollgate::runtime
