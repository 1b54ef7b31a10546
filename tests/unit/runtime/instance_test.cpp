// Instantiation (import checks, segment order, partial effects, start) and the Linker.
// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "runtime/store.hpp"
#include "tests/unit/runtime/tiers.hpp"
#include "tests/utils/wat.hpp"

namespace tollgate::runtime {
namespace {

using test::load_wat;
using test::TierStore;

class InstanceTest : public test::TierTest {};
TG_ON_EVERY_TIER(InstanceTest);

class InstancePreTest : public test::TierTest {};
TG_ON_EVERY_TIER(InstancePreTest);

uint32_t call_i32(Store& store,
                  Instance* inst,
                  std::string_view name,
                  std::vector<Value> args = {}) {
  Function* f = inst->exported_function(name);
  if (f == nullptr) {
    ADD_FAILURE() << "no export " << name;
    return 0xDEADBEEF;
  }
  EXPECT_TRUE(test::on_expected_tier(*f)) << name << " would not run on the JIT";
  CallResult r = call(store, *f, args);
  EXPECT_TRUE(r.ok()) << (r.trap ? r.trap->message() : "");
  return r.ok() && !r.values.empty() ? r.values[0].i32 : 0xDEADBEEF;
}

TEST_P(InstanceTest, ExportsAndStartRunAfterSegments) {
  TierStore store;
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

TEST_P(InstanceTest, SegmentFailureIsUninstantiableAndEarlierEffectsPersist) {
  TierStore store;
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

TEST_P(InstanceTest, StartTrapIsUninstantiable) {
  TierStore store;
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

TEST_P(InstanceTest, LinkerReportsUnlinkableImports) {
  TierStore store;
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

TEST_P(InstanceTest, ImportedFunctionsRunInTheirOwnInstance) {
  TierStore store;
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

TEST_P(InstanceTest, ImportedGlobalsInitialiseAndPassiveSegmentsWait) {
  TierStore store;
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

TEST_P(InstanceTest, MemoryOverTheStoreLimitIsAResourceError) {
  StoreLimits limits;
  limits.max_memory_pages = 8;
  TierStore store(limits);
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

// ---- InstancePre: prepared instantiation and the instance pool ----

// Exercises every piece of state instantiation sets up: memory (an active and a passive data
// segment), a mutable global, a table (active, passive and declarative element segments), the
// start function, and a host import that keeps its per-store state in Store::host_data.
constexpr std::string_view kStatefulModule = R"((module
  (type $t (func (result i32)))
  (import "host" "note" (func $note (param i32)))
  (memory (export "mem") 2 20)
  (table $tab (export "tab") 3 10 funcref)
  (global $g (export "g") (mut i32) (i32.const 7))
  (global $starts (mut i32) (i32.const 0))
  (data (i32.const 100) "init")
  (data $pass "pq")
  (elem (i32.const 0) $one)
  (elem $pelem func $two)
  (elem declare func $three)
  (func $one (type $t) (i32.const 1))
  (func $two (type $t) (i32.const 2))
  (func $three (type $t) (i32.const 3))
  (func $start
    (global.set $starts (i32.add (global.get $starts) (i32.const 1)))
    (call $note (global.get $starts)))
  (start $start)
  (func (export "starts") (result i32) (global.get $starts))
  (func (export "probe") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "pages") (result i32) (memory.size))
  (func (export "tsize") (result i32) (table.size $tab))
  (func (export "callt") (param i32) (result i32) (call_indirect (type $t) (local.get 0)))
  (func (export "active_init") (memory.init 0 (i32.const 0) (i32.const 0) (i32.const 1)))
  (func (export "passive_init") (result i32)
    (memory.init $pass (i32.const 400) (i32.const 0) (i32.const 2))
    (table.init $tab $pelem (i32.const 2) (i32.const 0) (i32.const 1))
    (i32.load16_u (i32.const 400)))
  (func (export "dirty")
    (i32.store (i32.const 100) (i32.const 0xdeadbeef))
    (i32.store (i32.const 70000) (i32.const 0x5ec2e7))
    (drop (memory.grow (i32.const 3)))
    (i32.store (i32.const 200000) (i32.const 0x5ec2e7))
    (global.set $g (i32.const 99))
    (table.set $tab (i32.const 1) (ref.func $three))
    (drop (table.grow $tab (ref.func $two) (i32.const 2)))
    (table.init $tab $pelem (i32.const 2) (i32.const 0) (i32.const 1))
    (elem.drop $pelem)
    (memory.init $pass (i32.const 300) (i32.const 0) (i32.const 2))
    (data.drop $pass))
))";

const char kNotesKey = 0;

// A host store with `host.note`, which appends its argument to the vector bound to the calling
// store (a host error when none is).
struct NoteHost {
  TierStore store;
  Function* note = nullptr;
  NoteHost() {
    note = store.create_host_function(
        FuncType{{ValType::i32}, {}},
        [](HostContext& hc, std::span<const Value> args, std::span<Value>) -> std::optional<Trap> {
          auto* notes = static_cast<std::vector<uint32_t>*>(hc.store.host_data(&kNotesKey));
          if (notes == nullptr)
            return Trap{TrapKind::host_error, "no notes bound", 0};
          notes->push_back(args[0].i32);
          return std::nullopt;
        });
  }
};

// The function index of a table entry (-1 for null), so tables of different instances compare.
int64_t table_entry_index(const Instance& inst, RefBits ref) {
  if (ref == 0)
    return -1;
  for (size_t i = 0; i < inst.funcs.size(); ++i)
    if (reinterpret_cast<RefBits>(inst.funcs[i]) == ref)
      return static_cast<int64_t>(i);
  return -2;
}

bool traps(Store& store, Instance* inst, std::string_view name, std::vector<Value> args = {}) {
  Function* f = inst->exported_function(name);
  return f != nullptr && !call(store, *f, args).ok();
}

TEST_P(InstancePreTest, FreshInstancesAreIndistinguishableFromNewOnes) {
  auto m = load_wat(kStatefulModule);
  ASSERT_TRUE(m);
  NoteHost host;
  Linker linker;
  linker.define("host", "note", Extern::of(host.note));

  // The reference: plain instantiation in its own store.
  TierStore ref_store;
  std::vector<uint32_t> ref_notes;
  ref_store.set_host_data(&kNotesKey, &ref_notes);
  auto ref = linker.instantiate(ref_store, m);
  ASSERT_TRUE(ref.ok()) << ref.error().message;
  EXPECT_EQ(ref_notes, std::vector<uint32_t>{1});
  const Memory& ref_mem = *(*ref)->memories[0];
  const Table& ref_tab = *(*ref)->tables[0];

  auto pre = linker.prepare(m);
  ASSERT_TRUE(pre.ok()) << pre.error().message;
  EXPECT_TRUE((*pre)->pooled());
  const uint8_t* first_data = nullptr;
  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE(round);
    TierStore store;
    std::vector<uint32_t> notes;
    store.set_host_data(&kNotesKey, &notes);
    auto inst = (*pre)->instantiate(store);
    ASSERT_TRUE(inst.ok()) << inst.error().message;
    Instance* in = *inst;
    EXPECT_EQ(in->store, &store);
    // The start function ran once, in this store, with the host state bound to it.
    EXPECT_EQ(notes, std::vector<uint32_t>{1});
    EXPECT_EQ(call_i32(store, in, "starts"), 1u);
    // Memory: same size and every byte equal to the reference's.
    const Memory& mem = *in->memories[0];
    ASSERT_EQ(mem.size, ref_mem.size);
    EXPECT_EQ(std::memcmp(mem.data, ref_mem.data, mem.size), 0);
    EXPECT_EQ(mem.max_pages, ref_mem.max_pages);
    EXPECT_EQ(call_i32(store, in, "pages"), 2u);
    // Globals, tables, segment state.
    EXPECT_EQ(in->find_export("g")->global->get().i32, 7u);
    const Table& tab = *in->tables[0];
    ASSERT_EQ(tab.size(), ref_tab.size());
    for (uint32_t i = 0; i < tab.size(); ++i)
      EXPECT_EQ(table_entry_index(*in, tab.elems[i]), table_entry_index(**ref, ref_tab.elems[i]));
    EXPECT_EQ(tab.max_size, ref_tab.max_size);
    EXPECT_EQ(call_i32(store, in, "callt", {Value::make_i32(0)}), 1u);
    EXPECT_TRUE(traps(store, in, "callt", {Value::make_i32(1)}));
    EXPECT_TRUE(traps(store, in, "active_init"));  // active segments are dropped
    // The slot is reused: same memory, not a new reservation.
    if (round == 0)
      first_data = mem.data;
    else
      EXPECT_EQ(mem.data, first_data);
    // Passive segments are intact, then everything gets changed before the store dies.
    EXPECT_EQ(call_i32(store, in, "passive_init"), uint32_t{'p'} | uint32_t{'q'} << 8);
    ASSERT_TRUE(call(store, *in->exported_function("dirty"), {}).ok());
    EXPECT_EQ(call_i32(store, in, "pages"), 5u);
    EXPECT_EQ(call_i32(store, in, "probe", {Value::make_i32(200000)}), 0x5ec2e7u);
    EXPECT_EQ(call_i32(store, in, "tsize"), 5u);
    EXPECT_EQ(call_i32(store, in, "callt", {Value::make_i32(1)}), 3u);
    EXPECT_TRUE(traps(store, in, "passive_init"));  // both passive segments now dropped
  }
}

TEST_P(InstancePreTest, NoSecretSurvivesIntoTheNextInstance) {
  // `leak` reports any non-zero byte outside the data segment (its address + 1, 0 if none),
  // `plant` writes a secret over the data, into every 1 KiB of memory and grown pages.
  auto m = load_wat(R"((module
    (memory (export "mem") 2 64)
    (data (i32.const 16) "\01\02\03\04")
    (func (export "leak") (result i32) (local $a i32) (local $end i32)
      (local.set $end (i32.mul (memory.size) (i32.const 65536)))
      (block $done (loop $scan
        (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
        (if (i32.and (i32.ne (i32.load8_u (local.get $a)) (i32.const 0))
                     (i32.or (i32.lt_u (local.get $a) (i32.const 16))
                             (i32.ge_u (local.get $a) (i32.const 20))))
          (then (return (i32.add (local.get $a) (i32.const 1)))))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (br $scan)))
      (i32.const 0))
    (func (export "data") (result i32) (i32.load (i32.const 16)))
    (func (export "plant") (local $a i32) (local $end i32)
      (drop (memory.grow (i32.const 6)))
      (local.set $end (i32.mul (memory.size) (i32.const 65536)))
      (block $done (loop $fill
        (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
        (i32.store (local.get $a) (i32.const 0x5ec2e75e))
        (local.set $a (i32.add (local.get $a) (i32.const 1024)))
        (br $fill)))
      (i32.store (i32.const 16) (i32.const 0x5ec2e75e)))
    (func (export "pages") (result i32) (memory.size))
  ))");
  ASSERT_TRUE(m);
  auto pre = InstancePre::create(m, {});
  ASSERT_TRUE(pre.ok()) << pre.error().message;
  ASSERT_TRUE((*pre)->pooled());
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    TierStore store;
    auto inst = (*pre)->instantiate(store);
    ASSERT_TRUE(inst.ok()) << inst.error().message;
    EXPECT_EQ(call_i32(store, *inst, "pages"), 2u);
    EXPECT_EQ(call_i32(store, *inst, "leak"), 0u);
    EXPECT_EQ(call_i32(store, *inst, "data"), 0x04030201u);
    ASSERT_TRUE(call(store, *(*inst)->exported_function("plant"), {}).ok());
    EXPECT_EQ(call_i32(store, *inst, "pages"), 8u);
    EXPECT_EQ(call_i32(store, *inst, "leak"), 1u);
  }
  // Stores on other threads, several at once, get the same clean start.
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        TierStore store;
        auto inst = (*pre)->instantiate(store);
        if (!inst.ok()) {
          ++failures;
          continue;
        }
        auto run = [&](std::string_view name) {
          CallResult r = call(store, *(*inst)->exported_function(name), {});
          return r.ok() && !r.values.empty() ? r.values[0].i32 : 0xDEADBEEFu;
        };
        if (run("pages") != 2 || run("leak") != 0 || run("data") != 0x04030201u)
          ++failures;
        call(store, *(*inst)->exported_function("plant"), {});
      }
    });
  }
  for (std::thread& t : threads)
    t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_P(InstancePreTest, EachStoreItsOwnLimits) {
  auto m = load_wat(R"((module (memory 1 100) (table 1 funcref)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "tgrow") (param i32) (result i32) (table.grow 0 (ref.null func) (local.get 0)))))");
  ASSERT_TRUE(m);
  auto pre = InstancePre::create(m, {});
  ASSERT_TRUE(pre.ok());
  ASSERT_TRUE((*pre)->pooled());
  {
    StoreLimits limits;
    limits.max_memory_pages = 2;
    limits.max_table_elems = 2;
    TierStore store(limits);
    auto inst = (*pre)->instantiate(store);
    ASSERT_TRUE(inst.ok());
    EXPECT_EQ(call_i32(store, *inst, "grow", {Value::make_i32(1)}), 1u);
    EXPECT_EQ(call_i32(store, *inst, "grow", {Value::make_i32(1)}), 0xFFFFFFFFu);
    EXPECT_EQ(call_i32(store, *inst, "tgrow", {Value::make_i32(1)}), 1u);
    EXPECT_EQ(call_i32(store, *inst, "tgrow", {Value::make_i32(1)}), 0xFFFFFFFFu);
  }
  TierStore store;  // default limits, very likely the same slot
  auto inst = (*pre)->instantiate(store);
  ASSERT_TRUE(inst.ok());
  EXPECT_EQ(call_i32(store, *inst, "grow", {Value::make_i32(50)}), 1u);
  EXPECT_EQ(call_i32(store, *inst, "tgrow", {Value::make_i32(50)}), 1u);
  // A minimum over the store's limit is the same resource error as plain instantiation gives.
  auto big = load_wat(R"((module (memory 9)))");
  ASSERT_TRUE(big);
  auto big_pre = InstancePre::create(big, {});
  ASSERT_TRUE(big_pre.ok());
  StoreLimits small;
  small.max_memory_pages = 8;
  TierStore small_store(small);
  auto r = (*big_pre)->instantiate(small_store);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::resource);
  EXPECT_EQ(r.error().message, instantiate(small_store, big, {}).error().message);
}

TEST_P(InstancePreTest, OtherModulesInstantiateAsUsual) {
  // An imported memory is shared state: no pool, plain instantiation into that memory.
  TierStore host;
  auto memory = host.create_memory(MemoryType{Limits{1, std::nullopt}});
  ASSERT_TRUE(memory.ok());
  auto m = load_wat(R"((module (import "env" "mem" (memory 1)) (data (i32.const 0) "\2a")))");
  ASSERT_TRUE(m);
  Linker linker;
  linker.define("env", "mem", Extern::of(*memory));
  auto pre = linker.prepare(m);
  ASSERT_TRUE(pre.ok()) << pre.error().message;
  EXPECT_FALSE((*pre)->pooled());
  TierStore store;
  ASSERT_TRUE((*pre)->instantiate(store).ok());
  EXPECT_EQ((*memory)->data[0], 42);
  // Segments out of bounds: every instantiation fails the way plain instantiation does.
  auto oob = load_wat(R"((module (memory 1) (data (i32.const 65535) "ab")))");
  ASSERT_TRUE(oob);
  auto oob_pre = InstancePre::create(oob, {});
  ASSERT_TRUE(oob_pre.ok());
  EXPECT_FALSE((*oob_pre)->pooled());
  auto r = (*oob_pre)->instantiate(store);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::uninstantiable);
  // Unknown and mismatched imports are reported when preparing.
  auto needs = load_wat(R"((module (import "host" "note" (func (param i32)))))");
  ASSERT_TRUE(needs);
  auto missing = Linker().prepare(needs);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::unlinkable);
  Function* wrong = host.create_host_function(
      FuncType{},
      [](HostContext&, std::span<const Value>, std::span<Value>) { return std::optional<Trap>(); });
  auto mismatched = InstancePre::create(needs, {Extern::of(wrong)});
  ASSERT_FALSE(mismatched.ok());
  EXPECT_EQ(mismatched.error().kind, ErrorKind::unlinkable);
}

