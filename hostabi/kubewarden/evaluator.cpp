// Evaluating Kubewarden policies: a module loaded once, a fresh Store and instance per evaluation.
// SPDX-License-Identifier: Apache-2.0
#include "hostabi/kubewarden/evaluator.hpp"

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include <boost/json.hpp>

#include "hostabi/kubewarden/protocol.hpp"

#include "hostabi/host_function.hpp"
#include "hostabi/linker.hpp"
#include "hostabi/wapc/wapc.hpp"
#include "hostabi/wasi/wasi.hpp"
#include "runtime/store.hpp"

namespace tollgate::hostabi::kubewarden {

namespace json = boost::json;
using runtime::Error;
using runtime::ErrorKind;
using runtime::TrapKind;

// --- loading ----------------------------------------------------------------------------------

struct PreparedPolicy {
  runtime::Store host_store;  ///< owns the shared host functions; outlives the images
  std::shared_ptr<const runtime::InstancePre> wapc;  ///< WASI and waPC imports
  std::shared_ptr<const runtime::InstancePre> wasi;  ///< those and the WASI-mode `host.call`
};

namespace {

std::shared_ptr<const PreparedPolicy> prepare(const std::shared_ptr<const runtime::Module>& module);

}  // namespace

runtime::Result<std::shared_ptr<const PolicyModule>> make_policy(
    std::shared_ptr<const runtime::Module> module,
    std::optional<ExecutionMode> mode) {
  auto policy = std::make_shared<PolicyModule>();
  auto md = read_metadata(*module);
  if (!md)
    return md.take_error();
  if (md.value()) {
    policy->metadata = std::move(*md.value());
    policy->has_metadata = true;
  }
  policy->execution_mode = mode.value_or(policy->metadata.execution_mode);
  policy->prepared = prepare(module);
  policy->module = std::move(module);
  return std::shared_ptr<const PolicyModule>(std::move(policy));
}

bool prepare_code(const PolicyModule& policy, const runtime::Engine& engine) {
  return engine.prepare(*policy.module);
}

runtime::Result<std::shared_ptr<const PolicyModule>> load_policy(
    std::span<const uint8_t> wasm,
    std::optional<ExecutionMode> mode) {
  auto module = runtime::decode_module(wasm);
  if (!module)
    return module.take_error();
  return make_policy(std::move(module).value(), mode);
}

runtime::Status check_policy(const PolicyModule& policy) {
  if (policy.execution_mode == ExecutionMode::kubewarden_wapc) {
    if (!policy.metadata.protocol_version)
      return Error{ErrorKind::invalid, 0, std::string(kMissingProtocolVersion)};
    if (*policy.metadata.protocol_version != "v1")
      return Error{ErrorKind::invalid, 0,
                   "Policy has unsupported protocol version " + *policy.metadata.protocol_version};
  }
  return runtime::Ok{};
}

// --- deadlines --------------------------------------------------------------------------------

namespace {

// One thread sets the interrupt flags of every running evaluation when their deadlines pass
// (policy-server's epoch ticker, without the 1 s granularity). Arming and disarming is a map
// insert/erase, so evaluations do not pay for a thread each; the thread is woken only when a new
// deadline comes before the one it sleeps towards, so a steady stream of evaluations with the
// same budget costs it no wake-up (each one was a context switch per request).
class Watchdog {
 public:
  static Watchdog& instance() {
    static Watchdog w;
    return w;
  }

  uint64_t arm(std::chrono::steady_clock::time_point when, std::atomic<bool>* flag) {
    std::lock_guard lock(mutex_);
    uint64_t id = next_id_++;
    pending_.emplace(id, Entry{when, flag});
    if (when < sleeping_until_) {
      sleeping_until_ = when;
      cv_.notify_one();
    }
    return id;
  }

  void disarm(uint64_t id) {
    std::lock_guard lock(mutex_);
    pending_.erase(id);
  }

  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable())
      thread_.join();
  }

 private:
  struct Entry {
    std::chrono::steady_clock::time_point when;
    std::atomic<bool>* flag;
  };

  Watchdog() : thread_([this] { run(); }) {}

