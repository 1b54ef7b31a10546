// waPC host: the call sequence, its error strings, initialisation, and hostile guests.
// SPDX-License-Identifier: Apache-2.0
#include "hostabi/wapc/wapc.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hostabi/wasi/wasi.hpp"
#include "tests/unit/hostabi/guests.hpp"
#include "tests/utils/wat.hpp"

namespace tollgate::hostabi::wapc {
namespace {

using namespace tollgate::test::guests;

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
std::string text(const std::vector<uint8_t>& v) {
  return std::string(v.begin(), v.end());
}

// One guest instance wired to a WapcHost (and WASI, as the wasmtime provider links it).
struct Harness {
  explicit Harness(std::string_view wat,
                   HostCallHandler handler = {},
                   runtime::StoreLimits limits = {})
      : host(std::move(handler), [this](std::string_view line) { logs.emplace_back(line); }),
        store(limits) {
    module = test::load_wat(wat);
    if (!module)
      return;
    runtime::Linker linker;
    wasi::define_wasi(linker, store, *module, wasi_ctx);
    host.define_imports(linker, store, *module);
    auto inst = linker.instantiate(store, module);
    if (!inst) {
      ADD_FAILURE() << "instantiate: " << inst.error().message;
      return;
    }
    instance = inst.value();
  }
  WapcOutcome call(std::string_view op,
                   std::string_view payload,
                   runtime::CallOptions options = {}) {
    return host.call(store, *instance, op, bytes(payload), options);
  }

  std::vector<std::string> logs;
  wasi::WasiContext wasi_ctx;
  WapcHost host;
  runtime::Store store;
  std::shared_ptr<const runtime::Module> module;
  runtime::Instance* instance = nullptr;
};

TEST(wapc, passes_operation_and_payload_and_returns_response) {
  Harness h(policy_guest(R"({"accepted":true})"));
  ASSERT_NE(h.instance, nullptr);
  WapcOutcome echo = h.call("echo", "hello payload");
  ASSERT_TRUE(echo.ok) << echo.error;
  EXPECT_EQ(text(echo.response), "hello payload");
  WapcOutcome v = h.call("validate", "{}");
  ASSERT_TRUE(v.ok);
  EXPECT_EQ(text(v.response), R"({"accepted":true})");
}

TEST(wapc, result_zero_without_error_message) {
  Harness h(policy_guest("{}"));
  WapcOutcome out = h.call("unknown-op", "");
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.error, "No error message set for call failure");
  EXPECT_FALSE(out.trap.has_value());
}

TEST(wapc, result_zero_with_guest_error) {
  Data d;
  Str e = d.add("bad settings");
  Harness h(wapc_guest(d, "(call $guest_error (i32.const " + n(e.ptr) + ") (i32.const " + n(e.len) +
                              ")) (i32.const 0)"));
  WapcOutcome out = h.call("validate", "");
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.error, "bad settings");
}

TEST(wapc, success_without_response_reports_guest_error_or_fixed_text) {
  Harness none(wapc_guest(Data(), "(i32.const 1)"));
  WapcOutcome a = none.call("validate", "");
  EXPECT_FALSE(a.ok);
  EXPECT_EQ(a.error, "No error message OR response set for call success");

  Data d;
  Str e = d.add("half done");
  Harness err(wapc_guest(d, "(call $guest_error (i32.const " + n(e.ptr) + ") (i32.const " +
                                n(e.len) + ")) (i32.const 1)"));
  WapcOutcome b = err.call("validate", "");
  EXPECT_FALSE(b.ok);
  EXPECT_EQ(b.error, "half done");
}

TEST(wapc, state_is_reset_between_calls) {
  // First call answers; the second returns 1 without answering and must not see the first
  // response.
  Data d;
  Str r = d.add("first");
  Harness h(wapc_guest(d, "(if (i32.eq (local.get $op_len) (i32.const 1)) (then " + respond(r) +
                              ")) (i32.const 1)"));
  EXPECT_TRUE(h.call("a", "").ok);
  WapcOutcome second = h.call("bb", "");
  EXPECT_FALSE(second.ok);
  EXPECT_EQ(second.error, "No error message OR response set for call success");
}

TEST(wapc, trap_counts_as_failure_with_trap_text) {
  Harness h(wapc_guest(Data(), "(unreachable)"));
  WapcOutcome out = h.call("validate", "");
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.trap, runtime::TrapKind::unreachable);
  EXPECT_EQ(out.error, "unreachable");
}

TEST(wapc, endless_loop_stopped_by_fuel) {
  Harness h(wapc_guest(Data(), "(loop $l (br $l)) (i32.const 1)"));
  runtime::CallOptions o;
  o.fuel = 100'000;
  WapcOutcome out = h.call("validate", "", o);
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.trap, runtime::TrapKind::out_of_fuel);
}

