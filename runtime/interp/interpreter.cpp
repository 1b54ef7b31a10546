// The interpreter: computed-goto dispatch over the IR, one value stack, frames off the native
// stack. SPDX-License-Identifier: Apache-2.0
#include "runtime/interp/interpreter.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <climits>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

#include "runtime/ir.hpp"

namespace tollgate::runtime::interp {
namespace {

// Where a caller resumes after its callee returns.
struct Frame {
  const ir::Instr* ip;
  const ir::Instr* code_base;  ///< saves two dependent loads on return
  uint64_t* fp;
  Function* func;
};

// One `execute` on this thread. Outer activations are suspended in a host call; a nested one
// continues their value stack, frame records and call depth.
struct Activation {
  Store* store = nullptr;
  uint64_t* sp = nullptr;    ///< value stack in use up to here while a host function runs
  uint32_t frames_used = 0;  ///< frame records in use (this and outer activations)
  uint32_t call_depth = 0;   ///< wasm frames active (this and outer activations)
  Activation* outer = nullptr;
};

// Each nesting level costs native stack (host function + interpreter); this bounds it.
constexpr uint32_t kMaxNesting = 200;
constexpr size_t kInitialFrames = 256;

thread_local Activation* tls_activation = nullptr;
thread_local uint32_t tls_nesting = 0;
// Shared by every activation on the thread; a nested one may grow it, so an outer activation
// re-derives its pointer after each host call.
thread_local std::vector<Frame> tls_frames;

const std::atomic<bool> kNeverInterrupted{false};

struct Exec {
  Store* store;
  uint64_t fuel;
  const std::atomic<bool>* interrupt;
  uint32_t max_depth;
  uint64_t* stack_end;
  Activation act;
  uint32_t frame_base;  ///< first frame record of this activation
  uint32_t depth_base;  ///< wasm frames of outer activations
  std::optional<Trap> trap;
};

inline uint32_t u32(uint64_t s) {
  return static_cast<uint32_t>(s);
}
inline int32_t s32(uint64_t s) {
  return static_cast<int32_t>(static_cast<uint32_t>(s));
}
inline int64_t s64(uint64_t s) {
  return static_cast<int64_t>(s);
}
inline float f32(uint64_t s) {
  return std::bit_cast<float>(static_cast<uint32_t>(s));
}
inline double f64(uint64_t s) {
  return std::bit_cast<double>(s);
}
inline uint64_t bits(float f) {
  return std::bit_cast<uint32_t>(f);
}
inline uint64_t bits(double d) {
  return std::bit_cast<uint64_t>(d);
}

// https://webassembly.github.io/spec/core/exec/numerics.html#op-fmin: a NaN operand gives a
// NaN (the sum quiets it and keeps an input's payload, an arithmetic NaN), and -0 < +0.
template <typename F>
inline F wasm_min(F a, F b) {
  if (std::isnan(a) || std::isnan(b))
    return a + b;
  if (a == b)
    return std::signbit(a) ? a : b;
  return a < b ? a : b;
}
template <typename F>
inline F wasm_max(F a, F b) {
  if (std::isnan(a) || std::isnan(b))
    return a + b;
  if (a == b)
    return std::signbit(a) ? b : a;
  return a > b ? a : b;
}

// libm's rounding functions may return a signalling NaN unchanged; wasm needs a quiet
// (arithmetic) NaN, which adding the NaN to itself gives.
template <typename F, typename Op>
inline F round_op(F x, Op op) {
  return std::isnan(x) ? x + x : op(x);
}

// Bounds of the trapping float-to-int truncations: the input is in range iff lo < x < hi, both
// exact in double (an f32 promotes to double exactly).
template <typename Int>
struct TruncRange;
template <>
struct TruncRange<int32_t> {
  static constexpr double lo = -2147483649.0, hi = 2147483648.0;
};
template <>
struct TruncRange<uint32_t> {
  static constexpr double lo = -1.0, hi = 4294967296.0;
};
template <>
struct TruncRange<int64_t> {
  // -2^63 itself is representable, so the exclusive bound is the next double below it.
  static constexpr double lo = -9223372036854777856.0, hi = 9223372036854775808.0;
};
template <>
struct TruncRange<uint64_t> {
  static constexpr double lo = -1.0, hi = 18446744073709551616.0;
};

// 0 on success, else the trap.
template <typename Int>
inline std::optional<TrapKind> trunc_checked(double x, Int& out) {
  if (std::isnan(x))
    return TrapKind::invalid_conversion_to_integer;
  if (!(x > TruncRange<Int>::lo && x < TruncRange<Int>::hi))
    return TrapKind::integer_overflow;
  out = static_cast<Int>(x);
  return std::nullopt;
}

template <typename Int>
inline Int trunc_sat(double x) {
  if (std::isnan(x))
    return 0;
  if (!(x > TruncRange<Int>::lo))
    return std::numeric_limits<Int>::min();
  if (!(x < TruncRange<Int>::hi))
    return std::numeric_limits<Int>::max();
  return static_cast<Int>(x);
}

Value slot_to_value(ValType t, const uint64_t* s) {
  Value v;
  v.type = t;
  switch (t) {
    case ValType::i32:
    case ValType::f32:
      v.i32 = static_cast<uint32_t>(s[0]);
      break;
    case ValType::v128:
      v.v128.u64 = {s[0], s[1]};
      break;
    default:
      v.i64 = s[0];
      break;
  }
  return v;
}

// Returns the slots written.
uint32_t value_to_slot(const Value& v, uint64_t* s) {
  switch (v.type) {
    case ValType::i32:
    case ValType::f32:
      s[0] = v.i32;
      return 1;
    case ValType::v128:
      s[0] = v.v128.u64[0];
      s[1] = v.v128.u64[1];
      return 2;
    default:
      s[0] = v.i64;
      return 1;
  }
}

uint32_t slots_of(const std::vector<ValType>& types) {
  uint32_t n = 0;
  for (ValType t : types)
    n += slot_count(t);
  return n;
}

// Calls a host function whose arguments are the top slots ending at `sp`; writes its results
// from where the arguments began and returns the new sp, or null after a trap (in ex.trap).
[[gnu::noinline]] uint64_t* call_host(Exec& ex, Function& f, Instance* caller, uint64_t* sp) {
  const FuncType& type = f.type;
  const uint32_t param_slots = slots_of(type.params);
  const uint32_t result_slots = slots_of(type.results);
  uint64_t* base = sp - param_slots;
  if (base + result_slots > ex.stack_end) {
    ex.trap = Trap{TrapKind::call_stack_exhausted, {}, 0};
    return nullptr;
  }
  constexpr size_t kInline = 8;
  Value inline_args[kInline];
  Value inline_results[kInline];
  std::vector<Value> heap_args;
  std::vector<Value> heap_results;
  std::span<Value> args(inline_args, type.params.size());
  std::span<Value> results(inline_results, type.results.size());
  if (type.params.size() > kInline) {
    heap_args.resize(type.params.size());
    args = heap_args;
  }
  if (type.results.size() > kInline) {
    heap_results.resize(type.results.size());
    results = heap_results;
  }
  const uint64_t* p = base;
  for (size_t i = 0; i < type.params.size(); ++i) {
    args[i] = slot_to_value(type.params[i], p);
    p += slot_count(type.params[i]);
  }
  for (size_t i = 0; i < type.results.size(); ++i)
    results[i] = Value::zero(type.results[i]);
  if (!f.host) {
    ex.trap = Trap{TrapKind::host_error, "host function has no implementation", 0};
    return nullptr;
  }
  ex.act.sp = sp;
  HostContext ctx{*ex.store, caller};
  std::optional<Trap> trap = f.host(ctx, args, results);
  if (trap) {
    ex.trap = std::move(trap);
    return nullptr;
  }
  uint64_t* out = base;
  for (size_t i = 0; i < type.results.size(); ++i) {
    // A host function that changed a result's type would corrupt the stack's typing.
    Value r = results[i];
    r.type = type.results[i];
    out += value_to_slot(r, out);
  }
  return out;
}

// Runs wasm function `entry` whose arguments are at `fp`; on success its results are at `fp`.
template <bool Metering>
[[gnu::hot]] bool run(Exec& ex, Function* entry, uint64_t* fp) {
  static const void* const kLabels[] = {
#define TG_OP(name, prefix, code, imm, sig, fuel) &&L_##name,
#include "runtime/opcodes.def"
#undef TG_OP
      &&L_fuel,           &&L_fuel_poll,      &&L_br_unless,       &&L_br_drop,
      &&L_br_if_drop,     &&L_drop_v128,      &&L_select_v128,     &&L_local_get_v128,
      &&L_local_set_v128, &&L_local_tee_v128, &&L_global_get_v128, &&L_global_set_v128,
  };
  static_assert(sizeof(kLabels) / sizeof(kLabels[0]) == ir::kOpCount);

  Function* func = entry;
  Instance* inst = func->instance;
  const ir::Instr* code_base = func->code->code.data();
  const ir::Instr* ip = code_base;
  uint64_t* sp;
  uint64_t fuel = ex.fuel;
  const std::atomic<bool>* const interrupt = ex.interrupt;
  uint64_t* const stack_end = ex.stack_end;
  Memory* memory = nullptr;
  uint8_t* mem = nullptr;
  uint64_t mem_size = 0;
  Frame* frames = tls_frames.data() + ex.frame_base;
  uint32_t depth = 0;  // frames pushed by this activation
  // Frames this activation may push before exceeding max_call_depth (the entry frame counts).
  const uint32_t max_push = ex.max_depth - ex.depth_base - 1;
  uint32_t depth_limit;
  TrapKind trap = TrapKind::unreachable;
  Function* callee = nullptr;

#define TG_LOAD_MEMORY()                                           \
  do {                                                             \
    memory = inst->memories.empty() ? nullptr : inst->memories[0]; \
    mem = memory ? memory->data : nullptr;                         \
    mem_size = memory ? memory->size : 0;                          \
  } while (0)
#define TG_DEPTH_LIMIT() \
  depth_limit = std::min<uint64_t>(max_push, tls_frames.size() - uint64_t{ex.frame_base})
#define TG_DISPATCH() goto* kLabels[static_cast<uint16_t>(ip->op)]
#define TG_NEXT()  \
  do {             \
    ++ip;          \
    TG_DISPATCH(); \
  } while (0)
#define TG_TRAP(kind)      \
  do {                     \
    trap = TrapKind::kind; \
    goto L_trap;           \
  } while (0)
#define TG_CHARGE(units)               \
  do {                                 \
    if constexpr (Metering) {          \
      const uint64_t units_ = (units); \
      if (fuel < units_)               \
        TG_TRAP(out_of_fuel);          \
      fuel -= units_;                  \
    }                                  \
  } while (0)

  TG_LOAD_MEMORY();
  TG_DEPTH_LIMIT();
  {
    const ir::FuncCode& c = *func->code;
    if (fp + c.local_slots + c.max_stack_slots > stack_end)
      TG_TRAP(call_stack_exhausted);
    for (uint64_t* p = fp + c.param_slots; p < fp + c.local_slots; ++p)
      *p = 0;
    sp = fp + c.local_slots;
  }
  TG_DISPATCH();

  // ---- IR-only control ----
L_fuel:
  TG_CHARGE(ip->a);
  TG_NEXT();
L_fuel_poll:
  TG_CHARGE(ip->a);
  if (interrupt->load(std::memory_order_relaxed))
    TG_TRAP(interrupted);
  TG_NEXT();
L_br_unless:
  --sp;
  if (u32(*sp) == 0) {
    ip = code_base + ip->a;
    TG_DISPATCH();
  }
  TG_NEXT();
L_br_if_drop:
  --sp;
  if (u32(*sp) == 0)
    TG_NEXT();
L_br_drop : {
  const uint32_t keep = ip->keep();
  uint64_t* dst = sp - keep - ip->drop();
  for (uint32_t i = 0; i < keep; ++i)
    dst[i] = (sp - keep)[i];
  sp = dst + keep;
  ip = code_base + ip->a;
  TG_DISPATCH();
}

  // ---- control ----
L_unreachable:
  TG_TRAP(unreachable);
L_nop:
L_block:
L_loop:
L_if_:
L_else_:
L_end:
  // Structure emits no IR; these are here so every row of opcodes.def has a handler.
  TG_NEXT();
L_br:
  ip = code_base + ip->a;
  TG_DISPATCH();
L_br_if:
  --sp;
  if (u32(*sp) != 0) {
    ip = code_base + ip->a;
    TG_DISPATCH();
  }
  TG_NEXT();
L_br_table : {
  uint32_t index = u32(*--sp);
  if (index > ip->b)
    index = static_cast<uint32_t>(ip->b);
  const ir::BrTarget& t = func->code->br_targets[ip->a + index];
  uint64_t* dst = sp - t.keep - t.drop;
  for (uint32_t i = 0; i < t.keep; ++i)
    dst[i] = (sp - t.keep)[i];
  sp = dst + t.keep;
  ip = code_base + t.pc;
  TG_DISPATCH();
}
L_return_ : {
  const uint32_t n = ip->a;
  for (uint32_t i = 0; i < n; ++i)
    fp[i] = (sp - n)[i];
  if (depth == 0) {
    ex.fuel = fuel;
    return true;
  }
  sp = fp + n;
  const Frame& f = frames[--depth];
  ip = f.ip;
  fp = f.fp;
  func = f.func;
  code_base = f.code_base;
  if (func->instance != inst) {
    inst = func->instance;
    TG_LOAD_MEMORY();
  }
  TG_DISPATCH();
}
L_call:
  callee = inst->funcs[ip->a];
  goto do_call;
L_call_indirect : {
  const uint32_t index = u32(*--sp);
  const Table* table = inst->tables[ip->b];
  if (index >= table->elems.size())
    TG_TRAP(undefined_element);
  const RefBits ref = table->elems[index];
  if (ref == 0)
    TG_TRAP(uninitialized_element);
  callee = reinterpret_cast<Function*>(ref);
  if (callee->type_id != inst->module->type_ids[ip->a])
    TG_TRAP(indirect_call_type_mismatch);
  goto do_call;
}
do_call : {
  if (callee->is_host()) {
    ex.act.frames_used = ex.frame_base + depth;
    ex.act.call_depth = ex.depth_base + depth + 1;
    sp = call_host(ex, *callee, inst, sp);
    if (sp == nullptr)
      goto L_host_trap;
    frames = tls_frames.data() + ex.frame_base;
    TG_DEPTH_LIMIT();
    TG_LOAD_MEMORY();
    TG_NEXT();
  }
  if (depth >= depth_limit) {
    if (depth >= max_push)
      TG_TRAP(call_stack_exhausted);
    tls_frames.resize(std::min<size_t>(tls_frames.size() * 2, size_t{ex.frame_base} + max_push));
    frames = tls_frames.data() + ex.frame_base;
    TG_DEPTH_LIMIT();
  }
  frames[depth++] = Frame{ip + 1, code_base, fp, func};
  const ir::FuncCode& c = *callee->code;
  fp = sp - c.param_slots;
  if (fp + c.local_slots + c.max_stack_slots > stack_end)
    TG_TRAP(call_stack_exhausted);
  for (uint64_t* p = sp; p < fp + c.local_slots; ++p)
    *p = 0;
  sp = fp + c.local_slots;
  func = callee;
  code_base = c.code.data();
  ip = code_base;
  if (func->instance != inst) {
    inst = func->instance;
    TG_LOAD_MEMORY();
  }
  TG_DISPATCH();
}

  // ---- parametric ----
L_drop:
  --sp;
  TG_NEXT();
L_drop_v128:
  sp -= 2;
  TG_NEXT();
L_select:
L_select_t : {
  const uint32_t c = u32(*--sp);
  --sp;
  if (c == 0)
    sp[-1] = sp[0];
  TG_NEXT();
}
L_select_v128 : {
  const uint32_t c = u32(*--sp);
  sp -= 2;
  if (c == 0) {
    sp[-2] = sp[0];
    sp[-1] = sp[1];
  }
  TG_NEXT();
}

  // ---- variables ----
L_local_get:
  *sp++ = fp[ip->a];
  TG_NEXT();
L_local_set:
  fp[ip->a] = *--sp;
  TG_NEXT();
L_local_tee:
  fp[ip->a] = sp[-1];
  TG_NEXT();
L_local_get_v128:
  sp[0] = fp[ip->a];
  sp[1] = fp[ip->a + 1];
  sp += 2;
  TG_NEXT();
L_local_set_v128:
  sp -= 2;
  fp[ip->a] = sp[0];
  fp[ip->a + 1] = sp[1];
  TG_NEXT();
L_local_tee_v128:
  fp[ip->a] = sp[-2];
  fp[ip->a + 1] = sp[-1];
  TG_NEXT();
L_global_get:
  *sp++ = inst->globals[ip->a]->bits[0];
  TG_NEXT();
L_global_set:
  inst->globals[ip->a]->bits[0] = *--sp;
  TG_NEXT();
L_global_get_v128 : {
  const Global* g = inst->globals[ip->a];
  sp[0] = g->bits[0];
  sp[1] = g->bits[1];
  sp += 2;
  TG_NEXT();
}
L_global_set_v128 : {
  Global* g = inst->globals[ip->a];
  sp -= 2;
  g->bits[0] = sp[0];
  g->bits[1] = sp[1];
  TG_NEXT();
}

  // ---- tables ----
L_table_get : {
  const Table* t = inst->tables[ip->a];
  const uint32_t i = u32(sp[-1]);
  if (i >= t->elems.size())
    TG_TRAP(table_out_of_bounds);
  sp[-1] = t->elems[i];
  TG_NEXT();
}
L_table_set : {
  Table* t = inst->tables[ip->a];
  sp -= 2;
  const uint32_t i = u32(sp[0]);
  if (i >= t->elems.size())
    TG_TRAP(table_out_of_bounds);
  t->elems[i] = sp[1];
  TG_NEXT();
}
L_table_size:
  *sp++ = inst->tables[ip->a]->size();
  TG_NEXT();
L_table_grow : {
  Table* t = inst->tables[ip->a];
  const uint32_t n = u32(*--sp);
  TG_CHARGE(n / ir::kBulkBytesPerFuel);
  sp[-1] = t->grow(n, sp[-1]);
  TG_NEXT();
}
L_table_fill : {
  Table* t = inst->tables[ip->a];
  sp -= 3;
  const uint64_t i = u32(sp[0]), n = u32(sp[2]);
  TG_CHARGE(n / ir::kBulkBytesPerFuel);
  if (i + n > t->elems.size())
    TG_TRAP(table_out_of_bounds);
  std::fill_n(t->elems.begin() + i, n, sp[1]);
  TG_NEXT();
}
L_table_copy : {
  Table* dst = inst->tables[ip->a];
  const Table* src = inst->tables[ip->b];
  sp -= 3;
  const uint64_t d = u32(sp[0]), s = u32(sp[1]), n = u32(sp[2]);
  TG_CHARGE(n / ir::kBulkBytesPerFuel);
  if (s + n > src->elems.size() || d + n > dst->elems.size())
    TG_TRAP(table_out_of_bounds);
  if (n != 0)
    std::memmove(dst->elems.data() + d, src->elems.data() + s, n * sizeof(RefBits));
  TG_NEXT();
}
L_table_init : {
  const std::vector<RefBits>& seg = inst->elems[ip->a];
  Table* t = inst->tables[ip->b];
  sp -= 3;
  const uint64_t d = u32(sp[0]), s = u32(sp[1]), n = u32(sp[2]);
  TG_CHARGE(n / ir::kBulkBytesPerFuel);
  if (s + n > seg.size() || d + n > t->elems.size())
    TG_TRAP(table_out_of_bounds);
  if (n != 0)
    std::memcpy(t->elems.data() + d, seg.data() + s, n * sizeof(RefBits));
  TG_NEXT();
}
L_elem_drop:
  std::vector<RefBits>().swap(inst->elems[ip->a]);
  TG_NEXT();

  // ---- memory ----
#define TG_LOAD(name, T, conv)                         \
  L_##name : {                                         \
    const uint64_t ea = uint64_t{u32(sp[-1])} + ip->a; \
    if (ea + sizeof(T) > mem_size)                     \
      TG_TRAP(memory_out_of_bounds);                   \
    T v;                                               \
    std::memcpy(&v, mem + ea, sizeof(T));              \
    sp[-1] = (conv);                                   \
    TG_NEXT();                                         \
  }
#define TG_STORE(name, T)                             \
  L_##name : {                                        \
    sp -= 2;                                          \
    const uint64_t ea = uint64_t{u32(sp[0])} + ip->a; \
    if (ea + sizeof(T) > mem_size)                    \
      TG_TRAP(memory_out_of_bounds);                  \
    const T v = static_cast<T>(sp[1]);                \
    std::memcpy(mem + ea, &v, sizeof(T));             \
    TG_NEXT();                                        \
  }
  TG_LOAD(i32_load, uint32_t, v)
  TG_LOAD(i64_load, uint64_t, v)
  TG_LOAD(f32_load, uint32_t, v)
  TG_LOAD(f64_load, uint64_t, v)
  TG_LOAD(i32_load8_s, int8_t, static_cast<uint32_t>(int32_t{v}))
  TG_LOAD(i32_load8_u, uint8_t, uint32_t{v})
  TG_LOAD(i32_load16_s, int16_t, static_cast<uint32_t>(int32_t{v}))
  TG_LOAD(i32_load16_u, uint16_t, uint32_t{v})
  TG_LOAD(i64_load8_s, int8_t, static_cast<uint64_t>(int64_t{v}))
  TG_LOAD(i64_load8_u, uint8_t, uint64_t{v})
  TG_LOAD(i64_load16_s, int16_t, static_cast<uint64_t>(int64_t{v}))
  TG_LOAD(i64_load16_u, uint16_t, uint64_t{v})
  TG_LOAD(i64_load32_s, int32_t, static_cast<uint64_t>(int64_t{v}))
  TG_LOAD(i64_load32_u, uint32_t, uint64_t{v})
  TG_STORE(i32_store, uint32_t)
  TG_STORE(i64_store, uint64_t)
  TG_STORE(f32_store, uint32_t)
  TG_STORE(f64_store, uint64_t)
  TG_STORE(i32_store8, uint8_t)
  TG_STORE(i32_store16, uint16_t)
  TG_STORE(i64_store8, uint8_t)
  TG_STORE(i64_store16, uint16_t)
  TG_STORE(i64_store32, uint32_t)
#undef TG_LOAD
#undef TG_STORE
L_memory_size:
  *sp++ = mem_size / kPageSize;
  TG_NEXT();
L_memory_grow : {
  const uint32_t delta = u32(sp[-1]);
  TG_CHARGE(uint64_t{delta} * ir::kFuelPerGrownPage);
  sp[-1] = memory->grow(delta);
  mem_size = memory->size;
  TG_NEXT();
}
L_memory_fill : {
  sp -= 3;
  const uint64_t d = u32(sp[0]), n = u32(sp[2]);
  TG_CHARGE(n / ir::kBulkBytesPerFuel);
  if (d + n > mem_size)
    TG_TRAP(memory_out_of_bounds);
  std::memset(mem + d, static_cast<uint8_t>(sp[1]), n);
  TG_NEXT();
}
L_memory_copy : {
  sp -= 3;
  const uint64_t d = u32(sp[0]), s = u32(sp[1]), n = u32(sp[2]);
  TG_CHARGE(n / ir::kBulkBytesPerFuel);
  if (s + n > mem_size || d + n > mem_size)
    TG_TRAP(memory_out_of_bounds);
  std::memmove(mem + d, mem + s, n);
  TG_NEXT();
}
L_memory_init : {
  const std::span<const uint8_t> seg = inst->datas[ip->a];
  sp -= 3;
  const uint64_t d = u32(sp[0]), s = u32(sp[1]), n = u32(sp[2]);
  TG_CHARGE(n / ir::kBulkBytesPerFuel);
  if (s + n > seg.size() || d + n > mem_size)
    TG_TRAP(memory_out_of_bounds);
  if (n != 0)
    std::memcpy(mem + d, seg.data() + s, n);
  TG_NEXT();
}
L_data_drop:
  inst->datas[ip->a] = {};
  TG_NEXT();

