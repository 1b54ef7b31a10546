// AArch64 backend: the entry trampoline, whole-module compilation and the code's lifetime.
// SPDX-License-Identifier: Apache-2.0
#include "jit/a64/backend_a64.hpp"

#include <asmjit/arm/a64assembler.h>
#include <asmjit/core.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "jit/a64/masm_a64.hpp"
#include "jit/compiler.hpp"
#include "jit/fault_handler.hpp"

namespace tollgate::jit::a64 {
namespace {

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

// The trampoline's frame: frame record, x19-x28, d8-d15 (AAPCS64 callee-saved), then the
// previous ctx->saved_sp and ctx->native_stack_limit (nested activations restore them), the
// depth at entry (Masm::kEntryDepthSlot) and padding to 16 bytes.
constexpr int32_t kSavedGp = 16;
constexpr int32_t kSavedFp = kSavedGp + 5 * 16;
constexpr int32_t kPrevSavedSp = kSavedFp + 4 * 16;
constexpr int32_t kPrevStackLimit = kPrevSavedSp + 8;
static_assert(Masm::kEntryDepthSlot == kPrevStackLimit + 8);
constexpr int32_t kFrameSize = Masm::kEntryDepthSlot + 16;

// uint32_t trampoline(ExecContext* ctx, uint64_t* fp, const void* entry): saves the callee-saved
// registers and the previous trap-exit stack pointer, pins ctx/fp/memory base/fuel (x25, stored
// back to ctx->fuel on return and on a trap), lowers the stack limit to enforce the call depth
// (masm_a64.hpp), calls `entry`.
// A trap anywhere below jumps to `trap_exit`, which restores the stack pointer saved here, so no
// generated frame is ever unwound by anything but this code.
void emit_trampoline(aa::Assembler& as,
                     asmjit::Label entry,
                     asmjit::Label trap_exit,
                     asmjit::Label oob) {
  const asmjit::Label leave = as.newLabel();
  const aa::GpX ctx = aa::x(Masm::kCtx);
  as.bind(entry);
  as.stp(aa::x29, aa::x30, aa::ptr_pre(aa::sp, -kFrameSize));
  as.mov(aa::x29, aa::sp);
  for (uint32_t i = 0; i < 5; ++i)
    as.stp(aa::x(19 + 2 * i), aa::x(20 + 2 * i), aa::ptr(aa::sp, kSavedGp + 16 * i));
  for (uint32_t i = 0; i < 4; ++i)
    as.stp(aa::d(8 + 2 * i), aa::d(9 + 2 * i), aa::ptr(aa::sp, kSavedFp + 16 * i));
  as.ldr(aa::x16, aa::ptr(aa::x0, ctx_offset::kSavedSp));
  as.str(aa::x16, aa::ptr(aa::sp, kPrevSavedSp));
  as.ldr(aa::x16, aa::ptr(aa::x0, ctx_offset::kNativeStackLimit));
  as.str(aa::x16, aa::ptr(aa::sp, kPrevStackLimit));
  as.ldr(aa::w17, aa::ptr(aa::x0, ctx_offset::kDepthLeft));
  as.str(aa::x17, aa::ptr(aa::sp, Masm::kEntryDepthSlot));
  as.mov(aa::x16, aa::sp);
  as.str(aa::x16, aa::ptr(aa::x0, ctx_offset::kSavedSp));
  as.mov(ctx, aa::x0);
  as.mov(aa::x(Masm::kFrame), aa::x1);
  as.ldr(aa::x(Masm::kMemory), aa::ptr(ctx, ctx_offset::kMemBase));
  as.ldr(aa::x(Masm::kFuel), aa::ptr(ctx, ctx_offset::kFuel));
  // Frame k (k = 1 for `entry`) has sp = T - 16k after its prologue's push: allow k <= depth.
  const asmjit::Label native_binds = as.newLabel();
  as.subs(aa::x16, aa::x16, aa::x17, aa::lsl(4));
  as.b(asmjit::arm::CondCode::kLO, native_binds);
  as.ldr(aa::x15, aa::ptr(ctx, ctx_offset::kNativeStackLimit));
  as.cmp(aa::x16, aa::x15);
  as.b(asmjit::arm::CondCode::kLS, native_binds);
  as.str(aa::x16, aa::ptr(ctx, ctx_offset::kNativeStackLimit));
  as.bind(native_binds);
  as.blr(aa::x2);
  as.str(aa::x(Masm::kFuel), aa::ptr(ctx, ctx_offset::kFuel));
  as.mov(aa::w0, 0);
  as.bind(leave);
  as.ldr(aa::x16, aa::ptr(aa::sp, kPrevStackLimit));
  as.str(aa::x16, aa::ptr(ctx, ctx_offset::kNativeStackLimit));
  as.ldr(aa::x16, aa::ptr(aa::sp, kPrevSavedSp));
  as.str(aa::x16, aa::ptr(ctx, ctx_offset::kSavedSp));
  for (uint32_t i = 0; i < 4; ++i)
    as.ldp(aa::d(8 + 2 * i), aa::d(9 + 2 * i), aa::ptr(aa::sp, kSavedFp + 16 * i));
  for (uint32_t i = 0; i < 5; ++i)
    as.ldp(aa::x(19 + 2 * i), aa::x(20 + 2 * i), aa::ptr(aa::sp, kSavedGp + 16 * i));
  as.ldp(aa::x29, aa::x30, aa::ptr_post(aa::sp, kFrameSize));
  as.ret(aa::x30);
  as.bind(trap_exit);
  as.str(aa::x(Masm::kFuel), aa::ptr(ctx, ctx_offset::kFuel));
  as.ldr(aa::x16, aa::ptr(ctx, ctx_offset::kSavedSp));
  as.mov(aa::sp, aa::x16);
  as.mov(aa::w0, 1);
  as.b(leave);
  // Where the guard-region fault handler resumes a faulting access (x28 is the context).
  as.bind(oob);
  as.mov(aa::w16, static_cast<uint32_t>(runtime::TrapKind::memory_out_of_bounds));
  as.strb(aa::w16, aa::ptr(ctx, ctx_offset::kTrapKind));
  as.mov(aa::w16, 1);
  as.strb(aa::w16, aa::ptr(ctx, ctx_offset::kTrapped));
  as.b(trap_exit);
}

}  // namespace

bool host_supported() {
  return true;
}

runtime::Result<std::shared_ptr<const CompiledModule>> compile_module(
    const runtime::Module& module,
    const CompileOptions& options) {
  asmjit::JitRuntime& rt = code_runtime();
  asmjit::CodeHolder holder;
  holder.init(rt.environment());
  ErrorRecorder errors;
  holder.setErrorHandler(&errors);
  // TOLLGATE_JIT_DUMP=1 prints the generated assembly to stderr, as on x86-64.
  asmjit::FileLogger dump(stderr);
  if (const char* env = std::getenv("TOLLGATE_JIT_DUMP"); env != nullptr && env[0] == '1')
    holder.setLogger(&dump);
  aa::Assembler as(&holder);

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

}  // namespace tollgate::jit::a64
