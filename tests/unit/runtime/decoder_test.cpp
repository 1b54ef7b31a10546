// Binary decoding: malformed modules per the spec's binary format, sections, segments, names.
// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "runtime/module.hpp"
#include "tests/utils/wat.hpp"

namespace tollgate::runtime {
namespace {

using test::from_hex;
using test::load_wat;
using test::wat_to_wasm;

constexpr std::string_view kHeader = "0061736d 01000000";

Result<std::shared_ptr<const Module>> decode_hex(std::string_view hex) {
  const auto bytes = from_hex(std::string(kHeader) + std::string(hex));
  return decode_module(bytes);
}

/// Expects decoding to fail with `kind`; returns the error for further checks.
Error expect_error(std::string_view hex, ErrorKind kind) {
  auto r = decode_hex(hex);
  EXPECT_FALSE(r.ok()) << "decoded, expected " << error_kind_name(kind);
  if (r.ok())
    return {};
  EXPECT_EQ(r.error().kind, kind) << r.error().message << " at " << r.error().offset;
  EXPECT_FALSE(r.error().message.empty());
  return r.error();
}

// Type section with one type [] -> [], function section with one function of it.
constexpr std::string_view kOneFunc = "01 04 01 60 00 00  03 02 01 00";

TEST(Decoder, EmptyModuleDecodes) {
  auto r = decode_hex("");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE((*r)->funcs.empty());
  EXPECT_TRUE((*r)->codes.empty());
}

TEST(Decoder, MagicAndVersion) {
  for (const char* hex : {"", "00", "0061736d", "0061736d 0100", "0061736d 02000000",
                          "6d736100 01000000", "0061736d 00000001"}) {
    auto r = decode_module(from_hex(hex));
    ASSERT_FALSE(r.ok()) << hex;
    EXPECT_EQ(r.error().kind, ErrorKind::malformed) << hex;
  }
  auto r = decode_module(from_hex("0061736d 02000000"));
  EXPECT_EQ(r.error().offset, 4u);
}

TEST(Decoder, Leb128TooLongOrUnusedBitsSet) {
  // Type section of size 4 written in 5 bytes (allowed), then in 6 bytes (too long).
  ASSERT_TRUE(decode_hex("01 84808080 00 01 60 00 00").ok());
  expect_error("01 8480808080 00 01 60 00 00", ErrorKind::malformed);
  // The fifth byte of a u32 may only use its low 4 bits.
  expect_error("01 84808080 10 01 60 00 00", ErrorKind::malformed);
  // i32.const with an s32 whose fifth byte's unused bits do not copy the sign bit.
  const std::string body = std::string(kOneFunc) + " 0a 0b 01 09 00 41 ffffffff 4f 1a 0b";
  expect_error(body, ErrorKind::malformed);
  // The same constant with proper sign bits (-1 as 5 bytes) decodes.
  ASSERT_TRUE(decode_hex(std::string(kOneFunc) + " 0a 0b 01 09 00 41 ffffffff 7f 1a 0b").ok());
}

TEST(Decoder, SectionOrderAndIds) {
  // Function section before type section.
  expect_error("03 02 01 00  01 04 01 60 00 00", ErrorKind::malformed);
  // Also when a section before the misplaced one is invalid: the whole module is decoded first.
  expect_error("03 02 01 05  01 04 01 60 00 00", ErrorKind::malformed);
  // Duplicate type section.
  expect_error("01 01 00  01 01 00", ErrorKind::malformed);
  // Unknown section id 13.
  Error e = expect_error("0d 00", ErrorKind::malformed);
  EXPECT_EQ(e.offset, 8u);
  // Data count (12) must come before code (10).
  expect_error(std::string(kOneFunc) + " 0a 04 01 02 00 0b  0c 01 00", ErrorKind::malformed);
  // Custom sections may appear anywhere, also between and after the others.
  ASSERT_TRUE(decode_hex("00 02 01 61  01 04 01 60 00 00  00 02 01 62  03 02 01 00  00 01 00 "
                         "0a 04 01 02 00 0b  00 03 01 63 ff")
                  .ok());
}

TEST(Decoder, SectionSizeMismatch) {
  // The type section claims 5 bytes but its content takes 4.
  expect_error("01 05 01 60 00 00 00", ErrorKind::malformed);
  // Claims 3, content needs 4.
  expect_error("01 03 01 60 00 00", ErrorKind::malformed);
  // Larger than the module.
  expect_error("01 7f 01 60 00 00", ErrorKind::malformed);
}

TEST(Decoder, CountLargerThanTheBytesIsMalformedNotAnAllocation) {
  // 2^32-1 types in a 5-byte section.
  expect_error("01 05 ffffffff0f", ErrorKind::malformed);
  // 2^32-1 locals groups.
  expect_error(std::string(kOneFunc) + " 0a 08 01 06 ffffffff0f 0b", ErrorKind::malformed);
  // A br_table of 2^32-1 labels.
  expect_error(std::string(kOneFunc) + " 0a 0c 01 0a 00 41 00 0e ffffffff0f 0b",
               ErrorKind::malformed);
}

TEST(Decoder, FunctionAndCodeCountsMustMatch) {
  expect_error(kOneFunc, ErrorKind::malformed);                       // code section missing
  expect_error("0a 04 01 02 00 0b", ErrorKind::malformed);            // function section missing
  expect_error("01 04 01 60 00 00 03 03 02 00 00 0a 04 01 02 00 0b",  // 2 functions, 1 body
               ErrorKind::malformed);
}

TEST(Decoder, DataCountMustMatchDataSection) {
  // Memory section with one memory of 1 page.
  const std::string mem = "05 03 01 00 01";
  ASSERT_TRUE(decode_hex(mem + " 0c 01 01  0b 04 01 01 01 61").ok());
  expect_error(mem + " 0c 01 02  0b 04 01 01 01 61", ErrorKind::malformed);
  expect_error(mem + " 0c 01 01", ErrorKind::malformed);  // data section missing
}

TEST(Decoder, DataCountSectionRequiredForDataIndices) {
  // memory.init 0 and data.drop 0 with a data section but no data count section.
  const std::string head = std::string(kOneFunc) + " 05 03 01 00 01";
  expect_error(head + " 0a 0e 01 0c 00 41 00 41 00 41 00 fc 08 00 00 0b  0b 03 01 01 00",
               ErrorKind::malformed);
  expect_error(head + " 0a 07 01 05 00 fc 09 00 0b  0b 03 01 01 00", ErrorKind::malformed);
  // With the data count section both decode.
  ASSERT_TRUE(decode_hex(head + " 0c 01 01  0a 07 01 05 00 fc 09 00 0b  0b 03 01 01 00").ok());
}

TEST(Decoder, TooManyLocals) {
  // 0xFFFFFFFF i32 + 2 i64: over 2^32-1 in total.
  expect_error(std::string(kOneFunc) + " 0a 0c 01 0a 02 ffffffff0f 7f 02 7e 0b",
               ErrorKind::malformed);
  // 0x100000000 does not fit a u32 at all.
  expect_error(std::string(kOneFunc) + " 0a 0c 01 0a 02 8080808010 7f 02 7e 0b",
               ErrorKind::malformed);
  // Fewer than 2^32 but more than we accept: our limit, not a decoding error.
  auto r = decode_hex(std::string(kOneFunc) + " 0a 0a 01 08 01 ffffffff07 7f 0b");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::resource);
  // Zero-count groups are fine.
  auto ok = decode_hex(std::string(kOneFunc) + " 0a 0a 01 08 03 00 7f 00 7e 02 7d 0b");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)->codes[0].local_types.size(), 2u);
}

