// `tollgate serve`: the admission webhook server with policy-server's flags and env.
// SPDX-License-Identifier: Apache-2.0
//
// Start-up follows policy-server (kubewarden.md 1.7): check the flags, load policies.yml and
// sources.yml, build the evaluation environment (fetch, decode, validate every policy's
// settings), then bind the API listener and only after it the readiness listener. `--demo`
// fills in what a first run lacks: the example policies of this build, a certificate for
// localhost, and 127.0.0.1.
#include "server/cli/serve_command.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/object.hpp>

#include "hostabi/kubewarden/metadata.hpp"
#include "server/api/handler.hpp"
#include "server/cli/engine_option.hpp"
#include "server/evaluation/config.hpp"
#include "server/evaluation/environment.hpp"
#include "server/evaluation/log.hpp"
#include "server/net/cert_gen.hpp"
#include "server/net/https_fetch.hpp"
#include "server/net/server.hpp"

namespace tollgate::server::cli {

namespace fs = std::filesystem;
using evaluation::Logger;
using evaluation::LogLevel;

struct ServeFlags {
  std::string log_level = "info";
  std::string log_fmt = "text";
  bool log_no_color = false;
  std::string addr = "0.0.0.0";
  uint16_t port = 3000;
  uint16_t readiness_probe_port = 8081;
  std::size_t workers = std::max(1u, std::thread::hardware_concurrency());
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
  std::string policies = "policies.yml";
  std::string policies_download_dir = ".";
  std::string sigstore_cache_dir = "sigstore-data";
  std::string sigstore_trust_config;
  std::string sources_path;
  std::string verification_path;
  std::string docker_config_json_path;
  bool enable_metrics = false;
  uint16_t metrics_port = 8080;
  std::string always_accept_namespace;
  bool disable_timeout_protection = false;
  uint64_t policy_timeout = 2;
  bool daemon = false;
  std::string daemon_pid_file = "policy-server.pid";
  std::string daemon_stdout_file;
  std::string daemon_stderr_file;
  bool ignore_kubernetes_connection_failure = false;
  bool enable_pprof = false;
  bool continue_on_errors = false;
  bool demo = false;
  std::size_t io_threads = 1;
  EngineFlags engine;
};

namespace {

constexpr std::string_view kTarget = "tollgate::serve";

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty())
      out.push_back(item);
  }
  return out;
}

// The meson build directory holding the running executable (<build>/server/.../tollgate).
fs::path build_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec)
    return fs::current_path() / "build";
  for (fs::path dir = exe.parent_path(); dir.has_relative_path(); dir = dir.parent_path()) {
    if (fs::exists(dir / "meson-private"))
      return dir;
  }
  return exe.parent_path().parent_path();
}

std::string shown_path(const fs::path& path) {
  std::error_code ec;
  fs::path relative = fs::proximate(path, fs::current_path(), ec);
  return ec ? path.string() : relative.string();
}

bool read_file(const fs::path& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return false;
  std::ostringstream text;
  text << in.rdbuf();
  out = text.str();
  return true;
}

// The example policies are built without their metadata section (meson writes it beside them
// as <name>.metadata.json); policy-server refuses waPC modules without one, so the demo embeds
// it, as `kwctl annotate` would, into <build>/demo/<name>.wasm.
bool annotate_example(const fs::path& built,
                      const fs::path& out_dir,
                      const std::string& name,
                      std::string& error) {
  std::string wasm_text, metadata_text;
  if (!read_file(built / (name + ".wasm"), wasm_text) ||
      !read_file(built / (name + ".metadata.json"), metadata_text))
    return error = "example policy " + name + " is not built in " + built.string(), false;
  auto metadata = hostabi::kubewarden::parse_metadata(metadata_text);
  if (!metadata)
    return error = name + ".metadata.json: " + metadata.error().message, false;
  std::vector<uint8_t> wasm(wasm_text.begin(), wasm_text.end());
  if (auto present = hostabi::kubewarden::find_custom_section(wasm, "io.kubewarden.metadata");
      !present || !*present)
    hostabi::kubewarden::write_metadata(wasm, *metadata);
  return net::write_file_atomically((out_dir / (name + ".wasm")).string(),
                                    std::string(wasm.begin(), wasm.end()), false, error);
}

