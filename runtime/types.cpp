// Type names for diagnostics and the process-wide function type interner.
// SPDX-License-Identifier: Apache-2.0
#include "runtime/types.hpp"

#include <mutex>
#include <unordered_map>

namespace tollgate::runtime {

const char* val_type_name(ValType type) {
  switch (type) {
    case ValType::i32:
      return "i32";
    case ValType::i64:
      return "i64";
    case ValType::f32:
      return "f32";
    case ValType::f64:
      return "f64";
    case ValType::v128:
      return "v128";
    case ValType::funcref:
      return "funcref";
    case ValType::externref:
      return "externref";
  }
  return "unknown";
}

std::string to_string(const FuncType& type) {
  std::string out = "[";
  for (size_t i = 0; i < type.params.size(); ++i) {
    if (i != 0)
      out += ' ';
    out += val_type_name(type.params[i]);
  }
  out += "] -> [";
  for (size_t i = 0; i < type.results.size(); ++i) {
    if (i != 0)
      out += ' ';
    out += val_type_name(type.results[i]);
  }
  out += ']';
  return out;
}

namespace {

struct FuncTypeHash {
  size_t operator()(const FuncType& t) const {
    // FNV-1a over the encodings, with a separator so [i32]->[] and []->[i32] differ.
    uint64_t h = 1469598103934665603ull;
    auto mix = [&h](uint8_t byte) {
      h ^= byte;
      h *= 1099511628211ull;
    };
    for (ValType v : t.params)
      mix(static_cast<uint8_t>(v));
    mix(0);
    for (ValType v : t.results)
      mix(static_cast<uint8_t>(v));
    return static_cast<size_t>(h);
  }
};

}  // namespace

uint32_t intern_func_type(const FuncType& type) {
  // Leaked on purpose: ids must stay valid for modules that outlive static destruction order.
  static std::mutex* mutex = new std::mutex;
  static auto* table = new std::unordered_map<FuncType, uint32_t, FuncTypeHash>;
  std::lock_guard<std::mutex> lock(*mutex);
  auto [it, inserted] = table->try_emplace(type, static_cast<uint32_t>(table->size()));
  return it->second;
}

const char* extern_kind_name(ExternKind kind) {
  switch (kind) {
    case ExternKind::func:
      return "func";
    case ExternKind::table:
      return "table";
    case ExternKind::memory:
      return "memory";
    case ExternKind::global:
      return "global";
  }
  return "unknown";
}

}  // namespace tollgate::runtime