TEST(Decoder, ReservedZeroBytes) {
  const std::string head = std::string(kOneFunc) + " 05 03 01 00 01";
  // memory.size with reserved byte 1.
  expect_error(head + " 0a 07 01 05 00 3f 01 1a 0b", ErrorKind::malformed);
  // memory.grow with reserved byte 1.
  expect_error(head + " 0a 09 01 07 00 41 00 40 01 1a 0b", ErrorKind::malformed);
  // memory.size with reserved byte written as a two-byte LEB: not a zero byte.
  expect_error(head + " 0a 08 01 06 00 3f 80 00 1a 0b", ErrorKind::malformed);
  // memory.copy / memory.fill.
  expect_error(head + " 0a 0e 01 0c 00 41 00 41 00 41 00 fc 0a 00 01 0b", ErrorKind::malformed);
  expect_error(head + " 0a 0d 01 0b 00 41 00 41 00 41 00 fc 0b 01 0b", ErrorKind::malformed);
  ASSERT_TRUE(decode_hex(head + " 0a 07 01 05 00 3f 00 1a 0b").ok());
}

TEST(Decoder, IllegalOpcodesAndMissingEnd) {
  expect_error(std::string(kOneFunc) + " 0a 05 01 03 00 06 0b", ErrorKind::malformed);     // 0x06
  expect_error(std::string(kOneFunc) + " 0a 06 01 04 00 fc 12 0b", ErrorKind::malformed);  // FC 18
  expect_error(std::string(kOneFunc) + " 0a 07 01 05 00 fd 9a01 0b", ErrorKind::malformed);
  expect_error(std::string(kOneFunc) + " 0a 04 01 02 00 01", ErrorKind::malformed);  // no end
  // Bytes after the function's final end.
  expect_error(std::string(kOneFunc) + " 0a 05 01 03 00 0b 01", ErrorKind::malformed);
  // else outside an if.
  expect_error(std::string(kOneFunc) + " 0a 08 01 06 00 02 40 05 0b 0b", ErrorKind::malformed);
}

