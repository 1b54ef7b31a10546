// Instantiation (import checks, segment order, partial effects, start) and the Linker.
// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "runtime/store.hpp"
#include "tests/utils/wat.hpp"

namespace tollgate::runtime {
namespace {

using test::load_wat;

uint32_t call_i32(Store& store,
                  Instance* inst,
                  std::string_view name,
                  std::vector<Value> args = {}) {
  Function* f = inst->exported_function(name);
  if (f == nullptr) {
    ADD_FAILURE() << "no export " << name;
    return 0xDEADBEEF;
  }
  CallResult r = call(store, *f, args);
  EXPECT_TRUE(r.ok()) << (r.trap ? r.trap->message() : "");
  return r.ok() && !r.values.empty() ? r.values[0].i32 : 0xDEADBEEF;
}

TEST(InstanceTest, ExportsAndStartRunAfterSegments) {
  Store store;
  auto module = load_wat(R"((module
    (memory (export "mem") 1)
    (table (export "tab") 2 funcref)
    (global $g (export "g") (mut i32) (i32.const 0))
    (func $f (export "f") (result i32) (i32.const 42))
    (elem (i32.const 1) $f)
    (data (i32.const 8) "\2a")
    (func $start
      ;; Sees both segments: reads the data byte and calls through the table.
      (global.set $g (i32.add (i32.load8_u (i32.const 8))
                              (call_indirect (result i32) (i32.const 1)))))
    (start $start)
    (func (export "g_value") (result i32) (global.get $g))
  ))");
  ASSERT_TRUE(module);
  auto inst = instantiate(store, module, {});
  ASSERT_TRUE(inst.ok()) << inst.error().message;
  EXPECT_EQ(call_i32(store, *inst, "g_value"), 84u);
  auto mem = (*inst)->find_export("mem");
  ASSERT_TRUE(mem);
  EXPECT_EQ(mem->kind, ExternKind::memory);
  EXPECT_EQ(mem->memory->data[8], 42);
  auto tab = (*inst)->find_export("tab");
  ASSERT_TRUE(tab);
  EXPECT_EQ(tab->table->elems[1], reinterpret_cast<RefBits>((*inst)->exported_function("f")));
  EXPECT_EQ((*inst)->exported_function("g"), nullptr);  // a global, not a function
  EXPECT_FALSE((*inst)->find_export("missing"));
  // Memory reservation leaves guard space behind the accessible bytes.
  EXPECT_GT(mem->memory->reserved, mem->memory->size);
}

TEST(InstanceTest, SegmentFailureIsUninstantiableAndEarlierEffectsPersist) {
  Store store;
  auto provider = load_wat(R"((module
    (memory (export "mem") 1)
    (table (export "tab") 3 funcref)
  ))");
  ASSERT_TRUE(provider);
  auto prov = instantiate(store, provider, {});
  ASSERT_TRUE(prov.ok());
  Linker linker;
  linker.define_instance("p", **prov);

  // Element segments run before data segments: the second elem segment fails, so no data
  // segment runs, but the first elem segment's write stays.
  auto elem_fail = load_wat(R"((module
    (import "p" "mem" (memory 1))
    (import "p" "tab" (table 3 funcref))
    (func $h (result i32) (i32.const 7))
    (elem (i32.const 0) $h)
    (elem (i32.const 2) $h $h)
    (data (i32.const 0) "x")
  ))");
  ASSERT_TRUE(elem_fail);
  auto r = linker.instantiate(store, elem_fail);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::uninstantiable);
  EXPECT_EQ(r.error().message, "out of bounds table access");
  Table* tab = (*prov)->find_export("tab")->table;
  Memory* mem = (*prov)->find_export("mem")->memory;
  ASSERT_NE(tab->elems[0], 0u);
  EXPECT_EQ(tab->elems[2], 0u);  // the failing segment wrote nothing
  EXPECT_EQ(mem->data[0], 0);
  // The function the failed instance left in the table still works.
  Function* h = reinterpret_cast<Function*>(tab->elems[0]);
  CallResult hr = call(store, *h, {});
  ASSERT_TRUE(hr.ok());
  EXPECT_EQ(hr.values[0].i32, 7u);

  auto data_fail = load_wat(R"((module
    (import "p" "mem" (memory 1))
    (data (i32.const 10) "ab")
    (data (i32.const 65535) "cd")
    (data (i32.const 20) "ef")
  ))");
  ASSERT_TRUE(data_fail);
  r = linker.instantiate(store, data_fail);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::uninstantiable);
  EXPECT_EQ(r.error().message, "out of bounds memory access");
  EXPECT_EQ(mem->data[10], 'a');
  EXPECT_EQ(mem->data[11], 'b');
  EXPECT_EQ(mem->data[65535], 0);
  EXPECT_EQ(mem->data[20], 0);

  // A zero-length segment exactly at the end is fine; past the end it traps.
  auto at_end = load_wat(R"((module (import "p" "mem" (memory 1)) (data (i32.const 65536) "")))");
  ASSERT_TRUE(at_end);
  EXPECT_TRUE(linker.instantiate(store, at_end).ok());
  auto past_end = load_wat(R"((module (import "p" "mem" (memory 1)) (data (i32.const 65537) "")))");
  ASSERT_TRUE(past_end);
  EXPECT_FALSE(linker.instantiate(store, past_end).ok());
}

