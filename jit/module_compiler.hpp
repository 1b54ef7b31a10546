// The ISA-neutral whole-module driver: compiles chunks of functions on several threads and lays
// them out in one executable mapping.
// SPDX-License-Identifier: Apache-2.0
//
// The defined functions are cut into contiguous chunks of about equal IR size. Each chunk is
// compiled on its own (by whichever worker thread takes it next) into its own code buffer, with
// its own copy of the entry trampoline and trap exit, so the trap stubs of a chunk jump within it.
// A call to a function of another chunk is a "far" call (`Label::far_function`): the masm emits
// a call with a zero displacement and records where; once every chunk is laid out, the driver
// patches it to the callee's entry. Chunk 0's trampoline and out-of-bounds stub serve the module
// (every copy of them is the same code, so leaving through any chunk's trap exit is equivalent).
//
// The backend (jit/x64, jit/a64) provides a `Chunk` class that owns the ISA's assembler:
//
//   Chunk(bool dump, size_t instrs);       // dump: log the assembly; instrs: IR size to expect
//   Label new_label();                     // a function entry label
//   Masm masm();                           // for one function (after begin_function())
//   void begin_function();                 // aligns the next function's entry
//   std::string error() const;             // empty unless the assembler failed
//   size_t finish();                       // resolves labels; the chunk's code size
//   size_t offset(Label) const;            // of a bound label, after finish()
//   size_t trampoline_offset() const, oob_offset() const;
//   std::span<const FarCall> far_calls() const;
//   void copy_to(uint8_t* dst, uintptr_t address);  // relocated to run at `address`
//   static void patch_far_call(uint8_t* code, size_t site, size_t target);  // offsets in `code`
//   static void flush_icache(void* begin, size_t size);
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "jit/compiler.hpp"
#include "jit/jit.hpp"

namespace tollgate::jit {

/// IR instructions below which a module compiles on one thread (thread start-up would cost more
/// than it saves; about 1 ms of compilation).
inline constexpr size_t kMinInstrsPerThread = 16384;
/// Chunks per thread: several, so a thread the machine starves leaves work to the others.
inline constexpr size_t kChunksPerThread = 4;

/// Guard-region registration hooks of the backend (the fault handler's code ranges).
struct CodeRangeHooks {
  bool (*register_range)(const void* begin, size_t size, const void* oob_stub);
  void (*unregister_range)(const void* begin);
};

namespace detail {

/// Executable memory of a compiled module: mapped writable and pre-faulted in one go, filled,
/// then made read+execute (never both writable and executable).
struct CodeMapping {
  void* base = nullptr;
  size_t size = 0;
};

/// `populate`: fault every page in now, in one go (one thread fills it); else the threads
/// copying the chunks fault their own pages in parallel.
inline std::optional<CodeMapping> map_code(size_t size, bool populate) {
  const size_t page = 4096;
  size = (size + page - 1) / page * page;
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | (populate ? MAP_POPULATE : 0), -1, 0);
  if (p == MAP_FAILED)
    return std::nullopt;
  return CodeMapping{p, size};
}

}  // namespace detail

