// Interpreter semantics per instruction class, checked against the WebAssembly 2.0 spec.
// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "runtime/store.hpp"
#include "tests/unit/runtime/tiers.hpp"
#include "tests/utils/wat.hpp"

namespace tollgate::runtime {
namespace {

using test::load_wat;
using test::TierStore;

class InterpreterTest : public test::TierTest {};
TG_ON_EVERY_TIER(InterpreterTest);

// Instantiates one WAT module without imports and calls its exports.
class Fixture {
 public:
  explicit Fixture(std::string_view wat, StoreLimits limits = {}) : store_(limits) {
    auto module = load_wat(wat);
    if (!module)
      return;
    auto inst = instantiate(store_, module, {});
    EXPECT_TRUE(inst.ok()) << (inst.ok() ? "" : inst.error().message);
    if (inst.ok())
      inst_ = *inst;
  }
  CallResult call(std::string_view name, std::vector<Value> args = {}, CallOptions opts = {}) {
    Function* f = inst_ ? inst_->exported_function(name) : nullptr;
    if (f == nullptr) {
      ADD_FAILURE() << "no export " << name;
      return {};
    }
    EXPECT_TRUE(test::on_expected_tier(*f)) << name << " would not run on the JIT";
    return runtime::call(store_, *f, args, opts);
  }
  Store& store() { return store_; }
  Instance* instance() { return inst_; }

