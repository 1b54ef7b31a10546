// The interpreter: translates the IR to direct-threaded register code and runs it, one value
// stack, frames off the native stack. SPDX-License-Identifier: Apache-2.0
#include "runtime/interp/interpreter.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include "runtime/ir.hpp"
#include "runtime/numerics.hpp"
#include "runtime/slots.hpp"

namespace tollgate::runtime::interp {
namespace {

struct Ins;

// Where a caller resumes after its callee returns.
struct Frame {
  const Ins* ip;
  uint64_t* fp;
  Instance* inst;
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

// A copy loop run as one memmove checks for interruption at least once per this many bytes.
constexpr uint64_t kLoopChunk = uint64_t{1} << 20;

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

using numerics::round_op;
using numerics::trunc_checked;
using numerics::trunc_sat;
using numerics::wasm_max;
using numerics::wasm_min;

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

// ---- the interpreter's private code ----
//
// Each function's IR is translated once per metering mode into direct-threaded register code:
// every instruction starts with its handler's address and addresses its operands as slots from
// the frame base (locals, then the operand stack's fixed slots). A virtual stack during
// translation lets `local.get` and constants become operand references instead of copies; they
// are materialised into their stack slots before the local is written, at branches and labels,
// and at calls, so at every branch the frame looks exactly as the IR's stack machine expects.

struct Ins {
  const void* h;  ///< handler
  int32_t d;      ///< destination slot; a branch target relative in bytes; or the stack top
  int32_t a;      ///< first source slot
  int32_t b;      ///< second source slot, or a count
  uint32_t x;     ///< memory offset, index immediate, or a third source slot
  uint64_t imm;   ///< constant operand, fuel cost, or the IR's `b` immediate
};
static_assert(sizeof(Ins) == 32);

struct TableEntry {
  const Ins* target;
  uint32_t keep;
  uint32_t drop;
};

// A byte-scan loop (see find_byte_scans): what each byte value does, found once at translation.
struct ByteScan {
  uint8_t action[256];  ///< 0: the next iteration; k > 0: leave for exits[k]
  const Ins* exits[16];
  const Ins* after;                   ///< where the loop's back-edge falls through
  int32_t index, base, byte, limit;   ///< slots (base unused when the address is index + offset)
  uint32_t offset, bound;             ///< address constant; the bound when it is a constant
  uint32_t memarg;                    ///< x_scan_load: the read's offset (after the i32 sum)
  bool two_slots, bound_const, less;  ///< address index + base; bound in `bound`; i < n, not i != n
  int32_t copy_to, copy_from;         ///< x_scan_load: the head's copy first, or -1
  // x_scan_load, when the last iteration does not make again every write of those skipped: what
  // the one before it leaves in each slot it writes, a function of its index and its byte.
  struct Effect {
    int32_t slot;
    bool from_index;  ///< fp[slot] = index + offset (i32), else by_byte[byte]
    uint32_t offset;
    std::array<uint64_t, 256> by_byte;
  };
  std::vector<Effect> effects;
};

struct Compiled {
  std::vector<Ins> code;
  std::vector<TableEntry> tables;
  std::vector<std::unique_ptr<ByteScan>> scans;
  uint32_t param_slots = 0;
  uint32_t local_slots = 0;
  uint32_t frame_slots = 0;  ///< locals plus the deepest operand stack
  uint32_t entry_cost = 0;   ///< of the function's first block; code[0] is its fuel_poll
};

#define TG_I32(x) static_cast<uint32_t>(x)
#define TG_B(x) static_cast<uint64_t>((x) ? 1 : 0)
#define TG_U64(x) static_cast<uint64_t>(x)

// Binary operations that cannot trap: each has a register form and one whose second operand is
// a constant. x is the operand of a unary op, a and b of a binary one; results are stored
// zero-extended.
#define TG_PURE_BINOPS(X)                                             \
  X(i32_eq, u32, TG_B(a == b))                                        \
  X(i32_ne, u32, TG_B(a != b))                                        \
  X(i32_lt_s, s32, TG_B(a < b))                                       \
  X(i32_lt_u, u32, TG_B(a < b))                                       \
  X(i32_gt_s, s32, TG_B(a > b))                                       \
  X(i32_gt_u, u32, TG_B(a > b))                                       \
  X(i32_le_s, s32, TG_B(a <= b))                                      \
  X(i32_le_u, u32, TG_B(a <= b))                                      \
  X(i32_ge_s, s32, TG_B(a >= b))                                      \
  X(i32_ge_u, u32, TG_B(a >= b))                                      \
  X(i64_eq, TG_U64, TG_B(a == b))                                     \
  X(i64_ne, TG_U64, TG_B(a != b))                                     \
  X(i64_lt_s, s64, TG_B(a < b))                                       \
  X(i64_lt_u, TG_U64, TG_B(a < b))                                    \
  X(i64_gt_s, s64, TG_B(a > b))                                       \
  X(i64_gt_u, TG_U64, TG_B(a > b))                                    \
  X(i64_le_s, s64, TG_B(a <= b))                                      \
  X(i64_le_u, TG_U64, TG_B(a <= b))                                   \
  X(i64_ge_s, s64, TG_B(a >= b))                                      \
  X(i64_ge_u, TG_U64, TG_B(a >= b))                                   \
  X(f32_eq, f32, TG_B(a == b))                                        \
  X(f32_ne, f32, TG_B(a != b))                                        \
  X(f32_lt, f32, TG_B(a < b))                                         \
  X(f32_gt, f32, TG_B(a > b))                                         \
  X(f32_le, f32, TG_B(a <= b))                                        \
  X(f32_ge, f32, TG_B(a >= b))                                        \
  X(f64_eq, f64, TG_B(a == b))                                        \
  X(f64_ne, f64, TG_B(a != b))                                        \
  X(f64_lt, f64, TG_B(a < b))                                         \
  X(f64_gt, f64, TG_B(a > b))                                         \
  X(f64_le, f64, TG_B(a <= b))                                        \
  X(f64_ge, f64, TG_B(a >= b))                                        \
  X(i32_add, u32, TG_I32(a + b))                                      \
  X(i32_sub, u32, TG_I32(a - b))                                      \
  X(i32_mul, u32, TG_I32(a* b))                                       \
  X(i32_and_, u32, TG_I32(a& b))                                      \
  X(i32_or_, u32, TG_I32(a | b))                                      \
  X(i32_xor_, u32, TG_I32(a ^ b))                                     \
  X(i32_shl, u32, TG_I32(a << (b & 31)))                              \
  X(i32_shr_s, s32, TG_I32(a >> (b & 31)))                            \
  X(i32_shr_u, u32, TG_I32(a >> (b & 31)))                            \
  X(i32_rotl, u32, TG_I32(std::rotl(a, static_cast<int>(b & 31))))    \
  X(i32_rotr, u32, TG_I32(std::rotr(a, static_cast<int>(b & 31))))    \
  X(i64_add, TG_U64, a + b)                                           \
  X(i64_sub, TG_U64, a - b)                                           \
  X(i64_mul, TG_U64, a* b)                                            \
  X(i64_and_, TG_U64, a& b)                                           \
  X(i64_or_, TG_U64, a | b)                                           \
  X(i64_xor_, TG_U64, a ^ b)                                          \
  X(i64_shl, TG_U64, a << (b & 63))                                   \
  X(i64_shr_s, s64, TG_U64(a >> (b & 63)))                            \
  X(i64_shr_u, TG_U64, a >> (b & 63))                                 \
  X(i64_rotl, TG_U64, std::rotl(a, static_cast<int>(b & 63)))         \
  X(i64_rotr, TG_U64, std::rotr(a, static_cast<int>(b & 63)))         \
  X(f32_add, f32, bits(a + b))                                        \
  X(f32_sub, f32, bits(a - b))                                        \
  X(f32_mul, f32, bits(a* b))                                         \
  X(f32_div, f32, bits(a / b))                                        \
  X(f32_min, f32, bits(wasm_min(a, b)))                               \
  X(f32_max, f32, bits(wasm_max(a, b)))                               \
  X(f32_copysign, u32, TG_U64((a & 0x7FFFFFFFu) | (b & 0x80000000u))) \
  X(f64_add, f64, bits(a + b))                                        \
  X(f64_sub, f64, bits(a - b))                                        \
  X(f64_mul, f64, bits(a* b))                                         \
  X(f64_div, f64, bits(a / b))                                        \
  X(f64_min, f64, bits(wasm_min(a, b)))                               \
  X(f64_max, f64, bits(wasm_max(a, b)))                               \
  X(f64_copysign, TG_U64, (a & 0x7FFFFFFFFFFFFFFFull) | (b & 0x8000000000000000ull))

// Integer comparisons that fuse with the conditional branch consuming them.
#define TG_INT_CMPS(X)    \
  X(i32_eq, u32, ==)      \
  X(i32_ne, u32, !=)      \
  X(i32_lt_s, s32, <)     \
  X(i32_lt_u, u32, <)     \
  X(i32_gt_s, s32, >)     \
  X(i32_gt_u, u32, >)     \
  X(i32_le_s, s32, <=)    \
  X(i32_le_u, u32, <=)    \
  X(i32_ge_s, s32, >=)    \
  X(i32_ge_u, u32, >=)    \
  X(i64_eq, TG_U64, ==)   \
  X(i64_ne, TG_U64, !=)   \
  X(i64_lt_s, s64, <)     \
  X(i64_lt_u, TG_U64, <)  \
  X(i64_gt_s, s64, >)     \
  X(i64_gt_u, TG_U64, >)  \
  X(i64_le_s, s64, <=)    \
  X(i64_le_u, TG_U64, <=) \
  X(i64_ge_s, s64, >=)    \
  X(i64_ge_u, TG_U64, >=)

// The i32 compares a loop tail `i += k; if (i rel n) continue` fuses into one back-edge.
#define TG_I32_CMPS(X) \
  X(i32_eq, u32, ==)   \
  X(i32_ne, u32, !=)   \
  X(i32_lt_s, s32, <)  \
  X(i32_lt_u, u32, <)  \
  X(i32_gt_s, s32, >)  \
  X(i32_gt_u, u32, >)  \
  X(i32_le_s, s32, <=) \
  X(i32_le_u, u32, <=) \
  X(i32_ge_s, s32, >=) \
  X(i32_ge_u, u32, >=)

// Loads and stores: each also has a form whose address is a slot plus a constant (i32 wrap-around
// addition), which is how compilers index arrays in wasm32.
#define TG_LOADS(X)                                           \
  X(i32_load, uint32_t, v)                                    \
  X(i64_load, uint64_t, v)                                    \
  X(f32_load, uint32_t, v)                                    \
  X(f64_load, uint64_t, v)                                    \
  X(i32_load8_s, int8_t, static_cast<uint32_t>(int32_t{v}))   \
  X(i32_load8_u, uint8_t, uint32_t{v})                        \
  X(i32_load16_s, int16_t, static_cast<uint32_t>(int32_t{v})) \
  X(i32_load16_u, uint16_t, uint32_t{v})                      \
  X(i64_load8_s, int8_t, static_cast<uint64_t>(int64_t{v}))   \
  X(i64_load8_u, uint8_t, uint64_t{v})                        \
  X(i64_load16_s, int16_t, static_cast<uint64_t>(int64_t{v})) \
  X(i64_load16_u, uint16_t, uint64_t{v})                      \
  X(i64_load32_s, int32_t, static_cast<uint64_t>(int64_t{v})) \
  X(i64_load32_u, uint32_t, uint64_t{v})
#define TG_STORES(X)       \
  X(i32_store, uint32_t)   \
  X(i64_store, uint64_t)   \
  X(f32_store, uint32_t)   \
  X(f64_store, uint64_t)   \
  X(i32_store8, uint8_t)   \
  X(i32_store16, uint16_t) \
  X(i64_store8, uint8_t)   \
  X(i64_store16, uint16_t) \
  X(i64_store32, uint32_t)

// Binary operations whose second operand may come straight from a load (slot + constant address).
#define TG_LOAD_BINOPS(X)                             \
  X(i32_add, i32_load, u32, uint32_t, TG_I32(a + b))  \
  X(i32_and_, i32_load, u32, uint32_t, TG_I32(a& b))  \
  X(i32_or_, i32_load, u32, uint32_t, TG_I32(a | b))  \
  X(i32_xor_, i32_load, u32, uint32_t, TG_I32(a ^ b)) \
  X(i64_add, i64_load, TG_U64, uint64_t, a + b)       \
  X(f32_add, f32_load, f32, uint32_t, bits(a + b))    \
  X(f32_sub, f32_load, f32, uint32_t, bits(a - b))    \
  X(f32_mul, f32_load, f32, uint32_t, bits(a* b))     \
  X(f64_add, f64_load, f64, uint64_t, bits(a + b))    \
  X(f64_sub, f64_load, f64, uint64_t, bits(a - b))    \
  X(f64_mul, f64_load, f64, uint64_t, bits(a* b))

// Binary operations whose second operand is a slot shifted or rotated by a constant (the shift
// fused into its consumer): hashes and bit packing, and `base + (i << k)` array indexing. v is
// the shifted slot, k the constant.
#define TG_SHIFT_BINOPS(X)                                                          \
  X(i32_add, i32_shl, u32, TG_I32(v << (k & 31)), TG_I32(a + b))                    \
  X(i32_add, i32_shr_u, u32, TG_I32(v >> (k & 31)), TG_I32(a + b))                  \
  X(i32_add, i32_rotl, u32, std::rotl(v, static_cast<int>(k & 31)), TG_I32(a + b))  \
  X(i32_sub, i32_shl, u32, TG_I32(v << (k & 31)), TG_I32(a - b))                    \
  X(i32_xor_, i32_shl, u32, TG_I32(v << (k & 31)), TG_I32(a ^ b))                   \
  X(i32_xor_, i32_shr_u, u32, TG_I32(v >> (k & 31)), TG_I32(a ^ b))                 \
  X(i32_xor_, i32_rotl, u32, std::rotl(v, static_cast<int>(k & 31)), TG_I32(a ^ b)) \
  X(i32_or_, i32_shl, u32, TG_I32(v << (k & 31)), TG_I32(a | b))                    \
  X(i32_or_, i32_shr_u, u32, TG_I32(v >> (k & 31)), TG_I32(a | b))                  \
  X(i32_or_, i32_rotl, u32, std::rotl(v, static_cast<int>(k & 31)), TG_I32(a | b))  \
  X(i32_and_, i32_shl, u32, TG_I32(v << (k & 31)), TG_I32(a& b))                    \
  X(i32_and_, i32_shr_u, u32, TG_I32(v >> (k & 31)), TG_I32(a& b))                  \
  X(i32_and_, i32_rotl, u32, std::rotl(v, static_cast<int>(k & 31)), TG_I32(a& b))  \
  X(i64_add, i64_shl, TG_U64, v << (k & 63), a + b)                                 \
  X(i64_add, i64_shr_u, TG_U64, v >> (k & 63), a + b)                               \
  X(i64_xor_, i64_shl, TG_U64, v << (k & 63), a ^ b)                                \
  X(i64_xor_, i64_shr_u, TG_U64, v >> (k & 63), a ^ b)                              \
  X(i64_xor_, i64_rotl, TG_U64, std::rotl(v, static_cast<int>(k & 63)), a ^ b)      \
  X(i64_or_, i64_shl, TG_U64, v << (k & 63), a | b)                                 \
  X(i64_or_, i64_shr_u, TG_U64, v >> (k & 63), a | b)                               \
  X(i64_and_, i64_shl, TG_U64, v << (k & 63), a & b)                                \
  X(i64_and_, i64_shr_u, TG_U64, v >> (k & 63), a & b)                              \
  X(i32_and_, i32_xor_, u32, TG_I32(v ^ k), TG_I32(a& b))                           \
  X(i64_and_, i64_xor_, TG_U64, v ^ k, a & b)                                       \
  X(i32_add, i32_mul, u32, TG_I32(v* k), TG_I32(a + b))                             \
  X(i32_add, i32_and_, u32, TG_I32(v& k), TG_I32(a + b))                            \
  X(i64_add, i64_mul, TG_U64, v* k, a + b)                                          \
  X(i64_add, i64_extend_i32_u, TG_U64, v & 0xFFFFFFFFu, a + b)                      \
  X(i64_add, i64_extend_i32_s, TG_U64, TG_U64(s32(v)), a + b)

// Binary operations whose result goes straight to memory: fp[d] + imm is the address, x the
// offset, and T the width of the store (i32_store, i64_store, f32_store or f64_store).
#define TG_STORE_BINOPS(X)                             \
  X(i32_add, u32, TG_I32(a + b), i32_store, uint32_t)  \
  X(i32_sub, u32, TG_I32(a - b), i32_store, uint32_t)  \
  X(i32_and_, u32, TG_I32(a& b), i32_store, uint32_t)  \
  X(i32_or_, u32, TG_I32(a | b), i32_store, uint32_t)  \
  X(i32_xor_, u32, TG_I32(a ^ b), i32_store, uint32_t) \
  X(i64_add, TG_U64, a + b, i64_store, uint64_t)       \
  X(i64_sub, TG_U64, a - b, i64_store, uint64_t)       \
  X(i64_and_, TG_U64, a& b, i64_store, uint64_t)       \
  X(i64_or_, TG_U64, a | b, i64_store, uint64_t)       \
  X(i64_xor_, TG_U64, a ^ b, i64_store, uint64_t)      \
  X(f32_add, f32, bits(a + b), f32_store, uint32_t)    \
  X(f32_sub, f32, bits(a - b), f32_store, uint32_t)    \
  X(f32_mul, f32, bits(a* b), f32_store, uint32_t)     \
  X(f64_add, f64, bits(a + b), f64_store, uint64_t)    \
  X(f64_sub, f64, bits(a - b), f64_store, uint64_t)    \
  X(f64_mul, f64, bits(a* b), f64_store, uint64_t)

// Operations that are not commutative, in a form whose first operand is a constant: `1 << n`
// (bit masks), `k - x`. a is the constant (imm), b the slot.
#define TG_RK_BINOPS(X)                    \
  X(i32_sub, u32, TG_I32(a - b))           \
  X(i32_shl, u32, TG_I32(a << (b & 31)))   \
  X(i32_shr_u, u32, TG_I32(a >> (b & 31))) \
  X(i32_shr_s, s32, TG_I32(a >> (b & 31))) \
  X(i64_sub, TG_U64, a - b)                \
  X(i64_shl, TG_U64, a << (b & 63))        \
  X(i64_shr_u, TG_U64, a >> (b & 63))      \
  X(f32_sub, f32, bits(a - b))             \
  X(f32_div, f32, bits(a / b))             \
  X(f64_sub, f64, bits(a - b))             \
  X(f64_div, f64, bits(a / b))

// Divisions by a constant that can neither be 0 nor (signed) -1, so they cannot trap.
#define TG_DIV_BINOPS(X)           \
  X(i32_div_s, s32, TG_I32(a / b)) \
  X(i32_div_u, u32, TG_I32(a / b)) \
  X(i32_rem_s, s32, TG_I32(a % b)) \
  X(i32_rem_u, u32, TG_I32(a % b)) \
  X(i64_div_s, s64, TG_U64(a / b)) \
  X(i64_div_u, TG_U64, a / b)      \
  X(i64_rem_s, s64, TG_U64(a % b)) \
  X(i64_rem_u, TG_U64, a % b)

// Float operations one of whose operands is the product the previous multiply (same width,
// register form) computed: d = fp[a] * fp[b] combined with fp[x], the product on the left (_l) or
// the right (_r). The product is rounded to its width before use, exactly as if stored to a slot.
#define TG_MUL_BINOPS(X)         \
  X(f64_add, f64, double, a + b) \
  X(f64_sub, f64, double, a - b) \
  X(f64_mul, f64, double, a* b)  \
  X(f32_add, f32, float, a + b)  \
  X(f32_sub, f32, float, a - b)  \
  X(f32_mul, f32, float, a* b)

// Handlers that a copy `fp[d'] = fp[a']` right before them joins, sharing their dispatch: the
// copy's slots go to fields the handler leaves free, b and x (class BX) or b and the high half of
// an imm whose low half alone is read (class BI); the copy runs first. (base handler, its label,
// class)
#define TG_COPY_PREFIXED(X)                     \
  X(x_i32_xrot2, L_x_i32_xrot2, BX)             \
  X(x_i32_xrot3, L_x_i32_xrot3, BX)             \
  X(x_i32_xrot1_shr, L_x_i32_xrot1_shr, BX)     \
  X(x_i32_xrot2_shr, L_x_i32_xrot2_shr, BX)     \
  X(x_i32_add_and_imm, L_x_i32_add_and_imm, BX) \
  TG_PURE_BINOPS(TG_COPY_PREFIXED_IMM)          \
  TG_LOADS(TG_COPY_PREFIXED_LOAD)               \
  TG_I32_CMPS(TG_COPY_PREFIXED_BRANCH)
#define TG_COPY_PREFIXED_IMM(name, get, expr) X(x_##name##_imm, L_##name##_imm, BX)
#define TG_COPY_PREFIXED_LOAD(name, T, conv) X(x_##name##_k, L_##name##_k, BI)
#define TG_COPY_PREFIXED_BRANCH(name, get, rel) X(x_br_##name##_imm, L_br_##name##_imm, BI)

// Two integer operations of width w in a chain, the second on the first's result (on its left):
// family rr: fp[d] = (fp[a] op1 fp[b]) op2 fp[x]
//        rk: fp[d] = (fp[a] op1 fp[b]) op2 imm
//        kk: fp[d] = (fp[a] op1 imm) op2 x (a constant of 32 bits, zero-extended)
// Hashes (xor then multiply), masks and offsets (and then add) and bit packing compute so.
#define TG_CHAIN_RR_ROW(X, w, op1) \
  X(rr, w, op1, add) X(rr, w, op1, sub) X(rr, w, op1, and_) X(rr, w, op1, or_) X(rr, w, op1, xor_)
#define TG_CHAIN_K_ROW(X, fam, w, op1) \
  X(fam, w, op1, add)                  \
  X(fam, w, op1, and_)                 \
  X(fam, w, op1, or_)                  \
  X(fam, w, op1, xor_) X(fam, w, op1, mul) X(fam, w, op1, shl) X(fam, w, op1, shr_u)
#define TG_CHAIN_WIDTH(X, w)     \
  TG_CHAIN_RR_ROW(X, w, add)     \
  TG_CHAIN_RR_ROW(X, w, sub)     \
  TG_CHAIN_RR_ROW(X, w, and_)    \
  TG_CHAIN_RR_ROW(X, w, or_)     \
  TG_CHAIN_RR_ROW(X, w, xor_)    \
  TG_CHAIN_K_ROW(X, rk, w, add)  \
  TG_CHAIN_K_ROW(X, rk, w, sub)  \
  TG_CHAIN_K_ROW(X, rk, w, and_) \
  TG_CHAIN_K_ROW(X, rk, w, or_)  \
  TG_CHAIN_K_ROW(X, rk, w, xor_) \
  TG_CHAIN_K_ROW(X, kk, w, add)  \
  TG_CHAIN_K_ROW(X, kk, w, and_) \
  TG_CHAIN_K_ROW(X, kk, w, or_)  \
  TG_CHAIN_K_ROW(X, kk, w, xor_) TG_CHAIN_K_ROW(X, kk, w, shl) TG_CHAIN_K_ROW(X, kk, w, shr_u)
#define TG_CHAIN_BINOPS(X) TG_CHAIN_WIDTH(X, i32) TG_CHAIN_WIDTH(X, i64)

// Memory loops (`*p = v; p += n`, `to[i] = from[i]`): a store with a constant address part
// (_k, _c) that then adds fp[d] to its address slot (`bump`); a memory copy whose destination
// address is the sum of two slots, computed (and written to fp[x]) by the i32.add before it.
// Each with the bytes it copies.
#define TG_MEM_COPIES(X) \
  X(x_mem_copy1, 1)      \
  X(x_mem_copy2, 2)      \
  X(x_mem_copy4, 4) X(x_mem_copy8, 8) X(x_mem_copy1x2, 2) X(x_mem_copy1x3, 3) X(x_mem_copy1x4, 4)

// SHA-2's sigma functions as one instruction each (x_i32_xrot2 ...), also with a sum after them:
// + fp[x] (_add) or + fp[b] + fp[x] (_add3), as its T1 adds them.
#define TG_XROTS(X) X(xrot2) X(xrot3) X(xrot1_shr) X(xrot2_shr)

// Handlers beyond the IR's own operations (which keep their ir::Op numbers).
enum XOp : uint16_t {
  x_poll = ir::kOpCount,  ///< unmetered fuel_poll: only the interruption check
  x_copy,                 ///< fp[d] = fp[a]
  x_copy2,                ///< fp[d] = fp[a], then fp[b] = fp[x]
  x_copy4,      ///< four x_copy in order: 16-bit (destination, source) pairs in d, a, b, x
  x_mem_copy1,  ///< a store of what the previous load read, same width: see fuse_store
  x_mem_copy2,
  x_mem_copy4,
  x_mem_copy8,
  x_mem_copy1x2,  ///< x_mem_copy1 of 2, 3 or 4 consecutive bytes, one after the other
  x_mem_copy1x3,
  x_mem_copy1x4,
  x_i32_xrot2,         ///< fp[d] = rotl(v, k0) ^ rotl(v, k1), v = fp[a], k the bytes of imm
  x_i32_xrot3,         ///< ... ^ rotl(v, k2)
  x_i32_xrot1_shr,     ///< rotl(v, k0) ^ (v >> k1)
  x_i32_xrot2_shr,     ///< rotl(v, k0) ^ rotl(v, k1) ^ (v >> k2)
  x_f64_madd_rmw,      ///< m[u32(fp[d]) + x] += fp[a] * m[u32(fp[b] + imm) + (imm >> 32)] (f64)
  x_f64_mul3_add_rmw,  ///< fp[imm >> 32] = fp[a] * fp[b] * fp[x], then m[u32(fp[d]) + low half] +=
                       ///< it
  x_f64_mul3_add_rmw_at,  ///< fp[d] = i32 fp[imm >> 32] + low half, m[fp[d]] += fp[a] * fp[b] *
                          ///< fp[x]
  x_f64_mul3_sub_rmw,     ///< as x_f64_mul3_add_rmw, but m[...] -= the product
  x_f64_madd_rmw_at,      ///< fp[d] = i32 fp[x] + imm high half, m[fp[d]] += fp[a] *
                          ///< m[u32(fp[b] + imm low half)] (f64)
  x_f64_acc_mulk_a,       ///< fp[a] = m[x], fp[d] += fp[a] * imm, m[u32 b] = fp[d] (f64)
  x_f64_rmw_add_mul,      ///< m[u32(fp[d]) + x] += fp[a] * fp[b] (f64)
  x_f64_mul_sqrt,         ///< fp[x] = sqrt(fp[b]), fp[d] = fp[a] * fp[x] (f64)
  x_f64_k_div_mul_sqrt,   ///< fp[x] = sqrt(fp[b]), fp[d] = imm / (fp[a] * fp[x]) (f64)
  x_f64_madd2_rmw,        ///< m[u32(fp[d])] += y * m[u32(fp[b])], fp[x] = i32 fp[d] + imm low half,
                          ///< m[fp[x]] += y * m[u32(fp[b] + imm high half)], y = fp[a] (f64)
  x_f64_rmw_sub_mul,      ///< m[u32(fp[d]) + x] -= fp[a] * fp[b] (f64)
  x_f64_madd2_loop,       ///< x_f64_madd2_rmw, x_add2_i32 and a counted back-edge to it, run
                          ///< as a whole loop (see find_copy_loops)
  x_const,                ///< fp[d] = imm
  x_move,                 ///< fp[d .. d+b) = fp[a .. a+b), d < a
  x_ret1,                 ///< return the one slot fp[a]
  x_add2_i32,         ///< fp[d] = i32 fp[a] + imm low half, then fp[b] = i32 fp[x] + imm high half
  x_i32_add_and_imm,  ///< fp[d] = (i32 fp[a] + imm low half) & imm high half
  x_i32_shl_rk_and_imm,  ///< fp[d] = (imm low half << fp[b]) & imm high half (i32)
  x_call_local,          ///< call a function of the same module: imm is its TierCache for this mode
  x_call_local_add,      ///< fp[d] = i32 fp[a] + b (the first argument, as `f(n - 1)`), then
                         ///< x_call_local
  x_jmp_poll,            ///< back-edge: the loop header's fuel_poll (cost x), then jump to d
  x_copy4_jmp_poll,      ///< x_copy4 with its pairs in a, b and imm's halves, then x_jmp_poll
  x_copy8_jmp_poll,      ///< eight copies, 8-bit (destination, source) pairs in a, b, imm, then
                         ///< x_jmp_poll
  x_br_unless_bit,       ///< fp[a] = (imm low half << fp[b]) & imm high half (i32); branch if 0
  x_br_gt_u_add_and,     ///< fp[b] = (i32 fp[a] + imm low half) & imm bits 32..47; branch if it
                         ///< is > imm bits 48..63 (unsigned)
  x_add32_jmp_poll,      ///< fp[b] = i32 fp[a] + imm, then x_jmp_poll
  x_add64_jmp_poll,      ///< fp[b] = i64 fp[a] + imm, then x_jmp_poll
  x_br_if_poll,          ///< conditional back-edges, likewise
  x_br_unless_poll,
  x_inc_br_if_poll,  ///< fp[a] += imm >> 32, then x_br_if_poll (cost in imm's low half)
  x_inc_br_unless_poll,
  x_scan_bytes,  ///< a byte-scan loop as one instruction: imm is its ByteScan
  x_scan_load,   ///< a byte-scan loop up to its last iteration, then that iteration's byte read
#define X(name, get, rel) x_incp_##name, x_addp_##name,
  TG_INT_CMPS(X)
#undef X
#define X(name, get, rel) x_incp_##name##_imm, x_addbr_##name##_imm,
      TG_I32_CMPS(X)
#undef X
#define X(name, load, get, T, expr) x_##name##_ld,
          TG_LOAD_BINOPS(X)
#undef X
#define X(bin, sh, get, shexpr, expr) x_##bin##_##sh,
              TG_SHIFT_BINOPS(X)
#undef X
#define X(name, get, expr) x_##name##_rk,
                  TG_RK_BINOPS(X)
#undef X
#define X(name, get, expr) x_##name##_imm,
                      TG_DIV_BINOPS(X)
#undef X
                          x_i32_add3,  ///< fp[d] = fp[a] + fp[b] + fp[x]
  x_i64_add3,
  x_i32_add4,  ///< fp[d] = fp[a] + fp[b] + fp[x] + fp[imm]
  x_i64_add4,
#define X(name, get, T, expr) \
  x_##name##_mul_l, x_##name##_mul_r, x_##name##_mulk_l, x_##name##_mulk_r,
  TG_MUL_BINOPS(X)
#undef X
#define X(name, get, expr, store, T) x_##name##_st,
      TG_STORE_BINOPS(X)
#undef X
#define X(name, load, get, T, expr) x_##name##_rmw,
          TG_LOAD_BINOPS(X)
#undef X
#define X(name, T, conv) x_##name##_k, x_##name##_r, x_##name##_a,
              TG_LOADS(X)
#undef X
#define X(name, T) x_##name##_k, x_##name##_r, x_##name##_c, x_##name##_a,
                  TG_STORES(X)
#undef X
#define X(name, get, expr) x_##name##_imm,
                      TG_PURE_BINOPS(X)
#undef X
#define X(name, get, rel) x_br_##name, x_br_##name##_imm, x_brp_##name, x_brp_##name##_imm,
                          TG_INT_CMPS(X)
#undef X
#define X(base, label, cls) cp_##base,
                              TG_COPY_PREFIXED(X)
#undef X
#define X(fam, w, op1, op2) x_##fam##_##w##_##op1##_##op2,
                                  TG_CHAIN_BINOPS(X)
#undef X
#define X(name, T) x_##name##_bump, x_##name##_k_bump, x_##name##_c_bump, x_##name##_c_bump_loop,
                                      TG_STORES(X)
#undef X
#define X(copy, bytes) copy##_to_sum, copy##_loop, copy##_to_sum_loop,
                                          TG_MEM_COPIES(X)
#undef X
#define X(name, get, rel) x_br_##name##_load8, x_br_##name##_imm_ld8r, x_br_##name##_imm_ld8k,
                                              TG_I32_CMPS(X)
#undef X
#define X(rot) x_i32_##rot##_add, x_i32_##rot##_add3,
                                                  TG_XROTS(X)
#undef X
                                                      x_count
};

using ir::Op;

// Names of the handlers, for the translation dump (TOLLGATE_INTERP_DUMP).
const char* handler_name(uint16_t op) {
  static const char* const kNames[] = {"x_poll",
                                       "x_copy",
                                       "x_copy2",
                                       "x_copy4",
                                       "x_mem_copy1",
                                       "x_mem_copy2",
                                       "x_mem_copy4",
                                       "x_mem_copy8",
                                       "x_mem_copy1x2",
                                       "x_mem_copy1x3",
                                       "x_mem_copy1x4",
                                       "x_i32_xrot2",
                                       "x_i32_xrot3",
                                       "x_i32_xrot1_shr",
                                       "x_i32_xrot2_shr",
                                       "x_f64_madd_rmw",
                                       "x_f64_mul3_add_rmw",
                                       "x_f64_mul3_add_rmw_at",
                                       "x_f64_mul3_sub_rmw",
                                       "x_f64_madd_rmw_at",
                                       "x_f64_acc_mulk_a",
                                       "x_f64_rmw_add_mul",
                                       "x_f64_mul_sqrt",
                                       "x_f64_k_div_mul_sqrt",
                                       "x_f64_madd2_rmw",
                                       "x_f64_rmw_sub_mul",
                                       "x_f64_madd2_loop",
                                       "x_const",
                                       "x_move",
                                       "x_ret1",
                                       "x_add2_i32",
                                       "x_i32_add_and_imm",
                                       "x_i32_shl_rk_and_imm",
                                       "x_call_local",
                                       "x_call_local_add",
                                       "x_jmp_poll",
                                       "x_copy4_jmp_poll",
                                       "x_copy8_jmp_poll",
                                       "x_br_unless_bit",
                                       "x_br_gt_u_add_and",
                                       "x_add32_jmp_poll",
                                       "x_add64_jmp_poll",
                                       "x_br_if_poll",
                                       "x_br_unless_poll",
                                       "x_inc_br_if_poll",
                                       "x_inc_br_unless_poll",
                                       "x_scan_bytes",
                                       "x_scan_load",
#define X(name, get, rel) "incp_" #name, "addp_" #name,
                                       TG_INT_CMPS(X)
#undef X
#define X(name, get, rel) "incp_" #name "_imm", "addbr_" #name "_imm",
                                           TG_I32_CMPS(X)
#undef X
#define X(name, load, get, T, expr) #name "_ld",
                                               TG_LOAD_BINOPS(X)
#undef X
#define X(bin, sh, get, shexpr, expr) #bin "_" #sh,
                                                   TG_SHIFT_BINOPS(X)
#undef X
#define X(name, get, expr) #name "_rk",
                                                       TG_RK_BINOPS(X)
#undef X
#define X(name, get, expr) #name "_imm",
                                                           TG_DIV_BINOPS(X)
#undef X
                                                               "i32_add3",
                                       "i64_add3",
                                       "i32_add4",
                                       "i64_add4",
#define X(name, get, T, expr) #name "_mul_l", #name "_mul_r", #name "_mulk_l", #name "_mulk_r",
                                       TG_MUL_BINOPS(X)
#undef X
#define X(name, get, expr, store, T) #name "_st",
                                           TG_STORE_BINOPS(X)
#undef X
#define X(name, load, get, T, expr) #name "_rmw",
                                               TG_LOAD_BINOPS(X)
#undef X
#define X(name, T, conv) #name "_k", #name "_r", #name "_a",
                                                   TG_LOADS(X)
#undef X
#define X(name, T) #name "_k", #name "_r", #name "_c", #name "_a",
                                                       TG_STORES(X)
#undef X
#define X(name, get, expr) #name "_imm",
                                                           TG_PURE_BINOPS(X)
#undef X
#define X(name, get, rel) "br_" #name, "br_" #name "_imm", "brp_" #name, "brp_" #name "_imm",
                                                               TG_INT_CMPS(X)
#undef X
#define X(base, label, cls) "cp+" #base,
                                                                   TG_COPY_PREFIXED(X)
#undef X
#define X(fam, w, op1, op2) #fam "_" #w "_" #op1 "_then_" #op2,
                                                                       TG_CHAIN_BINOPS(X)
#undef X
#define X(name, T) #name "_bump", #name "_k_bump", #name "_c_bump", #name "_c_bump_loop",
                                                                           TG_STORES(X)
#undef X
#define X(copy, bytes) #copy "_to_sum", #copy "_loop", #copy "_to_sum_loop",
                                                                               TG_MEM_COPIES(X)
#undef X
#define X(name, get, rel) "br_" #name "_load8", "br_" #name "_imm_ld8r", "br_" #name "_imm_ld8k",
                                                                                   TG_I32_CMPS(X)
#undef X
#define X(rot) "x_i32_" #rot "_add", "x_i32_" #rot "_add3",
                                                                                       TG_XROTS(X)
#undef X
  };
  static_assert(std::size(kNames) == x_count - ir::kOpCount);
  if (op < ir::kOpCount)
    return ir::op_name(static_cast<Op>(op));
  return op < x_count ? kNames[op - ir::kOpCount] : "?";
}

#ifdef TG_INTERP_PROFILE
// Build with -DTG_INTERP_PROFILE to count executed handlers and adjacent handler pairs, printed
// at exit: the dynamic view that chooses superinstructions. Never part of a normal build.
struct HandlerProfile {
  const void* const* labels = nullptr;
  std::vector<std::pair<const void*, uint16_t>> index;
  std::vector<uint64_t> singles = std::vector<uint64_t>(x_count);
  std::vector<uint64_t> pairs = std::vector<uint64_t>(size_t{x_count} * x_count);
  uint16_t previous = 0;
  uint16_t op_of(const void* h) {
    for (uint16_t op = 0; op < x_count; ++op)
      if (labels[op] == h)
        return op;
    return 0;
  }
  ~HandlerProfile() {
    uint64_t total = 0;
    for (uint64_t n : singles)
      total += n;
    std::vector<std::pair<uint64_t, size_t>> order;
    for (size_t i = 0; i < singles.size(); ++i)
      if (singles[i] != 0)
        order.push_back({singles[i], i});
    std::sort(order.rbegin(), order.rend());
    std::fprintf(stderr, "-- %llu dispatches\n", static_cast<unsigned long long>(total));
    for (size_t i = 0; i < order.size() && i < 40; ++i)
      std::fprintf(stderr, "%6.2f%% %s\n", 100.0 * order[i].first / total,
                   handler_name(static_cast<uint16_t>(order[i].second)));
    order.clear();
    for (size_t i = 0; i < pairs.size(); ++i)
      if (pairs[i] != 0)
        order.push_back({pairs[i], i});
    std::sort(order.rbegin(), order.rend());
    std::fprintf(stderr, "-- pairs\n");
    for (size_t i = 0; i < order.size() && i < 60; ++i)
      std::fprintf(stderr, "%6.2f%% %s -> %s\n", 100.0 * order[i].first / total,
                   handler_name(static_cast<uint16_t>(order[i].second / x_count)),
                   handler_name(static_cast<uint16_t>(order[i].second % x_count)));
  }
};
HandlerProfile g_profile;
[[gnu::noinline]] void profile_dispatch(const void* h) {
  uint16_t op = 0;
  for (auto& [address, o] : g_profile.index)
    if (address == h) {
      op = o;
      break;
    }
  if (op == 0) {
    op = g_profile.op_of(h);
    g_profile.index.push_back({h, op});
  }
  ++g_profile.singles[op];
  ++g_profile.pairs[size_t{g_profile.previous} * x_count + op];
  g_profile.previous = op;
}
#endif

// The constant-divisor form of a division or remainder, when divisor `k` can make it trap
// neither by zero nor by overflow; else 0.
uint16_t div_imm_variant(Op op, uint64_t k) {
  const bool wide =
      op == Op::i64_div_s || op == Op::i64_div_u || op == Op::i64_rem_s || op == Op::i64_rem_u;
  const uint64_t v = wide ? k : static_cast<uint32_t>(k);
  const uint64_t minus_one = wide ? ~uint64_t{0} : 0xFFFFFFFFu;
  const bool is_signed =
      op == Op::i32_div_s || op == Op::i32_rem_s || op == Op::i64_div_s || op == Op::i64_rem_s;
  if (v == 0 || (is_signed && v == minus_one))
    return 0;
  switch (op) {
#define X(name, get, expr) \
  case Op::name:           \
    return x_##name##_imm;
    TG_DIV_BINOPS(X)
#undef X
    default:
      return 0;
  }
}

// The form of a non-commutative operation whose first operand is a constant, or 0.
uint16_t rk_variant(Op op) {
  switch (op) {
#define X(name, get, expr) \
  case Op::name:           \
    return x_##name##_rk;
    TG_RK_BINOPS(X)
#undef X
    default:
      return 0;
  }
}

uint16_t imm_variant(Op op) {
  switch (op) {
#define X(name, get, expr) \
  case Op::name:           \
    return x_##name##_imm;
    TG_PURE_BINOPS(X)
#undef X
    default:
      return 0;
  }
}

// The compare-and-branch handler for a compare (register or constant form), or 0.
uint16_t branch_variant(uint16_t cmp) {
  switch (cmp) {
#define X(name, get, rel)               \
  case static_cast<uint16_t>(Op::name): \
    return x_br_##name;                 \
  case x_##name##_imm:                  \
    return x_br_##name##_imm;
    TG_INT_CMPS(X)
#undef X
    default:
      return 0;
  }
}

// The integer compare whose result is the negation of `cmp`'s (register or constant form alike).
uint16_t negated(uint16_t cmp) {
  static constexpr Op kPairs[][2] = {
      {Op::i32_eq, Op::i32_ne},     {Op::i32_lt_s, Op::i32_ge_s}, {Op::i32_lt_u, Op::i32_ge_u},
      {Op::i32_gt_s, Op::i32_le_s}, {Op::i32_gt_u, Op::i32_le_u}, {Op::i64_eq, Op::i64_ne},
      {Op::i64_lt_s, Op::i64_ge_s}, {Op::i64_lt_u, Op::i64_ge_u}, {Op::i64_gt_s, Op::i64_le_s},
      {Op::i64_gt_u, Op::i64_le_u},
  };
  for (const auto& p : kPairs) {
    for (int k = 0; k < 2; ++k) {
      const Op from = p[k], to = p[1 - k];
      if (cmp == static_cast<uint16_t>(from))
        return static_cast<uint16_t>(to);
      if (cmp == imm_variant(from))
        return imm_variant(to);
    }
  }
  return 0;
}

// The forms of a load or store whose address is a slot plus a constant (k), the sum of two
// slots (r), or a constant (a); and of a store whose value is a constant (c).
enum class MemForm : uint8_t { k, r, c, a };
uint16_t mem_variant(Op op, MemForm f) {
  switch (op) {
#define X(name, ...)                        \
  case Op::name:                            \
    return f == MemForm::k   ? x_##name##_k \
           : f == MemForm::r ? x_##name##_r \
           : f == MemForm::a ? x_##name##_a \
                             : 0;
    TG_LOADS(X)
#undef X
#define X(name, ...)                        \
  case Op::name:                            \
    return f == MemForm::k   ? x_##name##_k \
           : f == MemForm::r ? x_##name##_r \
           : f == MemForm::c ? x_##name##_c \
                             : x_##name##_a;
    TG_STORES(X)
#undef X
    default:
      return 0;
  }
}

// The form of a branch that also does a loop header's fuel_poll, or 0.
uint16_t poll_variant(uint16_t br) {
  switch (br) {
    case static_cast<uint16_t>(Op::br):
      return x_jmp_poll;
    case static_cast<uint16_t>(Op::br_if):
      return x_br_if_poll;
    case static_cast<uint16_t>(Op::br_unless):
      return x_br_unless_poll;
#define X(name, get, rel) \
  case x_br_##name:       \
    return x_brp_##name;  \
  case x_br_##name##_imm: \
    return x_brp_##name##_imm;
      TG_INT_CMPS(X)
#undef X
    default:
      return 0;
  }
}

// The form of binary operation `op` (register form) that stores its result with `store`, or 0.
uint16_t store_binop(uint16_t op, Op store) {
#define X(name, get, expr, st, T)                               \
  if (op == static_cast<uint16_t>(Op::name) && store == Op::st) \
    return x_##name##_st;
  TG_STORE_BINOPS(X)
#undef X
  return 0;
}

// The store that writes back what `load` read, same width and type.
Op store_of(Op load) {
  switch (load) {
    case Op::i32_load:
      return Op::i32_store;
    case Op::i64_load:
      return Op::i64_store;
    case Op::f32_load:
      return Op::f32_store;
    default:
      return Op::f64_store;
  }
}

// The read-modify-write form of load-operand operation `ld` when `store` writes its result back
// with the load's width and type, or 0.
uint16_t rmw_variant(uint16_t ld, Op store) {
#define X(name, load, get, T, expr)                       \
  if (ld == x_##name##_ld && store == store_of(Op::load)) \
    return x_##name##_rmw;
  TG_LOAD_BINOPS(X)
#undef X
  return 0;
}

// The loop-tail form of back-edge `brp` (a poll_variant) that first does `prev`, an add into the
// slot the branch tests: by a constant (i32, or i64 within int32) or by a slot (register-form
// compares only, whose imm has room for it). 0 if there is none.
uint16_t tail_variant(uint16_t brp, uint16_t prev) {
  const bool inc32 = prev == imm_variant(Op::i32_add), inc64 = prev == imm_variant(Op::i64_add);
  const bool add32 = prev == static_cast<uint16_t>(Op::i32_add);
  const bool add64 = prev == static_cast<uint16_t>(Op::i64_add);
  switch (brp) {
    case x_br_if_poll:
      return inc32 ? x_inc_br_if_poll : 0;
    case x_br_unless_poll:
      return inc32 ? x_inc_br_unless_poll : 0;
#define X(name, get, rel)                                      \
  case x_brp_##name: {                                         \
    const bool wide = sizeof(decltype(get(uint64_t{0}))) == 8; \
    if (wide ? inc64 : inc32)                                  \
      return x_incp_##name;                                    \
    return (wide ? add64 : add32) ? x_addp_##name : 0;         \
  }
      TG_INT_CMPS(X)
#undef X
#define X(name, get, rel)  \
  case x_brp_##name##_imm: \
    return inc32 ? x_incp_##name##_imm : 0;
      TG_I32_CMPS(X)
#undef X
    default:
      return 0;
  }
}

// The form of store `op` (a _k or _c store) that then adds fp[d] to its address slot, or 0.
uint16_t store_bump(uint16_t op) {
  switch (op) {
#define X(name, T)                      \
  case static_cast<uint16_t>(Op::name): \
    return x_##name##_bump;             \
  case x_##name##_k:                    \
    return x_##name##_k_bump;           \
  case x_##name##_c:                    \
    return x_##name##_c_bump;
    TG_STORES(X)
#undef X
    default:
      return 0;
  }
}

// The whole-loop form of constant store `op` with its address bump (x_*_c_bump), or 0.
uint16_t store_bump_loop(uint16_t op) {
  switch (op) {
#define X(name, T)        \
  case x_##name##_c_bump: \
    return x_##name##_c_bump_loop;
    TG_STORES(X)
#undef X
    default:
      return 0;
  }
}

// The back-edge of a loop that a whole-loop handler (x_f64_madd2_loop, x_*_c_bump_loop) runs by
// itself: `i += k` or `i += fp[s]`, then `i rel n` for any integer relation (incp, addp, incp with
// a constant bound) or `i != 0` (x_inc_br_if_poll), jumping back by `back` bytes. Its handler tells
// the form; the loop keeps i in a register and steps it as the handler would.
struct CountedTail {
  enum Relation : uint8_t {
#define X(name, get, rel) name,
    TG_INT_CMPS(X)
#undef X
  };
  int32_t index = -1;       ///< the slot stepped
  int32_t step_slot = -1;   ///< addp: the slot added, else -1 (the step is `step`)
  int32_t bound_slot = -1;  ///< the bound's slot, or -1 (the bound is `bound`)
  uint64_t step = 0, bound = 0, cost = 0;
  Relation relation = i32_ne;
  bool wide = false;  ///< i64: the index wraps at 64 bits, not 32

