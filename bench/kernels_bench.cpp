// bench_kernels: times the C kernels natively, interpreted, JIT-compiled and in node's V8; checks
// they agree. SPDX-License-Identifier: Apache-2.0
//
// Every measurement of a kernel is taken in one round, interleaved (native, interp, interp+fuel,
// jit, jit+fuel, V8, Liftoff, native, ...), and the minimum of each is kept: the machines are
// shared and noisy, so only ratios measured side by side mean anything. By default times are CPU
// time (this thread's; for node the whole process's), which leaves out the time the machine gave
// to other processes; --clock wall measures wall time. V8 runs in a child node process that
// times the kernel itself (bench/node_check.js --time), after one untimed run.
//
// "jit" is the module compiled with every fuel charge costing 0, which is the code a compile
// without metering emits (a `fuel` of 0 emits nothing; `fuel_poll` only polls the interruption
// flag), run unmetered; "jit+fuel" is the module as decoded, run metered. Their ratio is the cost
// of fuel metering.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "jit/jit.hpp"
#include "runtime/module.hpp"
#include "runtime/store.hpp"

// The native builds of bench/kernels/*.c, each `kernel_run` renamed by the build.
extern "C" {
uint64_t fib_run(uint32_t n);
uint64_t sieve_run(uint32_t n);
uint64_t matmul_run(uint32_t n);
uint64_t sha256_run(uint32_t n);
uint64_t nbody_run(uint32_t n);
uint64_t json_run(uint32_t n);
uint64_t copy_run(uint32_t n);
}

namespace tollgate::bench {
namespace {

using runtime::Value;

struct Kernel {
  const char* name;
  uint64_t (*native)(uint32_t n);
  uint32_t n;        ///< native takes 50-80 ms on a 2023 x86-64 core
  uint32_t quick_n;  ///< a few milliseconds interpreted: the smoke test
};

constexpr Kernel kKernels[] = {
    {"fib", fib_run, 37, 20},
    {"sieve", sieve_run, 25'000'000, 100'000},
    {"matmul", matmul_run, 512, 24},
    {"sha256", sha256_run, 4000, 10},
    {"nbody", nbody_run, 1'000'000, 1000},
    {"json", json_run, 250, 1},
    {"copy", copy_run, 1200, 2},
};

/// Fuel for metered runs: far more than any kernel burns, so metering costs time but never traps.
constexpr uint64_t kHugeFuel = uint64_t{1} << 62;

struct Options {
  bool quick = false;
  std::vector<std::string> kernels;
  uint32_t repeat = 3;
  std::string wasm_dir = TG_BENCH_WASM_DIR;
  jit::BoundsMode bounds = jit::BoundsMode::guard_region;
  bool node = true;
  std::string node_exe = TG_BENCH_NODE;
  std::string node_script = TG_BENCH_NODE_SCRIPT;
  /// Modules whose JIT compile throughput is measured (the largest kernel when empty).
  std::vector<std::string> compile_modules;
  uint32_t compile_threads = 0;
  bool compile_only = false;
};

std::optional<std::vector<uint8_t>> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "bench_kernels: cannot read %s\n", path.c_str());
    return std::nullopt;
  }
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
}

std::shared_ptr<const runtime::Module> decode(const std::string& path,
                                              std::span<const uint8_t> bytes) {
  auto module = runtime::decode_module(bytes);
  if (!module) {
    const runtime::Error& e = module.error();
    std::fprintf(stderr, "bench_kernels: %s: %s at offset %u: %s\n", path.c_str(),
                 runtime::error_kind_name(e.kind), e.offset, e.message.c_str());
    return nullptr;
  }
  return module.value();
}

/// The same module with every fuel charge set to 0: what compiling without metering emits.
std::shared_ptr<const runtime::Module> without_fuel(const runtime::Module& module) {
  auto copy = std::make_shared<runtime::Module>(module);
  for (runtime::ir::FuncCode& code : copy->codes)
    for (runtime::ir::Instr& in : code.code)
      if (in.op == runtime::ir::Op::fuel || in.op == runtime::ir::Op::fuel_poll)
        in.a = 0;
  return copy;
}