 private:
  TierStore store_;
  Instance* inst_ = nullptr;
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
Value f32b(uint32_t v) {
  return Value::make_f32_bits(v);
}
Value f64b(uint64_t v) {
  return Value::make_f64_bits(v);
}

uint32_t ok_i32(const CallResult& r) {
  EXPECT_TRUE(r.ok()) << (r.trap ? r.trap->message() : "");
  return r.ok() && !r.values.empty() ? r.values[0].i32 : 0xDEADBEEF;
}
uint64_t ok_i64(const CallResult& r) {
  EXPECT_TRUE(r.ok()) << (r.trap ? r.trap->message() : "");
  return r.ok() && !r.values.empty() ? r.values[0].i64 : 0xDEADBEEF;
}
uint32_t ok_f32(const CallResult& r) {
  return ok_i32(r);
}
uint64_t ok_f64(const CallResult& r) {
  return ok_i64(r);
}

std::string trap_of(const CallResult& r) {
  return r.trap ? r.trap->message() : "no trap";
}

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr double kInfD = std::numeric_limits<double>::infinity();

bool is_canonical_nan32(uint32_t b) {
  return (b & 0x7FFFFFFFu) == 0x7FC00000u;
}
bool is_arithmetic_nan32(uint32_t b) {
  return (b & 0x7FC00000u) == 0x7FC00000u;
}
bool is_canonical_nan64(uint64_t b) {
  return (b & ~(1ull << 63)) == 0x7FF8000000000000ull;
}
bool is_arithmetic_nan64(uint64_t b) {
  return (b & 0x7FF8000000000000ull) == 0x7FF8000000000000ull;
}

TEST_P(InterpreterTest, IntegerArithmeticAndTraps) {
  Fixture fx(R"((module
    (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
    (func (export "mul") (param i32 i32) (result i32) (i32.mul (local.get 0) (local.get 1)))
    (func (export "div_s") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
    (func (export "div_u") (param i32 i32) (result i32) (i32.div_u (local.get 0) (local.get 1)))
    (func (export "rem_s") (param i32 i32) (result i32) (i32.rem_s (local.get 0) (local.get 1)))
    (func (export "rem_u") (param i32 i32) (result i32) (i32.rem_u (local.get 0) (local.get 1)))
    (func (export "div_s64") (param i64 i64) (result i64) (i64.div_s (local.get 0) (local.get 1)))
    (func (export "rem_s64") (param i64 i64) (result i64) (i64.rem_s (local.get 0) (local.get 1)))
    (func (export "rem_u64") (param i64 i64) (result i64) (i64.rem_u (local.get 0) (local.get 1)))
  ))");
  EXPECT_EQ(ok_i32(fx.call("add", {i32(0xFFFFFFFF), i32(2)})), 1u);
  EXPECT_EQ(ok_i32(fx.call("mul", {i32(0x10000), i32(0x10000)})), 0u);
  EXPECT_EQ(ok_i32(fx.call("div_s", {i32(-7), i32(2)})), static_cast<uint32_t>(-3));
  EXPECT_EQ(ok_i32(fx.call("div_u", {i32(-7), i32(2)})), 0x7FFFFFFCu);
  EXPECT_EQ(ok_i32(fx.call("rem_s", {i32(-7), i32(2)})), static_cast<uint32_t>(-1));
  EXPECT_EQ(ok_i32(fx.call("rem_u", {i32(-7), i32(2)})), 1u);
  EXPECT_EQ(trap_of(fx.call("div_s", {i32(1), i32(0)})), "integer divide by zero");
  EXPECT_EQ(trap_of(fx.call("div_u", {i32(1), i32(0)})), "integer divide by zero");
  EXPECT_EQ(trap_of(fx.call("rem_s", {i32(1), i32(0)})), "integer divide by zero");
  EXPECT_EQ(trap_of(fx.call("rem_u", {i32(1), i32(0)})), "integer divide by zero");
  EXPECT_EQ(trap_of(fx.call("div_s", {i32(0x80000000), i32(-1)})), "integer overflow");
  EXPECT_EQ(ok_i32(fx.call("rem_s", {i32(0x80000000), i32(-1)})), 0u);
  EXPECT_EQ(trap_of(fx.call("div_s64", {i64(1ull << 63), i64(-1)})), "integer overflow");
  EXPECT_EQ(ok_i64(fx.call("rem_s64", {i64(1ull << 63), i64(-1)})), 0u);
  EXPECT_EQ(ok_i64(fx.call("rem_u64", {i64(-1), i64(10)})), 5u);
  EXPECT_EQ(trap_of(fx.call("rem_u64", {i64(1), i64(0)})), "integer divide by zero");
}

TEST_P(InterpreterTest, BitsShiftsRotatesAndSignExtension) {
  Fixture fx(R"((module
    (func (export "shl") (param i32 i32) (result i32) (i32.shl (local.get 0) (local.get 1)))
    (func (export "shr_s") (param i32 i32) (result i32) (i32.shr_s (local.get 0) (local.get 1)))
    (func (export "shr_u") (param i32 i32) (result i32) (i32.shr_u (local.get 0) (local.get 1)))
    (func (export "rotl") (param i32 i32) (result i32) (i32.rotl (local.get 0) (local.get 1)))
    (func (export "rotr64") (param i64 i64) (result i64) (i64.rotr (local.get 0) (local.get 1)))
    (func (export "shr_s64") (param i64 i64) (result i64) (i64.shr_s (local.get 0) (local.get 1)))
    (func (export "clz") (param i32) (result i32) (i32.clz (local.get 0)))
    (func (export "ctz64") (param i64) (result i64) (i64.ctz (local.get 0)))
    (func (export "popcnt") (param i32) (result i32) (i32.popcnt (local.get 0)))
    (func (export "ext8") (param i32) (result i32) (i32.extend8_s (local.get 0)))
    (func (export "ext16") (param i32) (result i32) (i32.extend16_s (local.get 0)))
    (func (export "ext32_64") (param i64) (result i64) (i64.extend32_s (local.get 0)))
    (func (export "extend_s") (param i32) (result i64) (i64.extend_i32_s (local.get 0)))
    (func (export "extend_u") (param i32) (result i64) (i64.extend_i32_u (local.get 0)))
    (func (export "wrap") (param i64) (result i32) (i32.wrap_i64 (local.get 0)))
    (func (export "lt_s") (param i32 i32) (result i32) (i32.lt_s (local.get 0) (local.get 1)))
    (func (export "lt_u") (param i32 i32) (result i32) (i32.lt_u (local.get 0) (local.get 1)))
    (func (export "eqz64") (param i64) (result i32) (i64.eqz (local.get 0)))
  ))");
  EXPECT_EQ(ok_i32(fx.call("shl", {i32(1), i32(33)})), 2u);  // count mod 32
  EXPECT_EQ(ok_i32(fx.call("shr_s", {i32(0x80000000), i32(31)})), 0xFFFFFFFFu);
  EXPECT_EQ(ok_i32(fx.call("shr_u", {i32(0x80000000), i32(63)})), 1u);
  EXPECT_EQ(ok_i32(fx.call("rotl", {i32(0x80000001), i32(1)})), 3u);
  EXPECT_EQ(ok_i64(fx.call("rotr64", {i64(1), i64(65)})), 1ull << 63);
  EXPECT_EQ(ok_i64(fx.call("shr_s64", {i64(1ull << 63), i64(64)})), 1ull << 63);
  EXPECT_EQ(ok_i32(fx.call("clz", {i32(0)})), 32u);
  EXPECT_EQ(ok_i32(fx.call("clz", {i32(0x00008000)})), 16u);
  EXPECT_EQ(ok_i64(fx.call("ctz64", {i64(0)})), 64u);
  EXPECT_EQ(ok_i32(fx.call("popcnt", {i32(0xF0F0F0F0)})), 16u);
  EXPECT_EQ(ok_i32(fx.call("ext8", {i32(0x180)})), 0xFFFFFF80u);
  EXPECT_EQ(ok_i32(fx.call("ext16", {i32(0x17FFF)})), 0x7FFFu);
  EXPECT_EQ(ok_i64(fx.call("ext32_64", {i64(0x80000000)})), 0xFFFFFFFF80000000ull);
  EXPECT_EQ(ok_i64(fx.call("extend_s", {i32(-2)})), static_cast<uint64_t>(-2));
  EXPECT_EQ(ok_i64(fx.call("extend_u", {i32(-2)})), 0xFFFFFFFEull);
  EXPECT_EQ(ok_i32(fx.call("wrap", {i64(0x123456789ull)})), 0x23456789u);
  EXPECT_EQ(ok_i32(fx.call("lt_s", {i32(-1), i32(0)})), 1u);
  EXPECT_EQ(ok_i32(fx.call("lt_u", {i32(-1), i32(0)})), 0u);
  EXPECT_EQ(ok_i32(fx.call("eqz64", {i64(1ull << 40)})), 0u);
}

TEST_P(InterpreterTest, FloatNaNMinMaxNearestCopysign) {
  Fixture fx(R"((module
    (func (export "add") (param f32 f32) (result f32) (f32.add (local.get 0) (local.get 1)))
    (func (export "div64") (param f64 f64) (result f64) (f64.div (local.get 0) (local.get 1)))
    (func (export "min") (param f32 f32) (result f32) (f32.min (local.get 0) (local.get 1)))
    (func (export "max") (param f32 f32) (result f32) (f32.max (local.get 0) (local.get 1)))
    (func (export "min64") (param f64 f64) (result f64) (f64.min (local.get 0) (local.get 1)))
    (func (export "max64") (param f64 f64) (result f64) (f64.max (local.get 0) (local.get 1)))
    (func (export "nearest") (param f32) (result f32) (f32.nearest (local.get 0)))
    (func (export "nearest64") (param f64) (result f64) (f64.nearest (local.get 0)))
    (func (export "ceil") (param f32) (result f32) (f32.ceil (local.get 0)))
    (func (export "trunc64") (param f64) (result f64) (f64.trunc (local.get 0)))
    (func (export "sqrt") (param f32) (result f32) (f32.sqrt (local.get 0)))
    (func (export "copysign") (param f32 f32) (result f32) (f32.copysign (local.get 0) (local.get 1)))
    (func (export "abs") (param f32) (result f32) (f32.abs (local.get 0)))
    (func (export "neg64") (param f64) (result f64) (f64.neg (local.get 0)))
    (func (export "eq") (param f32 f32) (result i32) (f32.eq (local.get 0) (local.get 1)))
    (func (export "ne") (param f32 f32) (result i32) (f32.ne (local.get 0) (local.get 1)))
    (func (export "lt64") (param f64 f64) (result i32) (f64.lt (local.get 0) (local.get 1)))
  ))");
  EXPECT_EQ(ok_f32(fx.call("add", {f32(1.5f), f32(2.25f)})), std::bit_cast<uint32_t>(3.75f));
  // Non-NaN inputs producing NaN must give a canonical NaN.
  EXPECT_TRUE(is_canonical_nan32(ok_f32(fx.call("add", {f32(kInf), f32(-kInf)}))));
  EXPECT_TRUE(is_canonical_nan64(ok_f64(fx.call("div64", {f64(0.0), f64(0.0)}))));
  EXPECT_TRUE(is_canonical_nan32(ok_f32(fx.call("sqrt", {f32(-1.0f)}))));
  // A NaN input gives an arithmetic NaN.
  EXPECT_TRUE(is_arithmetic_nan32(ok_f32(fx.call("add", {f32b(0x7FA00000), f32(1.0f)}))));
  EXPECT_TRUE(is_arithmetic_nan32(ok_f32(fx.call("min", {f32b(0x7F800001), f32(1.0f)}))));
  EXPECT_TRUE(is_arithmetic_nan32(ok_f32(fx.call("max", {f32(1.0f), f32b(0xFFC00000)}))));
  EXPECT_TRUE(is_arithmetic_nan64(ok_f64(fx.call("min64", {f64(0.0), f64b(0x7FF0000000000001)}))));
  // -0 is smaller than +0 for min/max, in either operand order.
  EXPECT_EQ(ok_f32(fx.call("min", {f32(0.0f), f32(-0.0f)})), 0x80000000u);
  EXPECT_EQ(ok_f32(fx.call("min", {f32(-0.0f), f32(0.0f)})), 0x80000000u);
  EXPECT_EQ(ok_f32(fx.call("max", {f32(-0.0f), f32(0.0f)})), 0u);
  EXPECT_EQ(ok_f32(fx.call("max", {f32(0.0f), f32(-0.0f)})), 0u);
  EXPECT_EQ(ok_f64(fx.call("max64", {f64(-0.0), f64(0.0)})), 0u);
  EXPECT_EQ(ok_f64(fx.call("min64", {f64(-kInfD), f64(3.0)})), std::bit_cast<uint64_t>(-kInfD));
  // nearest rounds half to even and keeps the sign of zero.
  EXPECT_EQ(ok_f32(fx.call("nearest", {f32(0.5f)})), 0u);
  EXPECT_EQ(ok_f32(fx.call("nearest", {f32(1.5f)})), std::bit_cast<uint32_t>(2.0f));
  EXPECT_EQ(ok_f32(fx.call("nearest", {f32(2.5f)})), std::bit_cast<uint32_t>(2.0f));
  EXPECT_EQ(ok_f32(fx.call("nearest", {f32(-0.5f)})), 0x80000000u);
  EXPECT_EQ(ok_f64(fx.call("nearest64", {f64(-3.5)})), std::bit_cast<uint64_t>(-4.0));
  EXPECT_EQ(ok_f64(fx.call("nearest64", {f64(4503599627370497.0)})),
            std::bit_cast<uint64_t>(4503599627370497.0));
  EXPECT_EQ(ok_f32(fx.call("ceil", {f32(-0.5f)})), 0x80000000u);
  // Rounding a signalling NaN must still give an arithmetic (quiet) NaN.
  EXPECT_TRUE(is_arithmetic_nan32(ok_f32(fx.call("ceil", {f32b(0x7FA00000)}))));
  EXPECT_TRUE(is_arithmetic_nan64(ok_f64(fx.call("trunc64", {f64b(0x7FF4000000000000)}))));
  EXPECT_EQ(ok_f64(fx.call("trunc64", {f64(-1.9)})), std::bit_cast<uint64_t>(-1.0));
  // Sign operations work on the bits and keep NaN payloads.
  EXPECT_EQ(ok_f32(fx.call("copysign", {f32b(0x7FA00001), f32(-1.0f)})), 0xFFA00001u);
  EXPECT_EQ(ok_f32(fx.call("copysign", {f32(2.0f), f32b(0x7FC00000)})),
            std::bit_cast<uint32_t>(2.0f));
  EXPECT_EQ(ok_f32(fx.call("abs", {f32b(0xFF800001)})), 0x7F800001u);
  EXPECT_EQ(ok_f64(fx.call("neg64", {f64b(0x7FF0000000000001)})), 0xFFF0000000000001ull);
  // Comparisons with NaN.
  EXPECT_EQ(ok_i32(fx.call("eq", {f32b(0x7FC00000), f32b(0x7FC00000)})), 0u);
  EXPECT_EQ(ok_i32(fx.call("ne", {f32b(0x7FC00000), f32b(0x7FC00000)})), 1u);
  EXPECT_EQ(ok_i32(fx.call("eq", {f32(0.0f), f32(-0.0f)})), 1u);
  EXPECT_EQ(ok_i32(fx.call("lt64", {f64(1.0), f64b(0x7FF8000000000000)})), 0u);
}

TEST_P(InterpreterTest, ConversionsAndTheirTraps) {
  Fixture fx(R"((module
    (func (export "i32_f32_s") (param f32) (result i32) (i32.trunc_f32_s (local.get 0)))
    (func (export "i32_f32_u") (param f32) (result i32) (i32.trunc_f32_u (local.get 0)))
    (func (export "i32_f64_s") (param f64) (result i32) (i32.trunc_f64_s (local.get 0)))
    (func (export "i32_f64_u") (param f64) (result i32) (i32.trunc_f64_u (local.get 0)))
    (func (export "i64_f64_s") (param f64) (result i64) (i64.trunc_f64_s (local.get 0)))
    (func (export "i64_f32_u") (param f32) (result i64) (i64.trunc_f32_u (local.get 0)))
    (func (export "sat_i32_f32_s") (param f32) (result i32) (i32.trunc_sat_f32_s (local.get 0)))
    (func (export "sat_i32_f64_u") (param f64) (result i32) (i32.trunc_sat_f64_u (local.get 0)))
    (func (export "sat_i64_f64_s") (param f64) (result i64) (i64.trunc_sat_f64_s (local.get 0)))
    (func (export "sat_i64_f32_u") (param f32) (result i64) (i64.trunc_sat_f32_u (local.get 0)))
    (func (export "f32_i64_u") (param i64) (result f32) (f32.convert_i64_u (local.get 0)))
    (func (export "f32_i64_s") (param i64) (result f32) (f32.convert_i64_s (local.get 0)))
    (func (export "f64_i64_u") (param i64) (result f64) (f64.convert_i64_u (local.get 0)))
    (func (export "f32_i32_u") (param i32) (result f32) (f32.convert_i32_u (local.get 0)))
    (func (export "demote") (param f64) (result f32) (f32.demote_f64 (local.get 0)))
    (func (export "promote") (param f32) (result f64) (f64.promote_f32 (local.get 0)))
    (func (export "reinterpret") (param f32) (result i32) (i32.reinterpret_f32 (local.get 0)))
    (func (export "reinterpret64") (param i64) (result f64) (f64.reinterpret_i64 (local.get 0)))
  ))");
  const std::string invalid = "invalid conversion to integer";
  const std::string overflow = "integer overflow";
  EXPECT_EQ(trap_of(fx.call("i32_f32_s", {f32b(0x7FC00000)})), invalid);
  EXPECT_EQ(trap_of(fx.call("i32_f32_s", {f32(2147483648.0f)})), overflow);
  EXPECT_EQ(ok_i32(fx.call("i32_f32_s", {f32(-2147483648.0f)})), 0x80000000u);
  EXPECT_EQ(trap_of(fx.call("i32_f32_s", {f32(-2147483904.0f)})), overflow);
  EXPECT_EQ(ok_i32(fx.call("i32_f32_s", {f32(-1.9f)})), static_cast<uint32_t>(-1));
  EXPECT_EQ(ok_i32(fx.call("i32_f32_u", {f32(-0.9f)})), 0u);
  EXPECT_EQ(trap_of(fx.call("i32_f32_u", {f32(-1.0f)})), overflow);
  EXPECT_EQ(ok_i32(fx.call("i32_f32_u", {f32(4294967040.0f)})), 4294967040u);
  EXPECT_EQ(trap_of(fx.call("i32_f32_u", {f32(4294967296.0f)})), overflow);
  EXPECT_EQ(ok_i32(fx.call("i32_f64_s", {f64(-2147483648.9)})), 0x80000000u);
  EXPECT_EQ(trap_of(fx.call("i32_f64_s", {f64(-2147483649.0)})), overflow);
  EXPECT_EQ(ok_i32(fx.call("i32_f64_s", {f64(2147483647.9)})), 0x7FFFFFFFu);
  EXPECT_EQ(ok_i32(fx.call("i32_f64_u", {f64(4294967295.9)})), 0xFFFFFFFFu);
  EXPECT_EQ(trap_of(fx.call("i32_f64_u", {f64(kInfD)})), overflow);
  EXPECT_EQ(trap_of(fx.call("i64_f64_s", {f64(9223372036854775808.0)})), overflow);
  EXPECT_EQ(ok_i64(fx.call("i64_f64_s", {f64(-9223372036854775808.0)})), 1ull << 63);
  EXPECT_EQ(trap_of(fx.call("i64_f64_s", {f64b(0xFFF8000000000000)})), invalid);
  EXPECT_EQ(ok_i64(fx.call("i64_f32_u", {f32(18446742974197923840.0f)})), 18446742974197923840ull);
  EXPECT_EQ(trap_of(fx.call("i64_f32_u", {f32(18446744073709551616.0f)})), overflow);
  // Saturating forms never trap: NaN is 0, out of range clamps.
  EXPECT_EQ(ok_i32(fx.call("sat_i32_f32_s", {f32b(0x7FC00000)})), 0u);
  EXPECT_EQ(ok_i32(fx.call("sat_i32_f32_s", {f32(-kInf)})), 0x80000000u);
  EXPECT_EQ(ok_i32(fx.call("sat_i32_f32_s", {f32(3e9f)})), 0x7FFFFFFFu);
  EXPECT_EQ(ok_i32(fx.call("sat_i32_f64_u", {f64(-5.0)})), 0u);
  EXPECT_EQ(ok_i32(fx.call("sat_i32_f64_u", {f64(1e10)})), 0xFFFFFFFFu);
  EXPECT_EQ(ok_i64(fx.call("sat_i64_f64_s", {f64(1e19)})), 0x7FFFFFFFFFFFFFFFull);
  EXPECT_EQ(ok_i64(fx.call("sat_i64_f64_s", {f64(-1e19)})), 1ull << 63);
  EXPECT_EQ(ok_i64(fx.call("sat_i64_f32_u", {f32(kInf)})), ~0ull);
  // int -> float rounds to nearest even.
  EXPECT_EQ(ok_f32(fx.call("f32_i64_u", {i64(~0ull)})),
            std::bit_cast<uint32_t>(18446744073709551616.0f));
  EXPECT_EQ(ok_f32(fx.call("f32_i64_u", {i64(0x8000008000000001ull)})), 0x5F000001u);
  EXPECT_EQ(ok_f32(fx.call("f32_i64_s", {i64(static_cast<uint64_t>(-1))})),
            std::bit_cast<uint32_t>(-1.0f));
  EXPECT_EQ(ok_f64(fx.call("f64_i64_u", {i64(~0ull)})),
            std::bit_cast<uint64_t>(18446744073709551616.0));
  EXPECT_EQ(ok_f32(fx.call("f32_i32_u", {i32(0xFFFFFFFF)})),
            std::bit_cast<uint32_t>(4294967296.0f));
  EXPECT_EQ(ok_f32(fx.call("demote", {f64(1e300)})), std::bit_cast<uint32_t>(kInf));
  EXPECT_TRUE(is_arithmetic_nan32(ok_f32(fx.call("demote", {f64b(0x7FF4000000000000)}))));
  EXPECT_EQ(ok_f64(fx.call("promote", {f32(1.5f)})), std::bit_cast<uint64_t>(1.5));
  EXPECT_EQ(ok_i32(fx.call("reinterpret", {f32b(0x7FA00001)})), 0x7FA00001u);
  EXPECT_EQ(ok_f64(fx.call("reinterpret64", {i64(0xFFF0000000000001ull)})), 0xFFF0000000000001ull);
}

TEST_P(InterpreterTest, MemoryLoadsStoresAndBounds) {
  Fixture fx(R"((module
    (memory 1 3)
    (data (i32.const 0) "\01\02\03\04\05\06\07\08\ff\7f")
    (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
    (func (export "load_off") (param i32) (result i32) (i32.load offset=0xFFFFFFFF (local.get 0)))
    (func (export "load64") (param i32) (result i64) (i64.load (local.get 0)))
    (func (export "load8_s") (param i32) (result i32) (i32.load8_s (local.get 0)))
    (func (export "load8_u") (param i32) (result i32) (i32.load8_u (local.get 0)))
    (func (export "load16_s64") (param i32) (result i64) (i64.load16_s (local.get 0)))
    (func (export "load32_u64") (param i32) (result i64) (i64.load32_u (local.get 0)))
    (func (export "store16") (param i32 i32) (i32.store16 offset=4 (local.get 0) (local.get 1)))
    (func (export "store64") (param i32 i64) (i64.store (local.get 0) (local.get 1)))
    (func (export "storef") (param i32 f32) (f32.store (local.get 0) (local.get 1)))
    (func (export "size") (result i32) (memory.size))
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  ))");
  EXPECT_EQ(ok_i32(fx.call("load", {i32(0)})), 0x04030201u);
  EXPECT_EQ(ok_i64(fx.call("load64", {i32(0)})), 0x0807060504030201ull);
  EXPECT_EQ(ok_i32(fx.call("load8_s", {i32(8)})), 0xFFFFFFFFu);
  EXPECT_EQ(ok_i32(fx.call("load8_u", {i32(8)})), 0xFFu);
  EXPECT_EQ(ok_i64(fx.call("load16_s64", {i32(8)})), 0x7FFFull);
  EXPECT_EQ(ok_i64(fx.call("load16_s64", {i32(7)})), 0xFFFFFFFFFFFFFF08ull);
  EXPECT_EQ(ok_i64(fx.call("load32_u64", {i32(6)})), 0x7FFF0807ull);
  EXPECT_TRUE(fx.call("store16", {i32(0), i32(0xABCDEF)}).ok());
  EXPECT_EQ(ok_i32(fx.call("load", {i32(4)})), 0x0807CDEFu);
  EXPECT_TRUE(fx.call("store64", {i32(65528), i64(0x1122334455667788ull)}).ok());
  EXPECT_EQ(ok_i64(fx.call("load64", {i32(65528)})), 0x1122334455667788ull);
  EXPECT_TRUE(fx.call("storef", {i32(100), f32b(0x7FA00001)}).ok());
  EXPECT_EQ(ok_i32(fx.call("load", {i32(100)})), 0x7FA00001u);
  // The last in-bounds address, one past it, a huge address, and a huge offset (no wraparound).
  EXPECT_TRUE(fx.call("load", {i32(65532)}).ok());
  EXPECT_EQ(trap_of(fx.call("load", {i32(65533)})), "out of bounds memory access");
  EXPECT_EQ(trap_of(fx.call("load", {i32(0xFFFFFFFF)})), "out of bounds memory access");
  EXPECT_EQ(trap_of(fx.call("load_off", {i32(1)})), "out of bounds memory access");
  EXPECT_EQ(trap_of(fx.call("store64", {i32(65529), i64(0)})), "out of bounds memory access");
  EXPECT_TRUE(fx.call("store16", {i32(65530), i32(0)}).ok());  // offset 4: the last two bytes
  EXPECT_EQ(trap_of(fx.call("store16", {i32(65531), i32(0)})), "out of bounds memory access");
  // memory.grow returns the old size, or -1 past the maximum; new pages read as zero.
  EXPECT_EQ(ok_i32(fx.call("size")), 1u);
  EXPECT_EQ(ok_i32(fx.call("grow", {i32(1)})), 1u);
  EXPECT_EQ(ok_i32(fx.call("load", {i32(65536)})), 0u);
  EXPECT_EQ(ok_i32(fx.call("grow", {i32(2)})), 0xFFFFFFFFu);
  EXPECT_EQ(ok_i32(fx.call("grow", {i32(0)})), 2u);
  EXPECT_EQ(ok_i32(fx.call("grow", {i32(1)})), 2u);
  EXPECT_EQ(ok_i32(fx.call("size")), 3u);
  EXPECT_EQ(ok_i32(fx.call("grow", {i32(0xFFFFFFFF)})), 0xFFFFFFFFu);
  EXPECT_TRUE(fx.call("load", {i32(3 * 65536 - 4)}).ok());
}

TEST_P(InterpreterTest, BulkMemory) {
  Fixture fx(R"((module
    (memory 1)
    (data $d "hello")
    (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
    (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
    (func (export "init") (param i32 i32 i32) (memory.init $d (local.get 0) (local.get 1) (local.get 2)))
    (func (export "drop") (data.drop $d))
    (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
  ))");
  ASSERT_TRUE(fx.call("fill", {i32(10), i32(0x1AB), i32(4)}).ok());
  EXPECT_EQ(ok_i32(fx.call("load8", {i32(9)})), 0u);
  EXPECT_EQ(ok_i32(fx.call("load8", {i32(10)})), 0xABu);
  EXPECT_EQ(ok_i32(fx.call("load8", {i32(13)})), 0xABu);
  EXPECT_EQ(ok_i32(fx.call("load8", {i32(14)})), 0u);
  // Overlapping copy behaves like memmove.
  ASSERT_TRUE(fx.call("init", {i32(100), i32(0), i32(5)}).ok());
  ASSERT_TRUE(fx.call("copy", {i32(102), i32(100), i32(5)}).ok());
  std::string got;
  for (uint32_t a = 100; a < 107; ++a)
    got += static_cast<char>(ok_i32(fx.call("load8", {i32(a)})));
  EXPECT_EQ(got, "hehello");
  // Bounds are checked before any write; zero length exactly at the end is fine, past it traps.
  EXPECT_EQ(trap_of(fx.call("fill", {i32(65530), i32(7), i32(7)})), "out of bounds memory access");
  EXPECT_EQ(ok_i32(fx.call("load8", {i32(65530)})), 0u);
  EXPECT_TRUE(fx.call("fill", {i32(65536), i32(7), i32(0)}).ok());
  EXPECT_EQ(trap_of(fx.call("fill", {i32(65537), i32(7), i32(0)})), "out of bounds memory access");
  EXPECT_EQ(trap_of(fx.call("copy", {i32(0), i32(65535), i32(2)})), "out of bounds memory access");
  EXPECT_TRUE(fx.call("copy", {i32(65536), i32(65536), i32(0)}).ok());
  EXPECT_EQ(trap_of(fx.call("init", {i32(0), i32(3), i32(3)})), "out of bounds memory access");
  EXPECT_TRUE(fx.call("init", {i32(0), i32(5), i32(0)}).ok());
  EXPECT_EQ(trap_of(fx.call("init", {i32(0), i32(6), i32(0)})), "out of bounds memory access");
  // A dropped segment has length zero.
  ASSERT_TRUE(fx.call("drop").ok());
  EXPECT_TRUE(fx.call("init", {i32(0), i32(0), i32(0)}).ok());
  EXPECT_EQ(trap_of(fx.call("init", {i32(0), i32(0), i32(1)})), "out of bounds memory access");
}

TEST_P(InterpreterTest, TablesAndReferences) {
  Fixture fx(R"((module
    (type $v_i (func (result i32)))
    (table $t 3 5 funcref)
    (table $e 2 externref)
    (func $one (result i32) (i32.const 1))
    (func $two (result i32) (i32.const 2))
    (elem $seg func $one $two)
    (elem declare func $two)
    (func (export "size") (result i32) (table.size $t))
    (func (export "grow") (param i32) (result i32) (table.grow $t (ref.func $two) (local.get 0)))
    (func (export "set") (param i32) (table.set $t (local.get 0) (ref.func $one)))
    (func (export "is_null") (param i32) (result i32) (ref.is_null (table.get $t (local.get 0))))
    (func (export "fill") (param i32 i32) (table.fill $t (local.get 0) (ref.null func) (local.get 1)))
    (func (export "copy") (param i32 i32 i32) (table.copy $t $t (local.get 0) (local.get 1) (local.get 2)))
    (func (export "init") (param i32 i32 i32) (table.init $t $seg (local.get 0) (local.get 1) (local.get 2)))
    (func (export "drop") (elem.drop $seg))
    (func (export "call") (param i32) (result i32) (call_indirect $t (type $v_i) (local.get 0)))
    (func (export "ext_set") (param externref) (table.set $e (i32.const 1) (local.get 0)))
    (func (export "ext_get") (result externref) (table.get $e (i32.const 1)))
    (func (export "null_is_null") (result i32) (ref.is_null (ref.null extern)))
  ))");
  EXPECT_EQ(ok_i32(fx.call("size")), 3u);
  EXPECT_EQ(ok_i32(fx.call("is_null", {i32(0)})), 1u);
  EXPECT_EQ(trap_of(fx.call("is_null", {i32(3)})), "out of bounds table access");
  ASSERT_TRUE(fx.call("set", {i32(2)}).ok());
  EXPECT_EQ(ok_i32(fx.call("call", {i32(2)})), 1u);
  EXPECT_EQ(trap_of(fx.call("set", {i32(3)})), "out of bounds table access");
  ASSERT_TRUE(fx.call("init", {i32(0), i32(0), i32(2)}).ok());
  EXPECT_EQ(ok_i32(fx.call("call", {i32(0)})), 1u);
  EXPECT_EQ(ok_i32(fx.call("call", {i32(1)})), 2u);
  EXPECT_EQ(trap_of(fx.call("init", {i32(2), i32(0), i32(2)})), "out of bounds table access");
  EXPECT_EQ(ok_i32(fx.call("call", {i32(2)})), 1u);  // unchanged: checked before writing
  ASSERT_TRUE(fx.call("copy", {i32(1), i32(0), i32(2)}).ok());
  EXPECT_EQ(ok_i32(fx.call("call", {i32(1)})), 1u);
  EXPECT_EQ(ok_i32(fx.call("call", {i32(2)})), 2u);
  EXPECT_TRUE(fx.call("copy", {i32(3), i32(0), i32(0)}).ok());
  EXPECT_EQ(trap_of(fx.call("copy", {i32(4), i32(0), i32(0)})), "out of bounds table access");
  ASSERT_TRUE(fx.call("fill", {i32(1), i32(2)}).ok());
  EXPECT_EQ(ok_i32(fx.call("is_null", {i32(2)})), 1u);
  EXPECT_EQ(trap_of(fx.call("fill", {i32(2), i32(2)})), "out of bounds table access");
  // table.grow: the old size, or -1 past the maximum; new slots get the init value.
  EXPECT_EQ(ok_i32(fx.call("grow", {i32(2)})), 3u);
  EXPECT_EQ(ok_i32(fx.call("call", {i32(4)})), 2u);
  EXPECT_EQ(ok_i32(fx.call("grow", {i32(1)})), 0xFFFFFFFFu);
  EXPECT_EQ(ok_i32(fx.call("size")), 5u);
  ASSERT_TRUE(fx.call("drop").ok());
  EXPECT_EQ(trap_of(fx.call("init", {i32(0), i32(0), i32(1)})), "out of bounds table access");
  EXPECT_TRUE(fx.call("init", {i32(0), i32(0), i32(0)}).ok());
  // externref values round-trip opaque host words.
  ASSERT_TRUE(fx.call("ext_set", {Value::make_ref(ValType::externref, 0x1234)}).ok());
  CallResult r = fx.call("ext_get");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.values[0].type, ValType::externref);
  EXPECT_EQ(r.values[0].ref, 0x1234u);
  EXPECT_EQ(ok_i32(fx.call("null_is_null")), 1u);
}

TEST_P(InterpreterTest, CallIndirectTraps) {
  Fixture fx(R"((module
    (type $v_i (func (result i32)))
    (type $i_i (func (param i32) (result i32)))
    (table 3 funcref)
    (func $one (result i32) (i32.const 1))
    (func $id (param i32) (result i32) (local.get 0))
    (elem (i32.const 0) $one $id)
    (func (export "call") (param i32) (result i32) (call_indirect (type $v_i) (local.get 0)))
  ))");
  EXPECT_EQ(ok_i32(fx.call("call", {i32(0)})), 1u);
  EXPECT_EQ(trap_of(fx.call("call", {i32(1)})), "indirect call type mismatch");
  EXPECT_EQ(trap_of(fx.call("call", {i32(2)})), "uninitialized element");
  EXPECT_EQ(trap_of(fx.call("call", {i32(3)})), "undefined element");
  EXPECT_EQ(trap_of(fx.call("call", {i32(0xFFFFFFFF)})), "undefined element");
}

