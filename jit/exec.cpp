// Running compiled code: activations, the JIT value stack, calls out of generated code, helpers.
// SPDX-License-Identifier: Apache-2.0
#include <pthread.h>
#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "jit/context.hpp"
#include "jit/helpers.hpp"
#include "jit/jit.hpp"
#include "runtime/interp/interpreter.hpp"
#include "runtime/numerics.hpp"
#include "runtime/slots.hpp"

namespace tollgate::jit {

using runtime::Function;
using runtime::FuncType;
using runtime::Instance;
using runtime::Trap;
using runtime::TrapKind;
using runtime::ValType;
using runtime::Value;

/// One jit::invoke on this thread. An outer activation is suspended in a helper that called out
/// (a host function, or another tier), which may call back into the JIT.
struct Activation {
  runtime::Store* store = nullptr;
  ExecContext* ctx = nullptr;
  std::optional<Trap> trap;       ///< a trap with detail (host functions, the interpreter)
  uint64_t* stack_top = nullptr;  ///< while calling out: the first value-stack slot not in use
  uint32_t depth_base = 0;        ///< wasm frames of outer activations
  uint32_t depth_initial = 0;     ///< ctx->depth_left at entry
  uint32_t max_depth = 0;         ///< the call's CallOptions::max_call_depth
  Activation* outer = nullptr;
};

namespace {

// Each nesting level costs native stack (host function + helper + generated frames).
constexpr uint32_t kMaxNesting = 200;
// Native stack kept free below the limit generated code checks: room for helpers, host
// functions and the interpreter they may start.
constexpr uintptr_t kNativeStackReserve = 256 * 1024;

thread_local Activation* tls_activation = nullptr;
thread_local uint32_t tls_nesting = 0;
const std::atomic<bool> kNeverInterrupted{false};

struct ValueStack {
  uint64_t* base = nullptr;
  size_t slots = 0;
  ~ValueStack() {
    if (base != nullptr)
      munmap(base, slots * sizeof(uint64_t));
  }
};
thread_local ValueStack tls_stack;

// The JIT's own value stack: reserved once per thread, committed by the kernel as touched. It is
// separate from the interpreter's so tiers calling each other never share frames.
std::span<uint64_t> value_stack() {
  if (tls_stack.base == nullptr) {
    const size_t slots = runtime::kDefaultValueStackSlots;
    void* p = mmap(nullptr, slots * sizeof(uint64_t), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
      return {};
    tls_stack.base = static_cast<uint64_t*>(p);
    tls_stack.slots = slots;
  }
  return {tls_stack.base, tls_stack.slots};
}

uintptr_t native_stack_limit() {
  thread_local uintptr_t limit = 0;
  if (limit == 0) {
    pthread_attr_t attr;
    void* low = nullptr;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
      pthread_attr_getstack(&attr, &low, &size);
      pthread_attr_destroy(&attr);
    }
    const uintptr_t here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
    if (low == nullptr || size < 2 * kNativeStackReserve)
      limit = here - kNativeStackReserve;  // unknown stack: allow a modest depth only
    else
      limit = reinterpret_cast<uintptr_t>(low) + kNativeStackReserve;
  }
  return limit;
}

uint32_t slots_of(const std::vector<ValType>& types) {
  uint32_t n = 0;
  for (ValType t : types)
    n += runtime::slot_count(t);
  return n;
}

using runtime::slot_to_value;
using runtime::value_to_slot;

void bind_instance(ExecContext* ctx, Instance* inst) {
  runtime::Memory* mem = inst->memories.empty() ? nullptr : inst->memories[0];
  ctx->instance = inst;
  ctx->memory = mem;
  ctx->mem_base = mem != nullptr ? mem->data : nullptr;
  ctx->mem_size = mem != nullptr ? mem->size : 0;
  ctx->globals = inst->globals.data();
  ctx->funcs = inst->funcs.data();
}

// Guard-region code drops bounds checks, so it may only run on a memory with the full reservation.
bool can_run(const CompiledModule& code, const Instance* inst) {
  constexpr uint64_t kGuardReservation = (uint64_t{8} << 30) + 16;
  if (code.bounds() != BoundsMode::guard_region || inst->memories.empty())
    return true;
  return inst->memories[0]->reserved >= kGuardReservation;
}

void refresh_memory(ExecContext* ctx) {
  ctx->mem_size = ctx->memory != nullptr ? ctx->memory->size : 0;
}

void set_trap(ExecContext* ctx, TrapKind kind) {
  ctx->trap_kind = static_cast<uint8_t>(kind);
  ctx->trapped = 1;
}

bool charge(ExecContext* ctx, uint64_t units) {
  if (ctx->fuel < units) {
    set_trap(ctx, TrapKind::out_of_fuel);
    return false;
  }
  ctx->fuel -= units;
  return true;
}

// Calls `f`, whose arguments are the slots at `sp`, leaving its results there. Functions of this
// module's other instances run on this code with their instance bound; host functions and other
// modules' functions run through their own path (another tier for an uncompiled module).
bool invoke_function(ExecContext* ctx, Function* f, uint64_t* sp) {
  Activation* act = ctx->activation;
  if (!f->is_host() && f->instance->module.get() == &ctx->code->module() &&
      can_run(*ctx->code, f->instance)) {
    Instance* saved = ctx->instance;
    bind_instance(ctx, f->instance);
    const uint32_t status = ctx->code->trampoline()(ctx, sp, ctx->code->entry(f->index));
    bind_instance(ctx, saved);
    return status == 0;
  }
  const FuncType& type = f->type;
  std::vector<Value> args;
  args.reserve(type.params.size());
  const uint64_t* p = sp;
  for (ValType t : type.params) {
    args.push_back(slot_to_value(t, p));
    p += runtime::slot_count(t);
  }
  act->stack_top = sp + std::max(slots_of(type.params), slots_of(type.results));
  std::optional<Trap> trap;
  std::vector<Value> results;
  if (f->is_host()) {
    results.reserve(type.results.size());
    for (ValType t : type.results)
      results.push_back(Value::zero(t));
    if (!f->host) {
      trap = Trap{TrapKind::host_error, "host function has no implementation", 0};
    } else {
      runtime::HostContext hc{*act->store, ctx->instance};
      trap = f->host(hc, args, results);
    }
  } else {
    runtime::CallOptions o;
    if (ctx->metering)
      o.fuel = ctx->fuel;
    o.interrupt = ctx->interrupt;
    runtime::CallResult r;
    const runtime::Engine* engine = act->store->engine();
    if (engine != nullptr && engine->runs(*f)) {
      // Another module's compiled code: a nested activation, which counts this one's frames
      // against the same limit.
      o.max_call_depth = act->max_depth;
      r = engine->call(*act->store, *f, args, o);
    } else {
      // The interpreter does not see this activation's frames: it gets what is left of them.
      o.max_call_depth = ctx->depth_left;
      r = runtime::interp::execute(*act->store, *f, args, o);
    }
    if (ctx->metering)
      ctx->fuel = r.fuel_left;
    trap = std::move(r.trap);
    results = std::move(r.values);
  }
  act->stack_top = nullptr;
  refresh_memory(ctx);
  if (trap) {
    set_trap(ctx, trap->kind);
    act->trap = std::move(trap);
    return false;
  }
  uint64_t* out = sp;
  for (size_t i = 0; i < type.results.size(); ++i) {
    Value r = i < results.size() ? results[i] : Value::zero(type.results[i]);
    r.type = type.results[i];
    out += value_to_slot(r, out);
  }
  return true;
}

// The spec's trapping and saturating truncations (runtime/numerics.hpp), as helper calls.
template <typename F>
double operand(uint64_t bits) {
  if constexpr (sizeof(F) == 4)
    return std::bit_cast<float>(static_cast<uint32_t>(bits));
  else
    return std::bit_cast<double>(bits);
}

template <typename Int, typename F>
uint64_t trunc(ExecContext* ctx, uint64_t bits) {
  Int r{};
  if (auto trap = runtime::numerics::trunc_checked<Int>(operand<F>(bits), r)) {
    set_trap(ctx, *trap);
    return 0;
  }
  return static_cast<uint64_t>(static_cast<std::make_unsigned_t<Int>>(r));
}

template <typename Int, typename F>
uint64_t trunc_sat(ExecContext*, uint64_t bits) {
  const Int r = runtime::numerics::trunc_sat<Int>(operand<F>(bits));
  return static_cast<uint64_t>(static_cast<std::make_unsigned_t<Int>>(r));
}

}  // namespace

// ---- helpers ----

uint64_t helper_call_import(ExecContext* ctx, uint32_t func, uint64_t* sp) noexcept {
  invoke_function(ctx, ctx->funcs[func], sp);
  return 0;
}

const void* helper_call_indirect(ExecContext* ctx,
                                 uint32_t table,
                                 uint32_t elem,
                                 uint32_t type,
                                 uint64_t* sp) noexcept {
  const runtime::Table* t = ctx->instance->tables[table];
  if (elem >= t->elems.size()) {
    set_trap(ctx, TrapKind::undefined_element);
    return nullptr;
  }
  const runtime::RefBits ref = t->elems[elem];
  if (ref == 0) {
    set_trap(ctx, TrapKind::uninitialized_element);
    return nullptr;
  }
  Function* f = reinterpret_cast<Function*>(ref);
  if (f->type_id != ctx->instance->module->type_ids[type]) {
    set_trap(ctx, TrapKind::indirect_call_type_mismatch);
    return nullptr;
  }
  if (!f->is_host() && f->instance == ctx->instance)
    return ctx->code->entry(f->index);
  invoke_function(ctx, f, sp);
  return nullptr;
}

uint64_t helper_memory_grow(ExecContext* ctx, uint64_t* sp) noexcept {
  const uint32_t delta = static_cast<uint32_t>(sp[0]);
  if (!charge(ctx, uint64_t{delta} * runtime::ir::kFuelPerGrownPage))
    return 0;
  sp[0] = ctx->memory->grow(delta);
  refresh_memory(ctx);
  return 0;
}

uint64_t helper_memory_fill(ExecContext* ctx, uint64_t* sp) noexcept {
  const uint64_t d = static_cast<uint32_t>(sp[0]), n = static_cast<uint32_t>(sp[2]);
  if (!charge(ctx, n / runtime::ir::kBulkBytesPerFuel))
    return 0;
  if (d + n > ctx->mem_size) {
    set_trap(ctx, TrapKind::memory_out_of_bounds);
    return 0;
  }
  std::memset(ctx->mem_base + d, static_cast<uint8_t>(sp[1]), n);
  return 0;
}

uint64_t helper_memory_copy(ExecContext* ctx, uint64_t* sp) noexcept {
  const uint64_t d = static_cast<uint32_t>(sp[0]), s = static_cast<uint32_t>(sp[1]),
                 n = static_cast<uint32_t>(sp[2]);
  if (!charge(ctx, n / runtime::ir::kBulkBytesPerFuel))
    return 0;
  if (s + n > ctx->mem_size || d + n > ctx->mem_size) {
    set_trap(ctx, TrapKind::memory_out_of_bounds);
    return 0;
  }
  std::memmove(ctx->mem_base + d, ctx->mem_base + s, n);
  return 0;
}

uint64_t helper_memory_init(ExecContext* ctx, uint32_t data, uint64_t* sp) noexcept {
  const std::span<const uint8_t> seg = ctx->instance->datas[data];
  const uint64_t d = static_cast<uint32_t>(sp[0]), s = static_cast<uint32_t>(sp[1]),
                 n = static_cast<uint32_t>(sp[2]);
  if (!charge(ctx, n / runtime::ir::kBulkBytesPerFuel))
    return 0;
  if (s + n > seg.size() || d + n > ctx->mem_size) {
    set_trap(ctx, TrapKind::memory_out_of_bounds);
    return 0;
  }
  if (n != 0)
    std::memcpy(ctx->mem_base + d, seg.data() + s, n);
  return 0;
}

uint64_t helper_data_drop(ExecContext* ctx, uint32_t data, uint64_t*) noexcept {
  ctx->instance->datas[data] = {};
  return 0;
}

uint64_t helper_table_get(ExecContext* ctx, uint32_t table, uint64_t* sp) noexcept {
  const runtime::Table* t = ctx->instance->tables[table];
  const uint32_t i = static_cast<uint32_t>(sp[0]);
  if (i >= t->elems.size()) {
    set_trap(ctx, TrapKind::table_out_of_bounds);
    return 0;
  }
  sp[0] = t->elems[i];
  return 0;
}

uint64_t helper_table_set(ExecContext* ctx, uint32_t table, uint64_t* sp) noexcept {
  runtime::Table* t = ctx->instance->tables[table];
  const uint32_t i = static_cast<uint32_t>(sp[0]);
  if (i >= t->elems.size()) {
    set_trap(ctx, TrapKind::table_out_of_bounds);
    return 0;
  }
  t->elems[i] = sp[1];
  return 0;
}

uint64_t helper_table_size(ExecContext* ctx, uint32_t table, uint64_t* sp) noexcept {
  sp[0] = ctx->instance->tables[table]->size();
  return 0;
}

uint64_t helper_table_grow(ExecContext* ctx, uint32_t table, uint64_t* sp) noexcept {
  runtime::Table* t = ctx->instance->tables[table];
  const uint32_t n = static_cast<uint32_t>(sp[1]);
  if (!charge(ctx, n / runtime::ir::kBulkBytesPerFuel))
    return 0;
  sp[0] = t->grow(n, sp[0]);
  return 0;
}

uint64_t helper_table_fill(ExecContext* ctx, uint32_t table, uint64_t* sp) noexcept {
  runtime::Table* t = ctx->instance->tables[table];
  const uint64_t i = static_cast<uint32_t>(sp[0]), n = static_cast<uint32_t>(sp[2]);
  if (!charge(ctx, n / runtime::ir::kBulkBytesPerFuel))
    return 0;
  if (i + n > t->elems.size()) {
    set_trap(ctx, TrapKind::table_out_of_bounds);
    return 0;
  }
  std::fill_n(t->elems.begin() + static_cast<ptrdiff_t>(i), n, sp[1]);
  return 0;
}

uint64_t helper_table_copy(ExecContext* ctx, uint32_t dst, uint32_t src, uint64_t* sp) noexcept {
  runtime::Table* dt = ctx->instance->tables[dst];
  const runtime::Table* st = ctx->instance->tables[src];
  const uint64_t d = static_cast<uint32_t>(sp[0]), s = static_cast<uint32_t>(sp[1]),
                 n = static_cast<uint32_t>(sp[2]);
  if (!charge(ctx, n / runtime::ir::kBulkBytesPerFuel))
    return 0;
  if (s + n > st->elems.size() || d + n > dt->elems.size()) {
    set_trap(ctx, TrapKind::table_out_of_bounds);
    return 0;
  }
  if (n != 0)
    std::memmove(dt->elems.data() + d, st->elems.data() + s, n * sizeof(runtime::RefBits));
  return 0;
}

uint64_t helper_table_init(ExecContext* ctx, uint32_t elem, uint32_t table, uint64_t* sp) noexcept {
  const std::vector<runtime::RefBits>& seg = ctx->instance->elems[elem];
  runtime::Table* t = ctx->instance->tables[table];
  const uint64_t d = static_cast<uint32_t>(sp[0]), s = static_cast<uint32_t>(sp[1]),
                 n = static_cast<uint32_t>(sp[2]);
  if (!charge(ctx, n / runtime::ir::kBulkBytesPerFuel))
    return 0;
  if (s + n > seg.size() || d + n > t->elems.size()) {
    set_trap(ctx, TrapKind::table_out_of_bounds);
    return 0;
  }
  if (n != 0)
    std::memcpy(t->elems.data() + d, seg.data() + s, n * sizeof(runtime::RefBits));
  return 0;
}

uint64_t helper_elem_drop(ExecContext* ctx, uint32_t elem, uint64_t*) noexcept {
  std::vector<runtime::RefBits>().swap(ctx->instance->elems[elem]);
  return 0;
}

#define TG_DEFINE_TRUNC(name, fn, Int, F)                            \
  uint64_t helper_##name(ExecContext* ctx, uint64_t bits) noexcept { \
    return fn<Int, F>(ctx, bits);                                    \
  }
