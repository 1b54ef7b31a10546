// Small helpers the fuzz targets share: reading a build-time file once, bytes as text.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <vector>

namespace tollgate::fuzz {

/// The bytes of a file the build made (a guest module); aborts when it is missing, since every
/// input would then test nothing.
inline std::vector<uint8_t> read_build_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "fuzz: cannot read %s (built by meson)\n", path);
    std::abort();
  }
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), {});
}

inline std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

/// Aborts with a message: a broken invariant is a fuzz finding.
[[noreturn]] inline void fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "fuzz invariant broken: %s %s\n", what, detail.c_str());
  std::abort();
}

}  // namespace tollgate::fuzz
