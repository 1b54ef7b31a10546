// tollgate-gen: writes modules of the structured generator to a folder, for runtime research and
// differential runs against other engines (fuzz/README.md, fuzz/differential.sh).
// SPDX-License-Identifier: Apache-2.0
#include <FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "fuzz/wasm_gen.hpp"

namespace {

int usage() {
  std::fprintf(
      stderr,
      "usage: tollgate-gen [--differential] [--seed N] [--bytes N] COUNT DIR\n"
      "  writes COUNT generated modules DIR/gen-SEED-I.wasm; each comes from BYTES\n"
      "  (default 2048) pseudo-random input bytes of seed SEED+I. --differential makes\n"
      "  modules without imports that always terminate and export only `main` ([] -> "
      "results),\n  with NaNs canonicalised wherever their bits could reach an integer.\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  tollgate::fuzz::GenOptions options;
  uint64_t seed = 1;
  size_t bytes = 2048;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--differential") {
      options.differential = true;
      options.canonical_nans = true;
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 0);
    } else if (a == "--bytes" && i + 1 < argc) {
      bytes = std::strtoull(argv[++i], nullptr, 0);
    } else if (a.starts_with("-")) {
      return usage();
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() != 2)
    return usage();
  const uint64_t count = std::strtoull(positional[0].c_str(), nullptr, 0);
  const std::filesystem::path dir = positional[1];
  std::filesystem::create_directories(dir);
  for (uint64_t i = 0; i < count; ++i) {
    std::mt19937_64 rng(seed + i);
    std::vector<uint8_t> input(bytes);
    for (auto& b : input)
      b = static_cast<uint8_t>(rng());
    FuzzedDataProvider in(input.data(), input.size());
    const std::vector<uint8_t> wasm = tollgate::fuzz::generate_module(in, options);
    const auto path = dir / ("gen-" + std::to_string(seed + i) + ".wasm");
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(wasm.data()),
               static_cast<std::streamsize>(wasm.size()));
  }
  std::printf("%llu modules written to %s\n", static_cast<unsigned long long>(count), dir.c_str());
  return 0;
}
