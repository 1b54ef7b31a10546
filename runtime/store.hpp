// Runtime objects (functions, memories, tables, globals, instances) and the Store that owns them.
// SPDX-License-Identifier: Apache-2.0
//
// A Store owns everything instantiation creates, as in the spec's store and wasmtime's Store:
// objects refer to each other by raw pointer and all live until the Store dies. One Store per
// evaluation keeps clean-up trivial (the server drops the Store after each request). A Store is
// used by one thread at a time; the Modules it instantiates are immutable and shared.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/base/limits.hpp"
#include "runtime/base/result.hpp"
#include "runtime/module.hpp"
#include "runtime/trap.hpp"
#include "runtime/types.hpp"
#include "runtime/value.hpp"

namespace tollgate::runtime {

struct Instance;
class Store;
struct Memory;
class InstancePre;
class Engine;

/// What a host function sees of its caller.
struct HostContext {
  Store& store;
  Instance* caller = nullptr;  ///< the instance whose code made the call (null if called directly)
  /// The caller's memory 0, or null; host functions read guest buffers through it.
  Memory* memory() const;
};

/// A host function. It must not throw: it reports failure by returning a Trap (host_error with
/// a detail, or exit). `results` is pre-sized to the function type's results.
using HostFunc =
    std::function<std::optional<Trap>(HostContext&, std::span<const Value> args, std::span<Value> results)>;

struct Function {
  FuncType type;
  uint32_t type_id = 0;  ///< intern_func_type(type)
  // A wasm function:
  Instance* instance = nullptr;
  const ir::FuncCode* code = nullptr;
  FuncIdx index = 0;  ///< in its instance's module
  // A host function (code == nullptr):
  HostFunc host;

  bool is_host() const { return code == nullptr; }
};

/// A linear memory. The bytes are reserved once at their largest allowed size with mmap and
/// committed as the memory grows, so `data` never moves and growth never copies.
struct Memory {
  MemoryType type;
  uint8_t* data = nullptr;
  uint64_t size = 0;           ///< bytes accessible now (pages * 64 KiB)
  uint32_t max_pages = 0;      ///< growth limit: min(type max, the store's limit)
  uint64_t reserved = 0;       ///< bytes of address space reserved

  Memory() = default;
  Memory(const Memory&) = delete;
  Memory& operator=(const Memory&) = delete;
  ~Memory();
  /// A memory of `type` with room for `max_pages`, its initial pages committed; null when the
  /// address space cannot be reserved or the pages not committed.
  static std::unique_ptr<Memory> allocate(const MemoryType& type, uint32_t max_pages);
  /// Puts the memory back into the state of a fresh one of `pages` pages (`pages` at most its
  /// size): every byte zero, pages grown beyond `pages` inaccessible again. Only pages the guest
  /// touched are cleared. False when the kernel refuses (the memory must not be reused then).
  bool reset(uint32_t pages);
  uint32_t pages() const { return static_cast<uint32_t>(size / kPageSize); }
  /// memory.grow: the old size in pages, or -1 (as uint32) when over the limit.
  uint32_t grow(uint32_t delta_pages);
  /// True when [offset, offset+length) lies inside the memory.
  bool in_bounds(uint64_t offset, uint64_t length) const { return offset + length <= size && offset + length >= offset; }
};

struct Table {
  TableType type;
  std::vector<RefBits> elems;
  uint32_t max_size = 0;  ///< growth limit: min(type max, kMaxTableSize, the store's limit)

  uint32_t size() const { return static_cast<uint32_t>(elems.size()); }
  /// table.grow: the old size, or -1 (as uint32) when over the limit.
  uint32_t grow(uint32_t delta, RefBits init);
};

struct Global {
  GlobalType type;
  /// Raw bits: scalars and references in bits[0] (zero-extended), v128 in both.
  alignas(16) uint64_t bits[2] = {0, 0};