  void run() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
      auto now = std::chrono::steady_clock::now();
      auto next = std::chrono::steady_clock::time_point::max();
      for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->second.when <= now) {
          it->second.flag->store(true, std::memory_order_relaxed);
          it = pending_.erase(it);
        } else {
          next = std::min(next, it->second.when);
          ++it;
        }
      }
      sleeping_until_ = next;
      if (next == std::chrono::steady_clock::time_point::max())
        cv_.wait(lock);
      else
        cv_.wait_until(lock, next);
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<uint64_t, Entry> pending_;
  uint64_t next_id_ = 1;
  /// When the thread will next look at `pending_` by itself; guarded by mutex_.
  std::chrono::steady_clock::time_point sleeping_until_ =
      std::chrono::steady_clock::time_point::min();
  bool stop_ = false;
  std::thread thread_;
};

// Arms the deadline of one phase (initialisation or call) and clears the flag first, since
// Kubewarden gives each phase its own budget.
class PhaseDeadline {
 public:
  PhaseDeadline(const std::optional<std::chrono::nanoseconds>& budget, std::atomic<bool>& flag) {
    flag.store(false, std::memory_order_relaxed);
    if (budget)
      id_ = Watchdog::instance().arm(std::chrono::steady_clock::now() + *budget, &flag);
  }
  ~PhaseDeadline() {
    if (id_)
      Watchdog::instance().disarm(*id_);
  }
  PhaseDeadline(const PhaseDeadline&) = delete;
  PhaseDeadline& operator=(const PhaseDeadline&) = delete;

 private:
  std::optional<uint64_t> id_;
};

// Measures consecutive phases for EvalDiagnostics; reads the clock only when someone asks.
class PhaseClock {
 public:
  explicit PhaseClock(EvalDiagnostics* diagnostics)
      : diagnostics_(diagnostics), on_(diagnostics != nullptr) {
    if (on_)
      last_ = std::chrono::steady_clock::now();
  }
  /// Declared before the run's GuestRun, the clock outlives it: the last lap is the teardown.
  ~PhaseClock() {
    if (on_)
      lap(diagnostics_->teardown_time);
  }
  PhaseClock(const PhaseClock&) = delete;
  PhaseClock& operator=(const PhaseClock&) = delete;
  /// Stores the time since the previous lap (or the start) in `out`.
  void lap(std::chrono::nanoseconds& out) {
    if (!on_)
      return;
    auto now = std::chrono::steady_clock::now();
    out = now - last_;
    last_ = now;
  }
  std::chrono::nanoseconds scratch{0};

 private:
  EvalDiagnostics* diagnostics_;
  bool on_;
  std::chrono::steady_clock::time_point last_;
};

// --- one guest run ----------------------------------------------------------------------------

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos)
    return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

// Everything one evaluation owns. Members are destroyed in reverse order, the Store (and with it
// the host functions that point at the contexts) before the contexts.
class GuestRun {
 public:
  GuestRun(const PolicyModule& policy, const EvalOptions& options, wasi::WasiOptions wasi_options)
      : policy_(policy),
        options_(options),
        wasi_(with_interrupt(std::move(wasi_options))),
        wapc_(make_host_call_handler(options.capabilities), console_log(options)),
        store_(runtime::StoreLimits{options.max_memory_pages, runtime::kMaxTableSize}) {
    store_.set_engine(options.engine);
  }

  wasi::WasiContext& wasi() { return wasi_; }
  wapc::WapcHost& wapc() { return wapc_; }
  runtime::Store& store() { return store_; }
  runtime::Instance* instance() { return instance_; }
  bool interrupted() const { return interrupt_.load(std::memory_order_relaxed); }

  runtime::CallOptions call_options() const {
    runtime::CallOptions o;
    o.fuel = options_.fuel;
    o.interrupt = &interrupt_;
    return o;
  }

  /// Links WASI, waPC and (WASI mode) `host.call`, then instantiates, running the start
  /// function under the initialisation deadline. The error text on failure. With a prepared
  /// policy the shared host functions are bound to this run's store and the instance comes
  /// from the prepared image; otherwise everything is made here.
  std::optional<std::string> instantiate(bool wasi_host_call) {
    const PreparedPolicy* prepared = policy_.prepared.get();
    const runtime::InstancePre* pre =
        prepared ? (wasi_host_call ? prepared->wasi : prepared->wapc).get() : nullptr;
    if (pre != nullptr && pre->module() != policy_.module)
      pre = nullptr;  // a PolicyModule copied and given another module keeps a stale image
    runtime::Result<runtime::Instance*> inst = static_cast<runtime::Instance*>(nullptr);
    if (pre != nullptr) {
      wasi_.bind(store_);
      wapc_.bind(store_);
      store_.set_host_data(&kGuestRunKey, this);
      inst = pre->instantiate(store_, call_options());
    } else {
      runtime::Linker linker;
      const runtime::Module& m = *policy_.module;
      wasi::define_wasi(linker, store_, m, wasi_);
      wapc_.define_imports(linker, store_, m);
      if (wasi_host_call)
        define_wasi_host_call(linker, store_, m, [this](runtime::HostContext&) { return this; });
      inst = linker.instantiate(store_, policy_.module, call_options());
    }
    if (!inst)
      return inst.error().message;
    instance_ = inst.value();
    return std::nullopt;
  }

