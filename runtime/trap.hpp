// Traps as values: the kind every tier reports, plus an optional detail from host functions.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>

namespace tollgate::runtime {

enum class TrapKind : uint8_t {
#define TG_TRAP(name, message) name,
#include "runtime/traps.def"
#undef TG_TRAP
};

/// The spec's text for a trap kind ("out of bounds memory access", ...).
const char* trap_message(TrapKind kind);

struct Trap {
  TrapKind kind = TrapKind::unreachable;
  /// Extra words from a host function (`host_error`), or empty.
  std::string detail;
  /// For `exit` (WASI proc_exit): the guest's exit code.
  uint32_t exit_code = 0;

  /// `trap_message(kind)`, followed by ": detail" when there is one.
  std::string message() const;
};

}  // namespace tollgate::runtime