TEST(Decoder, MalformedUtf8Names) {
  // Custom section names: overlong encoding, lone continuation byte, surrogate, > U+10FFFF.
  for (const char* section :
       {"03 02 c0 80", "02 01 80", "04 03 eda080", "05 04 f4908080", "02 01 ff"}) {
    expect_error(std::string("00 ") + section, ErrorKind::malformed);
  }
  // Import names are checked the same way.
  expect_error("02 08 01 02 c0 80 01 66 00 00", ErrorKind::malformed);
  // Valid multi-byte UTF-8 is accepted.
  auto r = decode_hex("00 05 04 e2 82 ac 41");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->customs[0].name,
            "\xe2\x82\xac"
            "A");
}

TEST(Decoder, MalformedTypesAndKinds) {
  expect_error("01 04 01 61 00 00", ErrorKind::malformed);        // not 0x60
  expect_error("01 05 01 60 01 7a 00", ErrorKind::malformed);     // unknown value type
  expect_error("02 06 01 00 00 04 00 00", ErrorKind::malformed);  // import kind 4
  expect_error("04 04 01 71 00 00", ErrorKind::malformed);        // table of a non-reftype
  expect_error("05 03 01 02 00", ErrorKind::malformed);           // limits flag 2
  expect_error("06 06 01 7f 02 41 00 0b", ErrorKind::malformed);  // mutability 2
  expect_error("07 05 01 01 61 04 00", ErrorKind::malformed);     // export kind 4
}

TEST(Decoder, CustomSectionsAreKept) {
  auto r = decode_hex("00 05 03 61 62 63 07  01 01 00  00 03 01 78 ff");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Module& m = **r;
  ASSERT_EQ(m.customs.size(), 2u);
  EXPECT_EQ(m.customs[0].name, "abc");
  EXPECT_EQ(m.customs[0].bytes, std::vector<uint8_t>{0x07});
  EXPECT_EQ(m.customs[0].offset, 14u);  // 8 header + id + size + name length + "abc"
  EXPECT_EQ(m.customs[1].name, "x");
  ASSERT_NE(m.find_custom("x"), nullptr);
  EXPECT_EQ(m.find_custom("x")->bytes, std::vector<uint8_t>{0xFF});
  EXPECT_EQ(m.find_custom("nope"), nullptr);
  // An empty custom section payload, and a name running past the section, which is malformed.
  ASSERT_TRUE(decode_hex("00 01 00").ok());
  expect_error("00 02 05 61", ErrorKind::malformed);
}