  // ---- constants and references ----
L_i32_const:
L_i64_const:
L_f32_const:
L_f64_const:
  *sp++ = ip->b;
  TG_NEXT();
L_ref_null:
  *sp++ = 0;
  TG_NEXT();
L_ref_is_null:
  sp[-1] = sp[-1] == 0 ? 1 : 0;
  TG_NEXT();
L_ref_func:
  *sp++ = reinterpret_cast<RefBits>(inst->funcs[ip->a]);
  TG_NEXT();

  // ---- numeric ----
  // x is the operand of a unary op, a and b of a binary one; results are stored zero-extended.
#define TG_UN(name, get, expr)  \
  L_##name : {                  \
    const auto x = get(sp[-1]); \
    sp[-1] = (expr);            \
    TG_NEXT();                  \
  }
#define TG_BIN(name, get, expr) \
  L_##name : {                  \
    const auto b = get(sp[-1]); \
    const auto a = get(sp[-2]); \
    --sp;                       \
    sp[-1] = (expr);            \
    TG_NEXT();                  \
  }
#define TG_I32(x) static_cast<uint32_t>(x)
#define TG_B(x) static_cast<uint64_t>((x) ? 1 : 0)
#define TG_U64(x) static_cast<uint64_t>(x)

  TG_UN(i32_eqz, u32, TG_B(x == 0))
  TG_BIN(i32_eq, u32, TG_B(a == b))
  TG_BIN(i32_ne, u32, TG_B(a != b))
  TG_BIN(i32_lt_s, s32, TG_B(a < b))
  TG_BIN(i32_lt_u, u32, TG_B(a < b))
  TG_BIN(i32_gt_s, s32, TG_B(a > b))
  TG_BIN(i32_gt_u, u32, TG_B(a > b))
  TG_BIN(i32_le_s, s32, TG_B(a <= b))
  TG_BIN(i32_le_u, u32, TG_B(a <= b))
  TG_BIN(i32_ge_s, s32, TG_B(a >= b))
  TG_BIN(i32_ge_u, u32, TG_B(a >= b))
  TG_UN(i64_eqz, TG_U64, TG_B(x == 0))
  TG_BIN(i64_eq, TG_U64, TG_B(a == b))
  TG_BIN(i64_ne, TG_U64, TG_B(a != b))
  TG_BIN(i64_lt_s, s64, TG_B(a < b))
  TG_BIN(i64_lt_u, TG_U64, TG_B(a < b))
  TG_BIN(i64_gt_s, s64, TG_B(a > b))
  TG_BIN(i64_gt_u, TG_U64, TG_B(a > b))
  TG_BIN(i64_le_s, s64, TG_B(a <= b))
  TG_BIN(i64_le_u, TG_U64, TG_B(a <= b))
  TG_BIN(i64_ge_s, s64, TG_B(a >= b))
  TG_BIN(i64_ge_u, TG_U64, TG_B(a >= b))
  TG_BIN(f32_eq, f32, TG_B(a == b))
  TG_BIN(f32_ne, f32, TG_B(a != b))
  TG_BIN(f32_lt, f32, TG_B(a < b))
  TG_BIN(f32_gt, f32, TG_B(a > b))
  TG_BIN(f32_le, f32, TG_B(a <= b))
  TG_BIN(f32_ge, f32, TG_B(a >= b))
  TG_BIN(f64_eq, f64, TG_B(a == b))
  TG_BIN(f64_ne, f64, TG_B(a != b))
  TG_BIN(f64_lt, f64, TG_B(a < b))
  TG_BIN(f64_gt, f64, TG_B(a > b))
  TG_BIN(f64_le, f64, TG_B(a <= b))
  TG_BIN(f64_ge, f64, TG_B(a >= b))

  TG_UN(i32_clz, u32, TG_U64(std::countl_zero(x)))
  TG_UN(i32_ctz, u32, TG_U64(std::countr_zero(x)))
  TG_UN(i32_popcnt, u32, TG_U64(std::popcount(x)))
  TG_BIN(i32_add, u32, TG_I32(a + b))
  TG_BIN(i32_sub, u32, TG_I32(a - b))
  TG_BIN(i32_mul, u32, TG_I32(a * b))