  // Reads the step and the bound from their slots, which the loop does not write.
  void start(const uint64_t* fp) {
    if (step_slot >= 0)
      step = fp[step_slot];
    if (bound_slot >= 0)
      bound = fp[bound_slot];
  }
  // The index after one more step.
  uint64_t next(uint64_t i) const {
    return wide ? i + step : u32(i + step);
  }
  // Whether the back-edge is taken for index i.
  bool again(uint64_t i) const {
    const uint64_t n = bound;
    switch (relation) {
#define X(name, get, rel) \
  case name:              \
    return get(i) rel get(n);
      TG_INT_CMPS(X)
#undef X
    }
    return false;
  }
  // The tail `t`, whose handler is `h` in table `labels`; false if it is not such a tail.
  bool decode(const Ins& t, const void* const* labels) {
    const void* const h = t.h;
    index = t.a;
    if (h == labels[x_inc_br_if_poll]) {
      step = static_cast<uint32_t>(t.imm >> 32);
      cost = static_cast<uint32_t>(t.imm);
      relation = i32_ne;
      return true;
    }
#define X(name, get, rel)                                                           \
  if (h == labels[x_incp_##name] || h == labels[x_addp_##name]) {                   \
    relation = name;                                                                \
    wide = sizeof(get(uint64_t{0})) == 8;                                           \
    const uint64_t hi = t.imm >> 32;                                                \
    if (h == labels[x_addp_##name])                                                 \
      step_slot = static_cast<int32_t>(hi);                                         \
    else                                                                            \
      step = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(hi))); \
    bound_slot = t.b;                                                               \
    cost = static_cast<uint32_t>(t.imm);                                            \
    return true;                                                                    \
  }
    TG_INT_CMPS(X)
#undef X
#define X(name, get, rel)                      \
  if (h == labels[x_incp_##name##_imm]) {      \
    relation = name;                           \
    step = static_cast<uint32_t>(t.imm >> 32); \
    bound = static_cast<uint32_t>(t.imm);      \
    cost = static_cast<uint32_t>(t.b);         \
    return true;                               \
  }
    TG_I32_CMPS(X)
#undef X
    return false;
  }
  // Adds the slot the back-edge writes (the index) and those it reads (a step or bound slot).
  void slots(std::vector<int32_t>& written, std::vector<int32_t>& read) const {
    written.push_back(index);
    if (step_slot >= 0)
      read.push_back(step_slot);
    if (bound_slot >= 0)
      read.push_back(bound_slot);
  }
};

// The form of sigma function `op` (x_i32_xrot2 ...) that adds a slot to its result, or 0; the
// form that adds two slots is the handler after it.
uint16_t xrot_add(uint16_t op) {
  switch (op) {
#define X(rot)      \
  case x_i32_##rot: \
    return x_i32_##rot##_add;
    TG_XROTS(X)
#undef X
    default:
      return 0;
  }
}

// The form of forward branch `op` (an i32 compare of two slots) that then reads a byte, or 0.
uint16_t branch_load8(uint16_t op) {
  switch (op) {
#define X(name, get, rel) \
  case x_br_##name:       \
    return x_br_##name##_load8;
    TG_I32_CMPS(X)
#undef X
    default:
      return 0;
  }
}

// The form of i32 compare-with-constant-and-branch `op` that first reads its operand, a byte
// (i32.load8_u), from the sum of two slots (ld8r) or a slot plus a constant (ld8k); or 0.
uint16_t load8_branch(uint16_t op, bool two_slots) {
  switch (op) {
#define X(name, get, rel) \
  case x_br_##name##_imm: \
    return two_slots ? x_br_##name##_imm_ld8r : x_br_##name##_imm_ld8k;
    TG_I32_CMPS(X)
#undef X
    default:
      return 0;
  }
}

// Whether `op` only computes fp[d] from slots and maybe reads memory (f64 arithmetic and loads):
// an f64 load may move past it.
bool f64_pure_or_load(uint16_t op) {
  switch (op) {
    case static_cast<uint16_t>(Op::f64_load):
    case static_cast<uint16_t>(Op::f64_add):
    case static_cast<uint16_t>(Op::f64_sub):
    case static_cast<uint16_t>(Op::f64_mul):
    case static_cast<uint16_t>(Op::f64_div):
    case static_cast<uint16_t>(Op::f64_sqrt):
    case x_f64_add_ld:
    case x_f64_sub_ld:
    case x_f64_mul_ld:
    case x_f64_load_k:
    case x_f64_add_mul_l:
    case x_f64_add_mul_r:
    case x_f64_sub_mul_l:
    case x_f64_sub_mul_r:
    case x_f64_mul_mul_l:
    case x_f64_mul_mul_r:
    case x_f64_div_rk:
    case x_f64_sub_rk:
    case x_f64_add_imm:
    case x_f64_sub_imm:
    case x_f64_mul_imm:
      return true;
    default:
      return false;
  }
}

// The i32 form of i64 chain handler `op` (family kk) when the low 32 bits of its result depend
// only on the low 32 bits of its operands (no shift), or 0.
uint16_t narrowed_chain(uint16_t op) {
#define TG_NARROW(o1, o2)    \
  case x_kk_i64_##o1##_##o2: \
    return x_kk_i32_##o1##_##o2;
#define TG_NARROW_ROW(o1) \
  TG_NARROW(o1, add) TG_NARROW(o1, and_) TG_NARROW(o1, or_) TG_NARROW(o1, xor_) TG_NARROW(o1, mul)
  switch (op) {
    TG_NARROW_ROW(add)
    TG_NARROW_ROW(and_)
    TG_NARROW_ROW(or_)
    TG_NARROW_ROW(xor_)
    default:
      return 0;
  }
#undef TG_NARROW_ROW
#undef TG_NARROW
}

// The form of memory copy `op` whose destination is a sum of two slots, or 0.
uint16_t copy_to_sum(uint16_t op) {
  switch (op) {
#define X(copy, bytes) \
  case copy:           \
    return copy##_to_sum;
    TG_MEM_COPIES(X)
#undef X
    default:
      return 0;
  }
}

// Whether the compare-with-constant branch `op` is taken for fp[a] = v and constant k: 1 or 0, or
// -1 when `op` is not such a branch.
int taken_on_constant(uint16_t op, uint64_t v, uint64_t k) {
  switch (op) {
#define X(name, get, rel) \
  case x_br_##name##_imm: \
    return get(v) rel get(k) ? 1 : 0;
    TG_INT_CMPS(X)
#undef X
    default:
      return -1;
  }
}

// How far the i32 loop tail `op` (`i += k; if (i != n)` or `i < n`, unsigned, n a constant or a
// slot) steps its index, or 0 when `op` is not such a tail; `const_bound` says which form it is.
int64_t index_step(uint16_t op, const Ins& tail, bool& const_bound) {
  const_bound = op == x_incp_i32_ne_imm || op == x_incp_i32_lt_u_imm;
  if (const_bound)
    return static_cast<uint32_t>(tail.imm >> 32);
  if (op == x_incp_i32_ne || op == x_incp_i32_lt_u)
    return static_cast<int32_t>(tail.imm >> 32);
  return 0;
}

// The copy-loop form of memory copy `op` (see TG_COPY_LOOP), the bytes it copies and whether its
// destination is a sum of two slots, or 0.
uint16_t copy_loop(uint16_t op, uint32_t& bytes, bool& to_sum) {
  switch (op) {
#define X(copy, n)      \
  case copy:            \
    bytes = n;          \
    to_sum = false;     \
    return copy##_loop; \
  case copy##_to_sum:   \
    bytes = n;          \
    to_sum = true;      \
    return copy##_to_sum_loop;
    TG_MEM_COPIES(X)
#undef X
    default:
      return 0;
  }
}

// The chained form of integer operation `op2` on the result of `last`, the handler of the
// operation just before it, with the constants the two take (families rr, rk, kk), or 0.
uint16_t chain_binop(bool first_const, bool second_const, uint16_t last, Op op2) {
#define TG_FIRST_CONST_rr false
#define TG_FIRST_CONST_rk false
#define TG_FIRST_CONST_kk true
#define TG_SECOND_CONST_rr false
#define TG_SECOND_CONST_rk true
#define TG_SECOND_CONST_kk true
#define X(fam, w, o1, o2)                                                                      \
  if (TG_FIRST_CONST_##fam == first_const && TG_SECOND_CONST_##fam == second_const &&          \
      op2 == Op::w##_##o2 &&                                                                   \
      last == (first_const ? imm_variant(Op::w##_##o1) : static_cast<uint16_t>(Op::w##_##o1))) \
    return x_##fam##_##w##_##o1##_##o2;
  TG_CHAIN_BINOPS(X)
#undef X
#undef TG_FIRST_CONST_rr
#undef TG_FIRST_CONST_rk
#undef TG_FIRST_CONST_kk
#undef TG_SECOND_CONST_rr
#undef TG_SECOND_CONST_rk
#undef TG_SECOND_CONST_kk
  return 0;
}

// The form of handler `op` that a copy before it joins (TG_COPY_PREFIXED), or 0; `in_imm` tells
// whether the copy's source goes to imm's high half (class BI) rather than to x (BX).
uint16_t copy_prefixed(uint16_t op, bool& in_imm) {
  switch (op) {
#define TG_IN_IMM_BX false
#define TG_IN_IMM_BI true
#define X(base, label, cls)   \
  case base:                  \
    in_imm = TG_IN_IMM_##cls; \
    return cp_##base;
    TG_COPY_PREFIXED(X)
#undef X
#undef TG_IN_IMM_BX
#undef TG_IN_IMM_BI
    default:
      return 0;
  }
}

// copy_prefixed the other way: the handler `op` (a cp_* form) runs after its copy, or 0; the copy
// is fp[to] = fp[from].
uint16_t copy_prefix_base(uint16_t op, const Ins& in, int32_t& to, int32_t& from) {
  switch (op) {
#define TG_SOURCE_BX static_cast<int32_t>(in.x)
#define TG_SOURCE_BI static_cast<int32_t>(in.imm >> 32)
#define X(base, label, cls) \
  case cp_##base:           \
    to = in.b;              \
    from = TG_SOURCE_##cls; \
    return base;
    TG_COPY_PREFIXED(X)
#undef X
#undef TG_SOURCE_BX
#undef TG_SOURCE_BI
    default:
      return 0;
  }
}

// The register-form back-edge compare `b rel' a` that equals `a rel b`, or 0.
uint16_t swapped_brp(uint16_t brp) {
  switch (brp) {
#define TG_SWAP(w, from, to) \
  case x_brp_##w##_##from:   \
    return x_brp_##w##_##to;
#define TG_SWAPS(w)      \
  TG_SWAP(w, eq, eq)     \
  TG_SWAP(w, ne, ne)     \
  TG_SWAP(w, lt_s, gt_s) \
  TG_SWAP(w, lt_u, gt_u) \
  TG_SWAP(w, gt_s, lt_s) \
  TG_SWAP(w, gt_u, lt_u) \
  TG_SWAP(w, le_s, ge_s) TG_SWAP(w, le_u, ge_u) TG_SWAP(w, ge_s, le_s) TG_SWAP(w, ge_u, le_u)
    TG_SWAPS(i32)
    TG_SWAPS(i64)
#undef TG_SWAPS
#undef TG_SWAP
    default:
      return 0;
  }
}

// The form of forward branch `br` (a compare with an i32 constant) that first does an i32 add of
// a constant, or 0.
uint16_t add_branch_variant(uint16_t br) {
  switch (br) {
#define X(name, get, rel) \
  case x_br_##name##_imm: \
    return x_addbr_##name##_imm;
    TG_I32_CMPS(X)
#undef X
    default:
      return 0;
  }
}

// The compare-with-constant branch of byte-read-and-branch `op` (x_br_*_imm_ld8r or _ld8k), or 0:
// load8_branch the other way.
uint16_t load8_branch_compare(uint16_t op, bool& two_slots) {
  for (const bool two : {true, false}) {
#define X(name, get, rel)                                      \
  if (op != 0 && load8_branch(x_br_##name##_imm, two) == op) { \
    two_slots = two;                                           \
    return x_br_##name##_imm;                                  \
  }
    TG_I32_CMPS(X)
#undef X
  }
  return 0;
}

// The compare-with-constant branch an add-and-branch (x_addbr_*_imm) makes on its sum, or 0:
// add_branch_variant the other way.
uint16_t addbr_compare(uint16_t op) {
#define X(name, get, rel)                                     \
  if (op != 0 && add_branch_variant(x_br_##name##_imm) == op) \
    return x_br_##name##_imm;
  TG_I32_CMPS(X)
#undef X
  return 0;
}

// An add by a constant `is_inc` (imm) or of two slots, in the form a loop tail can take: the
// increment (as int32) or the other slot, in `hi`. False if it does not fit.
bool tail_operand(const Ins& add, bool is_inc, bool wide, uint64_t& hi) {
  if (is_inc) {
    if (add.a != add.d)
      return false;
    if (wide &&
        static_cast<int64_t>(static_cast<int32_t>(add.imm)) != static_cast<int64_t>(add.imm))
      return false;
    hi = static_cast<uint32_t>(add.imm);
    return true;
  }
  if (add.a == add.d)
    hi = static_cast<uint32_t>(add.b);
  else if (add.b == add.d)
    hi = static_cast<uint32_t>(add.a);
  else
    return false;
  return true;
}

// The load-operand form of a binary operation, and the load it absorbs.
uint16_t load_binop(Op op, Op& load) {
  switch (op) {
#define X(name, ld, get, T, expr) \
  case Op::name:                  \
    load = Op::ld;                \
    return x_##name##_ld;
    TG_LOAD_BINOPS(X)
#undef X
    default:
      return 0;
  }
}

// The form of a binary operation whose second operand is shifted by a constant, for the constant
// form of the shift `sh`, or 0.
uint16_t shift_binop(Op op, uint16_t sh) {
  // A widening (i64.extend_i32) has no constant; every other source op is a constant form.
  const auto source = [](Op o) {
    return o == Op::i64_extend_i32_u || o == Op::i64_extend_i32_s ? static_cast<uint16_t>(o)
                                                                  : imm_variant(o);
  };
#define X(bin, shift, get, shexpr, expr)        \
  if (op == Op::bin && sh == source(Op::shift)) \
    return x_##bin##_##shift;
  TG_SHIFT_BINOPS(X)
#undef X
  return 0;
}

bool compares_constant(uint16_t br) {
  switch (br) {
#define X(name, get, rel) case x_br_##name##_imm:
    TG_INT_CMPS(X)
#undef X
    return true;
    default:
      return false;
  }
}

bool commutative(Op op) {
  switch (op) {
    case Op::i32_add:
    case Op::i32_mul:
    case Op::i32_and_:
    case Op::i32_or_:
    case Op::i32_xor_:
    case Op::i32_eq:
    case Op::i32_ne:
    case Op::i64_add:
    case Op::i64_mul:
    case Op::i64_and_:
    case Op::i64_or_:
    case Op::i64_xor_:
    case Op::i64_eq:
    case Op::i64_ne:
      return true;
    default:
      return false;
  }
}

// True when `op` gives the same bits with its operands swapped, one of them being the constant
// `k`: integer operations always; float add and mul unless k is a NaN (whose payload could then
// be the one propagated instead of the other operand's).
bool commutative_with(Op op, uint64_t k) {
  switch (op) {
    case Op::f32_add:
    case Op::f32_mul:
      return !std::isnan(std::bit_cast<float>(static_cast<uint32_t>(k)));
    case Op::f64_add:
    case Op::f64_mul:
      return !std::isnan(std::bit_cast<double>(k));
    default:
      return commutative(op);
  }
}

// How the translator treats each opcodes.def row, from its immediate kind and signature.
enum class Form : uint8_t { manual, unary, binary, load, store, stack };
struct OpInfo {
  Form form = Form::manual;
  uint8_t pops = 0;    ///< slots (stack form)
  uint8_t pushes = 0;  ///< slots (stack form)
};

constexpr OpInfo op_info(ir::ImmKind imm, const char* sig) {
  if (sig[0] == '*')
    return {};
  uint32_t pops = 0, pushes = 0, args = 0;
  bool v128 = false, results = false;
  for (const char* c = sig; *c != 0; ++c) {
    if (*c == ':') {
      results = true;
      continue;
    }
    const uint32_t n = *c == 'V' ? 2 : 1;
    v128 |= *c == 'V';
    (results ? pushes : pops) += n;
    args += results ? 0 : 1;
  }
  OpInfo info{Form::stack, static_cast<uint8_t>(pops), static_cast<uint8_t>(pushes)};
  if (v128)
    return info;
  if (imm == ir::ImmKind::memarg)
    info.form = pushes == 1 ? Form::load : Form::store;
  else if (imm == ir::ImmKind::none && pushes == 1 && args == 1)
    info.form = Form::unary;
  else if (imm == ir::ImmKind::none && pushes == 1 && args == 2)
    info.form = Form::binary;
  return info;
}

constexpr OpInfo kOpInfo[] = {
#define TG_OP(name, prefix, code, imm, sig, fuel) op_info(ir::ImmKind::imm, sig),
#include "runtime/opcodes.def"
#undef TG_OP
};

enum class VKind : uint8_t { temp, local, constant, add_const, add_slots };
// One slot of the virtual operand stack: a value in its own stack slot, still in a local's
// slot, a constant not yet written anywhere, or (add_const) an i32 sum `slot + value` not yet
// computed, whose slot is a local or the entry's own stack slot; or (add_slots) the i32 sum of
// `slot` (likewise) and the local whose slot is `value`.
struct VEntry {
  VKind kind;
  int32_t slot;
  uint64_t value;
};

class Translator {
 public:
  Translator(const Module& m, const ir::FuncCode& fc, bool metered, const void* const* handlers)
      : m_(m), fc_(fc), metered_(metered), h_(handlers) {}

  std::unique_ptr<Compiled> translate();

 private:
  int32_t home(size_t i) const { return static_cast<int32_t>(fc_.local_slots + i); }

  size_t emit(uint16_t op,
              int32_t d = 0,
              int32_t a = 0,
              int32_t b = 0,
              uint32_t x = 0,
              uint64_t imm = 0) {
    out_->code.push_back(Ins{h_[op], d, a, b, x, imm});
    ops_.push_back(op);
    fusable_ = false;
    return out_->code.size() - 1;
  }
  // An instruction whose only effect is writing fp[d]: a following local.set may retarget it.
  void emit_result(uint16_t op,
                   int32_t d,
                   int32_t a = 0,
                   int32_t b = 0,
                   uint32_t x = 0,
                   uint64_t imm = 0) {
    emit(op, d, a, b, x, imm);
    fusable_ = true;
  }

  // Consecutive copies (a register rotation, say) share one dispatch, within one block.
  void emit_copy(int32_t d, int32_t a) {
    if (!ops_.empty() && ops_.back() == x_copy && out_->code.size() > barrier_) {
      Ins& i = out_->code.back();
      const size_t size = out_->code.size();
      if (size >= 2 && size - 2 >= barrier_ && ops_[size - 2] == x_copy2) {
        // Two pairs: one x_copy4 when the eight slots fit 16 bits each.
        const Ins& p = out_->code[size - 2];
        const int32_t slots[] = {p.d, p.a, p.b, static_cast<int32_t>(p.x), i.d, i.a, d, a};
        if (std::all_of(std::begin(slots), std::end(slots),
                        [](int32_t v) { return v >= 0 && v <= 0xFFFF; })) {
          const auto pack = [](int32_t lo, int32_t hi) {
            return static_cast<int32_t>(static_cast<uint32_t>(lo) |
                                        (static_cast<uint32_t>(hi) << 16));
          };
          out_->code[size - 2] = Ins{h_[x_copy4],
                                     pack(p.d, p.a),
                                     pack(p.b, static_cast<int32_t>(p.x)),
                                     pack(i.d, i.a),
                                     static_cast<uint32_t>(pack(d, a)),
                                     0};
          ops_[size - 2] = x_copy4;
          out_->code.pop_back();
          ops_.pop_back();
          return;
        }
      }
      i.h = h_[x_copy2];
      i.b = d;
      i.x = static_cast<uint32_t>(a);
      ops_.back() = x_copy2;
      return;
    }
    emit(x_copy, d, a);
  }
  void materialise(size_t i) {
    VEntry& e = vs_[i];
    if (e.kind == VKind::local)
      emit_copy(home(i), e.slot);
    else if (e.kind == VKind::constant)
      emit(x_const, home(i), 0, 0, 0, e.value);
    else if (e.kind == VKind::add_const)
      emit_add_const(home(i), e);
    else if (e.kind == VKind::add_slots)
      emit(static_cast<uint16_t>(Op::i32_add), home(i), e.slot, static_cast<int32_t>(e.value));
    else
      return;
    e = VEntry{VKind::temp, home(i), 0};
  }
  void materialise_all() {
    for (size_t i = 0; i < vs_.size(); ++i)
      materialise(i);
  }
  void emit_add_const(int32_t dst, const VEntry& e) {
    emit(imm_variant(Op::i32_add), dst, e.slot, 0, 0, e.value);
  }
  // The slot holding entry i (constants and sums are written to their stack slot first).
  int32_t operand(size_t i) {
    if (vs_[i].kind != VKind::temp && vs_[i].kind != VKind::local)
      materialise(i);
    return vs_[i].slot;
  }
  int32_t pop_operand() {
    const int32_t s = operand(vs_.size() - 1);
    vs_.pop_back();
    return s;
  }
  void push_temp() { vs_.push_back(VEntry{VKind::temp, home(vs_.size()), 0}); }
  // The last instruction, now `fused`, takes over the binary operation at stack height n: it
  // consumes the top two entries and leaves its result in a fresh temporary, as the op would.
  void become_fused_binary(Ins& last, uint16_t fused, size_t n) {
    last.d = home(n - 2);
    last.h = h_[fused];
    ops_.back() = fused;
    vs_.resize(n - 2);
    push_temp();
    fusable_ = true;
  }
  // The result of the last emit_result lands in the slot that a `push_temp` now gives.
  bool last_wrote(int32_t slot) const { return fusable_ && out_->code.back().d == slot; }
  // Which operand (n - 2 or n - 1) of the binary operation at stack height n is the temporary
  // the last instruction wrote: `preferred`, else the other one when `either`; none when it is
  // neither, or when the other operand is not in a slot (a constant or a deferred sum).
  std::optional<size_t> last_result_operand(size_t n, size_t preferred, bool either) const {
    const int32_t d = out_->code.back().d;
    const size_t alternative = preferred == n - 1 ? n - 2 : n - 1;
    const auto wrote = [&](size_t i) { return vs_[i].kind == VKind::temp && vs_[i].slot == d; };
    const size_t at = wrote(preferred) ? preferred : alternative;
    if (!wrote(at) || (at == alternative && !either))
      return std::nullopt;
    const VEntry& o = vs_[at == n - 1 ? n - 2 : n - 1];
    if (o.kind != VKind::local && o.kind != VKind::temp)
      return std::nullopt;
    return at;
  }
  // The slot of the operand beside `at` in a binary operation at stack height n.
  int32_t other_slot(size_t n, size_t at) const { return vs_[at == n - 1 ? n - 2 : n - 1].slot; }

  // Branch from instruction `at` to IR pc `target`, where the stack will be `height` slots.
  // A back-edge does its loop header's fuel_poll itself and lands after it, saving a dispatch.
  void link(size_t at, uint32_t target, size_t height) {
    bool skip = false;
    if (target < pc_ && fc_.code[target].op == Op::fuel_poll) {
      if (const uint16_t p = poll_variant(ops_[at])) {
        // Where the loop's cost goes: fields the branch leaves free (see the handlers).
        Ins& i = out_->code[at];
        const uint32_t cost = fc_.code[target].a;
        if (p == x_jmp_poll)
          i.x = cost;
        else if (compares_constant(ops_[at]))
          i.b = static_cast<int32_t>(cost);
        else
          i.imm = cost;
        i.h = h_[p];
        ops_[at] = p;
        skip = true;
        // `i += k` (or `i += j`) right before, on the slot the branch tests, in the same block:
        // one instruction. What the low half of imm held (a cost or an i32 constant) stays there.
        if (at > barrier_ && at + 1 == out_->code.size()) {
          const uint16_t prev = ops_[at - 1];
          const bool inc32 = prev == imm_variant(Op::i32_add);
          if (p == x_jmp_poll && (inc32 || prev == imm_variant(Op::i64_add))) {
            // `x = y + k; continue`: one instruction.
            const Ins add = out_->code[at - 1];
            Ins merged = i;
            merged.h = h_[inc32 ? x_add32_jmp_poll : x_add64_jmp_poll];
            merged.a = add.a;
            merged.b = add.d;
            merged.imm = add.imm;
            out_->code.pop_back();
            ops_.pop_back();
            --at;
            out_->code[at] = merged;
            ops_[at] = inc32 ? x_add32_jmp_poll : x_add64_jmp_poll;
          } else if (tail_variant(p, prev) != 0) {
            const Ins add = out_->code[at - 1];
            const bool is_inc =
                prev == imm_variant(Op::i32_add) || prev == imm_variant(Op::i64_add);
            const bool wide =
                prev == imm_variant(Op::i64_add) || prev == static_cast<uint16_t>(Op::i64_add);
            // `n != ++i` tests the added slot second: the mirrored compare tests it first.
            const uint16_t swapped = add.d != i.a && add.d == i.b ? swapped_brp(p) : 0;
            const uint16_t tail = tail_variant(swapped != 0 ? swapped : p, prev);
            uint64_t hi = 0;
            if (tail != 0 && (add.d == i.a || swapped != 0) &&
                tail_operand(add, is_inc, wide, hi)) {
              Ins merged = i;
              if (swapped != 0)
                std::swap(merged.a, merged.b);
              merged.h = h_[tail];
              merged.imm = (i.imm & 0xFFFFFFFFu) | (hi << 32);
              out_->code.pop_back();
              ops_.pop_back();
              --at;
              out_->code[at] = merged;
              ops_[at] = tail;
            }
          }
        }
      }
    } else if (const uint16_t ab = add_branch_variant(ops_[at])) {
      // `v = x + k; if (v rel c)` forward: one instruction writing v (to b) as well.
      if (at > barrier_ && at + 1 == out_->code.size() &&
          ops_[at - 1] == imm_variant(Op::i32_add) && out_->code[at - 1].d == out_->code[at].a) {
        const Ins add = out_->code[at - 1];
        Ins merged = out_->code[at];
        merged.h = h_[ab];
        merged.a = add.a;
        merged.b = add.d;
        merged.imm = (merged.imm & 0xFFFFFFFFu) |
                     (static_cast<uint64_t>(static_cast<uint32_t>(add.imm)) << 32);
        out_->code.pop_back();
        ops_.pop_back();
        --at;
        out_->code[at] = merged;
        ops_[at] = ab;
      }
    }
    pair_increments(at);
    fixups_.push_back({static_cast<uint32_t>(at), target, false, skip});
    note_target(target, height);
  }
  // The i32 adds of a constant right before branch `at` (the last instruction), in its block, go
  // two to an instruction, in their order; the branch moves down with them.
  void pair_increments(size_t& at) {
    const uint16_t inc = imm_variant(Op::i32_add);
    size_t first = at;
    while (first > barrier_ && ops_[first - 1] == inc)
      --first;
    if (at - first < 2)
      return;
    size_t to = first;
    for (size_t i = first; i < at; i += 2) {
      if (i + 1 == at) {
        out_->code[to] = out_->code[i];
        ops_[to] = ops_[i];
      } else {
        const Ins& p = out_->code[i];
        const Ins& q = out_->code[i + 1];
        out_->code[to] = Ins{h_[x_add2_i32],
                             p.d,
                             p.a,
                             q.d,
                             static_cast<uint32_t>(q.a),
                             (p.imm & 0xFFFFFFFFu) | (q.imm << 32)};
        ops_[to] = x_add2_i32;
      }
      ++to;
    }
    out_->code[to] = out_->code[at];
    ops_[to] = ops_[at];
    out_->code.resize(to + 1);
    ops_.resize(to + 1);
    at = to;
  }
  void note_target(uint32_t target, size_t height) {
    if (target < pending_.size() && pending_[target] < 0)
      pending_[target] = static_cast<int64_t>(height);
  }
  // A branch on the top operand; the target's stack is `drop` slots lower (nothing to move).
  void cond_branch(bool if_nonzero, uint32_t target, uint32_t drop = 0);
  void stack_form(const ir::Instr& in, uint32_t pops, uint32_t pushes) {
    materialise_all();
    emit(static_cast<uint16_t>(in.op), home(vs_.size()), 0, 0, in.a, in.b);
    vs_.resize(vs_.size() - pops);
    for (uint32_t i = 0; i < pushes; ++i)
      push_temp();
  }
  void set_local(uint32_t slot, bool tee);
  bool fuse_load(Op op, size_t n);
  bool fuse_shift(Op op, size_t n);
  bool fuse_add3(Op op, size_t n);
  bool fuse_chain(Op op, size_t n);
  bool fuse_chain_const(Op op, uint64_t k, size_t n);
  bool fuse_mul(Op op, size_t n);
  bool fuse_mask(uint64_t mask, size_t n);
  void fuse_rotations(bool other_is_temp);
  bool fuse_result_store(const ir::Instr& in, size_t n);
  bool fuse_madd_rmw(const ir::Instr& in, size_t n);
  bool fuse_store(const ir::Instr& in, size_t n);
  void find_copy_loops();
  void find_byte_scans();
  void translate_one(const ir::Instr& in);
  std::vector<uint32_t> compact();

  struct Fixup {
    uint32_t at;      ///< instruction index, or table entry index
    uint32_t target;  ///< IR pc
    bool table;
    bool skip;  ///< land after the target's first instruction
  };

  const Module& m_;
  const ir::FuncCode& fc_;
  const bool metered_;
  const void* const* h_;
  std::unique_ptr<Compiled> out_;
  std::vector<uint16_t> ops_;
  std::vector<VEntry> vs_;
  std::vector<int64_t> pc_map_;   ///< IR pc -> instruction index, -1 if none
  std::vector<int64_t> pending_;  ///< IR pc -> stack height a forward branch brings, -1 if none
  std::vector<Fixup> fixups_;
  uint32_t pc_ = 0;              ///< IR pc being translated
  size_t last_cond_ = SIZE_MAX;  ///< the last conditional branch emitted
  size_t barrier_ = 0;           ///< first instruction of the current block (a branch target)
  bool live_ = true;
  bool fusable_ = false;
};

void Translator::cond_branch(bool if_nonzero, uint32_t target, uint32_t drop) {
  const int32_t c = pop_operand();
  materialise_all();
  const size_t height = vs_.size() - drop;
  if (last_wrote(c)) {
    uint16_t last = ops_.back();
    // eqz feeding a branch is a branch on the opposite condition.
    if (last == static_cast<uint16_t>(Op::i32_eqz)) {
      Ins& i = out_->code.back();
      const uint16_t op = static_cast<uint16_t>(if_nonzero ? Op::br_unless : Op::br_if);
      i.h = h_[op];
      ops_.back() = op;
      fusable_ = false;
      link(out_->code.size() - 1, target, height);
      last_cond_ = out_->code.size() - 1;
      return;
    }
    if (!if_nonzero)
      last = negated(last);
    if (const uint16_t br = branch_variant(last)) {
      Ins& i = out_->code.back();
      i.h = h_[br];
      ops_.back() = br;
      fusable_ = false;
      link(out_->code.size() - 1, target, height);
      last_cond_ = out_->code.size() - 1;
      return;
    }
  }
  link(emit(static_cast<uint16_t>(if_nonzero ? Op::br_if : Op::br_unless), 0, c), target, height);
  last_cond_ = out_->code.size() - 1;
}

// Bytes a plain or constant-offset load reads (0 for anything else), and a store writes.
uint32_t load_width(uint16_t op) {
  switch (op) {
#define X(name, T, conv)                \
  case static_cast<uint16_t>(Op::name): \
  case x_##name##_k:                    \
    return sizeof(T);
    TG_LOADS(X)
#undef X
    default:
      return 0;
  }
}
uint32_t store_width(Op op) {
  switch (op) {
#define X(name, T) \
  case Op::name:   \
    return sizeof(T);
    TG_STORES(X)
#undef X
    default:
      return 0;
  }
}

// A store of the value the last instruction loaded, of the same width, becomes one memory-to-
// memory copy: d = source slot, b = its constant, imm >> 32 = its offset; a = destination slot,
// imm & 0xFFFFFFFF = its constant, x = its offset. Bounds are checked load first, as before.
bool Translator::fuse_store(const ir::Instr& in, size_t n) {
  const VEntry& v = vs_[n - 1];
  const VEntry& addr = vs_[n - 2];
  const uint32_t width = store_width(in.op);
  if (!fusable_ || v.kind != VKind::temp || out_->code.back().d != v.slot ||
      load_width(ops_.back()) != width)
    return false;
  if (addr.kind != VKind::local && addr.kind != VKind::temp && addr.kind != VKind::add_const)
    return false;
  Ins& li = out_->code.back();
  const uint16_t fused = width == 1   ? x_mem_copy1
                         : width == 2 ? x_mem_copy2
                         : width == 4 ? x_mem_copy4
                                      : x_mem_copy8;
  const uint32_t dst_k = addr.kind == VKind::add_const ? static_cast<uint32_t>(addr.value) : 0;
  const uint32_t src_k = static_cast<uint32_t>(li.imm);
  const uint32_t src_off = li.x;
  li.d = li.a;
  li.b = static_cast<int32_t>(src_k);
  li.a = addr.slot;
  li.x = in.a;
  li.imm = uint64_t{dst_k} | (uint64_t{src_off} << 32);
  li.h = h_[fused];
  ops_.back() = fused;
  fusable_ = false;
  vs_.resize(n - 2);
  // A byte copy continuing the previous one (same slots and offsets, both constants one further
  // along), as an unrolled byte loop makes: one instruction for up to 4 bytes.
  const size_t at = out_->code.size() - 1;
  if (fused == x_mem_copy1 && at > barrier_) {
    const uint16_t prev_op = ops_[at - 1];
    const uint32_t count = prev_op == x_mem_copy1     ? 1
                           : prev_op == x_mem_copy1x2 ? 2
                           : prev_op == x_mem_copy1x3 ? 3
                                                      : 0;
    const Ins& prev = out_->code[at - 1];
    const Ins& cur = out_->code[at];
    if (count != 0 && prev.d == cur.d && prev.a == cur.a && prev.x == cur.x &&
        (prev.imm >> 32) == (cur.imm >> 32) &&
        static_cast<uint32_t>(prev.b) + count == static_cast<uint32_t>(cur.b) &&
        static_cast<uint32_t>(prev.imm) + count == static_cast<uint32_t>(cur.imm)) {
      const uint16_t merged = count == 1   ? x_mem_copy1x2
                              : count == 2 ? x_mem_copy1x3
                                           : x_mem_copy1x4;
      out_->code.pop_back();
      ops_.pop_back();
      out_->code.back().h = h_[merged];
      ops_.back() = merged;
    }
  }
  return true;
}

// `m[p] = m[p] + y * m[q]` (f64): a plain load, a load-operand multiply, and an add stored back
// where the first load read, as one instruction. Only when the multiply does not read what the
// load wrote, and the two temporaries die here (they are above the stack once the store pops).
bool Translator::fuse_madd_rmw(const ir::Instr& in, size_t n) {
  const VEntry& v = vs_[n - 1];
  const VEntry& addr = vs_[n - 2];
  const size_t size = out_->code.size();
  if (in.op != Op::f64_store || !fusable_ || size < 3 || size - 3 < barrier_ ||
      v.kind != VKind::temp || out_->code.back().d != v.slot ||
      (addr.kind != VKind::local && addr.kind != VKind::temp) ||
      ops_[size - 1] != static_cast<uint16_t>(Op::f64_add) || ops_[size - 2] != x_f64_mul_ld ||
      ops_[size - 3] != static_cast<uint16_t>(Op::f64_load))
    return false;
  const Ins& ld = out_->code[size - 3];
  const Ins& mul = out_->code[size - 2];
  const Ins& add = out_->code[size - 1];
  const int32_t dead = home(n - 2);
  if (add.a != ld.d || add.b != mul.d || ld.d < dead || mul.d < dead || ld.d == mul.d ||
      mul.a == ld.d || mul.b == ld.d || ld.a == ld.d || ld.a == mul.d || ld.a != addr.slot ||
      ld.x != in.a)
    return false;
  const Ins fused{h_[x_f64_madd_rmw],
                  ld.a,
                  mul.a,
                  mul.b,
                  ld.x,
                  static_cast<uint32_t>(mul.imm) | (uint64_t{mul.x} << 32)};
  out_->code.resize(size - 2);
  ops_.resize(size - 2);
  out_->code.back() = fused;
  ops_.back() = x_f64_madd_rmw;
  fusable_ = false;
  vs_.resize(n - 2);
  return true;
}

// A binary operation on the value the last instruction loaded takes over that load.
bool Translator::fuse_load(Op op, size_t n) {
  Op load{};
  const uint16_t fused = load_binop(op, load);
  if (fused == 0 || !fusable_)
    return false;
  const uint16_t last = ops_.back();
  if (last != static_cast<uint16_t>(load) && last != mem_variant(load, MemForm::k))
    return false;
  Ins& li = out_->code.back();
  size_t other;
  if (vs_[n - 1].kind == VKind::temp && li.d == vs_[n - 1].slot)
    other = n - 2;
  else if (vs_[n - 2].kind == VKind::temp && li.d == vs_[n - 2].slot && commutative(op))
    other = n - 1;
  else
    return false;
  const VEntry& o = vs_[other];
  if (o.kind != VKind::local && o.kind != VKind::temp)
    return false;
  // The address stays where the load read it: fp[b] + imm, offset x.
  li.b = li.a;
  li.a = o.slot;
  become_fused_binary(li, fused, n);
  return true;
}

// A store of what the last binary operation computed makes it write memory instead of a slot:
// d becomes the address slot, imm its constant, x the offset. When that operation took its operand
// from a load at the very address stored to, it is one read-modify-write.
bool Translator::fuse_result_store(const ir::Instr& in, size_t n) {
  const VEntry& v = vs_[n - 1];
  const VEntry& addr = vs_[n - 2];
  if (!fusable_ || v.kind != VKind::temp || out_->code.back().d != v.slot)
    return false;
  if (addr.kind != VKind::local && addr.kind != VKind::temp && addr.kind != VKind::add_const)
    return false;
  Ins& li = out_->code.back();
  const uint64_t k = addr.kind == VKind::add_const ? static_cast<uint32_t>(addr.value) : 0;
  if (const uint16_t rmw = rmw_variant(ops_.back(), in.op)) {
    if (li.b != addr.slot || li.imm != k || li.x != in.a)
      return false;
    li.h = h_[rmw];
    ops_.back() = rmw;
  } else if (const uint16_t st = store_binop(ops_.back(), in.op)) {
    li.d = addr.slot;
    li.imm = k;
    li.x = in.a;
    li.h = h_[st];
    ops_.back() = st;
  } else {
    return false;
  }
  fusable_ = false;
  vs_.resize(n - 2);
  return true;
}

// An add, sub, and, or or xor on the result of such an operation just emitted (same width, on
// slots) takes it over: the other operand goes to x.
bool Translator::fuse_chain(Op op, size_t n) {
  if (!fusable_)
    return false;
  const uint16_t fused = chain_binop(false, false, ops_.back(), op);
  if (fused == 0)
    return false;
  const std::optional<size_t> at = last_result_operand(n, n - 2, commutative(op));
  if (!at)
    return false;
  Ins& li = out_->code.back();
  li.x = static_cast<uint32_t>(other_slot(n, *at));
  become_fused_binary(li, fused, n);
  return true;
}

// Likewise for an operation with a constant (already popped: the first operand is at n - 2):
// rk after an operation on two slots, the constant to imm; kk after one with a constant, this
// constant to x when it fits there zero-extended.
bool Translator::fuse_chain_const(Op op, uint64_t k, size_t n) {
  if (!fusable_ || vs_[n - 2].kind != VKind::temp || !last_wrote(vs_[n - 2].slot))
    return false;
  const bool wide = op >= Op::i64_add && op <= Op::i64_rotr;
  const uint64_t value = wide ? k : static_cast<uint32_t>(k);
  Ins& li = out_->code.back();
  uint16_t fused = chain_binop(false, true, ops_.back(), op);
  if (fused != 0) {
    li.imm = value;
  } else if (value <= UINT32_MAX && (fused = chain_binop(true, true, ops_.back(), op)) != 0) {
    li.x = static_cast<uint32_t>(value);
  } else {
    return false;
  }
  li.h = h_[fused];
  li.d = home(n - 2);
  ops_.back() = fused;
  vs_.pop_back();
  push_temp();
  fusable_ = true;
  return true;
}

// An add of what the last add (register form, same width) computed: one three-operand add; of
// what a three-operand add computed: a four-operand one.
bool Translator::fuse_add3(Op op, size_t n) {
  // A sigma function just computed (into a temporary) that this add takes: +1 or +2 terms.
  const uint16_t rot_add = op == Op::i32_add && fusable_ ? xrot_add(ops_.back()) : 0;
  if (op == Op::i32_add) {
    // Or of a sum of two slots not computed yet.
    for (const size_t s : {n - 2, n - 1}) {
      const VEntry& sum = vs_[s];
      const VEntry& o = vs_[s == n - 2 ? n - 1 : n - 2];
      if (sum.kind == VKind::add_slots && (o.kind == VKind::local || o.kind == VKind::temp)) {
        const int32_t a = sum.slot, b = static_cast<int32_t>(sum.value);
        const uint32_t x = static_cast<uint32_t>(o.slot);
        if (rot_add != 0 && o.kind == VKind::temp && last_wrote(o.slot)) {
          Ins& rot = out_->code.back();
          rot.b = a;
          rot.x = static_cast<uint32_t>(b);
          become_fused_binary(rot, static_cast<uint16_t>(rot_add + 1), n);
          return true;
        }
        vs_.resize(n - 2);
        emit_result(x_i32_add3, home(n - 2), a, b, x);
        push_temp();
        return true;
      }
    }
  }
  if (rot_add != 0) {
    if (const std::optional<size_t> at = last_result_operand(n, n - 1, true)) {
      Ins& rot = out_->code.back();
      rot.x = static_cast<uint32_t>(other_slot(n, *at));
      become_fused_binary(rot, rot_add, n);
      return true;
    }
  }
  if (!fusable_ || (op != Op::i32_add && op != Op::i64_add))
    return false;
  // A sum of three then takes a fourth term (into imm).
  const uint16_t add3 = op == Op::i32_add ? x_i32_add3 : x_i64_add3;
  if (ops_.back() != static_cast<uint16_t>(op) && ops_.back() != add3)
    return false;
  const bool four = ops_.back() == add3;
  const std::optional<size_t> at = last_result_operand(n, n - 1, true);
  if (!at)
    return false;
  Ins& li = out_->code.back();
  const int32_t other = other_slot(n, *at);
  if (four) {
    li.imm = static_cast<uint32_t>(other);
    become_fused_binary(li, op == Op::i32_add ? x_i32_add4 : x_i64_add4, n);
    return true;
  }
  li.x = static_cast<uint32_t>(other);
  become_fused_binary(li, add3, n);
  return true;
}

// An i32 and with constant `mask` (the constant already popped) of `v + k` not yet computed, or
// of the `k << v` just computed: one instruction, k in imm's low half and the mask in its high
// half. Range checks (`(c - '0') & 255`) and the bit tests LLVM lowers switches to make these.
bool Translator::fuse_mask(uint64_t mask, size_t n) {
  const VEntry& e = vs_[n - 2];
  if (e.kind == VKind::add_const) {
    const int32_t slot = e.slot;
    const uint64_t k = static_cast<uint32_t>(e.value);
    vs_.pop_back();
    emit_result(x_i32_add_and_imm, home(n - 2), slot, 0, 0, k | (mask << 32));
    push_temp();
    return true;
  }
  if (e.kind == VKind::temp && last_wrote(e.slot) && ops_.back() == rk_variant(Op::i32_shl)) {
    Ins& li = out_->code.back();
    li.imm = (li.imm & 0xFFFFFFFFu) | (mask << 32);
    li.h = h_[x_i32_shl_rk_and_imm];
    ops_.back() = x_i32_shl_rk_and_imm;
    vs_.pop_back();
    push_temp();
    fusable_ = true;
    return true;
  }
  return false;
}

// A float operation on what the last multiply (register form, same width) computed takes over
// the multiply: fp[a] * fp[b] stays, the other operand goes to x.
bool Translator::fuse_mul(Op op, size_t n) {
  uint16_t left = 0, right = 0, left_k = 0, right_k = 0;
  Op mul{};
  switch (op) {
#define X(name, get, T, expr)                                      \
  case Op::name:                                                   \
    left = x_##name##_mul_l;                                       \
    right = x_##name##_mul_r;                                      \
    left_k = x_##name##_mulk_l;                                    \
    right_k = x_##name##_mulk_r;                                   \
    mul = sizeof(T) == sizeof(double) ? Op::f64_mul : Op::f32_mul; \
    break;
    TG_MUL_BINOPS(X)
#undef X
    default:
      return false;
  }
  // A product by a constant (the multiply's imm form, as `x += v * dt`) fuses alike.
  const bool by_constant = ops_.back() == imm_variant(mul);
  if (!fusable_ || (ops_.back() != static_cast<uint16_t>(mul) && !by_constant))
    return false;
  if (by_constant) {
    left = left_k;
    right = right_k;
  }
  const std::optional<size_t> at = last_result_operand(n, n - 2, true);
  if (!at)
    return false;
  Ins& li = out_->code.back();
  li.x = static_cast<uint32_t>(other_slot(n, *at));
  become_fused_binary(li, *at == n - 2 ? left : right, n);
  return true;
}

// A binary operation on the value the last instruction shifted by a constant takes over the
// shift: fp[a] becomes the other operand, fp[b] the shift's source, imm keeps the count.
bool Translator::fuse_shift(Op op, size_t n) {
  if (!fusable_)
    return false;
  const uint16_t fused = shift_binop(op, ops_.back());
  if (fused == 0)
    return false;
  const std::optional<size_t> at = last_result_operand(n, n - 1, commutative(op));
  if (!at)
    return false;
  Ins& si = out_->code.back();
  const bool other_is_temp = vs_[*at == n - 1 ? n - 2 : n - 1].kind == VKind::temp;
  si.b = si.a;
  si.a = other_slot(n, *at);
  become_fused_binary(si, fused, n);
  fuse_rotations(other_is_temp);
  return true;
}

// The xor of rotations (and a shift) of one value, as SHA-2's sigma functions compute it: a
// rotation, or such an xor, whose result only the xor just emitted reads, merges into it. The
// counts go to imm a byte each; a is the value.
void Translator::fuse_rotations(bool other_is_temp) {
  const size_t at = out_->code.size() - 1;
  const uint16_t op = ops_[at];
  if (!other_is_temp || at <= barrier_ || (op != x_i32_xor__i32_rotl && op != x_i32_xor__i32_shr_u))
    return;
  const Ins& prev = out_->code[at - 1];
  const Ins& cur = out_->code[at];
  const uint16_t prev_op = ops_[at - 1];
  if (prev.d != cur.a || prev.d == cur.b || prev.a != cur.b)
    return;
  const uint64_t k = cur.imm & 31;
  uint16_t merged = 0;
  uint64_t imm = 0;
  if (prev_op == imm_variant(Op::i32_rotl)) {
    imm = (prev.imm & 31) | (k << 8);
    merged = op == x_i32_xor__i32_rotl ? x_i32_xrot2 : x_i32_xrot1_shr;
  } else if (prev_op == x_i32_xrot2) {
    imm = prev.imm | (k << 16);
    merged = op == x_i32_xor__i32_rotl ? x_i32_xrot3 : x_i32_xrot2_shr;
  } else {
    return;
  }
  const Ins fused{h_[merged], cur.d, cur.b, 0, 0, imm};
  out_->code.pop_back();
  ops_.pop_back();
  out_->code.back() = fused;
  ops_.back() = merged;
}

void Translator::set_local(uint32_t slot, bool tee) {
  const int32_t l = static_cast<int32_t>(slot);
  const size_t top = vs_.size() - 1;
  for (size_t i = 0; i < top; ++i) {
    const VEntry& e = vs_[i];
    if ((e.kind != VKind::temp && e.kind != VKind::constant && e.slot == l) ||
        (e.kind == VKind::add_slots && static_cast<int32_t>(e.value) == l))
      materialise(i);
  }
  const VEntry t = vs_[top];
  if (t.kind == VKind::local && t.slot == l) {
  } else if (t.kind == VKind::temp && last_wrote(t.slot)) {
    out_->code.back().d = l;
  } else if (t.kind == VKind::constant) {
    emit(x_const, l, 0, 0, 0, t.value);
  } else if (t.kind == VKind::add_const) {
    emit_add_const(l, t);
  } else if (t.kind == VKind::add_slots) {
    emit(static_cast<uint16_t>(Op::i32_add), l, t.slot, static_cast<int32_t>(t.value));
  } else {
    emit_copy(l, t.slot);
  }
  fusable_ = false;
  vs_.pop_back();
  if (tee)
    vs_.push_back(VEntry{VKind::local, l, 0});
}

void Translator::translate_one(const ir::Instr& in) {
  const uint16_t op = static_cast<uint16_t>(in.op);
  switch (in.op) {
    case Op::fuel:
      if (!metered_ || in.a == 0)
        return;
      if (in.aux == 0 && last_cond_ + 1 == out_->code.size()) {
        // Only the branch's fall-through enters this block: the branch charges it.
        out_->code[last_cond_].x += in.a;
        return;
      }
      emit(op, 0, 0, 0, 0, in.a);
      return;
    case Op::fuel_poll:
      emit(metered_ ? op : static_cast<uint16_t>(x_poll), 0, 0, 0, 0, in.a);
      return;
    case Op::unreachable:
      emit(op);
      live_ = false;
      return;
    case Op::br:
      materialise_all();
      link(emit(op), in.a, vs_.size());
      live_ = false;
      return;
    case Op::br_drop: {
      materialise_all();
      const size_t h = vs_.size();
      if (in.keep() != 0)
        emit(x_move, home(h - in.keep() - in.drop()), home(h - in.keep()),
             static_cast<int32_t>(in.keep()));
      link(emit(static_cast<uint16_t>(Op::br)), in.a, h - in.drop());
      live_ = false;
      return;
    }
    case Op::br_if:
      cond_branch(true, in.a);
      return;
    case Op::br_unless:
      cond_branch(false, in.a);
      return;
    case Op::br_if_drop: {
      if (in.keep() == 0) {
        cond_branch(true, in.a, in.drop());
        return;
      }
      const int32_t c = pop_operand();
      materialise_all();
      const size_t h = vs_.size();
      // Not taken: skip the move and the jump.
      emit(static_cast<uint16_t>(Op::br_unless), 3 * static_cast<int32_t>(sizeof(Ins)), c);
      emit(x_move, home(h - in.keep() - in.drop()), home(h - in.keep()),
           static_cast<int32_t>(in.keep()));
      link(emit(static_cast<uint16_t>(Op::br)), in.a, h - in.drop());
      return;
    }
    case Op::br_table: {
      // An index `v - k` (a switch over a range not starting at 0) is taken with its constant.
      uint64_t bias = 0;
      if (vs_.back().kind == VKind::add_const) {
        bias = static_cast<uint32_t>(vs_.back().value);
        vs_.back().kind = VKind::temp;
      }
      const int32_t index = pop_operand();
      materialise_all();
      const size_t h = vs_.size();
      const uint32_t first = static_cast<uint32_t>(out_->tables.size());
      emit(op, home(h), index, static_cast<int32_t>(in.b), first, bias);
      for (uint32_t i = 0; i <= in.b; ++i) {
        const ir::BrTarget& t = fc_.br_targets[in.a + i];
        out_->tables.push_back(TableEntry{nullptr, t.keep, t.drop});
        fixups_.push_back({first + i, t.pc, true, false});
        note_target(t.pc, h - t.drop);
      }
      live_ = false;
      return;
    }
    case Op::return_:
      if (in.a == 1 && !vs_.empty()) {
        emit(x_ret1, 0, pop_operand());
      } else {
        materialise_all();
        emit(op, 0, home(vs_.size() - in.a), static_cast<int32_t>(in.a));
      }
      live_ = false;
      return;
    case Op::call:
    case Op::call_indirect: {
      const bool indirect = in.op == Op::call_indirect;
      const FuncType& ft = indirect ? m_.types[in.a] : m_.func_type(in.a);
      const int32_t index = indirect ? pop_operand() : 0;
      materialise_all();
      const size_t base = vs_.size() - slots_of(ft.params);
      if (!indirect && in.a >= m_.num_imported_funcs) {
        // The callee is this instance's own: its code is found without going through the
        // instance, and the call never switches instances.
        const ir::TierCache* cache = &m_.code(in.a).interp_code[metered_ ? 1 : 0];
        emit(x_call_local, home(base), 0, 0, in.a, reinterpret_cast<uint64_t>(cache));
      } else {
        emit(op, home(base), index, static_cast<int32_t>(in.b), in.a);
      }
      vs_.resize(base);
      for (uint32_t i = slots_of(ft.results); i > 0; --i)
        push_temp();
      return;
    }
    case Op::drop:
      vs_.pop_back();
      return;
    case Op::drop_v128:
      vs_.resize(vs_.size() - 2);
      return;
    case Op::select:
    case Op::select_t: {
      const size_t n = vs_.size();
      const int32_t c = operand(n - 1), b = operand(n - 2), a = operand(n - 3);
      vs_.resize(n - 3);
      emit_result(static_cast<uint16_t>(Op::select), home(n - 3), a, b, static_cast<uint32_t>(c));
      push_temp();
      return;
    }
    case Op::select_v128:
      stack_form(in, 5, 2);
      return;
    case Op::local_get:
      vs_.push_back(VEntry{VKind::local, static_cast<int32_t>(in.a), 0});
      return;
    case Op::local_set:
    case Op::local_tee:
      set_local(in.a, in.op == Op::local_tee);
      return;
    case Op::local_get_v128:
      stack_form(in, 0, 2);
      return;
    case Op::local_set_v128:
      stack_form(in, 2, 0);
      return;
    case Op::local_tee_v128:
      stack_form(in, 2, 2);
      return;
    case Op::global_get:
      emit_result(op, home(vs_.size()), 0, 0, in.a);
      push_temp();
      return;
    case Op::global_set:
      emit(op, 0, pop_operand(), 0, in.a);
      return;
    case Op::global_get_v128:
      stack_form(in, 0, 2);
      return;
    case Op::global_set_v128:
      stack_form(in, 2, 0);
      return;
    case Op::i32_const:
    case Op::i64_const:
    case Op::f32_const:
    case Op::f64_const:
      vs_.push_back(VEntry{VKind::constant, 0, in.b});
      return;
    case Op::i32_reinterpret_f32:
    case Op::i64_reinterpret_f64:
    case Op::f32_reinterpret_i32:
    case Op::f64_reinterpret_i64:
      // Slots hold bits; a reinterpretation changes only the static type.
      return;
    case Op::table_get:
    case Op::ref_is_null:
      stack_form(in, 1, 1);
      return;
    case Op::table_set:
      stack_form(in, 2, 0);
      return;
    case Op::ref_null:
    case Op::ref_func:
      stack_form(in, 0, 1);
      return;
    case Op::table_grow:
      stack_form(in, 2, 1);
      return;
    case Op::table_fill:
      stack_form(in, 3, 0);
      return;
    default:
      break;
  }
  if (op >= std::size(kOpInfo)) {
    emit(static_cast<uint16_t>(Op::unreachable));
    return;
  }
  const OpInfo info = kOpInfo[op];
  const size_t n = vs_.size();
  switch (info.form) {
    case Form::load:
      if (vs_[n - 1].kind == VKind::constant) {
        // A constant address (static data): imm holds it, zero-extended from 32 bits.
        const uint64_t k = static_cast<uint32_t>(vs_[n - 1].value);
        vs_.pop_back();
        emit_result(mem_variant(in.op, MemForm::a), home(n - 1), 0, 0, in.a, k);
        push_temp();
        return;
      }
      if (vs_[n - 1].kind == VKind::add_const || vs_[n - 1].kind == VKind::add_slots) {
        const VEntry e = vs_[n - 1];
        vs_.pop_back();
        if (e.kind == VKind::add_const)
          emit_result(mem_variant(in.op, MemForm::k), home(n - 1), e.slot, 0, in.a, e.value);
        else
          emit_result(mem_variant(in.op, MemForm::r), home(n - 1), e.slot,
                      static_cast<int32_t>(e.value), in.a);
        push_temp();
        return;
      }
      [[fallthrough]];
    case Form::unary: {
      if (in.op == Op::i32_eqz && vs_[n - 1].kind == VKind::temp && last_wrote(vs_[n - 1].slot)) {
        // The negation of an integer compare is the opposite compare, in place.
        if (const uint16_t neg = negated(ops_.back())) {
          out_->code.back().h = h_[neg];
          ops_.back() = neg;
          return;
        }
      }
      const int32_t a = operand(n - 1);
      vs_.pop_back();
      emit_result(op, home(n - 1), a, 0, in.a);
      push_temp();
      return;
    }
    case Form::binary: {
      // A constant first operand of a commutative operation becomes the second. An entry that
      // lives in its own stack slot may only move if it is consumed right away (no deferral).
      const VEntry& top = vs_[n - 1];
      const bool movable =
          top.kind == VKind::local ||
          (top.kind == VKind::add_const && top.slot < static_cast<int32_t>(fc_.local_slots));
      bool moved_temp = false;
      if (vs_[n - 2].kind == VKind::constant && top.kind != VKind::constant &&
          commutative_with(in.op, vs_[n - 2].value) && (movable || top.kind == VKind::temp)) {
        moved_temp = top.kind == VKind::temp;
        std::swap(vs_[n - 2], vs_[n - 1]);
      }
      if (vs_[n - 1].kind == VKind::constant && (in.op == Op::i32_add || in.op == Op::i32_sub) &&
          vs_[n - 2].kind != VKind::constant && vs_[n - 2].kind != VKind::add_slots &&
          !moved_temp) {
        // Deferred: a load or store may take it as its address.
        const uint32_t k = static_cast<uint32_t>(vs_[n - 1].value);
        vs_.pop_back();
        VEntry& a = vs_.back();
        const uint32_t base = a.kind == VKind::add_const ? static_cast<uint32_t>(a.value) : 0;
        a.value = in.op == Op::i32_add ? base + k : base - k;
        a.kind = VKind::add_const;
        return;
      }
      if (in.op == Op::i32_add && vs_[n - 1].kind == VKind::local &&
          (vs_[n - 2].kind == VKind::local || vs_[n - 2].kind == VKind::temp)) {
        // Deferred as well: the sum of two slots, the second one a local's.
        const int32_t b = vs_[n - 1].slot;
        vs_.pop_back();
        vs_.back() = VEntry{VKind::add_slots, vs_.back().slot, static_cast<uint32_t>(b)};
        return;
      }
      if (vs_[n - 1].kind == VKind::constant) {
        const uint16_t imm_op =
            imm_variant(in.op) != 0 ? imm_variant(in.op) : div_imm_variant(in.op, vs_[n - 1].value);
        if (imm_op != 0) {
          const uint64_t k = vs_[n - 1].value;
          vs_.pop_back();
          if (in.op == Op::i32_and_ && fuse_mask(k, n))
            return;
          if (fuse_chain_const(in.op, k, n))
            return;
          const int32_t a = operand(n - 2);
          vs_.pop_back();
          emit_result(imm_op, home(n - 2), a, 0, 0, k);
          push_temp();
          return;
        }
      }
      if (vs_[n - 2].kind == VKind::constant && vs_[n - 1].kind != VKind::constant) {
        if (const uint16_t rk = rk_variant(in.op)) {
          const uint64_t k = vs_[n - 2].value;
          const int32_t b = operand(n - 1);
          vs_.resize(n - 2);
          emit_result(rk, home(n - 2), 0, b, 0, k);
          push_temp();
          return;
        }
      }
      if (fuse_load(in.op, n) || fuse_shift(in.op, n) || fuse_add3(in.op, n) ||
          fuse_chain(in.op, n) || fuse_mul(in.op, n))
        return;
      const int32_t b = operand(n - 1), a = operand(n - 2);
      vs_.resize(n - 2);
      emit_result(op, home(n - 2), a, b);
      push_temp();
      return;
    }
    case Form::store: {
      if (fuse_store(in, n) || fuse_madd_rmw(in, n) || fuse_result_store(in, n))
        return;
      const VEntry& val = vs_[n - 1];
      // A constant value that sign-extends from 32 bits (every narrow store's does).
      const bool narrow = in.op != Op::i64_store && in.op != Op::f64_store;
      if (val.kind == VKind::constant &&
          (narrow || static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(val.value))) ==
                         val.value) &&
          vs_[n - 2].kind != VKind::add_slots) {
        const int32_t k = static_cast<int32_t>(static_cast<uint32_t>(val.value));
        vs_.pop_back();
        const VEntry e = vs_.back();
        const int32_t a = e.kind == VKind::add_const ? e.slot : operand(n - 2);
        vs_.pop_back();
        emit(mem_variant(in.op, MemForm::c), 0, a, k, in.a,
             e.kind == VKind::add_const ? e.value : 0);
        return;
      }
      const int32_t v = operand(n - 1);
      if (vs_[n - 2].kind == VKind::constant) {
        const uint64_t k = static_cast<uint32_t>(vs_[n - 2].value);
        vs_.resize(n - 2);
        emit(mem_variant(in.op, MemForm::a), 0, 0, v, in.a, k);
        return;
      }
      if (vs_[n - 2].kind == VKind::add_const) {
        const VEntry e = vs_[n - 2];
        vs_.resize(n - 2);
        emit(mem_variant(in.op, MemForm::k), 0, e.slot, v, in.a, e.value);
        return;
      }
      if (vs_[n - 2].kind == VKind::add_slots) {
        const VEntry e = vs_[n - 2];
        vs_.resize(n - 2);
        emit(mem_variant(in.op, MemForm::r), v, e.slot, static_cast<int32_t>(e.value), in.a);
        return;
      }
      const int32_t a = operand(n - 2);
      vs_.resize(n - 2);
      emit(op, 0, a, v, in.a);
      return;
    }
    case Form::stack:
      stack_form(in, info.pops, info.pushes);
      return;
    case Form::manual:
      emit(static_cast<uint16_t>(Op::unreachable));
      return;
  }
}

// The last pass, once every branch is known and before any is resolved, joins neighbours that
// the counted handler pairs of real code showed to be common (bench/README.md), each unless a
// branch lands on the second (or third) instruction:
// - copies: a copy and the instruction after it (copy_prefixed); four or eight copies and the
//   back-edge after them (x_copy4_jmp_poll, x_copy8_jmp_poll);
// - memory: a store or memory copy and the i32.add beside it (store_bump, copy_to_sum); f64
//   read-modify-writes and what feeds them (x_f64_mul3_add_rmw, x_f64_mul3_sub_rmw,
//   x_f64_madd_rmw_at, x_f64_madd2_rmw, x_f64_acc_mulk_a, and x_f64_rmw_*_mul, whose load moves
//   down to the update);
// - branches: a compare-and-branch and the byte read it guards (branch_load8) or tests
//   (load8_branch); a range check or a bit test and its branch;
// - arithmetic: a call and the i32.add computing its first argument; a zero-extended i32
//   through an i64 chain and a 32-bit mask (narrowed_chain); `a * sqrt(b)` and `k / (a *
//   sqrt(b))`.
// Without metering, a loop header's poll that no branch lands on goes (each back-edge polls
// itself and lands after it), since a loop is only checked at its back-edges. Instructions then
// move up, and the branches' landing places with them (returned, per fixup). A call enters a
// function at code[1] and returns to the instruction after the call, neither of which can be the
// second of a pair.
std::vector<uint32_t> Translator::compact() {
  std::vector<Ins>& code = out_->code;
  const size_t n = code.size();
  std::vector<uint32_t> land(fixups_.size());
  std::vector<bool> target(n + 1, false), direct(n + 1, false);
  for (size_t k = 0; k < fixups_.size(); ++k) {
    const Fixup& f = fixups_[k];
    land[k] = static_cast<uint32_t>(pc_map_[f.target] + (f.skip ? 1 : 0));
    target[land[k]] = true;
    if (!f.skip)
      direct[land[k]] = true;
  }
  if (n > 1)
    target[1] = true;
  std::vector<uint32_t> moved(n + 1);
  size_t out = 0;
  const auto merge = [&](size_t& i, const Ins& merged, uint16_t op) {
    moved[i + 1] = static_cast<uint32_t>(out);
    code[out] = merged;
    ops_[out] = op;
    ++out;
    ++i;
  };
  // Three instructions as one: the middle one's landing place moves with them too.
  const auto merge3 = [&](size_t& i, const Ins& merged, uint16_t op) {
    moved[i + 1] = static_cast<uint32_t>(out);
    ++i;
    merge(i, merged, op);
  };
  // `t = m[p]; ...; t = t op a * b; m[p] = t` (f64, t a stack temporary): the load moves down
  // to the update, which becomes one read-modify-write, when everything between is f64 arithmetic
  // or loads that neither read nor write t nor write p, and no branch lands between. No store
  // comes between, and a load between can only trap as this one would, so nothing observable
  // changes.
  std::vector<bool> sunk(n, false), rmw(n, false);
  for (size_t j = 1; j + 1 < n; ++j) {
    const Ins& upd = code[j];
    const Ins& st = code[j + 1];
    if ((ops_[j] != x_f64_add_mul_r && ops_[j] != x_f64_sub_mul_r) ||
        ops_[j + 1] != static_cast<uint16_t>(Op::f64_store) || target[j] || target[j + 1] ||
        upd.d != static_cast<int32_t>(upd.x) || st.b != upd.d ||
        upd.d < static_cast<int32_t>(fc_.local_slots) || upd.a == upd.d || upd.b == upd.d ||
        st.a == upd.d)
      continue;
    const int32_t t = upd.d;
    for (size_t k = j - 1, steps = 0; steps < 16; --k, ++steps) {
      const Ins& in = code[k];
      if (ops_[k] == static_cast<uint16_t>(Op::f64_load) && in.d == t) {
        if (in.a == st.a && in.x == st.x) {
          sunk[k] = true;
          rmw[j] = true;
        }
        break;
      }
      if (!f64_pure_or_load(ops_[k]) || in.d == t || in.d == st.a || in.a == t || in.b == t ||
          static_cast<int32_t>(in.x) == t || target[k] || k == 0)
        break;
    }
  }
  // `m[wrap(p) + k]`: a load reads only the low 32 bits of its address slot, so an i32.wrap_i64
  // whose result only the load reads (the load overwrites it) goes, and the load reads p.
  for (size_t j = 0; j + 1 < n; ++j) {
    Ins& ld = code[j + 1];
    if (ops_[j] == static_cast<uint16_t>(Op::i32_wrap_i64) && !target[j + 1] &&
        load_width(ops_[j + 1]) != 0 && ld.a == code[j].d && ld.d == code[j].d && !rmw[j + 1] &&
        !sunk[j + 1]) {
      ld.a = code[j].a;
      sunk[j] = true;
    }
  }
  for (size_t i = 0; i < n; ++i) {
    moved[i] = static_cast<uint32_t>(out);
    if (!metered_ && i > 0 && ops_[i] == x_poll && !direct[i])
      continue;
    if (sunk[i])
      continue;
    if (rmw[i]) {
      Ins merged = code[i];
      merged.h = h_[ops_[i] == x_f64_add_mul_r ? x_f64_rmw_add_mul : x_f64_rmw_sub_mul];
      merged.d = code[i + 1].a;
      merged.x = code[i + 1].x;
      merge(i, merged, ops_[i] == x_f64_add_mul_r ? x_f64_rmw_add_mul : x_f64_rmw_sub_mul);
      continue;
    }
    // (An update that takes a sunk load, and the load, are never the second of a pair.)
    const bool pair = i + 1 < n && !target[i + 1] && !rmw[i + 1] && !sunk[i + 1];
    const Ins& next = code[std::min(i + 1, n - 1)];
    if (pair && i + 2 < n && !target[i + 2] && ops_[i] == x_copy4 && ops_[i + 1] == x_copy4 &&
        ops_[i + 2] == x_jmp_poll) {
      // Eight copies closing a loop (SHA-2's rotation of its working variables): one dispatch
      // when every slot fits in 8 bits.
      uint64_t words[2] = {0, 0};
      bool small = true;
      for (int k = 0; k < 8; ++k) {
        const Ins& c = code[i + k / 4];
        const uint32_t pairs[4] = {static_cast<uint32_t>(c.d), static_cast<uint32_t>(c.a),
                                   static_cast<uint32_t>(c.b), c.x};
        const uint32_t pair16 = pairs[k % 4];
        const uint32_t dst = pair16 & 0xFFFF, src = pair16 >> 16;
        small = small && dst < 256 && src < 256;
        words[k / 4] |= uint64_t{dst | src << 8} << (16 * (k % 4));
      }
      if (small) {
        Ins merged = code[i + 2];
        merged.h = h_[x_copy8_jmp_poll];
        merged.a = static_cast<int32_t>(static_cast<uint32_t>(words[0]));
        merged.b = static_cast<int32_t>(static_cast<uint32_t>(words[0] >> 32));
        merged.imm = words[1];
        merge3(i, merged, x_copy8_jmp_poll);
        continue;
      }
    }
    if (pair && ops_[i] == x_i32_shl_rk_and_imm &&
        ops_[i + 1] == static_cast<uint16_t>(Op::br_unless) && next.a == code[i].d) {
      // A bit test and the branch on it.
      Ins merged = next;
      merged.h = h_[x_br_unless_bit];
      merged.a = code[i].d;
      merged.b = code[i].b;
      merged.imm = code[i].imm;
      merge(i, merged, x_br_unless_bit);
      continue;
    }
    if (pair && ops_[i] == x_i32_add_and_imm && ops_[i + 1] == x_br_i32_gt_u_imm &&
        next.a == code[i].d && code[i].imm >> 48 == 0 &&
        static_cast<uint32_t>(next.imm) <= 0xFFFF) {
      // A range check on a byte: the add-and-mask and the compare-and-branch on its result.
      Ins merged = next;
      merged.h = h_[x_br_gt_u_add_and];
      merged.a = code[i].a;
      merged.b = code[i].d;
      merged.imm = (code[i].imm & 0xFFFF'FFFF'FFFF) | (next.imm << 48);
      merge(i, merged, x_br_gt_u_add_and);
      continue;
    }
    if (pair && i + 2 < n && !target[i + 2] &&
        ops_[i] == static_cast<uint16_t>(Op::i64_extend_i32_u) && ops_[i + 2] == x_i64_and__imm &&
        code[i + 2].imm == UINT32_MAX && next.a == code[i].d && next.d == code[i].d &&
        code[i + 2].a == code[i].d && code[i + 2].d == code[i].d) {
      // `(u64)(u32)((u64)c op1 k1 op2 k2)`: the low 32 bits of an i64 chain on a zero-extended
      // i32 are the same chain in i32, whose result a slot holds zero-extended.
      if (const uint16_t narrow = narrowed_chain(ops_[i + 1]); narrow != 0) {
        Ins merged = next;
        merged.h = h_[narrow];
        merged.a = code[i].a;
        merge3(i, merged, narrow);
        continue;
      }
    }
    if (pair && ops_[i] == x_copy4 && ops_[i + 1] == x_jmp_poll) {
      // A register rotation closing a loop: one dispatch with the back-edge.
      const Ins& c = code[i];
      Ins merged = next;
      merged.h = h_[x_copy4_jmp_poll];
      merged.a = c.d;
      merged.b = c.a;
      merged.imm = static_cast<uint32_t>(c.b) | (uint64_t{c.x} << 32);
      merge(i, merged, x_copy4_jmp_poll);
      continue;
    }
    if (const bool two_slots = ops_[i] == x_i32_load8_u_r;
        pair && code[i].x == 0 && next.a == code[i].d && code[i].d >= 0 &&
        (two_slots || ops_[i] == x_i32_load8_u_k ||
         ops_[i] == static_cast<uint16_t>(Op::i32_load8_u))) {
      // `c = m[p + q]; if (c rel k) goto out` (a byte scan): one instruction when the read has no
      // offset; the byte still goes to its slot.
      // br_if and br_unless compare with 0.
      uint16_t br = ops_[i + 1];
      if (br == static_cast<uint16_t>(Op::br_if))
        br = x_br_i32_ne_imm;
      else if (br == static_cast<uint16_t>(Op::br_unless))
        br = x_br_i32_eq_imm;
      if (const uint16_t lb = load8_branch(br, two_slots); lb != 0) {
        const Ins& ld = code[i];
        Ins merged = next;
        merged.h = h_[lb];
        merged.a = ld.a;
        const uint64_t k = br == ops_[i + 1] ? static_cast<uint32_t>(next.imm) : 0;
        if (two_slots) {
          merged.b = ld.b;
          merged.imm = k | (uint64_t{static_cast<uint32_t>(ld.d)} << 32);
        } else {
          merged.b = ld.d;
          const uint32_t offset = ops_[i] == x_i32_load8_u_k ? static_cast<uint32_t>(ld.imm) : 0;
          merged.imm = offset | (k << 32);
        }
        merge(i, merged, lb);
        continue;
      }
    }
    if (const uint16_t bl = pair ? branch_load8(ops_[i]) : 0;
        bl != 0 && ops_[i + 1] == x_i32_load8_u_k && next.a == code[i].a && next.x == 0 &&
        next.imm >> 32 == 0 && next.d >= 0) {
      // A bounds check, then the byte it guards.
      Ins merged = code[i];
      merged.h = h_[bl];
      merged.imm = next.imm | (uint64_t{static_cast<uint32_t>(next.d)} << 32);
      merge(i, merged, bl);
      continue;
    }
    if (pair && i + 2 < n && !target[i + 2] && ops_[i] == imm_variant(Op::i32_add) &&
        ops_[i + 1] == x_f64_mul_mul_l && ops_[i + 2] == x_f64_add_rmw) {
      // `p = q + k; m[p] += a * b * c`: when the product is a stack temporary (dead once the
      // store consumed it), the three are one instruction.
      const Ins& add = code[i];
      const Ins& mul = next;
      const Ins& rmw = code[i + 2];
      if (rmw.b == add.d && rmw.a == mul.d && rmw.imm == 0 && rmw.x == 0 &&
          mul.d >= static_cast<int32_t>(fc_.local_slots) && add.d != mul.d && add.a >= 0) {
        Ins merged = mul;
        merged.h = h_[x_f64_mul3_add_rmw_at];
        merged.d = add.d;
        merged.imm =
            static_cast<uint32_t>(add.imm) | (uint64_t{static_cast<uint32_t>(add.a)} << 32);
        merge3(i, merged, x_f64_mul3_add_rmw_at);
        continue;
      }
    }
    if (pair && i + 2 < n && !target[i + 2] && ops_[i] == static_cast<uint16_t>(Op::f64_load) &&
        ops_[i + 1] == x_f64_mul_mul_l && ops_[i + 2] == x_f64_sub_st) {
      // `m[p] = m[p] - a * b * c`, read first: when the value read is a stack temporary that only
      // the subtraction reads, the three are one instruction (the product still written).
      const Ins& ld = code[i];
      const Ins& mul = next;
      const Ins& st = code[i + 2];
      const int32_t t = ld.d;
      if (t >= static_cast<int32_t>(fc_.local_slots) && st.a == t && st.b == mul.d &&
          st.d == ld.a && static_cast<uint32_t>(st.imm) == 0 && st.x == ld.x && mul.a != t &&
          mul.b != t && static_cast<int32_t>(mul.x) != t && mul.d != t && ld.a != t &&
          ld.a != mul.d && mul.d >= 0) {
        Ins merged = mul;
        merged.h = h_[x_f64_mul3_sub_rmw];
        merged.d = ld.a;
        merged.imm = ld.x | (uint64_t{static_cast<uint32_t>(mul.d)} << 32);
        merge3(i, merged, x_f64_mul3_sub_rmw);
        continue;
      }
    }
    if (pair && ops_[i] == static_cast<uint16_t>(Op::f64_sqrt) &&
        ops_[i + 1] == static_cast<uint16_t>(Op::f64_mul) && next.b == code[i].d) {
      // `a * sqrt(b)`; and `k / (a * sqrt(b))` when the product is a stack temporary that only
      // the division reads.
      const Ins& root = code[i];
      const Ins& mul = next;
      Ins merged = mul;
      merged.b = root.a;
      merged.x = static_cast<uint32_t>(root.d);
      if (i + 2 < n && !target[i + 2] && ops_[i + 2] == x_f64_div_rk && code[i + 2].b == mul.d &&
          mul.d >= static_cast<int32_t>(fc_.local_slots) && mul.d != root.d) {
        merged.h = h_[x_f64_k_div_mul_sqrt];
        merged.d = code[i + 2].d;
        merged.imm = code[i + 2].imm;
        merge3(i, merged, x_f64_k_div_mul_sqrt);
        continue;
      }
      merged.h = h_[x_f64_mul_sqrt];
      merge(i, merged, x_f64_mul_sqrt);
      continue;
    }
    if (pair && i + 2 < n && !target[i + 2] && ops_[i] == x_f64_madd_rmw &&
        ops_[i + 1] == imm_variant(Op::i32_add) && ops_[i + 2] == x_f64_madd_rmw) {
      // `c[j] += y * b[j]; c[j + 1] += y * b[j + 1]` (an axpy loop unrolled by two): one
      // instruction when both read y and b from the same slots and the second element's address
      // slot is neither.
      const Ins& first = code[i];
      const Ins& add = next;
      const Ins& second = code[i + 2];
      if (first.x == 0 && first.imm == 0 && add.a == first.d && second.d == add.d &&
          second.x == 0 && second.imm >> 32 == 0 && second.a == first.a && second.b == first.b &&
          add.d != first.a && add.d != first.b && add.d >= 0) {
        Ins merged = first;
        merged.h = h_[x_f64_madd2_rmw];
        merged.x = static_cast<uint32_t>(add.d);
        merged.imm =
            static_cast<uint32_t>(add.imm) | (uint64_t{static_cast<uint32_t>(second.imm)} << 32);
        merge3(i, merged, x_f64_madd2_rmw);
        continue;
      }
    }
    if (pair && ops_[i] == imm_variant(Op::i32_add) && ops_[i + 1] == x_f64_madd_rmw &&
        next.d == code[i].d && next.x == 0 && next.imm >> 32 == 0 && code[i].a >= 0) {
      // `p = q + k; m[p] += a * m[r + j]` (an unrolled loop's second step).
      const Ins& add = code[i];
      Ins merged = next;
      merged.h = h_[x_f64_madd_rmw_at];
      merged.x = static_cast<uint32_t>(add.a);
      merged.imm =
          static_cast<uint32_t>(next.imm) | (uint64_t{static_cast<uint32_t>(add.imm)} << 32);
      merge(i, merged, x_f64_madd_rmw_at);
      continue;
    }
    if (pair && i + 2 < n && !target[i + 2] && ops_[i] == x_f64_load_a &&
        ops_[i + 1] == x_f64_add_mulk_r && ops_[i + 2] == x_f64_store_a) {
      // `acc += m[s] * k; m[t] = acc` at constant addresses below 2 GiB.
      const Ins& ld = code[i];
      const Ins& add = next;
      const Ins& st = code[i + 2];
      const uint64_t from = ld.imm + ld.x, to = st.imm + st.x;
      if (from >= ld.imm && to >= st.imm && from <= UINT32_MAX && to <= INT32_MAX &&
          add.a == ld.d && static_cast<int32_t>(add.x) == add.d && add.d != ld.d && st.b == add.d) {
        Ins merged = add;
        merged.h = h_[x_f64_acc_mulk_a];
        merged.x = static_cast<uint32_t>(from);
        merged.b = static_cast<int32_t>(to);
        merge3(i, merged, x_f64_acc_mulk_a);
        continue;
      }
    }
    if (pair && ops_[i] == x_f64_mul_mul_l && ops_[i + 1] == x_f64_add_rmw && next.a == code[i].d &&
        next.imm == 0) {
      // `m[p] += a * b * c`: one instruction, the product still written to its slot.
      const Ins& mul = code[i];
      Ins merged = mul;
      merged.h = h_[x_f64_mul3_add_rmw];
      merged.d = next.b;
      merged.imm = next.x | (uint64_t{static_cast<uint32_t>(mul.d)} << 32);
      merge(i, merged, x_f64_mul3_add_rmw);
      continue;
    }
    if (pair && ops_[i] == imm_variant(Op::i32_add) && ops_[i + 1] == x_call_local &&
        code[i].d == next.d) {
      // `f(n - 1)`: the call computes its first argument.
      Ins merged = next;
      merged.h = h_[x_call_local_add];
      merged.a = code[i].a;
      merged.b = static_cast<int32_t>(static_cast<uint32_t>(code[i].imm));
      merge(i, merged, x_call_local_add);
      continue;
    }
    if (pair && ops_[i + 1] == static_cast<uint16_t>(Op::i32_add)) {
      // `*p = v; p += n`: the store bumps its own address slot.
      const Ins& add = next;
      const uint16_t bump = store_bump(ops_[i]);
      if (bump != 0 && code[i].d == 0 && add.d == add.a && add.a == code[i].a) {
        Ins merged = code[i];
        merged.h = h_[bump];
        merged.d = add.b;
        merge(i, merged, bump);
        continue;
      }
    }
    if (pair && ops_[i] == static_cast<uint16_t>(Op::i32_add)) {
      // `to[i] = from[i]`: the copy computes its destination `to + i` itself.
      const Ins& add = code[i];
      const uint16_t to_sum = copy_to_sum(ops_[i + 1]);
      if (to_sum != 0 && next.a == add.d && static_cast<uint32_t>(next.imm) == 0 && next.x == 0 &&
          add.b >= 0) {
        Ins merged = next;
        merged.h = h_[to_sum];
        merged.a = add.a;
        merged.imm |= static_cast<uint32_t>(add.b);
        merged.x = static_cast<uint32_t>(add.d);
        merge(i, merged, to_sum);
        continue;
      }
    }
    bool in_imm = false;
    const uint16_t cp = pair && ops_[i] == x_copy ? copy_prefixed(ops_[i + 1], in_imm) : 0;
    if (cp != 0 && next.b == 0 && (in_imm ? next.imm >> 32 == 0 : next.x == 0)) {
      Ins merged = next;
      merged.h = h_[cp];
      merged.b = code[i].d;
      const auto source = static_cast<uint32_t>(code[i].a);
      if (in_imm)
        merged.imm |= uint64_t{source} << 32;
      else
        merged.x = source;
      merge(i, merged, cp);
      continue;
    }
    code[out] = code[i];
    ops_[out] = ops_[i];
    ++out;
  }
  moved[n] = static_cast<uint32_t>(out);
  code.resize(out);
  ops_.resize(out);
  // An IR pc whose instructions a later fusion took back may map past the end; only the dump
  // reads those (a branch lands only on a block start, which nothing takes back).
  for (int64_t& at : pc_map_)
    if (at >= 0)
      at = moved[std::min(static_cast<size_t>(at), n)];
  for (size_t k = 0; k < fixups_.size(); ++k) {
    land[k] = moved[land[k]];
    if (!fixups_[k].table)
      fixups_[k].at = moved[fixups_[k].at];
  }
  return land;
}

// A memory copy whose back-edge follows it and jumps back to it, stepping an i32 index by the
// bytes copied, with the index the base of both addresses and nothing else in the loop writing
// a slot the addresses read, becomes its copy-loop form (TG_COPY_LOOP): `to[i] = from[i]`.
void Translator::find_copy_loops() {
  std::vector<Ins>& code = out_->code;
  for (size_t i = 0; i + 1 < code.size(); ++i) {
    uint32_t bytes = 0;
    bool to_sum = false;
    const uint16_t loop = copy_loop(ops_[i], bytes, to_sum);
    const Ins& body = code[i];
    const Ins& edge = code[i + 1];
    bool imm_form = false;
    const int64_t step = index_step(ops_[i + 1], edge, imm_form);
    const int32_t index = edge.a;
    if (loop == 0 || edge.d != -static_cast<int32_t>(sizeof(Ins)) || step != bytes ||
        body.d != index || (!imm_form && edge.b == index))
      continue;
    if (to_sum) {
      // fp[x] = fp[a] + fp[imm's low half], one of them the index and the other unchanged.
      const auto sum = static_cast<int32_t>(body.x);
      const auto second = static_cast<int32_t>(static_cast<uint32_t>(body.imm));
      const int32_t base = body.a == index ? second : second == index ? body.a : -1;
      if (base < 0 || base == index || sum == index || sum == base || (!imm_form && edge.b == sum))
        continue;
    } else if (body.a != index) {
      continue;
    }
    code[i].h = h_[loop];
    ops_[i] = loop;
  }
  // Loops that a whole-loop handler runs by itself: a body, then a counted back-edge to it
  // (CountedTail); every slot the loop writes differs from every other slot it reads or writes.
  const auto whole_loop = [&](size_t i, size_t tail_at, std::vector<int32_t> written,
                              std::vector<int32_t> read, uint16_t loop) {
    CountedTail tail;
    const Ins& t = code[tail_at];
    if (!tail.decode(t, h_) || t.d != -static_cast<int32_t>((tail_at - i) * sizeof(Ins)))
      return;
    tail.slots(written, read);
    for (size_t p = 0; p < written.size(); ++p) {
      for (size_t q = p + 1; q < written.size(); ++q)
        if (written[p] == written[q])
          return;
      for (const int32_t r : read)
        if (written[p] == r)
          return;
    }
    code[i].h = h_[loop];
    ops_[i] = loop;
  };
  for (size_t i = 0; i + 1 < code.size(); ++i) {
    const Ins& body = code[i];
    // `c[j] += y * b[j]` unrolled by two, its two addresses moved on by constants.
    if (i + 2 < code.size() && ops_[i] == x_f64_madd2_rmw && ops_[i + 1] == x_add2_i32) {
      const Ins& bump = code[i + 1];
      if (bump.d == body.d && bump.a == body.d && bump.b == body.b &&
          static_cast<int32_t>(bump.x) == body.b)
        whole_loop(i, i + 2, {body.d, body.b, static_cast<int32_t>(body.x)}, {body.a},
                   x_f64_madd2_loop);
    }
    // `m[p] = k; p += stride`: a fill with a stride (a sieve's inner loop).
    if (const uint16_t loop = store_bump_loop(ops_[i]); loop != 0)
      whole_loop(i, i + 1, {body.a}, {body.d}, loop);
  }
}

// A byte-scan loop: a byte read at the head, whose address is an i32 index (plus a slot or a
// constant), then branches that depend on that byte alone, back to a loop tail that jumps to the
// head with the index one more: `i += 1; if (i < n)` (or `!=`), or `if (i < n)` after the body
// wrote i. For each of the 256 byte values, what the branches do is worked out at translation: on
// to the back-edge, or out of the loop at some instruction. The head then runs the loop's
// iterations itself (unmetered code only: fall-through charges differ per path), and the
// interruption flag is checked every 1024 iterations instead of at every back-edge.
// - x_scan_bytes: the head reads and branches (x_br_*_imm_ld8r/_ld8k), the other branches only
//   compare the byte with constants and write nothing, so the head leaves with the index and the
//   byte set for the instruction that byte leads to.
// - x_scan_load: the head is a plain byte read (i32.load8_u, _k, _r, or _k after a copy), and the
//   body may also write slots: from the byte (range checks, bit tests, add-and-branch), or copies
//   and sums of the index (LLVM's phi copies, `j = i; ...; i = j + 1`). The head skips the
//   iterations that go on, then runs the last one as it is. That is right as it stands when
//   every slot an iteration that goes on writes holds a value worked out from the byte and is
//   written by every iteration, whichever way it goes, before it leaves the loop. Otherwise
//   every iteration that goes on must write the same slots, each with the index plus the same
//   constant or with a value worked out from its byte (ByteScan::effects): the head then makes
//   the writes of the last iteration skipped itself before running the last one.
void Translator::find_byte_scans() {
  if (metered_)
    return;
  std::vector<Ins>& code = out_->code;
  const auto n = static_cast<int64_t>(code.size());
  const auto jump = [&](int64_t pos) {
    return pos + code[static_cast<size_t>(pos)].d / static_cast<int32_t>(sizeof(Ins));
  };
  for (int64_t head = 0; head < n; ++head) {
    const Ins& h = code[static_cast<size_t>(head)];
    uint16_t head_op = ops_[static_cast<size_t>(head)];
    int32_t copy_to = -1, copy_from = -1;
    if (head_op == cp_x_i32_load8_u_k)
      head_op = copy_prefix_base(head_op, h, copy_to, copy_from);
    bool two_slots = false;
    const uint16_t head_cmp = load8_branch_compare(head_op, two_slots);
    const bool replay = head_cmp == 0;
    if (replay) {
      two_slots = head_op == x_i32_load8_u_r;
      if (!two_slots && head_op != x_i32_load8_u_k &&
          head_op != static_cast<uint16_t>(Op::i32_load8_u))
        continue;
    }
    const int32_t byte = replay ? h.d : two_slots ? static_cast<int32_t>(h.imm >> 32) : h.b;
    // The back-edge: the first loop tail within reach that jumps to the head; an incp tail steps
    // the index itself, a brp tail compares what the body left in it.
    int64_t edge = -1;
    bool steps = false, const_bound = false, less = false;
    for (int64_t e = head + 1; e < std::min(n, head + 32) && edge < 0; ++e) {
      const uint16_t op = ops_[static_cast<size_t>(e)];
      const Ins& tail = code[static_cast<size_t>(e)];
      if (index_step(op, tail, const_bound) == 1 && jump(e) == head) {
        edge = e;
        steps = true;
        less = op == x_incp_i32_lt_u_imm || op == x_incp_i32_lt_u;
      } else if ((op == x_brp_i32_lt_u || op == x_brp_i32_lt_u_imm || op == x_brp_i32_ne ||
                  op == x_brp_i32_ne_imm) &&
                 jump(e) == head) {
        edge = e;
        const_bound = op == x_brp_i32_lt_u_imm || op == x_brp_i32_ne_imm;
        less = op == x_brp_i32_lt_u || op == x_brp_i32_lt_u_imm;
      }
    }
    if (edge < 0 || byte < 0)
      continue;
    const Ins& e = code[static_cast<size_t>(edge)];
    const int32_t index = e.a;
    auto scan = std::make_unique<ByteScan>();
    scan->index = index;
    scan->byte = byte;
    scan->two_slots = two_slots;
    scan->bound_const = const_bound;
    scan->less = less;
    scan->limit = const_bound ? 0 : e.b;
    scan->bound = static_cast<uint32_t>(e.imm);
    scan->after = code.data() + edge + 1;
    scan->memarg = replay ? h.x : 0;
    scan->offset = 0;
    scan->copy_to = copy_to;
    scan->copy_from = copy_from;
    if (two_slots) {
      scan->base = h.a == index ? h.b : h.b == index ? h.a : -1;
    } else {
      scan->base = h.a == index ? 0 : -1;
      if (head_op != static_cast<uint16_t>(Op::i32_load8_u))
        scan->offset = static_cast<uint32_t>(h.imm);
    }
    const auto invariant = [&](int32_t slot) {
      return slot == index || (two_slots && slot == scan->base) ||
             (!const_bound && slot == scan->limit);
    };
    if (scan->base < 0 || invariant(byte) || (!const_bound && scan->limit == index) ||
        (copy_to >= 0 && (invariant(copy_to) || copy_to == byte)))
      continue;
    // Where each byte value goes, following the slots it writes (at most 12): what each holds
    // is unknown, a constant worked out from the byte, or the index at the iteration's start
    // plus a constant.
    enum : uint8_t { kUnknown, kKnown, kIndex };
    int64_t exits[16];
    size_t exit_count = 1;
    bool ok = true;
    bool from_byte_only = copy_to < 0;  // every write is a constant worked out from the byte
    bool from_index = true;  // an iteration that goes on leaves only known or index-based values
    uint64_t going_on = 0;   // slots (bits over `slots`) an iteration that goes on writes
    uint64_t every_path = ~0ull;      // slots every iteration writes before it leaves
    uint64_t every_going_on = ~0ull;  // slots every iteration that goes on writes
    // What an iteration that goes on leaves in each slot, by slot (over `slots`).
    uint8_t effect_kinds[12] = {};
    std::vector<ByteScan::Effect> effects(12);
    int32_t slots[12] = {byte};
    size_t slot_count = 1;
    for (uint32_t v = 0; v < 256 && ok; ++v) {
      uint8_t kinds[12] = {kKnown};
      uint64_t values[12] = {v};
      uint64_t set = 1, written = 1;  // slots this path gave a value; those not popped
      const auto read = [&](int32_t slot, uint64_t& value) -> uint8_t {
        value = 0;
        for (size_t k = 0; k < slot_count; ++k)
          if (slots[k] == slot && (set >> k & 1) != 0) {
            value = values[k];
            return kinds[k];
          }
        return slot == index ? kIndex : kUnknown;
      };
      // (A branch's own operand on the stack, which it pops, is dead once it has branched.)
      const auto write = [&](int32_t slot, uint8_t kind, uint64_t value, bool popped = false) {
        size_t k = 0;
        while (k < slot_count && slots[k] != slot)
          ++k;
        if (k == slot_count) {
          if (slot_count == std::size(slots))
            return false;
          slots[slot_count++] = slot;
        }
        kinds[k] = kind;
        values[k] = value;
        set |= uint64_t{1} << k;
        if (!popped) {
          written |= uint64_t{1} << k;
          from_byte_only = from_byte_only && kind == kKnown;
        }
        return true;
      };
      if (copy_to >= 0) {
        uint64_t value = 0;
        const uint8_t kind = read(copy_from, value);
        ok = write(copy_to, kind, value);
      }
      int64_t pos = replay ? head + 1
                    : taken_on_constant(head_cmp, v, two_slots ? h.imm : h.imm >> 32) != 0
                        ? jump(head)
                        : head + 1;
      int walked = 0;
      for (; ok;) {
        if (pos == edge || pos == head || pos < 0 || pos >= n || ++walked > 32) {
          ok = pos == edge;  // a path back to the head but not through the back-edge, or one
          break;             // that runs on, is left alone
        }
        uint16_t op = ops_[static_cast<size_t>(pos)];
        const Ins& in = code[static_cast<size_t>(pos)];
        int32_t to = -1, from = -1;
        if (const uint16_t base = replay ? copy_prefix_base(op, in, to, from) : 0; base != 0) {
          uint64_t value = 0;
          const uint8_t kind = read(from, value);
          ok = write(to, kind, value);
          op = base;
        }
        uint64_t va = 0, vb = 0;
        const bool a = ok && read(in.a, va) == kKnown;
        const bool b = ok && read(in.b, vb) == kKnown;
        int t = a ? taken_on_constant(op, va, in.imm) : -1;
        if (t < 0 && a &&
            (op == static_cast<uint16_t>(Op::br_if) ||
             op == static_cast<uint16_t>(Op::br_unless))) {
          t = (u32(va) != 0) == (op == static_cast<uint16_t>(Op::br_if)) ? 1 : 0;
        } else if (t < 0 && replay && ok) {
          // Branches that also write a slot computed from known ones (as their handlers do).
          if (const uint16_t cmp = addbr_compare(op); cmp != 0 && a) {
            const uint64_t sum = u32(va + static_cast<uint32_t>(in.imm >> 32));
            ok = write(in.b, kKnown, sum);
            t = taken_on_constant(cmp, sum, in.imm);
          } else if (op == x_br_unless_bit && b) {
            const uint32_t bit =
                (static_cast<uint32_t>(in.imm) << (vb & 31)) & static_cast<uint32_t>(in.imm >> 32);
            ok = write(in.a, kKnown, bit, in.a >= static_cast<int32_t>(fc_.local_slots));
            t = bit == 0 ? 1 : 0;
          } else if (op == x_br_gt_u_add_and && a) {
            const uint32_t masked = (u32(va) + static_cast<uint32_t>(in.imm)) &
                                    static_cast<uint32_t>((in.imm >> 32) & 0xFFFF);
            ok = write(in.b, kKnown, masked);
            t = masked > static_cast<uint32_t>(in.imm >> 48) ? 1 : 0;
          } else if (op == x_copy || op == x_copy2 || op == imm_variant(Op::i32_add)) {
            // Moves and steps of the index or of a known value (i32 sums wrap at 32 bits).
            uint64_t value = 0;
            uint8_t kind = read(in.a, value);
            const bool add = op == imm_variant(Op::i32_add);
            ok = write(in.d, kind, add && kind != kUnknown ? u32(value + in.imm) : value);
            if (op == x_copy2) {
              kind = read(static_cast<int32_t>(in.x), value);
              ok = ok && write(in.b, kind, value);
            }
            ++pos;
            continue;
          }
        }
        if (!ok)
          break;
        if (t >= 0)
          pos = t != 0 ? jump(pos) : pos + 1;
        else if (op == static_cast<uint16_t>(Op::br))
          pos = jump(pos);
        else
          break;  // leaves the loop here
      }
      if (!ok)
        break;
      every_path &= written;
      if (pos == edge) {
        // The tail must see the index one more than at the iteration's start (incp adds it).
        uint64_t at_edge = 0;
        ok = read(index, at_edge) == kIndex && at_edge == (steps ? 0u : 1u);
        for (size_t k = 0; k < slot_count && ok; ++k) {
          if ((written >> k & 1) == 0)
            continue;
          // What this byte leaves in the slot; every byte that goes on must leave the same kind
          // (and an index-based value with the same offset).
          if (kinds[k] == kUnknown ||
              (effect_kinds[k] != kUnknown && effect_kinds[k] != kinds[k]) ||
              (kinds[k] == kIndex && effect_kinds[k] == kIndex && effects[k].offset != values[k])) {
            from_index = false;
            continue;
          }
          effect_kinds[k] = kinds[k];
          effects[k].offset = static_cast<uint32_t>(values[k]);
          effects[k].by_byte[v] = values[k];
        }
        going_on |= written;
        every_going_on &= written;
        scan->action[v] = 0;
        continue;
      }
      size_t k = 1;
      while (k < exit_count && exits[k] != pos)
        ++k;
      if (k == exit_count) {
        if (exit_count == std::size(exits)) {
          ok = false;
          break;
        }
        exits[exit_count++] = pos;
      }
      scan->action[v] = static_cast<uint8_t>(k);
    }
    // The index is written only as the tail expects; the base and the bound stay as they are.
    for (size_t k = 0; k < slot_count && ok; ++k)
      ok = slots[k] == index ? replay : !invariant(slots[k]);
    // (A loop that no byte value goes on in is left as it is.)
    if (!ok || going_on == 0 || (!replay && slot_count != 1))
      continue;
    const bool last_only = from_byte_only && (going_on & ~every_path) == 0;
    if (replay && !last_only && (!from_index || going_on != every_going_on))
      continue;
    if (replay && !last_only) {
      for (size_t k = 0; k < slot_count; ++k) {
        if ((going_on >> k & 1) == 0)
          continue;
        effects[k].slot = slots[k];
        effects[k].from_index = effect_kinds[k] == kIndex;
        scan->effects.push_back(effects[k]);
      }
    }
    for (size_t k = 1; k < exit_count; ++k)
      scan->exits[k] = code.data() + exits[k];
    const uint16_t scan_op = replay ? x_scan_load : x_scan_bytes;
    code[static_cast<size_t>(head)].h = h_[scan_op];
    code[static_cast<size_t>(head)].imm = reinterpret_cast<uint64_t>(scan.get());
    ops_[static_cast<size_t>(head)] = scan_op;
    out_->scans.push_back(std::move(scan));
  }
}

std::unique_ptr<Compiled> Translator::translate() {
  out_ = std::make_unique<Compiled>();
  out_->param_slots = fc_.param_slots;
  out_->local_slots = fc_.local_slots;
  out_->frame_slots = fc_.local_slots + fc_.max_stack_slots;
  out_->entry_cost = fc_.code.empty() ? 0 : fc_.code[0].a;
  const size_t n = fc_.code.size();
  out_->code.reserve(n + n / 4 + 4);
  pc_map_.assign(n + 1, -1);
  pending_.assign(n + 1, -1);
  for (uint32_t pc = 0; pc < n; ++pc) {
    const ir::Instr& in = fc_.code[pc];
    const bool label = in.op == Op::fuel_poll || (in.op == Op::fuel && in.aux != 0);
    if (label) {
      if (live_) {
        materialise_all();
      } else if (pending_[pc] >= 0) {
        vs_.clear();
        for (int64_t i = 0; i < pending_[pc]; ++i)
          push_temp();
        live_ = true;
      }
      fusable_ = false;
      barrier_ = out_->code.size();
    }
    if (!live_)
      continue;  // unreachable from anything translated so far
    pc_map_[pc] = static_cast<int64_t>(out_->code.size());
    pc_ = pc;
    translate_one(in);
  }
  // A branch may only land on an instruction that was translated (a block start).
  for (const Fixup& f : fixups_) {
    if (f.target >= n || pc_map_[f.target] < 0)
      return nullptr;
  }
  const std::vector<uint32_t> land = compact();
  // A branch keeps its distance in bytes (see TG_JUMP), which must fit its 32 bits.
  if (out_->code.size() > static_cast<size_t>(INT32_MAX) / sizeof(Ins))
    return nullptr;
  for (size_t k = 0; k < fixups_.size(); ++k) {
    const Fixup& f = fixups_[k];
    if (f.table)
      out_->tables[f.at].target = out_->code.data() + land[k];
    else
      out_->code[f.at].d = static_cast<int32_t>((int64_t{land[k]} - int64_t{f.at}) *
                                                static_cast<int64_t>(sizeof(Ins)));
  }
  find_copy_loops();
  find_byte_scans();
  for (size_t i = 0; i < out_->code.size(); ++i) {
    if (ops_[i] == static_cast<uint16_t>(Op::br_table)) {
      // The index's constant moves from imm to x, where the table's first entry was.
      Ins& c = out_->code[i];
      const uint64_t table = reinterpret_cast<uint64_t>(out_->tables.data() + c.x);
      c.x = static_cast<uint32_t>(c.imm);
      c.imm = table;
    }
  }
  // Seeing what the translation made of a hot loop is how the superinstructions get chosen.
  static const bool dump = std::getenv("TOLLGATE_INTERP_DUMP") != nullptr;
  if (dump) {
    std::fprintf(stderr, "-- function at body offset %u (%s): %zu IR -> %zu instructions\n",
                 fc_.body_offset, metered_ ? "metered" : "unmetered", n, out_->code.size());
    if (std::getenv("TOLLGATE_INTERP_DUMP_IR") != nullptr) {
      for (size_t pc = 0; pc < n; ++pc) {
        const ir::Instr& in = fc_.code[pc];
        std::fprintf(stderr, "  ir %5zu -> %5lld %-20s a=%u b=%llu aux=%u\n", pc,
                     static_cast<long long>(pc_map_[pc]), ir::op_name(in.op), in.a,
                     static_cast<unsigned long long>(in.b), in.aux);
      }
    }
    for (size_t i = 0; i < out_->code.size(); ++i) {
      const Ins& c = out_->code[i];
      std::fprintf(stderr, "%5zu %-22s d=%d a=%d b=%d x=%u imm=%llu\n", i, handler_name(ops_[i]),
                   c.d, c.a, c.b, c.x, static_cast<unsigned long long>(c.imm));
    }
  }
  return std::move(out_);
}

// The translation of `f`'s body for this metering mode, made on first use.
const Compiled* compiled(const Function& f, bool metered, const void* const* handlers) {
  const ir::TierCache& cache = f.code->interp_code[metered ? 1 : 0];
  if (void* p = cache.get())
    return static_cast<const Compiled*>(p);
  std::unique_ptr<Compiled> c =
      Translator(*f.instance->module, *f.code, metered, handlers).translate();
  if (!c)
    return nullptr;
  return static_cast<const Compiled*>(
      cache.install(c.release(), [](void* p) { delete static_cast<Compiled*>(p); }));
}

// GCC spreads the many handlers' variables over the callee-saved registers and leaves the
// hottest ones (fuel, memory base and size) on the native stack, costing a load in every
// handler. Naming their registers (a GNU extension) keeps them there; ip and fp get the
// remaining callee-saved registers on their own.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define TG_HOT_REG(type, name, reg) register type name asm(reg)
#else
#define TG_HOT_REG(type, name, reg) type name
#endif

// Runs wasm function `entry` whose arguments are at `fp`; on success its results are at `fp`.
// The loops that whole-loop handlers run by themselves (see find_copy_loops), out of the
// interpreter's own function so that their addresses and index stay in registers: each makes
// the same memory accesses, fuel charges, interruption checks and traps, in the same order, as
// the instructions it stands for. It returns the loop's back-edge, with the slots as those
// instructions would leave them when the loop ends, or nullptr with `trap` set when it traps
// (which ends the call: nothing reads the slots after it). (ip goes in and out by value: taking
// the address of the interpreter's ip would keep it out of a register in every handler.)
template <bool Metering>
struct WholeLoop {
  uint64_t* fp;
  uint8_t* mem;
  uint64_t mem_size;
  uint64_t fuel;  ///< what is left, read back after the loop
  const std::atomic<bool>* interrupt;
  const void* const* labels;
  TrapKind trap = TrapKind::unreachable;  ///< why it trapped, when it returned nullptr

  // The loop's back-edge (the translator checked its form), its step and bound read.
  CountedTail counted_tail(const Ins& edge) const {
    CountedTail tail;
    tail.decode(edge, labels);
    tail.start(fp);
    return tail;
  }

  // Runs `loop` with the back-edge's test as a function of the index: the common relations as
  // their own code, the others through CountedTail::again.
  template <class Loop>
  static const Ins* with_relation(const CountedTail& tail, const Loop& loop) {
    const uint64_t n = tail.bound;
    switch (tail.relation) {
      case CountedTail::i32_ne:
        return loop([n](uint64_t i) { return u32(i) != u32(n); });
      case CountedTail::i32_lt_u:
        return loop([n](uint64_t i) { return u32(i) < u32(n); });
      case CountedTail::i64_ne:
        return loop([n](uint64_t i) { return i != n; });
      case CountedTail::i64_le_u:
        return loop([n](uint64_t i) { return i <= n; });
      default:
        return loop([&tail](uint64_t i) { return tail.again(i); });
    }
  }

  // The back-edge's charge and interruption check; false (with `trap`) if it traps.
  bool back_edge(const CountedTail& tail) {
    if constexpr (Metering) {
      uint64_t left;
      if (__builtin_sub_overflow(fuel, tail.cost, &left)) {
        trap = TrapKind::out_of_fuel;
        return false;
      }
      fuel = left;
    }
    if (interrupt->load(std::memory_order_relaxed)) {
      trap = TrapKind::interrupted;
      return false;
    }
    return true;
  }

  const Ins* out_of_bounds() {
    trap = TrapKind::memory_out_of_bounds;
    return nullptr;
  }

  // ip[0] x_f64_madd2_rmw, ip[1] the x_add2_i32 that moves its two addresses on by constants,
  // ip[2] the counted back-edge to ip[0].
  [[gnu::noinline]] const Ins* madd2(const Ins* ip) {
    return with_relation(counted_tail(ip[2]), [&](const auto& again) { return madd2(ip, again); });
  }
  template <class Again>
  const Ins* madd2(const Ins* ip, const Again& again) {
    const double y = f64(fp[ip->a]);
    const int32_t to = ip->d, from = ip->b, second = static_cast<int32_t>(ip->x);
    const auto to_next = static_cast<uint32_t>(ip->imm);
    const auto from_next = static_cast<uint32_t>(ip->imm >> 32);
    const auto to_step = static_cast<uint32_t>(ip[1].imm);
    const auto from_step = static_cast<uint32_t>(ip[1].imm >> 32);
    const Ins* const edge = ip + 2;
    const CountedTail tail = counted_tail(*edge);  // (read again: cheaper than passing it)
    uint8_t* const mem = this->mem;                // (locals: a store to memory cannot change them)
    const uint64_t mem_size = this->mem_size;
    uint32_t c0 = u32(fp[to]), b0 = u32(fp[from]), at = 0;
    uint64_t i = fp[tail.index];
    for (;;) {
      if (uint64_t{c0} + sizeof(double) > mem_size || uint64_t{b0} + sizeof(double) > mem_size)
        return out_of_bounds();
      uint64_t c, m;
      std::memcpy(&c, mem + c0, sizeof c);
      std::memcpy(&m, mem + b0, sizeof m);
      uint64_t r = bits(f64(c) + y * f64(m));
      std::memcpy(mem + c0, &r, sizeof r);
      at = c0 + to_next;
      const uint32_t b1 = b0 + from_next;
      if (uint64_t{at} + sizeof(double) > mem_size || uint64_t{b1} + sizeof(double) > mem_size)
        return out_of_bounds();
      std::memcpy(&c, mem + at, sizeof c);
      std::memcpy(&m, mem + b1, sizeof m);
      r = bits(f64(c) + y * f64(m));
      std::memcpy(mem + at, &r, sizeof r);
      c0 += to_step;
      b0 += from_step;
      i = tail.next(i);
      if (!again(i))
        break;
      if (!back_edge(tail))
        return nullptr;
    }
    fp[to] = c0;
    fp[from] = b0;
    fp[second] = at;
    fp[tail.index] = i;
    return edge;
  }

  // ip[0] x_*_c_bump: m[u32(fp[a] + imm) + x] = b, then fp[a] += fp[d]; ip[1] the counted
  // back-edge to it.
  template <class T>
  [[gnu::noinline]] const Ins* store_bump(const Ins* ip) {
    return with_relation(counted_tail(ip[1]),
                         [&](const auto& again) { return store_bump<T>(ip, again); });
  }
  template <class T, class Again>
  const Ins* store_bump(const Ins* ip, const Again& again) {
    const T v = static_cast<T>(static_cast<uint64_t>(static_cast<int64_t>(ip->b)));
    const auto offset = static_cast<uint32_t>(ip->imm);
    const uint32_t stride = u32(fp[ip->d]);
    const uint64_t memarg = ip->x;
    const int32_t address = ip->a;
    const Ins* const edge = ip + 1;
    const CountedTail tail = counted_tail(*edge);  // (read again: cheaper than passing it)
    uint8_t* const mem = this->mem;                // (locals: a store to memory cannot change them)
    const uint64_t mem_size = this->mem_size;
    uint32_t at = u32(fp[address]);
    uint64_t i = fp[tail.index];
    for (;;) {
      const uint64_t ea = uint64_t{u32(at + offset)} + memarg;
      if (ea + sizeof(T) > mem_size)
        return out_of_bounds();
      std::memcpy(mem + ea, &v, sizeof(T));
      at += stride;
      i = tail.next(i);
      if (!again(i))
        break;
      if (!back_edge(tail))
        return nullptr;
    }
    fp[address] = at;
    fp[tail.index] = i;
    return edge;
  }
};

// Under ASan, GCC's points-to analysis of run() took 776 of the 1000 s that compiling this file
// took, against 340 s before the ten whole-loop handlers (how they call their helper made no
// difference). The sanitizer builds, which exist to run the tests, skip it for run() (203 s in
// all); the release build (33 s) keeps it.
#if defined(__SANITIZE_ADDRESS__) && defined(__GNUC__) && !defined(__clang__)
#define TG_RUN_ATTRIBUTES gnu::hot, gnu::optimize("no-tree-pta")
#else
#define TG_RUN_ATTRIBUTES gnu::hot
#endif
template <bool Metering>
[[TG_RUN_ATTRIBUTES]] bool run(Exec& ex, Function* entry, uint64_t* fp) {
  static const void* const kLabels[] = {
#define TG_OP(name, prefix, code, imm, sig, fuel) &&L_##name,
#include "runtime/opcodes.def"
#undef TG_OP
      &&L_fuel, &&L_fuel_poll, &&L_br_unless, &&L_br_drop, &&L_br_if_drop, &&L_drop_v128,
      &&L_select_v128, &&L_local_get_v128, &&L_local_set_v128, &&L_local_tee_v128,
      &&L_global_get_v128, &&L_global_set_v128,
      // XOp
      &&L_x_poll, &&L_x_copy, &&L_x_copy2, &&L_x_copy4, &&L_x_mem_copy1, &&L_x_mem_copy2,
      &&L_x_mem_copy4, &&L_x_mem_copy8, &&L_x_mem_copy1x2, &&L_x_mem_copy1x3, &&L_x_mem_copy1x4,
      &&L_x_i32_xrot2, &&L_x_i32_xrot3, &&L_x_i32_xrot1_shr, &&L_x_i32_xrot2_shr,
      &&L_x_f64_madd_rmw, &&L_x_f64_mul3_add_rmw, &&L_x_f64_mul3_add_rmw_at, &&L_x_f64_mul3_sub_rmw,
      &&L_x_f64_madd_rmw_at, &&L_x_f64_acc_mulk_a, &&L_x_f64_rmw_add_mul, &&L_x_f64_mul_sqrt,
      &&L_x_f64_k_div_mul_sqrt, &&L_x_f64_madd2_rmw, &&L_x_f64_rmw_sub_mul, &&L_x_f64_madd2_loop,
      &&L_x_const, &&L_x_move, &&L_x_ret1, &&L_x_add2_i32, &&L_x_i32_add_and_imm,
      &&L_x_i32_shl_rk_and_imm, &&L_x_call_local, &&L_x_call_local_add, &&L_x_jmp_poll,
      &&L_x_copy4_jmp_poll, &&L_x_copy8_jmp_poll, &&L_x_br_unless_bit, &&L_x_br_gt_u_add_and,
      &&L_x_add32_jmp_poll, &&L_x_add64_jmp_poll, &&L_x_br_if_poll, &&L_x_br_unless_poll,
      &&L_x_inc_br_if_poll, &&L_x_inc_br_unless_poll, &&L_x_scan_bytes, &&L_x_scan_load,
#define X(name, get, rel) &&L_incp_##name, &&L_addp_##name,
      TG_INT_CMPS(X)
#undef X
#define X(name, get, rel) &&L_incp_##name##_imm, &&L_addbr_##name##_imm,
              TG_I32_CMPS(X)
#undef X
#define X(name, load, get, T, expr) &&L_##name##_ld,
                  TG_LOAD_BINOPS(X)
#undef X
#define X(bin, sh, get, shexpr, expr) &&L_##bin##_##sh,
                      TG_SHIFT_BINOPS(X)
#undef X
#define X(name, get, expr) &&L_##name##_rk,
                          TG_RK_BINOPS(X)
#undef X
#define X(name, get, expr) &&L_##name##_imm,
                              TG_DIV_BINOPS(X)
#undef X
          && L_x_i32_add3,
      &&L_x_i64_add3, &&L_x_i32_add4, &&L_x_i64_add4,
#define X(name, get, T, expr) \
  &&L_##name##_mul_l, &&L_##name##_mul_r, &&L_##name##_mulk_l, &&L_##name##_mulk_r,
      TG_MUL_BINOPS(X)
#undef X
#define X(name, get, expr, store, T) &&L_##name##_st,
          TG_STORE_BINOPS(X)
#undef X
#define X(name, load, get, T, expr) &&L_##name##_rmw,
              TG_LOAD_BINOPS(X)
#undef X
#define X(name, T, conv) &&L_##name##_k, &&L_##name##_r, &&L_##name##_a,
                  TG_LOADS(X)
#undef X
#define X(name, T) &&L_##name##_k, &&L_##name##_r, &&L_##name##_c, &&L_##name##_a,
                      TG_STORES(X)
#undef X
#define X(name, get, expr) &&L_##name##_imm,
                          TG_PURE_BINOPS(X)
#undef X
#define X(name, get, rel) &&L_br_##name, &&L_br_##name##_imm, &&L_brp_##name, &&L_brp_##name##_imm,
                              TG_INT_CMPS(X)
#undef X
#define X(base, label, cls) &&L_cp_##base,
                                  TG_COPY_PREFIXED(X)
#undef X
#define X(fam, w, op1, op2) &&L_##fam##_##w##_##op1##_##op2,
                                      TG_CHAIN_BINOPS(X)
#undef X
#define X(name, T) \
  &&L_##name##_bump, &&L_##name##_k_bump, &&L_##name##_c_bump, &&L_##name##_c_bump_loop,
                                          TG_STORES(X)
#undef X
#define X(copy, bytes) &&L_##copy##_to_sum, &&L_##copy##_loop, &&L_##copy##_to_sum_loop,
                                              TG_MEM_COPIES(X)
#undef X
#define X(name, get, rel) &&L_br_##name##_load8, &&L_br_##name##_imm_ld8r, &&L_br_##name##_imm_ld8k,
                                                  TG_I32_CMPS(X)
#undef X
#define X(rot) &&L_x_i32_##rot##_add, &&L_x_i32_##rot##_add3,
                                                      TG_XROTS(X)
#undef X
  };
  static_assert(sizeof(kLabels) / sizeof(kLabels[0]) == x_count);
#ifdef TG_INTERP_PROFILE
  g_profile.labels = kLabels;
#endif

  Instance* inst = entry->instance;
  const Ins* ip = nullptr;
  TG_HOT_REG(uint64_t, fuel, "r15") = ex.fuel;
  const std::atomic<bool>* const interrupt = ex.interrupt;
  uint64_t* const stack_end = ex.stack_end;
  Memory* memory = nullptr;
  TG_HOT_REG(uint8_t*, mem, "r12") = nullptr;
  TG_HOT_REG(uint64_t, mem_size, "r14") = 0;
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
#ifdef TG_INTERP_PROFILE
#define TG_DISPATCH()        \
  do {                       \
    profile_dispatch(ip->h); \
    goto * ip->h;            \
  } while (0)
#else
#define TG_DISPATCH() goto * ip->h
#endif
#define TG_NEXT()  \
  do {             \
    ++ip;          \
    TG_DISPATCH(); \
  } while (0)
// A taken branch's distance is in bytes: the next ip is one load and one add away from this
// one, which every instruction after a taken branch waits for (a scaled index would add a shift).
#define TG_JUMP()                                                                 \
  do {                                                                            \
    ip = reinterpret_cast<const Ins*>(reinterpret_cast<const char*>(ip) + ip->d); \
    TG_DISPATCH();                                                                \
  } while (0)
#define TG_TRAP(kind)      \
  do {                     \
    trap = TrapKind::kind; \
    goto L_trap;           \
  } while (0)
#define TG_TRAP_AS(kind) \
  do {                   \
    trap = (kind);       \
    goto L_trap;         \
  } while (0)
// The borrow of one subtraction is the out-of-fuel test (sub, jb); fuel is unchanged on a trap.
#define TG_CHARGE(units)                                \
  do {                                                  \
    if constexpr (Metering) {                           \
      const uint64_t units_ = (units);                  \
      uint64_t left_;                                   \
      if (__builtin_sub_overflow(fuel, units_, &left_)) \
        TG_TRAP(out_of_fuel);                           \
      fuel = left_;                                     \
    }                                                   \
  } while (0)
// GCC makes the plain loop a memset call, which costs more than the few locals most functions
// declare.
#define TG_ZERO_LOCALS(c)                                     \
  do {                                                        \
    uint64_t* const locals_ = fp + (c)->param_slots;          \
    const uint32_t n_ = (c)->local_slots - (c)->param_slots;  \
    if (n_ > 4) {                                             \
      std::memset(locals_, 0, size_t{n_} * sizeof(uint64_t)); \
    } else {                                                  \
      if (n_ > 0)                                             \
        locals_[0] = 0;                                       \
      if (n_ > 1)                                             \
        locals_[1] = 0;                                       \
      if (n_ > 2)                                             \
        locals_[2] = 0;                                       \
      if (n_ > 3)                                             \
        locals_[3] = 0;                                       \
    }                                                         \
  } while (0)
#define D fp[ip->d]
#define A fp[ip->a]
#define B fp[ip->b]
#define SP uint64_t* const sp = fp + ip->d

  TG_LOAD_MEMORY();
  TG_DEPTH_LIMIT();
  {
    const Compiled* c = compiled(*entry, Metering, kLabels);
    if (c == nullptr)
      TG_TRAP(unsupported);
    if (fp + c->frame_slots > stack_end)
      TG_TRAP(call_stack_exhausted);
    for (uint64_t* p = fp + c->param_slots; p < fp + c->local_slots; ++p)
      *p = 0;
    ip = c->code.data();
  }
  TG_DISPATCH();

  // ---- fuel and interruption ----
L_fuel:
  TG_CHARGE(ip->imm);
  TG_NEXT();
L_fuel_poll:
  TG_CHARGE(ip->imm);

L_x_poll:
  if (interrupt->load(std::memory_order_relaxed))
    TG_TRAP(interrupted);
  TG_NEXT();
  // A back-edge does the work of its loop header's fuel_poll, then lands after it.
#define TG_BACK_EDGE(cost)                          \
  do {                                              \
    TG_CHARGE(cost);                                \
    if (interrupt->load(std::memory_order_relaxed)) \
      TG_TRAP(interrupted);                         \
    TG_JUMP();                                      \
  } while (0)
  // A conditional branch not taken enters the next block, whose fuel it charges (x).
#define TG_FALL()     \
  do {                \
    TG_CHARGE(ip->x); \
    TG_NEXT();        \
  } while (0)
L_x_jmp_poll:
  TG_BACK_EDGE(ip->x);
L_x_add32_jmp_poll:
  B = u32(A + ip->imm);
  TG_BACK_EDGE(ip->x);
L_x_add64_jmp_poll:
  B = A + ip->imm;
  TG_BACK_EDGE(ip->x);
L_x_br_unless_bit : {
  // A set-membership test on a small value (`(1 << c) & mask`, as LLVM writes a switch on
  // characters) and the branch when c is not in the set.
  const uint32_t v =
      (static_cast<uint32_t>(ip->imm) << (B & 31)) & static_cast<uint32_t>(ip->imm >> 32);
  A = v;
  if (v == 0)
    TG_JUMP();
  TG_FALL();
}
L_x_br_gt_u_add_and : {
  // A range check, `(c - lo) & mask > hi - lo` (as LLVM writes `c < lo || c > hi` on a byte).
  const uint32_t v =
      (u32(A) + static_cast<uint32_t>(ip->imm)) & static_cast<uint32_t>((ip->imm >> 32) & 0xFFFF);
  B = v;
  if (v > static_cast<uint32_t>(ip->imm >> 48))
    TG_JUMP();
  TG_FALL();
}
L_x_br_if_poll:
  if (u32(A) != 0)
    TG_BACK_EDGE(ip->imm);
  TG_FALL();
L_x_br_unless_poll:
  if (u32(A) == 0)
    TG_BACK_EDGE(ip->imm);
  TG_FALL();

  // Loop tails: fp[a] += imm >> 32 (i32), then the back-edge on the new value.
#define TG_INC() A = u32(A) + static_cast<uint32_t>(ip->imm >> 32)
L_x_inc_br_if_poll:
  TG_INC();
  if (u32(A) != 0)
    TG_BACK_EDGE(u32(ip->imm));
  TG_FALL();
L_x_inc_br_unless_poll:
  TG_INC();
  if (u32(A) == 0)
    TG_BACK_EDGE(u32(ip->imm));
  TG_FALL();
  // Byte-scan loops (find_byte_scans): the loop's state, and the interruption check that stands
  // for the back-edges' own.
#define TG_SCAN_START()                                              \
  const ByteScan& s = *reinterpret_cast<const ByteScan*>(ip->imm);   \
  uint32_t i = u32(fp[s.index]);                                     \
  const uint32_t base = s.two_slots ? u32(fp[s.base]) : s.offset;    \
  const uint32_t bound = s.bound_const ? s.bound : u32(fp[s.limit]); \
  uint32_t polls = 0
#define TG_SCAN_POLL()                                                         \
  do {                                                                         \
    if ((++polls & 1023) == 0 && interrupt->load(std::memory_order_relaxed)) { \
      fp[s.index] = i;                                                         \
      TG_TRAP(interrupted);                                                    \
    }                                                                          \
  } while (0)
L_x_scan_bytes : {
  TG_SCAN_START();
  uint8_t c;
  for (;;) {
    const uint64_t ea = u32(base + i);
    if (ea >= mem_size) {
      fp[s.index] = i;
      TG_TRAP(memory_out_of_bounds);
    }
    c = mem[ea];
    if (const uint8_t k = s.action[c]; k != 0) {
      ip = s.exits[k];
      break;
    }
    i = u32(i + 1);
    if (s.less ? i >= bound : i == bound) {
      ip = s.after;
      break;
    }
    TG_SCAN_POLL();
  }
  fp[s.index] = i;
  fp[s.byte] = c;
  TG_DISPATCH();
}
L_x_scan_load : {
  TG_SCAN_START();
  const uint32_t first = i;
  for (;;) {
    const uint64_t ea = uint64_t{u32(base + i)} + s.memarg;
    if (ea >= mem_size || s.action[mem[ea]] != 0)
      break;
    const uint32_t next = u32(i + 1);
    if (s.less ? next >= bound : next == bound)
      break;  // this iteration is the last: it runs as it is
    i = next;
    TG_SCAN_POLL();
  }
  if (!s.effects.empty() && i != first) {
    // The iterations skipped: their last one's writes (its byte was in bounds).
    const uint32_t previous = u32(i - 1);
    const uint8_t c = mem[uint64_t{u32(base + previous)} + s.memarg];
    for (const ByteScan::Effect& e : s.effects)
      fp[e.slot] = e.from_index ? uint64_t{u32(previous + e.offset)} : e.by_byte[c];
  }
  fp[s.index] = i;
  if (s.copy_to >= 0)
    fp[s.copy_to] = fp[s.copy_from];
  const uint64_t ea = uint64_t{u32(base + i)} + s.memarg;
  if (ea >= mem_size)
    TG_TRAP(memory_out_of_bounds);
  fp[s.byte] = mem[ea];
  TG_NEXT();
}
#undef TG_SCAN_START
#undef TG_SCAN_POLL
#define X(name, get, rel)                                             \
  L_incp_##name##_imm : TG_INC();                                     \
  if (get(A) rel get(ip->imm))                                        \
    TG_BACK_EDGE(static_cast<uint32_t>(ip->b));                       \
  TG_FALL();                                                          \
  L_addbr_##name##_imm : {                                            \
    const uint32_t v = u32(A) + static_cast<uint32_t>(ip->imm >> 32); \
    B = v;                                                            \
    if (get(uint64_t{v}) rel get(ip->imm))                            \
      TG_JUMP();                                                      \
    TG_FALL();                                                        \
  }
  TG_I32_CMPS(X)
#undef X
  // Register-form compares of either width: fp[a] += the sign-extended imm >> 32 (incp) or
  // fp[imm >> 32] (addp), wrapped to the compare's width; the loop cost is imm's low half.
#define X(name, get, rel)                                                               \
  L_incp_##name : {                                                                     \
    using U = std::make_unsigned_t<decltype(get(uint64_t{0}))>;                         \
    A = static_cast<U>(A + static_cast<uint64_t>(static_cast<int32_t>(ip->imm >> 32))); \
    if (get(A) rel get(B))                                                              \
      TG_BACK_EDGE(u32(ip->imm));                                                       \
    TG_FALL();                                                                          \
  }                                                                                     \
  L_addp_##name : {                                                                     \
    using U = std::make_unsigned_t<decltype(get(uint64_t{0}))>;                         \
    A = static_cast<U>(A + fp[static_cast<int32_t>(ip->imm >> 32)]);                    \
    if (get(A) rel get(B))                                                              \
      TG_BACK_EDGE(u32(ip->imm));                                                       \
    TG_FALL();                                                                          \
  }
  TG_INT_CMPS(X)
#undef X
#undef TG_INC

#define TG_CHAIN_T_i32 uint32_t
#define TG_CHAIN_T_i64 uint64_t
#define TG_E_add(x, y) ((x) + (y))
#define TG_E_sub(x, y) ((x) - (y))
#define TG_E_and_(x, y) ((x) & (y))
#define TG_E_or_(x, y) ((x) | (y))
#define TG_E_xor_(x, y) ((x) ^ (y))
#define TG_E_mul(x, y) ((x) * (y))
#define TG_E_shl(x, y) ((x) << ((y) & (sizeof(T) * 8 - 1)))
#define TG_E_shr_u(x, y) ((x) >> ((y) & (sizeof(T) * 8 - 1)))
#define TG_FIRST_rr static_cast<T>(B)
#define TG_FIRST_rk static_cast<T>(B)
#define TG_FIRST_kk static_cast<T>(ip->imm)
#define TG_SECOND_rr static_cast<T>(fp[static_cast<int32_t>(ip->x)])
#define TG_SECOND_rk static_cast<T>(ip->imm)
#define TG_SECOND_kk static_cast<T>(ip->x)
#define X(fam, w, op1, op2)                                                        \
  L_##fam##_##w##_##op1##_##op2 : {                                                \
    using T = TG_CHAIN_T_##w;                                                      \
    const T first = static_cast<T>(TG_E_##op1(static_cast<T>(A), TG_FIRST_##fam)); \
    D = static_cast<T>(TG_E_##op2(first, TG_SECOND_##fam));                        \
    TG_NEXT();                                                                     \
  }
  TG_CHAIN_BINOPS(X)
#undef X
#undef TG_CHAIN_T_i32
#undef TG_CHAIN_T_i64
#undef TG_E_add
#undef TG_E_sub
#undef TG_E_and_
#undef TG_E_or_
#undef TG_E_xor_
#undef TG_E_mul
#undef TG_E_shl
#undef TG_E_shr_u
#undef TG_FIRST_rr
#undef TG_FIRST_rk
#undef TG_FIRST_kk
#undef TG_SECOND_rr
#undef TG_SECOND_rk
#undef TG_SECOND_kk

  // ---- a copy joined to the handler after it ----
#define TG_COPY_BX() fp[ip->b] = fp[static_cast<int32_t>(ip->x)]
#define TG_COPY_BI() fp[ip->b] = fp[static_cast<int32_t>(ip->imm >> 32)]
#define X(base, label, cls)      \
  L_cp_##base : TG_COPY_##cls(); \
  goto label;
  TG_COPY_PREFIXED(X)
#undef X
#undef TG_COPY_BX
#undef TG_COPY_BI

  // ---- moves ----
  // The destination is d0 (an i32 address) + doff; fp[d] + b + the high half of imm the source.
#define TG_MEM_COPY(bytes, d0, doff)                                               \
  {                                                                                \
    const uint64_t src =                                                           \
        uint64_t{u32(fp[ip->d] + static_cast<uint32_t>(ip->b))} + (ip->imm >> 32); \
    if (src + (bytes) > mem_size)                                                  \
      TG_TRAP(memory_out_of_bounds);                                               \
    const uint64_t dst = uint64_t{d0} + (doff);                                    \
    if (dst + (bytes) > mem_size)                                                  \
      TG_TRAP(memory_out_of_bounds);                                               \
    uint8_t buf[bytes];                                                            \
    std::memcpy(buf, mem + src, (bytes));                                          \
    std::memcpy(mem + dst, buf, (bytes));                                          \
    TG_NEXT();                                                                     \
  }
#define TG_DST u32(A + static_cast<uint32_t>(ip->imm))
  // _to_sum: the i32.add before, fp[x] = fp[a] + fp[low half of imm], gives the destination.
#define TG_SUM()                                                    \
  const uint32_t sum = u32(A + fp[static_cast<uint32_t>(ip->imm)]); \
  fp[static_cast<int32_t>(ip->x)] = sum
#define TG_TO_SUM(copy, bytes) \
  {                            \
    TG_SUM();                  \
    copy(bytes, sum, 0)        \
  }
L_x_mem_copy1:
  TG_MEM_COPY(1, TG_DST, ip->x)
L_x_mem_copy2:
  TG_MEM_COPY(2, TG_DST, ip->x)
L_x_mem_copy4:
  TG_MEM_COPY(4, TG_DST, ip->x)
L_x_mem_copy8:
  TG_MEM_COPY(8, TG_DST, ip->x)
L_x_mem_copy1_to_sum:
  TG_TO_SUM(TG_MEM_COPY, 1)
L_x_mem_copy2_to_sum:
  TG_TO_SUM(TG_MEM_COPY, 2)
L_x_mem_copy4_to_sum:
  TG_TO_SUM(TG_MEM_COPY, 4)
L_x_mem_copy8_to_sum:
  TG_TO_SUM(TG_MEM_COPY, 8)
#undef TG_MEM_COPY
// Fast when no address wraps around 4 GiB and every byte is in bounds; otherwise each byte as
// its own x_mem_copy1 would do it (source checked, then destination, then copied). In the fast
// path one load and one store do it unless the destination starts inside the source after its
// first byte (src < dst < src + n): only then does a byte read one the copy wrote before.
#define TG_MEM_COPY_BYTES(n, dst0, doff)                                                     \
  {                                                                                          \
    const uint32_t s0 = u32(fp[ip->d] + static_cast<uint32_t>(ip->b));                       \
    const uint32_t d0 = (dst0);                                                              \
    const uint64_t dofs = (doff);                                                            \
    const uint64_t src = uint64_t{s0} + (ip->imm >> 32), dst = uint64_t{d0} + dofs;          \
    if (s0 <= UINT32_MAX - ((n)-1) && d0 <= UINT32_MAX - ((n)-1) && src + (n) <= mem_size && \
        dst + (n) <= mem_size) {                                                             \
      if (dst - src - 1 >= (n)-1) {                                                          \
        uint8_t buf[n];                                                                      \
        std::memcpy(buf, mem + src, (n));                                                    \
        std::memcpy(mem + dst, buf, (n));                                                    \
      } else {                                                                               \
        for (uint32_t k = 0; k < (n); ++k)                                                   \
          mem[dst + k] = mem[src + k];                                                       \
      }                                                                                      \
    } else {                                                                                 \
      for (uint32_t k = 0; k < (n); ++k) {                                                   \
        const uint64_t s = uint64_t{u32(s0 + k)} + (ip->imm >> 32);                          \
        if (s + 1 > mem_size)                                                                \
          TG_TRAP(memory_out_of_bounds);                                                     \
        const uint64_t d = uint64_t{u32(d0 + k)} + dofs;                                     \
        if (d + 1 > mem_size)                                                                \
          TG_TRAP(memory_out_of_bounds);                                                     \
        mem[d] = mem[s];                                                                     \
      }                                                                                      \
    }                                                                                        \
    TG_NEXT();                                                                               \
  }
L_x_mem_copy1x2:
  TG_MEM_COPY_BYTES(2, TG_DST, ip->x)
L_x_mem_copy1x3:
  TG_MEM_COPY_BYTES(3, TG_DST, ip->x)
L_x_mem_copy1x4:
  TG_MEM_COPY_BYTES(4, TG_DST, ip->x)
L_x_mem_copy1x2_to_sum:
  TG_TO_SUM(TG_MEM_COPY_BYTES, 2)
L_x_mem_copy1x3_to_sum:
  TG_TO_SUM(TG_MEM_COPY_BYTES, 3)
L_x_mem_copy1x4_to_sum:
  TG_TO_SUM(TG_MEM_COPY_BYTES, 4)
#undef TG_MEM_COPY_BYTES
  // A copy loop: this copy of `bytes` bytes, whose source and destination both advance with the
  // index fp[e.a], and its back-edge e = ip[1] (`i += bytes; if (i != n)` or `i < n`, unsigned)
  // jumping back to it. When every iteration's bytes are in bounds, no address wraps around
  // 4 GiB, the destination does not start inside the source after its first byte (the one case
  // where a forward copy reads what it wrote) and the fuel covers it all, the iterations left run
  // as one memmove, at most kLoopChunk bytes between two interruption checks; the slots, fuel
  // and memory end as the instructions one by one would leave them. Otherwise this iteration runs
  // as the plain copy and the back-edge after it decides, as before.
#define TG_COPY_LOOP(bytes, plain, to_sum)                                                         \
  {                                                                                                \
    const Ins& e = ip[1];                                                                          \
    const uint32_t i0 = u32(fp[e.a]);                                                              \
    const bool imm_form = e.h == &&L_incp_i32_ne_imm || e.h == &&L_incp_i32_lt_u_imm;              \
    const uint32_t limit = imm_form ? u32(e.imm) : u32(fp[e.b]);                                   \
    if (i0 >= limit)                                                                               \
      goto plain;                                                                                  \
    const uint64_t span = limit - i0;                                                              \
    if ((e.h == &&L_incp_i32_ne_imm || e.h == &&L_incp_i32_ne) && span % (bytes) != 0)             \
      goto plain;                                                                                  \
    const uint64_t iterations = (span + (bytes)-1) / (bytes);                                      \
    if (uint64_t{i0} + iterations * (bytes) > UINT32_MAX)                                          \
      goto plain;                                                                                  \
    const bool whole = iterations * (bytes) <= kLoopChunk;                                         \
    const uint64_t runs = whole ? iterations : kLoopChunk / (bytes);                               \
    const uint64_t len = runs * (bytes);                                                           \
    const uint64_t other =                                                                         \
        to_sum ? (ip->a == e.a ? u32(fp[u32(ip->imm)]) : u32(A)) : static_cast<uint32_t>(ip->imm); \
    const uint64_t src0 = uint64_t{i0} + static_cast<uint32_t>(ip->b);                             \
    const uint64_t dst0 = uint64_t{i0} + other;                                                    \
    /* No address wraps: the linear ones are past 4 GiB, hence out of bounds, if one would. */     \
    const uint64_t src = src0 + (ip->imm >> 32), dst = dst0 + (to_sum ? 0 : ip->x);                \
    if (src + len > mem_size || dst + len > mem_size || (src < dst && dst < src + len))            \
      goto plain;                                                                                  \
    const uint64_t edges = whole ? runs - 1 : runs;                                                \
    const uint64_t each = imm_form ? u32(e.b) : u32(e.imm);                                        \
    uint64_t cost = edges * each;                                                                  \
    if (whole && __builtin_add_overflow(cost, uint64_t{e.x}, &cost))                               \
      goto plain;                                                                                  \
    if constexpr (Metering) {                                                                      \
      if (cost > fuel)                                                                             \
        goto plain;                                                                                \
      fuel -= cost;                                                                                \
    }                                                                                              \
    std::memmove(mem + dst, mem + src, len);                                                       \
    fp[e.a] = u32(i0 + len);                                                                       \
    if (to_sum)                                                                                    \
      fp[static_cast<int32_t>(ip->x)] = u32(dst0 + len - (bytes));                                 \
    if (edges != 0 && interrupt->load(std::memory_order_relaxed))                                  \
      TG_TRAP(interrupted);                                                                        \
    if (whole)                                                                                     \
      ip += 2;                                                                                     \
    TG_DISPATCH();                                                                                 \
  }
#define X(copy, bytes)                                                          \
  L_##copy##_loop : TG_COPY_LOOP(bytes, L_##copy, false) L_##copy##_to_sum_loop \
      : TG_COPY_LOOP(bytes, L_##copy##_to_sum, true)
  TG_MEM_COPIES(X)
#undef X
#undef TG_COPY_LOOP
#undef TG_DST
#undef TG_SUM
#undef TG_TO_SUM
  // `m[p] = m[p] op a * b * c`, each rounded, the product still written to its slot: from
  // f64_mul_mul_l then f64_add_rmw (+=), or f64.load, f64_mul_mul_l, f64_sub_st (-=).
#define TG_MUL3_RMW(result)                                                          \
  {                                                                                  \
    const double product = (f64(A) * f64(B)) * f64(fp[static_cast<int32_t>(ip->x)]); \
    fp[static_cast<int32_t>(ip->imm >> 32)] = bits(product);                         \
    const uint64_t ea = uint64_t{u32(D)} + static_cast<uint32_t>(ip->imm);           \
    if (ea + sizeof(double) > mem_size)                                              \
      TG_TRAP(memory_out_of_bounds);                                                 \
    uint64_t m;                                                                      \
    std::memcpy(&m, mem + ea, sizeof m);                                             \
    const uint64_t r = bits(result);                                                 \
    std::memcpy(mem + ea, &r, sizeof r);                                             \
    TG_NEXT();                                                                       \
  }
L_x_f64_mul3_add_rmw:
  TG_MUL3_RMW(product + f64(m))
L_x_f64_mul3_sub_rmw:
  TG_MUL3_RMW(f64(m) - product)
#undef TG_MUL3_RMW
L_x_f64_mul3_add_rmw_at : {
  // `p = q + k; m[p] += a * b * c`, the product a temporary no one reads after.
  const uint32_t at = u32(fp[static_cast<int32_t>(ip->imm >> 32)] + static_cast<uint32_t>(ip->imm));
  D = at;
  const double product = (f64(A) * f64(B)) * f64(fp[static_cast<int32_t>(ip->x)]);
  if (uint64_t{at} + sizeof(double) > mem_size)
    TG_TRAP(memory_out_of_bounds);
  uint64_t m;
  std::memcpy(&m, mem + at, sizeof m);
  const uint64_t r = bits(product + f64(m));
  std::memcpy(mem + at, &r, sizeof r);
  TG_NEXT();
}
L_x_f64_madd_rmw_at : {
  // `p = q + k; m[p] += a * m[r + j]`: the address the read-modify-write needs, computed first.
  const uint32_t at = u32(fp[static_cast<int32_t>(ip->x)] + (ip->imm >> 32));
  D = at;
  if (uint64_t{at} + sizeof(double) > mem_size)
    TG_TRAP(memory_out_of_bounds);
  uint64_t c;
  std::memcpy(&c, mem + at, sizeof c);
  const uint64_t eb = uint64_t{u32(B + static_cast<uint32_t>(ip->imm))};
  if (eb + sizeof(double) > mem_size)
    TG_TRAP(memory_out_of_bounds);
  uint64_t m;
  std::memcpy(&m, mem + eb, sizeof m);
  const double p = f64(A) * f64(m);
  const uint64_t r = bits(f64(c) + p);
  std::memcpy(mem + at, &r, sizeof r);
  TG_NEXT();
}
L_x_f64_acc_mulk_a : {
  // `v = m[s]; acc += v * k; m[t] = acc` at two constant addresses (an unrolled loop over a
  // static array): the loaded value and the sum stay in their slots.
  if (uint64_t{ip->x} + sizeof(double) > mem_size)
    TG_TRAP(memory_out_of_bounds);
  uint64_t v;
  std::memcpy(&v, mem + ip->x, sizeof v);
  A = v;
  const uint64_t acc = bits(f64(D) + f64(v) * f64(ip->imm));
  D = acc;
  const uint64_t to = static_cast<uint32_t>(ip->b);
  if (to + sizeof(double) > mem_size)
    TG_TRAP(memory_out_of_bounds);
  std::memcpy(mem + to, &acc, sizeof acc);
  TG_NEXT();
}
// `m[p] = m[p] op a * b` whose load the compiler placed before the operands' computation.
#define TG_RMW_MUL(op)                            \
  {                                               \
    const double product = f64(A) * f64(B);       \
    const uint64_t ea = uint64_t{u32(D)} + ip->x; \
    if (ea + sizeof(double) > mem_size)           \
      TG_TRAP(memory_out_of_bounds);              \
    uint64_t m;                                   \
    std::memcpy(&m, mem + ea, sizeof m);          \
    const uint64_t r = bits(f64(m) op product);   \
    std::memcpy(mem + ea, &r, sizeof r);          \
    TG_NEXT();                                    \
  }
L_x_f64_rmw_add_mul:
  TG_RMW_MUL(+)
L_x_f64_rmw_sub_mul:
  TG_RMW_MUL(-)
#undef TG_RMW_MUL
  // `a * sqrt(b)` and `k / (a * sqrt(b))` (an inverse distance cubed, in n-body codes), each
  // operation rounded as on its own; the square root stays in its slot.
L_x_f64_mul_sqrt : {
  const uint64_t root = bits(std::sqrt(f64(B)));
  fp[static_cast<int32_t>(ip->x)] = root;
  D = bits(f64(A) * f64(root));
  TG_NEXT();
}
L_x_f64_k_div_mul_sqrt : {
  const uint64_t root = bits(std::sqrt(f64(B)));
  fp[static_cast<int32_t>(ip->x)] = root;
  D = bits(f64(ip->imm) / (f64(A) * f64(root)));
  TG_NEXT();
}
// Two steps of `c[j] += y * b[j]` unrolled by two: x_f64_madd_rmw, then x_f64_madd_rmw_at on
// the next element, in that order (the second may read what the first wrote).
#define TG_F64_MADD2(d, a, b, x, imm)                                               \
  do {                                                                              \
    const double y = f64(fp[a]);                                                    \
    const uint64_t c0 = u32(fp[d]), b0 = u32(fp[b]);                                \
    if (c0 + sizeof(double) > mem_size || b0 + sizeof(double) > mem_size)           \
      TG_TRAP(memory_out_of_bounds);                                                \
    uint64_t c, m;                                                                  \
    std::memcpy(&c, mem + c0, sizeof c);                                            \
    std::memcpy(&m, mem + b0, sizeof m);                                            \
    uint64_t r = bits(f64(c) + y * f64(m));                                         \
    std::memcpy(mem + c0, &r, sizeof r);                                            \
    const uint32_t at = u32(fp[d] + static_cast<uint32_t>(imm));                    \
    fp[x] = at;                                                                     \
    const uint64_t b1 = u32(fp[b] + ((imm) >> 32));                                 \
    if (uint64_t{at} + sizeof(double) > mem_size || b1 + sizeof(double) > mem_size) \
      TG_TRAP(memory_out_of_bounds);                                                \
    std::memcpy(&c, mem + at, sizeof c);                                            \
    std::memcpy(&m, mem + b1, sizeof m);                                            \
    r = bits(f64(c) + y * f64(m));                                                  \
    std::memcpy(mem + at, &r, sizeof r);                                            \
  } while (0)
L_x_f64_madd2_rmw:
  TG_F64_MADD2(ip->d, ip->a, ip->b, static_cast<int32_t>(ip->x), ip->imm);
  TG_NEXT();
L_x_f64_madd2_loop : {
  // (WholeLoop: the three instructions run as one loop with the addresses in registers.)
  WholeLoop<Metering> loop{fp, mem, mem_size, fuel, interrupt, kLabels};
  const Ins* const edge = loop.madd2(ip);
  fuel = loop.fuel;
  if (edge == nullptr)
    TG_TRAP_AS(loop.trap);
  ip = edge;
  TG_FALL();
}
#undef TG_F64_MADD2
L_x_f64_madd_rmw : {
  const uint64_t ea = uint64_t{u32(D)} + ip->x;
  if (ea + sizeof(double) > mem_size)
    TG_TRAP(memory_out_of_bounds);
  uint64_t c;
  std::memcpy(&c, mem + ea, sizeof c);
  const uint64_t eb = uint64_t{u32(B + static_cast<uint32_t>(ip->imm))} + (ip->imm >> 32);
  if (eb + sizeof(double) > mem_size)
    TG_TRAP(memory_out_of_bounds);
  uint64_t m;
  std::memcpy(&m, mem + eb, sizeof m);
  const double p = f64(A) * f64(m);
  const uint64_t r = bits(f64(c) + p);
  std::memcpy(mem + ea, &r, sizeof r);
  TG_NEXT();
}
// Pairs (destination, source) of 16-bit slots, in order.
#define TG_COPY4(p0, p1, p2, p3)      \
  do {                                \
    fp[(p0)&0xFFFF] = fp[(p0) >> 16]; \
    fp[(p1)&0xFFFF] = fp[(p1) >> 16]; \
    fp[(p2)&0xFFFF] = fp[(p2) >> 16]; \
    fp[(p3)&0xFFFF] = fp[(p3) >> 16]; \
  } while (0)
L_x_copy4:
  TG_COPY4(static_cast<uint32_t>(ip->d), static_cast<uint32_t>(ip->a), static_cast<uint32_t>(ip->b),
           ip->x);
  TG_NEXT();
L_x_copy4_jmp_poll:
  TG_COPY4(static_cast<uint32_t>(ip->a), static_cast<uint32_t>(ip->b),
           static_cast<uint32_t>(ip->imm), static_cast<uint32_t>(ip->imm >> 32));
  TG_BACK_EDGE(ip->x);
#undef TG_COPY4
  // Pairs (destination, source) of 8-bit slots, four to a 64-bit word, in order.
#define TG_COPY8(w)                                \
  do {                                             \
    const uint64_t w_ = (w);                       \
    fp[w_ & 0xFF] = fp[(w_ >> 8) & 0xFF];          \
    fp[(w_ >> 16) & 0xFF] = fp[(w_ >> 24) & 0xFF]; \
    fp[(w_ >> 32) & 0xFF] = fp[(w_ >> 40) & 0xFF]; \
    fp[(w_ >> 48) & 0xFF] = fp[w_ >> 56];          \
  } while (0)
L_x_copy8_jmp_poll:
  TG_COPY8(uint64_t{static_cast<uint32_t>(ip->a)} | uint64_t{static_cast<uint32_t>(ip->b)} << 32);
  TG_COPY8(ip->imm);
  TG_BACK_EDGE(ip->x);
#undef TG_COPY8
L_x_copy2:
  fp[ip->d] = fp[ip->a];
  fp[ip->b] = fp[static_cast<int32_t>(ip->x)];
  TG_NEXT();
L_x_copy:
  D = A;
  TG_NEXT();
L_x_const:
  D = ip->imm;
  TG_NEXT();
L_x_move : {
  uint64_t* dst = fp + ip->d;
  const uint64_t* src = fp + ip->a;
  for (int32_t i = 0; i < ip->b; ++i)
    dst[i] = src[i];
  TG_NEXT();
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
L_br_drop:
L_br_if_drop:
L_drop:
L_drop_v128:
L_local_get:
L_local_set:
L_local_tee:
L_i32_const:
L_i64_const:
L_f32_const:
L_f64_const:
L_i32_reinterpret_f32:
L_i64_reinterpret_f64:
L_f32_reinterpret_i32:
L_f64_reinterpret_i64:
  // The translation never emits these (structure, or work done at translation time).
  TG_TRAP(unsupported);
L_br:
  TG_JUMP();
L_br_if:
  if (u32(A) != 0)
    TG_JUMP();
  TG_FALL();
L_br_unless:
  if (u32(A) == 0)
    TG_JUMP();
  TG_FALL();
  // Loop costs: in imm (register form) or b (constant form).
#define X(name, get, rel)                                                                       \
  L_br_##name : if (get(A) rel get(B)) TG_JUMP();                                               \
  TG_FALL();                                                                                    \
  L_br_##name##_imm : if (get(A) rel get(ip->imm)) TG_JUMP();                                   \
  TG_FALL();                                                                                    \
  L_brp_##name : if (get(A) rel get(B)) TG_BACK_EDGE(ip->imm);                                  \
  TG_FALL();                                                                                    \
  L_brp_##name##_imm : if (get(A) rel get(ip->imm)) TG_BACK_EDGE(static_cast<uint32_t>(ip->b)); \
  TG_FALL();
  TG_INT_CMPS(X)
#undef X
  // `if (i rel n) goto out; c = m[i + k]` (a bounds-checked byte read, as scanners do): the
  // branch, its fall-through charge (x), then i32.load8_u of fp[a] + the low half of imm into
  // the slot in its high half.
#define X(name, get, rel)                                                  \
  L_br_##name##_load8 : {                                                  \
    if (get(A) rel get(B))                                                 \
      TG_JUMP();                                                           \
    TG_CHARGE(ip->x);                                                      \
    const uint64_t ea = uint64_t{u32(A + static_cast<uint32_t>(ip->imm))}; \
    if (ea + 1 > mem_size)                                                 \
      TG_TRAP(memory_out_of_bounds);                                       \
    fp[static_cast<int32_t>(ip->imm >> 32)] = mem[ea];                     \
    TG_NEXT();                                                             \
  }
  TG_I32_CMPS(X)
#undef X
  // i32.load8_u without offset, then a compare of the byte with a constant and a branch: the
  // address is fp[a] + fp[b] (ld8r; the byte goes to the slot in imm's high half, the constant is
  // its low half) or fp[a] + imm's low half (ld8k; the byte goes to fp[b], the constant is imm's
  // high half). x is the fall-through charge, as for any branch.
#define X(name, get, rel)                                                  \
  L_br_##name##_imm_ld8r : {                                               \
    const uint64_t ea = uint64_t{u32(A + B)};                              \
    if (ea + 1 > mem_size)                                                 \
      TG_TRAP(memory_out_of_bounds);                                       \
    const uint64_t v = mem[ea];                                            \
    fp[static_cast<int32_t>(ip->imm >> 32)] = v;                           \
    if (get(v) rel get(ip->imm))                                           \
      TG_JUMP();                                                           \
    TG_FALL();                                                             \
  }                                                                        \
  L_br_##name##_imm_ld8k : {                                               \
    const uint64_t ea = uint64_t{u32(A + static_cast<uint32_t>(ip->imm))}; \
    if (ea + 1 > mem_size)                                                 \
      TG_TRAP(memory_out_of_bounds);                                       \
    const uint64_t v = mem[ea];                                            \
    B = v;                                                                 \
    if (get(v) rel get(ip->imm >> 32))                                     \
      TG_JUMP();                                                           \
    TG_FALL();                                                             \
  }
  TG_I32_CMPS(X)
#undef X
L_br_table : {
  uint32_t index = u32(A + ip->x);
  if (index > static_cast<uint32_t>(ip->b))
    index = static_cast<uint32_t>(ip->b);
  const TableEntry& t = reinterpret_cast<const TableEntry*>(ip->imm)[index];
  if (t.keep != 0) {
    const uint64_t* src = fp + ip->d - t.keep;
    uint64_t* dst = fp + ip->d - t.keep - t.drop;
    for (uint32_t i = 0; i < t.keep; ++i)
      dst[i] = src[i];
  }
  ip = t.target;
  TG_DISPATCH();
}
L_x_ret1:
  fp[0] = A;
  goto do_return;
L_return_ : {
  const uint64_t* src = fp + ip->a;
  for (int32_t i = 0; i < ip->b; ++i)
    fp[i] = src[i];
  goto do_return;
}
do_return : {
  if (depth == 0) {
    ex.fuel = fuel;
    return true;
  }
  const Frame& f = frames[--depth];
  ip = f.ip;
  fp = f.fp;
  if (f.inst != inst) {
    inst = f.inst;
    TG_LOAD_MEMORY();
  }
  TG_DISPATCH();
}
L_call:
  callee = inst->funcs[ip->x];
  goto do_call;
L_x_call_local_add:
  D = u32(A + static_cast<uint32_t>(ip->b));
L_x_call_local : {
  // The common case inline; a callee not translated yet, or a frame that needs checks or more
  // room, takes the general path, which handles it exactly as a plain call.
  const void* cached = reinterpret_cast<const ir::TierCache*>(ip->imm)->get();
  uint64_t* const args = fp + ip->d;
  const Compiled* c = static_cast<const Compiled*>(cached);
  if (cached == nullptr || depth >= depth_limit || args + c->frame_slots > stack_end) {
    callee = inst->funcs[ip->x];
    goto do_call;
  }
  frames[depth++] = Frame{ip + 1, fp, inst};
  fp = args;
  TG_ZERO_LOCALS(c);
  TG_CHARGE(c->entry_cost);
  if (interrupt->load(std::memory_order_relaxed))
    TG_TRAP(interrupted);
  ip = c->code.data() + 1;
  TG_DISPATCH();
}
L_call_indirect : {
  const uint32_t index = u32(A);
  const Table* table = inst->tables[ip->b];
  if (index >= table->elems.size())
    TG_TRAP(undefined_element);
  const RefBits ref = table->elems[index];
  if (ref == 0)
    TG_TRAP(uninitialized_element);
  callee = reinterpret_cast<Function*>(ref);
  if (callee->type_id != inst->module->type_ids[ip->x])
    TG_TRAP(indirect_call_type_mismatch);
  goto do_call;
}
do_call : {
  uint64_t* const args = fp + ip->d;
  if (callee->is_host()) {
    ex.act.frames_used = ex.frame_base + depth;
    ex.act.call_depth = ex.depth_base + depth + 1;
    if (call_host(ex, *callee, inst, args + slots_of(callee->type.params)) == nullptr)
      goto L_host_trap;
    frames = tls_frames.data() + ex.frame_base;
    TG_DEPTH_LIMIT();
    TG_LOAD_MEMORY();
    TG_NEXT();
  }
  const void* cached = callee->code->interp_code[Metering ? 1 : 0].get();
  const Compiled* c = cached != nullptr ? static_cast<const Compiled*>(cached)
                                        : compiled(*callee, Metering, kLabels);
  if (c == nullptr)
    TG_TRAP(unsupported);
  if (depth >= depth_limit) {
    if (depth >= max_push)
      TG_TRAP(call_stack_exhausted);
    tls_frames.resize(std::min<size_t>(tls_frames.size() * 2, size_t{ex.frame_base} + max_push));
    frames = tls_frames.data() + ex.frame_base;
    TG_DEPTH_LIMIT();
  }
  if (args + c->frame_slots > stack_end)
    TG_TRAP(call_stack_exhausted);
  frames[depth++] = Frame{ip + 1, fp, inst};
  fp = args;
  TG_ZERO_LOCALS(c);
  if (callee->instance != inst) {
    inst = callee->instance;
    TG_LOAD_MEMORY();
  }
  // The call does the callee's entry fuel_poll and starts after it.
  TG_CHARGE(c->entry_cost);
  if (interrupt->load(std::memory_order_relaxed))
    TG_TRAP(interrupted);
  ip = c->code.data() + 1;
  TG_DISPATCH();
}

  // ---- parametric ----
L_select:
L_select_t : {
  const uint64_t a = A, b = B;
  D = u32(fp[static_cast<int32_t>(ip->x)]) != 0 ? a : b;
  TG_NEXT();
}
L_select_v128 : {
  uint64_t* sp = fp + ip->d;
  const uint32_t c = u32(*--sp);
  sp -= 2;
  if (c == 0) {
    sp[-2] = sp[0];
    sp[-1] = sp[1];
  }
  TG_NEXT();
}

  // ---- variables ----
L_local_get_v128 : {
  SP;
  sp[0] = fp[ip->x];
  sp[1] = fp[ip->x + 1];
  TG_NEXT();
}
L_local_set_v128:
L_local_tee_v128 : {
  SP;
  fp[ip->x] = sp[-2];
  fp[ip->x + 1] = sp[-1];
  TG_NEXT();
}
L_global_get:
  D = inst->globals[ip->x]->bits[0];
  TG_NEXT();
L_global_set:
  inst->globals[ip->x]->bits[0] = A;
  TG_NEXT();
L_global_get_v128 : {
  SP;
  const Global* g = inst->globals[ip->x];
  sp[0] = g->bits[0];
  sp[1] = g->bits[1];
  TG_NEXT();
}
L_global_set_v128 : {
  SP;
  Global* g = inst->globals[ip->x];
  g->bits[0] = sp[-2];
  g->bits[1] = sp[-1];
  TG_NEXT();
}

  // ---- tables (stack form: operands end at fp + d) ----
L_table_get : {
  SP;
  const Table* t = inst->tables[ip->x];
  const uint32_t i = u32(sp[-1]);
  if (i >= t->elems.size())
    TG_TRAP(table_out_of_bounds);
  sp[-1] = t->elems[i];
  TG_NEXT();
}
L_table_set : {
  SP;
  Table* t = inst->tables[ip->x];
  const uint32_t i = u32(sp[-2]);
  if (i >= t->elems.size())
    TG_TRAP(table_out_of_bounds);
  t->elems[i] = sp[-1];
  TG_NEXT();
}
L_table_size : {
  SP;
  sp[0] = inst->tables[ip->x]->size();
  TG_NEXT();
}
L_table_grow : {
  SP;
  Table* t = inst->tables[ip->x];
  const uint32_t n = u32(sp[-1]);
  TG_CHARGE(n / ir::kBulkBytesPerFuel);
  sp[-2] = t->grow(n, sp[-2]);
  TG_NEXT();
}
L_table_fill : {
  SP;
  Table* t = inst->tables[ip->x];
  const uint64_t i = u32(sp[-3]), n = u32(sp[-1]);
  TG_CHARGE(n / ir::kBulkBytesPerFuel);
  if (i + n > t->elems.size())
    TG_TRAP(table_out_of_bounds);
  std::fill_n(t->elems.begin() + i, n, sp[-2]);
  TG_NEXT();
}
L_table_copy : {
  SP;
  Table* dst = inst->tables[ip->x];
  const Table* src = inst->tables[ip->imm];
  const uint64_t d = u32(sp[-3]), s = u32(sp[-2]), n = u32(sp[-1]);
  TG_CHARGE(n / ir::kBulkBytesPerFuel);
  if (s + n > src->elems.size() || d + n > dst->elems.size())
    TG_TRAP(table_out_of_bounds);
  if (n != 0)
    std::memmove(dst->elems.data() + d, src->elems.data() + s, n * sizeof(RefBits));
  TG_NEXT();
}
L_table_init : {
  SP;
  const std::vector<RefBits>& seg = inst->elems[ip->x];
  Table* t = inst->tables[ip->imm];
  const uint64_t d = u32(sp[-3]), s = u32(sp[-2]), n = u32(sp[-1]);
  TG_CHARGE(n / ir::kBulkBytesPerFuel);
  if (s + n > seg.size() || d + n > t->elems.size())
    TG_TRAP(table_out_of_bounds);
  if (n != 0)
    std::memcpy(t->elems.data() + d, seg.data() + s, n * sizeof(RefBits));
  TG_NEXT();
}
L_elem_drop:
  std::vector<RefBits>().swap(inst->elems[ip->x]);
  TG_NEXT();

  // ---- memory: address in fp[a], offset in x ----
#define TG_LOAD(name, T, conv, addr)      \
  {                                       \
    const uint64_t ea = (addr) + ip->x;   \
    if (ea + sizeof(T) > mem_size)        \
      TG_TRAP(memory_out_of_bounds);      \
    T v;                                  \
    std::memcpy(&v, mem + ea, sizeof(T)); \
    D = (conv);                           \
    TG_NEXT();                            \
  }
#define TG_STORE(name, T, addr, value)    \
  {                                       \
    const uint64_t ea = (addr) + ip->x;   \
    if (ea + sizeof(T) > mem_size)        \
      TG_TRAP(memory_out_of_bounds);      \
    const T v = static_cast<T>(value);    \
    std::memcpy(mem + ea, &v, sizeof(T)); \
    TG_NEXT();                            \
  }
  // The store, then the i32.add after it: its address slot += fp[d].
#define TG_STORE_BUMP(name, T, addr, value) \
  {                                         \
    const uint64_t ea = (addr) + ip->x;     \
    if (ea + sizeof(T) > mem_size)          \
      TG_TRAP(memory_out_of_bounds);        \
    const T v = static_cast<T>(value);      \
    std::memcpy(mem + ea, &v, sizeof(T));   \
    A = u32(A + D);                         \
    TG_NEXT();                              \
  }
#define X(name, T, conv)                                             \
  L_##name : TG_LOAD(name, T, conv, uint64_t{u32(A)});               \
  L_##name##_k : TG_LOAD(name, T, conv, uint64_t{u32(A + ip->imm)}); \
  L_##name##_r : TG_LOAD(name, T, conv, uint64_t{u32(A + B)});       \
  L_##name##_a : TG_LOAD(name, T, conv, ip->imm);
  TG_LOADS(X)
#undef X
#define X(name, T)                                                             \
  L_##name : TG_STORE(name, T, uint64_t{u32(A)}, B);                           \
  L_##name##_k : TG_STORE(name, T, uint64_t{u32(A + ip->imm)}, B);             \
  L_##name##_r : TG_STORE(name, T, uint64_t{u32(A + B)}, D);                   \
  L_##name##_c : TG_STORE(name, T, uint64_t{u32(A + ip->imm)},                 \
                          static_cast<uint64_t>(static_cast<int64_t>(ip->b))); \
  L_##name##_a : TG_STORE(name, T, ip->imm, B);                                \
  L_##name##_bump : TG_STORE_BUMP(name, T, uint64_t{u32(A)}, B);               \
  L_##name##_k_bump : TG_STORE_BUMP(name, T, uint64_t{u32(A + ip->imm)}, B);   \
  L_##name##_c_bump : TG_STORE_BUMP(name, T, uint64_t{u32(A + ip->imm)},       \
                                    static_cast<uint64_t>(static_cast<int64_t>(ip->b)));
  TG_STORES(X)
#undef X
  // (WholeLoop: the store and its back-edge run as one loop with the address in a register.)
#define X(name, T)                                                         \
  L_##name##_c_bump_loop : {                                               \
    WholeLoop<Metering> loop{fp, mem, mem_size, fuel, interrupt, kLabels}; \
    const Ins* const edge = loop.template store_bump<T>(ip);               \
    fuel = loop.fuel;                                                      \
    if (edge == nullptr)                                                   \
      TG_TRAP_AS(loop.trap);                                               \
    ip = edge;                                                             \
    TG_FALL();                                                             \
  }
  TG_STORES(X)
#undef X
#undef TG_LOAD
#undef TG_STORE
#undef TG_STORE_BUMP
L_memory_size : {
  SP;
  sp[0] = mem_size / kPageSize;
  TG_NEXT();
}
L_memory_grow : {
  SP;
  const uint32_t delta = u32(sp[-1]);
  TG_CHARGE(uint64_t{delta} * ir::kFuelPerGrownPage);
  sp[-1] = memory->grow(delta);
  mem_size = memory->size;
  TG_NEXT();
}
L_memory_fill : {
  SP;
  const uint64_t d = u32(sp[-3]), n = u32(sp[-1]);
  TG_CHARGE(n / ir::kBulkBytesPerFuel);
  if (d + n > mem_size)
    TG_TRAP(memory_out_of_bounds);
  std::memset(mem + d, static_cast<uint8_t>(sp[-2]), n);
  TG_NEXT();
}
L_memory_copy : {
  SP;
  const uint64_t d = u32(sp[-3]), s = u32(sp[-2]), n = u32(sp[-1]);
  TG_CHARGE(n / ir::kBulkBytesPerFuel);
  if (s + n > mem_size || d + n > mem_size)
    TG_TRAP(memory_out_of_bounds);
  std::memmove(mem + d, mem + s, n);
  TG_NEXT();
}
L_memory_init : {
  SP;
  const std::span<const uint8_t> seg = inst->datas[ip->x];
  const uint64_t d = u32(sp[-3]), s = u32(sp[-2]), n = u32(sp[-1]);
  TG_CHARGE(n / ir::kBulkBytesPerFuel);
  if (s + n > seg.size() || d + n > mem_size)
    TG_TRAP(memory_out_of_bounds);
  if (n != 0)
    std::memcpy(mem + d, seg.data() + s, n);
  TG_NEXT();
}
L_data_drop:
  inst->datas[ip->x] = {};
  TG_NEXT();