TEST(wapc, interruption_is_rewritten) {
  Harness h(wapc_guest(Data(), "(loop $l (br $l)) (i32.const 1)"));
  std::atomic<bool> stop{true};  // already set: the guest stops at its first check
  runtime::CallOptions o;
  o.interrupt = &stop;
  WapcOutcome out = h.call("validate", "", o);
  EXPECT_FALSE(out.ok);
  EXPECT_TRUE(out.interrupted());
  EXPECT_EQ(out.error, "guest code interrupted, execution deadline exceeded");
}

TEST(wapc, garbage_pointers_trap_cleanly) {
  // __guest_request to an address beyond memory.
  // With one page, the payload address (64 KiB) lies just past the end of memory.
  Harness req(wapc_guest(Data(), "(i32.const 1)", 1));
  WapcOutcome a = req.call("validate", "payload");
  EXPECT_FALSE(a.ok);
  EXPECT_EQ(a.trap, runtime::TrapKind::host_error);
  EXPECT_NE(a.error.find("__guest_request"), std::string::npos) << a.error;

  Harness resp(
      wapc_guest(Data(), "(call $guest_response (i32.const 100) (i32.const -1)) (i32.const 1)"));
  WapcOutcome b = resp.call("validate", "");
  EXPECT_FALSE(b.ok);
  EXPECT_EQ(b.trap, runtime::TrapKind::host_error);

  Harness resp2(wapc_guest(
      Data(), "(call $guest_response (i32.const 262000) (i32.const 1000)) (i32.const 1)"));
  WapcOutcome c = resp2.call("validate", "");
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.error.find("out of bounds"), std::string::npos) << c.error;

  Harness hc(wapc_guest(Data(),
                        "(drop (call $host_call (i32.const -1) (i32.const 10) (i32.const 0) "
                        "(i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))) "
                        "(i32.const 1)"));
  WapcOutcome d = hc.call("validate", "");
  EXPECT_FALSE(d.ok);
  EXPECT_NE(d.error.find("__host_call"), std::string::npos) << d.error;

  Harness hr(wapc_guest(
      Data(),
      "(call $host_response (i32.const -1)) (call $host_error (i32.const -1)) (i32.const 0)"));
  // Nothing stored: nothing is written, so even a wild pointer is harmless.
  WapcOutcome e = hr.call("validate", "");
  EXPECT_EQ(e.error, "No error message set for call failure");
}

TEST(wapc, oversized_response_is_refused) {
  // 300 pages = 19 MiB of memory, more than the response cap.
  Harness h(wapc_guest(
      Data(), "(call $guest_response (i32.const 0) (i32.const 19000000)) (i32.const 1)", 300));
  WapcOutcome out = h.call("validate", "");
  EXPECT_FALSE(out.ok);
  EXPECT_NE(out.error.find("exceed the limit"), std::string::npos) << out.error;
}

TEST(wapc, memory_bomb_stays_within_the_store_limit) {
  // Grows until memory.grow fails, then answers with the page count it reached.
  std::string body = R"(
    (loop $grow (br_if $grow (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
    (i32.store (i32.const 0) (memory.size))
    (call $guest_response (i32.const 0) (i32.const 4))
    (i32.const 1))";
  runtime::StoreLimits limits;
  limits.max_memory_pages = 64;
  Harness h(wapc_guest(Data(), body, 4), {}, limits);
  WapcOutcome out = h.call("validate", "");
  ASSERT_TRUE(out.ok) << out.error;
  ASSERT_EQ(out.response.size(), 4u);
  uint32_t pages = out.response[0] | out.response[1] << 8 | out.response[2] << 16;
  EXPECT_LE(pages, 64u);
  EXPECT_GE(pages, 52u);
  EXPECT_LE(h.instance->memories[0]->pages(), 64u);
}

TEST(wapc, host_call_round_trip_and_error) {
  std::vector<std::string> seen;
  HostCallHandler handler = [&](std::string_view b, std::string_view ns, std::string_view op,
                                std::span<const uint8_t> payload) {
    seen.push_back(std::string(b) + "/" + std::string(ns) + "/" + std::string(op) + ":" +
                   std::string(payload.begin(), payload.end()));
    if (op == "fail")
      return HostCallOutcome::failure("it failed");
    return HostCallOutcome::success("answer:" + std::string(payload.begin(), payload.end()));
  };
  Harness ok(host_call_guest("kubewarden", "tests", "ok"), handler);
  WapcOutcome a = ok.call("validate", "ping");
  ASSERT_TRUE(a.ok) << a.error;
  EXPECT_EQ(text(a.response), "answer:ping");
  Harness bad(host_call_guest("kubewarden", "tests", "fail"), handler);
  WapcOutcome b = bad.call("validate", "x");
  EXPECT_FALSE(b.ok);
  EXPECT_EQ(b.error, "it failed");
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], "kubewarden/tests/ok:ping");
}

