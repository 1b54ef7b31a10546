// WASI preview1: in-memory stdio, args, proc_exit, clocks, random, ENOSYS for the rest.
// SPDX-License-Identifier: Apache-2.0
#include "hostabi/wasi/wasi.hpp"

#include <gtest/gtest.h>

#include "tests/unit/hostabi/guests.hpp"
#include "tests/utils/wat.hpp"

namespace tollgate::hostabi::wasi {
namespace {

using namespace tollgate::test::guests;

struct GuestRun {
  runtime::CallResult result;
  std::unique_ptr<WasiContext> ctx;
};

// Instantiates `wat` with WASI bound to a fresh context and calls `export_name`.
GuestRun run(std::string_view wat,
             WasiOptions options = {},
             std::string_view stdin_data = "",
             std::string_view export_name = "_start",
             std::vector<runtime::Value> args = {}) {
  GuestRun r;
  r.ctx = std::make_unique<WasiContext>(std::move(options));
  r.ctx->push_stdin(stdin_data);
  auto module = test::load_wat(wat);
  if (!module)
    return r;
  runtime::Store store;
  runtime::Linker linker;
  define_wasi(linker, store, *module, *r.ctx);
  auto inst = linker.instantiate(store, module);
  if (!inst) {
    ADD_FAILURE() << inst.error().message;
    return r;
  }
  runtime::Function* f = inst.value()->exported_function(export_name);
  if (f == nullptr) {
    ADD_FAILURE() << "no export " << export_name;
    return r;
  }
  r.result = runtime::call(store, *f, args);
  return r;
}

TEST(wasi, echoes_stdin_to_stdout_until_eof) {
  std::string input(10000, 'x');
  input += "end";
  std::string start = R"(
    (local $n i32)
    (local.set $n (call $read_all (i32.const 65536)))
    (call $write (i32.const 1) (i32.const 65536) (local.get $n)))";
  GuestRun r = run(wasi_guest(Data(), start), {}, input);
  ASSERT_TRUE(r.result.ok()) << r.result.trap->message();
  EXPECT_EQ(r.ctx->stdout_data(), input);
  EXPECT_EQ(r.ctx->stdin_available(), 0u);
}

TEST(wasi, proc_exit_traps_with_its_code) {
  Data d;
  Str msg = d.add("went wrong\n");
  std::string start = "(call $write (i32.const 2) (i32.const " + n(msg.ptr) + ") (i32.const " +
                      n(msg.len) + ")) (call $proc_exit (i32.const 7))";
  GuestRun r = run(wasi_guest(d, start));
  ASSERT_TRUE(r.result.trap.has_value());
  EXPECT_EQ(r.result.trap->kind, runtime::TrapKind::exit);
  EXPECT_EQ(r.result.trap->exit_code, 7u);
  EXPECT_FALSE(is_clean_exit(*r.result.trap));
  EXPECT_EQ(r.ctx->stderr_data(), "went wrong\n");

  GuestRun clean = run(wasi_guest(Data(), "(call $proc_exit (i32.const 0))"));
  ASSERT_TRUE(clean.result.trap.has_value());
  EXPECT_TRUE(is_clean_exit(*clean.result.trap));
}

TEST(wasi, output_is_capped) {
  WasiOptions o;
  o.max_output_bytes = 100;
  std::string start = "(call $write (i32.const 1) (i32.const 0) (i32.const 1000))";
  GuestRun r = run(wasi_guest(Data(), start), o);
  ASSERT_TRUE(r.result.ok());
  EXPECT_EQ(r.ctx->stdout_data().size(), 100u);
  EXPECT_TRUE(r.ctx->stdout_truncated());
}

TEST(wasi, args_and_environ) {
  // Returns argc * 1000 + argv_buf_size, and copies argv[1] to stdout.
  const char* extra = R"(
    (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32))))";
  std::string wat = wasi_guest(Data(), R"(
    (drop (call $args_sizes_get (i32.const 100) (i32.const 104)))
    (drop (call $args_get (i32.const 200) (i32.const 300)))
    ;; argv[1] starts after "policy.wasm\0" (12 bytes): print it without its NUL.
    (call $write (i32.const 1) (i32.load (i32.const 204))
      (i32.sub (i32.sub (i32.load (i32.const 104)) (i32.const 12)) (i32.const 1)))
    (drop (call $environ_sizes_get (i32.const 400) (i32.const 404)))
    (call $write (i32.const 2) (i32.const 400) (i32.const 8)))",
                               extra);
  WasiOptions o;
  o.args = {"policy.wasm", "validate-settings"};
  GuestRun r = run(wat, o);
  ASSERT_TRUE(r.result.ok()) << r.result.trap->message();
  EXPECT_EQ(r.ctx->stdout_data(), "validate-settings");
  EXPECT_EQ(r.ctx->stderr_data(), std::string(8, '\0'));  // no environment
}