  // ---- references (stack form) ----
L_ref_null : {
  SP;
  sp[0] = 0;
  TG_NEXT();
}
L_ref_is_null : {
  SP;
  sp[-1] = sp[-1] == 0 ? 1 : 0;
  TG_NEXT();
}
L_ref_func : {
  SP;
  sp[0] = reinterpret_cast<RefBits>(inst->funcs[ip->x]);
  TG_NEXT();
}

// ---- numeric: fp[d] = op(fp[a], fp[b] or imm) ----
#define X(name, load, get, T, expr)                         \
  L_##name##_ld : {                                         \
    const uint64_t ea = uint64_t{u32(B + ip->imm)} + ip->x; \
    if (ea + sizeof(T) > mem_size)                          \
      TG_TRAP(memory_out_of_bounds);                        \
    T raw;                                                  \
    std::memcpy(&raw, mem + ea, sizeof(T));                 \
    const auto a = get(A);                                  \
    const auto b = get(uint64_t{raw});                      \
    D = (expr);                                             \
    TG_NEXT();                                              \
  }
  TG_LOAD_BINOPS(X)
#undef X
// Read-modify-write: the load's address (fp[b] + imm, offset x) is also the store's.
#define X(name, load, get, T, expr)                         \
  L_##name##_rmw : {                                        \
    const uint64_t ea = uint64_t{u32(B + ip->imm)} + ip->x; \
    if (ea + sizeof(T) > mem_size)                          \
      TG_TRAP(memory_out_of_bounds);                        \
    T raw;                                                  \
    std::memcpy(&raw, mem + ea, sizeof(T));                 \
    const auto a = get(A);                                  \
    const auto b = get(uint64_t{raw});                      \
    const T r = static_cast<T>(expr);                       \
    std::memcpy(mem + ea, &r, sizeof(T));                   \
    TG_NEXT();                                              \
  }
  TG_LOAD_BINOPS(X)
#undef X
#define X(name, get, expr, store, T)                        \
  L_##name##_st : {                                         \
    const auto a = get(A);                                  \
    const auto b = get(B);                                  \
    const T r = static_cast<T>(expr);                       \
    const uint64_t ea = uint64_t{u32(D + ip->imm)} + ip->x; \
    if (ea + sizeof(T) > mem_size)                          \
      TG_TRAP(memory_out_of_bounds);                        \
    std::memcpy(mem + ea, &r, sizeof(T));                   \
    TG_NEXT();                                              \
  }
  TG_STORE_BINOPS(X)
#undef X
#define X(bin, sh, get, shexpr, expr)            \
  L_##bin##_##sh : {                             \
    const auto a = get(A);                       \
    const auto v = get(B);                       \
    [[maybe_unused]] const uint64_t k = ip->imm; \
    const auto b = (shexpr);                     \
    D = (expr);                                  \
    TG_NEXT();                                   \
  }
  TG_SHIFT_BINOPS(X)