/// One instance of a kernel's module and its compiled code; each run resets the kernel's state.
struct Loaded {
  std::unique_ptr<runtime::Store> store;
  runtime::Function* run = nullptr;
  std::shared_ptr<const jit::CompiledModule> code;
};

std::optional<Loaded> instantiate(const std::string& path,
                                  std::shared_ptr<const runtime::Module> module,
                                  jit::BoundsMode bounds) {
  Loaded loaded{std::make_unique<runtime::Store>(), nullptr, nullptr};
  auto code = jit::compile_module(*module, jit::CompileOptions{bounds});
  if (!code) {
    std::fprintf(stderr, "bench_kernels: %s: the JIT refused it: %s\n", path.c_str(),
                 code.error().message.c_str());
    return std::nullopt;
  }
  loaded.code = code.value();
  auto instance = runtime::instantiate(*loaded.store, std::move(module), {});
  if (!instance) {
    const runtime::Error& e = instance.error();
    std::fprintf(stderr, "bench_kernels: %s: %s: %s\n", path.c_str(),
                 runtime::error_kind_name(e.kind), e.message.c_str());
    return std::nullopt;
  }
  loaded.run = instance.value()->exported_function("run");
  const runtime::FuncType want{{runtime::ValType::i32}, {runtime::ValType::i64}};
  if (loaded.run == nullptr || loaded.run->type != want) {
    std::fprintf(stderr, "bench_kernels: %s: no export `run` of type (i32) -> (i64)\n",
                 path.c_str());
    return std::nullopt;
  }
  if (!jit::runs_on_jit(*loaded.code, *loaded.run)) {
    std::fprintf(stderr, "bench_kernels: %s: jit::invoke would not run it on compiled code\n",
                 path.c_str());
    return std::nullopt;
  }
  return loaded;
}

struct Sample {
  double ms = 0;
  uint64_t checksum = 0;
  uint64_t fuel_used = 0;
};

double elapsed_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

/// CPU time of this thread: on a shared machine it leaves out the time other processes had the
/// core, which wall time counts.
double thread_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

/// Times the kernel runs with the clock `--clock` chose (all of them run on this thread).
bool g_cpu_clock = true;
struct KernelTimer {
  std::chrono::steady_clock::time_point wall = std::chrono::steady_clock::now();
  double cpu = thread_cpu_ms();
  double ms() const { return g_cpu_clock ? thread_cpu_ms() - cpu : elapsed_ms(wall); }
};

Sample run_native(const Kernel& kernel, uint32_t n) {
  const KernelTimer timer;
  // The kernels live in other translation units and are called through a pointer, so the
  // compiler cannot hoist or drop the call.
  uint64_t checksum = kernel.native(n);
  return {timer.ms(), checksum, 0};
}

enum class Tier : uint8_t { interp, jit };

std::optional<Sample> run_wasm(Loaded& loaded, uint32_t n, Tier tier, bool metered) {
  const Value args[] = {Value::make_i32(n)};
  runtime::CallOptions options;
  if (metered)
    options.fuel = kHugeFuel;
  const KernelTimer timer;
  runtime::CallResult result =
      tier == Tier::jit ? jit::invoke(*loaded.code, *loaded.store, *loaded.run, args, options)
                        : runtime::call(*loaded.store, *loaded.run, args, options);
  double ms = timer.ms();
  if (!result.ok()) {
    std::fprintf(stderr, "bench_kernels: trap: %s\n", result.trap->message().c_str());
    return std::nullopt;
  }
  if (result.values.size() != 1 || result.values[0].type != runtime::ValType::i64) {
    std::fprintf(stderr, "bench_kernels: `run` returned %zu values, not one i64\n",
                 result.values.size());
    return std::nullopt;
  }
  return Sample{ms, result.values[0].i64, metered ? kHugeFuel - result.fuel_left : 0};
}