  /// Defines the WASI-mode `host.call` imports of `module` in `store`, serving the GuestRun
  /// `run_of` finds for the calling store.
  static void define_wasi_host_call(runtime::Linker& linker,
                                    runtime::Store& store,
                                    const runtime::Module& module,
                                    std::function<GuestRun*(runtime::HostContext&)> run_of);

  /// Where shared host functions find the GuestRun of the calling store.
  static GuestRun* bound_run(runtime::HostContext& hc) {
    return static_cast<GuestRun*>(hc.store.host_data(&kGuestRunKey));
  }

  std::atomic<bool>& interrupt_flag() { return interrupt_; }

 private:
  wasi::WasiOptions with_interrupt(wasi::WasiOptions o) {
    o.interrupt = &interrupt_;
    return o;
  }

  static wapc::ConsoleLog console_log(const EvalOptions& options) {
    LogSink* sink = options.capabilities.log;
    if (sink == nullptr)
      return {};
    const std::string* id = &options.capabilities.policy_id;
    return [sink, id](std::string_view line) { sink->console_log(*id, line); };
  }

  static constexpr char kGuestRunKey = 0;

  const PolicyModule& policy_;
  const EvalOptions& options_;
  mutable std::atomic<bool> interrupt_{false};
  wasi::WasiContext wasi_;
  wapc::WapcHost wapc_;
  runtime::Store store_;
  runtime::Instance* instance_ = nullptr;
};

// WASI mode host calls (kubewarden.md 2.5): `host.call` returns 0 on success and 1 on
// failure, and the answer is appended to stdin, which the guest then reads to EOF.
void GuestRun::define_wasi_host_call(runtime::Linker& linker,
                                     runtime::Store& store,
                                     const runtime::Module& module,
                                     std::function<GuestRun*(runtime::HostContext&)> run_of) {
  HostResolver resolve = [run_of](std::string_view name) -> std::optional<HostDefinition> {
    if (name != "call")
      return std::nullopt;
    constexpr auto I = runtime::ValType::i32;
    return HostDefinition{func_type({I, I, I, I, I, I, I, I}, {I}),
                          [run_of](runtime::HostContext& hc, std::span<const runtime::Value> a,
                                   std::span<runtime::Value> r) -> std::optional<runtime::Trap> {
                            GuestRun* run = run_of(hc);
                            if (run == nullptr)
                              return host_trap("host.call: no evaluation is bound to this store");
                            GuestMemory m = GuestMemory::of(hc);
                            auto bd = m.string(a[0].i32, a[1].i32);
                            auto ns = m.string(a[2].i32, a[3].i32);
                            auto op = m.string(a[4].i32, a[5].i32);
                            if (a[7].i32 > kMaxHostCallBytes)
                              return host_trap("host.call: payload exceeds the size limit");
                            auto payload = m.bytes(a[6].i32, a[7].i32);
                            if (!bd || !ns || !op || !payload)
                              return host_trap("host.call: guest pointer or length out of bounds");
                            std::string bd_s(*bd), ns_s(*ns), op_s(*op);
                            std::vector<uint8_t> payload_v(payload->begin(), payload->end());
                            HostCallOutcome out = dispatch_host_call(run->options_.capabilities,
                                                                     bd_s, ns_s, op_s, payload_v);
                            if (!run->wasi_.push_stdin(out.data)) {
                              run->wasi_.push_stdin("host call response exceeds the stdin buffer");
                              out.ok = false;
                            }
                            r[0] = runtime::Value::make_i32(out.ok ? 0 : 1);
                            return std::nullopt;
                          }};
  };
  define_imported(linker, store, module, "host", resolve);
  define_imported(linker, store, module, "kubewarden:javy/host", resolve);
}

