// The ISA-neutral bookkeeping both macro-assemblers share: register names, per-function stub
// tables. SPDX-License-Identifier: Apache-2.0
//
// Stubs are kept as neutral Labels; each masm makes them with its own new_label() and emits their
// code itself in finish_function(), so nothing here knows an instruction.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "jit/masm.hpp"
#include "runtime/trap.hpp"

namespace tollgate::jit {

/// General-purpose register `code` in the ISA's encoding.
constexpr Reg gpr(uint8_t code) {
  return Reg{code, RegClass::gp};
}
/// Float/vector register `code` in the ISA's encoding.
constexpr Reg vr(uint8_t code) {
  return Reg{code, RegClass::fp};
}

constexpr uint32_t operand_bytes(OperandSize s) {
  return s == OperandSize::s8 ? 1 : s == OperandSize::s16 ? 2 : s == OperandSize::s32 ? 4 : 8;
}

/// Number of runtime::TrapKind enumerators.
inline constexpr size_t kTrapKinds = 0
#define TG_TRAP(name, message) +1
#include "runtime/traps.def"
#undef TG_TRAP
    ;

/// A function's trap stubs (set the trap kind, leave through the trap exit): one per kind, made
/// on first use.
class TrapStubs {
 public:
  template <class NewLabel>
  Label get(runtime::TrapKind kind, NewLabel&& new_label) {
    Label& l = labels_[static_cast<size_t>(kind)];
    if (!l.valid())
      l = new_label();
    return l;
  }
  /// Calls emit(kind, label) for every stub made, in kind order, and forgets them for the next
  /// function.
  template <class Emit>
  void drain(Emit&& emit) {
    for (size_t kind = 0; kind < labels_.size(); ++kind) {
      if (!labels_[kind].valid())
        continue;
      emit(static_cast<runtime::TrapKind>(kind), labels_[kind]);
      labels_[kind] = Label{};
    }
  }

 private:
  std::array<Label, kTrapKinds> labels_{};
};

/// A function's fuel stubs (give back the cost of the failed charge, trap out_of_fuel): one per
/// distinct cost, made on first use, kept in that order.
class FuelStubs {
 public:
  template <class NewLabel>
  Label get(uint32_t cost, NewLabel&& new_label) {
    // A function charges a handful of distinct costs: a linear search beats a map.
    auto it = std::find_if(stubs_.begin(), stubs_.end(),
                           [cost](const auto& s) { return s.first == cost; });
    if (it != stubs_.end())
      return it->second;
    return stubs_.emplace_back(cost, new_label()).second;
  }
  bool empty() const { return stubs_.empty(); }
  /// Calls emit(cost, label) for every stub made and forgets them for the next function.
  template <class Emit>
  void drain(Emit&& emit) {
    for (const auto& [cost, stub] : stubs_)
      emit(cost, stub);
    stubs_.clear();
  }

 private:
  std::vector<std::pair<uint32_t, Label>> stubs_;
};

}  // namespace tollgate::jit