L_i32_div_s : {
  const int32_t b = s32(sp[-1]), a = s32(sp[-2]);
  if (b == 0)
    TG_TRAP(integer_divide_by_zero);
  if (a == INT32_MIN && b == -1)
    TG_TRAP(integer_overflow);
  --sp;
  sp[-1] = TG_I32(a / b);
  TG_NEXT();
}
L_i32_div_u : {
  const uint32_t b = u32(sp[-1]), a = u32(sp[-2]);
  if (b == 0)
    TG_TRAP(integer_divide_by_zero);
  --sp;
  sp[-1] = a / b;
  TG_NEXT();
}
L_i32_rem_s : {
  const int32_t b = s32(sp[-1]), a = s32(sp[-2]);
  if (b == 0)
    TG_TRAP(integer_divide_by_zero);
  --sp;
  sp[-1] = b == -1 ? 0 : TG_I32(a % b);
  TG_NEXT();
}
L_i32_rem_u : {
  const uint32_t b = u32(sp[-1]), a = u32(sp[-2]);
  if (b == 0)
    TG_TRAP(integer_divide_by_zero);
  --sp;
  sp[-1] = a % b;
  TG_NEXT();
}
  TG_BIN(i32_and_, u32, TG_I32(a & b))
  TG_BIN(i32_or_, u32, TG_I32(a | b))
  TG_BIN(i32_xor_, u32, TG_I32(a ^ b))
  TG_BIN(i32_shl, u32, TG_I32(a << (b & 31)))
  TG_BIN(i32_shr_s, s32, TG_I32(a >> (b & 31)))
  TG_BIN(i32_shr_u, u32, TG_I32(a >> (b & 31)))
  TG_BIN(i32_rotl, u32, TG_I32(std::rotl(a, static_cast<int>(b & 31))))
  TG_BIN(i32_rotr, u32, TG_I32(std::rotr(a, static_cast<int>(b & 31))))

  TG_UN(i64_clz, TG_U64, TG_U64(std::countl_zero(x)))
  TG_UN(i64_ctz, TG_U64, TG_U64(std::countr_zero(x)))
  TG_UN(i64_popcnt, TG_U64, TG_U64(std::popcount(x)))
  TG_BIN(i64_add, TG_U64, a + b)
  TG_BIN(i64_sub, TG_U64, a - b)
  TG_BIN(i64_mul, TG_U64, a * b)
