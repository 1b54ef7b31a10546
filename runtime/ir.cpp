// Names and static fuel costs of IR operations, generated from the opcode tables.
// SPDX-License-Identifier: Apache-2.0
#include "runtime/ir.hpp"

namespace tollgate::runtime::ir {

namespace {

constexpr const char* kNames[] = {
#define TG_OP(name, prefix, code, imm, sig, fuel) #name,
#include "runtime/opcodes.def"
#undef TG_OP
    "fuel",           "fuel_poll",      "br_unless",       "br_drop",
    "br_if_drop",     "drop_v128",      "select_v128",     "local_get_v128",
    "local_set_v128", "local_tee_v128", "global_get_v128", "global_set_v128",
};
static_assert(sizeof(kNames) / sizeof(kNames[0]) == kOpCount);

constexpr uint8_t kFuel[] = {
#define TG_OP(name, prefix, code, imm, sig, fuel) fuel,
#include "runtime/opcodes.def"
#undef TG_OP
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};
static_assert(sizeof(kFuel) == kOpCount);

}  // namespace

const char* op_name(Op op) {
  const auto i = static_cast<uint32_t>(op);
  return i < kOpCount ? kNames[i] : "invalid";
}

uint32_t op_fuel(Op op) {
  const auto i = static_cast<uint32_t>(op);
  return i < kOpCount ? kFuel[i] : 0;
}

}  // namespace tollgate::runtime::ir