TEST(Decoder, NameSection) {
  // Three functions, the third exported as "t"; name section: module "mod", functions 0 and 2
  // named "first" and "third", then a local names subsection (id 2) that is skipped.
  auto r = decode_hex(
      "01 04 01 60 00 00  03 04 03 00 00 00  07 05 01 01 74 00 02"
      " 0a 0a 03 02 00 0b 02 00 0b 02 00 0b"
      " 00 21 04 6e616d65"
      "   00 04 03 6d6f64"
      "   01 0f 02 00 05 6669727374 02 05 7468697264"
      "   02 03 01 00 00");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Module& m = **r;
  EXPECT_EQ(m.names.module_name, "mod");
  EXPECT_EQ(m.func_display_name(0), "$first");
  EXPECT_EQ(m.func_display_name(1), "func[1]");
  EXPECT_EQ(m.func_display_name(2), "$third");
  ASSERT_NE(m.find_custom("name"), nullptr);
  ASSERT_NE(m.find_export("t"), nullptr);
  EXPECT_EQ(m.find_export("t")->index, 2u);
  EXPECT_EQ(m.find_export("u"), nullptr);
}

TEST(Decoder, MalformedNameSectionIsIgnored) {
  // "name" section: function names subsection whose count overruns it.
  auto r =
      decode_hex(std::string(kOneFunc) + " 0a 04 01 02 00 0b  00 0a 04 6e616d65 01 03 05 00 01");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE((*r)->names.function_names.empty());
  EXPECT_EQ((*r)->func_display_name(0), "func[0]");
  // Bad UTF-8 inside the name payload is ignored too.
  auto r2 = decode_hex("00 0a 04 6e616d65 00 03 02 c0 80");
  ASSERT_TRUE(r2.ok());
  EXPECT_TRUE((*r2)->names.module_name.empty());
  // A well-formed one by hand: module name "m", function 0 named "f".
  auto r3 = decode_hex(std::string(kOneFunc) +
                       " 0a 04 01 02 00 0b  00 0f 04 6e616d65 00 02 01 6d 01 04 01 00 01 66");
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ((*r3)->names.module_name, "m");
  EXPECT_EQ((*r3)->func_display_name(0), "$f");
}

