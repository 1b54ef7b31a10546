// The one decoded form of a function body, made once at load and consumed by every tier.
// SPDX-License-Identifier: Apache-2.0
//
// The decoder validates a body and lowers it in the same pass (runtime/func_decoder.cpp). Tiers
// trust the IR and never re-validate it. The IR is the wasm stack machine with everything a tier
// would otherwise recompute already resolved:
//
// * Structure is gone. `block`, `loop`, `end`, `else` and `nop` emit nothing; `if` becomes
//   `br_unless`; branches carry absolute targets (an index into `FuncCode::code`) plus how many
//   value slots to keep and to drop. Code that validation proves unreachable (after `br`,
//   `br_table`, `return`, `unreachable`, up to the enclosing `end`/`else`) is not emitted.
// * Values live in 8-byte slots; a v128 takes two. Locals are addressed by slot offset from the
//   frame base: [params][declared locals][operand stack]. Every stack count in the IR is in slots.
// * Instructions whose width depends on a type have a `_v128` variant (drop_v128, select_v128,
//   local_get_v128, ...); the lowering picks it, so a tier never looks at types to move values.
//
// Fuel — the precise semantics, which every tier implements identically:
// * Every instruction of opcodes.def has a static cost. The lowering cuts the reachable code into
//   basic blocks. A block starts at function entry, at every branch target (a loop's start, the
//   end of a block or if that some branch targets, an if's else arm) and right after every
//   conditional branch (`br_if`, `br_unless`); it ends before the next start or after an
//   unconditional branch. Calls do not end a block: the callee pays for itself.
// * Each block begins with a `fuel` or `fuel_poll` instruction whose immediate `a` is the summed
//   static cost of the wasm instructions lowered into that block (including the branch that ends it
//   and instructions that emit no IR, such as `if`'s own cost). A block that lowered to nothing may
//   be merged into the next one: a `fuel` of cost 0 is never required.
// * Executing `fuel`: if fuel_left < a, trap `out_of_fuel` and leave fuel_left unchanged;
//   otherwise fuel_left -= a. So a block is paid for in full when it is entered, before any of its
//   instructions run, and fuel runs out at a block boundary, the same one in every tier.
// * Bulk instructions (memory.fill/copy/init, table.fill/copy/init, memory.grow, table.grow) also
//   charge a dynamic part before they do any work: `n / kBulkBytesPerFuel` units for n bytes or
//   n table elements (memory.grow: its delta in pages times kFuelPerGrownPage). Not enough fuel
//   traps `out_of_fuel` before any effect.
// * `fuel_poll` is `fuel` plus a check of the interruption flag, which traps `interrupted` when
//   set (checked after the charge succeeds). The lowering puts `fuel_poll` at function entry
//   (always `code[0]`) and at every loop start, which is where every back-edge lands.
// * With metering off, `fuel` does nothing and `fuel_poll` only polls.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "runtime/types.hpp"
#include "runtime/value.hpp"

