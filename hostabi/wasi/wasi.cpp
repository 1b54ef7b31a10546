// WASI preview1 for policies: in-memory stdio, args, env, clocks, random; ENOSYS for the rest.
// SPDX-License-Identifier: Apache-2.0
#include "hostabi/wasi/wasi.hpp"

#include <openssl/rand.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string_view>
#include <thread>

#include "hostabi/host_function.hpp"
#include "hostabi/linker.hpp"

namespace tollgate::hostabi::wasi {

using runtime::HostContext;
using runtime::Trap;
using runtime::ValType;
using runtime::Value;

WasiContext::WasiContext(WasiOptions options) : options_(std::move(options)) {}

bool WasiContext::push_stdin(std::string_view bytes) {
  if (stdin_pos_ > 0) {  // drop what was read, so a long exchange does not grow the buffer
    stdin_.erase(0, stdin_pos_);
    stdin_pos_ = 0;
  }
  if (bytes.size() > options_.max_stdin_bytes - std::min(options_.max_stdin_bytes, stdin_.size()))
    return false;
  stdin_.append(bytes);
  return true;
}

std::string_view WasiContext::read_stdin(size_t max) {
  size_t n = std::min(max, stdin_available());
  std::string_view out(stdin_.data() + stdin_pos_, n);
  stdin_pos_ += n;
  return out;
}

void WasiContext::write_output(uint32_t fd, std::string_view bytes) {
  std::string& out = fd == 1 ? stdout_ : stderr_;
  bool& truncated = fd == 1 ? stdout_truncated_ : stderr_truncated_;
  size_t room = options_.max_output_bytes - std::min(options_.max_output_bytes, out.size());
  if (bytes.size() > room) {
    truncated = true;
    bytes = bytes.substr(0, room);
  }
  out.append(bytes);
}

bool is_clean_exit(const Trap& trap) {
  return trap.kind == runtime::TrapKind::exit && trap.exit_code == 0;
}

namespace {

constexpr ValType I = ValType::i32;
constexpr ValType L = ValType::i64;

using Impl = std::optional<Trap> (*)(WasiContext&,
                                     HostContext&,
                                     std::span<const Value>,
                                     std::span<Value>);

inline uint32_t a32(std::span<const Value> a, size_t i) {
  return a[i].i32;
}
inline uint64_t a64(std::span<const Value> a, size_t i) {
  return a[i].i64;
}
inline std::optional<Trap> ret(std::span<Value> r, Errno e) {
  r[0] = Value::make_i32(e);
  return std::nullopt;
}

// The argv/environ calling convention: a table of pointers, then the NUL-terminated strings.
std::optional<Trap> strings_get(const std::vector<std::string>& list,
                                HostContext& hc,
                                uint32_t ptrs,
                                uint32_t buf,
                                std::span<Value> r) {
  GuestMemory m = GuestMemory::of(hc);
  uint32_t off = buf;
  for (size_t i = 0; i < list.size(); ++i) {
    if (!m.write_u32(ptrs + static_cast<uint32_t>(4 * i), off))
      return ret(r, kFault);
    if (!m.write(off, list[i]) || !m.write_u8(off + static_cast<uint32_t>(list[i].size()), 0))
      return ret(r, kFault);
    off += static_cast<uint32_t>(list[i].size() + 1);
  }
  return ret(r, kSuccess);
}

std::optional<Trap> strings_sizes(const std::vector<std::string>& list,
                                  HostContext& hc,
                                  uint32_t count_ptr,
                                  uint32_t size_ptr,
                                  std::span<Value> r) {
  GuestMemory m = GuestMemory::of(hc);
  uint64_t total = 0;
  for (const auto& s : list)
    total += s.size() + 1;
  if (!m.write_u32(count_ptr, static_cast<uint32_t>(list.size())) ||
      !m.write_u32(size_ptr, static_cast<uint32_t>(total)))
    return ret(r, kFault);
  return ret(r, kSuccess);
}

std::optional<Trap> args_get(WasiContext& c,
                             HostContext& hc,
                             std::span<const Value> a,
                             std::span<Value> r) {
  return strings_get(c.options().args, hc, a32(a, 0), a32(a, 1), r);
}
std::optional<Trap> args_sizes_get(WasiContext& c,
                                   HostContext& hc,
                                   std::span<const Value> a,
                                   std::span<Value> r) {
  return strings_sizes(c.options().args, hc, a32(a, 0), a32(a, 1), r);
}
std::optional<Trap> environ_get(WasiContext& c,
                                HostContext& hc,
                                std::span<const Value> a,
                                std::span<Value> r) {
  return strings_get(c.options().env, hc, a32(a, 0), a32(a, 1), r);
}
std::optional<Trap> environ_sizes_get(WasiContext& c,
                                      HostContext& hc,
                                      std::span<const Value> a,
                                      std::span<Value> r) {
  return strings_sizes(c.options().env, hc, a32(a, 0), a32(a, 1), r);
}

// Preview1 clock ids: realtime, monotonic, process_cputime_id, thread_cputime_id.
std::optional<clockid_t> posix_clock(uint32_t id) {
  switch (id) {
    case 0:
      return CLOCK_REALTIME;
    case 1:
      return CLOCK_MONOTONIC;
    case 2:
      return CLOCK_PROCESS_CPUTIME_ID;
    case 3:
      return CLOCK_THREAD_CPUTIME_ID;
    default:
      return std::nullopt;
  }
}

uint64_t to_ns(const timespec& ts) {
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

std::optional<uint64_t> now_ns(uint32_t id) {
  auto clk = posix_clock(id);
  timespec ts{};
  if (!clk || clock_gettime(*clk, &ts) != 0)
    return std::nullopt;
  return to_ns(ts);
}

std::optional<Trap> clock_res_get(WasiContext&,
                                  HostContext& hc,
                                  std::span<const Value> a,
                                  std::span<Value> r) {
  auto clk = posix_clock(a32(a, 0));
  timespec ts{};
  if (!clk || clock_getres(*clk, &ts) != 0)
    return ret(r, kInval);
  if (!GuestMemory::of(hc).write_u64(a32(a, 1), to_ns(ts)))
    return ret(r, kFault);
  return ret(r, kSuccess);
}

std::optional<Trap> clock_time_get(WasiContext&,
                                   HostContext& hc,
                                   std::span<const Value> a,
                                   std::span<Value> r) {
  auto t = now_ns(a32(a, 0));
  if (!t)
    return ret(r, kInval);
  if (!GuestMemory::of(hc).write_u64(a32(a, 2), *t))
    return ret(r, kFault);
  return ret(r, kSuccess);
}

std::optional<Trap> random_get(WasiContext&,
                               HostContext& hc,
                               std::span<const Value> a,
                               std::span<Value> r) {
  auto buf = GuestMemory::of(hc).bytes(a32(a, 0), a32(a, 1));
  if (!buf)
    return ret(r, kFault);
  // RAND_bytes takes an int length: fill in chunks.
  size_t done = 0;
  while (done < buf->size()) {
    size_t n = std::min<size_t>(buf->size() - done, 1u << 20);
    if (RAND_bytes(buf->data() + done, static_cast<int>(n)) != 1)
      return ret(r, kIo);
    done += n;
  }
  return ret(r, kSuccess);
}

// One iovec: {buf: u32, buf_len: u32}.
struct IoVec {
  uint32_t buf;
  uint32_t len;
};

std::optional<IoVec> read_iovec(const GuestMemory& m, uint32_t iovs, uint32_t i) {
  uint64_t at = uint64_t{iovs} + uint64_t{i} * 8;
  if (at > UINT32_MAX)
    return std::nullopt;
  auto buf = m.read_u32(static_cast<uint32_t>(at));
  auto len = m.read_u32(static_cast<uint32_t>(at + 4));
  if (!buf || !len)
    return std::nullopt;
  return IoVec{*buf, *len};
}

std::optional<Trap> fd_read(WasiContext& c,
                            HostContext& hc,
                            std::span<const Value> a,
                            std::span<Value> r) {
  if (a32(a, 0) != 0)
    return ret(r, kBadf);
  GuestMemory m = GuestMemory::of(hc);
  uint32_t iovs = a32(a, 1), count = a32(a, 2);
  uint64_t total = 0;
  for (uint32_t i = 0; i < count && c.stdin_available() > 0; ++i) {
    auto v = read_iovec(m, iovs, i);
    if (!v)
      return ret(r, kFault);
    auto dst = m.bytes(v->buf, v->len);
    if (!dst)
      return ret(r, kFault);
    std::string_view got = c.read_stdin(dst->size());
    std::copy(got.begin(), got.end(), dst->begin());
    total += got.size();
  }
  if (!m.write_u32(a32(a, 3), static_cast<uint32_t>(total)))
    return ret(r, kFault);
  return ret(r, kSuccess);
}

std::optional<Trap> fd_write(WasiContext& c,
                             HostContext& hc,
                             std::span<const Value> a,
                             std::span<Value> r) {
  uint32_t fd = a32(a, 0);
  if (fd != 1 && fd != 2)
    return ret(r, kBadf);
  GuestMemory m = GuestMemory::of(hc);
  uint32_t iovs = a32(a, 1), count = a32(a, 2);
  uint64_t total = 0;
  for (uint32_t i = 0; i < count; ++i) {
    auto v = read_iovec(m, iovs, i);
    if (!v)
      return ret(r, kFault);
    auto src = m.string(v->buf, v->len);
    if (!src)
      return ret(r, kFault);
    c.write_output(fd, *src);
    total += src->size();
  }
  if (!m.write_u32(a32(a, 3), static_cast<uint32_t>(std::min<uint64_t>(total, UINT32_MAX))))
    return ret(r, kFault);
  return ret(r, kSuccess);
}

std::optional<Trap> fd_fdstat_get(WasiContext&,
                                  HostContext& hc,
                                  std::span<const Value> a,
                                  std::span<Value> r) {
  uint32_t fd = a32(a, 0);
  if (fd > 2)
    return ret(r, kBadf);
  // fdstat: filetype u8 @0, flags u16 @2, rights_base u64 @8, rights_inheriting u64 @16.
  // Rights: fd_read (bit 1) for stdin, fd_write (bit 6) for stdout/stderr, plus poll (bit 27).
  constexpr uint64_t kFdRead = 1u << 1, kFdWrite = 1u << 6, kPoll = 1u << 27;
  const uint64_t rights = (fd == 0 ? kFdRead : kFdWrite) | kPoll;
  GuestMemory m = GuestMemory::of(hc);
  uint32_t p = a32(a, 1);
  auto buf = m.bytes(p, 24);
  if (!buf)
    return ret(r, kFault);
  std::fill(buf->begin(), buf->end(), 0);
  m.write_u8(p, 2);  // character_device
  m.write_u64(p + 8, rights);
  return ret(r, kSuccess);
}

std::optional<Trap> fd_prestat_get(WasiContext&,
                                   HostContext&,
                                   std::span<const Value>,
                                   std::span<Value> r) {
  return ret(r, kBadf);  // no preopens: libc stops scanning at the first EBADF
}

std::optional<Trap> fd_close(WasiContext&,
                             HostContext&,
                             std::span<const Value> a,
                             std::span<Value> r) {
  return ret(r, a32(a, 0) <= 2 ? kSuccess : kBadf);
}

std::optional<Trap> fd_fdstat_set_flags(WasiContext&,
                                        HostContext&,
                                        std::span<const Value> a,
                                        std::span<Value> r) {
  return ret(r, a32(a, 0) <= 2 ? kSuccess : kBadf);
}

std::optional<Trap> fd_seek(WasiContext&,
                            HostContext&,
                            std::span<const Value> a,
                            std::span<Value> r) {
  return ret(r, a32(a, 0) <= 2 ? Errno(70) /* espipe */ : kBadf);
}

std::optional<Trap> proc_exit(WasiContext&,
                              HostContext&,
                              std::span<const Value> a,
                              std::span<Value>) {
  Trap t;
  t.kind = runtime::TrapKind::exit;
  t.exit_code = a32(a, 0);
  return t;
}

std::optional<Trap> sched_yield(WasiContext&,
                                HostContext&,
                                std::span<const Value>,
                                std::span<Value> r) {
  return ret(r, kSuccess);
}

// Sleeps until `until_ns` on monotonic time in short slices, so the interrupt flag (the
// evaluation deadline) still stops a guest that asked to sleep for long.
std::optional<Trap> sleep_until(const WasiContext& c, uint64_t until_ns) {
  using namespace std::chrono;
  for (;;) {
    auto now = now_ns(1);
    if (!now || *now >= until_ns)
      return std::nullopt;
    if (c.options().interrupt && c.options().interrupt->load(std::memory_order_relaxed)) {
      Trap t;
      t.kind = runtime::TrapKind::interrupted;
      return t;
    }
    std::this_thread::sleep_for(nanoseconds(std::min<uint64_t>(until_ns - *now, 5'000'000)));
  }
}

// poll_oneoff(in, out, nsubscriptions, nevents_ptr). subscription (48 bytes): userdata u64 @0,
// tag u8 @8, then clock {id u32 @16, timeout u64 @24, precision u64 @32, flags u16 @40} or
// fd {fd u32 @16}. event (32 bytes): userdata u64 @0, error u16 @8, type u8 @10,
// fd_readwrite {nbytes u64 @16, flags u16 @24}.
std::optional<Trap> poll_oneoff(WasiContext& c,
                                HostContext& hc,
                                std::span<const Value> a,
                                std::span<Value> r) {
  GuestMemory m = GuestMemory::of(hc);
  uint32_t in = a32(a, 0), out = a32(a, 1), n = a32(a, 2);
  if (n == 0)
    return ret(r, kInval);
  if (!m.bytes(in, 0) || uint64_t{in} + uint64_t{n} * 48 > UINT32_MAX || !m.bytes(in, n * 48) ||
      uint64_t{out} + uint64_t{n} * 32 > UINT32_MAX || !m.bytes(out, n * 32))
    return ret(r, kFault);
  // Fd subscriptions are always ready (in-memory stdio); otherwise sleep to the earliest clock.
  uint32_t events = 0;
  std::optional<uint64_t> wake_at;
  std::optional<uint64_t> wake_userdata;
  auto emit = [&](uint64_t userdata, uint16_t error, uint8_t type, uint64_t nbytes) {
    uint32_t e = out + events * 32;
    auto buf = m.bytes(e, 32);
    std::fill(buf->begin(), buf->end(), 0);
    m.write_u64(e, userdata);
    m.write_u16(e + 8, error);
    m.write_u8(e + 10, type);
    m.write_u64(e + 16, nbytes);
    ++events;
  };
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t s = in + i * 48;
    uint64_t userdata = *m.read_u64(s);
    uint8_t tag = *m.read_u8(s + 8);
    if (tag == 0) {  // clock
      uint32_t id = *m.read_u32(s + 16);
      uint64_t timeout = *m.read_u64(s + 24);
      uint16_t flags = *m.read_u16(s + 40);
      auto now_clock = now_ns(id);
      auto now_mono = now_ns(1);
      if (!now_clock || !now_mono) {
        emit(userdata, kInval, 0, 0);
        continue;
      }
      // flags bit 0: subscription_clock_abstime.
      uint64_t delay = (flags & 1) ? (timeout > *now_clock ? timeout - *now_clock : 0) : timeout;
      uint64_t at = *now_mono + std::min<uint64_t>(delay, UINT64_MAX - *now_mono);
      if (!wake_at || at < *wake_at) {
        wake_at = at;
        wake_userdata = userdata;
      }
    } else if (tag == 1 || tag == 2) {  // fd_read, fd_write
      uint32_t fd = *m.read_u32(s + 16);
      bool ok = tag == 1 ? fd == 0 : (fd == 1 || fd == 2);
      emit(userdata, ok ? kSuccess : kBadf, tag, tag == 1 && ok ? c.stdin_available() : 0);
    } else {
      emit(userdata, kInval, tag, 0);
    }
  }
  if (events == 0 && wake_at) {
    if (auto trap = sleep_until(c, *wake_at))
      return trap;
    emit(*wake_userdata, kSuccess, 0, 0);
  }
  if (!m.write_u32(a32(a, 3), events))
    return ret(r, kFault);
  return ret(r, kSuccess);
}

std::optional<Trap> not_supported(WasiContext&,
                                  HostContext&,
                                  std::span<const Value>,
                                  std::span<Value> r) {
  return ret(r, kNosys);
}

struct Entry {
  std::string_view name;
  std::initializer_list<ValType> params;
  bool returns_errno;
  Impl impl;
};

// Every preview1 function with its witx signature (as wasi-libc, Rust and TinyGo import it).
const Entry kEntries[] = {
    {"args_get", {I, I}, true, args_get},
    {"args_sizes_get", {I, I}, true, args_sizes_get},
    {"environ_get", {I, I}, true, environ_get},
    {"environ_sizes_get", {I, I}, true, environ_sizes_get},
    {"clock_res_get", {I, I}, true, clock_res_get},
    {"clock_time_get", {I, L, I}, true, clock_time_get},
    {"fd_advise", {I, L, L, I}, true, not_supported},
    {"fd_allocate", {I, L, L}, true, not_supported},
    {"fd_close", {I}, true, fd_close},
    {"fd_datasync", {I}, true, not_supported},
    {"fd_fdstat_get", {I, I}, true, fd_fdstat_get},
    {"fd_fdstat_set_flags", {I, I}, true, fd_fdstat_set_flags},
    {"fd_fdstat_set_rights", {I, L, L}, true, not_supported},
    {"fd_filestat_get", {I, I}, true, not_supported},
    {"fd_filestat_set_size", {I, L}, true, not_supported},
    {"fd_filestat_set_times", {I, L, L, I}, true, not_supported},
    {"fd_pread", {I, I, I, L, I}, true, not_supported},
    {"fd_prestat_get", {I, I}, true, fd_prestat_get},
    {"fd_prestat_dir_name", {I, I, I}, true, fd_prestat_get},
    {"fd_pwrite", {I, I, I, L, I}, true, not_supported},
    {"fd_read", {I, I, I, I}, true, fd_read},
    {"fd_readdir", {I, I, I, L, I}, true, not_supported},
    {"fd_renumber", {I, I}, true, not_supported},
    {"fd_seek", {I, L, I, I}, true, fd_seek},
    {"fd_sync", {I}, true, not_supported},
    {"fd_tell", {I, I}, true, fd_seek},
    {"fd_write", {I, I, I, I}, true, fd_write},
    {"path_create_directory", {I, I, I}, true, not_supported},
    {"path_filestat_get", {I, I, I, I, I}, true, not_supported},
    {"path_filestat_set_times", {I, I, I, I, L, L, I}, true, not_supported},
    {"path_link", {I, I, I, I, I, I, I}, true, not_supported},
    {"path_open", {I, I, I, I, I, L, L, I, I}, true, not_supported},
    {"path_readlink", {I, I, I, I, I, I}, true, not_supported},
    {"path_remove_directory", {I, I, I}, true, not_supported},
    {"path_rename", {I, I, I, I, I, I}, true, not_supported},
    {"path_symlink", {I, I, I, I, I}, true, not_supported},
    {"path_unlink_file", {I, I, I}, true, not_supported},
    {"poll_oneoff", {I, I, I, I}, true, poll_oneoff},
    {"proc_exit", {I}, false, proc_exit},
    {"proc_raise", {I}, true, not_supported},
    {"sched_yield", {}, true, sched_yield},
    {"random_get", {I, I}, true, random_get},
    {"sock_accept", {I, I, I}, true, not_supported},
    {"sock_recv", {I, I, I, I, I, I}, true, not_supported},
    {"sock_send", {I, I, I, I, I}, true, not_supported},
    {"sock_shutdown", {I, I}, true, not_supported},
};

}  // namespace

namespace {

// The key shared functions find the bound context under (Store::host_data).
const char kHostDataKey = 0;

// Defines the imported preview1 functions; `ctx` null means "the context bound to the store".
void define(runtime::Linker& linker,
            runtime::Store& store,
            const runtime::Module& module,
            WasiContext* ctx) {
  define_imported(linker, store, module, kModuleName,
                  [ctx](std::string_view name) -> std::optional<HostDefinition> {
                    for (const Entry& e : kEntries) {
                      if (e.name != name)
                        continue;
                      runtime::FuncType type{std::vector<ValType>(e.params), {}};
                      if (e.returns_errno)
                        type.results.push_back(I);
                      Impl impl = e.impl;
                      return HostDefinition{
                          std::move(type),
                          [ctx, impl](HostContext& hc, std::span<const Value> args,
                                      std::span<Value> results) -> std::optional<Trap> {
                            WasiContext* c =
                                ctx ? ctx
                                    : static_cast<WasiContext*>(hc.store.host_data(&kHostDataKey));
                            if (c == nullptr)
                              return host_trap("WASI: no WASI context is bound to this store");
                            return impl(*c, hc, args, results);
                          }};
                    }
                    return std::nullopt;
                  });
}

}  // namespace

void WasiContext::bind(runtime::Store& store) {
  store.set_host_data(&kHostDataKey, this);
}

void define_wasi(runtime::Linker& linker,
                 runtime::Store& store,
                 const runtime::Module& module,
                 WasiContext& ctx) {
  define(linker, store, module, &ctx);
}

void define_wasi_shared(runtime::Linker& linker,
                        runtime::Store& owner,
                        const runtime::Module& module) {
  define(linker, owner, module, nullptr);
}

}  // namespace tollgate::hostabi::wasi
