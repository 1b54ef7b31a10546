// The policy evaluator: waPC and WASI modes, Kubewarden's error mapping, deadlines, fuel, memory.
// SPDX-License-Identifier: Apache-2.0
#include "hostabi/kubewarden/evaluator.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <boost/json.hpp>

#include "tests/unit/hostabi/guests.hpp"
#include "tests/utils/wat.hpp"

namespace tollgate::hostabi::kubewarden {
namespace {

namespace json = boost::json;
using namespace tollgate::test::guests;
using namespace std::chrono_literals;

std::shared_ptr<const PolicyModule> policy(std::string_view wat,
                                           std::optional<ExecutionMode> mode = std::nullopt,
                                           std::optional<Metadata> metadata = std::nullopt) {
  std::vector<uint8_t> wasm = test::wat_to_wasm(wat);
  if (metadata)
    write_metadata(wasm, *metadata);
  auto p = load_policy(wasm, mode);
  if (!p) {
    ADD_FAILURE() << p.error().message;
    return nullptr;
  }
  return p.value();
}

const json::value kRequest = json::parse(R"({"uid":"1","object":{"kind":"Pod"}})");
const json::value kSettings = json::parse(R"({"limit":3})");

TEST(evaluator, wapc_validate_passes_request_and_parses_the_response) {
  auto p = policy(policy_guest(
      R"({"accepted":false,"message":"privileged","code":403,"warnings":["w"],"audit_annotations":{"a":"b"}})"));
  ASSERT_TRUE(p);
  ValidationResponse r = evaluate(*p, kRequest, kSettings);
  EXPECT_FALSE(r.accepted);
  EXPECT_EQ(r.message, "privileged");
  EXPECT_EQ(r.code, 403);
  ASSERT_TRUE(r.warnings.has_value());
  EXPECT_EQ((*r.warnings)[0], "w");
  EXPECT_EQ(r.audit_annotations->at("a"), "b");
  EXPECT_EQ(
      json::serialize(to_json(r)),
      R"({"accepted":false,"message":"privileged","code":403,"audit_annotations":{"a":"b"},"warnings":["w"]})");
}

TEST(evaluator, validation_request_shape) {
  // A guest that answers with its own payload: the host must send {"request":..,"settings":..}.
  Data d;
  std::string body = "(call $guest_response (i32.const 65536) (local.get $msg_len)) (i32.const 1)";
  auto p = policy(wapc_guest(d, body));
  ASSERT_TRUE(p);
  EvalDiagnostics diag;
  EvalOptions o;
  o.diagnostics = &diag;
  ValidationResponse r = evaluate(*p, kRequest, kSettings, o);
  // Not a ValidationResponse: Kubewarden's internal error.
  EXPECT_FALSE(r.accepted);
  EXPECT_EQ(r.code, 500);
  EXPECT_EQ(
      r.message->rfind("internal server error: Cannot deserialize policy validation response: ", 0),
      0u)
      << *r.message;
  EXPECT_EQ(make_validation_request(kRequest, kSettings),
            R"({"request":{"uid":"1","object":{"kind":"Pod"}},"settings":{"limit":3}})");
}

TEST(evaluator, wapc_validate_settings) {
  auto ok = policy(policy_guest("{}", R"({"valid":false,"message":"limit too high"})"));
  SettingsValidationResponse r = validate_settings(*ok, kSettings);
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(r.message, "limit too high");

  // A guest error is wrapped the way policy-evaluator formats it.
  Data d;
  Str e = d.add("Error decoding \"settings\"");
  auto failing = policy(wapc_guest(d, "(call $guest_error (i32.const " + n(e.ptr) +
                                          ") (i32.const " + n(e.len) + ")) (i32.const 0)"));
  SettingsValidationResponse f = validate_settings(*failing, kSettings);
  EXPECT_FALSE(f.valid);
  EXPECT_EQ(
      f.message,
      R"(Error invoking settings validation callback: GuestCallFailure("Error decoding \"settings\""))");

