// Spec-test runner: runs one wast2json script of the official WebAssembly test suite on the
// runtime. SPDX-License-Identifier: Apache-2.0
//
// Usage: spec_runner [--tier interp|jit] [--jit-bounds explicit|guard] [--simd run|skip]
//                    [--max-call-depth N] [--command-timeout S] [--verbose] FILE.json
// With --tier jit a line before the totals says how many modules the JIT compiled and refused
// (refused ones run interpreted) and how many calls ran on each tier.
//
// Every command of the script runs in one Store, in order, and one failing command never stops the
// file. Each failure is printed as `file.wast:line: ...`; the last two lines are the .wast name and
// `N passed, N failed, N skipped`. The exit status is 1 when anything failed, 2 on a usage or I/O
// error. "Tests" are counted as wabt's spectest-interp counts them: modules, actions and
// assertions (a `register` is not a test of its own).
#include <algorithm>
#include <atomic>
#include <bit>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "jit/jit.hpp"
#include "runtime/base/limits.hpp"
#include "runtime/base/result.hpp"
#include "runtime/module.hpp"
#include "runtime/store.hpp"
#include "runtime/trap.hpp"
#include "runtime/types.hpp"
#include "runtime/value.hpp"

namespace tollgate::spec_tests {
namespace {

namespace json = boost::json;
using runtime::CallOptions;
using runtime::CallResult;
using runtime::Error;
using runtime::ErrorKind;
using runtime::Extern;
using runtime::ExternKind;
using runtime::Function;
using runtime::FuncType;
using runtime::Instance;
using runtime::Module;
using runtime::RefBits;
using runtime::Trap;
using runtime::TrapKind;
using runtime::V128;
using runtime::ValType;
using runtime::Value;

/// `jit`: every module the JIT compiles runs on it; a module it refuses runs interpreted and is
/// counted apart, so a clean result is never silently the interpreter's.
enum class Tier : uint8_t { interp, jit };

struct Options {
  Tier tier = Tier::interp;
  /// Count what the runtime reports as unsupported (SIMD, until it executes) as skipped.
  bool simd_skip = false;
  uint32_t max_call_depth = runtime::kDefaultMaxCallDepth;
  /// Per call or instantiation; 0 disables the watchdog.
  uint32_t command_timeout_s = 20;
  bool verbose = false;
  /// --jit-bounds: how JIT code keeps memory accesses in bounds.
  jit::BoundsMode jit_bounds = jit::BoundsMode::explicit_checks;
  std::string json_path;
};

// ---------------------------------------------------------------------------------------------
// Values as the JSON writes them: decimal strings of the unsigned bit pattern, per lane for v128.

enum class NanPattern : uint8_t { none, canonical, arithmetic };

/// An argument, or an expected result: exact bits, except where a lane carries a NaN pattern or
/// a reference expectation is "any non-null".
struct JsonValue {
  Value value;
  uint32_t lane_width = 0;       ///< bits per lane: the scalar width, or the v128 lane type's
  bool float_lanes = false;      ///< f32/f64 lanes (only they can hold NaN patterns)
  std::vector<NanPattern> nans;  ///< one per lane, or empty when every lane is exact
  bool any_non_null = false;     ///< a reference expected with no value
};

std::optional<ValType> parse_val_type(std::string_view s) {
  if (s == "i32")
    return ValType::i32;
  if (s == "i64")
    return ValType::i64;
  if (s == "f32")
    return ValType::f32;
  if (s == "f64")
    return ValType::f64;
  if (s == "v128")
    return ValType::v128;
  if (s == "funcref")
    return ValType::funcref;
  if (s == "externref")
    return ValType::externref;
  return std::nullopt;
}

std::optional<uint64_t> parse_bits(std::string_view s, uint32_t width) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 10);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty())
    return std::nullopt;
  if (width < 64 && v >> width != 0)
    return std::nullopt;
  return v;
}

std::optional<NanPattern> parse_nan(std::string_view s) {
  if (s == "nan:canonical")
    return NanPattern::canonical;
  if (s == "nan:arithmetic")
    return NanPattern::arithmetic;
  return std::nullopt;
}

uint64_t lane_mask(uint32_t width) {
  return width == 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1;
}

uint64_t get_lane(const V128& v, uint32_t width, uint32_t lane) {
  uint32_t bit = lane * width;
  return (v.u64[bit / 64] >> (bit % 64)) & lane_mask(width);
}

void set_lane(V128& v, uint32_t width, uint32_t lane, uint64_t bits) {
  uint32_t bit = lane * width;
  v.u64[bit / 64] &= ~(lane_mask(width) << (bit % 64));
  v.u64[bit / 64] |= (bits & lane_mask(width)) << (bit % 64);
}

/// Bits of lane `lane` of a value of width `width` (scalars have one lane).
uint64_t lane_bits(const Value& v, uint32_t width, uint32_t lane) {
  switch (v.type) {
    case ValType::i32:
      return v.i32;
    case ValType::f32:
      return v.f32_bits;
    case ValType::i64:
      return v.i64;
    case ValType::f64:
      return v.f64_bits;
    case ValType::v128:
      return get_lane(v.v128, width, lane);
    default:
      return v.ref;
  }
}

