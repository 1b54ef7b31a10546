// Instantiates a module with stub imports and calls every export under fuel, recording the outcome.
// SPDX-License-Identifier: Apache-2.0
#include "fuzz/exec_harness.hpp"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <vector>

#include "runtime/store.hpp"

namespace tollgate::fuzz {
namespace {

using namespace tollgate::runtime;

bool is_nan(const Value& v) {
  if (v.type == ValType::f32)
    return (v.f32_bits & 0x7f800000u) == 0x7f800000u && (v.f32_bits & 0x007fffffu) != 0;
  if (v.type == ValType::f64)
    return (v.f64_bits & 0x7ff0000000000000ull) == 0x7ff0000000000000ull &&
           (v.f64_bits & 0x000fffffffffffffull) != 0;
  return false;
}

void append_value(std::string& out, const Value& v, bool canonical_nans) {
  out += val_type_name(v.type);
  out += ':';
  if (canonical_nans && is_nan(v)) {
    out += "nan ";
    return;
  }
  char buf[48];
  switch (v.type) {
    case ValType::i32:
    case ValType::f32:
      std::snprintf(buf, sizeof buf, "%08x", v.i32);
      break;
    case ValType::i64:
    case ValType::f64:
      std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v.i64));
      break;
    case ValType::v128:
      std::snprintf(buf, sizeof buf, "%016llx%016llx",
                    static_cast<unsigned long long>(v.v128.u64[1]),
                    static_cast<unsigned long long>(v.v128.u64[0]));
      break;
    case ValType::funcref:
    case ValType::externref:
      // Addresses differ between stores; only nullness is comparable.
      std::snprintf(buf, sizeof buf, "%s", v.is_null() ? "null" : "ref");
      break;
  }
  out += buf;
  out += ' ';
}

/// Imports that satisfy any module: functions returning zeros, and a memory, table or global of
/// exactly the imported type.
std::optional<std::vector<Extern>> stub_imports(Store& store, const Module& module) {
  std::vector<Extern> imports;
  for (const Import& imp : module.imports) {
    switch (imp.kind) {
      case ExternKind::func: {
        FuncType type = module.types[imp.func_type];
        std::vector<ValType> results = type.results;
        Function* f = store.create_host_function(
            std::move(type),
            [results](HostContext&, std::span<const Value>,
                      std::span<Value> out) -> std::optional<Trap> {
              for (size_t i = 0; i < out.size() && i < results.size(); ++i)
                out[i] = Value::zero(results[i]);
              return std::nullopt;
            });
        imports.push_back(Extern::of(f));
        break;
      }
      case ExternKind::memory: {
        auto m = store.create_memory(imp.memory);
        if (!m)
          return std::nullopt;
        imports.push_back(Extern::of(m.value()));
        break;
      }
      case ExternKind::table: {
        auto t = store.create_table(imp.table, 0);
        if (!t)
          return std::nullopt;
        imports.push_back(Extern::of(t.value()));
        break;
      }
      case ExternKind::global:
        imports.push_back(
            Extern::of(store.create_global(imp.global, Value::zero(imp.global.type))));
        break;
    }
  }
  return imports;
}

}  // namespace

std::string run_module(const std::shared_ptr<const Module>& module,
                       const ExecLimits& limits,
                       const RunOptions& run) {
  StoreLimits store_limits;
  store_limits.max_memory_pages = limits.max_memory_pages;
  store_limits.max_table_elems = limits.max_table_elems;
  Store store(store_limits);
  auto imports = stub_imports(store, *module);
  if (!imports)
    return "imports over the limits";
  CallOptions options;
  options.fuel = limits.fuel;
  options.max_call_depth = limits.max_call_depth;
  auto instance = instantiate(store, module, *imports, options);
  std::string out;
  if (!instance) {
    out += "instantiate error kind " + std::to_string(static_cast<int>(instance.error().kind));
    out += ": " + instance.error().message;
    return out;
  }
  Instance& inst = *instance.value();
  uint32_t called = 0;
  for (const Export& e : module->exports) {
    if (e.kind == ExternKind::global) {
      out += "global " + e.name + " = ";
      append_value(out, inst.globals[e.index]->get(), run.canonical_nans);
      out += '\n';
      continue;
    }
    if (e.kind != ExternKind::func || called >= limits.max_exports_called)
      continue;
    ++called;
    Function* f = inst.funcs[e.index];
    std::vector<Value> args;
    for (ValType t : f->type.params)
      args.push_back(Value::zero(t));
    CallResult r = run.call ? run.call(store, *f, args, options) : call(store, *f, args, options);
    out += "call " + e.name + " -> ";
    if (r.trap)
      out += "trap " + std::to_string(static_cast<int>(r.trap->kind)) + " ";
    for (const Value& v : r.values)
      append_value(out, v, run.canonical_nans);
    out += "fuel_left " + std::to_string(r.fuel_left) + '\n';
  }
  for (const Memory* m : inst.memories)
    out += "memory pages " + std::to_string(m->pages()) + '\n';
  for (const Table* t : inst.tables)
    out += "table size " + std::to_string(t->size()) + '\n';
  return out;
}

void run_module_twice(const std::shared_ptr<const Module>& module, const ExecLimits& limits) {
  const std::string first = run_module(module, limits);
  const std::string second = run_module(module, limits);
  if (first != second) {
    std::fprintf(stderr, "nondeterministic execution:\n--- first\n%s--- second\n%s", first.c_str(),
                 second.c_str());
    std::abort();
  }
  // For looking at what an input does: TG_FUZZ_VERBOSE=1 build/fuzz/instantiate_run_replay FILE
  if (std::getenv("TG_FUZZ_VERBOSE") != nullptr)
    std::fprintf(stderr, "%s", first.c_str());
}

}  // namespace tollgate::fuzz