TEST_P(InterpreterTest, GlobalsCallsMultiValueAndBrTable) {
  Fixture fx(R"((module
    (global $g (mut i64) (i64.const 5))
    (global $k f64 (f64.const 2.5))
    (func (export "bump") (result i64)
      (global.set $g (i64.add (global.get $g) (i64.const 1))) (global.get $g))
    (func (export "k") (result f64) (global.get $k))
    (func $swap (param i32 i64) (result i64 i32) (local.get 1) (local.get 0))
    (func (export "swap") (param i32 i64) (result i64 i32) (call $swap (local.get 0) (local.get 1)))
    (func (export "block_multi") (result i32 i32)
      (block (result i32 i32) (i32.const 7) (i32.const 8) (br 0)))
    (func $fib (export "fib") (param i32) (result i32)
      (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
        (then (local.get 0))
        (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                       (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
    (func (export "table") (param i32) (result i32)
      (block $a (block $b (block $c
        (br_table $a $b $c (local.get 0)))
        (return (i32.const 30)))
        (return (i32.const 20)))
      (i32.const 10))
    (func (export "carry") (param i32) (result i32)
      (i32.add (i32.const 100)
        (block (result i32) (i32.const 1) (i32.const 2) (br_table 0 0 (local.get 0)))))
    (func (export "select") (param i32) (result i64) (select (i64.const 1) (i64.const 2) (local.get 0)))
    (func (export "locals") (result i64) (local i64 f32) (local.get 0))
    (func (export "loop_sum") (param i32) (result i32) (local $s i32)
      (block $done (loop $l
        (br_if $done (i32.eqz (local.get 0)))
        (local.set $s (i32.add (local.get $s) (local.get 0)))
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (br $l)))
      (local.get $s))
  ))");
  EXPECT_EQ(ok_i64(fx.call("bump")), 6u);
  EXPECT_EQ(ok_i64(fx.call("bump")), 7u);
  EXPECT_EQ(ok_f64(fx.call("k")), std::bit_cast<uint64_t>(2.5));
  CallResult r = fx.call("swap", {i32(3), i64(1ull << 40)});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.values.size(), 2u);
  EXPECT_EQ(r.values[0].type, ValType::i64);
  EXPECT_EQ(r.values[0].i64, 1ull << 40);
  EXPECT_EQ(r.values[1].i32, 3u);
  r = fx.call("block_multi");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.values[0].i32, 7u);
  EXPECT_EQ(r.values[1].i32, 8u);
  EXPECT_EQ(ok_i32(fx.call("fib", {i32(20)})), 6765u);
  EXPECT_EQ(ok_i32(fx.call("table", {i32(0)})), 10u);
  EXPECT_EQ(ok_i32(fx.call("table", {i32(1)})), 20u);
  EXPECT_EQ(ok_i32(fx.call("table", {i32(2)})), 30u);
  EXPECT_EQ(ok_i32(fx.call("table", {i32(99)})), 30u);
  EXPECT_EQ(ok_i32(fx.call("carry", {i32(0)})), 102u);
  EXPECT_EQ(ok_i32(fx.call("carry", {i32(5)})), 102u);
  EXPECT_EQ(ok_i64(fx.call("select", {i32(1)})), 1u);
  EXPECT_EQ(ok_i64(fx.call("select", {i32(0)})), 2u);
  EXPECT_EQ(ok_i64(fx.call("locals")), 0u);
  EXPECT_EQ(ok_i32(fx.call("loop_sum", {i32(100)})), 5050u);
}

TEST_P(InterpreterTest, UnreachableAndDeepRecursion) {
  Fixture fx(R"((module
    (func (export "unreachable") (unreachable))
    (func $down (export "down") (param i32) (result i32)
      (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
        (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1)))))))
    (func $forever (export "forever") (call $forever))
    (func $wide (export "wide") (param i64 i64 i64 i64) (result i64)
      (local i64 i64 i64 i64 i64 i64 i64 i64)
      (call $wide (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  ))");
  EXPECT_EQ(trap_of(fx.call("unreachable")), "unreachable");
  EXPECT_EQ(ok_i32(fx.call("down", {i32(5000)})), 5000u);
  EXPECT_EQ(trap_of(fx.call("forever")), "call stack exhausted");
  CallOptions deep;
  deep.max_call_depth = 100'000'000;  // so the value stack runs out first
  EXPECT_EQ(trap_of(fx.call("wide", {i64(1), i64(2), i64(3), i64(4)}, deep)),
            "call stack exhausted");
  CallOptions shallow;
  shallow.max_call_depth = 10;
  EXPECT_EQ(ok_i32(fx.call("down", {i32(9)}, shallow)), 9u);
  EXPECT_EQ(trap_of(fx.call("down", {i32(10)}, shallow)), "call stack exhausted");
  // The store is still usable after exhaustion.
  EXPECT_EQ(ok_i32(fx.call("down", {i32(3)})), 3u);
}