uint32_t scalar_width(ValType t) {
  return t == ValType::i32 || t == ValType::f32 ? 32 : 64;
}

/// Parses `{"type": ..., "value": ...}` (plus `lane_type` for v128). `expected` allows NaN
/// patterns and a missing reference value.
std::optional<JsonValue> parse_value(const json::value& jv, bool expected, std::string& why) {
  const json::object* o = jv.if_object();
  const json::string* type_name =
      o ? (o->contains("type") ? o->at("type").if_string() : nullptr) : nullptr;
  std::optional<ValType> type = type_name ? parse_val_type(*type_name) : std::nullopt;
  if (!type) {
    why = "unknown value " + json::serialize(jv);
    return std::nullopt;
  }
  JsonValue out;
  out.value = Value::zero(*type);
  const json::value* raw = o->if_contains("value");
  if (runtime::is_ref(*type)) {
    out.lane_width = 64;
    if (!raw) {
      if (!expected) {
        why = "reference argument without a value";
        return std::nullopt;
      }
      out.any_non_null = true;
      return out;
    }
    const json::string* s = raw->if_string();
    if (s && *s == "null")
      return out;
    std::optional<uint64_t> n = s ? parse_bits(*s, 64) : std::nullopt;
    // Host reference N is RefBits N+1, so that host reference 0 is not null.
    if (*type == ValType::externref && n && *n < UINTPTR_MAX) {
      out.value.ref = static_cast<RefBits>(*n + 1);
      return out;
    }
    why = "bad reference " + json::serialize(jv);
    return std::nullopt;
  }
  if (*type == ValType::v128) {
    const json::string* lane_name =
        o->contains("lane_type") ? o->at("lane_type").if_string() : nullptr;
    const json::array* lanes = raw ? raw->if_array() : nullptr;
    std::optional<ValType> lane_type = lane_name ? parse_val_type(*lane_name) : std::nullopt;
    uint32_t width = 0;
    if (lane_name && *lane_name == "i8")
      width = 8;
    if (lane_name && *lane_name == "i16")
      width = 16;
    if (lane_type && runtime::is_num(*lane_type))
      width = scalar_width(*lane_type);
    if (!lanes || width == 0 || lanes->size() != 128 / width) {
      why = "bad v128 " + json::serialize(jv);
      return std::nullopt;
    }
    out.lane_width = width;
    out.float_lanes = lane_type == ValType::f32 || lane_type == ValType::f64;
    for (uint32_t i = 0; i < lanes->size(); ++i) {
      const json::string* s = (*lanes)[i].if_string();
      std::optional<NanPattern> nan =
          s && expected && out.float_lanes ? parse_nan(*s) : std::nullopt;
      std::optional<uint64_t> bits = s && !nan ? parse_bits(*s, width) : std::nullopt;
      if (!nan && !bits) {
        why = "bad v128 lane " + json::serialize(jv);
        return std::nullopt;
      }
      if (nan) {
        out.nans.resize(lanes->size(), NanPattern::none);
        out.nans[i] = *nan;
      } else {
        set_lane(out.value.v128, width, i, *bits);
      }
    }
    return out;
  }
  out.lane_width = scalar_width(*type);
  out.float_lanes = *type == ValType::f32 || *type == ValType::f64;
  const json::string* s = raw ? raw->if_string() : nullptr;
  std::optional<NanPattern> nan = s && expected && out.float_lanes ? parse_nan(*s) : std::nullopt;
  std::optional<uint64_t> bits = s && !nan ? parse_bits(*s, out.lane_width) : std::nullopt;
  if (nan) {
    out.nans = {*nan};
  } else if (bits) {
    if (out.lane_width == 32) {
      out.value.i32 = static_cast<uint32_t>(*bits);
    } else {
      out.value.i64 = *bits;
    }
  } else {
    why = "bad value " + json::serialize(jv);
    return std::nullopt;
  }
  return out;
}

/// https://webassembly.github.io/spec/core/exec/numerics.html#nan-propagation: a canonical NaN
/// has only the payload's top bit set, an arithmetic NaN at least that bit; the sign is free.
bool nan_matches(uint64_t bits, uint32_t width, NanPattern pattern) {
  uint64_t quiet = width == 32 ? 0x7fc00000u : 0x7ff8000000000000u;
  uint64_t magnitude = bits & (width == 32 ? 0x7fffffffu : 0x7fffffffffffffffu);
  if (pattern == NanPattern::canonical)
    return magnitude == quiet;
  return (magnitude & quiet) == quiet;
}

bool matches(const JsonValue& expected, const Value& got) {
  if (got.type != expected.value.type)
    return false;
  if (runtime::is_ref(got.type)) {
    return expected.any_non_null ? got.ref != 0 : got.ref == expected.value.ref;
  }
  uint32_t width = expected.lane_width;
  uint32_t lanes = got.type == ValType::v128 ? 128 / width : 1;
  for (uint32_t i = 0; i < lanes; ++i) {
    uint64_t bits = lane_bits(got, width, i);
    NanPattern nan = expected.nans.empty() ? NanPattern::none : expected.nans[i];
    bool ok = nan == NanPattern::none ? bits == lane_bits(expected.value, width, i)
                                      : nan_matches(bits, width, nan);
    if (!ok)
      return false;
  }
  return true;
}