// Writes <build>/demo/policies.yml over the annotated examples and returns its path.
bool prepare_demo_policies(const fs::path& build, fs::path& policies_file, std::string& error) {
  fs::path built = build / "policies";
  fs::path out = build / "demo";
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec)
    return error = "cannot create " + out.string() + ": " + ec.message(), false;
  for (const char* name : {"pod-privileged", "trusted-repos", "container-resources"}) {
    if (!annotate_example(built, out, name, error))
      return false;
  }
  auto module = [&](const char* name) { return "file://" + (out / name).string() + ".wasm"; };
  std::string yaml;
  yaml += "# Written by `tollgate serve --demo` over this build's example policies.\n";
  yaml += "pod-privileged:\n  module: " + module("pod-privileged") + "\n";
  yaml += "pod-privileged-monitor:\n  module: " + module("pod-privileged") +
          "\n  policyMode: monitor\n";
  yaml += "pod-privileged-custom-message:\n  module: " + module("pod-privileged") +
          "\n  message: \"privileged pods are not welcome here\"\n";
  yaml += "trusted-repos:\n  module: " + module("trusted-repos") +
          "\n  settings:\n    registries: {allow: [ghcr.io]}\n    tags: {reject: [latest]}\n";
  yaml += "container-resources:\n  module: " + module("container-resources") +
          "\n  allowedToMutate: true\n  settings:\n"
          "    cpu: {defaultRequest: 100m, defaultLimit: 500m, maxLimit: \"2\"}\n"
          "    memory: {defaultRequest: 128Mi, defaultLimit: 512Mi, maxLimit: 2Gi}\n";
  yaml +=
      "unprivileged-and-trusted:\n  expression: \"pod_privileged() && trusted_repos()\"\n"
      "  message: \"the pod must be unprivileged and use trusted images\"\n"
      "  policies:\n"
      "    pod_privileged:\n      module: " +
      module("pod-privileged") +
      "\n"
      "    trusted_repos:\n      module: " +
      module("trusted-repos") +
      "\n"
      "      settings: {registries: {allow: [ghcr.io]}, tags: {reject: [latest]}}\n";
  policies_file = out / "policies.yml";
  return net::write_file_atomically(policies_file.string(), yaml, false, error);
}

fs::path demo_fixture() {
  for (fs::path candidate :
       {fs::current_path() / ".." / "shared", build_dir() / ".." / ".." / "shared"}) {
    fs::path fixture = candidate / "fixtures" / "admission" / "review_pod_privileged.json";
    if (fs::exists(fixture))
      return fs::weakly_canonical(fixture);
  }
  return "review_pod_privileged.json";
}

int fail(const Logger& logger, const std::string& message) {
  logger.log(LogLevel::error, kTarget, message);
  return 1;
}