TEST(wapc, console_log_reaches_the_sink) {
  Data d;
  Str line = d.add("hello from the guest");
  Harness h(wapc_guest(d, "(call $console_log (i32.const " + n(line.ptr) + ") (i32.const " +
                              n(line.len) + ")) (i32.const 0)"));
  h.call("validate", "");
  ASSERT_EQ(h.logs.size(), 1u);
  EXPECT_EQ(h.logs[0], "hello from the guest");
}

TEST(wapc, initialize_runs_start_then_wapc_init) {
  // _start sets the global to 1 and exits 0 (as TinyGo does); wapc_init doubles it; the call
  // answers only if it sees 2.
  const char* imports =
      R"((import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32))))";
  const char* extra = R"(
    (global $g (mut i32) (i32.const 0))
    (func (export "_start") (global.set $g (i32.const 1)) (call $proc_exit (i32.const 0)))
    (func (export "wapc_init") (global.set $g (i32.mul (global.get $g) (i32.const 2)))))";
  Data d;
  Str r = d.add("initialised");
  std::string wat = wapc_guest(
      d, "(if (i32.eq (global.get $g) (i32.const 2)) (then " + respond(r) + ")) (i32.const 0)", 4,
      extra, imports);
  Harness h(wat);
  WapcOutcome init = h.host.initialize(h.store, *h.instance, {});
  ASSERT_TRUE(init.ok) << init.error;
  WapcOutcome out = h.call("validate", "");
  ASSERT_TRUE(out.ok) << out.error;
  EXPECT_EQ(text(out.response), "initialised");
}

TEST(wapc, start_exiting_nonzero_fails_initialisation) {
  const char* imports =
      R"((import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32))))";
  const char* extra = R"((func (export "_start") (call $proc_exit (i32.const 3))))";
  Harness h(wapc_guest(Data(), "(i32.const 0)", 4, extra, imports));
  WapcOutcome init = h.host.initialize(h.store, *h.instance, {});
  EXPECT_FALSE(init.ok);
  EXPECT_EQ(init.trap, runtime::TrapKind::exit);
  EXPECT_EQ(init.error, "Exited with i32 exit status 3");
}

TEST(wapc, missing_guest_call_export_is_an_error) {
  Harness h(R"((module (memory (export "memory") 1)))");
  WapcOutcome out = h.call("validate", "");
  EXPECT_FALSE(out.ok);
  EXPECT_NE(out.error.find("__guest_call"), std::string::npos);
}

TEST(wapc, random_arguments_never_crash_the_host) {
  // Each export forwards its arguments to one import; the host must answer every combination of
  // pointers and lengths with a value or a trap.
  const char* extra = R"(
    (func (export "req") (param i32 i32) (call $guest_request (local.get 0) (local.get 1)))
    (func (export "resp") (param i32 i32) (call $guest_response (local.get 0) (local.get 1)))
    (func (export "err") (param i32 i32) (call $guest_error (local.get 0) (local.get 1)))
    (func (export "log") (param i32 i32) (call $console_log (local.get 0) (local.get 1)))
    (func (export "hresp") (param i32 i32) (call $host_response (local.get 0)))
    (func (export "herr") (param i32 i32) (call $host_error (local.get 0)))
    (func (export "call") (param i32 i32) (result i32)
      (call $host_call (local.get 0) (local.get 1) (local.get 1) (local.get 0)
                       (local.get 0) (i32.const 3) (local.get 1) (local.get 1))))";
  HostCallHandler echo = [](std::string_view, std::string_view, std::string_view,
                            std::span<const uint8_t> p) {
    return HostCallOutcome::success(std::string(p.begin(), p.end()));
  };
  Harness h(wapc_guest(Data(), "(i32.const 0)", 2, extra), echo);
  ASSERT_NE(h.instance, nullptr);
  // Some state so that __guest_request and __host_response have bytes to write.
  h.call("validate", std::string(3000, 'p'));
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  auto next = [&seed] {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    switch (seed % 4) {
      case 0:
        return static_cast<uint32_t>(seed >> 32);  // anything
      case 1:
        return static_cast<uint32_t>(131072 - (seed >> 40) % 64);  // near the end
      case 2:
        return static_cast<uint32_t>((seed >> 40) % 4096);  // small
      default:
        return 0xffffffffu - static_cast<uint32_t>((seed >> 40) % 16);
    }
  };
  const char* names[] = {"req", "resp", "err", "log", "hresp", "herr", "call"};
  int traps = 0, returns = 0;
  for (int i = 0; i < 3000; ++i) {
    runtime::Function* f = h.instance->exported_function(names[i % 7]);
    ASSERT_NE(f, nullptr);
    const runtime::Value args[] = {runtime::Value::make_i32(next()),
                                   runtime::Value::make_i32(next())};
    runtime::CallResult r = runtime::call(h.store, *f, args);
    if (r.trap) {
      EXPECT_EQ(r.trap->kind, runtime::TrapKind::host_error);
      ++traps;
    } else {
      ++returns;
    }
  }
  EXPECT_GT(traps, 0);
  EXPECT_GT(returns, 0);
}

}  // namespace
}  // namespace tollgate::hostabi::wapc