std::string hex(uint64_t v, uint32_t width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%0*llx", static_cast<int>(width / 4),
                static_cast<unsigned long long>(v));
  return buf;
}

std::string format_lane(uint64_t bits, uint32_t width, bool is_float, NanPattern nan) {
  if (nan == NanPattern::canonical)
    return "nan:canonical";
  if (nan == NanPattern::arithmetic)
    return "nan:arithmetic";
  char buf[64];
  if (is_float && width == 32) {
    std::snprintf(buf, sizeof buf, "%.9g (%s)",
                  static_cast<double>(std::bit_cast<float>(static_cast<uint32_t>(bits))),
                  hex(bits, 32).c_str());
  } else if (is_float) {
    std::snprintf(buf, sizeof buf, "%.17g (%s)", std::bit_cast<double>(bits),
                  hex(bits, 64).c_str());
  } else {
    int64_t signed_value = width == 64 ? static_cast<int64_t>(bits)
                                       : static_cast<int64_t>(bits << (64 - width)) >> (64 - width);
    std::snprintf(buf, sizeof buf, "%lld (%s)", static_cast<long long>(signed_value),
                  hex(bits, width).c_str());
  }
  return buf;
}

/// Formats a value; a v128 is shown in lanes of `width` bits (float lanes when `is_float`).
std::string format_value(const Value& v,
                         uint32_t width = 32,
                         bool is_float = false,
                         const std::vector<NanPattern>& nans = {}) {
  auto nan_at = [&](uint32_t i) { return nans.empty() ? NanPattern::none : nans[i]; };
  switch (v.type) {
    case ValType::i32:
      return "i32:" + format_lane(v.i32, 32, false, NanPattern::none);
    case ValType::i64:
      return "i64:" + format_lane(v.i64, 64, false, NanPattern::none);
    case ValType::f32:
      return "f32:" + format_lane(v.f32_bits, 32, true, nan_at(0));
    case ValType::f64:
      return "f64:" + format_lane(v.f64_bits, 64, true, nan_at(0));
    case ValType::funcref:
      return v.ref == 0 ? "funcref:null" : "funcref:" + hex(v.ref, 64);
    case ValType::externref:
      return v.ref == 0 ? "externref:null" : "externref:" + std::to_string(v.ref - 1);
    case ValType::v128: {
      const char* kind = is_float ? (width == 32 ? "f32x4" : "f64x2")
                                  : (width == 8    ? "i8x16"
                                     : width == 16 ? "i16x8"
                                     : width == 32 ? "i32x4"
                                                   : "i64x2");
      std::string out = std::string("v128:") + kind + "[";
      for (uint32_t i = 0; i < 128 / width; ++i) {
        if (i)
          out += ", ";
        uint64_t bits = get_lane(v.v128, width, i);
        out += is_float ? format_lane(bits, width, true, nan_at(i)) : hex(bits, width);
      }
      return out + "]";
    }
  }
  return "?";
}

std::string format_expected(const JsonValue& e) {
  if (e.any_non_null)
    return std::string(runtime::val_type_name(e.value.type)) + ":<non-null>";
  return format_value(e.value, e.lane_width, e.float_lanes, e.nans);
}

/// Formats results, v128s in the lane shape of the matching expectation when there is one.
std::string format_results(const std::vector<Value>& values, const std::vector<JsonValue>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i)
      out += ", ";
    bool shaped = i < shape.size() && shape[i].value.type == ValType::v128;
    out += shaped ? format_value(values[i], shape[i].lane_width, shape[i].float_lanes)
                  : format_value(values[i]);
  }
  return out + "]";
}

std::string format_expected_list(const std::vector<JsonValue>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i)
    out += (i ? ", " : "") + format_expected(values[i]);
  return out + "]";
}

std::string format_error(const Error& e) {
  return std::string(runtime::error_kind_name(e.kind)) + " at offset " + std::to_string(e.offset) +
         ": " + e.message;
}

/// The trap kind whose text starts `message`, if any.
std::optional<TrapKind> trap_kind_of(std::string_view message) {
  std::optional<TrapKind> best;
  size_t best_length = 0;
#define TG_TRAP(name, text)                                                       \
  if (message.starts_with(text) && std::string_view(text).size() > best_length) { \
    best = TrapKind::name;                                                        \
    best_length = std::string_view(text).size();                                  \
  }
#include "runtime/traps.def"
#undef TG_TRAP
  return best;
}

/// Expected trap texts match our messages by prefix. The reference interpreter also adds detail
/// after the kind's text ("uninitialized element 2" names the element), which our runtime does not
/// report, so an expectation that starts with our kind's full text matches too.
bool trap_text_matches(std::string_view message, std::string_view expected) {
  if (message.starts_with(expected))
    return true;
  std::optional<TrapKind> kind = trap_kind_of(message);
  return kind && expected.starts_with(runtime::trap_message(*kind));
}

