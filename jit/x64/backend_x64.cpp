// x86-64 backend: the entry trampoline and the chunks the module driver compiles functions into.
// SPDX-License-Identifier: Apache-2.0
#include "jit/x64/backend_x64.hpp"

#include <asmjit/asmjit.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "jit/fault_handler.hpp"
#include "jit/module_compiler.hpp"
#include "jit/x64/masm_x64.hpp"

namespace tollgate::jit::x64 {
namespace {

namespace ax = asmjit::x86;

// Records the first asmjit failure so compilation reports it as an Error instead of going on.
class ErrorRecorder : public asmjit::ErrorHandler {
 public:
  void handleError(asmjit::Error err, const char* message, asmjit::BaseEmitter*) override {
    if (error == asmjit::kErrorOk) {
      error = err;
      text = message != nullptr && message[0] != '\0' ? message : "error";
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

namespace {

// One chunk of a module's functions (jit/module_compiler.hpp): its own code buffer, starting
// with a copy of the trampoline and trap exit its functions' stubs jump to.
class Chunk {
 public:
  Chunk(bool dump, size_t instrs) {
    holder_.init(asmjit::Environment::host());
    // Growing the code buffer as it fills copies it again and again: start near its final size
    // (about 8 bytes of x86-64 per IR instruction).
    holder_.reserveBuffer(&holder_.textSection()->buffer(), 8 * instrs + 4096);
    holder_.setErrorHandler(&errors_);
    if (dump)
      holder_.setLogger(&dump_);
    as_.emplace(&holder_);
    trampoline_ = as_->newLabel();
    trap_exit_ = as_->newLabel();
    oob_ = as_->newLabel();
    emit_trampoline(*as_, trampoline_, trap_exit_, oob_);
  }

  Label new_label() { return Label{as_->newLabel().id()}; }
  void begin_function() { as_->align(asmjit::AlignMode::kCode, 16); }
  Masm masm() { return Masm(*as_, trap_exit_, &far_calls_); }
  const std::string& error() const { return errors_.text; }
  size_t finish() {
    holder_.flatten();
    holder_.resolveUnresolvedLinks();
    return holder_.codeSize();
  }
  size_t offset(Label l) const { return holder_.labelOffsetFromBase(l.id); }
  size_t trampoline_offset() const { return holder_.labelOffsetFromBase(trampoline_); }
  size_t oob_offset() const { return holder_.labelOffsetFromBase(oob_); }
  std::span<const FarCall> far_calls() const { return far_calls_; }
  void copy_to(uint8_t* dst, uintptr_t address) {
    holder_.relocateToBase(address);
    holder_.copyFlattenedData(dst, holder_.codeSize());
  }
  /// `call rel32` ending at `site`: the displacement to `target`.
  static void patch_far_call(uint8_t* code, size_t site, size_t target) {
    const auto rel =
        static_cast<int32_t>(static_cast<int64_t>(target) - static_cast<int64_t>(site));
    std::memcpy(code + site - 4, &rel, 4);
  }
  static void flush_icache(void*, size_t) {}  // x86 keeps instruction fetch coherent

 private:
  asmjit::CodeHolder holder_;
  ErrorRecorder errors_;
  asmjit::FileLogger dump_{stderr};
  std::optional<ax::Assembler> as_;
  asmjit::Label trampoline_, trap_exit_, oob_;
  std::vector<FarCall> far_calls_;
};

}  // namespace

runtime::Result<std::shared_ptr<const CompiledModule>> compile_module(
    const runtime::Module& module,
    const CompileOptions& options) {
  if (!host_supported())
    return runtime::Error{runtime::ErrorKind::unsupported, 0,
                          "jit: this CPU lacks SSE4.1, LZCNT, BMI1 or POPCNT"};
  return compile_module_chunked<Chunk>(
      module, options, CodeRangeHooks{&register_code_range, &unregister_code_range});
}

}  // namespace tollgate::jit::x64