  auto garbage = policy(policy_guest("{}", "not json"));
  SettingsValidationResponse g = validate_settings(*garbage, kSettings);
  EXPECT_FALSE(g.valid);
  EXPECT_EQ(g.message->rfind("error: ", 0), 0u);
}

TEST(evaluator, protocol_version_and_policy_checks) {
  auto p = policy(policy_guest("{}"));
  auto v = protocol_version(*p);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v.value(), "v1");

  auto status = check_policy(*p);  // no metadata section: no protocol version
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, kMissingProtocolVersion);
  Metadata md;
  md.protocol_version = "v1";
  auto annotated = policy(policy_guest("{}"), std::nullopt, md);
  EXPECT_TRUE(annotated->has_metadata);
  EXPECT_TRUE(check_policy(*annotated).ok());
}

TEST(evaluator, trap_is_a_500_rejection_with_the_trap_text) {
  auto p = policy(wapc_guest(Data(), "(unreachable)"));
  ValidationResponse r = evaluate(*p, kRequest, kSettings);
  EXPECT_FALSE(r.accepted);
  EXPECT_EQ(r.code, 500);
  EXPECT_EQ(r.message, "internal server error: Guest call failure: unreachable");
}

TEST(evaluator, guest_that_never_responds) {
  auto p = policy(wapc_guest(Data(), "(i32.const 1)"));
  ValidationResponse r = evaluate(*p, kRequest, kSettings);
  EXPECT_EQ(r.code, 500);
  EXPECT_EQ(r.message,
            "internal server error: Guest call failure: No error message OR response set for call "
            "success");
}

TEST(evaluator, endless_loop_stopped_by_the_deadline) {
  auto p = policy(wapc_guest(Data(), "(loop $l (br $l)) (i32.const 1)"));
  EvalOptions o;
  o.deadline = 100ms;
  EvalDiagnostics diag;
  o.diagnostics = &diag;
  auto start = std::chrono::steady_clock::now();
  ValidationResponse r = evaluate(*p, kRequest, kSettings, o);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(r.accepted);
  EXPECT_EQ(r.code, 500);
  EXPECT_EQ(r.message, kTimeoutMessage);
  EXPECT_TRUE(diag.timed_out);
  EXPECT_LT(took, 5s);
}

// The deadline thread sleeps towards the earliest deadline it knows; a shorter budget armed
// while a longer one runs must still wake it.
TEST(evaluator, short_deadline_armed_after_a_long_one_still_fires_on_time) {
  auto p = policy(wapc_guest(Data(), "(loop $l (br $l)) (i32.const 1)"));
  std::atomic<bool> long_started{false};
  ValidationResponse long_result;
  std::thread long_running([&] {
    EvalOptions o;
    o.deadline = 3s;
    long_started = true;
    long_result = evaluate(*p, kRequest, kSettings, o);
  });
  while (!long_started)
    std::this_thread::yield();
  std::this_thread::sleep_for(20ms);
  EvalOptions o;
  o.deadline = 100ms;
  auto start = std::chrono::steady_clock::now();
  ValidationResponse r = evaluate(*p, kRequest, kSettings, o);
  auto took = std::chrono::steady_clock::now() - start;
  long_running.join();
  EXPECT_EQ(r.message, kTimeoutMessage);
  EXPECT_EQ(long_result.message, kTimeoutMessage);
  // Well under the long budget: the short deadline fired by itself.
  EXPECT_LT(took, 2s);
}

TEST(evaluator, endless_loop_in_start_stopped_by_the_deadline) {
  const char* extra = R"((func (export "_start") (loop $l (br $l))))";
  auto p = policy(policy_guest(R"({"accepted":true})", R"({"valid":true})", extra));
  EvalOptions o;
  o.deadline = 100ms;
  ValidationResponse r = evaluate(*p, kRequest, kSettings, o);
  EXPECT_EQ(r.message, kTimeoutMessage);
}

