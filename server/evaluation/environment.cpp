// The evaluation environment: every policy of policies.yml loaded, checked and ready to run.
// SPDX-License-Identifier: Apache-2.0
#include "server/evaluation/environment.hpp"

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

#include <openssl/evp.h>

#include "hostabi/kubewarden/evaluator.hpp"
#include "server/evaluation/group_expression.hpp"

namespace tollgate::server::evaluation {
namespace {

namespace json = boost::json;
namespace kw = hostabi::kubewarden;
using runtime::Error;
using runtime::ErrorKind;
using Clock = std::chrono::steady_clock;

Error startup_error(const std::string& what) {
  return Error{ErrorKind::invalid, 0, what};
}

/// policy-server's semaphore of `workers` permits.
class Semaphore {
 public:
  explicit Semaphore(std::size_t permits) : permits_(permits) {}

  void acquire() {
    std::unique_lock lock(mutex_);
    available_.wait(lock, [this] { return permits_ > 0; });
    --permits_;
  }

  void release() {
    {
      std::lock_guard lock(mutex_);
      ++permits_;
    }
    available_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable available_;
  std::size_t permits_;
};

class Permit {
 public:
  explicit Permit(Semaphore& semaphore) : semaphore_(semaphore) { semaphore_.acquire(); }
  ~Permit() { semaphore_.release(); }
  Permit(const Permit&) = delete;
  Permit& operator=(const Permit&) = delete;

 private:
  Semaphore& semaphore_;
};

/// Policy log lines (host call `kubewarden/tracing/log`, waPC console) into the server log.
class LoggerSink final : public kw::LogSink {
 public:
  explicit LoggerSink(std::shared_ptr<Logger> logger) : logger_(std::move(logger)) {}

  void policy_log(std::string_view policy_id,
                  kw::LogLevel level,
                  std::string_view message,
                  const json::object& fields) override {
    json::object all = fields;
    all["policy_id"] = policy_id;
    logger_->log(convert(level), "policy_log", message, all);
  }

  void console_log(std::string_view policy_id, std::string_view line) override {
    logger_->log(LogLevel::info, "policy_log", line, {{"policy_id", policy_id}});
  }

 private:
  static LogLevel convert(kw::LogLevel level) {
    switch (level) {
      case kw::LogLevel::trace:
        return LogLevel::trace;
      case kw::LogLevel::debug:
        return LogLevel::debug;
      case kw::LogLevel::info:
        return LogLevel::info;
      case kw::LogLevel::warning:
        return LogLevel::warn;
      case kw::LogLevel::error:
        return LogLevel::error;
    }
    return LogLevel::info;
  }

  std::shared_ptr<Logger> logger_;
};

/// A runnable module with its settings and per-evaluation options.
struct Runnable {
  std::string id;  ///< policy id, or `group/member`
  std::shared_ptr<const kw::PolicyModule> module;
  json::value settings;
  kw::EvalOptions options;
};

struct Member {
  std::string name;
  Runnable runnable;
};

struct Policy {
  std::string id;
  PolicyMode mode = PolicyMode::protect;
  std::optional<std::string> init_error;
  bool is_group = false;
  // An individual policy.
  ResponsePolicy response_policy;
  Runnable runnable;
  // A policy group.
  std::optional<GroupExpression> expression;
  std::string group_message;
  std::vector<Member> members;
};

std::string sha256_hex(std::span<const uint8_t> bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

runtime::Result<std::vector<uint8_t>> read_module_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return startup_error("cannot open " + path);
  std::vector<uint8_t> bytes;
  char chunk[65536];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    if (bytes.size() + static_cast<std::size_t>(in.gcount()) > runtime::kMaxModuleSize)
      return startup_error(path + " is larger than the module size limit");
    bytes.insert(bytes.end(), chunk, chunk + in.gcount());
  }
  if (in.bad())
    return startup_error("cannot read " + path);
  return bytes;
}

std::optional<std::string> string_at(const json::value& value, std::string_view key) {
  const json::object* object = value.if_object();
  const json::value* member = object ? object->if_contains(key) : nullptr;
  if (member == nullptr || !member->is_string())
    return std::nullopt;
  return std::string(member->get_string());
}

}  // namespace

struct EvaluationEnvironment::Impl {
  EnvironmentOptions options;
  std::shared_ptr<Logger> logger;
  std::shared_ptr<Metrics> metrics;
  std::unique_ptr<LoggerSink> sink;
  std::unique_ptr<Semaphore> workers;
  std::map<std::string, Policy, std::less<>> policies;
  std::map<std::string, std::string> init_errors;
  /// Loaded modules by URL and by content digest (one decoded module per digest).
  std::map<std::string, runtime::Result<std::shared_ptr<const kw::PolicyModule>>> by_url;
  std::map<std::string, std::shared_ptr<const kw::PolicyModule>> by_digest;