TEST(InstanceTest, StartTrapIsUninstantiable) {
  Store store;
  auto module = load_wat(R"((module
    (memory (export "mem") 1)
    (func $start (i32.store8 (i32.const 0) (i32.const 9)) (unreachable))
    (start $start)
  ))");
  ASSERT_TRUE(module);
  auto r = instantiate(store, module, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::uninstantiable);
  EXPECT_EQ(r.error().message, "unreachable");
  // Start runs with the given options: out of fuel is an instantiation failure too.
  auto loop = load_wat(R"((module (func $s (loop $l (br $l))) (start $s)))");
  ASSERT_TRUE(loop);
  CallOptions opts;
  opts.fuel = 1000;
  r = instantiate(store, loop, {}, opts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "out of fuel");
}

TEST(InstanceTest, LinkerReportsUnlinkableImports) {
  Store store;
  auto provider = load_wat(R"((module
    (memory (export "mem1") 1 4)
    (table (export "tab") 2 10 funcref)
    (global (export "gi") i32 (i32.const 5))
    (global (export "gm") (mut i32) (i32.const 6))
    (func (export "f") (param i32) (result i32) (local.get 0))
  ))");
  ASSERT_TRUE(provider);
  auto prov = instantiate(store, provider, {});
  ASSERT_TRUE(prov.ok());
  Linker linker;
  linker.define_instance("p", **prov);

  auto expect_unlinkable = [&](std::string_view wat, std::string_view why) {
    auto m = load_wat(wat);
    ASSERT_TRUE(m);
    auto r = linker.instantiate(store, m);
    ASSERT_FALSE(r.ok()) << wat;
    EXPECT_EQ(r.error().kind, ErrorKind::unlinkable) << wat;
    EXPECT_EQ(r.error().message.rfind(why, 0), 0u) << r.error().message;
  };
  auto expect_linkable = [&](std::string_view wat) {
    auto m = load_wat(wat);
    ASSERT_TRUE(m);
    auto r = linker.instantiate(store, m);
    EXPECT_TRUE(r.ok()) << wat << (r.ok() ? "" : r.error().message);
  };
  expect_unlinkable(R"((module (import "p" "nope" (func))))", "unknown import");
  expect_unlinkable(R"((module (import "q" "f" (func))))", "unknown import");
  expect_unlinkable(R"((module (import "p" "f" (func (param i64) (result i32)))))",
                    "incompatible import type");
  expect_unlinkable(R"((module (import "p" "f" (memory 1))))", "incompatible import type");
  expect_unlinkable(R"((module (import "p" "gi" (global (mut i32)))))", "incompatible import type");
  expect_unlinkable(R"((module (import "p" "gm" (global i32))))", "incompatible import type");
  expect_unlinkable(R"((module (import "p" "gi" (global i64))))", "incompatible import type");
  // Limits subtyping: the actual minimum must be at least, and the maximum at most, the import's.
  expect_unlinkable(R"((module (import "p" "mem1" (memory 2))))", "incompatible import type");
  expect_unlinkable(R"((module (import "p" "mem1" (memory 1 3))))", "incompatible import type");
  expect_unlinkable(R"((module (import "p" "tab" (table 3 funcref))))", "incompatible import type");
  expect_unlinkable(R"((module (import "p" "tab" (table 1 5 funcref))))",
                    "incompatible import type");
  expect_unlinkable(R"((module (import "p" "tab" (table 1 externref))))",
                    "incompatible import type");
  expect_linkable(R"((module (import "p" "f" (func (param i32) (result i32)))))");
  expect_linkable(R"((module (import "p" "mem1" (memory 0))))");
  expect_linkable(R"((module (import "p" "mem1" (memory 1 4))))");
  expect_linkable(R"((module (import "p" "mem1" (memory 1 100))))");
  expect_linkable(R"((module (import "p" "tab" (table 2 funcref))))");
  expect_linkable(R"((module (import "p" "gi" (global i32))))");
  expect_linkable(R"((module (import "p" "gm" (global (mut i32)))))");
  // Growth counts: after growing, the memory satisfies a larger minimum.
  Memory* mem = (*prov)->find_export("mem1")->memory;
  ASSERT_EQ(mem->grow(1), 1u);
  expect_linkable(R"((module (import "p" "mem1" (memory 2))))");
  // The wrong number of imports given directly.
  auto m = load_wat(R"((module (import "p" "f" (func (param i32) (result i32)))))");
  ASSERT_TRUE(m);
  auto r = instantiate(store, m, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::unlinkable);
}