TEST(evaluator, endless_loop_stopped_by_fuel) {
  auto p = policy(wapc_guest(Data(), "(loop $l (br $l)) (i32.const 1)"));
  EvalOptions o;
  o.fuel = 1'000'000;
  EvalDiagnostics diag;
  o.diagnostics = &diag;
  ValidationResponse r = evaluate(*p, kRequest, kSettings, o);
  EXPECT_FALSE(r.accepted);
  EXPECT_EQ(r.code, 500);
  EXPECT_EQ(diag.trap, runtime::TrapKind::out_of_fuel);
  EXPECT_FALSE(diag.timed_out);
  EXPECT_EQ(r.message, "internal server error: Guest call failure: out of fuel");
}

TEST(evaluator, memory_bomb_is_rejected_within_the_limit) {
  // Grows until refused, then traps.
  std::string body = R"(
    (loop $grow (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    (unreachable))";
  auto p = policy(wapc_guest(Data(), body, 4));
  EvalOptions o;
  o.max_memory_pages = 32;
  ValidationResponse r = evaluate(*p, kRequest, kSettings, o);
  EXPECT_FALSE(r.accepted);
  EXPECT_EQ(r.code, 500);
  // A module whose minimum is over the limit cannot even be instantiated.
  auto big = policy(wapc_guest(Data(), "(i32.const 0)", 100));
  ValidationResponse b = evaluate(*big, kRequest, kSettings, o);
  EXPECT_FALSE(b.accepted);
  EXPECT_EQ(b.code, 500);
}

TEST(evaluator, fresh_instance_per_evaluation) {
  // Counts calls in a global: every evaluation must see 1.
  Data d;
  Str one = d.add(R"({"accepted":true})");
  Str many = d.add(R"({"accepted":false})");
  std::string extra = "(global $calls (mut i32) (i32.const 0))";
  std::string body =
      "(global.set $calls (i32.add (global.get $calls) (i32.const 1)))"
      "(if (i32.eq (global.get $calls) (i32.const 1)) (then " +
      respond(one) + "))" + respond(many);
  auto p = policy(wapc_guest(d, body, 4, extra));
  EXPECT_TRUE(evaluate(*p, kRequest, kSettings).accepted);
  EXPECT_TRUE(evaluate(*p, kRequest, kSettings).accepted);
}

TEST(evaluator, host_calls_through_the_evaluator) {
  auto p = policy(host_call_guest("kubewarden", "regex", "v1/match"));
  // The guest forwards its payload (the validation request) as the regex request: not the right
  // shape, so the host call fails and the guest reports the host's error.
  ValidationResponse r = evaluate(*p, kRequest, kSettings);
  EXPECT_EQ(r.message,
            "internal server error: Guest call failure: cannot decode regex request: "
            "`pattern` and `text` must be strings");
  auto unknown = policy(host_call_guest("somewhere", "x", "y"));
  ValidationResponse u = evaluate(*unknown, kRequest, kSettings);
  EXPECT_EQ(u.message, "internal server error: Guest call failure: unknown binding: somewhere");
}

// WASI mode: argv[1] decides the answer; stdin is read to EOF first.
std::string wasi_policy(std::string_view validate_out, std::string_view settings_out) {
  Data d;
  Str v = d.add(validate_out);
  Str s = d.add(settings_out);
  std::string start = R"(
    (drop (call $read_all (i32.const 65536)))
    (drop (call $args_sizes_get (i32.const 100) (i32.const 104)))
    ;; "policy.wasm\0validate\0" is 21 bytes.
    (if (i32.eq (i32.load (i32.const 104)) (i32.const 21))
      (then (call $write (i32.const 1) (i32.const )" +
                      n(v.ptr) + ") (i32.const " + n(v.len) + R"()))
      (else (call $write (i32.const 1) (i32.const )" +
                      n(s.ptr) + ") (i32.const " + n(s.len) + R"())))
  )";
  return wasi_guest(d, start);
}

TEST(evaluator, wasi_mode_validate_and_settings) {
  auto p = policy(wasi_policy(R"({"accepted":true,"message":"fine"})", R"({"valid":true})"),
                  ExecutionMode::wasi);
  ValidationResponse r = evaluate(*p, kRequest, kSettings);
  EXPECT_TRUE(r.accepted) << r.message.value_or("");
  EXPECT_EQ(r.message, "fine");
  SettingsValidationResponse s = validate_settings(*p, kSettings);
  EXPECT_TRUE(s.valid);
}

TEST(evaluator, wasi_mode_stdin_is_the_request) {
  std::string start = R"(
    (call $write (i32.const 2) (i32.const 65536) (call $read_all (i32.const 65536)))
    (call $proc_exit (i32.const 1)))";
  auto p = policy(wasi_guest(Data(), start), ExecutionMode::wasi);
  ValidationResponse r = evaluate(*p, kRequest, kSettings);
  EXPECT_FALSE(r.accepted);
  EXPECT_EQ(r.code, 500);
  // Nonzero exit: the message is the trimmed stderr, which here is the request itself.
  EXPECT_EQ(r.message, make_validation_request(kRequest, kSettings));
  SettingsValidationResponse s = validate_settings(*p, kSettings);
  EXPECT_FALSE(s.valid);
  EXPECT_EQ(s.message, R"({"limit":3})");
}

TEST(evaluator, wasi_mode_errors) {
  Data d;
  Str msg = d.add("  boom \n");
  auto failing =
      policy(wasi_guest(d, "(call $write (i32.const 2) (i32.const " + n(msg.ptr) + ") (i32.const " +
                               n(msg.len) + ")) (call $proc_exit (i32.const 2))"),
             ExecutionMode::wasi);
  ValidationResponse f = evaluate(*failing, kRequest, kSettings);
  EXPECT_EQ(f.message, "boom");
  EXPECT_EQ(f.code, 500);

  auto garbage = policy(wasi_policy("not json", "{}"), ExecutionMode::wasi);
  ValidationResponse g = evaluate(*garbage, kRequest, kSettings);
  EXPECT_EQ(
      g.message->rfind("internal server error: Cannot deserialize policy validation response", 0),
      0u);

  auto looping = policy(wasi_guest(Data(), "(loop $l (br $l))"), ExecutionMode::wasi);
  EvalOptions o;
  o.deadline = 50ms;
  EvalDiagnostics diag;
  o.diagnostics = &diag;
  ValidationResponse l = evaluate(*looping, kRequest, kSettings, o);
  EXPECT_FALSE(l.accepted);
  EXPECT_EQ(l.code, 500);
  EXPECT_TRUE(diag.timed_out);
}

TEST(evaluator, wasi_mode_host_call_answers_through_stdin) {
  // Reads the request, then asks the regex capability, reads the answer from stdin and prints it.
  Data d;
  Str b = d.add("kubewarden");
  Str ns = d.add("regex");
  Str op = d.add("v1/match");
  Str req = d.add(R"({"pattern":"^a+$","text":"aaa"})");
  const char* imports =
      R"((import "host" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32))))";
  std::string start = R"(
    (local $rc i32)
    (drop (call $read_all (i32.const 65536)))
    (local.set $rc (call $call (i32.const )" +
                      n(b.ptr) + ") (i32.const " + n(b.len) + ") (i32.const " + n(ns.ptr) +
                      ") (i32.const " + n(ns.len) + ") (i32.const " + n(op.ptr) + ") (i32.const " +
                      n(op.len) + ") (i32.const " + n(req.ptr) + ") (i32.const " + n(req.len) +
                      R"()))
    (if (local.get $rc) (then (unreachable)))
    (call $write (i32.const 1) (i32.const 131072) (call $read_all (i32.const 131072))))";
  auto p = policy(wasi_guest(d, start, imports), ExecutionMode::wasi);
  EvalDiagnostics diag;
  EvalOptions o;
  o.diagnostics = &diag;
  evaluate(*p, kRequest, kSettings, o);
  EXPECT_EQ(diag.guest_stdout, R"({"matched":true})");
}

TEST(evaluator, unsupported_modes_answer_cleanly) {
  auto p = policy(policy_guest("{}"), ExecutionMode::opa);
  ValidationResponse r = evaluate(*p, kRequest, kSettings);
  EXPECT_EQ(r.code, 500);
  EXPECT_TRUE(validate_settings(*p, kSettings).valid);
}

}  // namespace
}  // namespace tollgate::hostabi::kubewarden