namespace tollgate::runtime::ir {

/// What immediates an opcodes.def row decodes (the wasm binary format, not the IR layout).
enum class ImmKind : uint8_t {
  none,
  block,          ///< block type
  label,          ///< br, br_if
  br_table,       ///< vec(label) label
  func,           ///< call, ref.func
  call_indirect,  ///< typeidx tableidx
  select_t,       ///< vec(valtype)
  local,
  global,
  table,          ///< tableidx (table.get/set/grow/size/fill)
  memarg,         ///< align offset
  memory,         ///< a reserved 0x00 byte (memory.size/grow/fill)
  i32,
  i64,
  f32,
  f64,
  ref_type,       ///< ref.null t
  memory_init,    ///< dataidx 0x00
  data,           ///< data.drop dataidx
  memory_copy,    ///< 0x00 0x00
  table_init,     ///< elemidx tableidx
  elem,           ///< elem.drop elemidx
  table_copy,     ///< tableidx tableidx
  v128,           ///< v128.const: 16 bytes
  lane,           ///< extract/replace_lane: one lane byte
  memarg_lane,    ///< load/store_lane: memarg then a lane byte
  shuffle,        ///< i8x16.shuffle: 16 lane bytes
};

/// Every IR operation: the rows of opcodes.def (same names), then the IR's own.
enum class Op : uint16_t {
#define TG_OP(name, prefix, code, imm, sig, fuel) name,
#include "runtime/opcodes.def"
#undef TG_OP
  // ---- IR-only operations (immediates as described) ----
  fuel,            ///< a = block cost; aux = 1 if some branch targets this instruction
  fuel_poll,       ///< a = block cost; then poll the interruption flag (function entry, loops)
  br_unless,       ///< pop i32; if it is 0, go to a (lowered `if`)
  br_drop,         ///< go to a, keeping the top `keep` slots and dropping `drop` slots below them
  br_if_drop,      ///< pop i32; if non-zero, br_drop
  drop_v128,
  select_v128,
  local_get_v128,
  local_set_v128,
  local_tee_v128,
  global_get_v128,
  global_set_v128,
  kCount,
};

inline constexpr uint32_t kOpCount = static_cast<uint32_t>(Op::kCount);

const char* op_name(Op op);
/// Static fuel cost of a wasm instruction (opcodes.def); IR-only ops cost 0.
uint32_t op_fuel(Op op);

/// Bytes (memory bulk ops) or elements (table bulk ops) covered by one unit of dynamic fuel.
inline constexpr uint64_t kBulkBytesPerFuel = 64;
/// Dynamic fuel for each page memory.grow adds (it commits and zeroes 64 KiB).
inline constexpr uint64_t kFuelPerGrownPage = 64;

/// One IR instruction: fixed width so tiers walk it with a pointer. Immediate layout per op:
///
/// | op                                   | a                  | b                         | aux     |
/// |--------------------------------------|--------------------|---------------------------|---------|
/// | fuel, fuel_poll                      | cost               |                           | target? |
/// | br, br_if, br_unless                 | target pc          |                           |         |
/// | br_drop, br_if_drop                  | target pc          | keep | drop << 32         |         |
/// | br_table                             | first BrTarget     | count (without default)   |         |
/// | return_                              | result slots       |                           |         |
/// | call, ref_func                       | FuncIdx            |                           |         |
/// | call_indirect                        | TypeIdx            | TableIdx                  |         |
/// | local_* (+_v128)                     | slot offset        |                           | ValType |
/// | global_* (+_v128)                    | GlobalIdx          |                           | ValType |
/// | i32/i64/f32/f64_const                |                    | value bits (zero-extended)|         |
/// | v128_const, i8x16_shuffle            | index in v128_pool |                           |         |
/// | loads, stores (scalar and SIMD)      | offset             |                           | align   |
/// | SIMD lane ops                        | offset (memarg_lane)| lane                     | align   |
/// | table_get/set/size/grow/fill         | TableIdx           |                           |         |
/// | table_init                           | ElemIdx            | TableIdx                  |         |
/// | table_copy                           | dst TableIdx       | src TableIdx              |         |
/// | elem_drop                            | ElemIdx            |                           |         |
/// | memory_init, data_drop               | DataIdx            |                           |         |
/// | ref_null                             |                    |                           | ValType |
/// | drop, select (+_v128), others        |                    |                           |         |
struct Instr {
  Op op = Op::unreachable;
  uint16_t aux = 0;
  uint32_t a = 0;
  uint64_t b = 0;

  uint32_t keep() const { return static_cast<uint32_t>(b); }
  uint32_t drop() const { return static_cast<uint32_t>(b >> 32); }
};
static_assert(sizeof(Instr) == 16);

/// One br_table destination; a table of n labels is n + 1 of these (the default last).
struct BrTarget {
  uint32_t pc = 0;
  uint32_t keep = 0;  ///< slots carried to the target
  uint32_t drop = 0;  ///< slots discarded below them
};

/// A tier's private code derived from one FuncCode on first use, owned and freed with it. Modules
/// are shared across threads, so installing is atomic and the first installer wins. A copy starts
/// empty: a tier re-derives its code from the copy's own IR.
class TierCache {
 public:
  using Deleter = void (*)(void*);
  TierCache() = default;
  TierCache(const TierCache&) noexcept {}
  TierCache& operator=(const TierCache&) noexcept {
    reset();
    return *this;
  }
  ~TierCache() { reset(); }

  void* get() const { return ptr_.load(std::memory_order_acquire); }
  /// Installs `p` unless another thread already did; returns what is installed (freeing `p` if
  /// it lost the race). Every installer of one cache passes the same `del`.
  void* install(void* p, Deleter del) const {
    deleter_.store(del, std::memory_order_relaxed);
    void* expected = nullptr;
    if (ptr_.compare_exchange_strong(expected, p, std::memory_order_acq_rel))
      return p;
    del(p);
    return expected;
  }

 private:
  void reset() noexcept {
    if (void* p = ptr_.exchange(nullptr))
      deleter_.load()(p);
  }
  mutable std::atomic<void*> ptr_{nullptr};
  mutable std::atomic<Deleter> deleter_{nullptr};
};

/// A lowered function body.
struct FuncCode {
  TypeIdx type = 0;
  std::vector<Instr> code;
  std::vector<BrTarget> br_targets;
  std::vector<V128> v128_pool;
  std::vector<ValType> local_types;    ///< params, then declared locals
  std::vector<uint32_t> local_offsets;  ///< slot offset of each local, parallel to local_types
  uint32_t param_slots = 0;
  uint32_t local_slots = 0;      ///< params + declared locals
  uint32_t result_slots = 0;
  uint32_t max_stack_slots = 0;  ///< deepest operand stack, above the locals
  uint32_t body_offset = 0;      ///< byte offset of the body in the module, for diagnostics
  /// The interpreter's translation of this body: [0] unmetered, [1] metered.
  TierCache interp_code[2];
};

}  // namespace tollgate::runtime::ir
