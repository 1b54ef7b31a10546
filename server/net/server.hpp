// The webhook server's transport: HTTPS API listener, readiness and metrics listeners, shutdown.
// SPDX-License-Identifier: Apache-2.0
//
// Beast and OpenSSL stay behind this header (server.cpp): callers hand in a socket-free request
// handler (api::handle) and get listeners bound on return. Evaluations block, so requests are
// answered on a worker pool, never on the I/O threads. Readiness (GET /readiness, plain HTTP)
// answers 200 only once set_ready() was called; it listens only after the API listener is bound
// (kubewarden.md 1.7).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "server/api/http_types.hpp"
#include "server/evaluation/log.hpp"
#include "server/net/tls.hpp"

namespace tollgate::server::net {

/// Protection against slow, greedy or broken clients. Each timeout bounds one step; a client
/// that exceeds one is disconnected without an answer.
struct ConnectionLimits {
  std::size_t max_body_bytes = 4u << 20;     ///< larger bodies get 413 (AdmissionReviews are ~KB)
  std::size_t max_header_bytes = 16u << 10;  ///< larger header blocks get 431
  std::chrono::milliseconds handshake_timeout{10'000};
  /// From the first byte of a request to its last header line.
  std::chrono::milliseconds header_timeout{10'000};
  /// For the whole body once the headers are in.
  std::chrono::milliseconds body_timeout{30'000};
  /// How long a keep-alive connection may wait for its next request.
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds write_timeout{30'000};
  /// After this many requests the answer carries `Connection: close`, spreading long-lived
  /// clients over restarts and replicas.
  unsigned max_requests_per_connection = 10'000;
  /// Connections over this are closed right after accept().
  std::size_t max_connections = 4096;
};

struct ServerOptions {
  std::string address = "0.0.0.0";  ///< --addr, for the API, readiness and metrics listeners
  uint16_t port = 3000;             ///< 0 = ephemeral (see Server::port())
  uint16_t readiness_port = 8081;
  std::optional<uint16_t> metrics_port;  ///< Prometheus text on GET /metrics; nullopt = off
  std::optional<TlsFiles> tls;           ///< nullopt = plain HTTP
  /// How often the certificate, key and client CA files are checked for changes.
  std::chrono::milliseconds tls_reload_interval{1000};
  std::size_t workers = 0;     ///< threads running the handler; 0 = number of CPUs
  std::size_t io_threads = 1;  ///< threads doing TLS and HTTP; 0 = one per two CPUs
  /// On SIGTERM/SIGINT: stop accepting, finish requests in flight for at most this long.
  bool stop_on_signals = false;
  std::chrono::milliseconds shutdown_grace{20'000};
  ConnectionLimits limits;
};

struct ServerHooks {
  /// Answers an API request; runs on a worker thread. Must be thread-safe. An exception becomes
  /// a 500.
  std::function<api::HttpResponse(const api::HttpRequest&)> handle;
  /// The metrics endpoint's body; empty function: 404.
  std::function<std::string()> render_metrics;
  /// Request, connection and TLS logs (target "tollgate::net"); null: info, text, stderr.
  std::shared_ptr<const evaluation::Logger> logger;
};

class Server {
 public:
  /// Binds the API listener, then the readiness and metrics listeners, and starts the I/O and
  /// worker threads. nullptr and `error` when a listener cannot be bound or TLS fails to load.
  static std::unique_ptr<Server> start(ServerOptions options,
                                       ServerHooks hooks,
                                       std::string& error);

  /// Stops (gracefully) and joins every thread.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// The bound ports (meaningful when 0 was asked for).
  uint16_t port() const;
  uint16_t readiness_port() const;
  std::optional<uint16_t> metrics_port() const;

  /// From now on GET /readiness answers 200 (before: 503).
  void set_ready();

  /// Graceful stop, callable from any thread and more than once: the listeners close, idle
  /// connections close, requests in flight are answered (with `Connection: close`) for at most
  /// `shutdown_grace`, then everything left is cut.
  void shutdown();
  /// Blocks until the server stopped (after shutdown() or a signal).
  void wait();

  /// Connections currently open on the API listener.
  std::size_t open_connections() const;

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tollgate::server::net
