// The JIT tier against the interpreter: same results, same traps, same fuel left, per op class.
// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "jit/jit.hpp"
#include "runtime/store.hpp"
#include "tests/utils/wat.hpp"

namespace tollgate::jit {
namespace {

using runtime::CallOptions;
using runtime::CallResult;
using runtime::Instance;
using runtime::Store;
using runtime::TrapKind;
using runtime::Value;

// One module instantiated twice: once run by the interpreter, once by the JIT.
struct BothTiers {
  std::shared_ptr<const runtime::Module> module;
  std::shared_ptr<const CompiledModule> code;
  std::optional<runtime::Error> refused;
  Store interp_store, jit_store;
  Instance* interp = nullptr;
  Instance* jit = nullptr;

  explicit BothTiers(std::string_view wat) {
    module = test::load_wat(wat);
    if (!module)
      return;
    auto compiled = compile_module(*module);
    if (compiled.ok())
      code = *compiled;
    else
      refused = compiled.error();
    auto a = runtime::instantiate(interp_store, module, {});
    auto b = runtime::instantiate(jit_store, module, {});
    EXPECT_TRUE(a.ok() && b.ok());
    if (a.ok() && b.ok()) {
      interp = *a;
      jit = *b;
    }
  }

  CallResult run_interp(std::string_view name,
                        const std::vector<Value>& args,
                        const CallOptions& o) {
    return runtime::call(interp_store, *interp->exported_function(name), args, o);
  }
  CallResult run_jit(std::string_view name, const std::vector<Value>& args, const CallOptions& o) {
    return invoke(*code, jit_store, *jit->exported_function(name), args, o);
  }