L_i64_div_s : {
  const int64_t b = s64(sp[-1]), a = s64(sp[-2]);
  if (b == 0)
    TG_TRAP(integer_divide_by_zero);
  if (a == INT64_MIN && b == -1)
    TG_TRAP(integer_overflow);
  --sp;
  sp[-1] = TG_U64(a / b);
  TG_NEXT();
}
L_i64_div_u : {
  const uint64_t b = sp[-1], a = sp[-2];
  if (b == 0)
    TG_TRAP(integer_divide_by_zero);
  --sp;
  sp[-1] = a / b;
  TG_NEXT();
}
L_i64_rem_s : {
  const int64_t b = s64(sp[-1]), a = s64(sp[-2]);
  if (b == 0)
    TG_TRAP(integer_divide_by_zero);
  --sp;
  sp[-1] = b == -1 ? 0 : TG_U64(a % b);
  TG_NEXT();
}
L_i64_rem_u : {
  const uint64_t b = sp[-1], a = sp[-2];
  if (b == 0)
    TG_TRAP(integer_divide_by_zero);
  --sp;
  sp[-1] = a % b;
  TG_NEXT();
}
  TG_BIN(i64_and_, TG_U64, a & b)
  TG_BIN(i64_or_, TG_U64, a | b)
  TG_BIN(i64_xor_, TG_U64, a ^ b)
  TG_BIN(i64_shl, TG_U64, a << (b & 63))
  TG_BIN(i64_shr_s, s64, TG_U64(a >> (b & 63)))
  TG_BIN(i64_shr_u, TG_U64, a >> (b & 63))
  TG_BIN(i64_rotl, TG_U64, std::rotl(a, static_cast<int>(b & 63)))
  TG_BIN(i64_rotr, TG_U64, std::rotr(a, static_cast<int>(b & 63)))

  // Sign-bit operations act on the bits, so NaN payloads pass through unchanged, as the spec
  // requires for abs, neg and copysign.
  TG_UN(f32_abs, u32, TG_U64(x & 0x7FFFFFFFu))
  TG_UN(f32_neg, u32, TG_U64(x ^ 0x80000000u))
  TG_UN(f32_ceil, f32, bits(round_op(x, [](auto v) { return std::ceil(v); })))
  TG_UN(f32_floor, f32, bits(round_op(x, [](auto v) { return std::floor(v); })))
  TG_UN(f32_trunc, f32, bits(round_op(x, [](auto v) { return std::trunc(v); })))
  TG_UN(f32_nearest, f32, bits(round_op(x, [](auto v) { return std::nearbyint(v); })))
  TG_UN(f32_sqrt, f32, bits(std::sqrt(x)))
  TG_BIN(f32_add, f32, bits(a + b))
  TG_BIN(f32_sub, f32, bits(a - b))
  TG_BIN(f32_mul, f32, bits(a * b))
  TG_BIN(f32_div, f32, bits(a / b))
  TG_BIN(f32_min, f32, bits(wasm_min(a, b)))
  TG_BIN(f32_max, f32, bits(wasm_max(a, b)))
  TG_BIN(f32_copysign, u32, TG_U64((a & 0x7FFFFFFFu) | (b & 0x80000000u)))
  TG_UN(f64_abs, TG_U64, x & 0x7FFFFFFFFFFFFFFFull)
  TG_UN(f64_neg, TG_U64, x ^ 0x8000000000000000ull)
  TG_UN(f64_ceil, f64, bits(round_op(x, [](auto v) { return std::ceil(v); })))
  TG_UN(f64_floor, f64, bits(round_op(x, [](auto v) { return std::floor(v); })))
  TG_UN(f64_trunc, f64, bits(round_op(x, [](auto v) { return std::trunc(v); })))
  TG_UN(f64_nearest, f64, bits(round_op(x, [](auto v) { return std::nearbyint(v); })))
  TG_UN(f64_sqrt, f64, bits(std::sqrt(x)))
  TG_BIN(f64_add, f64, bits(a + b))
  TG_BIN(f64_sub, f64, bits(a - b))
  TG_BIN(f64_mul, f64, bits(a * b))
  TG_BIN(f64_div, f64, bits(a / b))
  TG_BIN(f64_min, f64, bits(wasm_min(a, b)))
  TG_BIN(f64_max, f64, bits(wasm_max(a, b)))
  TG_BIN(f64_copysign, TG_U64, (a & 0x7FFFFFFFFFFFFFFFull) | (b & 0x8000000000000000ull))

  // ---- conversions ----
  TG_UN(i32_wrap_i64, TG_U64, TG_U64(u32(x)))