int run_serve(ServeFlags flags, const CLI::App& serve) {
  auto started = std::chrono::steady_clock::now();
  auto level = evaluation::parse_log_level(flags.log_level);
  if (!level) {
    std::cerr << "error: --log-level must be one of trace, debug, info, warn, error\n";
    return 2;
  }
  bool otlp = flags.log_fmt == "otlp";
  auto format = otlp ? evaluation::LogFormat::text : evaluation::parse_log_format(flags.log_fmt);
  if (!format) {
    std::cerr << "error: --log-fmt must be one of text, json, otlp\n";
    return 2;
  }
  auto logger = std::make_shared<Logger>(*level, *format);
  auto warn = [&](const std::string& message) { logger->log(LogLevel::warn, kTarget, message); };

  // Flags whose features tollgate lacks: refuse those that would silently weaken security,
  // warn about the others.
  if (flags.cert_file.empty() != flags.key_file.empty())
    return fail(*logger, "both certificate and key must be provided together");
  if (!flags.client_ca_file.empty() && flags.cert_file.empty())
    return fail(*logger,
                "a client CA (--client-ca-file) needs a server certificate and key "
                "(--cert-file, --key-file)");
  if (!flags.verification_path.empty())
    return fail(*logger,
                "--verification-path: verifying policy signatures (sigstore) is not supported "
                "yet; refusing to start rather than run unverified modules");
  if (flags.daemon)
    return fail(*logger, "--daemon is not supported: run tollgate under a supervisor");
  if (otlp)
    warn("--log-fmt otlp: OTLP export is not implemented; logging text to stderr");
  if (std::getenv("OTEL_EXPORTER_OTLP_ENDPOINT"))
    warn(
        "OTEL_EXPORTER_OTLP_ENDPOINT is ignored: metrics are served in Prometheus format "
        "with --enable-metrics on --metrics-port");
  if (flags.enable_pprof)
    warn("--enable-pprof is not implemented: no /debug/pprof endpoints");
  if (!flags.docker_config_json_path.empty())
    warn("--docker-config-json-path is ignored: registry:// modules are not supported yet");
  if (!flags.sigstore_trust_config.empty())
    warn("--sigstore-trust-config is ignored: sigstore verification is not supported yet");
  if (!flags.ignore_kubernetes_connection_failure)
    logger->log(LogLevel::info, kTarget,
                "no Kubernetes client: context-aware policies get an error from host "
                "capabilities that need the cluster");

  if (flags.demo) {
    fs::path build = build_dir();
    std::string error;
    if (serve.count("--policies") == 0) {
      fs::path policies_file;
      if (!prepare_demo_policies(build, policies_file, error))
        return fail(*logger, "--demo: " + error + " (run tools/build.sh first)");
      flags.policies = policies_file.string();
    }
    if (flags.cert_file.empty()) {
      fs::path tls = build / "demo-tls";
      if (!net::ensure_demo_certificates(tls.string(), error))
        return fail(*logger, "--demo: " + error);
      flags.cert_file = (tls / "tls.crt").string();
      flags.key_file = (tls / "tls.key").string();
    }
    if (serve.count("--addr") == 0)
      flags.addr = "127.0.0.1";
  }

  auto policies = evaluation::load_policies_file(flags.policies);
  if (!policies)
    return fail(*logger, policies.error().message);
  net::FetchOptions fetch;
  if (!flags.sources_path.empty()) {
    auto sources = evaluation::load_sources_file(flags.sources_path);
    if (!sources)
      return fail(*logger, sources.error().message);
    fetch.sources = std::move(sources).value();
  }
  fetch.download_dir = flags.policies_download_dir;

  const std::optional<const runtime::Engine*> engine = select_engine(flags.engine);
  if (!engine)
    return fail(*logger, "--engine jit: this host has no JIT backend");
  evaluation::EnvironmentOptions env_options;
  env_options.engine = *engine;
  env_options.workers = flags.workers;
  env_options.policy_timeout = std::chrono::seconds(flags.policy_timeout);
  env_options.disable_timeout_protection = flags.disable_timeout_protection;
  env_options.continue_on_errors = flags.continue_on_errors;
  env_options.always_accept_namespace = flags.always_accept_namespace;
  env_options.fetch_https = net::make_module_fetcher(std::move(fetch));
  env_options.logger = logger;
  auto environment =
      evaluation::EvaluationEnvironment::build(std::move(policies).value(), env_options);
  if (!environment)
    return fail(*logger, environment.error().message);
  const evaluation::EvaluationEnvironment& env = **environment;

  net::ServerOptions options;
  options.address = flags.addr;
  options.port = flags.port;
  options.readiness_port = flags.readiness_probe_port;
  if (flags.enable_metrics)
    options.metrics_port = flags.metrics_port;
  if (!flags.cert_file.empty())
    options.tls = net::TlsFiles{flags.cert_file, flags.key_file, split_list(flags.client_ca_file)};
  options.workers = flags.workers;
  options.io_threads = flags.io_threads;
  options.stop_on_signals = true;
  net::ServerHooks hooks;
  hooks.handle = [&env](const api::HttpRequest& request) { return api::handle(env, request); };
  hooks.render_metrics = [&env] { return env.metrics().render_prometheus(); };
  hooks.logger = logger;
  std::string error;
  auto server = net::Server::start(std::move(options), std::move(hooks), error);
  if (!server)
    return fail(*logger, error);
  server->set_ready();
  auto ready_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  logger->log(LogLevel::info, kTarget, "ready",
              boost::json::object{{"policies", env.policy_ids().size()},
                                  {"engine", engine_name(*engine)},
                                  {"startup_ms", ready_ms}});

  if (flags.demo) {
    std::string scheme = flags.cert_file.empty() ? "http" : "https";
    std::string cacert;
    if (!flags.cert_file.empty())
      cacert = "--cacert " + shown_path(fs::path(flags.cert_file).parent_path() / "ca.crt") + " ";
    std::cout << "tollgate is serving " << env.policy_ids().size() << " policies on " << scheme
              << "://" << flags.addr << ":" << server->port() << " (readiness: http://"
              << flags.addr << ":" << server->readiness_port() << "/readiness). Try:\n\n"
              << "  curl " << cacert << "-H 'Content-Type: application/json' --data @"
              << shown_path(demo_fixture()) << " " << scheme << "://" << flags.addr << ":"
              << server->port() << "/validate/pod-privileged\n\n"
              << "Policies: ";
    for (const auto& id : env.policy_ids())
      std::cout << id << " ";
    std::cout << "\nCtrl-C stops the server.\n" << std::flush;
  }
  server->wait();
  logger->log(LogLevel::info, kTarget, "stopped");
  return 0;
}

}  // namespace