  Value get() const;
  void set(const Value& v);
};

/// An external value: what an import takes and an export gives.
struct Extern {
  ExternKind kind = ExternKind::func;
  union {
    Function* func;
    Table* table;
    Memory* memory;
    Global* global;
  };
  Extern() : func(nullptr) {}
  static Extern of(Function* f) { Extern e; e.kind = ExternKind::func; e.func = f; return e; }
  static Extern of(Table* t) { Extern e; e.kind = ExternKind::table; e.table = t; return e; }
  static Extern of(Memory* m) { Extern e; e.kind = ExternKind::memory; e.memory = m; return e; }
  static Extern of(Global* g) { Extern e; e.kind = ExternKind::global; e.global = g; return e; }
};

struct Instance {
  std::shared_ptr<const Module> module;
  Store* store = nullptr;
  std::vector<Function*> funcs;
  std::vector<Table*> tables;
  std::vector<Memory*> memories;
  std::vector<Global*> globals;
  /// Element segments as evaluated references; a dropped segment is emptied.
  std::vector<std::vector<RefBits>> elems;
  /// Data segments; a dropped segment is empty (the span points into the module otherwise).
  std::vector<std::span<const uint8_t>> datas;

  std::optional<Extern> find_export(std::string_view name) const;
  /// The exported function called `name`, or null.
  Function* exported_function(std::string_view name) const;
};

/// Per-store limits that keep a guest from exhausting the host.
struct StoreLimits {
  uint32_t max_memory_pages = kDefaultMaxMemoryPages;  ///< per memory
  uint32_t max_table_elems = kMaxTableSize;            ///< per table
};

/// Per-call execution settings.
struct CallOptions {
  /// Fuel for the call; nullopt runs unmetered.
  std::optional<uint64_t> fuel;
  /// Set by another thread (e.g. a deadline timer) to stop the guest with `interrupted`.
  const std::atomic<bool>* interrupt = nullptr;
  uint32_t max_call_depth = kDefaultMaxCallDepth;
};

struct CallResult {
  std::vector<Value> values;
  std::optional<Trap> trap;
  /// With metering: fuel left at the end (also after a trap). Without: 0.
  uint64_t fuel_left = 0;
  bool ok() const { return !trap.has_value(); }
};

class Store {
 public:
  explicit Store(StoreLimits limits = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const StoreLimits& limits() const { return limits_; }

  /// The compiling tier this store's calls and start functions run on (runtime/executor.hpp);
  /// null, the default, interprets everything. Set it before instantiating: instantiation
  /// prepares the module's code with it.
  void set_engine(const Engine* engine) { engine_ = engine; }
  const Engine* engine() const { return engine_; }

  Function* create_host_function(FuncType type, HostFunc fn);
  /// A memory of `type`; `resource` error when its minimum exceeds the store's limit.
  Result<Memory*> create_memory(const MemoryType& type);
  Result<Table*> create_table(const TableType& type, RefBits init);
  Global* create_global(const GlobalType& type, const Value& init);

  // Used by instantiation.
  Function* adopt(std::unique_ptr<Function> f);
  Instance* adopt(std::unique_ptr<Instance> i);

  /// The execution value stack, taken on first use and reused by every call on this store. A
  /// dying store hands it to the next store its thread creates, so a short-lived store neither
  /// allocates it nor faults its pages in again.
  std::span<uint64_t> value_stack();

  /// Embedder state for host functions shared between stores: such a function finds its
  /// per-store state through HostContext::store with the key its embedder chose (the address of
  /// anything it owns). `value` must outlive the store's use; null removes the entry.
  void set_host_data(const void* key, void* value);
  /// The value set for `key`, or null.
  void* host_data(const void* key) const;

 private:
  friend class InstancePre;
  struct Lease {
    std::shared_ptr<const InstancePre> owner;
    void* slot;
  };
  struct HostData {
    const void* key;
    void* value;
  };

  StoreLimits limits_;
  const Engine* engine_ = nullptr;
  std::vector<std::unique_ptr<Function>> functions_;
  std::vector<std::unique_ptr<Memory>> memories_;
  std::vector<std::unique_ptr<Table>> tables_;
  std::vector<std::unique_ptr<Global>> globals_;
  std::vector<std::unique_ptr<Instance>> instances_;
  std::vector<Lease> leases_;  ///< pooled instances, given back when the store dies
  std::vector<HostData> host_data_;
  uint64_t* value_stack_ = nullptr;
};

/// Instantiates `module` in `store` with `imports` given in the module's import order
/// (https://webassembly.github.io/spec/core/exec/modules.html#instantiation): checks the imports
/// (`unlinkable`), allocates, initialises globals, then element and data segments in order, then
/// runs the start function with `start_options`. A trap in segment initialisation or start gives
/// an `uninstantiable` error whose message is the trap's message; effects already made on
/// imported tables and memories stay, as the spec requires.
Result<Instance*> instantiate(Store& store, std::shared_ptr<const Module> module,
                              std::span<const Extern> imports, const CallOptions& start_options = {});

/// Everything instantiating `module` with a fixed list of imports computes that does not depend
/// on the Store, computed once: the checked imports, and for a module that imports only
/// functions, its initial globals, tables, segment state and the contents of its memory after
/// the data segments. Such instances come from a pool of instance slots: a slot keeps its
/// functions, tables, globals and its memory's reservation and committed pages, and when its
/// store dies it is reset to that initial image (bytes the guest may have changed are copied
/// back from the image or zeroed, grown pages are zeroed and made inaccessible again) and handed
/// to the next instantiation in any store and thread. A pooled instance is indistinguishable
/// from one `instantiate` makes: the start function runs in every store, errors are the same.
/// Other modules (imported memories, tables or globals, segments out of bounds) are
/// instantiated as `instantiate` does. The imported functions must outlive this object and be
/// callable from any store (host functions that keep per-store state in Store::host_data).
class InstancePre : public std::enable_shared_from_this<InstancePre> {
 public:
  /// Checks `imports` against `module` (`unlinkable` errors as `instantiate` gives them).
  static Result<std::shared_ptr<const InstancePre>> create(std::shared_ptr<const Module> module,
                                                           std::vector<Extern> imports);
  ~InstancePre();
  InstancePre(const InstancePre&) = delete;
  InstancePre& operator=(const InstancePre&) = delete;

