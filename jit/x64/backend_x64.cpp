// x86-64 backend: the entry trampoline, whole-module compilation and the code's lifetime.
// SPDX-License-Identifier: Apache-2.0
#include "jit/x64/backend_x64.hpp"

#include <asmjit/asmjit.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "jit/compiler.hpp"
#include "jit/x64/masm_x64.hpp"

namespace tollgate::jit::x64 {
namespace {

namespace ax = asmjit::x86;

asmjit::JitRuntime& code_runtime() {
  // Never destroyed: code is freed with its Module, which may die during static destruction.
  static asmjit::JitRuntime& rt = *new asmjit::JitRuntime;
  return rt;
}

// Records the first asmjit failure so compilation reports it as an Error instead of going on.
class ErrorRecorder : public asmjit::ErrorHandler {
 public:
  void handleError(asmjit::Error err, const char* message, asmjit::BaseEmitter*) override {
    if (error == asmjit::kErrorOk) {
      error = err;
      text = message;
    }
  }
  asmjit::Error error = asmjit::kErrorOk;
  std::string text;
};

// uint32_t trampoline(ExecContext* ctx, uint64_t* fp, const void* entry): saves the callee-saved
// registers, the previous trap-exit stack pointer and the native stack limit, pins ctx/fp/memory
// base/fuel (rbp, stored back to ctx->fuel on return and on a trap), lowers the stack limit to
// enforce the call depth (masm_x64.hpp), calls `entry`.
// A trap anywhere below jumps to `trap_exit`, which restores the stack pointer saved here, so no
// generated frame is ever unwound by anything but this code.
void emit_trampoline(ax::Assembler& as,
                     asmjit::Label entry,
                     asmjit::Label trap_exit,
                     asmjit::Label oob) {
  const asmjit::Label leave = as.newLabel();
  as.bind(entry);
  as.push(ax::rbp);
  as.push(ax::rbx);
  as.push(ax::r12);
  as.push(ax::r13);
  as.push(ax::r14);
  as.push(ax::r15);
  as.push(ax::qword_ptr(ax::rdi, ctx_offset::kSavedSp));  // nested activations restore it
  as.push(ax::qword_ptr(ax::rdi, ctx_offset::kNativeStackLimit));
  as.mov(ax::eax, ax::dword_ptr(ax::rdi, ctx_offset::kDepthLeft));
  as.push(ax::rax);  // the depth at entry, at [saved_sp]; nine pushes keep rsp 16-byte aligned
  as.mov(ax::qword_ptr(ax::rdi, ctx_offset::kSavedSp), ax::rsp);
  as.mov(ax::r15, ax::rdi);
  as.mov(ax::r14, ax::rsi);
  as.mov(ax::r13, ax::qword_ptr(ax::r15, ctx_offset::kMemBase));
  as.mov(ax::rbp, ax::qword_ptr(ax::r15, ctx_offset::kFuel));
  // Frame k (k = 1 for `entry`) has rsp = T - 16k after its prologue's sub: allow k <= depth.
  const asmjit::Label native_binds = as.newLabel();
  as.shl(ax::rax, 4);
  as.mov(ax::rcx, ax::rsp);
  as.sub(ax::rcx, ax::rax);
  as.jb(native_binds);
  as.cmp(ax::rcx, ax::qword_ptr(ax::r15, ctx_offset::kNativeStackLimit));
  as.jbe(native_binds);
  as.mov(ax::qword_ptr(ax::r15, ctx_offset::kNativeStackLimit), ax::rcx);
  as.bind(native_binds);
  as.call(ax::rdx);
  as.mov(ax::qword_ptr(ax::r15, ctx_offset::kFuel), ax::rbp);
  as.xor_(ax::eax, ax::eax);
  as.bind(leave);
  as.add(ax::rsp, 8);
  as.pop(ax::qword_ptr(ax::r15, ctx_offset::kNativeStackLimit));
  as.pop(ax::qword_ptr(ax::r15, ctx_offset::kSavedSp));
  as.pop(ax::r15);
  as.pop(ax::r14);
  as.pop(ax::r13);
  as.pop(ax::r12);
  as.pop(ax::rbx);
  as.pop(ax::rbp);
  as.ret();
  as.bind(trap_exit);
  as.mov(ax::qword_ptr(ax::r15, ctx_offset::kFuel), ax::rbp);
  as.mov(ax::rsp, ax::qword_ptr(ax::r15, ctx_offset::kSavedSp));
  as.mov(ax::eax, 1);
  as.jmp(leave);
  // Where the guard-region fault handler resumes a faulting access (r15 is the context).
  as.bind(oob);
  as.mov(ax::byte_ptr(ax::r15, ctx_offset::kTrapKind),
         static_cast<uint8_t>(runtime::TrapKind::memory_out_of_bounds));
  as.mov(ax::byte_ptr(ax::r15, ctx_offset::kTrapped), 1);
  as.jmp(trap_exit);
}

}  // namespace

bool host_supported() {
  const asmjit::CpuFeatures::X86& f = asmjit::CpuInfo::host().features().x86();
  return f.hasSSE4_1() && f.hasLZCNT() && f.hasBMI() && f.hasPOPCNT();
}

runtime::Result<std::shared_ptr<const CompiledModule>> compile_module(
    const runtime::Module& module,
    const CompileOptions& options) {
  if (!host_supported())
    return runtime::Error{runtime::ErrorKind::unsupported, 0,
                          "jit: this CPU lacks SSE4.1, LZCNT, BMI1 or POPCNT"};
  asmjit::JitRuntime& rt = code_runtime();
  asmjit::CodeHolder holder;
  holder.init(rt.environment());
  ErrorRecorder errors;
  holder.setErrorHandler(&errors);
  // TOLLGATE_JIT_DUMP=1 prints the generated assembly to stderr (for reading the code quality).
  asmjit::FileLogger dump(stderr);
  if (const char* env = std::getenv("TOLLGATE_JIT_DUMP"); env != nullptr && env[0] == '1')
    holder.setLogger(&dump);
  // Growing the code buffer as it fills copies it again and again: start near its final size
  // (about 8 bytes of x86-64 per IR instruction).
  size_t instrs = 0;
  for (const runtime::ir::FuncCode& code : module.codes)
    instrs += code.code.size();
  holder.reserveBuffer(&holder.textSection()->buffer(), 8 * instrs + 4096);
  ax::Assembler as(&holder);

  const asmjit::Label trampoline = as.newLabel();
  const asmjit::Label trap_exit = as.newLabel();
  const asmjit::Label oob = as.newLabel();
  emit_trampoline(as, trampoline, trap_exit, oob);

  const size_t n = module.codes.size();
  std::vector<Label> entries;
  entries.reserve(n);
  for (size_t i = 0; i < n; ++i)
    entries.push_back(Label{as.newLabel().id()});
  ModuleEnv env{&module, entries, options.bounds};
  for (size_t i = 0; i < n; ++i) {
    as.align(asmjit::AlignMode::kCode, 16);
    Masm masm(as, trap_exit);
    FunctionCompiler<Masm> compiler(masm, env,
                                    static_cast<runtime::FuncIdx>(module.num_imported_funcs + i));
    TG_TRY(compiler.compile());
    if (errors.error != asmjit::kErrorOk)
      break;
  }
  if (errors.error != asmjit::kErrorOk)
    return runtime::Error{runtime::ErrorKind::unsupported, 0, "jit: asmjit: " + errors.text};

  void* base = nullptr;
  if (rt.add(&base, &holder) != asmjit::kErrorOk)
    return runtime::Error{runtime::ErrorKind::resource, 0, "jit: cannot map executable code"};
  const size_t size = holder.codeSize();
  const bool guarded = options.bounds == BoundsMode::guard_region;
  std::shared_ptr<void> code(base, [guarded](void* p) {
    if (guarded)
      unregister_code_range(p);
    code_runtime().release(p);
  });
  auto at = [&](uint32_t label) {
    return static_cast<const void*>(static_cast<const uint8_t*>(base) +
                                    holder.labelOffsetFromBase(label));
  };
  std::vector<const void*> addresses;
  addresses.reserve(n);
  for (const Label& l : entries)
    addresses.push_back(at(l.id));
  if (guarded && !register_code_range(base, size, at(oob.id())))
    return runtime::Error{runtime::ErrorKind::resource, 0, "jit: too many guard-region modules"};
  auto tramp = reinterpret_cast<CompiledModule::Trampoline>(const_cast<void*>(at(trampoline.id())));
  return std::make_shared<const CompiledModule>(module, options.bounds, std::move(code), tramp,
                                                std::move(addresses), size);
}

}  // namespace tollgate::jit::x64