TEST(InstanceTest, ImportedFunctionsRunInTheirOwnInstance) {
  Store store;
  auto a = load_wat(R"((module
    (memory 1)
    (global $g (mut i32) (i32.const 100))
    (func (export "put") (param i32) (i32.store (i32.const 0) (local.get 0))
      (global.set $g (i32.add (global.get $g) (i32.const 1))))
    (func (export "get") (result i32) (i32.add (i32.load (i32.const 0)) (global.get $g)))
  ))");
  auto b = load_wat(R"((module
    (import "a" "put" (func $put (param i32)))
    (import "a" "get" (func $get (result i32)))
    (memory 1)
    (global $g (mut i32) (i32.const 0))
    (func (export "run") (result i32)
      (i32.store (i32.const 0) (i32.const 5))
      (call $put (i32.const 1000))
      ;; b's own memory and global are untouched by a's code.
      (i32.add (i32.add (call $get) (i32.load (i32.const 0))) (global.get $g)))
  ))");
  ASSERT_TRUE(a && b);
  auto ia = instantiate(store, a, {});
  ASSERT_TRUE(ia.ok());
  Linker linker;
  linker.define_instance("a", **ia);
  auto ib = linker.instantiate(store, b);
  ASSERT_TRUE(ib.ok()) << ib.error().message;
  EXPECT_EQ(call_i32(store, *ib, "run"), 1000u + 101u + 5u);
}

TEST(InstanceTest, ImportedGlobalsInitialiseAndPassiveSegmentsWait) {
  Store store;
  Global* base = store.create_global(GlobalType{ValType::i32, false}, Value::make_i32(4));
  Global* shared = store.create_global(GlobalType{ValType::i64, true}, Value::make_i64(1));
  auto m = load_wat(R"((module
    (import "env" "base" (global $base i32))
    (import "env" "shared" (global $shared (mut i64)))
    (global $copy i32 (global.get $base))
    (memory 1)
    (data (global.get $base) "\05")
    (data $later "\06")
    (func (export "copy") (result i32) (global.get $copy))
    (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0)))
    (func (export "late") (memory.init $later (i32.const 0) (i32.const 0) (i32.const 1)))
    (func (export "bump") (global.set $shared (i64.add (global.get $shared) (i64.const 1))))
  ))");
  ASSERT_TRUE(m);
  Linker linker;
  linker.define("env", "base", Extern::of(base));
  linker.define("env", "shared", Extern::of(shared));
  auto inst = linker.instantiate(store, m);
  ASSERT_TRUE(inst.ok()) << inst.error().message;
  EXPECT_EQ(call_i32(store, *inst, "copy"), 4u);
  EXPECT_EQ(call_i32(store, *inst, "peek", {Value::make_i32(4)}), 5u);
  EXPECT_EQ(call_i32(store, *inst, "peek", {Value::make_i32(0)}), 0u);  // passive: not applied
  ASSERT_TRUE(call(store, *(*inst)->exported_function("late"), {}).ok());
  EXPECT_EQ(call_i32(store, *inst, "peek", {Value::make_i32(0)}), 6u);
  ASSERT_TRUE(call(store, *(*inst)->exported_function("bump"), {}).ok());
  EXPECT_EQ(shared->get().i64, 2u);  // the import is shared, not copied
}

TEST(InstanceTest, MemoryOverTheStoreLimitIsAResourceError) {
  StoreLimits limits;
  limits.max_memory_pages = 8;
  Store store(limits);
  auto m = load_wat(R"((module (memory 9)))");
  ASSERT_TRUE(m);
  auto r = instantiate(store, m, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::resource);
  auto ok = load_wat(
      R"((module (memory 8 100) (func (export "grow") (result i32) (memory.grow (i32.const 1)))))");
  ASSERT_TRUE(ok);
  auto inst = instantiate(store, ok, {});
  ASSERT_TRUE(inst.ok());
  EXPECT_EQ(call_i32(store, *inst, "grow"), 0xFFFFFFFFu);
}

TEST(InstanceTest, ValueToString) {
  EXPECT_EQ(to_string(Value::make_i32(static_cast<uint32_t>(-5))), "i32:-5");
  EXPECT_EQ(to_string(Value::make_i64(42)), "i64:42");
  EXPECT_EQ(to_string(Value::make_f64(1.5)), "f64:1.5");
  EXPECT_EQ(to_string(Value::make_f32_bits(0x7FC00000)), "f32:nan");
  EXPECT_EQ(to_string(Value::make_ref(ValType::funcref, 0)), "funcref:null");
  EXPECT_EQ((Trap{TrapKind::integer_divide_by_zero, {}, 0}.message()), "integer divide by zero");
  EXPECT_EQ((Trap{TrapKind::host_error, "x", 0}.message()), "host error: x");
}

}  // namespace
}  // namespace tollgate::runtime