#undef X
#define X(name, get, expr)       \
  L_##name##_rk : {              \
    const auto a = get(ip->imm); \
    const auto b = get(B);       \
    D = (expr);                  \
    TG_NEXT();                   \
  }
  TG_RK_BINOPS(X)
#undef X
#define X(name, get, expr)       \
  L_##name##_imm : {             \
    const auto a = get(A);       \
    const auto b = get(ip->imm); \
    D = (expr);                  \
    TG_NEXT();                   \
  }
  TG_DIV_BINOPS(X)
#undef X
#define TG_ROT(i) std::rotl(u32(A), static_cast<int>((ip->imm >> (8 * (i))) & 31))
#define TG_SHR(i) (u32(A) >> ((ip->imm >> (8 * (i))) & 31))
L_x_i32_xrot2:
  D = TG_ROT(0) ^ TG_ROT(1);
  TG_NEXT();
L_x_i32_xrot3:
  D = TG_ROT(0) ^ TG_ROT(1) ^ TG_ROT(2);
  TG_NEXT();
L_x_i32_xrot1_shr:
  D = TG_ROT(0) ^ TG_SHR(1);
  TG_NEXT();
L_x_i32_xrot2_shr:
  D = TG_ROT(0) ^ TG_ROT(1) ^ TG_SHR(2);
  TG_NEXT();