/// Compiles `module` with backend `Chunk` (see the file comment).
template <typename Chunk>
runtime::Result<std::shared_ptr<const CompiledModule>> compile_module_chunked(
    const runtime::Module& module,
    const CompileOptions& options,
    CodeRangeHooks hooks) {
  using Masm = decltype(std::declval<Chunk&>().masm());
  const size_t n = module.codes.size();
  // TOLLGATE_JIT_DUMP=1 prints the generated assembly to stderr, in order: one thread.
  const char* dump_env = std::getenv("TOLLGATE_JIT_DUMP");
  const bool dump = dump_env != nullptr && dump_env[0] == '1';

  // Cut points by IR size: chunk c holds functions [starts[c], starts[c + 1]).
  size_t instrs = 0;
  for (const runtime::ir::FuncCode& code : module.codes)
    instrs += code.code.size() + 1;
  const size_t hardware = std::max(1u, std::thread::hardware_concurrency());
  size_t threads = options.threads != 0 ? std::min<size_t>(options.threads, hardware) : hardware;
  threads = std::clamp<size_t>(std::min(threads, instrs / kMinInstrsPerThread), 1, 64);
  if (dump)
    threads = 1;
  const size_t chunks =
      std::max<size_t>(1, std::min(n, threads == 1 ? 1 : threads * kChunksPerThread));
  std::vector<uint32_t> starts{0};
  std::vector<uint32_t> chunk_of(n);
  {
    size_t seen = 0;
    for (size_t i = 0; i < n; ++i) {
      if (starts.size() < chunks && seen * chunks >= instrs * starts.size() && i > starts.back())
        starts.push_back(static_cast<uint32_t>(i));
      chunk_of[i] = static_cast<uint32_t>(starts.size() - 1);
      seen += module.codes[i].code.size() + 1;
    }
    starts.push_back(static_cast<uint32_t>(n));
  }
  const size_t count = starts.size() - 1;

  struct Done {
    std::unique_ptr<Chunk> chunk;
    std::vector<Label> entries;  ///< labels of the chunk's own functions
    std::optional<runtime::Error> error;
    size_t size = 0;
  };
  std::vector<Done> done(count);
  // Filled by `layout` once every chunk is compiled: where each chunk and function goes.
  std::vector<size_t> base_of(count);
  std::vector<size_t> entry_offset(n);
  size_t total = 0;
  std::optional<detail::CodeMapping> mapping;
  bool failed = false;
  const size_t workers = std::min(threads, count);
  auto layout = [&]() noexcept {
    for (const Done& d : done)
      failed = failed || d.error.has_value();
    if (failed)
      return;
    // Chunks one after the other, each 64-byte aligned.
    for (size_t c = 0; c < count; ++c) {
      base_of[c] = total;
      total += (done[c].size + 63) / 64 * 64;
      for (uint32_t i = starts[c]; i < starts[c + 1]; ++i)
        entry_offset[i] = base_of[c] + done[c].chunk->offset(done[c].entries[i - starts[c]]);
    }
    mapping = detail::map_code(std::max<size_t>(total, 1), workers == 1);
    failed = !mapping.has_value();
  };
  std::barrier<decltype(layout)> compiled(static_cast<std::ptrdiff_t>(workers), layout);
  std::atomic<size_t> next{0}, next_copy{0};
  auto work = [&] {
    {
      // One front-end state for every function this thread compiles: its vectors keep their
      // capacity from function to function.
      typename FunctionCompiler<Masm>::Scratch scratch;
      std::vector<Label> labels(n);
      for (size_t c; (c = next.fetch_add(1, std::memory_order_relaxed)) < count;) {
        Done& d = done[c];
        size_t chunk_instrs = 0;
        for (uint32_t i = starts[c]; i < starts[c + 1]; ++i)
          chunk_instrs += module.codes[i].code.size() + 1;
        d.chunk = std::make_unique<Chunk>(dump, chunk_instrs);
        Chunk& chunk = *d.chunk;
        for (size_t i = 0; i < n; ++i)
          labels[i] =
              chunk_of[i] == c ? chunk.new_label() : Label::far_function(static_cast<uint32_t>(i));
        const ModuleEnv env{&module, labels, options.bounds};
        for (uint32_t i = starts[c]; i < starts[c + 1]; ++i) {
          chunk.begin_function();
          Masm masm = chunk.masm();
          FunctionCompiler<Masm> compiler(
              masm, env, static_cast<runtime::FuncIdx>(module.num_imported_funcs + i), &scratch);
          if (runtime::Status s = compiler.compile(); !s) {
            d.error = s.error();
            break;
          }
          if (!chunk.error().empty())
            break;
        }
        if (!d.error && !chunk.error().empty())
          d.error =
              runtime::Error{runtime::ErrorKind::unsupported, 0, "jit: asmjit: " + chunk.error()};
        if (d.error)
          continue;
        d.size = chunk.finish();
        if (!chunk.error().empty()) {
          d.error =
              runtime::Error{runtime::ErrorKind::unsupported, 0, "jit: asmjit: " + chunk.error()};
          continue;
        }
        d.entries.assign(labels.begin() + starts[c], labels.begin() + starts[c + 1]);
      }
    }
    compiled.arrive_and_wait();
    if (failed)
      return;
    // Each chunk into its place, its far calls patched (they write only inside it), and its
    // assembler freed, in parallel.
    auto* bytes = static_cast<uint8_t*>(mapping->base);
    for (size_t c; (c = next_copy.fetch_add(1, std::memory_order_relaxed)) < count;) {
      Chunk& chunk = *done[c].chunk;
      chunk.copy_to(bytes + base_of[c], reinterpret_cast<uintptr_t>(bytes + base_of[c]));
      for (const FarCall& f : chunk.far_calls())
        Chunk::patch_far_call(bytes, base_of[c] + f.site, entry_offset[f.callee]);
      if (c != 0)
        done[c].chunk.reset();
    }
  };
  {
    std::vector<std::thread> helpers;
    helpers.reserve(workers);
    for (size_t t = 1; t < workers; ++t) {
      try {
        helpers.emplace_back(work);
      } catch (...) {
        // No thread to be had: the others take its chunks; it no longer counts at the barrier.
        compiled.arrive_and_drop();
      }
    }
    work();
    for (std::thread& t : helpers)
      t.join();
  }
  for (Done& d : done)
    if (d.error)
      return *d.error;
  if (!mapping)
    return runtime::Error{runtime::ErrorKind::resource, 0, "jit: cannot map executable code"};
  auto* bytes = static_cast<uint8_t*>(mapping->base);
  const size_t tramp_offset = done[0].chunk->trampoline_offset();
  const size_t oob_offset = done[0].chunk->oob_offset();
  done.clear();  // the assemblers' memory, before the mapping changes hands
  if (mprotect(mapping->base, mapping->size, PROT_READ | PROT_EXEC) != 0) {
    munmap(mapping->base, mapping->size);
    return runtime::Error{runtime::ErrorKind::resource, 0, "jit: cannot map executable code"};
  }
  Chunk::flush_icache(mapping->base, total);

  const bool guarded = options.bounds == BoundsMode::guard_region;
  const size_t mapped = mapping->size;
  std::shared_ptr<void> code(mapping->base, [guarded, mapped, hooks](void* p) {
    if (guarded)
      hooks.unregister_range(p);
    munmap(p, mapped);
  });
  std::vector<const void*> addresses(n);
  for (size_t i = 0; i < n; ++i)
    addresses[i] = bytes + entry_offset[i];
  if (guarded && !hooks.register_range(bytes, total, bytes + oob_offset))
    return runtime::Error{runtime::ErrorKind::resource, 0, "jit: too many guard-region modules"};
  auto tramp =
      reinterpret_cast<CompiledModule::Trampoline>(static_cast<void*>(bytes + tramp_offset));
  return std::make_shared<const CompiledModule>(module, options.bounds, std::move(code), tramp,
                                                std::move(addresses), total);
}

}  // namespace tollgate::jit