TEST(wasi, unsupported_functions_answer_enosys_and_prestat_ebadf) {
  const char* extra = R"(
    (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "sock_accept" (func $sock_accept (param i32 i32 i32) (result i32)))
    (func (export "probe") (result i32)
      (i32.add
        (i32.mul (call $path_open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 0)
                   (i32.const 0) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 0))
                 (i32.const 10000))
        (i32.add (i32.mul (call $fd_prestat_get (i32.const 3) (i32.const 0)) (i32.const 100))
                 (call $sock_accept (i32.const 0) (i32.const 0) (i32.const 0))))))";
  GuestRun r = run(wasi_guest(Data(), "", extra), {}, "", "probe");
  ASSERT_TRUE(r.result.ok());
  EXPECT_EQ(r.result.values[0].i32, 52u * 10000 + 8u * 100 + 52u);
}

TEST(wasi, wrong_signature_is_unlinkable) {
  auto module = test::load_wat(R"((module
    (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32) (result i32)))))");
  ASSERT_TRUE(module);
  runtime::Store store;
  runtime::Linker linker;
  WasiContext ctx;
  define_wasi(linker, store, *module, ctx);
  auto inst = linker.instantiate(store, module);
  ASSERT_FALSE(inst.ok());
  EXPECT_EQ(inst.error().kind, runtime::ErrorKind::unlinkable);
}

TEST(wasi, bad_pointers_give_efault_not_a_crash) {
  const char* extra = R"(
    (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
    (func (export "probe") (result i32)
      (i32.add
        (i32.mul (call $fd_write (i32.const 1) (i32.const -8) (i32.const 1) (i32.const 0)) (i32.const 1000))
        (i32.add
          (i32.mul (call $fd_write (i32.const 1) (i32.const 0) (i32.const 100000000) (i32.const 0)) (i32.const 100))
          (call $random_get (i32.const 65000) (i32.const 100000))))))";
  GuestRun r = run(wasi_guest(Data(), "", extra, 1), {}, "", "probe");
  ASSERT_TRUE(r.result.ok());
  EXPECT_EQ(r.result.values[0].i32, 21u * 1000 + 21u * 100 + 21u);
}

TEST(wasi, clock_and_random) {
  const char* extra = R"(
    (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
    (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
    (func (export "probe") (result i64)
      (drop (call $random_get (i32.const 200) (i32.const 64)))
      (if (i32.ne (call $clock_time_get (i32.const 9) (i64.const 0) (i32.const 100)) (i32.const 28))
        (then (unreachable)))
      (drop (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 100)))
      (i64.load (i32.const 100))))";
  GuestRun r = run(wasi_guest(Data(), "", extra), {}, "", "probe");
  ASSERT_TRUE(r.result.ok()) << r.result.trap->message();
  // Realtime in ns: after 2020-01-01.
  EXPECT_GT(r.result.values[0].i64, 1'577'836'800'000'000'000ull);
}