TEST_P(InterpreterTest, HostFunctionsAndReentry) {
  TierStore store;
  auto module = load_wat(R"((module
    (import "env" "add" (func $add (param i32 i64) (result i64)))
    (import "env" "fail" (func $fail))
    (import "env" "reenter" (func $reenter (param i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "use_add") (result i64) (call $add (i32.const 2) (i64.const 40)))
    (func (export "use_fail") (call $fail))
    (func $fact (export "fact") (param i32) (result i32)
      (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 1))
        (else (i32.mul (local.get 0) (call $reenter (i32.sub (local.get 0) (i32.const 1)))))))
  ))");
  ASSERT_TRUE(module);
  Instance* self = nullptr;
  Linker linker;
  FuncType add_type{{ValType::i32, ValType::i64}, {ValType::i64}};
  linker.define(
      "env", "add",
      Extern::of(store.create_host_function(add_type,
                                            [](HostContext& ctx, std::span<const Value> args,
                                               std::span<Value> results) -> std::optional<Trap> {
                                              // The caller's memory is visible to the host.
                                              Memory* m = ctx.memory();
                                              if (m == nullptr || m->size != kPageSize)
                                                return Trap{TrapKind::host_error, "no memory", 0};
                                              results[0] =
                                                  Value::make_i64(args[0].i32 + args[1].i64);
                                              return std::nullopt;
                                            })));
  linker.define(
      "env", "fail",
      Extern::of(store.create_host_function(
          FuncType{},
          [](HostContext&, std::span<const Value>, std::span<Value>) -> std::optional<Trap> {
            return Trap{TrapKind::host_error, "boom", 0};
          })));
  linker.define("env", "reenter",
                Extern::of(store.create_host_function(
                    FuncType{{ValType::i32}, {ValType::i32}},
                    [&](HostContext& ctx, std::span<const Value> args,
                        std::span<Value> results) -> std::optional<Trap> {
                      // Calls back into the guest on the same store.
                      CallResult r =
                          call(ctx.store, *self->exported_function("fact"), args.subspan(0, 1));
                      if (!r.ok())
                        return r.trap;
                      results[0] = r.values[0];
                      return std::nullopt;
                    })));
  auto inst = linker.instantiate(store, module);
  ASSERT_TRUE(inst.ok()) << inst.error().message;
  self = *inst;
  CallResult r = call(store, *self->exported_function("use_add"), {});
  ASSERT_TRUE(r.ok()) << trap_of(r);
  EXPECT_EQ(r.values[0].i64, 42u);
  r = call(store, *self->exported_function("use_fail"), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.trap->kind, TrapKind::host_error);
  EXPECT_EQ(r.trap->message(), "host error: boom");
  Value arg = Value::make_i32(10);
  r = call(store, *self->exported_function("fact"), {&arg, 1});
  ASSERT_TRUE(r.ok()) << trap_of(r);
  EXPECT_EQ(r.values[0].i32, 3628800u);
  // Re-entry is bounded too: deep host/guest ping-pong ends in exhaustion, not a crash.
  arg = Value::make_i32(100000);
  r = call(store, *self->exported_function("fact"), {&arg, 1});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.trap->kind, TrapKind::call_stack_exhausted);
  // Argument types are checked at the boundary.
  arg = Value::make_i64(1);
  r = call(store, *self->exported_function("fact"), {&arg, 1});
  EXPECT_FALSE(r.ok());
}