#define TG_TRUNC(name, get, Int)                                \
  L_##name : {                                                  \
    Int r;                                                      \
    if (auto k = trunc_checked<Int>(get(sp[-1]), r)) {          \
      trap = *k;                                                \
      goto L_trap;                                              \
    }                                                           \
    sp[-1] = TG_U64(static_cast<std::make_unsigned_t<Int>>(r)); \
    TG_NEXT();                                                  \
  }
  TG_TRUNC(i32_trunc_f32_s, f32, int32_t)
  TG_TRUNC(i32_trunc_f32_u, f32, uint32_t)
  TG_TRUNC(i32_trunc_f64_s, f64, int32_t)
  TG_TRUNC(i32_trunc_f64_u, f64, uint32_t)
  TG_TRUNC(i64_trunc_f32_s, f32, int64_t)
  TG_TRUNC(i64_trunc_f32_u, f32, uint64_t)
  TG_TRUNC(i64_trunc_f64_s, f64, int64_t)
  TG_TRUNC(i64_trunc_f64_u, f64, uint64_t)
#undef TG_TRUNC
#define TG_SAT(name, get, Int) \
  TG_UN(name, get, TG_U64(static_cast<std::make_unsigned_t<Int>>(trunc_sat<Int>(x))))
  TG_SAT(i32_trunc_sat_f32_s, f32, int32_t)
  TG_SAT(i32_trunc_sat_f32_u, f32, uint32_t)
  TG_SAT(i32_trunc_sat_f64_s, f64, int32_t)
  TG_SAT(i32_trunc_sat_f64_u, f64, uint32_t)
  TG_SAT(i64_trunc_sat_f32_s, f32, int64_t)
  TG_SAT(i64_trunc_sat_f32_u, f32, uint64_t)
  TG_SAT(i64_trunc_sat_f64_s, f64, int64_t)
  TG_SAT(i64_trunc_sat_f64_u, f64, uint64_t)