  /// Runs `name` on both tiers and checks they agree bit for bit; returns the JIT's result.
  CallResult same(std::string_view name,
                  std::vector<Value> args,
                  std::optional<uint64_t> fuel = std::nullopt) {
    CallOptions o;
    o.fuel = fuel;
    EXPECT_TRUE(code != nullptr) << "refused: " << (refused ? refused->message : "");
    if (code == nullptr || interp == nullptr)
      return {};
    const CallResult want = run_interp(name, args, o);
    const CallResult got = run_jit(name, args, o);
    EXPECT_EQ(want.trap.has_value(), got.trap.has_value()) << name;
    if (want.trap && got.trap)
      EXPECT_EQ(want.trap->kind, got.trap->kind)
          << name << ": " << want.trap->message() << " vs " << got.trap->message();
    EXPECT_EQ(want.fuel_left, got.fuel_left) << name;
    EXPECT_EQ(want.values.size(), got.values.size()) << name;
    for (size_t i = 0; i < want.values.size() && i < got.values.size(); ++i) {
      EXPECT_EQ(want.values[i].type, got.values[i].type) << name;
      EXPECT_EQ(want.values[i].i64 & mask(want.values[i].type),
                got.values[i].i64 & mask(got.values[i].type))
          << name << " result " << i << ": " << runtime::to_string(want.values[i]) << " vs "
          << runtime::to_string(got.values[i]);
    }
    return got;
  }
  static uint64_t mask(runtime::ValType t) {
    return t == runtime::ValType::i32 || t == runtime::ValType::f32 ? 0xFFFFFFFFull : ~0ull;
  }
};

Value i32(uint32_t v) {
  return Value::make_i32(v);
}
Value i64(uint64_t v) {
  return Value::make_i64(v);
}
Value f32(float v) {
  return Value::make_f32(v);
}
Value f64(double v) {
  return Value::make_f64(v);
}

TEST(jit, available_on_this_host) {
  EXPECT_TRUE(available());
}

TEST(jit, integer_arithmetic) {
  BothTiers t(R"((module
    (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
    (func (export "addk") (param i32) (result i32) (i32.add (local.get 0) (i32.const 7)))
    (func (export "sub64") (param i64 i64) (result i64) (i64.sub (local.get 0) (local.get 1)))
    (func (export "mul") (param i32 i32) (result i32) (i32.mul (local.get 0) (local.get 1)))
    (func (export "shl") (param i32 i32) (result i32) (i32.shl (local.get 0) (local.get 1)))
    (func (export "shr_s64") (param i64 i64) (result i64) (i64.shr_s (local.get 0) (local.get 1)))
    (func (export "rotr") (param i32 i32) (result i32) (i32.rotr (local.get 0) (local.get 1)))
    (func (export "rotl64k") (param i64) (result i64) (i64.rotl (local.get 0) (i64.const 13)))
    (func (export "div_s") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
    (func (export "div_u64") (param i64 i64) (result i64) (i64.div_u (local.get 0) (local.get 1)))
    (func (export "rem_s") (param i32 i32) (result i32) (i32.rem_s (local.get 0) (local.get 1)))
    (func (export "rem_s64") (param i64 i64) (result i64) (i64.rem_s (local.get 0) (local.get 1)))
    (func (export "clz") (param i32) (result i32) (i32.clz (local.get 0)))
    (func (export "ctz64") (param i64) (result i64) (i64.ctz (local.get 0)))
    (func (export "popcnt") (param i32) (result i32) (i32.popcnt (local.get 0)))
    (func (export "ext8") (param i32) (result i32) (i32.extend8_s (local.get 0)))
    (func (export "ext32") (param i64) (result i64) (i64.extend32_s (local.get 0)))
    (func (export "lt_u") (param i32 i32) (result i32) (i32.lt_u (local.get 0) (local.get 1)))
    (func (export "ge_s64") (param i64 i64) (result i32) (i64.ge_s (local.get 0) (local.get 1)))
    (func (export "eqz64") (param i64) (result i32) (i64.eqz (local.get 0)))
    (func (export "big") (param i64) (result i64) (i64.and (local.get 0) (i64.const 0x123456789)))
    (func (export "wrap") (param i64) (result i32) (i32.wrap_i64 (local.get 0)))
    (func (export "ext_u") (param i32) (result i64) (i64.extend_i32_u (local.get 0)))
    (func (export "ext_s") (param i32) (result i64) (i64.extend_i32_s (local.get 0)))
  ))");
  t.same("add", {i32(0xFFFFFFFF), i32(2)});
  t.same("addk", {i32(5)});
  t.same("sub64", {i64(1), i64(3)});
  t.same("mul", {i32(0x10001), i32(0x10001)});
  t.same("shl", {i32(1), i32(33)});
  t.same("shr_s64", {i64(0x8000000000000000ull), i64(65)});
  t.same("rotr", {i32(0x80000001), i32(1)});
  t.same("rotl64k", {i64(0x8000000000000001ull)});
  t.same("div_s", {i32(static_cast<uint32_t>(-7)), i32(2)});
  t.same("div_s", {i32(0x80000000), i32(0xFFFFFFFF)});
  t.same("div_s", {i32(1), i32(0)});
  t.same("div_u64", {i64(~0ull), i64(3)});
  t.same("div_u64", {i64(1), i64(0)});
  t.same("rem_s", {i32(0x80000000), i32(0xFFFFFFFF)});
  t.same("rem_s", {i32(static_cast<uint32_t>(-7)), i32(2)});
  t.same("rem_s64", {i64(0x8000000000000000ull), i64(~0ull)});
  t.same("clz", {i32(0)});
  t.same("clz", {i32(0x00F00000)});
  t.same("ctz64", {i64(0)});
  t.same("ctz64", {i64(0x100000000ull)});
  t.same("popcnt", {i32(0xF0F0F0F1)});
  t.same("ext8", {i32(0x80)});
  t.same("ext32", {i64(0x80000000ull)});
  t.same("lt_u", {i32(1), i32(0xFFFFFFFF)});
  t.same("ge_s64", {i64(~0ull), i64(0)});
  t.same("eqz64", {i64(0x100000000ull)});
  t.same("big", {i64(~0ull)});
  t.same("wrap", {i64(0x1234567887654321ull)});
  t.same("ext_u", {i32(0x80000000)});
  t.same("ext_s", {i32(0x80000000)});
}

}  // namespace
}  // namespace tollgate::jit