  std::optional<std::chrono::nanoseconds> deadline(const ModuleSpec& spec) const {
    if (options.disable_timeout_protection)
      return std::nullopt;
    auto seconds = spec.timeout_eval_seconds ? std::chrono::seconds(*spec.timeout_eval_seconds)
                                             : options.policy_timeout;
    return std::chrono::duration_cast<std::chrono::nanoseconds>(seconds);
  }

  std::string resolve_path(const std::string& path) const {
    if (path.empty() || path[0] == '/' || options.base_dir.empty())
      return path;
    return options.base_dir + "/" + path;
  }

  runtime::Result<std::vector<uint8_t>> fetch(const std::string& url) const {
    if (url.starts_with("file://"))
      return read_module_file(resolve_path(url.substr(7)));
    if (url.starts_with("https://") || url.starts_with("http://")) {
      if (!options.fetch_https)
        return startup_error("downloading " + url.substr(0, url.find(':')) +
                             ":// modules is not available here");
      return options.fetch_https(url);
    }
    if (url.starts_with("registry://"))
      return startup_error(std::string(kRegistryUnsupported));
    if (url.find("://") != std::string::npos)
      return startup_error("unknown module URL scheme in " + url);
    // A bare value is a path when it looks like one or names a file; else a registry reference.
    std::string path = resolve_path(url);
    bool looks_like_path = url[0] == '/' || url[0] == '.' || url.ends_with(".wasm");
    if (looks_like_path || std::ifstream(path).good())
      return read_module_file(path);
    return startup_error(std::string(kRegistryUnsupported));
  }

  runtime::Result<std::shared_ptr<const kw::PolicyModule>> load(const std::string& id,
                                                                const std::string& url) {
    auto cached = by_url.find(url);
    if (cached != by_url.end())
      return cached->second;
    auto result = [&]() -> runtime::Result<std::shared_ptr<const kw::PolicyModule>> {
      auto bytes = fetch(url);
      if (!bytes)
        return startup_error("Error while downloading policy '" + id + "' from " + url + ": " +
                             bytes.error().message);
      std::string digest = sha256_hex(*bytes);
      if (auto same = by_digest.find(digest); same != by_digest.end())
        return same->second;
      auto policy = kw::load_policy(*bytes);
      if (!policy)
        return startup_error("Error while loading policy '" + id + "' from " + url + ": " +
                             policy.error().message);
      if (auto checked = kw::check_policy(**policy); !checked)
        return startup_error("Error while loading policy '" + id + "' from " + url + ": " +
                             checked.error().message);
      // Compiled here, once per module, so no request pays for it (a refused module is
      // interpreted).
      if (options.engine != nullptr)
        kw::prepare_code(**policy, *options.engine);
      by_digest[digest] = *policy;
      return policy;
    }();
    by_url.emplace(url, result);
    return result;
  }

  /// Loads the module, prepares the options and validates the settings.
  runtime::Status prepare(Runnable& runnable, const ModuleSpec& spec) {
    auto module = load(runnable.id, spec.module);
    if (!module)
      return module.take_error();
    runnable.module = *module;
    runnable.settings = spec.settings;
    runnable.options.deadline = deadline(spec);
    runnable.options.max_memory_pages = options.max_memory_pages;
    runnable.options.engine = options.engine;
    runnable.options.capabilities.policy_id = runnable.id;
    runnable.options.capabilities.provider = options.capability_provider;
    runnable.options.capabilities.log = sink.get();
    runnable.options.capabilities.context_aware_resources = spec.context_aware_resources;
    runnable.options.capabilities.host_capabilities = spec.host_capabilities;
    kw::SettingsValidationResponse valid =
        kw::validate_settings(*runnable.module, runnable.settings, runnable.options);
    if (!valid.valid)
      return startup_error("Policy settings are invalid: " + valid.message.value_or(""));
    return runtime::Ok{};
  }