  const std::shared_ptr<const Module>& module() const { return module_; }
  std::span<const Extern> imports() const { return imports_; }
  /// True when instances come from the pool (see above).
  bool pooled() const { return pooled_; }
  /// A fresh instance of the module in `store`, its start function run with `start_options`.
  Result<Instance*> instantiate(Store& store, const CallOptions& start_options = {}) const;

 private:
  struct Slot;
  struct Layout;
  InstancePre() = default;
  Result<Slot*> acquire(Store& store) const;
  void release(Slot* slot) const;
  friend class Store;

  std::shared_ptr<const Module> module_;
  std::vector<Extern> imports_;
  bool pooled_ = false;
  std::unique_ptr<const Layout> layout_;
  mutable std::mutex pool_mutex_;
  mutable std::vector<Slot*> free_slots_;
};

/// Resolves imports by (module, name) from definitions and registered instances.
class Linker {
 public:
  void define(std::string module, std::string name, Extern value);
  /// Makes every export of `instance` importable as (`module`, export name).
  void define_instance(const std::string& module, const Instance& instance);
  /// Resolves `module`'s imports (`unlinkable` naming the first one missing or mismatched) and
  /// instantiates it.
  Result<Instance*> instantiate(Store& store, std::shared_ptr<const Module> module,
                                const CallOptions& start_options = {}) const;
  /// Resolves `module`'s imports once for instantiating it in many stores (see InstancePre).
  Result<std::shared_ptr<const InstancePre>> prepare(std::shared_ptr<const Module> module) const;

 private:
  std::map<std::pair<std::string, std::string>, Extern> defs_;
};

/// Calls `func` with `args` (checked against its type): on the store's engine when it runs
/// `func`'s module, otherwise on the interpreter.
CallResult call(Store& store, Function& func, std::span<const Value> args,
                const CallOptions& options = {});

}  // namespace tollgate::runtime