#define TG_XROT_xrot2 (TG_ROT(0) ^ TG_ROT(1))
#define TG_XROT_xrot3 (TG_ROT(0) ^ TG_ROT(1) ^ TG_ROT(2))
#define TG_XROT_xrot1_shr (TG_ROT(0) ^ TG_SHR(1))
#define TG_XROT_xrot2_shr (TG_ROT(0) ^ TG_ROT(1) ^ TG_SHR(2))
#define X(rot)                                                                         \
  L_x_i32_##rot##_add : D = u32(TG_XROT_##rot + fp[static_cast<int32_t>(ip->x)]);      \
  TG_NEXT();                                                                           \
  L_x_i32_##rot##_add3 : D = u32(TG_XROT_##rot + B + fp[static_cast<int32_t>(ip->x)]); \
  TG_NEXT();
  TG_XROTS(X)
#undef X
#undef TG_XROT_xrot2
#undef TG_XROT_xrot3
#undef TG_XROT_xrot1_shr
#undef TG_XROT_xrot2_shr
#undef TG_ROT
#undef TG_SHR
L_x_i32_add_and_imm:
  D = (u32(A) + static_cast<uint32_t>(ip->imm)) & static_cast<uint32_t>(ip->imm >> 32);
  TG_NEXT();
L_x_i32_shl_rk_and_imm:
  D = (static_cast<uint32_t>(ip->imm) << (B & 31)) & static_cast<uint32_t>(ip->imm >> 32);
  TG_NEXT();