/// Runs the kernel in a child node (V8 with `flags`); nullopt if node is unavailable or fails.
std::optional<Sample> run_node(const Options& options,
                               const char* flags,
                               const Kernel& kernel,
                               uint32_t n) {
  const std::string command = options.node_exe + " " + flags + " " + options.node_script + " " +
                              options.wasm_dir + " --time " + kernel.name + " " +
                              std::to_string(n) + " 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr)
    return std::nullopt;
  double wall_ms = 0, cpu_ms = 0;
  unsigned long long checksum = 0;
  const int got = std::fscanf(pipe, "%lf %llu %lf", &wall_ms, &checksum, &cpu_ms);
  if (pclose(pipe) != 0 || got != 3)
    return std::nullopt;
  return Sample{g_cpu_clock ? cpu_ms : wall_ms, checksum, 0};
}

constexpr const char* kV8Flags = "";
// Node 20 tiers up even under --no-wasm-tier-up unless dynamic tiering is off too: with only the
// first two flags matmul ran 3x faster than with --liftoff-only, i.e. on TurboFan code.
constexpr const char* kLiftoffFlags = "--liftoff --no-wasm-tier-up --no-wasm-dynamic-tiering";

struct Row {
  const char* name;
  uint32_t n;
  double native_ms, interp_ms, fuel_ms, jit_ms, jit_fuel_ms, v8_ms, liftoff_ms;
  uint64_t fuel_used;
  uint64_t checksum;
};

bool same_checksum(const Kernel& kernel,
                   uint32_t n,
                   uint64_t expected,
                   const char* who,
                   uint64_t got) {
  if (got == expected)
    return true;
  std::fprintf(stderr, "bench_kernels: %s(%u) CHECKSUM MISMATCH: native %llu, %s %llu\n",
               kernel.name, n, static_cast<unsigned long long>(expected), who,
               static_cast<unsigned long long>(got));
  return false;
}

/// Measures one kernel; nullopt (after saying why on stderr) if anything disagrees or fails.
std::optional<Row> measure(const Kernel& kernel, const Options& options) {
  const uint32_t n = options.quick ? kernel.quick_n : kernel.n;
  const std::string path = options.wasm_dir + "/" + kernel.name + ".wasm";
  auto bytes = read_file(path);
  if (!bytes)
    return std::nullopt;
  auto module = decode(path, *bytes);
  if (!module)
    return std::nullopt;
  auto metered_code = instantiate(path, module, options.bounds);
  auto plain_code = instantiate(path, without_fuel(*module), options.bounds);
  if (!metered_code || !plain_code)
    return std::nullopt;
  constexpr double kNever = std::numeric_limits<double>::infinity();
  Row row{kernel.name, n, kNever, kNever, kNever, kNever, kNever, kNever, kNever, 0, 0};
  std::optional<uint64_t> expected_fuel;
  bool node_ok = options.node;
  for (uint32_t i = 0; i < options.repeat; ++i) {
    const Sample native = run_native(kernel, n);
    const uint64_t expected = native.checksum;
    if (row.checksum != 0 && !same_checksum(kernel, n, row.checksum, "native", expected))
      return std::nullopt;
    row.checksum = expected;
    // Alternate the order of the metered and unmetered runs, so neither always runs on a warmer
    // machine.
    std::optional<Sample> plain, metered, jit_plain, jit_metered;
    if (i % 2 == 0) {
      plain = run_wasm(*metered_code, n, Tier::interp, false);
      metered = run_wasm(*metered_code, n, Tier::interp, true);
      jit_plain = run_wasm(*plain_code, n, Tier::jit, false);
      jit_metered = run_wasm(*metered_code, n, Tier::jit, true);
    } else {
      jit_metered = run_wasm(*metered_code, n, Tier::jit, true);
      jit_plain = run_wasm(*plain_code, n, Tier::jit, false);
      metered = run_wasm(*metered_code, n, Tier::interp, true);
      plain = run_wasm(*metered_code, n, Tier::interp, false);
    }
    if (!plain || !metered || !jit_plain || !jit_metered)
      return std::nullopt;
    if (!same_checksum(kernel, n, expected, "interp", plain->checksum) ||
        !same_checksum(kernel, n, expected, "interp+fuel", metered->checksum) ||
        !same_checksum(kernel, n, expected, "jit", jit_plain->checksum) ||
        !same_checksum(kernel, n, expected, "jit+fuel", jit_metered->checksum))
      return std::nullopt;
    // Fuel is deterministic: the same call burns exactly the same amount every time, on both tiers.
    if (expected_fuel && metered->fuel_used != *expected_fuel) {
      std::fprintf(stderr, "bench_kernels: %s(%u) fuel used varies: %llu then %llu\n", kernel.name,
                   n, static_cast<unsigned long long>(*expected_fuel),
                   static_cast<unsigned long long>(metered->fuel_used));
      return std::nullopt;
    }
    expected_fuel = metered->fuel_used;
    if (jit_metered->fuel_used != metered->fuel_used) {
      std::fprintf(stderr, "bench_kernels: %s(%u) FUEL MISMATCH: interpreter used %llu, jit %llu\n",
                   kernel.name, n, static_cast<unsigned long long>(metered->fuel_used),
                   static_cast<unsigned long long>(jit_metered->fuel_used));
      return std::nullopt;
    }
    row.native_ms = std::min(row.native_ms, native.ms);
    row.interp_ms = std::min(row.interp_ms, plain->ms);
    row.fuel_ms = std::min(row.fuel_ms, metered->ms);
    row.jit_ms = std::min(row.jit_ms, jit_plain->ms);
    row.jit_fuel_ms = std::min(row.jit_fuel_ms, jit_metered->ms);
    if (node_ok) {
      const std::optional<Sample> v8 = run_node(options, kV8Flags, kernel, n);
      const std::optional<Sample> liftoff = run_node(options, kLiftoffFlags, kernel, n);
      if (!v8 || !liftoff) {
        std::fprintf(stderr, "bench_kernels: %s: node failed; no V8 columns\n", kernel.name);
        node_ok = false;
        row.v8_ms = row.liftoff_ms = kNever;
        continue;
      }
      if (!same_checksum(kernel, n, expected, "v8", v8->checksum) ||
          !same_checksum(kernel, n, expected, "liftoff", liftoff->checksum))
        return std::nullopt;
      row.v8_ms = std::min(row.v8_ms, v8->ms);
      row.liftoff_ms = std::min(row.liftoff_ms, liftoff->ms);
    }
  }
  row.fuel_used = expected_fuel.value_or(0);
  return row;
}