TEST(Decoder, AllEightElementSegmentEncodings) {
  // One table of funcref, one function; then one segment per flags value.
  const std::string head = std::string(kOneFunc) + " 04 04 01 70 00 01";
  const std::string code = " 0a 04 01 02 00 0b";
  struct Case {
    const char* seg;
    SegmentMode mode;
    ValType type;
    ConstExpr::Kind item;
  };
  const Case cases[] = {
      {"00 41 00 0b 01 00", SegmentMode::active, ValType::funcref, ConstExpr::Kind::ref_func},
      {"01 00 01 00", SegmentMode::passive, ValType::funcref, ConstExpr::Kind::ref_func},
      {"02 00 41 00 0b 00 01 00", SegmentMode::active, ValType::funcref, ConstExpr::Kind::ref_func},
      {"03 00 01 00", SegmentMode::declarative, ValType::funcref, ConstExpr::Kind::ref_func},
      {"04 41 00 0b 01 d2 00 0b", SegmentMode::active, ValType::funcref, ConstExpr::Kind::ref_func},
      {"05 70 01 d0 70 0b", SegmentMode::passive, ValType::funcref, ConstExpr::Kind::value},
      {"06 00 41 00 0b 70 01 d2 00 0b", SegmentMode::active, ValType::funcref,
       ConstExpr::Kind::ref_func},
      {"07 6f 01 d0 6f 0b", SegmentMode::declarative, ValType::externref, ConstExpr::Kind::value},
  };
  for (const Case& c : cases) {
    const auto seg = from_hex(c.seg);
    char size[8];
    snprintf(size, sizeof size, "%02x", static_cast<unsigned>(seg.size() + 1));
    auto r = decode_hex(head + " 09 " + size + " 01 " + c.seg + code);
    ASSERT_TRUE(r.ok()) << c.seg << ": " << r.error().message;
    ASSERT_EQ((*r)->elems.size(), 1u);
    const ElemSegment& e = (*r)->elems[0];
    EXPECT_EQ(e.mode, c.mode) << c.seg;
    EXPECT_EQ(e.type, c.type) << c.seg;
    ASSERT_EQ(e.items.size(), 1u);
    EXPECT_EQ(e.items[0].kind, c.item) << c.seg;
    if (c.mode == SegmentMode::active) {
      EXPECT_EQ(e.offset.kind, ConstExpr::Kind::value);
      EXPECT_EQ(e.offset.value.type, ValType::i32);
    }
  }
  // Flags 8 and a non-zero elemkind are malformed.
  expect_error(head + " 09 05 01 08 00 01 00" + code, ErrorKind::malformed);
  expect_error(head + " 09 05 01 01 01 01 00" + code, ErrorKind::malformed);
}

TEST(Decoder, DataSegmentFlags) {
  auto r = load_wat(R"((module (memory 1)
      (data (i32.const 8) "ab")
      (data "xyz")
      (data (memory 0) (offset (i32.const 1)) "")))");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->datas.size(), 3u);
  EXPECT_EQ(r->datas[0].mode, SegmentMode::active);
  EXPECT_EQ(r->datas[0].offset.value.i32, 8u);
  EXPECT_EQ(r->datas[0].bytes, (std::vector<uint8_t>{'a', 'b'}));
  EXPECT_EQ(r->datas[1].mode, SegmentMode::passive);
  EXPECT_EQ(r->datas[1].bytes.size(), 3u);
  EXPECT_EQ(r->datas[2].mode, SegmentMode::active);
  EXPECT_EQ(r->datas[2].offset.value.i32, 1u);
  // Flags 2 with an explicit memory index, written by hand.
  auto h = decode_hex("05 03 01 00 01  0b 08 01 02 00 41 03 0b 01 7a");
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_EQ((*h)->datas[0].offset.value.i32, 3u);
  // Flags 3 is malformed; a segment longer than its section is malformed.
  expect_error("05 03 01 00 01  0b 06 01 03 41 00 0b 00", ErrorKind::malformed);
  expect_error("05 03 01 00 01  0b 07 01 00 41 00 0b 05 61", ErrorKind::malformed);
}

TEST(Decoder, ImportsAndIndexSpaces) {
  auto m = load_wat(R"((module
      (import "env" "f" (func (param i32)))
      (import "env" "t" (table 1 2 externref))
      (import "env" "m" (memory 1))
      (import "env" "g" (global (mut i64)))
      (func) (table 0 funcref) (global f32 (f32.const 1.5))))");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->imports.size(), 4u);
  EXPECT_EQ(m->num_imported_funcs, 1u);
  EXPECT_EQ(m->num_imported_tables, 1u);
  EXPECT_EQ(m->num_imported_memories, 1u);
  EXPECT_EQ(m->num_imported_globals, 1u);
  EXPECT_EQ(m->funcs.size(), 2u);
  ASSERT_EQ(m->tables.size(), 2u);
  EXPECT_EQ(m->tables[0].elem, ValType::externref);
  EXPECT_EQ(m->tables[0].limits.max, 2u);
  EXPECT_EQ(m->globals[0].type, ValType::i64);
  EXPECT_TRUE(m->globals[0].mutable_);
  ASSERT_EQ(m->global_inits.size(), 1u);
  EXPECT_EQ(m->global_inits[0].value.f32(), 1.5f);
  EXPECT_EQ(to_string(m->func_type(0)), "[i32] -> []");
}

