// Module instantiation (import checks, allocation, segment initialisation, start), the Linker,
// call(). SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <mutex>

#include "runtime/executor.hpp"
#include "runtime/interp/interpreter.hpp"
#include "runtime/store.hpp"

namespace tollgate::runtime {
namespace {

// https://webassembly.github.io/spec/core/valid/types.html#limits (import subtyping)
bool limits_match(uint32_t actual_min, std::optional<uint32_t> actual_max, const Limits& expected) {
  if (actual_min < expected.min)
    return false;
  if (!expected.max)
    return true;
  return actual_max && *actual_max <= *expected.max;
}

Error unlinkable(const Import& im, const std::string& why) {
  return Error{ErrorKind::unlinkable, 0, why + ": " + im.module + "." + im.name};
}

Status check_import(const Module& module, const Import& im, const Extern& ext) {
  if (ext.kind != im.kind)
    return unlinkable(im, "incompatible import type");
  switch (im.kind) {
    case ExternKind::func:
      if (ext.func == nullptr || ext.func->type_id != module.type_ids[im.func_type]) {
        return unlinkable(im, "incompatible import type");
      }
      break;
    case ExternKind::table:
      if (ext.table == nullptr || ext.table->type.elem != im.table.elem ||
          !limits_match(ext.table->size(), ext.table->type.limits.max, im.table.limits)) {
        return unlinkable(im, "incompatible import type");
      }
      break;
    case ExternKind::memory:
      if (ext.memory == nullptr ||
          !limits_match(ext.memory->pages(), ext.memory->type.limits.max, im.memory.limits)) {
        return unlinkable(im, "incompatible import type");
      }
      break;
    case ExternKind::global:
      if (ext.global == nullptr || ext.global->type.type != im.global.type ||
          ext.global->type.mutable_ != im.global.mutable_) {
        return unlinkable(im, "incompatible import type");
      }
      break;
  }
  return Ok{};
}

// Constant expressions: in 2.0 `global.get` names an imported global (already in `inst`), and
// `ref.func` any function of the module (all allocated before anything is evaluated).
Value eval_const(const Instance& inst, const ConstExpr& e) {
  switch (e.kind) {
    case ConstExpr::Kind::value:
      return e.value;
    case ConstExpr::Kind::global_get:
      return inst.globals[e.index]->get();
    case ConstExpr::Kind::ref_func:
      return Value::make_funcref(inst.funcs[e.index]);
  }
  return e.value;
}

Error uninstantiable(const Trap& trap) {
  return Error{ErrorKind::uninstantiable, 0, trap.message()};
}

// call() after its argument check: the store's engine when it runs `func`, else the interpreter.
CallResult dispatch(Store& store,
                    Function& func,
                    std::span<const Value> args,
                    const CallOptions& options) {
  const Engine* engine = store.engine();
  if (engine != nullptr && !func.is_host() && engine->runs(func))
    return engine->call(store, func, args, options);
  return interp::execute(store, func, args, options);
}

// Compiling happens here, once per module (the engine remembers it), never in a call.
void prepare_code(const Store& store, const Module& module) {
  if (const Engine* engine = store.engine())
    engine->prepare(module);
}

}  // namespace

Result<Instance*> instantiate(Store& store,
                              std::shared_ptr<const Module> module,
                              std::span<const Extern> imports,
                              const CallOptions& start_options) {
  const Module& m = *module;
  if (imports.size() != m.imports.size()) {
    return Error{ErrorKind::unlinkable, 0,
                 "expected " + std::to_string(m.imports.size()) + " imports, got " +
                     std::to_string(imports.size())};
  }
  for (size_t i = 0; i < imports.size(); ++i)
    TG_TRY(check_import(m, m.imports[i], imports[i]));
  prepare_code(store, m);

  // The instance belongs to the store from here on: a failed instantiation may already have put
  // its functions into imported tables, and those references must stay valid.
  Instance* inst = store.adopt(std::make_unique<Instance>());
  inst->module = module;
  inst->store = &store;
  for (const Extern& e : imports) {
    switch (e.kind) {
      case ExternKind::func:
        inst->funcs.push_back(e.func);
        break;
      case ExternKind::table:
        inst->tables.push_back(e.table);
        break;
      case ExternKind::memory:
        inst->memories.push_back(e.memory);
        break;
      case ExternKind::global:
        inst->globals.push_back(e.global);
        break;
    }
  }

  inst->funcs.reserve(m.funcs.size());
  for (FuncIdx f = m.num_imported_funcs; f < m.funcs.size(); ++f) {
    auto fn = std::make_unique<Function>();
    fn->type = m.func_type(f);
    fn->type_id = m.type_ids[m.funcs[f]];
    fn->instance = inst;
    fn->code = &m.code(f);
    fn->index = f;
    inst->funcs.push_back(store.adopt(std::move(fn)));
  }
  for (size_t t = m.num_imported_tables; t < m.tables.size(); ++t) {
    Result<Table*> table = store.create_table(m.tables[t], 0);
    if (!table)
      return table.take_error();
    inst->tables.push_back(*table);
  }
  for (size_t i = m.num_imported_memories; i < m.memories.size(); ++i) {
    Result<Memory*> memory = store.create_memory(m.memories[i]);
    if (!memory)
      return memory.take_error();
    inst->memories.push_back(*memory);
  }
  for (size_t g = m.num_imported_globals; g < m.globals.size(); ++g) {
    const Value init = eval_const(*inst, m.global_inits[g - m.num_imported_globals]);
    inst->globals.push_back(store.create_global(m.globals[g], init));
  }
  inst->elems.resize(m.elems.size());
  for (size_t i = 0; i < m.elems.size(); ++i) {
    std::vector<RefBits>& refs = inst->elems[i];
    refs.reserve(m.elems[i].items.size());
    for (const ConstExpr& item : m.elems[i].items)
      refs.push_back(eval_const(*inst, item).ref);
  }
  inst->datas.reserve(m.datas.size());
  for (const DataSegment& d : m.datas)
    inst->datas.emplace_back(d.bytes);

  // https://webassembly.github.io/spec/core/exec/modules.html#instantiation: element segments
  // (table.init + elem.drop for active ones, elem.drop for declarative ones), then data
  // segments (memory.init + data.drop), each checked in full before it writes anything.
  for (size_t i = 0; i < m.elems.size(); ++i) {
    const ElemSegment& seg = m.elems[i];
    if (seg.mode == SegmentMode::passive)
      continue;
    if (seg.mode == SegmentMode::active) {
      const uint64_t offset = eval_const(*inst, seg.offset).i32;
      Table* table = inst->tables[seg.table];
      std::vector<RefBits>& refs = inst->elems[i];
      if (offset + refs.size() > table->size()) {
        return uninstantiable(Trap{TrapKind::table_out_of_bounds, {}, 0});
      }
      std::copy(refs.begin(), refs.end(), table->elems.begin() + static_cast<ptrdiff_t>(offset));
    }
    std::vector<RefBits>().swap(inst->elems[i]);
  }
  for (size_t i = 0; i < m.datas.size(); ++i) {
    const DataSegment& seg = m.datas[i];
    if (seg.mode != SegmentMode::active)
      continue;
    const uint64_t offset = eval_const(*inst, seg.offset).i32;
    Memory* memory = inst->memories[seg.memory];
    if (offset + seg.bytes.size() > memory->size) {
      return uninstantiable(Trap{TrapKind::memory_out_of_bounds, {}, 0});
    }
    if (!seg.bytes.empty())
      std::memcpy(memory->data + offset, seg.bytes.data(), seg.bytes.size());
    inst->datas[i] = {};
  }

  if (m.start) {
    CallResult r = dispatch(store, *inst->funcs[*m.start], {}, start_options);
    if (r.trap)
      return uninstantiable(*r.trap);
  }
  return inst;
}

// ---- prepared instantiation and the instance pool ----

/// What every slot shares: the memory's initial contents, as the runs of 4 KiB blocks the data
/// segments make non-zero (a Rust module's data sits behind a 1 MiB stack, for instance).
struct InstancePre::Layout {
  struct Chunk {
    uint64_t offset;
    std::vector<uint8_t> bytes;
  };
  uint32_t memory_pages = 0;
  std::vector<Chunk> memory_image;

