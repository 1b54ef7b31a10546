// Bounds-checked guest memory access for host functions.
// SPDX-License-Identifier: Apache-2.0
#include "hostabi/host_function.hpp"

#include <cstring>

namespace tollgate::hostabi {

std::optional<std::span<uint8_t>> GuestMemory::bytes(uint32_t ptr, uint32_t len) const {
  // 64-bit sums: ptr + len cannot wrap, so one comparison against the size suffices.
  if (memory_ == nullptr || uint64_t{ptr} + uint64_t{len} > memory_->size)
    return std::nullopt;
  return std::span<uint8_t>(memory_->data + ptr, len);
}

std::optional<std::string_view> GuestMemory::string(uint32_t ptr, uint32_t len) const {
  auto b = bytes(ptr, len);
  if (!b)
    return std::nullopt;
  return std::string_view(reinterpret_cast<const char*>(b->data()), b->size());
}

bool GuestMemory::write(uint32_t ptr, std::span<const uint8_t> data) const {
  if (data.size() > UINT32_MAX)
    return false;
  auto dst = bytes(ptr, static_cast<uint32_t>(data.size()));
  if (!dst)
    return false;
  if (!data.empty())
    std::memmove(dst->data(), data.data(), data.size());
  return true;
}

bool GuestMemory::write(uint32_t ptr, std::string_view data) const {
  return write(
      ptr, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

namespace {
// Wasm memory is little-endian; so are the hosts we build for, which lets memcpy do the job.
template <typename T>
bool store_le(const GuestMemory& m, uint32_t ptr, T v) {
  uint8_t buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  return m.write(ptr, std::span<const uint8_t>(buf, sizeof(T)));
}
template <typename T>
std::optional<T> load_le(const GuestMemory& m, uint32_t ptr) {
  auto b = m.bytes(ptr, sizeof(T));
  if (!b)
    return std::nullopt;
  T v;
  std::memcpy(&v, b->data(), sizeof(T));
  return v;
}
}  // namespace

bool GuestMemory::write_u8(uint32_t ptr, uint8_t v) const {
  return store_le(*this, ptr, v);
}
bool GuestMemory::write_u16(uint32_t ptr, uint16_t v) const {
  return store_le(*this, ptr, v);
}
bool GuestMemory::write_u32(uint32_t ptr, uint32_t v) const {
  return store_le(*this, ptr, v);
}
bool GuestMemory::write_u64(uint32_t ptr, uint64_t v) const {
  return store_le(*this, ptr, v);
}
std::optional<uint8_t> GuestMemory::read_u8(uint32_t ptr) const {
  return load_le<uint8_t>(*this, ptr);
}
std::optional<uint16_t> GuestMemory::read_u16(uint32_t ptr) const {
  return load_le<uint16_t>(*this, ptr);
}
std::optional<uint32_t> GuestMemory::read_u32(uint32_t ptr) const {
  return load_le<uint32_t>(*this, ptr);
}
std::optional<uint64_t> GuestMemory::read_u64(uint32_t ptr) const {
  return load_le<uint64_t>(*this, ptr);
}

runtime::FuncType func_type(std::initializer_list<runtime::ValType> params,
                            std::initializer_list<runtime::ValType> results) {
  return runtime::FuncType{std::vector<runtime::ValType>(params),
                           std::vector<runtime::ValType>(results)};
}

}  // namespace tollgate::hostabi