TEST(Decoder, ConstantExpressions) {
  auto m = load_wat(R"((module
      (import "env" "g" (global i32))
      (func $f)
      (global i32 (global.get 0))
      (global i64 (i64.const -2))
      (global f64 (f64.const -0.5))
      (global funcref (ref.func $f))
      (global externref (ref.null extern))
      (global v128 (v128.const i32x4 1 2 3 4))))");
  ASSERT_TRUE(m);
  const auto& g = m->global_inits;
  ASSERT_EQ(g.size(), 6u);
  EXPECT_EQ(g[0].kind, ConstExpr::Kind::global_get);
  EXPECT_EQ(g[0].index, 0u);
  EXPECT_EQ(g[1].value.i64, static_cast<uint64_t>(-2));
  EXPECT_EQ(g[2].value.f64(), -0.5);
  EXPECT_EQ(g[3].kind, ConstExpr::Kind::ref_func);
  EXPECT_EQ(g[3].index, 0u);
  EXPECT_EQ(g[4].value.type, ValType::externref);
  EXPECT_TRUE(g[4].value.is_null());
  EXPECT_EQ(g[5].value.v128.u64[0], 0x0000000200000001ull);
  // An init expression without its end: malformed.
  expect_error("06 05 01 7f 00 41 00", ErrorKind::malformed);
}

TEST(Decoder, ErrorsCarryTheOffset) {
  // The illegal opcode 0x06 sits at byte 8 + 10 (kOneFunc) + 5.
  auto r = decode_hex(std::string(kOneFunc) + " 0a 05 01 03 00 06 0b");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().offset, 23u);
}

TEST(Decoder, SimdOpcodesDecode) {
  auto m = load_wat(R"((module (memory 1)
      (func (param v128) (result v128)
        i32.const 0
        local.get 0
        local.get 0
        i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 31
        v128.load32_lane offset=4 align=4 3
        i32x4.extract_lane 2
        i32x4.splat
        f64x2.promote_low_f32x4
        drop
        i32.const 0
        local.get 0
        v128.store64_lane 1
        local.get 0
        local.get 0
        i16x8.extmul_high_i8x16_u
        i32x4.trunc_sat_f64x2_u_zero
        i64x2.bitmask
        drop
        local.get 0)))");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->codes[0].v128_pool.size(), 1u);  // the shuffle's lanes
}

TEST(Decoder, TruncatedModulesFailCleanly) {
  // Every prefix of a module using most sections must fail (or, for section boundaries, decode)
  // without crashing or reading out of bounds.
  const auto full = wat_to_wasm(R"((module
      (type (func (param i32) (result i32)))
      (import "a" "b" (func (type 0)))
      (table 2 funcref) (memory 1 2)
      (global (mut i32) (i32.const 1))
      (export "f" (func 1))
      (elem (i32.const 0) func 0 1)
      (func (type 0) (block (result i32) (local.get 0) (local.get 0) (br_table 0 0)))
      (data (i32.const 0) "hi")))");
  ASSERT_FALSE(full.empty());
  ASSERT_TRUE(decode_module(full).ok());
  size_t ok = 0;
  for (size_t n = 0; n < full.size(); ++n) {
    std::vector<uint8_t> prefix(full.begin(), full.begin() + static_cast<long>(n));
    auto r = decode_module(prefix);
    if (r.ok()) {
      ++ok;
    } else {
      EXPECT_LE(r.error().offset, n);
    }
  }
  EXPECT_LT(ok, 10u);
  // Flipping each byte must never crash either.
  for (size_t i = 8; i < full.size(); ++i) {
    for (uint8_t x : {0x01, 0x40, 0x80, 0xFF}) {
      auto copy = full;
      copy[i] ^= x;
      (void)decode_module(copy);
    }
  }
}

}  // namespace
}  // namespace tollgate::runtime