// The interpreter defers local.get, constants and i32 sums (runtime/interp): a deferred operand
// must still see the value from before a later write to its local, and sums wrap at 32 bits.
TEST_P(InterpreterTest, DeferredOperandsKeepTheirValues) {
  Fixture fx(R"((module
    (memory 1)
    (func (export "get_then_set") (param i32) (result i32)
      local.get 0
      i32.const 5
      local.set 0
      local.get 0
      i32.sub)
    (func (export "sum_then_set") (param i32) (result i32)
      local.get 0
      i32.const 3
      i32.add
      i32.const 100
      local.set 0
      local.get 0
      i32.add)
    (func (export "pair_then_set") (param i32 i32) (result i32)
      local.get 0
      local.get 1
      i32.add
      i32.const 7
      local.set 1
      local.get 1
      i32.mul)
    (func (export "pair_plus_const") (param i32 i32) (result i32)
      local.get 0
      local.get 1
      i32.add
      i32.const 10
      i32.add)
    (func (export "tee") (param i32 i32) (result i32) (local i32)
      local.get 0
      local.get 1
      i32.mul
      local.tee 2
      local.get 2
      i32.add)
    (func (export "merge") (param i32 i32) (result i32)
      block (result i32)
        local.get 0
        i32.const 1
        i32.add
        local.get 1
        br_if 0
        i32.const 10
        i32.add
      end)
    (func (export "addressing") (param i32 i32) (result i64)
      ;; stores through a two-slot address, a constant value and a wrapped constant address
      local.get 0
      local.get 1
      i32.add
      i64.const 0x1122334455667788
      i64.store offset=8
      local.get 0
      i32.const 4
      i32.add
      i32.const -2
      i32.store16
      local.get 0
      i32.const -1
      i32.add
      local.get 1
      i32.add
      i64.load offset=9)
    (func (export "small_consts") (param i32) (result i64)
      local.get 0
      i64.const -3
      i64.store
      local.get 0
      f64.const 1.5
      f64.store offset=8
      local.get 0
      i64.load
      local.get 0
      i64.load offset=8
      i64.xor)
    (func (export "load_operands") (param i32) (result i32)
      ;; mem[p] = 5, mem[p+4] = 7: (5 + p) - ((mem[p+4] ^ 1) * 2) ... as i32 and f64 arithmetic
      local.get 0
      i32.const 5
      i32.store
      local.get 0
      i32.const 7
      i32.store offset=4
      local.get 0
      i32.load
      local.get 0
      i32.add
      local.get 0
      local.get 0
      i32.const 4
      i32.add
      i32.load
      i32.xor
      i32.sub
      f64.const 2.5
      local.get 0
      f64.load offset=16
      f64.sub
      i32.trunc_f64_s
      i32.add)
    (func (export "move") (param i32 i32) (result i64)
      ;; mem[dst+1 ..] = mem[src ..] byte-wise and as a word, then read it back
      local.get 1
      i32.const 1
      i32.add
      local.get 0
      i32.load8_u offset=1
      i32.store8
      local.get 1
      local.get 0
      i32.const 8
      i32.add
      i64.load
      i64.store offset=8
      local.get 1
      i64.load offset=8)
    (func (export "wrap") (result i32)
      i32.const 0
      i32.const 0xFFFFFFFF
      i32.add
      i32.load8_u)
  ))");
  EXPECT_EQ(ok_i32(fx.call("get_then_set", {i32(12)})), 7u);
  EXPECT_EQ(ok_i32(fx.call("sum_then_set", {i32(1)})), 104u);
  EXPECT_EQ(ok_i32(fx.call("pair_then_set", {i32(2), i32(3)})), 35u);
  EXPECT_EQ(ok_i32(fx.call("pair_plus_const", {i32(2), i32(3)})), 15u);
  EXPECT_EQ(ok_i32(fx.call("tee", {i32(3), i32(4)})), 24u);
  EXPECT_EQ(ok_i32(fx.call("merge", {i32(5), i32(1)})), 6u);
  EXPECT_EQ(ok_i32(fx.call("merge", {i32(5), i32(0)})), 16u);
  EXPECT_EQ(ok_i64(fx.call("addressing", {i32(16), i32(32)})), 0x1122334455667788ull);
  uint8_t* mem = fx.instance()->memories[0]->data;
  EXPECT_EQ(mem[20], 0xFE);
  EXPECT_EQ(mem[21], 0xFF);
  EXPECT_EQ(ok_i64(fx.call("small_consts", {i32(64)})),
            0xFFFFFFFFFFFFFFFDull ^ std::bit_cast<uint64_t>(1.5));
  EXPECT_EQ(trap_of(fx.call("wrap")), "out of bounds memory access");
  mem[301] = 0xAB;
  for (int i = 0; i < 8; ++i)
    mem[308 + i] = static_cast<uint8_t>(i + 1);
  EXPECT_EQ(ok_i64(fx.call("move", {i32(300), i32(400)})), 0x0807060504030201ull);
  EXPECT_EQ(mem[401], 0xAB);
  // The load is checked first; a failing store has no effect.
  EXPECT_EQ(trap_of(fx.call("move", {i32(65535), i32(500)})), "out of bounds memory access");
  EXPECT_EQ(mem[501], 0);
  EXPECT_EQ(trap_of(fx.call("move", {i32(300), i32(65535)})), "out of bounds memory access");
  // p = 200: (5 + 200) - (200 ^ 7) + trunc(2.5 - 0.0) = 205 - 207 + 2.
  EXPECT_EQ(ok_i32(fx.call("load_operands", {i32(200)})), 0u);
  EXPECT_EQ(trap_of(fx.call("load_operands", {i32(65530)})), "out of bounds memory access");
}