TG_DEFINE_TRUNC(i32_trunc_f32_s, trunc, int32_t, float)
TG_DEFINE_TRUNC(i32_trunc_f32_u, trunc, uint32_t, float)
TG_DEFINE_TRUNC(i32_trunc_f64_s, trunc, int32_t, double)
TG_DEFINE_TRUNC(i32_trunc_f64_u, trunc, uint32_t, double)
TG_DEFINE_TRUNC(i64_trunc_f32_s, trunc, int64_t, float)
TG_DEFINE_TRUNC(i64_trunc_f32_u, trunc, uint64_t, float)
TG_DEFINE_TRUNC(i64_trunc_f64_s, trunc, int64_t, double)
TG_DEFINE_TRUNC(i64_trunc_f64_u, trunc, uint64_t, double)
TG_DEFINE_TRUNC(i32_trunc_sat_f32_s, trunc_sat, int32_t, float)
TG_DEFINE_TRUNC(i32_trunc_sat_f32_u, trunc_sat, uint32_t, float)
TG_DEFINE_TRUNC(i32_trunc_sat_f64_s, trunc_sat, int32_t, double)
TG_DEFINE_TRUNC(i32_trunc_sat_f64_u, trunc_sat, uint32_t, double)
TG_DEFINE_TRUNC(i64_trunc_sat_f32_s, trunc_sat, int64_t, float)
TG_DEFINE_TRUNC(i64_trunc_sat_f32_u, trunc_sat, uint64_t, float)
TG_DEFINE_TRUNC(i64_trunc_sat_f64_s, trunc_sat, int64_t, double)
TG_DEFINE_TRUNC(i64_trunc_sat_f64_u, trunc_sat, uint64_t, double)
#undef TG_DEFINE_TRUNC