void print_header() {
  std::printf("%-7s %9s %8s | %7s %7s | %7s %7s %6s %7s | %7s %7s %8s | %13s  %s\n", "kernel", "n",
              "native", "interp", "+fuel", "jit", "+fuel", "fuel%", "jit/int", "v8", "liftoff",
              "jit/lift", "fuel used", "checksum");
  std::printf("%-7s %9s %8s | %15s | %31s | %24s |\n", "", "", "ms", "x native", "x native",
              "x native");
}

/// "  -  " for a column node could not fill.
std::string ratio(double num, double den) {
  char buf[32];
  if (!std::isfinite(num) || !std::isfinite(den))
    return "-";
  std::snprintf(buf, sizeof buf, "%.2fx", num / den);
  return buf;
}

void print_row(const Row& row) {
  std::printf("%-7s %9u %8.1f | %7s %7s | %7s %7s %5.1f%% %7s | %7s %7s %8s | %13llu  %llu\n",
              row.name, row.n, row.native_ms, ratio(row.interp_ms, row.native_ms).c_str(),
              ratio(row.fuel_ms, row.native_ms).c_str(), ratio(row.jit_ms, row.native_ms).c_str(),
              ratio(row.jit_fuel_ms, row.native_ms).c_str(),
              (row.jit_fuel_ms / row.jit_ms - 1) * 100, ratio(row.interp_ms, row.jit_ms).c_str(),
              ratio(row.v8_ms, row.native_ms).c_str(), ratio(row.liftoff_ms, row.native_ms).c_str(),
              ratio(row.jit_ms, row.liftoff_ms).c_str(),
              static_cast<unsigned long long>(row.fuel_used),
              static_cast<unsigned long long>(row.checksum));
  std::fflush(stdout);
}