L_x_add2_i32:
  D = u32(A + static_cast<uint32_t>(ip->imm));
  fp[ip->b] = u32(fp[static_cast<int32_t>(ip->x)] + static_cast<uint32_t>(ip->imm >> 32));
  TG_NEXT();
L_x_i32_add3:
  D = u32(A + B + fp[static_cast<int32_t>(ip->x)]);
  TG_NEXT();
L_x_i64_add3:
  D = A + B + fp[static_cast<int32_t>(ip->x)];
  TG_NEXT();
L_x_i32_add4:
  D = u32(A + B + fp[static_cast<int32_t>(ip->x)] + fp[static_cast<int32_t>(ip->imm)]);
  TG_NEXT();
L_x_i64_add4:
  D = A + B + fp[static_cast<int32_t>(ip->x)] + fp[static_cast<int32_t>(ip->imm)];
  TG_NEXT();
#define X(name, get, T, expr)                         \
  L_##name##_mul_l : {                                \
    const T a = get(A) * get(B);                      \
    const T b = get(fp[static_cast<int32_t>(ip->x)]); \
    D = bits(expr);                                   \
    TG_NEXT();                                        \
  }                                                   \
  L_##name##_mul_r : {                                \
    const T b = get(A) * get(B);                      \
    const T a = get(fp[static_cast<int32_t>(ip->x)]); \
    D = bits(expr);                                   \
    TG_NEXT();                                        \
  }                                                   \
  L_##name##_mulk_l : {                               \
    const T a = get(A) * get(ip->imm);                \
    const T b = get(fp[static_cast<int32_t>(ip->x)]); \
    D = bits(expr);                                   \
    TG_NEXT();                                        \
  }                                                   \
  L_##name##_mulk_r : {                               \
    const T b = get(A) * get(ip->imm);                \
    const T a = get(fp[static_cast<int32_t>(ip->x)]); \
    D = bits(expr);                                   \
    TG_NEXT();                                        \
  }
  TG_MUL_BINOPS(X)
