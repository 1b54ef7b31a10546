// Every evaluation sees a fresh instance: nothing a guest leaves behind reaches the next one.
// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "hostabi/kubewarden/evaluator.hpp"
#include "hostabi/wapc/wapc.hpp"
#include "runtime/store.hpp"
#include "tests/utils/wat.hpp"

namespace tollgate::hostabi::kubewarden {
namespace {

namespace json = boost::json;

// A waPC guest that checks for anything an earlier evaluation could have left: the request it
// copies to 4096, a mutable global, the secret it stores in a page it grows. It accepts when
// it finds none, rejects with "leak" otherwise, and then leaves all of them behind itself.
constexpr std::string_view kSnoopingGuest = R"((module
  (import "wapc" "__guest_request" (func $request (param i32 i32)))
  (import "wapc" "__guest_response" (func $response (param i32 i32)))
  (memory (export "memory") 1)
  (global $runs (mut i32) (i32.const 0))
  (data (i32.const 0) "{\"accepted\":true}")
  (data (i32.const 32) "{\"accepted\":false,\"message\":\"leak\"}")
  (func (export "__guest_call") (param $op_len i32) (param $payload_len i32) (result i32)
    (local $leaked i32) (local $a i32)
    (local.set $leaked (i32.or (global.get $runs) (i32.gt_u (memory.size) (i32.const 1))))
    ;; The request area, byte by byte.
    (block $done (loop $scan
      (br_if $done (i32.ge_u (local.get $a) (i32.const 16384)))
      (local.set $leaked (i32.or (local.get $leaked)
                                 (i32.load8_u (i32.add (i32.const 4096) (local.get $a)))))
      (local.set $a (i32.add (local.get $a) (i32.const 1)))
      (br $scan)))
    ;; Leave traces: the request (with its secret), a grown page, the global.
    (call $request (i32.const 4096) (i32.add (i32.const 4096) (local.get $op_len)))
    (drop (memory.grow (i32.const 1)))
    (i32.store (i32.const 70000) (i32.const 0x5ec2e75e))
    (global.set $runs (i32.add (global.get $runs) (i32.const 1)))
    (if (local.get $leaked)
      (then (call $response (i32.const 32) (i32.const 35)))
      (else (call $response (i32.const 0) (i32.const 17))))
    (i32.const 1))
))";

std::shared_ptr<const PolicyModule> snooping_policy() {
  auto p = load_policy(test::wat_to_wasm(kSnoopingGuest));
  if (!p) {
    ADD_FAILURE() << p.error().message;
    return nullptr;
  }
  return p.value();
}

json::value request_with_secret(int i) {
  return json::parse(R"({"uid":"u)" + std::to_string(i) + R"(","secret":"hunter2"})");
}

TEST(fresh_instance, a_secret_written_in_one_evaluation_is_gone_in_the_next) {
  auto p = snooping_policy();
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->prepared);
  for (int i = 0; i < 5; ++i) {
    ValidationResponse r = evaluate(*p, request_with_secret(i), json::object());
    EXPECT_TRUE(r.accepted) << "evaluation " << i << ": " << r.message.value_or("");
  }
}

TEST(fresh_instance, also_without_the_prepared_image) {
  auto p = snooping_policy();
  ASSERT_TRUE(p);
  PolicyModule unprepared = *p;
  unprepared.prepared = nullptr;
  for (int i = 0; i < 3; ++i) {
    ValidationResponse r = evaluate(unprepared, request_with_secret(i), json::object());
    EXPECT_TRUE(r.accepted) << "evaluation " << i << ": " << r.message.value_or("");
  }
}

TEST(fresh_instance, concurrent_evaluations_do_not_see_each_other) {
  auto p = snooping_policy();
  ASSERT_TRUE(p);
  std::atomic<int> leaks{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        if (!evaluate(*p, request_with_secret(t * 100 + i), json::object()).accepted)
          ++leaks;
      }
    });
  }
  for (std::thread& t : threads)
    t.join();
  EXPECT_EQ(leaks.load(), 0);
}

TEST(fresh_instance, the_memory_limit_applies_to_each_evaluation) {
  // The guest grows one page; with a one-page cap that fails, and its store at 70000 traps.
  auto p = snooping_policy();
  ASSERT_TRUE(p);
  EvalOptions capped;
  capped.max_memory_pages = 1;
  EXPECT_FALSE(evaluate(*p, request_with_secret(0), json::object(), capped).accepted);
  EXPECT_TRUE(evaluate(*p, request_with_secret(1), json::object()).accepted);
  EXPECT_FALSE(evaluate(*p, request_with_secret(2), json::object(), capped).accepted);
}

TEST(fresh_instance, shared_wapc_functions_serve_the_host_bound_to_the_store) {
  auto module = runtime::decode_module(test::wat_to_wasm(kSnoopingGuest));
  ASSERT_TRUE(module);
  runtime::Store host_store;
  runtime::Linker linker;
  wapc::WapcHost::define_shared_imports(linker, host_store, *module.value());
  auto pre = linker.prepare(module.value());
  ASSERT_TRUE(pre) << pre.error().message;
  runtime::Store store;
  auto inst = pre.value()->instantiate(store);
  ASSERT_TRUE(inst) << inst.error().message;
  const std::string payload = R"({"request":{},"settings":{}})";
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(payload.data()),
                                       payload.size());
  wapc::WapcHost host(nullptr, nullptr);
  // Unbound, the guest's first host call fails (before it leaves anything behind).
  wapc::WapcOutcome out = host.call(store, *inst.value(), "validate", bytes, {});
  EXPECT_FALSE(out.ok);
  EXPECT_NE(out.error.find("no waPC host is bound to this store"), std::string::npos) << out.error;
  host.bind(store);
  out = host.call(store, *inst.value(), "validate", bytes, {});
  ASSERT_TRUE(out.ok) << out.error;
  EXPECT_EQ(std::string(out.response.begin(), out.response.end()), R"({"accepted":true})");
}

}  // namespace
}  // namespace tollgate::hostabi::kubewarden
