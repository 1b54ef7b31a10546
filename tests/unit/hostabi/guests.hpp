// Test guests for hostabi: WAT text builders for waPC and WASI guests, honest and hostile.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tollgate::test::guests {

/// A string placed in a data segment.
struct Str {
  uint32_t ptr;
  uint32_t len;
};

/// Collects data segments at increasing addresses from `base`.
class Data {
 public:
  explicit Data(uint32_t base = 1024) : next_(base) {}
  Str add(std::string_view s) {
    Str r{next_, static_cast<uint32_t>(s.size())};
    wat_ += "(data (i32.const " + std::to_string(next_) + ") \"";
    static const char* hex = "0123456789abcdef";
    for (unsigned char c : s) {
      wat_ += '\\';
      wat_ += hex[c >> 4];
      wat_ += hex[c & 15];
    }
    wat_ += "\")\n";
    next_ += static_cast<uint32_t>(s.size()) + 8;
    return r;
  }
  const std::string& wat() const { return wat_; }

 private:
  uint32_t next_;
  std::string wat_;
};

inline std::string n(uint32_t v) {
  return std::to_string(v);
}

/// The waPC imports every guest below declares.
inline const char* kWapcImports = R"(
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (import "wapc" "__guest_error" (func $guest_error (param i32 i32)))
  (import "wapc" "__host_call" (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wapc" "__host_response_len" (func $host_response_len (result i32)))
  (import "wapc" "__host_response" (func $host_response (param i32)))
  (import "wapc" "__host_error_len" (func $host_error_len (result i32)))
  (import "wapc" "__host_error" (func $host_error (param i32)))
  (import "wapc" "__console_log" (func $console_log (param i32 i32)))
)";

/// A waPC guest whose `__guest_call` reads the request (op at 0, payload at 64 KiB) and then runs
/// `body` (locals: $op_len, $msg_len; must end by returning an i32). Memory: `pages` pages.
inline std::string wapc_guest(const Data& data,
                              std::string_view body,
                              uint32_t pages = 4,
                              std::string_view extra = "",
                              std::string_view extra_imports = "") {
  std::string w = "(module\n";
  w += kWapcImports;
  w += extra_imports;
  w += "(memory (export \"memory\") " + n(pages) + ")\n";
  w += data.wat();
  w += extra;
  w += R"(
  (func (export "__guest_call") (param $op_len i32) (param $msg_len i32) (result i32)
    (call $guest_request (i32.const 0) (i32.const 65536))
)";
  w += body;
  w += "))\n";
  return w;
}

/// `(call $guest_response ptr len) (return (i32.const 1))` for a constant.
inline std::string respond(Str s) {
  return "(call $guest_response (i32.const " + n(s.ptr) + ") (i32.const " + n(s.len) +
         ")) (return (i32.const 1))";
}

/// A guest answering validate / validate_settings / protocol_version (told apart by the length
/// of the operation name: 8, 17 and 16) with constants, and echoing op "echo" (4).
inline std::string policy_guest(std::string_view validate_response,
                                std::string_view settings_response = R"({"valid":true})",
                                std::string_view extra = "",
                                std::string_view extra_imports = "") {
  Data d;
  Str v = d.add(validate_response);
  Str s = d.add(settings_response);
  Str p = d.add("\"v1\"");
  std::string body;
  body += "(if (i32.eq (local.get $op_len) (i32.const 8)) (then " + respond(v) + "))\n";
  body += "(if (i32.eq (local.get $op_len) (i32.const 17)) (then " + respond(s) + "))\n";
  body += "(if (i32.eq (local.get $op_len) (i32.const 16)) (then " + respond(p) + "))\n";
  body +=
      "(if (i32.eq (local.get $op_len) (i32.const 4)) (then (call $guest_response (i32.const "
      "65536) (local.get $msg_len)) (return (i32.const 1))))\n";
  body += "(i32.const 0)\n";
  return wapc_guest(d, body, 4, extra, extra_imports);
}

/// A guest that makes one host call (binding, ns, op) with its own request payload, and answers
/// the host's response, or fails with the host's error.
inline std::string host_call_guest(std::string_view binding,
                                   std::string_view ns,
                                   std::string_view op) {
  Data d;
  Str b = d.add(binding);
  Str s = d.add(ns);
  Str o = d.add(op);
  std::string body = R"(
    (if (i32.eq (call $host_call
          (i32.const )" +
                     n(b.ptr) + ") (i32.const " + n(b.len) + R"()
          (i32.const )" +
                     n(s.ptr) + ") (i32.const " + n(s.len) + R"()
          (i32.const )" +
                     n(o.ptr) + ") (i32.const " + n(o.len) + R"()
          (i32.const 65536) (local.get $msg_len)) (i32.const 1))
      (then
        (call $host_response (i32.const 131072))
        (call $guest_response (i32.const 131072) (call $host_response_len))
        (return (i32.const 1))))
    (call $host_error (i32.const 131072))
    (call $guest_error (i32.const 131072) (call $host_error_len))
    (i32.const 0)
)";
  return wapc_guest(d, body, 4);
}

/// WASI imports used by the WASI guests.
inline const char* kWasiImports = R"(
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
)";

/// Helpers inside WASI guests: $write(fd, ptr, len) and $read_all(dst) -> total bytes read
/// (reads stdin to EOF). Scratch: iovec at 16, counts at 32.
inline const char* kWasiHelpers = R"(
  (func $write (param $fd i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 16) (local.get $ptr))
    (i32.store (i32.const 20) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 32))))
  (func $read_all (param $dst i32) (result i32)
    (local $total i32)
    (loop $more
      (i32.store (i32.const 16) (i32.add (local.get $dst) (local.get $total)))
      (i32.store (i32.const 20) (i32.const 4096))
      (drop (call $fd_read (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 32)))
      (local.set $total (i32.add (local.get $total) (i32.load (i32.const 32))))
      (br_if $more (i32.load (i32.const 32))))
    (local.get $total))
)";

/// A WASI command: `start_body` is the body of `_start`.
inline std::string wasi_guest(const Data& data,
                              std::string_view start_body,
                              std::string_view extra = "",
                              uint32_t pages = 4) {
  std::string w = "(module\n";
  w += kWasiImports;
  w += extra;
  w += "(memory (export \"memory\") " + n(pages) + ")\n";
  w += data.wat();
  w += kWasiHelpers;
  w += "(func (export \"_start\")\n";
  w += start_body;
  w += "))\n";
  return w;
}

}  // namespace tollgate::test::guests