void print_geomean(const std::vector<Row>& rows) {
  auto geo = [&](double Row::*num, double Row::*den) {
    double sum = 0;
    for (const Row& row : rows) {
      if (!std::isfinite(row.*num) || !std::isfinite(row.*den))
        return std::numeric_limits<double>::infinity();
      sum += std::log(row.*num / row.*den);
    }
    return std::exp(sum / static_cast<double>(rows.size()));
  };
  auto col = [](double x) {
    char buf[32];
    if (!std::isfinite(x))
      return std::string("-");
    std::snprintf(buf, sizeof buf, "%.2fx", x);
    return std::string(buf);
  };
  std::printf("%-7s %9s %8s | %7s %7s | %7s %7s %5.1f%% %7s | %7s %7s %8s |\n", "geomean", "", "",
              col(geo(&Row::interp_ms, &Row::native_ms)).c_str(),
              col(geo(&Row::fuel_ms, &Row::native_ms)).c_str(),
              col(geo(&Row::jit_ms, &Row::native_ms)).c_str(),
              col(geo(&Row::jit_fuel_ms, &Row::native_ms)).c_str(),
              (geo(&Row::jit_fuel_ms, &Row::jit_ms) - 1) * 100,
              col(geo(&Row::interp_ms, &Row::jit_ms)).c_str(),
              col(geo(&Row::v8_ms, &Row::native_ms)).c_str(),
              col(geo(&Row::liftoff_ms, &Row::native_ms)).c_str(),
              col(geo(&Row::jit_ms, &Row::liftoff_ms)).c_str());
}

/// CPU time of the whole process (every thread's).
double process_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

/// MB/s of wasm through jit::compile_module for one module: on one thread in its CPU time, and
/// with the module driver's threads in wall time and in CPU time summed over threads.
bool measure_compile(const std::string& path, const Options& options) {
  auto bytes = read_file(path);
  if (!bytes)
    return false;
  constexpr double kNever = std::numeric_limits<double>::infinity();
  double decode_ms = kNever, one_cpu_ms = kNever, par_wall_ms = kNever, par_cpu_ms = kNever;
  size_t code_size = 0, functions = 0;
  const uint32_t threads =
      options.compile_threads != 0 ? options.compile_threads : std::thread::hardware_concurrency();
  for (uint32_t i = 0; i < options.repeat; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto module = decode(path, *bytes);
    decode_ms = std::min(decode_ms, elapsed_ms(start));
    if (!module)
      return false;
    // Interleaved, so both see the same machine.
    for (const uint32_t n : {1u, threads}) {
      start = std::chrono::steady_clock::now();
      const double cpu_start = n == 1 ? thread_cpu_ms() : process_cpu_ms();
      auto code = jit::compile_module(*module, jit::CompileOptions{options.bounds, n});
      const double cpu = (n == 1 ? thread_cpu_ms() : process_cpu_ms()) - cpu_start;
      const double wall = elapsed_ms(start);
      if (!code) {
        std::fprintf(stderr, "bench_kernels: %s: the JIT refused it: %s\n", path.c_str(),
                     code.error().message.c_str());
        return false;
      }
      if (n == 1) {
        one_cpu_ms = std::min(one_cpu_ms, cpu);
      } else {
        par_wall_ms = std::min(par_wall_ms, wall);
        par_cpu_ms = std::min(par_cpu_ms, cpu);
      }
      code_size = code.value()->code_size();
    }
    functions = module->codes.size();
  }
  const double mb = static_cast<double>(bytes->size()) / 1e6;
  std::printf(
      "compile %s: %.3f MB wasm, %zu functions -> %.3f MB x86-64; decode+validate+lower %.1f ms "
      "wall\n"
      "  jit::compile_module, 1 thread: %.1f ms CPU = %.1f MB/s\n"
      "  jit::compile_module, %u threads: %.1f ms wall = %.1f MB/s, %.1f ms CPU summed over "
      "threads = %.1f MB/s\n",
      path.c_str(), mb, functions, static_cast<double>(code_size) / 1e6, decode_ms, one_cpu_ms,
      mb / (one_cpu_ms / 1e3), threads, par_wall_ms, mb / (par_wall_ms / 1e3), par_cpu_ms,
      mb / (par_cpu_ms / 1e3));
  return true;
}

