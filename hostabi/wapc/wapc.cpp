// The waPC host: the nine `wapc` imports, guest initialisation and the `__guest_call` sequence.
// SPDX-License-Identifier: Apache-2.0
#include "hostabi/wapc/wapc.hpp"

#include <exception>

#include "hostabi/host_function.hpp"
#include "hostabi/linker.hpp"
#include "hostabi/wasi/wasi.hpp"

namespace tollgate::hostabi::wapc {

using runtime::HostContext;
using runtime::Trap;
using runtime::ValType;
using runtime::Value;

namespace {

constexpr ValType I = ValType::i32;

// The key shared imports find the bound host under (Store::host_data).
const char kHostDataKey = 0;

Trap unbound() {
  return host_trap("waPC: no waPC host is bound to this store");
}

Trap bad_pointer(std::string_view what) {
  return host_trap("waPC " + std::string(what) + ": guest pointer or length out of bounds");
}

}  // namespace

std::string trap_text(const Trap& trap) {
  if (trap.kind == runtime::TrapKind::interrupted)
    return std::string(kInterruptedMessage);
  // wasmtime's I32Exit text, which is what a Kubewarden user sees for a failing `_start`.
  if (trap.kind == runtime::TrapKind::exit)
    return "Exited with i32 exit status " + std::to_string(trap.exit_code);
  return trap.message();
}

WapcHost::WapcHost(HostCallHandler host_call, ConsoleLog console_log)
    : host_call_(std::move(host_call)), console_log_(std::move(console_log)) {}

void WapcHost::define_imports(runtime::Linker& linker,
                              runtime::Store& store,
                              const runtime::Module& module) {
  define(linker, store, module, [this](HostContext&) { return this; });
}

void WapcHost::define_shared_imports(runtime::Linker& linker,
                                     runtime::Store& owner,
                                     const runtime::Module& module) {
  define(linker, owner, module,
         [](HostContext& hc) { return static_cast<WapcHost*>(hc.store.host_data(&kHostDataKey)); });
}

void WapcHost::bind(runtime::Store& store) {
  store.set_host_data(&kHostDataKey, this);
}

void WapcHost::define(runtime::Linker& linker,
                      runtime::Store& store,
                      const runtime::Module& module,
                      Lookup host_of) {
  define_imported(
      linker, store, module, kModuleName,
      [host_of](std::string_view name) -> std::optional<HostDefinition> {
        if (name == "__guest_request")
          return HostDefinition{func_type({I, I}, {}),
                                [host_of](HostContext& hc, std::span<const Value> a,
                                          std::span<Value>) -> std::optional<Trap> {
                                  WapcHost* self = host_of(hc);
                                  if (self == nullptr)
                                    return unbound();
                                  WapcState* st = &self->state_;
                                  GuestMemory m = GuestMemory::of(hc);
                                  if (!m.write(a[0].i32, st->op))
                                    return bad_pointer("__guest_request");
                                  if (!m.write(a[1].i32, std::span<const uint8_t>(st->payload)))
                                    return bad_pointer("__guest_request");
                                  return std::nullopt;
                                }};
        if (name == "__guest_response" || name == "__guest_error") {
          bool is_error = name == "__guest_error";
          return HostDefinition{func_type({I, I}, {}),
                                [host_of, is_error](HostContext& hc, std::span<const Value> a,
                                                    std::span<Value>) -> std::optional<Trap> {
                                  WapcHost* self = host_of(hc);
                                  if (self == nullptr)
                                    return unbound();
                                  WapcState* st = &self->state_;
                                  const char* fn = is_error ? "__guest_error" : "__guest_response";
                                  if (a[1].i32 > kMaxGuestResponseBytes)
                                    return host_trap(std::string("waPC ") + fn + ": " +
                                                     std::to_string(a[1].i32) +
                                                     " bytes exceed the limit of " +
                                                     std::to_string(kMaxGuestResponseBytes));
                                  auto b = GuestMemory::of(hc).bytes(a[0].i32, a[1].i32);
                                  if (!b)
                                    return bad_pointer(fn);
                                  if (is_error)
                                    st->guest_error.emplace(b->begin(), b->end());
                                  else
                                    st->guest_response.emplace(b->begin(), b->end());
                                  return std::nullopt;
                                }};
        }
        if (name == "__host_call")
          return HostDefinition{
              func_type({I, I, I, I, I, I, I, I}, {I}),
              [host_of](HostContext& hc, std::span<const Value> a,
                        std::span<Value> r) -> std::optional<Trap> {
                WapcHost* self = host_of(hc);
                if (self == nullptr)
                  return unbound();
                WapcState* st = &self->state_;
                st->host_response.reset();
                st->host_error.reset();
                GuestMemory m = GuestMemory::of(hc);
                auto bd = m.string(a[0].i32, a[1].i32);
                auto ns = m.string(a[2].i32, a[3].i32);
                auto op = m.string(a[4].i32, a[5].i32);
                if (!bd || !ns || !op)
                  return bad_pointer("__host_call");
                if (a[7].i32 > kMaxHostCallBytes)
                  return host_trap("waPC __host_call: payload of " + std::to_string(a[7].i32) +
                                   " bytes exceeds the limit");
                auto payload = m.bytes(a[6].i32, a[7].i32);
                if (!payload)
                  return bad_pointer("__host_call");
                // The handler gets copies: it may run guest-unrelated code for a while, and the
                // guest memory must not be aliased by anything that outlives this call.
                std::string bd_s(*bd), ns_s(*ns), op_s(*op);
                std::vector<uint8_t> payload_v(payload->begin(), payload->end());
                HostCallOutcome out = HostCallOutcome::failure("no host call handler");
                // No exception may cross into the guest: a throwing handler is a failed call.
                try {
                  if (self->host_call_)
                    out = self->host_call_(bd_s, ns_s, op_s, payload_v);
                } catch (const std::exception& e) {
                  out = HostCallOutcome::failure(std::string("host call failed: ") + e.what());
                } catch (...) {
                  out = HostCallOutcome::failure("host call failed");
                }
                if (out.ok && out.data.size() > kMaxHostCallBytes)
                  out = HostCallOutcome::failure("host call response exceeds the size limit");
                if (out.ok) {
                  st->host_response.emplace(out.data.begin(), out.data.end());
                  r[0] = Value::make_i32(1);
                } else {
                  st->host_error = std::move(out.data);
                  r[0] = Value::make_i32(0);
                }
                return std::nullopt;
              }};
        if (name == "__host_response_len" || name == "__host_error_len") {
          bool is_error = name == "__host_error_len";
          return HostDefinition{
              func_type({}, {I}),
              [host_of, is_error](HostContext& hc, std::span<const Value>,
                                  std::span<Value> r) -> std::optional<Trap> {
                WapcHost* self = host_of(hc);
                if (self == nullptr)
                  return unbound();
                WapcState* st = &self->state_;
                size_t n = is_error ? (st->host_error ? st->host_error->size() : 0)
                                    : (st->host_response ? st->host_response->size() : 0);
                r[0] = Value::make_i32(static_cast<uint32_t>(n));
                return std::nullopt;
              }};
        }
        if (name == "__host_response" || name == "__host_error") {
          bool is_error = name == "__host_error";
          return HostDefinition{
              func_type({I}, {}),
              [host_of, is_error](HostContext& hc, std::span<const Value> a,
                                  std::span<Value>) -> std::optional<Trap> {
                WapcHost* self = host_of(hc);
                if (self == nullptr)
                  return unbound();
                WapcState* st = &self->state_;
                GuestMemory m = GuestMemory::of(hc);
                bool ok = true;
                if (is_error && st->host_error)
                  ok = m.write(a[0].i32, *st->host_error);
                else if (!is_error && st->host_response)
                  ok = m.write(a[0].i32, std::span<const uint8_t>(*st->host_response));
                if (!ok)
                  return bad_pointer(is_error ? "__host_error" : "__host_response");
                return std::nullopt;
              }};
        }
        if (name == "__console_log")
          return HostDefinition{func_type({I, I}, {}),
                                [host_of](HostContext& hc, std::span<const Value> a,
                                          std::span<Value>) -> std::optional<Trap> {
                                  WapcHost* self = host_of(hc);
                                  if (self == nullptr)
                                    return unbound();
                                  if (a[1].i32 > kMaxGuestResponseBytes)
                                    return host_trap("waPC __console_log: line too long");
                                  auto s = GuestMemory::of(hc).string(a[0].i32, a[1].i32);
                                  if (!s)
                                    return bad_pointer("__console_log");
                                  if (self->console_log_)
                                    self->console_log_(*s);
                                  return std::nullopt;
                                }};
        return std::nullopt;
      });
}

namespace {

bool is_unit_function(const runtime::Function* f) {
  return f && f->type.params.empty() && f->type.results.empty();
}

}  // namespace

WapcOutcome WapcHost::initialize(runtime::Store& store,
                                 runtime::Instance& instance,
                                 const runtime::CallOptions& options) {
  WapcOutcome out;
  for (std::string_view name : {"_start", "wapc_init"}) {
    runtime::Function* f = instance.exported_function(name);
    if (f == nullptr)
      continue;
    if (!is_unit_function(f)) {
      out.error = "waPC: export `" + std::string(name) + "` must have type [] -> []";
      return out;
    }
    runtime::CallResult r = runtime::call(store, *f, {}, options);
    // TinyGo's `_start` ends with proc_exit(0) even on success.
    if (r.trap && !(name == "_start" && wasi::is_clean_exit(*r.trap))) {
      out.trap = r.trap->kind;
      out.error = trap_text(*r.trap);
      return out;
    }
  }
  out.ok = true;
  return out;
}

WapcOutcome WapcHost::call(runtime::Store& store,
                           runtime::Instance& instance,
                           std::string_view op,
                           std::span<const uint8_t> payload,
                           const runtime::CallOptions& options) {
  WapcOutcome out;
  state_.guest_response.reset();
  state_.guest_error.reset();
  state_.host_response.reset();
  state_.host_error.reset();
  state_.op.assign(op);
  state_.payload.assign(payload.begin(), payload.end());

  runtime::Function* f = instance.exported_function("__guest_call");
  if (f == nullptr || f->type != func_type({I, I}, {I})) {
    out.error = "waPC: the module does not export `__guest_call` of type [i32 i32] -> [i32]";
    return out;
  }
  const Value args[] = {Value::make_i32(static_cast<uint32_t>(op.size())),
                        Value::make_i32(static_cast<uint32_t>(payload.size()))};
  runtime::CallResult r = runtime::call(store, *f, args, options);
  if (r.trap) {  // a trap counts as result 0 with the trap text
    out.trap = r.trap->kind;
    out.error = trap_text(*r.trap);
    return out;
  }
  const uint32_t result = r.values.empty() ? 0 : r.values[0].i32;
  if (result == 0) {
    out.error = state_.guest_error ? *state_.guest_error : "No error message set for call failure";
    return out;
  }
  if (state_.guest_response) {
    out.ok = true;
    out.response = std::move(*state_.guest_response);
    state_.guest_response.reset();
    return out;
  }
  out.error = state_.guest_error ? *state_.guest_error
                                 : "No error message OR response set for call success";
  return out;
}

}  // namespace tollgate::hostabi::wapc
