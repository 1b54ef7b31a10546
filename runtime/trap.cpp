// The spec's messages for trap kinds.
// SPDX-License-Identifier: Apache-2.0
#include "runtime/trap.hpp"

namespace tollgate::runtime {

const char* trap_message(TrapKind kind) {
  switch (kind) {
#define TG_TRAP(name, message) \
  case TrapKind::name:         \
    return message;
#include "runtime/traps.def"
#undef TG_TRAP
  }
  return "unknown trap";
}

std::string Trap::message() const {
  std::string out = trap_message(kind);
  if (!detail.empty()) {
    out += ": ";
    out += detail;
  }
  return out;
}

}  // namespace tollgate::runtime