#undef TG_SAT
  TG_UN(i64_extend_i32_s, s32, TG_U64(int64_t{x}))
  TG_UN(i64_extend_i32_u, u32, TG_U64(x))
  TG_UN(f32_convert_i32_s, s32, bits(static_cast<float>(x)))
  TG_UN(f32_convert_i32_u, u32, bits(static_cast<float>(x)))
  TG_UN(f32_convert_i64_s, s64, bits(static_cast<float>(x)))
  TG_UN(f32_convert_i64_u, TG_U64, bits(static_cast<float>(x)))
  TG_UN(f32_demote_f64, f64, bits(static_cast<float>(x)))
  TG_UN(f64_convert_i32_s, s32, bits(static_cast<double>(x)))
  TG_UN(f64_convert_i32_u, u32, bits(static_cast<double>(x)))
  TG_UN(f64_convert_i64_s, s64, bits(static_cast<double>(x)))
  TG_UN(f64_convert_i64_u, TG_U64, bits(static_cast<double>(x)))
  TG_UN(f64_promote_f32, f32, bits(static_cast<double>(x)))
L_i32_reinterpret_f32:
L_i64_reinterpret_f64:
L_f32_reinterpret_i32:
L_f64_reinterpret_i64:
  // Slots hold bits; a reinterpretation changes only the static type.
  TG_NEXT();
  TG_UN(i32_extend8_s, u32, TG_U64(TG_I32(int32_t{static_cast<int8_t>(x)})))
  TG_UN(i32_extend16_s, u32, TG_U64(TG_I32(int32_t{static_cast<int16_t>(x)})))
  TG_UN(i64_extend8_s, TG_U64, TG_U64(int64_t{static_cast<int8_t>(x)}))
  TG_UN(i64_extend16_s, TG_U64, TG_U64(int64_t{static_cast<int16_t>(x)}))
  TG_UN(i64_extend32_s, TG_U64, TG_U64(int64_t{static_cast<int32_t>(x)}))