TEST_P(InstancePreTest, StartTrapFailsEveryInstantiation) {
  auto m = load_wat(R"((module (memory 1) (global $n (mut i32) (i32.const 0))
    (func $start (global.set $n (i32.add (global.get $n) (i32.const 1)))
      (if (i32.eq (global.get $n) (i32.const 1)) (then unreachable)))
    (start $start)))");
  ASSERT_TRUE(m);
  auto pre = InstancePre::create(m, {});
  ASSERT_TRUE(pre.ok());
  for (int round = 0; round < 3; ++round) {
    TierStore store;
    auto r = (*pre)->instantiate(store);
    ASSERT_FALSE(r.ok());  // the global starts at 0 every time, so the start traps every time
    EXPECT_EQ(r.error().kind, ErrorKind::uninstantiable);
  }
}

TEST_P(InstancePreTest, HostCallsFindTheirStoresState) {
  auto m = load_wat(kStatefulModule);
  ASSERT_TRUE(m);
  NoteHost host;
  auto pre = InstancePre::create(m, {Extern::of(host.note)});
  ASSERT_TRUE(pre.ok());
  TierStore unbound;
  auto r = (*pre)->instantiate(unbound);  // the start function's host call finds no state
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("no notes bound"), std::string::npos);
  TierStore a, b;
  std::vector<uint32_t> notes_a, notes_b;
  a.set_host_data(&kNotesKey, &notes_a);
  b.set_host_data(&kNotesKey, &notes_b);
  ASSERT_TRUE((*pre)->instantiate(a).ok());
  ASSERT_TRUE((*pre)->instantiate(b).ok());
  ASSERT_TRUE((*pre)->instantiate(b).ok());
  EXPECT_EQ(notes_a, std::vector<uint32_t>{1});
  EXPECT_EQ(notes_b, (std::vector<uint32_t>{1, 1}));
}

TEST(StoreTest, HostData) {
  TierStore store;
  int x = 0, y = 0;
  const char k1 = 0, k2 = 0;
  EXPECT_EQ(store.host_data(&k1), nullptr);
  store.set_host_data(&k1, &x);
  store.set_host_data(&k2, &y);
  EXPECT_EQ(store.host_data(&k1), &x);
  EXPECT_EQ(store.host_data(&k2), &y);
  store.set_host_data(&k1, &y);
  EXPECT_EQ(store.host_data(&k1), &y);
  store.set_host_data(&k1, nullptr);
  EXPECT_EQ(store.host_data(&k1), nullptr);
  EXPECT_EQ(store.host_data(&k2), &y);
}

TEST_P(InstanceTest, ValueToString) {
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