// ---------------------------------------------------------------------------------------------

/// Sets an interrupt flag when one call or instantiation runs longer than its budget, so that a
/// runaway loop fails one command instead of the whole file (the meson timeout is the backstop).
class Watchdog {
 public:
  explicit Watchdog(std::chrono::seconds budget) : budget_(budget) {
    if (budget.count() > 0)
      thread_ = std::thread([this] { loop(); });
  }
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable())
      thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  const std::atomic<bool>* flag() const { return thread_.joinable() ? &fired_ : nullptr; }
  void arm() {
    std::lock_guard lock(mutex_);
    fired_.store(false, std::memory_order_relaxed);
    deadline_ = std::chrono::steady_clock::now() + budget_;
    armed_ = true;
    wake_.notify_all();
  }
  void disarm() {
    std::lock_guard lock(mutex_);
    armed_ = false;
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
      if (!armed_) {
        wake_.wait(lock);
      } else if (std::chrono::steady_clock::now() >= deadline_) {
        fired_.store(true, std::memory_order_relaxed);
        armed_ = false;
      } else {
        wake_.wait_until(lock, deadline_);
      }
    }
  }

  std::chrono::seconds budget_;
  std::atomic<bool> fired_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::chrono::steady_clock::time_point deadline_;
  bool armed_ = false;
  bool stop_ = false;
  std::thread thread_;
};

/// What a `module` command left behind, for later commands that refer to it.
struct ModuleSlot {
  enum class State : uint8_t { loaded, failed, skipped };
  State state = State::failed;
  Instance* instance = nullptr;
  std::string why;
};

/// A module file after decoding and, optionally, instantiation.
struct Loaded {
  std::shared_ptr<const Module> module;
  Instance* instance = nullptr;
  std::optional<Error> error;  ///< from decode_module or instantiation
  std::string io_error;        ///< the file could not be read
};

/// How an action ended.
struct ActionOutcome {
  enum class State : uint8_t { returned, trapped, failed, skipped };
  State state = State::failed;
  std::vector<Value> values;
  Trap trap;
  std::string why;  ///< for failed and skipped
};

class ScriptRunner {
 public:
  ScriptRunner(const Options& options, std::filesystem::path dir, std::string source)
      : options_(options),
        dir_(std::move(dir)),
        source_(std::move(source)),
        // The spec lets memories grow to 4 GiB (memory_grow tests it); memory is only reserved.
        store_(runtime::StoreLimits{.max_memory_pages = runtime::kMaxMemoryPages,
                                    .max_table_elems = runtime::kMaxTableSize}),
        watchdog_(std::chrono::seconds(options.command_timeout_s)) {
    call_options_.max_call_depth = options.max_call_depth;
    call_options_.interrupt = watchdog_.flag();
    define_spectest();
  }

  void run(const json::array& commands) {
    for (const json::value& command : commands) {
      const json::object* o = command.if_object();
      if (!o) {
        fail(0, "command is not an object");
        continue;
      }
      run_command(*o);
    }
  }

  uint32_t passed() const { return passed_; }
  /// One line on what the JIT ran: modules compiled and refused (with the first reasons), calls.
  std::string jit_summary() const {
    std::string s = "jit: " + std::to_string(jit_code_.size()) + " modules compiled, " +
                    std::to_string(jit_refused_) + " refused (run interpreted); " +
                    std::to_string(jit_calls_) + " calls on the jit, " +
                    std::to_string(interp_calls_) + " interpreted";
    for (const auto& [why, n] : jit_refusals_)
      s += "\n  refused x" + std::to_string(n) + ": " + why;
    return s;
  }
  uint32_t failed() const { return failed_; }
  uint32_t skipped() const { return skipped_; }

 private:
  // -- reporting --------------------------------------------------------------------------------
  void pass(int64_t line, std::string_view what) {
    ++passed_;
    if (options_.verbose)
      std::printf("%s:%lld: ok: %.*s\n", source_.c_str(), static_cast<long long>(line),
                  static_cast<int>(what.size()), what.data());
  }
  void fail(int64_t line, const std::string& message) {
    ++failed_;
    std::printf("%s:%lld: FAIL %s\n", source_.c_str(), static_cast<long long>(line),
                message.c_str());
  }
  void skip(int64_t line, const std::string& why) {
    ++skipped_;
    if (options_.verbose)
      std::printf("%s:%lld: skipped: %s\n", source_.c_str(), static_cast<long long>(line),
                  why.c_str());
  }
  void note(int64_t line, const std::string& message) {
    if (options_.verbose)
      std::printf("%s:%lld: note: %s\n", source_.c_str(), static_cast<long long>(line),
                  message.c_str());
  }