TEST(wasi, poll_oneoff_sleeps_on_a_clock_and_honours_the_interrupt) {
  const char* extra = R"(
    (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
    (func (export "sleep") (param $ns i64) (result i32)
      (i64.store (i32.const 1000) (i64.const 42))      ;; userdata
      (i32.store8 (i32.const 1008) (i32.const 0))      ;; clock
      (i32.store (i32.const 1016) (i32.const 1))       ;; monotonic
      (i64.store (i32.const 1024) (local.get $ns))     ;; relative timeout
      (i32.store16 (i32.const 1040) (i32.const 0))
      (drop (call $poll_oneoff (i32.const 1000) (i32.const 2000) (i32.const 1) (i32.const 3000)))
      (i32.load (i32.const 3000))))";
  std::string wat = wasi_guest(Data(), "", extra);
  GuestRun r = run(wat, {}, "", "sleep", {runtime::Value::make_i64(1'000'000)});
  ASSERT_TRUE(r.result.ok());
  EXPECT_EQ(r.result.values[0].i32, 1u);

  std::atomic<bool> stop{true};
  WasiOptions o;
  o.interrupt = &stop;
  GuestRun hour = run(wat, o, "", "sleep", {runtime::Value::make_i64(3600'000'000'000ull)});
  ASSERT_TRUE(hour.result.trap.has_value());
  EXPECT_EQ(hour.result.trap->kind, runtime::TrapKind::interrupted);
}

TEST(wasi, stdin_refills_after_eof) {
  WasiContext ctx;
  ctx.push_stdin("abc");
  EXPECT_EQ(ctx.read_stdin(10), "abc");
  EXPECT_EQ(ctx.read_stdin(10), "");
  ctx.push_stdin("def");
  EXPECT_EQ(ctx.read_stdin(2), "de");
  EXPECT_EQ(ctx.read_stdin(2), "f");
}

TEST(wasi, random_arguments_never_crash_the_host) {
  const char* extra = R"(
    (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
    (import "wasi_snapshot_preview1" "clock_res_get" (func $clock_res_get (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fd_fdstat_get (param i32 i32) (result i32)))
    (func (export "probe") (param $f i32) (param $a i32) (param $b i32) (param $c i32) (result i32)
      (block $default
        (block $7 (block $6 (block $5 (block $4 (block $3 (block $2 (block $1 (block $0
          (br_table $0 $1 $2 $3 $4 $5 $6 $7 $default (local.get $f)))
          (return (call $fd_write (local.get $c) (local.get $a) (local.get $b) (local.get $c))))
          (return (call $fd_read (i32.const 0) (local.get $a) (local.get $b) (local.get $c))))
          (return (call $args_get (local.get $a) (local.get $b))))
          (return (call $environ_get (local.get $a) (local.get $b))))
          (return (call $clock_time_get (local.get $c) (i64.const 0) (local.get $a))))
          (return (call $random_get (local.get $a) (local.get $b))))
          (return (call $poll_oneoff (local.get $a) (local.get $b) (local.get $c) (local.get $a))))
          (return (call $fd_fdstat_get (local.get $c) (local.get $a))))
      (i32.const -1)))";
  auto module = test::load_wat(wasi_guest(Data(), "", extra, 2));
  ASSERT_TRUE(module);
  std::atomic<bool> stop{true};  // any clock poll returns at once
  WasiOptions o;
  o.args = {"policy.wasm", "validate"};
  o.env = {"A=b"};
  o.interrupt = &stop;
  WasiContext ctx(o);
  ctx.push_stdin(std::string(5000, 'i'));
  runtime::Store store;
  runtime::Linker linker;
  define_wasi(linker, store, *module, ctx);
  auto inst = linker.instantiate(store, module);
  ASSERT_TRUE(inst.ok());
  runtime::Function* probe = inst.value()->exported_function("probe");
  uint64_t seed = 0x243f6a8885a308d3ull;
  auto next = [&seed] {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    switch (seed % 4) {
      case 0:
        return static_cast<uint32_t>(seed >> 32);
      case 1:
        return static_cast<uint32_t>(131072 - (seed >> 40) % 64);
      case 2:
        return static_cast<uint32_t>((seed >> 40) % 64);
      default:
        return 0xffffffffu - static_cast<uint32_t>((seed >> 40) % 16);
    }
  };
  int errnos = 0;
  for (int i = 0; i < 4000; ++i) {
    const runtime::Value args[] = {
        runtime::Value::make_i32(static_cast<uint32_t>(i % 8)), runtime::Value::make_i32(next()),
        runtime::Value::make_i32(next()), runtime::Value::make_i32(next() % 4)};
    runtime::CallResult r = runtime::call(store, *probe, args);
    if (r.trap) {
      EXPECT_EQ(r.trap->kind, runtime::TrapKind::interrupted) << r.trap->message();
      continue;
    }
    errnos += r.values[0].i32 != 0;
  }
  EXPECT_GT(errnos, 0);
  EXPECT_LE(ctx.stdout_data().size(), o.max_output_bytes);
}

}  // namespace
}  // namespace tollgate::hostabi::wasi
