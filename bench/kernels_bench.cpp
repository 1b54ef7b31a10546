// bench_kernels: times the C kernels natively and interpreted (fuel off, on); checks they agree.
// SPDX-License-Identifier: Apache-2.0
//
// Every measurement of a kernel is taken in the same process, interleaved (native, interp,
// interp+fuel, native, ...), and the minimum of each is kept: the machines are shared and noisy,
// so only ratios measured side by side mean anything.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

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
};

/// One kernel's module, instantiated once; each run resets the kernel's own state.
struct Loaded {
  std::unique_ptr<runtime::Store> store;
  runtime::Function* run = nullptr;
};

std::optional<Loaded> load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "bench_kernels: cannot read %s\n", path.c_str());
    return std::nullopt;
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  auto module = runtime::decode_module(bytes);
  if (!module) {
    const runtime::Error& e = module.error();
    std::fprintf(stderr, "bench_kernels: %s: %s at offset %u: %s\n", path.c_str(),
                 runtime::error_kind_name(e.kind), e.offset, e.message.c_str());
    return std::nullopt;
  }
  Loaded loaded{std::make_unique<runtime::Store>(), nullptr};
  auto instance = runtime::instantiate(*loaded.store, module.value(), {});
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

Sample run_native(const Kernel& kernel, uint32_t n) {
  auto start = std::chrono::steady_clock::now();
  // The kernels live in other translation units and are called through a pointer, so the
  // compiler cannot hoist or drop the call.
  uint64_t checksum = kernel.native(n);
  return {elapsed_ms(start), checksum, 0};
}

std::optional<Sample> run_interp(Loaded& loaded, uint32_t n, bool metered) {
  const Value args[] = {Value::make_i32(n)};
  runtime::CallOptions options;
  if (metered)
    options.fuel = kHugeFuel;
  auto start = std::chrono::steady_clock::now();
  runtime::CallResult result = runtime::call(*loaded.store, *loaded.run, args, options);
  double ms = elapsed_ms(start);
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

struct Row {
  const char* name;
  uint32_t n;
  double native_ms, interp_ms, fuel_ms;
  uint64_t fuel_used;
  uint64_t checksum;
};

/// Measures one kernel; nullopt (after saying why on stderr) if anything disagrees or fails.
std::optional<Row> measure(const Kernel& kernel, const Options& options) {
  uint32_t n = options.quick ? kernel.quick_n : kernel.n;
  auto loaded = load(options.wasm_dir + "/" + kernel.name + ".wasm");
  if (!loaded)
    return std::nullopt;
  constexpr double kNever = std::numeric_limits<double>::infinity();
  Row row{kernel.name, n, kNever, kNever, kNever, 0, 0};
  std::optional<uint64_t> expected;
  std::optional<uint64_t> expected_fuel;
  for (uint32_t i = 0; i < options.repeat; ++i) {
    Sample native = run_native(kernel, n);
    // Alternate which interpreted mode goes first, so neither always runs on a warmer machine.
    std::optional<Sample> plain, metered;
    if (i % 2 == 0) {
      plain = run_interp(*loaded, n, false);
      metered = run_interp(*loaded, n, true);
    } else {
      metered = run_interp(*loaded, n, true);
      plain = run_interp(*loaded, n, false);
    }
    if (!plain || !metered)
      return std::nullopt;
    if (!expected)
      expected = native.checksum;
    if (native.checksum != *expected || plain->checksum != *expected ||
        metered->checksum != *expected) {
      std::fprintf(stderr,
                   "bench_kernels: %s(%u) CHECKSUM MISMATCH: expected %llu, native %llu, interp "
                   "%llu, interp+fuel %llu\n",
                   kernel.name, n, static_cast<unsigned long long>(*expected),
                   static_cast<unsigned long long>(native.checksum),
                   static_cast<unsigned long long>(plain->checksum),
                   static_cast<unsigned long long>(metered->checksum));
      return std::nullopt;
    }
    // Fuel is deterministic: the same call must burn exactly the same amount every time.
    if (expected_fuel && metered->fuel_used != *expected_fuel) {
      std::fprintf(stderr, "bench_kernels: %s(%u) fuel used varies: %llu then %llu\n", kernel.name,
                   n, static_cast<unsigned long long>(*expected_fuel),
                   static_cast<unsigned long long>(metered->fuel_used));
      return std::nullopt;
    }
    expected_fuel = metered->fuel_used;
    row.native_ms = std::min(row.native_ms, native.ms);
    row.interp_ms = std::min(row.interp_ms, plain->ms);
    row.fuel_ms = std::min(row.fuel_ms, metered->ms);
  }
  row.fuel_used = expected_fuel.value_or(0);
  row.checksum = expected.value_or(0);
  return row;
}

void print_header() {
  std::printf("%-8s %10s %10s %11s %8s %13s %8s %7s %14s  %s\n", "kernel", "n", "native ms",
              "interp ms", "ratio", "interp+fuel", "ratio", "fuel %", "fuel used", "checksum");
}

void print_row(const Row& row) {
  std::printf("%-8s %10u %10.1f %11.1f %7.1fx %13.1f %7.1fx %6.1f%% %14llu  %llu\n", row.name,
              row.n, row.native_ms, row.interp_ms, row.interp_ms / row.native_ms, row.fuel_ms,
              row.fuel_ms / row.native_ms, (row.fuel_ms / row.interp_ms - 1) * 100,
              static_cast<unsigned long long>(row.fuel_used),
              static_cast<unsigned long long>(row.checksum));
  std::fflush(stdout);
}

void print_geomean(const std::vector<Row>& rows) {
  double log_interp = 0, log_fuel = 0, log_overhead = 0;
  for (const Row& row : rows) {
    log_interp += std::log(row.interp_ms / row.native_ms);
    log_fuel += std::log(row.fuel_ms / row.native_ms);
    log_overhead += std::log(row.fuel_ms / row.interp_ms);
  }
  double count = static_cast<double>(rows.size());
  std::printf("%-8s %10s %10s %11s %7.1fx %13s %7.1fx %6.1f%%\n", "geomean", "", "", "",
              std::exp(log_interp / count), "", std::exp(log_fuel / count),
              (std::exp(log_overhead / count) - 1) * 100);
}

int run(const Options& options) {
  std::vector<Row> rows;
  print_header();
  for (const Kernel& kernel : kKernels) {
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
  std::printf("all checksums agree (native, interpreter, interpreter with fuel); min of %u runs\n",
              options.repeat);
  return 0;
}

}  // namespace
}  // namespace tollgate::bench

int main(int argc, char** argv) {
  tollgate::bench::Options options;
  CLI::App app{
      "Times the benchmark kernels natively and on tollgate's interpreter, with and "
      "without fuel metering, and checks that every run returns the same checksum."};
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
  CLI11_PARSE(app, argc, argv);
  return tollgate::bench::run(options);
}