  // -- the spectest module
  // (https://github.com/WebAssembly/spec/blob/wg-2.0/interpreter/host/spectest.ml)
  void define_spectest() {
    auto print = [&](const char* name, std::vector<ValType> params) {
      Function* f = store_.create_host_function(
          FuncType{std::move(params), {}},
          [](runtime::HostContext&, std::span<const Value>,
             std::span<Value>) -> std::optional<Trap> { return std::nullopt; });
      linker_.define("spectest", name, Extern::of(f));
    };
    print("print", {});
    print("print_i32", {ValType::i32});
    print("print_i64", {ValType::i64});
    print("print_f32", {ValType::f32});
    print("print_f64", {ValType::f64});
    print("print_i32_f32", {ValType::i32, ValType::f32});
    print("print_f64_f64", {ValType::f64, ValType::f64});
    auto global = [&](const char* name, Value v) {
      linker_.define("spectest", name,
                     Extern::of(store_.create_global(runtime::GlobalType{v.type, false}, v)));
    };
    global("global_i32", Value::make_i32(666));
    global("global_i64", Value::make_i64(666));
    global("global_f32", Value::make_f32(666.6f));
    global("global_f64", Value::make_f64(666.6));
    runtime::Result<runtime::Table*> table =
        store_.create_table(runtime::TableType{ValType::funcref, runtime::Limits{10, 20}}, 0);
    if (table.ok()) {
      linker_.define("spectest", "table", Extern::of(table.value()));
    } else {
      std::printf("%s: note: spectest table: %s\n", source_.c_str(),
                  format_error(table.error()).c_str());
    }
    runtime::Result<runtime::Memory*> memory =
        store_.create_memory(runtime::MemoryType{runtime::Limits{1, 2}});
    if (memory.ok()) {
      linker_.define("spectest", "memory", Extern::of(memory.value()));
    } else {
      std::printf("%s: note: spectest memory: %s\n", source_.c_str(),
                  format_error(memory.error()).c_str());
    }
  }

  // -- helpers ----------------------------------------------------------------------------------
  static std::string_view string_field(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    const json::string* s = v ? v->if_string() : nullptr;
    return s ? std::string_view(*s) : std::string_view();
  }
  static int64_t line_of(const json::object& o) {
    const json::value* v = o.if_contains("line");
    return v && v->is_int64() ? v->get_int64() : 0;
  }

  Loaded load(std::string_view filename, bool instantiate) {
    Loaded out;
    std::ifstream in(dir_ / std::string(filename), std::ios::binary);
    if (filename.empty() || !in) {
      out.io_error = "cannot read module file '" + std::string(filename) + "'";
      return out;
    }
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    runtime::Result<std::shared_ptr<const Module>> decoded = runtime::decode_module(bytes);
    if (!decoded.ok()) {
      out.error = decoded.take_error();
      return out;
    }
    out.module = decoded.value();
    if (options_.tier == Tier::jit)
      compile_for_jit(out.module);
    if (!instantiate)
      return out;
    watchdog_.arm();
    runtime::Result<Instance*> instance = linker_.instantiate(store_, out.module, call_options_);
    watchdog_.disarm();
    if (instance.ok()) {
      out.instance = instance.value();
    } else {
      out.error = instance.take_error();
    }
    return out;
  }

  /// With --simd skip: a failure that only says this build cannot run the module yet.
  bool unsupported(const Loaded& loaded) const {
    if (!options_.simd_skip || !loaded.error)
      return false;
    const Error& e = *loaded.error;
    if (e.kind == ErrorKind::unsupported)
      return true;
    if (e.kind == ErrorKind::uninstantiable && trap_kind_of(e.message) == TrapKind::unsupported) {
      return true;
    }
    if (e.kind == ErrorKind::unlinkable && loaded.module) {
      for (const runtime::Import& import : loaded.module->imports) {
        if (skipped_registrations_.contains(import.module))
          return true;
      }
    }
    return false;
  }

  /// The module an action or register names: `$name`, or the most recent one.
  const ModuleSlot* find_module(std::string_view name, std::string& why) const {
    if (name.empty()) {
      if (!current_)
        why = "no module defined yet";
      return current_ ? &*current_ : nullptr;
    }
    auto it = named_.find(std::string(name));
    if (it == named_.end()) {
      why = "unknown module " + std::string(name);
      return nullptr;
    }
    return &it->second;
  }

  std::string describe_action(const json::object& action) const {
    std::string out(string_field(action, "type"));
    std::string_view module = string_field(action, "module");
    if (!module.empty())
      out += " " + std::string(module);
    out += " \"" + std::string(string_field(action, "field")) + "\"";
    const json::value* args = action.if_contains("args");
    if (args && args->is_array()) {
      out += " (";
      bool first = true;
      for (const json::value& arg : args->get_array()) {
        std::string why;
        std::optional<JsonValue> v = parse_value(arg, false, why);
        out += (first ? "" : ", ") + (v ? format_expected(*v) : std::string("?"));
        first = false;
      }
      out += ")";
    }
    return out;
  }

