// Helpers every host function uses: bounds-checked guest memory access, signatures, host traps.
// SPDX-License-Identifier: Apache-2.0
//
// Guest pointers and lengths come from untrusted code: every access goes through GuestMemory,
// which checks [ptr, ptr+len) against the memory's current size in 64-bit arithmetic, so a
// hostile guest gets an error value, never a host crash.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "runtime/store.hpp"

namespace tollgate::hostabi {

/// A bounds-checked view of one guest linear memory (possibly absent).
class GuestMemory {
 public:
  explicit GuestMemory(runtime::Memory* memory) : memory_(memory) {}
  static GuestMemory of(const runtime::HostContext& ctx) { return GuestMemory(ctx.memory()); }

  bool present() const { return memory_ != nullptr; }
  /// The bytes [ptr, ptr+len), or nullopt when the memory is absent or the range leaves it.
  std::optional<std::span<uint8_t>> bytes(uint32_t ptr, uint32_t len) const;
  std::optional<std::string_view> string(uint32_t ptr, uint32_t len) const;
  /// Copies `data` to `ptr`; false (and nothing written) when out of bounds.
  bool write(uint32_t ptr, std::span<const uint8_t> data) const;
  bool write(uint32_t ptr, std::string_view data) const;
  bool write_u8(uint32_t ptr, uint8_t v) const;
  bool write_u16(uint32_t ptr, uint16_t v) const;
  bool write_u32(uint32_t ptr, uint32_t v) const;
  bool write_u64(uint32_t ptr, uint64_t v) const;
  std::optional<uint8_t> read_u8(uint32_t ptr) const;
  std::optional<uint16_t> read_u16(uint32_t ptr) const;
  std::optional<uint32_t> read_u32(uint32_t ptr) const;
  std::optional<uint64_t> read_u64(uint32_t ptr) const;

 private:
  runtime::Memory* memory_;
};

/// A `host_error` trap carrying `detail`, for host functions to return.
inline runtime::Trap host_trap(std::string detail) {
  runtime::Trap t;
  t.kind = runtime::TrapKind::host_error;
  t.detail = std::move(detail);
  return t;
}

/// Shorthand for a function type.
runtime::FuncType func_type(std::initializer_list<runtime::ValType> params,
                            std::initializer_list<runtime::ValType> results);

}  // namespace tollgate::hostabi