int run(const Options& options) {
  std::vector<Row> rows;
  if (!options.compile_only)
    print_header();
  for (const Kernel& kernel : kKernels) {
    if (options.compile_only)
      break;
    if (!options.kernels.empty() && std::find(options.kernels.begin(), options.kernels.end(),
                                              kernel.name) == options.kernels.end())
      continue;
    auto row = measure(kernel, options);
    if (!row)
      return 1;
    print_row(*row);
    rows.push_back(*row);
  }
  if (rows.size() > 1)
    print_geomean(rows);
  if (!options.compile_only)
    std::printf(
        "all checksums agree (native, interpreter and jit with and without fuel%s); jit fuel used "
        "equals the interpreter's; min of %u runs; %s time; jit bounds: %s\n",
        options.node ? ", node" : "", options.repeat, g_cpu_clock ? "CPU" : "wall",
        options.bounds == jit::BoundsMode::guard_region ? "guard region" : "explicit checks");
  std::vector<std::string> compile = options.compile_modules;
  if (compile.empty()) {
    size_t largest = 0;
    for (const Kernel& kernel : kKernels) {
      const std::string path = options.wasm_dir + "/" + kernel.name + ".wasm";
      if (auto bytes = read_file(path); bytes && bytes->size() > largest) {
        largest = bytes->size();
        compile = {path};
      }
    }
  }
  for (const std::string& path : compile)
    if (!measure_compile(path, options))
      return 1;
  return 0;
}

}  // namespace
}  // namespace tollgate::bench

int main(int argc, char** argv) {
  tollgate::bench::Options options;
  CLI::App app{
      "Times the benchmark kernels natively, on tollgate's interpreter and JIT (each with and "
      "without fuel metering) and in node's V8 (default tiering and Liftoff only), checks that "
      "every run returns the same checksum, and measures JIT compile throughput."};
  std::vector<std::string> names;
  for (const auto& kernel : tollgate::bench::kKernels)
    names.emplace_back(kernel.name);
  app.add_flag("--quick", options.quick, "small inputs: a correctness smoke test, not a benchmark");
  app.add_option("--kernel", options.kernels, "run only this kernel (repeatable)")
      ->check(CLI::IsMember(names));
  app.add_option("--repeat", options.repeat, "runs of each measurement; the minimum is reported")
      ->check(CLI::Range(1u, 1000u));
  app.add_option("--wasm-dir", options.wasm_dir, "where the kernels' .wasm files are")
      ->capture_default_str();
  std::string bounds = "guard";
  app.add_option("--jit-bounds", bounds, "how JIT code keeps memory accesses in bounds")
      ->check(CLI::IsMember({"guard", "explicit"}))
      ->capture_default_str();
  bool no_node = false;
  app.add_flag("--no-node", no_node, "skip the V8 and Liftoff columns");
  std::string clock = "cpu";
  app.add_option("--clock", clock,
                 "what kernel times measure: cpu (this thread's CPU time; node's process CPU "
                 "time) or wall")
      ->check(CLI::IsMember({"cpu", "wall"}))
      ->capture_default_str();
  app.add_option("--node", options.node_exe, "node executable")->capture_default_str();
  app.add_option("--compile-threads", options.compile_threads,
                 "threads for the multi-threaded compile throughput (0: the hardware's)")
      ->capture_default_str();
  app.add_flag("--compile-only", options.compile_only,
               "only measure compile throughput (no kernels)");
  app.add_option("--compile-module", options.compile_modules,
                 "measure JIT compile throughput on this module (repeatable; default: the "
                 "largest kernel, or the generated fuzz module when the build made one)");
  CLI11_PARSE(app, argc, argv);
  options.bounds = bounds == "guard" ? tollgate::jit::BoundsMode::guard_region
                                     : tollgate::jit::BoundsMode::explicit_checks;
  options.node = !no_node && !options.node_exe.empty();
  tollgate::bench::g_cpu_clock = clock == "cpu";
  if (options.compile_modules.empty() && std::string(TG_BENCH_TTF).size() != 0)
    options.compile_modules.push_back(TG_BENCH_TTF);
  return tollgate::bench::run(options);
}