#undef X
#define TG_UN(name, get, expr) \
  L_##name : {                 \
    const auto x = get(A);     \
    D = (expr);                \
    TG_NEXT();                 \
  }
#define X(name, get, expr)       \
  L_##name : {                   \
    const auto a = get(A);       \
    const auto b = get(B);       \
    D = (expr);                  \
    TG_NEXT();                   \
  }                              \
  L_##name##_imm : {             \
    const auto a = get(A);       \
    const auto b = get(ip->imm); \
    D = (expr);                  \
    TG_NEXT();                   \
  }
  TG_PURE_BINOPS(X)
#undef X

  TG_UN(i32_eqz, u32, TG_B(x == 0))
  TG_UN(i64_eqz, TG_U64, TG_B(x == 0))
  TG_UN(i32_clz, u32, TG_U64(std::countl_zero(x)))
  TG_UN(i32_ctz, u32, TG_U64(std::countr_zero(x)))
  TG_UN(i32_popcnt, u32, TG_U64(std::popcount(x)))
  TG_UN(i64_clz, TG_U64, TG_U64(std::countl_zero(x)))
  TG_UN(i64_ctz, TG_U64, TG_U64(std::countr_zero(x)))
  TG_UN(i64_popcnt, TG_U64, TG_U64(std::popcount(x)))
