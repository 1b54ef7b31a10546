// Private to the decoder: a bounds-checked cursor over module bytes (LEB128, names, UTF-8).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "runtime/base/result.hpp"
#include "runtime/utf8.hpp"

namespace tollgate::runtime::detail {

using runtime::is_valid_utf8;

/// A cursor over [pos, end) of a module whose first byte is `base`. Reads return false on failure
/// after recording the first error in the shared sink, so hot paths carry no Result objects.
/// Every read checks the remaining bytes first: nothing reads past `end`.
class Reader {
 public:
  Reader(const uint8_t* base, const uint8_t* pos, const uint8_t* end, Error* sink)
      : base_(base), pos_(pos), end_(end), sink_(sink) {}

  uint32_t offset() const { return static_cast<uint32_t>(pos_ - base_); }
  size_t remaining() const { return static_cast<size_t>(end_ - pos_); }
  bool eof() const { return pos_ == end_; }
  const uint8_t* pos() const { return pos_; }
  const uint8_t* end() const { return end_; }
  const uint8_t* base() const { return base_; }
  Error* sink() const { return sink_; }

  /// A reader over the next `n` bytes (the caller has checked `n <= remaining()`); this one
  /// skips past them.
  Reader split(size_t n) {
    Reader sub(base_, pos_, pos_ + n, sink_);
    pos_ += n;
    return sub;
  }

  bool fail(ErrorKind kind, uint32_t at, std::string message) {
    sink_->kind = kind;
    sink_->offset = at;
    sink_->message = std::move(message);
    return false;
  }
  bool malformed(std::string message) {
    return fail(ErrorKind::malformed, offset(), std::move(message));
  }
  bool malformed_at(uint32_t at, std::string message) {
    return fail(ErrorKind::malformed, at, std::move(message));
  }
  bool invalid_at(uint32_t at, std::string message) {
    return fail(ErrorKind::invalid, at, std::move(message));
  }

  bool u8(uint8_t& out) {
    if (pos_ == end_)
      return malformed("unexpected end");
    out = *pos_++;
    return true;
  }

  bool peek(uint8_t& out) {
    if (pos_ == end_)
      return malformed("unexpected end");
    out = *pos_;
    return true;
  }

  /// https://webassembly.github.io/spec/core/binary/values.html#integers: at most ceil(32/7)
  /// bytes, and the unused bits of the last byte must be zero.
  bool u32(uint32_t& out) {
    if (pos_ != end_ && *pos_ < 0x80) {
      out = *pos_++;
      return true;
    }
    return u32_slow(out);
  }

  bool s32(int32_t& out) {
    int64_t v = 0;
    if (!signed_leb(32, v))
      return false;
    out = static_cast<int32_t>(v);
    return true;
  }
  bool s33(int64_t& out) { return signed_leb(33, out); }
  bool s64(int64_t& out) { return signed_leb(64, out); }

  bool fixed32(uint32_t& out) {
    if (remaining() < 4)
      return malformed("unexpected end");
    std::memcpy(&out, pos_, 4);
    pos_ += 4;
    return true;
  }
  bool fixed64(uint64_t& out) {
    if (remaining() < 8)
      return malformed("unexpected end");
    std::memcpy(&out, pos_, 8);
    pos_ += 8;
    return true;
  }
  bool bytes(size_t n, const uint8_t*& out) {
    if (remaining() < n)
      return malformed("unexpected end");
    out = pos_;
    pos_ += n;
    return true;
  }
  void skip_to_end() { pos_ = end_; }

  /// A vector length whose elements take at least `min_bytes` each: a count the remaining bytes
  /// cannot hold is malformed before anything is allocated for it.
  bool count(uint32_t& out, size_t min_bytes = 1) {
    const uint32_t at = offset();
    if (!u32(out))
      return false;
    if (min_bytes != 0 && out > remaining() / min_bytes) {
      return malformed_at(at, "length out of bounds: unexpected end of section or function");
    }
    return true;
  }

  /// A name: vec(byte) holding valid UTF-8.
  bool name(std::string& out) {
    uint32_t len = 0;
    if (!u32(len))
      return false;
    if (len > remaining())
      return malformed("length out of bounds: unexpected end");
    if (!is_valid_utf8(pos_, len))
      return malformed("malformed UTF-8 encoding");
    out.assign(reinterpret_cast<const char*>(pos_), len);
    pos_ += len;
    return true;
  }

 private:
  bool u32_slow(uint32_t& out);
  bool signed_leb(unsigned bits, int64_t& out);

  const uint8_t* base_;
  const uint8_t* pos_;
  const uint8_t* end_;
  Error* sink_;
};

inline bool Reader::u32_slow(uint32_t& out) {
  uint32_t result = 0;
  for (unsigned i = 0; i < 5; ++i) {
    if (pos_ == end_)
      return malformed("unexpected end");
    const uint8_t byte = *pos_++;
    if (i == 4) {
      if (byte & 0x80)
        return malformed("integer representation too long");
      if (byte & 0x70)
        return malformed("integer too large");
    }
    result |= static_cast<uint32_t>(byte & 0x7F) << (7 * i);
    if ((byte & 0x80) == 0) {
      out = result;
      return true;
    }
  }
  return malformed("integer representation too long");
}

inline bool Reader::signed_leb(unsigned bits, int64_t& out) {
  const unsigned max_bytes = (bits + 6) / 7;
  uint64_t result = 0;
  for (unsigned i = 0; i < max_bytes; ++i) {
    if (pos_ == end_)
      return malformed("unexpected end");
    const uint8_t byte = *pos_++;
    const unsigned shift = 7 * i;
    if (i == max_bytes - 1) {
      if (byte & 0x80)
        return malformed("integer representation too long");
      // The bits above the value's width must all copy its sign bit.
      const unsigned used = bits - shift;  // value bits in this byte, 1..7
      const uint8_t sign_bit = static_cast<uint8_t>(1u << (used - 1));
      const uint8_t unused_mask = static_cast<uint8_t>(0x7F & ~((1u << used) - 1));
      const uint8_t unused = byte & unused_mask;
      if ((byte & sign_bit) ? unused != unused_mask : unused != 0) {
        return malformed("integer too large");
      }
    }
    result |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) {
      const unsigned total = shift + 7;
      if (total < 64 && (byte & 0x40))
        result |= ~uint64_t{0} << total;
      out = static_cast<int64_t>(result);
      return true;
    }
  }
  return malformed("integer representation too long");
}

}  // namespace tollgate::runtime::detail