std::shared_ptr<const PreparedPolicy> prepare(
    const std::shared_ptr<const runtime::Module>& module) {
  auto prepared = std::make_shared<PreparedPolicy>();
  const runtime::Module& m = *module;
  auto link = [&](bool wasi_host_call) -> std::shared_ptr<const runtime::InstancePre> {
    runtime::Linker linker;
    wasi::define_wasi_shared(linker, prepared->host_store, m);
    wapc::WapcHost::define_shared_imports(linker, prepared->host_store, m);
    if (wasi_host_call)
      GuestRun::define_wasi_host_call(linker, prepared->host_store, m, &GuestRun::bound_run);
    auto pre = linker.prepare(module);
    return pre ? std::move(pre).value() : nullptr;
  };
  prepared->wapc = link(false);
  // Only a module that imports `host.call` links differently in WASI mode.
  const bool imports_host_call = imports_from(m, "host") || imports_from(m, "kubewarden:javy/host");
  prepared->wasi = imports_host_call ? link(true) : prepared->wapc;
  return prepared;
}

// A waPC call after a fresh instantiation and initialisation, under the two phase deadlines.
struct WapcRun {
  wapc::WapcOutcome outcome;
  bool timed_out = false;
};

WapcRun run_wapc(const PolicyModule& policy,
                 const EvalOptions& options,
                 std::string_view op,
                 std::string_view payload) {
  WapcRun result;
  PhaseClock clock(options.diagnostics);
  GuestRun run(policy, options, wasi::WasiOptions{});
  auto note = [&](const wapc::WapcOutcome& o, bool interrupted) {
    result.outcome = o;
    result.timed_out = interrupted && o.interrupted();
    if (options.diagnostics) {
      options.diagnostics->trap = o.trap;
      options.diagnostics->timed_out = result.timed_out;
      clock.lap(options.diagnostics->run_time);
    }
  };
  {
    PhaseDeadline deadline(options.deadline, run.interrupt_flag());
    auto instantiated = run.instantiate(false);
    clock.lap(options.diagnostics ? options.diagnostics->instantiate_time : clock.scratch);
    if (auto err = instantiated) {
      wapc::WapcOutcome o;
      o.error = *err;
      // The start function's trap reaches us only as text; the flag tells an interruption.
      if (run.interrupted() &&
          err->find(runtime::trap_message(TrapKind::interrupted)) != std::string::npos) {
        o.trap = TrapKind::interrupted;
        o.error = std::string(wapc::kInterruptedMessage);
      }
      note(o, run.interrupted());
      return result;
    }
    wapc::WapcOutcome init =
        run.wapc().initialize(run.store(), *run.instance(), run.call_options());
    if (!init.ok) {
      note(init, run.interrupted());
      return result;
    }
  }
  PhaseDeadline deadline(options.deadline, run.interrupt_flag());
  wapc::WapcOutcome out = run.wapc().call(
      run.store(), *run.instance(), op,
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()),
      run.call_options());
  note(out, run.interrupted());
  return result;
}

// A WASI-mode run: argv [policy.wasm, command], stdin `input`, `_start`.
struct WasiRun {
  bool ok = false;  ///< normal return or proc_exit(0)
  bool timed_out = false;
  std::string failure;  ///< instantiation problem (not a guest failure)
  std::string stdout_text;
  std::string stderr_text;
};

WasiRun run_wasi(const PolicyModule& policy,
                 const EvalOptions& options,
                 std::string command,
                 std::string_view input) {
  WasiRun result;
  wasi::WasiOptions wo;
  wo.args = {"policy.wasm", std::move(command)};
  GuestRun run(policy, options, std::move(wo));
  run.wasi().push_stdin(input);
  std::optional<runtime::Trap> trap;
  {
    PhaseDeadline deadline(options.deadline, run.interrupt_flag());
    if (auto err = run.instantiate(true)) {
      result.failure = *err;
      result.timed_out = run.interrupted();
    } else if (runtime::Function* start = run.instance()->exported_function("_start")) {
      runtime::CallResult r = runtime::call(run.store(), *start, {}, run.call_options());
      trap = r.trap;
      result.ok = !trap || wasi::is_clean_exit(*trap);
      result.timed_out = trap && trap->kind == TrapKind::interrupted;
    } else {
      result.failure = "the WASI policy does not export `_start`";
    }
  }
  result.stdout_text = run.wasi().stdout_data();
  result.stderr_text = run.wasi().stderr_data();
  if (options.diagnostics) {
    if (trap && !wasi::is_clean_exit(*trap))
      options.diagnostics->trap = trap->kind;
    options.diagnostics->timed_out = result.timed_out;
    options.diagnostics->guest_stdout = result.stdout_text;
    options.diagnostics->guest_stderr = result.stderr_text;
  }
  return result;
}