// ---- entry ----

bool runs_on_jit(const CompiledModule& code, const Function& func) {
  return !func.is_host() && func.instance != nullptr &&
         func.instance->module.get() == &code.module() && can_run(code, func.instance);
}

runtime::CallResult invoke(const CompiledModule& code,
                           runtime::Store& store,
                           Function& func,
                           std::span<const Value> args,
                           const runtime::CallOptions& options) {
  if (func.is_host() || func.instance == nullptr || func.instance->module.get() != &code.module())
    return runtime::call(store, func, args, options);
  runtime::CallResult result;
  const bool metering = options.fuel.has_value();
  auto fail = [&](Trap trap) {
    result.trap = std::move(trap);
    result.fuel_left = options.fuel.value_or(0);
    return result;
  };
  const FuncType& type = func.type;
  bool match = args.size() == type.params.size();
  for (size_t i = 0; match && i < args.size(); ++i)
    match = args[i].type == type.params[i];
  if (!match)
    return fail(Trap{TrapKind::host_error, "arguments do not match " + to_string(type), 0});
  if (tls_nesting >= kMaxNesting)
    return fail(Trap{TrapKind::call_stack_exhausted, {}, 0});

  Activation* outer = tls_activation;
  const std::span<uint64_t> stack = value_stack();
  if (stack.empty())
    return fail(Trap{TrapKind::call_stack_exhausted, {}, 0});
  uint64_t* base = stack.data();
  for (Activation* a = outer; a != nullptr; a = a->outer) {
    if (a->stack_top != nullptr) {
      base = a->stack_top;
      break;
    }
  }
  uint64_t* const stack_end = stack.data() + stack.size();
  if (base + std::max(slots_of(type.params), slots_of(type.results)) > stack_end)
    return fail(Trap{TrapKind::call_stack_exhausted, {}, 0});
  uint64_t* p = base;
  for (const Value& v : args)
    p += value_to_slot(v, p);

  ExecContext ctx;
  bind_instance(&ctx, func.instance);
  ctx.fuel = metering ? *options.fuel : std::numeric_limits<uint64_t>::max();
  ctx.metering = metering ? 1 : 0;
  ctx.interrupt = options.interrupt != nullptr ? options.interrupt : &kNeverInterrupted;
  ctx.native_stack_limit = native_stack_limit();
  ctx.value_stack_end = stack_end;
  ctx.code = &code;

  Activation act;
  act.store = &store;
  act.ctx = &ctx;
  act.outer = outer;
  if (outer != nullptr)
    act.depth_base = outer->depth_base + (outer->depth_initial - outer->ctx->depth_left);
  ctx.depth_left =
      options.max_call_depth > act.depth_base ? options.max_call_depth - act.depth_base : 0;
  act.depth_initial = ctx.depth_left;
  act.max_depth = options.max_call_depth;
  ctx.activation = &act;

  tls_activation = &act;
  ++tls_nesting;
  const uint32_t status = code.trampoline()(&ctx, base, code.entry(func.index));
  --tls_nesting;
  tls_activation = outer;

  result.fuel_left = metering ? ctx.fuel : 0;
  if (status != 0) {
    if (act.trap)
      result.trap = std::move(act.trap);
    else
      result.trap = Trap{static_cast<TrapKind>(ctx.trap_kind), {}, 0};
    return result;
  }
  result.values.reserve(type.results.size());
  const uint64_t* r = base;
  for (ValType t : type.results) {
    result.values.push_back(slot_to_value(t, r));
    r += runtime::slot_count(t);
  }
  return result;
}

}  // namespace tollgate::jit