  ActionOutcome perform(const json::object& action) {
    ActionOutcome out;
    const ModuleSlot* slot = find_module(string_field(action, "module"), out.why);
    if (!slot)
      return out;
    if (slot->state != ModuleSlot::State::loaded) {
      out.state = slot->state == ModuleSlot::State::skipped ? ActionOutcome::State::skipped
                                                            : ActionOutcome::State::failed;
      out.why = "its module did not load: " + slot->why;
      return out;
    }
    std::string_view type = string_field(action, "type");
    std::string_view field = string_field(action, "field");
    if (type == "get") {
      std::optional<Extern> e = slot->instance->find_export(field);
      if (!e || e->kind != ExternKind::global) {
        out.why = "no exported global \"" + std::string(field) + "\"";
        return out;
      }
      out.values.push_back(e->global->get());
      out.state = ActionOutcome::State::returned;
      return out;
    }
    if (type != "invoke") {
      out.why = "unknown action type '" + std::string(type) + "'";
      return out;
    }
    Function* func = slot->instance->exported_function(field);
    if (!func) {
      out.why = "no exported function \"" + std::string(field) + "\"";
      return out;
    }
    std::vector<Value> args;
    const json::value* json_args = action.if_contains("args");
    if (json_args && json_args->is_array()) {
      for (const json::value& arg : json_args->get_array()) {
        std::optional<JsonValue> v = parse_value(arg, false, out.why);
        if (!v)
          return out;
        args.push_back(v->value);
      }
    }
    if (args.size() != func->type.params.size()) {
      out.why = "argument count " + std::to_string(args.size()) + " does not match type " +
                runtime::to_string(func->type);
      return out;
    }
    watchdog_.arm();
    CallResult result = call(*func, args);
    watchdog_.disarm();
    if (!result.trap) {
      out.state = ActionOutcome::State::returned;
      out.values = std::move(result.values);
      return out;
    }
    out.trap = *result.trap;
    if (options_.simd_skip && out.trap.kind == TrapKind::unsupported) {
      out.state = ActionOutcome::State::skipped;
      out.why = out.trap.message();
    } else if (out.trap.kind == TrapKind::interrupted) {
      out.why = "timed out after " + std::to_string(options_.command_timeout_s) + " s";
    } else {
      out.state = ActionOutcome::State::trapped;
    }
    return out;
  }

  // -- commands -------------------------------------------------------------------------------
  void run_command(const json::object& c) {
    std::string_view type = string_field(c, "type");
    int64_t line = line_of(c);
    if (type == "module") {
      cmd_module(c, line);
    } else if (type == "register") {
      cmd_register(c, line);
    } else if (type == "action") {
      cmd_action(c, line);
    } else if (type == "assert_return") {
      cmd_assert_return(c, line);
    } else if (type == "assert_trap" && c.contains("filename")) {
      cmd_assert_load_failure(c, line, ErrorKind::uninstantiable);
    } else if (type == "assert_trap" || type == "assert_exhaustion") {
      cmd_assert_trap(c, line, type);
    } else if (type == "assert_invalid") {
      cmd_assert_load_failure(c, line, ErrorKind::invalid);
    } else if (type == "assert_malformed") {
      cmd_assert_load_failure(c, line, ErrorKind::malformed);
    } else if (type == "assert_unlinkable") {
      cmd_assert_load_failure(c, line, ErrorKind::unlinkable);
    } else if (type == "assert_uninstantiable") {
      cmd_assert_load_failure(c, line, ErrorKind::uninstantiable);
    } else {
      fail(line, "unknown command '" + std::string(type) + "'");
    }
  }

  void cmd_module(const json::object& c, int64_t line) {
    std::string_view filename = string_field(c, "filename");
    Loaded loaded = load(filename, true);
    ModuleSlot slot;
    if (loaded.instance) {
      slot.state = ModuleSlot::State::loaded;
      slot.instance = loaded.instance;
      pass(line, "module");
    } else {
      slot.why = loaded.error ? format_error(*loaded.error) : loaded.io_error;
      if (unsupported(loaded)) {
        slot.state = ModuleSlot::State::skipped;
        skip(line, "module " + std::string(filename) + ": " + slot.why);
      } else {
        fail(line, "module " + std::string(filename) + ": " + slot.why);
      }
    }
    std::string_view name = string_field(c, "name");
    if (!name.empty())
      named_[std::string(name)] = slot;
    current_ = std::move(slot);
  }

  void cmd_register(const json::object& c, int64_t line) {
    std::string why;
    std::string as(string_field(c, "as"));
    const ModuleSlot* slot = find_module(string_field(c, "name"), why);
    if (!slot) {
      fail(line, "register \"" + as + "\": " + why);
      return;
    }
    if (slot->state == ModuleSlot::State::loaded) {
      linker_.define_instance(as, *slot->instance);
    } else {
      // Modules importing from it then fail to link, and count as failed (or skipped) there.
      if (slot->state == ModuleSlot::State::skipped)
        skipped_registrations_.insert(as);
      note(line, "register \"" + as + "\" of a module that did not load");
    }
  }

  void cmd_action(const json::object& c, int64_t line) {
    const json::object* action = c.contains("action") ? c.at("action").if_object() : nullptr;
    if (!action)
      return fail(line, "action without an action");
    ActionOutcome outcome = perform(*action);
    std::string what = describe_action(*action);
    switch (outcome.state) {
      case ActionOutcome::State::returned:
        return pass(line, what);
      case ActionOutcome::State::trapped:
        return fail(line, what + ": trapped: " + outcome.trap.message());
      case ActionOutcome::State::failed:
        return fail(line, what + ": " + outcome.why);
      case ActionOutcome::State::skipped:
        return skip(line, what + ": " + outcome.why);
    }
  }

