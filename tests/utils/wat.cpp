// Test helper: WebAssembly text to binary through wabt's wat2wasm (a temp file round trip).
// SPDX-License-Identifier: Apache-2.0
#include "tests/utils/wat.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

namespace tollgate::test {

std::vector<uint8_t> wat_to_wasm(std::string_view wat) {
  char dir_template[] = "/tmp/tollgate-wat-XXXXXX";
  const char* dir = mkdtemp(dir_template);
  if (dir == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
    return {};
  }
  const std::string in = std::string(dir) + "/m.wat";
  const std::string out = std::string(dir) + "/m.wasm";
  std::ofstream(in) << wat;
  const std::string cmd = std::string(TG_WAT2WASM) + " " + in +
                          " -o " + out + " 2>" + dir + "/err.txt";
  const int rc = std::system(cmd.c_str());
  std::vector<uint8_t> bytes;
  if (rc != 0) {
    std::ifstream err(std::string(dir) + "/err.txt");
    ADD_FAILURE() << "wat2wasm rejected the fixture:\n"
                  << std::string(std::istreambuf_iterator<char>(err), {});
  } else {
    std::ifstream f(out, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f), {});
  }
  std::remove(in.c_str());
  std::remove(out.c_str());
  std::remove((std::string(dir) + "/err.txt").c_str());
  rmdir(dir);
  return bytes;
}

std::shared_ptr<const runtime::Module> load_wat(std::string_view wat) {
  auto bytes = wat_to_wasm(wat);
  auto result = runtime::decode_module(bytes);
  if (!result) {
    ADD_FAILURE() << "decode_module failed at offset " << result.error().offset << ": "
                  << result.error().message;
    return nullptr;
  }
  return std::move(result).value();
}

std::vector<uint8_t> from_hex(std::string_view hex) {
  std::vector<uint8_t> out;
  int nibble = -1;
  for (char c : hex) {
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else continue;
    if (nibble < 0) {
      nibble = v;
    } else {
      out.push_back(static_cast<uint8_t>(nibble * 16 + v));
      nibble = -1;
    }
  }
  return out;
}

}  // namespace tollgate::test