ServeCommand::ServeCommand(CLI::App& parent) : flags_(std::make_unique<ServeFlags>()) {
  serve_ = parent.add_subcommand(
      "serve", "Run the admission webhook server (policy-server's flags and KUBEWARDEN_* env)");
  ServeFlags& f = *flags_;
  auto* app = serve_;
  app->add_option("--log-level", f.log_level, "trace, debug, info, warn or error")
      ->envname("KUBEWARDEN_LOG_LEVEL")
      ->capture_default_str();
  app->add_option("--log-fmt", f.log_fmt, "text, json or otlp (otlp: text, export unsupported)")
      ->envname("KUBEWARDEN_LOG_FMT")
      ->capture_default_str();
  app->add_flag("--log-no-color", f.log_no_color, "No colours in logs (tollgate never uses any)")
      ->envname("NO_COLOR");
  app->add_option("--addr", f.addr, "Bind address of the API, readiness and metrics listeners")
      ->envname("KUBEWARDEN_BIND_ADDRESS")
      ->capture_default_str();
  app->add_option("--port", f.port, "API port")->envname("KUBEWARDEN_PORT")->capture_default_str();
  app->add_option("--readiness-probe-port", f.readiness_probe_port,
                  "Plain-HTTP port of GET /readiness")
      ->envname("KUBEWARDEN_READINESS_PROBE_PORT")
      ->capture_default_str();
  app->add_option("--workers", f.workers, "Concurrent policy evaluations (default: CPUs)")
      ->envname("KUBEWARDEN_WORKERS")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app->add_option("--cert-file", f.cert_file, "TLS certificate (PEM); with --key-file")
      ->envname("KUBEWARDEN_CERT_FILE");
  app->add_option("--key-file", f.key_file, "TLS private key (PEM); with --cert-file")
      ->envname("KUBEWARDEN_KEY_FILE");
  app->add_option("--client-ca-file", f.client_ca_file,
                  "Comma-separated CA files; enables mTLS (needs --cert-file and --key-file)")
      ->envname("KUBEWARDEN_CLIENT_CA_FILE");
  app->add_option("--policies", f.policies, "policies.yml")
      ->envname("KUBEWARDEN_POLICIES")
      ->capture_default_str();
  app->add_option("--policies-download-dir", f.policies_download_dir,
                  "Where downloaded modules are stored")
      ->envname("KUBEWARDEN_POLICIES_DOWNLOAD_DIR")
      ->capture_default_str();
  app->add_option("--sigstore-cache-dir", f.sigstore_cache_dir, "Unused (no sigstore support)")
      ->envname("KUBEWARDEN_SIGSTORE_CACHE_DIR")
      ->capture_default_str();
  app->add_option("--sigstore-trust-config", f.sigstore_trust_config,
                  "Ignored with a warning (no sigstore support)")
      ->envname("KUBEWARDEN_SIGSTORE_TRUST_CONFIG_PATH");
  app->add_option("--sources-path", f.sources_path, "sources.yml (insecure sources, CAs)")
      ->envname("KUBEWARDEN_SOURCES_PATH");
  app->add_option("--verification-path", f.verification_path,
                  "Module signature verification: not supported, refuses to start")
      ->envname("KUBEWARDEN_VERIFICATION_CONFIG_PATH");
  app->add_option("--docker-config-json-path", f.docker_config_json_path,
                  "Ignored with a warning (no registry:// support)")
      ->envname("KUBEWARDEN_DOCKER_CONFIG_JSON_PATH");
  app->add_flag("--enable-metrics", f.enable_metrics, "Serve Prometheus metrics on --metrics-port")
      ->envname("KUBEWARDEN_ENABLE_METRICS");
  app->add_option("--metrics-port", f.metrics_port,
                  "Plain-HTTP port of GET /metrics (tollgate's own; policy-server pushes OTLP)")
      ->envname("KUBEWARDEN_METRICS_PORT")
      ->capture_default_str();
  app->add_option("--always-accept-admission-reviews-on-namespace", f.always_accept_namespace,
                  "Requests in this namespace are accepted without evaluation")
      ->envname("KUBEWARDEN_ALWAYS_ACCEPT_ADMISSION_REVIEWS_ON_NAMESPACE");
  app->add_flag("--disable-timeout-protection", f.disable_timeout_protection,
                "No evaluation deadline")
      ->envname("KUBEWARDEN_DISABLE_TIMEOUT_PROTECTION");
  app->add_option("--policy-timeout", f.policy_timeout, "Evaluation deadline in seconds")
      ->envname("KUBEWARDEN_POLICY_TIMEOUT")
      ->check(CLI::Range(uint64_t{1}, uint64_t{3600}))
      ->capture_default_str();
  app->add_flag("--daemon", f.daemon, "Not supported: refuses to start")
      ->envname("KUBEWARDEN_DAEMON");
  app->add_option("--daemon-pid-file", f.daemon_pid_file, "Unused (no --daemon)")
      ->envname("KUBEWARDEN_DAEMON_PID_FILE")
      ->capture_default_str();
  app->add_option("--daemon-stdout-file", f.daemon_stdout_file, "Unused (no --daemon)")
      ->envname("KUBEWARDEN_DAEMON_STDOUT_FILE");
  app->add_option("--daemon-stderr-file", f.daemon_stderr_file, "Unused (no --daemon)")
      ->envname("KUBEWARDEN_DAEMON_STDERR_FILE");
  app->add_flag("--ignore-kubernetes-connection-failure", f.ignore_kubernetes_connection_failure,
                "Start without a Kubernetes client (tollgate never has one yet)")
      ->envname("KUBEWARDEN_IGNORE_KUBERNETES_CONNECTION_FAILURE");
  app->add_flag("--enable-pprof", f.enable_pprof, "Not implemented: warns")
      ->envname("KUBEWARDEN_ENABLE_PPROF");
  app->add_flag("--continue-on-errors", f.continue_on_errors,
                "A policy failing to load rejects its requests instead of stopping start-up")
      ->envname("KUBEWARDEN_CONTINUE_ON_ERRORS")
      ->group("");
  app->add_option("--io-threads", f.io_threads, "Threads doing TLS and HTTP")
      ->check(CLI::Range(1, 64))
      ->capture_default_str()
      ->group("");
  add_engine_options(*app, f.engine);
  app->add_flag("--demo", f.demo,
                "Built-in defaults: this build's example policies (unless --policies), a "
                "certificate for localhost in <build>/demo-tls (unless --cert-file), 127.0.0.1 "
                "(unless --addr); prints a curl command to try");
}

ServeCommand::~ServeCommand() = default;

std::optional<int> ServeCommand::dispatch() const {
  if (!serve_->parsed())
    return std::nullopt;
  return run_serve(*flags_, *serve_);
}

}  // namespace tollgate::server::cli
