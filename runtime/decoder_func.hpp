// Private to the decoder: the opcode table lookups and the function-body validator/lowerer.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/decoder_reader.hpp"
#include "runtime/ir.hpp"
#include "runtime/module.hpp"

namespace tollgate::runtime::detail {

/// A wasm opcode (prefix 0, 0xFC or 0xFD plus code) to its row of opcodes.def; false if 2.0 has no
/// such instruction.
bool lookup_opcode(uint8_t prefix, uint32_t code, ir::Op& out);

/// Data indices (memory.init, data.drop) used by bodies of a module without a data count section.
/// That is malformed ("data count section required"), unless the index names no segment at all,
/// which the spec suite reports as invalid ("unknown data segment"), as a text module would be.
struct DataIndexUse {
  bool used = false;
  uint32_t max_index = 0;
  uint32_t first_offset = 0;
};

/// Decoding without validation, for telling malformed from invalid (the spec decodes a whole
/// module before validating any of it). Reads an expression up to its final `end`.
bool skip_expression(Reader& r, bool has_data_count, DataIndexUse& data_use);
/// The same for a whole function body (locals, expression, nothing after it).
bool skip_body(Reader body, bool has_data_count, DataIndexUse& data_use);

/// Decodes, validates and lowers function bodies of one module. Reuses its scratch stacks across
/// bodies so decoding a module allocates little beyond the IR it produces.
class FuncDecoder {
 public:
  /// `declared_funcs[f]` is set for the functions `ref.func` may name in a body (C.refs).
  FuncDecoder(const Module& module,
              const std::vector<bool>& declared_funcs,
              DataIndexUse& data_use);
  ~FuncDecoder();
  FuncDecoder(const FuncDecoder&) = delete;
  FuncDecoder& operator=(const FuncDecoder&) = delete;

  /// Decodes the body in `body` (locals and expression, exactly its bytes) of a function of type
  /// `type` into `out`. On failure the reader's error sink holds the error.
  bool decode(TypeIdx type, Reader body, ir::FuncCode& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tollgate::runtime::detail