  void cmd_assert_return(const json::object& c, int64_t line) {
    const json::object* action = c.contains("action") ? c.at("action").if_object() : nullptr;
    if (!action)
      return fail(line, "assert_return without an action");
    std::string what = "assert_return " + describe_action(*action);
    std::vector<JsonValue> expected;
    const json::value* json_expected = c.if_contains("expected");
    if (json_expected && json_expected->is_array()) {
      for (const json::value& e : json_expected->get_array()) {
        std::string why;
        std::optional<JsonValue> v = parse_value(e, true, why);
        if (!v)
          return fail(line, what + ": " + why);
        expected.push_back(std::move(*v));
      }
    }
    ActionOutcome outcome = perform(*action);
    switch (outcome.state) {
      case ActionOutcome::State::returned:
        break;
      case ActionOutcome::State::trapped:
        return fail(line, what + ": expected " + format_expected_list(expected) +
                              ", trapped: " + outcome.trap.message());
      case ActionOutcome::State::failed:
        return fail(line, what + ": " + outcome.why);
      case ActionOutcome::State::skipped:
        return skip(line, what + ": " + outcome.why);
    }
    bool ok = outcome.values.size() == expected.size();
    for (size_t i = 0; ok && i < expected.size(); ++i)
      ok = matches(expected[i], outcome.values[i]);
    if (ok)
      return pass(line, what);
    fail(line, what + ": expected " + format_expected_list(expected) + ", got " +
                   format_results(outcome.values, expected));
  }

  void cmd_assert_trap(const json::object& c, int64_t line, std::string_view type) {
    const json::object* action = c.contains("action") ? c.at("action").if_object() : nullptr;
    if (!action)
      return fail(line, std::string(type) + " without an action");
    std::string what = std::string(type) + " " + describe_action(*action);
    std::string_view text = string_field(c, "text");
    ActionOutcome outcome = perform(*action);
    switch (outcome.state) {
      case ActionOutcome::State::returned:
        return fail(line, what + ": expected trap \"" + std::string(text) + "\", returned " +
                              format_results(outcome.values, {}));
      case ActionOutcome::State::trapped:
        break;
      case ActionOutcome::State::failed:
        return fail(line, what + ": " + outcome.why);
      case ActionOutcome::State::skipped:
        return skip(line, what + ": " + outcome.why);
    }
    std::string message = outcome.trap.message();
    if (trap_text_matches(message, text))
      return pass(line, what);
    fail(line,
         what + ": expected trap \"" + std::string(text) + "\", got trap \"" + message + "\"");
  }

  /// assert_invalid, assert_malformed, assert_unlinkable, assert_uninstantiable: the module must
  /// fail in the phase `kind` names. Only uninstantiable's text is checked (it is a trap's); the
  /// others' texts are the reference interpreter's wording, shown with --verbose only.
  void cmd_assert_load_failure(const json::object& c, int64_t line, ErrorKind kind) {
    std::string_view filename = string_field(c, "filename");
    std::string_view text = string_field(c, "text");
    std::string what = std::string(string_field(c, "type")) + " " + std::string(filename);
    if (string_field(c, "module_type") == "text") {
      return skip(line, what + ": text module (binary-only runtime)");
    }
    bool link = kind == ErrorKind::unlinkable || kind == ErrorKind::uninstantiable;
    Loaded loaded = load(filename, link);
    if (!loaded.io_error.empty())
      return fail(line, what + ": " + loaded.io_error);
    std::string expected =
        std::string(runtime::error_kind_name(kind)) + " \"" + std::string(text) + "\"";
    if (!loaded.error) {
      return fail(line, what + ": expected " + expected + ", but it " +
                            (link ? "instantiated" : "decoded and validated"));
    }
    const Error& e = *loaded.error;
    if (e.kind != kind) {
      if (unsupported(loaded))
        return skip(line, what + ": " + format_error(e));
      return fail(line, what + ": expected " + expected + ", got " + format_error(e));
    }
    if (kind == ErrorKind::uninstantiable && !trap_text_matches(e.message, text)) {
      return fail(line, what + ": expected " + expected + ", got " + format_error(e));
    }
    if (!e.message.starts_with(text))
      note(line, what + ": message differs: " + format_error(e));
    pass(line, what);
  }

  const Options& options_;
  std::filesystem::path dir_;
  std::string source_;
  void compile_for_jit(const std::shared_ptr<const Module>& module) {
    runtime::Result<std::shared_ptr<const jit::CompiledModule>> code = jit::compile_module(*module, jit::CompileOptions{options_.jit_bounds});
    if (code.ok()) {
      jit_code_.emplace(module.get(), JitEntry{module, code.value()});
      return;
    }
    ++jit_refused_;
    ++jit_refusals_[code.error().message];
  }
  CallResult call(runtime::Function& func, std::span<const Value> args) {
    if (options_.tier == Tier::jit && !func.is_host() && func.instance != nullptr) {
      auto it = jit_code_.find(func.instance->module.get());
      if (it != jit_code_.end() && jit::runs_on_jit(*it->second.code, func)) {
        ++jit_calls_;
        return jit::invoke(*it->second.code, store_, func, args, call_options_);
      }
    }
    ++interp_calls_;
    return runtime::call(store_, func, args, call_options_);
  }

