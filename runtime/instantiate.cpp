// Module instantiation (import checks, allocation, segment initialisation, start), the Linker,
// call(). SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <cstring>

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
    CallResult r = interp::execute(store, *inst->funcs[*m.start], {}, start_options);
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
  return interp::execute(store, func, args, options);
}

}  // namespace tollgate::runtime