L_i32_div_s : {
  const int32_t a = s32(A), b = s32(B);
  if (b == 0)
    TG_TRAP(integer_divide_by_zero);
  if (a == INT32_MIN && b == -1)
    TG_TRAP(integer_overflow);
  D = TG_I32(a / b);
  TG_NEXT();
}
L_i32_div_u : {
  const uint32_t a = u32(A), b = u32(B);
  if (b == 0)
    TG_TRAP(integer_divide_by_zero);
  D = a / b;
  TG_NEXT();
}
L_i32_rem_s : {
  const int32_t a = s32(A), b = s32(B);
  if (b == 0)
    TG_TRAP(integer_divide_by_zero);
  D = b == -1 ? 0 : TG_I32(a % b);
  TG_NEXT();
}
L_i32_rem_u : {
  const uint32_t a = u32(A), b = u32(B);
  if (b == 0)
    TG_TRAP(integer_divide_by_zero);
  D = a % b;
  TG_NEXT();
}
L_i64_div_s : {
  const int64_t a = s64(A), b = s64(B);
  if (b == 0)
    TG_TRAP(integer_divide_by_zero);
  if (a == INT64_MIN && b == -1)
    TG_TRAP(integer_overflow);
  D = TG_U64(a / b);
  TG_NEXT();
}
L_i64_div_u : {
  const uint64_t a = A, b = B;
  if (b == 0)
    TG_TRAP(integer_divide_by_zero);
  D = a / b;
  TG_NEXT();
}
L_i64_rem_s : {
  const int64_t a = s64(A), b = s64(B);
  if (b == 0)
    TG_TRAP(integer_divide_by_zero);
  D = b == -1 ? 0 : TG_U64(a % b);
  TG_NEXT();
}
L_i64_rem_u : {
  const uint64_t a = A, b = B;
  if (b == 0)
    TG_TRAP(integer_divide_by_zero);
  D = a % b;
  TG_NEXT();
}

  // Sign-bit operations act on the bits, so NaN payloads pass through unchanged, as the spec
  // requires for abs, neg and copysign.
  TG_UN(f32_abs, u32, TG_U64(x & 0x7FFFFFFFu))
  TG_UN(f32_neg, u32, TG_U64(x ^ 0x80000000u))
  TG_UN(f32_ceil, f32, bits(round_op(x, [](auto v) { return std::ceil(v); })))
  TG_UN(f32_floor, f32, bits(round_op(x, [](auto v) { return std::floor(v); })))
  TG_UN(f32_trunc, f32, bits(round_op(x, [](auto v) { return std::trunc(v); })))
  TG_UN(f32_nearest, f32, bits(round_op(x, [](auto v) { return std::nearbyint(v); })))
  TG_UN(f32_sqrt, f32, bits(std::sqrt(x)))
  TG_UN(f64_abs, TG_U64, x & 0x7FFFFFFFFFFFFFFFull)
  TG_UN(f64_neg, TG_U64, x ^ 0x8000000000000000ull)
  TG_UN(f64_ceil, f64, bits(round_op(x, [](auto v) { return std::ceil(v); })))
  TG_UN(f64_floor, f64, bits(round_op(x, [](auto v) { return std::floor(v); })))
  TG_UN(f64_trunc, f64, bits(round_op(x, [](auto v) { return std::trunc(v); })))
  TG_UN(f64_nearest, f64, bits(round_op(x, [](auto v) { return std::nearbyint(v); })))
  TG_UN(f64_sqrt, f64, bits(std::sqrt(x)))

  // ---- conversions ----
  TG_UN(i32_wrap_i64, TG_U64, TG_U64(u32(x)))
#define TG_TRUNC(name, get, Int)                           \
  L_##name : {                                             \
    Int r;                                                 \
    if (auto k = trunc_checked<Int>(get(A), r)) {          \
      trap = *k;                                           \
      goto L_trap;                                         \
    }                                                      \
    D = TG_U64(static_cast<std::make_unsigned_t<Int>>(r)); \
    TG_NEXT();                                             \
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
  TG_UN(i32_extend8_s, u32, TG_U64(TG_I32(int32_t{static_cast<int8_t>(x)})))
  TG_UN(i32_extend16_s, u32, TG_U64(TG_I32(int32_t{static_cast<int16_t>(x)})))
  TG_UN(i64_extend8_s, TG_U64, TG_U64(int64_t{static_cast<int8_t>(x)}))
  TG_UN(i64_extend16_s, TG_U64, TG_U64(int64_t{static_cast<int16_t>(x)}))
  TG_UN(i64_extend32_s, TG_U64, TG_U64(int64_t{static_cast<int32_t>(x)}))
#undef TG_UN

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
#undef TG_JUMP
#undef TG_TRAP
#undef TG_TRAP_AS
#undef TG_CHARGE
#undef TG_ZERO_LOCALS
#undef D
#undef A
#undef B
#undef SP
}
#undef TG_RUN_ATTRIBUTES

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