  runtime::Status prepare_policy(Policy& policy, const PolicyEntry& entry) {
    if (const auto* spec = std::get_if<PolicySpec>(&entry.spec)) {
      policy.mode = spec->mode;
      policy.response_policy = {entry.id, spec->mode, spec->allowed_to_mutate, spec->message};
      policy.runnable.id = entry.id;
      return prepare(policy.runnable, *spec);
    }
    const auto& group = std::get<PolicyGroupSpec>(entry.spec);
    policy.is_group = true;
    policy.mode = group.mode;
    policy.response_policy = {entry.id, group.mode, false, std::nullopt};
    policy.group_message = group.message;
    auto expression = GroupExpression::parse(group.expression);
    if (!expression)
      return startup_error("error evaluating policy group expression: " +
                           expression.error().message);
    for (const std::string& name : expression->members()) {
      bool known = std::any_of(group.policies.begin(), group.policies.end(),
                               [&](const auto& member) { return member.first == name; });
      if (!known)
        return startup_error(
            "error evaluating policy group expression: Function not found: " + name + " ()");
    }
    policy.expression = std::move(expression).value();
    for (const auto& [name, spec] : group.policies) {
      Member member;
      member.name = name;
      member.runnable.id = entry.id + "/" + name;
      if (auto prepared = prepare(member.runnable, spec); !prepared)
        return startup_error("policy group member '" + name + "': " + prepared.error().message);
      policy.members.push_back(std::move(member));
    }
    return runtime::Ok{};
  }

  /// The group's verdict (kubewarden.md 1.6): members run lazily as the expression needs them.
  AdmissionResponse evaluate_group(const Policy& policy,
                                   std::string uid,
                                   const json::value& request) const {
    std::map<std::string, bool> verdicts;
    std::vector<StatusCause> causes;
    bool allowed = policy.expression->evaluate([&](const std::string& name) {
      if (auto done = verdicts.find(name); done != verdicts.end())
        return done->second;
      const Member* member = nullptr;
      for (const Member& m : policy.members)
        member = m.name == name ? &m : member;
      if (member == nullptr)
        return false;
      const Runnable& r = member->runnable;
      kw::ValidationResponse answer = kw::evaluate(*r.module, request, r.settings, r.options);
      bool accepted = answer.accepted;
      std::optional<std::string> message = answer.message;
      if (answer.mutated_object) {
        accepted = false;
        message = std::string(kGroupMutationMessage);
      }
      if (!accepted)
        causes.push_back(StatusCause{std::nullopt, message, "spec.policies." + name});
      verdicts[name] = accepted;
      return accepted;
    });
    AdmissionResponse response;
    response.uid = std::move(uid);
    response.allowed = allowed;
    if (!allowed) {
      response.status = AdmissionStatus{};
      response.status->message = policy.group_message;
      response.status->causes = std::move(causes);
    }
    return response;
  }

  AdmissionResponse evaluate(const Policy& policy,
                             std::string uid,
                             const json::value& request,
                             const json::value* original) const {
    if (policy.is_group)
      return evaluate_group(policy, std::move(uid), request);
    const Runnable& r = policy.runnable;
    kw::ValidationResponse answer = kw::evaluate(*r.module, request, r.settings, r.options);
    return from_validation_response(std::move(uid), answer, original);
  }

  /// Runs the policy under a worker permit; latency in whole milliseconds.
  AdmissionResponse run(const Policy& policy,
                        const std::string& uid,
                        const json::value& request,
                        const json::value* original,
                        uint64_t& latency_ms) const {
    if (policy.init_error) {
      latency_ms = 0;
      return AdmissionResponse::reject(uid, *policy.init_error, 500);
    }
    Permit permit(*workers);
    auto start = Clock::now();
    AdmissionResponse response = evaluate(policy, uid, request, original);
    latency_ms = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
    return response;
  }

