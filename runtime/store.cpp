// Runtime objects: the Store, linear memories (mmap reserve + commit), tables, globals, instances.
// SPDX-License-Identifier: Apache-2.0
#include "runtime/store.hpp"

#include <sys/mman.h>
#include <unistd.h>

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

uint64_t os_page_size() {
  static const uint64_t size = [] {
    long s = sysconf(_SC_PAGESIZE);
    return s > 0 ? static_cast<uint64_t>(s) : uint64_t{4096};
  }();
  return size;
}

// Above this many resident bytes, dropping the pages is cheaper than clearing them (the next
// guest that touches them pays page faults instead).
constexpr uint64_t kClearByDropping = uint64_t{2} << 20;

// Zeroes [begin, begin+length) of an anonymous private mapping, `begin` page-aligned, touching
// only the pages that are resident: a page never faulted in still reads as zero, so clearing it
// would only cost a page fault and a page of memory.
bool zero_resident(uint8_t* begin, uint64_t length) {
  const uint64_t page = os_page_size();
  length = (length + page - 1) / page * page;
  constexpr uint64_t kChunk = 512;  // pages examined per mincore call
  unsigned char resident[kChunk];
  uint64_t cleared = 0;
  for (uint64_t off = 0; off < length; off += kChunk * page) {
    const uint64_t n = std::min(kChunk, (length - off) / page);
    if (mincore(begin + off, n * page, resident) != 0)
      return madvise(begin, length, MADV_DONTNEED) == 0;
    for (uint64_t i = 0; i < n;) {
      if (!(resident[i] & 1)) {
        ++i;
        continue;
      }
      uint64_t j = i + 1;
      while (j < n && (resident[j] & 1))
        ++j;
      cleared += (j - i) * page;
      // Past the threshold the rest is dropped instead (what was cleared so far stays zero).
      if (cleared > kClearByDropping)
        return madvise(begin + off + i * page, length - off - i * page, MADV_DONTNEED) == 0;
      std::memset(begin + off + i * page, 0, (j - i) * page);
      i = j;
    }
  }
  return true;
}

// The value stack of the last store that died on this thread, for the next one. The flag is
// trivially destructible, so a store dying after the cache (during thread exit) can still see
// that the cache is gone and free its stack itself.
thread_local bool tls_stack_cache_closed = false;
struct StackCache {
  uint64_t* stack = nullptr;
  ~StackCache() {
    delete[] stack;
    stack = nullptr;
    tls_stack_cache_closed = true;
  }
};
thread_local StackCache tls_stack_cache;

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

std::unique_ptr<Memory> Memory::allocate(const MemoryType& type, uint32_t max_pages) {
  auto m = std::make_unique<Memory>();
  m->type = type;
  m->max_pages = max_pages;
  const uint64_t max_bytes = uint64_t{max_pages} * kPageSize;
  void* p = reserve(kFullGuardReservation);
  uint64_t reserved = kFullGuardReservation;
  if (p == nullptr) {
    reserved = max_bytes + kMinimalGuard;
    p = reserve(reserved);
  }
  if (p == nullptr)
    return nullptr;
  m->data = static_cast<uint8_t*>(p);
  m->reserved = reserved;
  if (m->grow(type.limits.min) == UINT32_MAX)
    return nullptr;
  return m;
}

bool Memory::reset(uint32_t pages) {
  const uint64_t keep = uint64_t{pages} * kPageSize;
  if (size < keep || !zero_resident(data, size))
    return false;
  if (size > keep) {
    if (mprotect(data + keep, size - keep, PROT_NONE) != 0)
      return false;
    size = keep;
  }
  return true;
}

Store::Store(StoreLimits limits) : limits_(limits) {}

Store::~Store() {
  for (Lease& lease : leases_)
    lease.owner->release(static_cast<InstancePre::Slot*>(lease.slot));
  if (value_stack_ != nullptr) {
    if (!tls_stack_cache_closed && tls_stack_cache.stack == nullptr)
      tls_stack_cache.stack = value_stack_;
    else
      delete[] value_stack_;
  }
}

void Store::set_host_data(const void* key, void* value) {
  for (auto it = host_data_.begin(); it != host_data_.end(); ++it) {
    if (it->key == key) {
      if (value == nullptr)
        host_data_.erase(it);
      else
        it->value = value;
      return;
    }
  }
  if (value != nullptr)
    host_data_.push_back({key, value});
}

void* Store::host_data(const void* key) const {
  for (const HostData& d : host_data_)
    if (d.key == key)
      return d.value;
  return nullptr;
}

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
  auto m = Memory::allocate(type, std::min(type.limits.max.value_or(kMaxMemoryPages), limit));
  if (!m)
    return Error{ErrorKind::resource, 0, "cannot reserve address space for a memory"};
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
  if (value_stack_ == nullptr) {
    if (!tls_stack_cache_closed && tls_stack_cache.stack != nullptr) {
      value_stack_ = tls_stack_cache.stack;
      tls_stack_cache.stack = nullptr;
    } else {
      // Default-initialised: the pages are only touched as deep as execution actually goes.
      value_stack_ = new uint64_t[kDefaultValueStackSlots];
    }
  }
  return {value_stack_, kDefaultValueStackSlots};
}

}  // namespace tollgate::runtime