// Loop tails, compare chains, shifts, constant-first operands, stores of results and constant
// addresses each run as one fused instruction; wasm must not see the difference.
TEST_P(InterpreterTest, FusedForms) {
  Fixture fx(R"((module
    (memory 1)
    (func (export "tail_inc") (param i32) (result i32) (local i32 i32)
      loop
        local.get 2
        local.get 1
        i32.add
        local.set 2
        local.get 1
        i32.const 3
        i32.add
        local.tee 1
        local.get 0
        i32.lt_u
        br_if 0
      end
      local.get 2)
    (func (export "tail_wrap") (param i32) (result i32) (local i32)
      loop
        local.get 1
        i32.const 1
        i32.add
        local.set 1
        local.get 0
        i32.const 0x40000000
        i32.add
        local.tee 0
        i32.const 0
        i32.ne
        br_if 0
      end
      local.get 1)
    (func (export "tail_add64") (param i64 i64) (result i64) (local i64 i64)
      loop
        local.get 3
        i64.const 1
        i64.add
        local.set 3
        local.get 2
        local.get 1
        i64.add
        local.tee 2
        local.get 0
        i64.le_u
        br_if 0
      end
      local.get 3)
    (func (export "tail_dec64") (param i64 i64) (result i64) (local i64)
      loop
        local.get 2
        i64.const 1
        i64.add
        local.set 2
        local.get 1
        i64.const -2
        i64.add
        local.tee 1
        local.get 0
        i64.gt_s
        br_if 0
      end
      local.get 2)
    (func (export "digit") (param i32) (result i32)
      block
        local.get 0
        i32.const -48
        i32.add
        local.tee 0
        i32.const 9
        i32.gt_u
        br_if 0
        local.get 0
        return
      end
      i32.const -1)
    (func (export "not_lt") (param i32 i32) (result i32)
      local.get 0
      local.get 1
      i32.lt_s
      i32.eqz)
    (func (export "branch_not_eq") (param i32) (result i32)
      block
        local.get 0
        i32.const 5
        i32.eq
        i32.eqz
        br_if 0
        i32.const 1
        return
      end
      i32.const 2)
    (func (export "mix32") (param i32 i32) (result i32)
      local.get 0
      local.get 1
      i32.const 7
      i32.rotl
      i32.xor
      local.get 1
      i32.const 35
      i32.shl
      i32.add
      local.get 1
      i32.const 4
      i32.shr_u
      i32.or
      local.get 1
      i32.const 9
      i32.rotl
      i32.and)
    (func (export "shift_sub") (param i32 i32) (result i32)
      local.get 0
      local.get 1
      i32.const 2
      i32.shl
      i32.sub
      local.get 1
      i32.const 1
      i32.shl
      local.get 0
      i32.sub
      i32.xor)
    (func (export "mix64") (param i64 i64) (result i64)
      local.get 0
      i64.const 70
      i64.shr_u
      local.get 1
      i64.xor
      local.get 1
      i64.const 13
      i64.rotl
      i64.xor
      local.get 1
      i64.const 3
      i64.shl
      i64.add)
    (func (export "const_first") (param i32 i64) (result i64)
      i32.const 1
      local.get 0
      i32.shl
      i32.const 100
      local.get 0
      i32.sub
      i32.xor
      i32.const -16
      local.get 0
      i32.shr_s
      i32.xor
      i32.const -16
      local.get 0
      i32.shr_u
      i32.add
      i64.extend_i32_u
      i64.const -16
      local.get 1
      i64.shr_u
      i64.xor
      i64.const 5
      local.get 1
      i64.sub
      i64.xor
      i64.const 3
      local.get 1
      i64.shl
      i64.add)
    (func (export "stores") (param i32 i32) (result i64)
      ;; mem[p] += v; mem[p+24] = p - v; f64 at p+8 -= f64 at p+16; f64 at p+32 = (p+8) * (p+16)
      local.get 0
      local.get 0
      i32.load
      local.get 1
      i32.add
      i32.store
      local.get 0
      i32.const 24
      i32.add
      local.get 0
      local.get 1
      i32.sub
      i32.store
      local.get 0
      local.get 0
      f64.load offset=16
      local.get 0
      f64.load offset=8
      f64.sub
      f64.store offset=8
      local.get 0
      local.get 0
      f64.load offset=8
      local.get 0
      f64.load offset=16
      f64.mul
      f64.store offset=32
      local.get 0
      i64.load)
    (func (export "absolute") (param i32) (result i32)
      i32.const 100
      local.get 0
      i32.store
      i32.const 100
      i32.load16_u offset=2
      i32.const 101
      i32.load8_u
      i32.add)
    (func (export "absolute_oob") (param i32) (result i32)
      local.get 0
      i32.eqz
      if (result i32)
        i32.const 65535
        i32.load8_u
      else
        local.get 0
        i32.const 1
        i32.eq
        if (result i32)
          i32.const -1
          i32.load offset=1
        else
          i32.const 65534
          i32.const 7
          i32.store offset=1
          i32.const 0
        end
      end)
  ))");
  EXPECT_EQ(ok_i32(fx.call("tail_inc", {i32(10)})), 18u);  // 0 + 3 + 6 + 9
  CallOptions fuel;
  fuel.fuel = 100000;
  EXPECT_EQ(ok_i32(fx.call("tail_wrap", {i32(0x40000000)}, fuel)), 3u);
  EXPECT_EQ(ok_i64(fx.call("tail_add64", {i64(100), i64(7)})), 15u);  // 7, 14, .. 105
  EXPECT_EQ(ok_i64(fx.call("tail_dec64", {i64(-5), i64(10)})), 8u);   // 8, 6, .. -6
  EXPECT_EQ(ok_i32(fx.call("digit", {i32('7')})), 7u);
  EXPECT_EQ(ok_i32(fx.call("digit", {i32('a')})), 0xFFFFFFFFu);
  EXPECT_EQ(ok_i32(fx.call("digit", {i32(' ')})), 0xFFFFFFFFu);
  EXPECT_EQ(ok_i32(fx.call("not_lt", {i32(-1), i32(1)})), 0u);
  EXPECT_EQ(ok_i32(fx.call("not_lt", {i32(1), i32(-1)})), 1u);
  EXPECT_EQ(ok_i32(fx.call("not_lt", {i32(4), i32(4)})), 1u);
  EXPECT_EQ(ok_i32(fx.call("branch_not_eq", {i32(5)})), 1u);
  EXPECT_EQ(ok_i32(fx.call("branch_not_eq", {i32(6)})), 2u);
  const uint32_t a = 0x12345678, b = 0x9ABCDEF0;
  EXPECT_EQ(ok_i32(fx.call("mix32", {i32(a), i32(b)})),
            (((a ^ std::rotl(b, 7)) + (b << 3)) | (b >> 4)) & std::rotl(b, 9));
  EXPECT_EQ(ok_i32(fx.call("shift_sub", {i32(a), i32(b)})), (a - (b << 2)) ^ ((b << 1) - a));
  const uint64_t x = 0x0123456789ABCDEFull, y = 0xFEDCBA9876543210ull;
  EXPECT_EQ(ok_i64(fx.call("mix64", {i64(x), i64(y)})),
            (((x >> 6) ^ y) ^ std::rotl(y, 13)) + (y << 3));
  const uint32_t n = 33;
  const uint64_t m = 67;
  const uint32_t lo = ((1u << (n & 31)) ^ (100 - n) ^ static_cast<uint32_t>(-16 >> (n & 31))) +
                      (0xFFFFFFF0u >> (n & 31));
  EXPECT_EQ(ok_i64(fx.call("const_first", {i32(n), i64(m)})),
            ((uint64_t{lo} ^ (0xFFFFFFFFFFFFFFF0ull >> (m & 63))) ^ (5 - m)) + (3ull << (m & 63)));
  uint8_t* mem = fx.instance()->memories[0]->data;
  const uint32_t p = 1000;
  const uint32_t w0 = 0xFFFFFFF0;
  const double d8 = 1.25, d16 = 10.5;
  std::memcpy(mem + p, &w0, 4);
  std::memcpy(mem + p + 8, &d8, 8);
  std::memcpy(mem + p + 16, &d16, 8);
  EXPECT_EQ(ok_i64(fx.call("stores", {i32(p), i32(0x20)})), 0x10u);  // wrapped i32 sum, high word 0
  uint32_t w24 = 0;
  double r8 = 0, r32 = 0;
  std::memcpy(&w24, mem + p + 24, 4);
  std::memcpy(&r8, mem + p + 8, 8);
  std::memcpy(&r32, mem + p + 32, 8);
  EXPECT_EQ(w24, p - 0x20);
  EXPECT_EQ(r8, 10.5 - 1.25);
  EXPECT_EQ(r32, (10.5 - 1.25) * 10.5);
  // Out of bounds: the read-modify-write traps like the load it replaces, writing nothing.
  EXPECT_EQ(trap_of(fx.call("stores", {i32(65534), i32(1)})), "out of bounds memory access");
  EXPECT_EQ(mem[65534], 0);
  EXPECT_EQ(mem[65535], 0);
  EXPECT_EQ(ok_i32(fx.call("absolute", {i32(0x11223344)})), 0x1122u + 0x33u);
  EXPECT_EQ(ok_i32(fx.call("absolute_oob", {i32(0)})), 0u);
  EXPECT_EQ(trap_of(fx.call("absolute_oob", {i32(1)})), "out of bounds memory access");
  EXPECT_EQ(trap_of(fx.call("absolute_oob", {i32(2)})), "out of bounds memory access");
  EXPECT_EQ(mem[65535], 0);
}