  void write_image(Memory& memory) const {
    for (const Chunk& c : memory_image)
      std::memcpy(memory.data + c.offset, c.bytes.data(), c.bytes.size());
  }
};

/// One pooled instance with everything it owns and its initial state, in terms of its own
/// function addresses (which element segments and ref.func globals hold).
struct InstancePre::Slot {
  Instance instance;
  std::unique_ptr<Function[]> functions;
  std::vector<std::unique_ptr<Table>> tables;
  std::vector<std::unique_ptr<Memory>> memories;
  std::unique_ptr<Global[]> globals;
  std::vector<std::vector<RefBits>> table_init;
  std::vector<std::array<uint64_t, 2>> global_init;
  std::vector<std::vector<RefBits>> elems_init;
  std::vector<std::span<const uint8_t>> datas_init;
};

namespace {

// Slots kept for reuse per prepared module; more than the threads that evaluate at once is waste.
constexpr size_t kMaxFreeSlots = 64;

// Whether the module's initial state depends on nothing but the module: it imports only
// functions (so constant expressions and segment offsets are plain values) and every active
// segment fits the minimum size of its table or memory.
bool poolable(const Module& m) {
  if (m.num_imported_tables + m.num_imported_memories + m.num_imported_globals != 0)
    return false;
  for (const ElemSegment& seg : m.elems) {
    if (seg.mode != SegmentMode::active)
      continue;
    if (seg.offset.kind != ConstExpr::Kind::value || seg.table >= m.tables.size())
      return false;
    if (uint64_t{seg.offset.value.i32} + seg.items.size() > m.tables[seg.table].limits.min)
      return false;
  }
  for (const DataSegment& seg : m.datas) {
    if (seg.mode != SegmentMode::active)
      continue;
    if (seg.offset.kind != ConstExpr::Kind::value || seg.memory >= m.memories.size())
      return false;
    if (uint64_t{seg.offset.value.i32} + seg.bytes.size() >
        uint64_t{m.memories[seg.memory].limits.min} * kPageSize)
      return false;
  }
  return m.memories.size() <= 1;
}

}  // namespace

Result<std::shared_ptr<const InstancePre>> InstancePre::create(std::shared_ptr<const Module> module,
                                                               std::vector<Extern> imports) {
  const Module& m = *module;
  if (imports.size() != m.imports.size()) {
    return Error{ErrorKind::unlinkable, 0,
                 "expected " + std::to_string(m.imports.size()) + " imports, got " +
                     std::to_string(imports.size())};
  }
  for (size_t i = 0; i < imports.size(); ++i)
    TG_TRY(check_import(m, m.imports[i], imports[i]));
  std::shared_ptr<InstancePre> pre(new InstancePre());
  pre->pooled_ = poolable(m);
  if (pre->pooled_) {
    auto layout = std::make_unique<Layout>();
    if (!m.memories.empty()) {
      layout->memory_pages = m.memories[0].limits.min;
      // The segments in order (later ones overwrite earlier ones), block by block: memory
      // proportional to the segments' bytes, whatever their offsets.
      constexpr uint64_t kBlock = 4096;
      std::map<uint64_t, std::vector<uint8_t>> blocks;
      for (const DataSegment& seg : m.datas) {
        if (seg.mode != SegmentMode::active)
          continue;
        for (uint64_t pos = 0; pos < seg.bytes.size();) {
          const uint64_t addr = uint64_t{seg.offset.value.i32} + pos;
          const uint64_t in_block = addr % kBlock;
          const uint64_t n = std::min<uint64_t>(seg.bytes.size() - pos, kBlock - in_block);
          std::vector<uint8_t>& block = blocks[addr / kBlock];
          block.resize(kBlock, 0);
          std::memcpy(block.data() + in_block, seg.bytes.data() + pos, n);
          pos += n;
        }
      }
      for (auto& [index, block] : blocks) {
        if (std::all_of(block.begin(), block.end(), [](uint8_t b) { return b == 0; }))
          continue;
        std::vector<Layout::Chunk>& image = layout->memory_image;
        if (!image.empty() && image.back().offset + image.back().bytes.size() == index * kBlock)
          image.back().bytes.insert(image.back().bytes.end(), block.begin(), block.end());
        else
          image.push_back({index * kBlock, std::move(block)});
      }
      for (Layout::Chunk& c : layout->memory_image) {
        while (!c.bytes.empty() && c.bytes.back() == 0)
          c.bytes.pop_back();
      }
    }
    pre->layout_ = std::move(layout);
  }
  pre->module_ = std::move(module);
  pre->imports_ = std::move(imports);
  return std::shared_ptr<const InstancePre>(std::move(pre));
}

InstancePre::~InstancePre() {
  for (Slot* slot : free_slots_)
    delete slot;
}

Result<InstancePre::Slot*> InstancePre::acquire(Store& store) const {
  const Module& m = *module_;
  const uint32_t memory_limit = std::min(store.limits().max_memory_pages, kMaxMemoryPages);
  const uint32_t table_limit = std::min(store.limits().max_table_elems, kMaxTableSize);
  Slot* slot = nullptr;
  {
    std::lock_guard lock(pool_mutex_);
    if (!free_slots_.empty()) {
      slot = free_slots_.back();
      free_slots_.pop_back();
    }
  }
  // A reused slot's memory must have room for this store's growth limit behind a guard.
  if (slot != nullptr && !slot->memories.empty()) {
    const uint32_t max_pages =
        std::min(m.memories[0].limits.max.value_or(kMaxMemoryPages), memory_limit);
    if (uint64_t{max_pages} * kPageSize >= slot->memories[0]->reserved) {
      delete slot;
      slot = nullptr;
    }
  }
  if (slot == nullptr) {
    auto fresh = std::make_unique<Slot>();
    Instance& inst = fresh->instance;
    inst.module = module_;
    inst.funcs.reserve(m.funcs.size());
    for (const Extern& e : imports_)
      inst.funcs.push_back(e.func);
    const size_t defined = m.funcs.size() - m.num_imported_funcs;
    fresh->functions = std::make_unique<Function[]>(defined);
    for (size_t i = 0; i < defined; ++i) {
      Function& fn = fresh->functions[i];
      const FuncIdx f = static_cast<FuncIdx>(m.num_imported_funcs + i);
      fn.type = m.func_type(f);
      fn.type_id = m.type_ids[m.funcs[f]];
      fn.instance = &inst;
      fn.code = &m.code(f);
      fn.index = f;
      inst.funcs.push_back(&fn);
    }
    for (const TableType& type : m.tables) {
      auto table = std::make_unique<Table>();
      table->type = type;
      table->elems.assign(type.limits.min, 0);
      inst.tables.push_back(table.get());
      fresh->tables.push_back(std::move(table));
    }
    for (const MemoryType& type : m.memories) {
      auto memory =
          Memory::allocate(type, std::min(type.limits.max.value_or(kMaxMemoryPages), memory_limit));
      if (!memory)
        return Error{ErrorKind::resource, 0, "cannot reserve address space for a memory"};
      inst.memories.push_back(memory.get());
      fresh->memories.push_back(std::move(memory));
    }
    fresh->globals = std::make_unique<Global[]>(m.globals.size());
    for (size_t g = 0; g < m.globals.size(); ++g) {
      fresh->globals[g].type = m.globals[g];
      fresh->globals[g].set(eval_const(inst, m.global_inits[g]));
      inst.globals.push_back(&fresh->globals[g]);
      fresh->global_init.push_back({fresh->globals[g].bits[0], fresh->globals[g].bits[1]});
    }
    // The state right after the segments: active element segments copied into their tables,
    // active and declarative ones dropped, active data segments dropped.
    fresh->elems_init.resize(m.elems.size());
    for (size_t i = 0; i < m.elems.size(); ++i) {
      const ElemSegment& seg = m.elems[i];
      std::vector<RefBits> refs;
      refs.reserve(seg.items.size());
      for (const ConstExpr& item : seg.items)
        refs.push_back(eval_const(inst, item).ref);
      if (seg.mode == SegmentMode::active) {
        std::copy(
            refs.begin(), refs.end(),
            inst.tables[seg.table]->elems.begin() + static_cast<ptrdiff_t>(seg.offset.value.i32));
      } else if (seg.mode == SegmentMode::passive) {
        fresh->elems_init[i] = std::move(refs);
      }
    }
    for (const auto& table : fresh->tables)
      fresh->table_init.push_back(table->elems);
    for (const DataSegment& seg : m.datas) {
      fresh->datas_init.push_back(seg.mode == SegmentMode::active
                                      ? std::span<const uint8_t>()
                                      : std::span<const uint8_t>(seg.bytes));
    }
    inst.elems = fresh->elems_init;
    inst.datas = fresh->datas_init;
    if (!fresh->memories.empty())
      layout_->write_image(*fresh->memories[0]);
    slot = fresh.release();
  }
  // This store's limits.
  for (size_t t = 0; t < slot->tables.size(); ++t) {
    Table& table = *slot->tables[t];
    table.max_size = std::min(table.type.limits.max.value_or(UINT32_MAX), table_limit);
  }
  for (size_t i = 0; i < slot->memories.size(); ++i) {
    Memory& memory = *slot->memories[i];
    memory.max_pages = std::min(memory.type.limits.max.value_or(kMaxMemoryPages), memory_limit);
  }
  slot->instance.store = &store;
  return slot;
}

void InstancePre::release(Slot* slot) const {
  // Back to the state after the segments, before the start function: a slot in the pool holds
  // nothing of the evaluation that used it.
  bool clean = true;
  for (size_t t = 0; t < slot->tables.size(); ++t)
    slot->tables[t]->elems = slot->table_init[t];
  for (size_t g = 0; g < slot->global_init.size(); ++g) {
    slot->globals[g].bits[0] = slot->global_init[g][0];
    slot->globals[g].bits[1] = slot->global_init[g][1];
  }
  for (size_t i = 0; i < slot->elems_init.size(); ++i)
    slot->instance.elems[i] = slot->elems_init[i];
  std::copy(slot->datas_init.begin(), slot->datas_init.end(), slot->instance.datas.begin());
  if (!slot->memories.empty()) {
    clean = slot->memories[0]->reset(layout_->memory_pages);
    if (clean)
      layout_->write_image(*slot->memories[0]);
  }
  slot->instance.store = nullptr;
  if (clean) {
    std::lock_guard lock(pool_mutex_);
    if (free_slots_.size() < kMaxFreeSlots) {
      free_slots_.push_back(slot);
      return;
    }
  }
  delete slot;
}

Result<Instance*> InstancePre::instantiate(Store& store, const CallOptions& start_options) const {
  const Module& m = *module_;
  const uint32_t memory_limit = std::min(store.limits().max_memory_pages, kMaxMemoryPages);
  const uint32_t table_limit = std::min(store.limits().max_table_elems, kMaxTableSize);
  bool fits = pooled_;
  for (const MemoryType& type : m.memories)
    fits = fits && type.limits.min <= memory_limit;
  for (const TableType& type : m.tables)
    fits = fits && type.limits.min <= table_limit;
  // Outside the pool's assumptions instantiation does the general thing, errors included.
  if (!fits)
    return runtime::instantiate(store, module_, imports_, start_options);
  prepare_code(store, m);
  Result<Slot*> slot = acquire(store);
  if (!slot)
    return slot.take_error();
  store.leases_.push_back(Store::Lease{shared_from_this(), *slot});
  Instance* inst = &(*slot)->instance;
  if (m.start) {
    CallResult r = dispatch(store, *inst->funcs[*m.start], {}, start_options);
    if (r.trap)
      return uninstantiable(*r.trap);
  }
  return inst;
}

void Linker::define(std::string module, std::string name, Extern value) {
  defs_[{std::move(module), std::move(name)}] = value;
}

void Linker::define_instance(const std::string& module, const Instance& instance) {
  for (const Export& e : instance.module->exports) {
    if (auto ext = instance.find_export(e.name))
      define(module, e.name, *ext);
  }
}

Result<Instance*> Linker::instantiate(Store& store,
                                      std::shared_ptr<const Module> module,
                                      const CallOptions& start_options) const {
  std::vector<Extern> imports;
  imports.reserve(module->imports.size());
  for (const Import& im : module->imports) {
    auto it = defs_.find({im.module, im.name});
    if (it == defs_.end())
      return unlinkable(im, "unknown import");
    imports.push_back(it->second);
  }
  return runtime::instantiate(store, std::move(module), imports, start_options);
}

Result<std::shared_ptr<const InstancePre>> Linker::prepare(
    std::shared_ptr<const Module> module) const {
  std::vector<Extern> imports;
  imports.reserve(module->imports.size());
  for (const Import& im : module->imports) {
    auto it = defs_.find({im.module, im.name});
    if (it == defs_.end())
      return unlinkable(im, "unknown import");
    imports.push_back(it->second);
  }
  return InstancePre::create(std::move(module), std::move(imports));
}

CallResult call(Store& store,
                Function& func,
                std::span<const Value> args,
                const CallOptions& options) {
  const std::vector<ValType>& params = func.type.params;
  bool match = args.size() == params.size();
  for (size_t i = 0; match && i < args.size(); ++i)
    match = args[i].type == params[i];
  if (!match) {
    CallResult r;
    r.trap = Trap{TrapKind::host_error, "arguments do not match " + to_string(func.type), 0};
    r.fuel_left = options.fuel.value_or(0);
    return r;
  }
  return dispatch(store, func, args, options);
}

}  // namespace tollgate::runtime