#undef TG_UN
#undef TG_BIN
#undef TG_I32
#undef TG_B
#undef TG_U64

  // SIMD executes in a later issue; until then every SIMD row traps.
#define TG_OP(name, prefix, code, imm, sig, fuel) L_##name:
#include "runtime/simd_opcodes.def"
#undef TG_OP
  TG_TRAP(unsupported);

L_trap:
  ex.trap = Trap{trap, {}, 0};
L_host_trap:
  ex.fuel = fuel;
  return false;

#undef TG_LOAD_MEMORY
#undef TG_DEPTH_LIMIT
#undef TG_DISPATCH
#undef TG_NEXT
#undef TG_TRAP
#undef TG_CHARGE
}

}  // namespace

CallResult execute(Store& store,
                   Function& func,
                   std::span<const Value> args,
                   const CallOptions& options) {
  CallResult result;
  const bool metering = options.fuel.has_value();
  const uint64_t fuel = options.fuel.value_or(0);
  auto fail = [&](TrapKind kind) {
    result.trap = Trap{kind, {}, 0};
    result.fuel_left = fuel;
    return result;
  };
  if (tls_nesting >= kMaxNesting)
    return fail(TrapKind::call_stack_exhausted);

  Activation* outer = tls_activation;
  std::span<uint64_t> stack = store.value_stack();
  uint64_t* base = stack.data();
  for (Activation* a = outer; a != nullptr; a = a->outer) {
    if (a->store == &store) {
      base = a->sp;
      break;
    }
  }
  uint64_t* const stack_end = stack.data() + stack.size();
  const uint32_t param_slots = slots_of(func.type.params);
  const uint32_t result_slots = slots_of(func.type.results);
  if (base + std::max(param_slots, result_slots) > stack_end) {
    return fail(TrapKind::call_stack_exhausted);
  }
  uint64_t* p = base;
  for (const Value& v : args)
    p += value_to_slot(v, p);

  Exec ex{&store,
          fuel,
          options.interrupt ? options.interrupt : &kNeverInterrupted,
          options.max_call_depth,
          stack_end,
          Activation{},
          0,
          0,
          std::nullopt};
  ex.frame_base = outer ? outer->frames_used : 0;
  ex.depth_base = outer ? outer->call_depth : 0;
  ex.act.store = &store;
  ex.act.outer = outer;

  bool ok;
  if (func.is_host()) {
    ex.act.frames_used = ex.frame_base;
    ex.act.call_depth = ex.depth_base;
    tls_activation = &ex.act;
    ++tls_nesting;
    ok = call_host(ex, func, nullptr, base + param_slots) != nullptr;
  } else if (ex.depth_base >= ex.max_depth) {
    ex.trap = Trap{TrapKind::call_stack_exhausted, {}, 0};
    ok = false;
  } else {
    if (tls_frames.size() < size_t{ex.frame_base} + kInitialFrames) {
      tls_frames.resize(size_t{ex.frame_base} + kInitialFrames);
    }
    tls_activation = &ex.act;
    ++tls_nesting;
    ok = metering ? run<true>(ex, &func, base) : run<false>(ex, &func, base);
  }
  if (tls_activation == &ex.act) {
    tls_activation = outer;
    --tls_nesting;
  }

  result.fuel_left = metering ? ex.fuel : 0;
  if (!ok) {
    result.trap = std::move(ex.trap);
    return result;
  }
  result.values.reserve(func.type.results.size());
  const uint64_t* r = base;
  for (ValType t : func.type.results) {
    result.values.push_back(slot_to_value(t, r));
    r += slot_count(t);
  }
  return result;
}

}  // namespace tollgate::runtime::interp