// Three-operand sums, an operand transformed by a constant, and divisions by a constant.
TEST_P(InterpreterTest, FusedArithmetic) {
  Fixture fx(R"((module
    (func (export "sum3") (param i32 i32 i32) (result i32)
      local.get 0
      local.get 1
      i32.add
      local.get 2
      i32.add
      local.get 0
      local.get 2
      i32.mul
      local.get 1
      i32.add
      i32.add
      local.get 2
      i32.add)
    (func (export "sum3_64") (param i64 i64 i64) (result i64)
      local.get 0
      local.get 1
      i64.add
      local.get 2
      i64.add
      local.get 2
      local.get 0
      local.get 1
      i64.add
      i64.add
      i64.add)
    (func (export "masks") (param i32 i32) (result i32)
      local.get 0
      local.get 1
      i32.const -1
      i32.xor
      i32.and
      local.get 1
      i32.const 56
      i32.mul
      i32.add
      local.get 0
      i32.const 0xFF
      i32.and
      i32.add)
    (func (export "masks64") (param i64 i64) (result i64)
      local.get 1
      i64.const -1
      i64.xor
      local.get 0
      i64.and
      local.get 0
      i64.const 0x100000001B3
      i64.mul
      i64.add)
    (func (export "div_consts") (param i32 i64) (result i64)
      local.get 0
      i32.const 10
      i32.div_u
      local.get 0
      i32.const -7
      i32.div_s
      i32.add
      local.get 0
      i32.const -7
      i32.rem_s
      i32.add
      local.get 0
      i32.const 10
      i32.rem_u
      i32.add
      i64.extend_i32_u
      local.get 1
      i64.const 10
      i64.div_u
      i64.add
      local.get 1
      i64.const -3
      i64.div_s
      i64.add
      local.get 1
      i64.const 1000
      i64.rem_u
      i64.add
      local.get 1
      i64.const -3
      i64.rem_s
      i64.add)
    (func (export "div_zero") (param i32) (result i32)
      local.get 0
      i32.const 0
      i32.div_u)
    (func (export "div_minus_one") (param i32) (result i32)
      local.get 0
      i32.const -1
      i32.div_s)
    (func (export "rem_minus_one") (param i64) (result i64)
      local.get 0
      i64.const -1
      i64.rem_s)
  ))");
  EXPECT_EQ(ok_i32(fx.call("sum3", {i32(0xFFFFFFF0), i32(0x20), i32(3)})),
            0xFFFFFFF0u + 0x20u + 3u + (0xFFFFFFF0u * 3u + 0x20u) + 3u);
  EXPECT_EQ(ok_i64(fx.call("sum3_64", {i64(1ull << 63), i64(5), i64(7)})),
            (1ull << 63) + 5 + 7 + (7 + ((1ull << 63) + 5)));
  const uint32_t a = 0xF0F0ABCD, b = 0x12345678;
  EXPECT_EQ(ok_i32(fx.call("masks", {i32(a), i32(b)})), (a & ~b) + b * 56u + (a & 0xFFu));
  const uint64_t x = 0x0123456789ABCDEFull, y = 0xFF00FF00FF00FF00ull;
  EXPECT_EQ(ok_i64(fx.call("masks64", {i64(x), i64(y)})), (~y & x) + x * 0x100000001B3ull);
  const uint32_t n = 0x80000005;  // negative as i32
  const int32_t sn = static_cast<int32_t>(n);
  const uint64_t m = 0xFFFFFFFFFFFFF000ull;  // -4096 as i64
  const int64_t sm = static_cast<int64_t>(m);
  const uint32_t lo =
      n / 10 + static_cast<uint32_t>(sn / -7) + static_cast<uint32_t>(sn % -7) + n % 10;
  EXPECT_EQ(ok_i64(fx.call("div_consts", {i32(n), i64(m)})),
            uint64_t{lo} + m / 10 + static_cast<uint64_t>(sm / -3) + m % 1000 +
                static_cast<uint64_t>(sm % -3));
  EXPECT_EQ(trap_of(fx.call("div_zero", {i32(1)})), "integer divide by zero");
  EXPECT_EQ(trap_of(fx.call("div_minus_one", {i32(0x80000000)})), "integer overflow");
  EXPECT_EQ(ok_i32(fx.call("div_minus_one", {i32(6)})), static_cast<uint32_t>(-6));
  EXPECT_EQ(ok_i64(fx.call("rem_minus_one", {i64(1ull << 63)})), 0u);
}

}  // namespace
}  // namespace tollgate::runtime