  void finish(const Policy& policy,
              AdmissionResponse& response,
              bool post_processing,
              const std::string& route) const {
    if (!post_processing)
      return;
    if (policy.mode == PolicyMode::monitor) {
      json::object fields{
          {"policy_id", policy.id}, {"route", route}, {"allowed", response.allowed}};
      if (response.status && response.status->message)
        fields["message"] = *response.status->message;
      logger->log(LogLevel::info, "tollgate::evaluation", "policy evaluation (monitor mode)",
                  fields);
    }
    post_process(response, policy.response_policy);
  }
};

EvaluationEnvironment::EvaluationEnvironment(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EvaluationEnvironment::~EvaluationEnvironment() = default;

runtime::Result<std::unique_ptr<EvaluationEnvironment>> EvaluationEnvironment::build(
    std::vector<PolicyEntry> policies,
    EnvironmentOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->logger = options.logger ? options.logger : std::make_shared<Logger>();
  impl->metrics = options.metrics ? options.metrics : std::make_shared<Metrics>();
  impl->sink = std::make_unique<LoggerSink>(impl->logger);
  std::size_t workers = options.workers;
  if (workers == 0)
    workers = std::max(1u, std::thread::hardware_concurrency());
  impl->workers = std::make_unique<Semaphore>(workers);
  impl->options = std::move(options);
  impl->options.workers = workers;

  for (const PolicyEntry& entry : policies) {
    if (impl->policies.contains(entry.id))
      return startup_error("policy `" + entry.id + "` is defined twice");
    Policy policy;
    policy.id = entry.id;
    if (auto prepared = impl->prepare_policy(policy, entry); !prepared) {
      const std::string& message = prepared.error().message;
      if (!impl->options.continue_on_errors)
        return startup_error("policy `" + entry.id + "`: " + message);
      impl->logger->log(LogLevel::error, "tollgate::evaluation",
                        "policy initialization failed; it will reject every request",
                        {{"policy_id", entry.id}, {"error", message}});
      impl->metrics->record_initialization_error(entry.id, message);
      impl->init_errors[entry.id] = message;
      policy.init_error = message;
    }
    impl->policies.emplace(entry.id, std::move(policy));
  }
  impl->by_url.clear();  // the modules stay alive through the policies using them
  return std::unique_ptr<EvaluationEnvironment>(new EvaluationEnvironment(std::move(impl)));
}

bool EvaluationEnvironment::has_policy(std::string_view id) const {
  return impl_->policies.find(id) != impl_->policies.end();
}

std::vector<std::string> EvaluationEnvironment::policy_ids() const {
  std::vector<std::string> ids;
  for (const auto& entry : impl_->policies)
    ids.push_back(entry.first);
  return ids;
}

const std::map<std::string, std::string>& EvaluationEnvironment::initialization_errors() const {
  return impl_->init_errors;
}

AdmissionResponse EvaluationEnvironment::validate(std::string_view policy_id,
                                                  const json::value& request,
                                                  RequestOrigin origin) const {
  const Policy& policy = impl_->policies.find(policy_id)->second;
  std::string uid = string_at(request, "uid").value_or("");
  std::optional<std::string> ns = string_at(request, "namespace");
  AdmissionEvaluation labels;
  labels.policy_name = policy.id;
  labels.policy_mode = policy_mode_name(policy.mode);
  labels.request_origin = origin == RequestOrigin::audit ? "audit" : "validate";
  labels.resource_request_operation = string_at(request, "operation").value_or("");
  const json::object* object = request.if_object();
  if (const json::value* kind = object ? object->if_contains("requestKind") : nullptr)
    labels.resource_kind = string_at(*kind, "kind").value_or("");
  labels.resource_namespace = ns;

  if (!impl_->options.always_accept_namespace.empty() &&
      ns == impl_->options.always_accept_namespace) {
    labels.accepted = true;
    impl_->metrics->record(labels, 0);
    return AdmissionResponse::accept(uid);
  }

  const json::value* original = object ? object->if_contains("object") : nullptr;
  uint64_t latency_ms = 0;
  AdmissionResponse response = impl_->run(policy, uid, request, original, latency_ms);
  labels.accepted = response.allowed;
  labels.mutated = response.patch.has_value();
  if (response.status && response.status->code)
    labels.error_code = response.status->code;
  impl_->metrics->record(labels, latency_ms);
  impl_->finish(policy, response, origin == RequestOrigin::validate, labels.request_origin);
  impl_->logger->log(LogLevel::debug, "tollgate::evaluation", "policy evaluated",
                     {{"policy_id", policy.id},
                      {"request_uid", uid},
                      {"allowed", response.allowed},
                      {"mutated", response.patch.has_value()},
                      {"latency_ms", latency_ms}});
  return response;
}

AdmissionResponse EvaluationEnvironment::validate_raw(std::string_view policy_id,
                                                      const json::value& request) const {
  const Policy& policy = impl_->policies.find(policy_id)->second;
  std::string uid = string_at(request, "uid").value_or("");
  uint64_t latency_ms = 0;
  AdmissionResponse response = impl_->run(policy, uid, request, &request, latency_ms);
  RawEvaluation labels;
  labels.policy_name = policy.id;
  labels.policy_mode = policy_mode_name(policy.mode);
  labels.accepted = response.allowed;
  labels.mutated = response.patch.has_value();
  if (response.status && response.status->code)
    labels.error_code = response.status->code;
  impl_->metrics->record(labels, latency_ms);
  impl_->finish(policy, response, true, "validate_raw");
  return response;
}

Metrics& EvaluationEnvironment::metrics() const {
  return *impl_->metrics;
}

const Logger& EvaluationEnvironment::logger() const {
  return *impl_->logger;
}

const EnvironmentOptions& EvaluationEnvironment::options() const {
  return impl_->options;
}

}  // namespace tollgate::server::evaluation