  struct JitEntry {
    std::shared_ptr<const Module> module;  ///< keeps the key alive
    std::shared_ptr<const jit::CompiledModule> code;
  };
  std::map<const Module*, JitEntry> jit_code_;
  std::map<std::string, uint32_t> jit_refusals_;
  uint32_t jit_refused_ = 0;
  uint32_t jit_calls_ = 0;
  uint32_t interp_calls_ = 0;
  runtime::Store store_;
  runtime::Linker linker_;
  Watchdog watchdog_;
  CallOptions call_options_;
  std::optional<ModuleSlot> current_;
  std::map<std::string, ModuleSlot> named_;
  /// Names registered for modules skipped as unsupported: importers are skipped too.
  std::set<std::string> skipped_registrations_;
  uint32_t passed_ = 0;
  uint32_t failed_ = 0;
  uint32_t skipped_ = 0;
};

int usage(const char* message) {
  std::fprintf(stderr,
               "spec_runner: %s\nusage: spec_runner [--tier interp|jit] [--jit-bounds explicit|guard] "
               "[--simd run|skip] "
               "[--max-call-depth N] [--command-timeout SECONDS] [--verbose] FILE.json\n",
               message);
  return 2;
}

std::optional<uint32_t> parse_count(std::string_view s) {
  std::optional<uint64_t> v = parse_bits(s, 32);
  return v ? std::optional<uint32_t>(static_cast<uint32_t>(*v)) : std::nullopt;
}

int run_main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    bool has_value = i + 1 < argc;
    if (arg == "--tier" && has_value) {
      std::string_view tier = argv[++i];
      if (tier == "jit" && jit::available())
        options.tier = Tier::jit;
      else if (tier == "interp")
        options.tier = Tier::interp;
      else
        return usage(jit::available() ? "unknown tier (available: interp, jit)"
                                      : "unknown or unavailable tier (available: interp)");
    } else if (arg == "--jit-bounds" && has_value) {
      std::string_view mode = argv[++i];
      if (mode != "explicit" && mode != "guard")
        return usage("--jit-bounds takes explicit or guard");
      options.jit_bounds =
          mode == "guard" ? jit::BoundsMode::guard_region : jit::BoundsMode::explicit_checks;
    } else if (arg == "--simd" && has_value) {
      std::string_view mode = argv[++i];
      if (mode != "run" && mode != "skip")
        return usage("--simd takes run or skip");
      options.simd_skip = mode == "skip";
    } else if (arg == "--max-call-depth" && has_value) {
      std::optional<uint32_t> n = parse_count(argv[++i]);
      if (!n || *n == 0)
        return usage("bad --max-call-depth");
      options.max_call_depth = *n;
    } else if (arg == "--command-timeout" && has_value) {
      std::optional<uint32_t> n = parse_count(argv[++i]);
      if (!n)
        return usage("bad --command-timeout");
      options.command_timeout_s = *n;
    } else if (arg == "--verbose" || arg == "-v") {
      options.verbose = true;
    } else if (!arg.starts_with("-") && options.json_path.empty()) {
      options.json_path = arg;
    } else {
      return usage(("unexpected argument " + std::string(arg)).c_str());
    }
  }
  if (options.json_path.empty())
    return usage("no JSON file given");

  std::ifstream in(options.json_path, std::ios::binary);
  if (!in)
    return usage(("cannot read " + options.json_path).c_str());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  boost::system::error_code ec;
  json::value script = json::parse(text, ec);
  const json::object* root = ec ? nullptr : script.if_object();
  const json::value* commands = root ? root->if_contains("commands") : nullptr;
  if (!commands || !commands->is_array()) {
    return usage(("not a wast2json script: " + options.json_path).c_str());
  }
  std::filesystem::path json_path(options.json_path);
  const json::value* source = root->if_contains("source_filename");
  std::string wast = source && source->is_string()
                         ? std::string(source->get_string())
                         : json_path.filename().replace_extension(".wast").string();
  // Print the source path short: editors and readers want "core/simd/x.wast:12", not "/a/../b".
  std::string shown = std::filesystem::path(wast).lexically_normal().string();

  ScriptRunner runner(options, json_path.parent_path(), shown);
  runner.run(commands->get_array());
  if (options.tier == Tier::jit)
    std::printf("%s\n", runner.jit_summary().c_str());
  std::printf("%s\n%u passed, %u failed, %u skipped\n",
              std::filesystem::path(wast).filename().string().c_str(), runner.passed(),
              runner.failed(), runner.skipped());
  return runner.failed() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace tollgate::spec_tests

int main(int argc, char** argv) {
  return tollgate::spec_tests::run_main(argc, argv);
}