std::string as_string(const std::vector<uint8_t>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace

// --- the protocol -----------------------------------------------------------------------------

ValidationResponse evaluate(const PolicyModule& policy,
                            const json::value& request,
                            const json::value& settings,
                            const EvalOptions& options) {
  const std::string payload = make_validation_request(request, settings);
  switch (policy.execution_mode) {
    case ExecutionMode::kubewarden_wapc: {
      WapcRun run = run_wapc(policy, options, kOpValidate, payload);
      if (!run.outcome.ok) {
        if (run.timed_out)
          return ValidationResponse::reject(std::string(kTimeoutMessage), 500);
        return ValidationResponse::internal_server_error("Guest call failure: " +
                                                         run.outcome.error);
      }
      auto parsed = parse_validation_response(as_string(run.outcome.response));
      if (!parsed)
        return ValidationResponse::internal_server_error(
            "Cannot deserialize policy validation response: " + parsed.error().message);
      return std::move(parsed).value();
    }
    case ExecutionMode::wasi: {
      WasiRun run = run_wasi(policy, options, "validate", payload);
      if (!run.failure.empty())
        return ValidationResponse::internal_server_error(run.failure);
      if (!run.ok)
        return ValidationResponse::reject(trim(run.stderr_text), 500);
      auto parsed = parse_validation_response(run.stdout_text);
      if (!parsed)
        return ValidationResponse::internal_server_error(
            "Cannot deserialize policy validation response: " + parsed.error().message);
      return std::move(parsed).value();
    }
    case ExecutionMode::opa:
    case ExecutionMode::gatekeeper:
      break;
  }
  return ValidationResponse::internal_server_error(std::string("execution mode `") +
                                                   execution_mode_name(policy.execution_mode) +
                                                   "` is not supported yet");
}

SettingsValidationResponse validate_settings(const PolicyModule& policy,
                                             const json::value& settings,
                                             const EvalOptions& options) {
  const std::string payload = json::serialize(settings);
  SettingsValidationResponse invalid;
  invalid.valid = false;
  switch (policy.execution_mode) {
    case ExecutionMode::kubewarden_wapc: {
      WapcRun run = run_wapc(policy, options, kOpValidateSettings, payload);
      if (!run.outcome.ok) {
        invalid.message = "Error invoking settings validation callback: GuestCallFailure(" +
                          rust_debug_string(run.outcome.error) + ")";
        return invalid;
      }
      auto parsed = parse_settings_response(as_string(run.outcome.response));
      if (!parsed) {
        invalid.message = "error: " + parsed.error().message;
        return invalid;
      }
      return std::move(parsed).value();
    }
    case ExecutionMode::wasi: {
      WasiRun run = run_wasi(policy, options, "validate-settings", payload);
      if (!run.failure.empty()) {
        invalid.message = run.failure;
        return invalid;
      }
      if (!run.ok) {
        invalid.message = trim(run.stderr_text);
        return invalid;
      }
      auto parsed = parse_settings_response(run.stdout_text);
      if (!parsed) {
        invalid.message = "error: " + parsed.error().message;
        return invalid;
      }
      return std::move(parsed).value();
    }
    case ExecutionMode::opa:
    case ExecutionMode::gatekeeper:
      break;
  }
  // Rego policies have no settings validation: Kubewarden reports them valid.
  SettingsValidationResponse valid;
  valid.valid = true;
  return valid;
}

runtime::Result<std::string> protocol_version(const PolicyModule& policy,
                                              const EvalOptions& options) {
  if (policy.execution_mode != ExecutionMode::kubewarden_wapc)
    return std::string("Unknown");
  WapcRun run = run_wapc(policy, options, kOpProtocolVersion, "");
  if (!run.outcome.ok)
    return Error{ErrorKind::unsupported, 0,
                 "Cannot invoke 'protocol_version' waPC function: " + run.outcome.error};
  boost::system::error_code ec;
  json::value v = parse_json(as_string(run.outcome.response), ec);
  if (ec || !v.is_string() || (v.get_string() != "v1" && v.get_string() != "Unknown"))
    return Error{ErrorKind::invalid, 0,
                 "Cannot create ProtocolVersion object from " +
                     rust_debug_string(as_string(run.outcome.response))};
  return std::string(v.get_string());
}

}  // namespace tollgate::hostabi::kubewarden
