// Runtime objects: the Store, linear memories (mmap reserve + commit), tables, globals, instances.
// SPDX-License-Identifier: Apache-2.0
#include "runtime/store.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>

namespace tollgate::runtime {
namespace {

// A 32-bit address plus a 32-bit static offset plus an 8-byte access stays below 8 GiB + 16 bytes,
// so with this much address space reserved behind `data` every access a guest can form lands
// either in committed pages or in PROT_NONE ones. A JIT may then drop bounds checks; the
// interpreter checks explicitly anyway.
constexpr uint64_t kFullGuardReservation = (uint64_t{8} << 30) + kPageSize;
// Fallback when the address space is scarce: the largest allowed size plus one guard page.
constexpr uint64_t kMinimalGuard = kPageSize;

void* reserve(uint64_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

}  // namespace

Memory* HostContext::memory() const {
  if (caller == nullptr || caller->memories.empty())
    return nullptr;
  return caller->memories[0];
}

Memory::~Memory() {
  if (data != nullptr)
    munmap(data, reserved);
}

uint32_t Memory::grow(uint32_t delta_pages) {
  const uint32_t old = pages();
  if (delta_pages > max_pages - old)
    return UINT32_MAX;
  if (delta_pages == 0)
    return old;
  const uint64_t bytes = uint64_t{delta_pages} * kPageSize;
  // Pages never committed before read as zero, and memories never shrink: no clearing needed.
  if (mprotect(data + size, bytes, PROT_READ | PROT_WRITE) != 0)
    return UINT32_MAX;
  size += bytes;
  return old;
}

uint32_t Table::grow(uint32_t delta, RefBits init) {
  const uint32_t old = size();
  if (delta > max_size - old)
    return UINT32_MAX;
  elems.resize(size_t{old} + delta, init);
  return old;
}

Value Global::get() const {
  Value v;
  v.type = type.type;
  if (type.type == ValType::v128) {
    v.v128.u64 = {bits[0], bits[1]};
  } else {
    v.i64 = bits[0];
  }
  return v;
}

void Global::set(const Value& v) {
  switch (type.type) {
    case ValType::i32:
    case ValType::f32:
      bits[0] = v.i32;
      bits[1] = 0;
      break;
    case ValType::v128:
      bits[0] = v.v128.u64[0];
      bits[1] = v.v128.u64[1];
      break;
    default:
      bits[0] = v.i64;
      bits[1] = 0;
      break;
  }
}

std::optional<Extern> Instance::find_export(std::string_view name) const {
  for (const Export& e : module->exports) {
    if (e.name != name)
      continue;
    switch (e.kind) {
      case ExternKind::func:
        return Extern::of(funcs[e.index]);
      case ExternKind::table:
        return Extern::of(tables[e.index]);
      case ExternKind::memory:
        return Extern::of(memories[e.index]);
      case ExternKind::global:
        return Extern::of(globals[e.index]);
    }
  }
  return std::nullopt;
}

Function* Instance::exported_function(std::string_view name) const {
  auto e = find_export(name);
  if (!e || e->kind != ExternKind::func)
    return nullptr;
  return e->func;
}

Store::Store(StoreLimits limits) : limits_(limits) {}
Store::~Store() = default;

Function* Store::create_host_function(FuncType type, HostFunc fn) {
  auto f = std::make_unique<Function>();
  f->type_id = intern_func_type(type);
  f->type = std::move(type);
  f->host = std::move(fn);
  return adopt(std::move(f));
}

Result<Memory*> Store::create_memory(const MemoryType& type) {
  const uint32_t limit = std::min(limits_.max_memory_pages, kMaxMemoryPages);
  if (type.limits.min > limit) {
    return Error{ErrorKind::resource, 0,
                 "memory minimum of " + std::to_string(type.limits.min) +
                     " pages exceeds the limit of " + std::to_string(limit)};
  }
  auto m = std::make_unique<Memory>();
  m->type = type;
  m->max_pages = std::min(type.limits.max.value_or(kMaxMemoryPages), limit);
  const uint64_t max_bytes = uint64_t{m->max_pages} * kPageSize;
  void* p = reserve(kFullGuardReservation);
  uint64_t reserved = kFullGuardReservation;
  if (p == nullptr) {
    reserved = max_bytes + kMinimalGuard;
    p = reserve(reserved);
  }
  if (p == nullptr)
    return Error{ErrorKind::resource, 0, "cannot reserve address space for a memory"};
  m->data = static_cast<uint8_t*>(p);
  m->reserved = reserved;
  if (m->grow(type.limits.min) == UINT32_MAX) {
    return Error{ErrorKind::resource, 0, "cannot commit the memory's initial pages"};
  }
  memories_.push_back(std::move(m));
  return memories_.back().get();
}

Result<Table*> Store::create_table(const TableType& type, RefBits init) {
  const uint32_t limit = std::min(limits_.max_table_elems, kMaxTableSize);
  if (type.limits.min > limit) {
    return Error{ErrorKind::resource, 0,
                 "table minimum of " + std::to_string(type.limits.min) +
                     " elements exceeds the limit of " + std::to_string(limit)};
  }
  auto t = std::make_unique<Table>();
  t->type = type;
  t->max_size = std::min(type.limits.max.value_or(UINT32_MAX), limit);
  t->elems.assign(type.limits.min, init);
  tables_.push_back(std::move(t));
  return tables_.back().get();
}

Global* Store::create_global(const GlobalType& type, const Value& init) {
  auto g = std::make_unique<Global>();
  g->type = type;
  g->set(init);
  globals_.push_back(std::move(g));
  return globals_.back().get();
}

Function* Store::adopt(std::unique_ptr<Function> f) {
  functions_.push_back(std::move(f));
  return functions_.back().get();
}

Instance* Store::adopt(std::unique_ptr<Instance> i) {
  instances_.push_back(std::move(i));
  return instances_.back().get();
}

std::span<uint64_t> Store::value_stack() {
  // Default-initialised: the pages are only touched as deep as execution actually goes.
  if (!value_stack_)
    value_stack_.reset(new uint64_t[kDefaultValueStackSlots]);
  return {value_stack_.get(), kDefaultValueStackSlots};
}

}  // namespace tollgate::runtime
