// The webhook server's transport: HTTPS API listener, readiness and metrics listeners, shutdown.
// SPDX-License-Identifier: Apache-2.0
//
// One session object per connection runs the chain wait-for-bytes -> read header -> read body
// -> (worker pool) -> write -> next request, each step under its own deadline (Beast's
// `expires_after`). The split between "waiting for the first byte" and "reading a request" is
// what lets a keep-alive connection idle longer than a request may take to arrive, and lets a
// graceful shutdown close idle connections at once while requests in flight finish.
#include "server/net/server.hpp"

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace tollgate::server::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using evaluation::LogLevel;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kLogTarget = "tollgate::net";

enum class Listener : uint8_t { api, readiness, metrics };

// The JSON error body policy-server uses for transport-level refusals too.
api::HttpResponse error_response(unsigned status, std::string_view message) {
  boost::json::object body;
  body["message"] = message;
  body["status"] = status;
  return api::HttpResponse{status, "application/json", boost::json::serialize(body)};
}

// Errors that only mean the peer went away; not worth a log line above debug.
bool is_disconnect(const beast::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::operation_aborted ||
         ec == beast::error::timeout || ec == http::error::end_of_stream ||
         ec == http::error::partial_message ||
         // A client closing the TCP connection without a TLS close_notify: harmless here, since
         // every message is length-delimited by HTTP and a truncated one fails to parse anyway.
         ec == ssl::error::stream_truncated;
}

}  // namespace

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  /// Posted to the session's strand at shutdown: an idle connection closes now; a busy one
  /// answers with `Connection: close`.
  virtual void on_server_stopping() = 0;
  /// Posted when the shutdown grace period is over.
  virtual void force_close() = 0;
};

struct Server::Impl {
  ServerOptions options;
  ServerHooks hooks;
  std::shared_ptr<const evaluation::Logger> logger;

  std::atomic<bool> ready{false};
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> api_connections{0};
  std::atomic<std::size_t> all_connections{0};

  std::mutex sessions_mutex;
  uint64_t next_session_id = 0;
  std::unordered_map<uint64_t, std::weak_ptr<SessionBase>> sessions;

  std::mutex stop_mutex;
  std::condition_variable stop_cv;
  bool stopped = false;
  bool joined = false;

  // Everything above outlives the io_context: sessions still queued in it when it is destroyed
  // unregister themselves on the way out.
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  asio::strand<asio::io_context::executor_type> control{asio::make_strand(ioc)};
  std::unique_ptr<TlsContextSource> tls;
  tcp::acceptor api_acceptor{control};
  tcp::acceptor readiness_acceptor{control};
  std::optional<tcp::acceptor> metrics_acceptor;
  asio::steady_timer reload_timer{control};
  asio::steady_timer drain_timer{control};
  asio::steady_timer accept_retry_timer{control};
  asio::signal_set signals{control};
  Clock::time_point drain_deadline;
  uint16_t api_port = 0;
  uint16_t readiness_port = 0;
  std::optional<uint16_t> metrics_port;
  bool forced = false;
  std::vector<std::thread> io_threads;
  // Declared last, destroyed (joined) first: its tasks post back into the io_context.
  std::optional<asio::thread_pool> workers;

  template <typename Fields = boost::json::object>
  void log(LogLevel level, std::string_view message, const Fields& fields = {}) const {
    if (logger->enabled(level))
      logger->log(level, kLogTarget, message, fields);
  }

  bool bind(tcp::acceptor& acceptor, uint16_t port, const char* what, std::string& error);
  void do_accept(Listener which);
  void on_accept(Listener which, beast::error_code ec, tcp::socket socket);
  void schedule_reload();
  void begin_shutdown();
  void drain();
  void mark_stopped();

  uint64_t register_session(std::weak_ptr<SessionBase> session) {
    std::lock_guard lock(sessions_mutex);
    uint64_t id = next_session_id++;
    sessions.emplace(id, std::move(session));
    return id;
  }
  void unregister_session(uint64_t id, bool api) {
    {
      std::lock_guard lock(sessions_mutex);
      sessions.erase(id);
    }
    if (api)
      api_connections.fetch_sub(1);
    all_connections.fetch_sub(1);
  }
  std::vector<std::shared_ptr<SessionBase>> live_sessions() {
    std::vector<std::shared_ptr<SessionBase>> out;
    std::lock_guard lock(sessions_mutex);
    for (auto& [id, weak] : sessions) {
      if (auto session = weak.lock())
        out.push_back(std::move(session));
    }
    return out;
  }

  api::HttpResponse answer_probe(Listener which, const api::HttpRequest& request) const {
    if (request.method != "GET" && request.method != "HEAD")
      return api::HttpResponse{405, "text/plain", ""};
    if (which == Listener::readiness) {
      if (request.target != "/readiness")
        return api::HttpResponse{404, "text/plain", ""};
      return ready.load() && !stopping.load() ? api::HttpResponse{200, "text/plain", ""}
                                              : api::HttpResponse{503, "text/plain", ""};
    }
    if (request.target != "/metrics" || !hooks.render_metrics)
      return api::HttpResponse{404, "text/plain", ""};
    try {
      return api::HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8",
                               hooks.render_metrics()};
    } catch (const std::exception& e) {
      log(LogLevel::error, "rendering metrics failed", boost::json::object{{"error", e.what()}});
      return api::HttpResponse{500, "text/plain", ""};
    }
  }

  api::HttpResponse answer_api(const api::HttpRequest& request) const {
    try {
      return hooks.handle(request);
    } catch (const std::exception& e) {
      log(LogLevel::error, "request handler failed",
          boost::json::object{{"error", e.what()}, {"target", request.target}});
    } catch (...) {
      log(LogLevel::error, "request handler failed",
          boost::json::object{{"target", request.target}});
    }
    return error_response(500, "Something went wrong");
  }
};

namespace {

template <typename Stream>
Stream make_stream(tcp::socket&& socket, ssl::context* ctx);

template <>
beast::tcp_stream make_stream<beast::tcp_stream>(tcp::socket&& socket, ssl::context*) {
  return beast::tcp_stream(std::move(socket));
}

template <>
beast::ssl_stream<beast::tcp_stream> make_stream<beast::ssl_stream<beast::tcp_stream>>(
    tcp::socket&& socket,
    ssl::context* ctx) {
  return beast::ssl_stream<beast::tcp_stream>(std::move(socket), *ctx);
}

template <typename Stream>
constexpr bool kIsTls = !std::is_same_v<Stream, beast::tcp_stream>;

template <typename Stream>
class HttpSession final : public SessionBase,
                          public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  HttpSession(Server::Impl& server,
              Listener which,
              tcp::socket&& socket,
              std::shared_ptr<ssl::context> ctx)
      : server_(server),
        limits_(server.options.limits),
        which_(which),
        ctx_(std::move(ctx)),
        stream_(make_stream<Stream>(std::move(socket), ctx_.get())) {}

  ~HttpSession() override { server_.unregister_session(id_, which_ == Listener::api); }

  void run() {
    id_ = server_.register_session(this->weak_from_this());
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().set_option(tcp::no_delay(true), ec);
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->start(); });
  }

  void on_server_stopping() override {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->state_ == State::idle || self->state_ == State::handshake)
        self->close_now();
    });
  }

  void force_close() override {
    asio::dispatch(stream_.get_executor(),
                   [self = this->shared_from_this()] { self->close_now(); });
  }

 private:
  enum class State : uint8_t { handshake, idle, reading, busy, writing, closing, closed };

  void start() {
    if (server_.stopping.load())
      return close_now();
    if constexpr (kIsTls<Stream>) {
      state_ = State::handshake;
      beast::get_lowest_layer(stream_).expires_after(limits_.handshake_timeout);
      stream_.async_handshake(
          ssl::stream_base::server,
          beast::bind_front_handler(&HttpSession::on_handshake, this->shared_from_this()));
    } else {
      wait_for_request();
    }
  }

  void on_handshake(beast::error_code ec) {
    if (ec)
      return fail(ec, "TLS handshake");
    wait_for_request();
  }

  // Idle until the next request's first byte arrives (bytes already buffered count).
  void wait_for_request() {
    if (server_.stopping.load() && buffer_.size() == 0)
      return close_now();
    if (buffer_.size() > 0)
      return read_header();
    state_ = State::idle;
    beast::get_lowest_layer(stream_).expires_after(requests_ == 0 ? limits_.header_timeout
                                                                  : limits_.idle_timeout);
    stream_.async_read_some(
        buffer_.prepare(4096),
        beast::bind_front_handler(&HttpSession::on_first_bytes, this->shared_from_this()));
  }

  void on_first_bytes(beast::error_code ec, std::size_t bytes) {
    if (ec)
      return fail(ec, "read");
    buffer_.commit(bytes);
    read_header();
  }

  void read_header() {
    state_ = State::reading;
    started_ = Clock::now();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
    parser_->body_limit(limits_.max_body_bytes);
    beast::get_lowest_layer(stream_).expires_after(limits_.header_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&HttpSession::on_header, this->shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec == http::error::header_limit)
      return refuse(431, "request header fields too large");
    if (ec == http::error::body_limit)  // Content-Length over the limit
      return refuse(413, "request body too large");
    if (ec && !is_disconnect(ec))
      return refuse(400, "malformed HTTP request");
    if (ec)
      return fail(ec, "read header");
    auto& header = parser_->get();
    if (auto length = parser_->content_length(); length && *length > limits_.max_body_bytes)
      return refuse(413, "request body too large");
    if (beast::iequals(header[http::field::expect], "100-continue")) {
      continue_.emplace(http::status::continue_, header.version());
      beast::get_lowest_layer(stream_).expires_after(limits_.write_timeout);
      return http::async_write(
          stream_, *continue_,
          beast::bind_front_handler(&HttpSession::on_continue_sent, this->shared_from_this()));
    }
    read_body();
  }

  void on_continue_sent(beast::error_code ec, std::size_t) {
    if (ec)
      return fail(ec, "write 100-continue");
    read_body();
  }

  void read_body() {
    beast::get_lowest_layer(stream_).expires_after(limits_.body_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::on_body, this->shared_from_this()));
  }

  void on_body(beast::error_code ec, std::size_t) {
    if (ec == http::error::body_limit)
      return refuse(413, "request body too large");
    if (ec && !is_disconnect(ec))
      return refuse(400, "malformed HTTP request");
    if (ec)
      return fail(ec, "read body");
    beast::get_lowest_layer(stream_).expires_never();
    auto& message = parser_->get();
    keep_alive_ = message.keep_alive();
    version_ = message.version();
    ++requests_;
    api::HttpRequest request{std::string(message.method_string()), std::string(message.target()),
                             std::string(message[http::field::content_type]),
                             std::move(message.body())};
    state_ = State::busy;
    if (server_.logger->enabled(LogLevel::debug)) {
      method_ = request.method;
      target_ = request.target;
    }
    // Probes are cheap and must answer even when every worker is busy evaluating.
    if (which_ != Listener::api)
      return send(server_.answer_probe(which_, request));
    asio::post(*server_.workers, [self = this->shared_from_this(), request = std::move(request)] {
      api::HttpResponse response = self->server_.answer_api(request);
      asio::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->send(std::move(response));
      });
    });
  }

  // Answers a request we will not read further, then closes: the rest of its bytes are
  // unparsed, so the connection cannot carry another request.
  void refuse(unsigned status, std::string_view why) {
    version_ = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
    keep_alive_ = false;
    if (server_.logger->enabled(LogLevel::debug))
      server_.log(LogLevel::debug, "request refused",
                  boost::json::object{{"status", status}, {"reason", why}});
    send(error_response(status, why));
  }

  void send(api::HttpResponse response) {
    if (state_ == State::closed)
      return;
    state_ = State::writing;
    bool keep =
        keep_alive_ && !server_.stopping.load() && requests_ < limits_.max_requests_per_connection;
    response_ = {};
    response_.version(version_);
    response_.result(response.status);
    if (!response.content_type.empty())
      response_.set(http::field::content_type, response.content_type);
    response_.body() = std::move(response.body);
    response_.keep_alive(keep);
    response_.prepare_payload();
    if (server_.logger->enabled(LogLevel::debug) && !target_.empty()) {
      auto micros =
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_).count();
      server_.log(LogLevel::debug, "request",
                  boost::json::object{{"method", method_},
                                      {"target", target_},
                                      {"status", response.status},
                                      {"latency_us", micros}});
    }
    beast::get_lowest_layer(stream_).expires_after(limits_.write_timeout);
    http::async_write(
        stream_, response_,
        beast::bind_front_handler(&HttpSession::on_write, this->shared_from_this(), keep));
  }

  void on_write(bool keep, beast::error_code ec, std::size_t) {
    if (ec)
      return fail(ec, "write");
    response_ = {};
    if (!keep)
      return close_gracefully();
    wait_for_request();
  }

  void close_gracefully() {
    state_ = State::closing;
    if constexpr (kIsTls<Stream>) {
      // Send close_notify; waiting long for the peer's is pointless, it is closing anyway.
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
      stream_.async_shutdown(
          beast::bind_front_handler(&HttpSession::on_tls_shutdown, this->shared_from_this()));
    } else {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      close_now();
    }
  }

  void on_tls_shutdown(beast::error_code) { close_now(); }

  void close_now() {
    if (state_ == State::closed)
      return;
    state_ = State::closed;
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(stream_).close();
  }

  void fail(beast::error_code ec, const char* what) {
    if (!is_disconnect(ec) && server_.logger->enabled(LogLevel::debug))
      server_.log(LogLevel::debug, "connection error",
                  boost::json::object{{"step", what}, {"error", ec.message()}});
    close_now();
  }

  Server::Impl& server_;
  const ConnectionLimits& limits_;
  Listener which_;
  uint64_t id_ = 0;
  std::shared_ptr<ssl::context> ctx_;  // before stream_: the stream must die first
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> continue_;
  http::response<http::string_body> response_;
  State state_ = State::handshake;
  bool keep_alive_ = false;
  unsigned version_ = 11;
  unsigned requests_ = 0;
  Clock::time_point started_{};
  std::string method_;
  std::string target_;
};

}  // namespace

bool Server::Impl::bind(tcp::acceptor& acceptor,
                        uint16_t port,
                        const char* what,
                        std::string& error) {
  beast::error_code ec;
  auto address = asio::ip::make_address(options.address, ec);
  if (ec)
    return error = "invalid bind address '" + options.address + "'", false;
  tcp::endpoint endpoint(address, port);
  auto failed = [&](const char* step) {
    error = std::string("cannot ") + step + " the " + what + " listener on " + options.address +
            ":" + std::to_string(port) + ": " + ec.message();
    return false;
  };
  if (acceptor.open(endpoint.protocol(), ec); ec)
    return failed("open");
  if (acceptor.set_option(asio::socket_base::reuse_address(true), ec); ec)
    return failed("configure");
  if (acceptor.bind(endpoint, ec); ec)
    return failed("bind");
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec)
    return failed("listen on");
  return true;
}

void Server::Impl::do_accept(Listener which) {
  tcp::acceptor& acceptor = which == Listener::api         ? api_acceptor
                            : which == Listener::readiness ? readiness_acceptor
                                                           : *metrics_acceptor;
  // Each connection gets its own strand: its handlers never run concurrently.
  acceptor.async_accept(
      asio::make_strand(ioc),
      asio::bind_executor(control, [this, which](beast::error_code ec, tcp::socket socket) {
        on_accept(which, ec, std::move(socket));
      }));
}

void Server::Impl::on_accept(Listener which, beast::error_code ec, tcp::socket socket) {
  if (stopping.load() || ec == asio::error::operation_aborted)
    return;
  if (ec) {
    // Typically EMFILE: back off instead of spinning on a listener that cannot accept.
    log(LogLevel::warn, "accept failed", boost::json::object{{"error", ec.message()}});
    accept_retry_timer.expires_after(std::chrono::milliseconds(100));
    accept_retry_timer.async_wait([this, which](beast::error_code wait_ec) {
      if (!wait_ec && !stopping.load())
        do_accept(which);
    });
    return;
  }
  if (which == Listener::api) {
    if (api_connections.load() >= options.limits.max_connections) {
      log(LogLevel::warn, "connection refused: too many open connections",
          boost::json::object{{"limit", options.limits.max_connections}});
      beast::error_code ignored;
      socket.close(ignored);
      return do_accept(which);
    }
    api_connections.fetch_add(1);
    all_connections.fetch_add(1);
    if (tls) {
      std::make_shared<HttpSession<beast::ssl_stream<beast::tcp_stream>>>(
          *this, which, std::move(socket), tls->current())
          ->run();
    } else {
      std::make_shared<HttpSession<beast::tcp_stream>>(*this, which, std::move(socket), nullptr)
          ->run();
    }
  } else {
    all_connections.fetch_add(1);
    std::make_shared<HttpSession<beast::tcp_stream>>(*this, which, std::move(socket), nullptr)
        ->run();
  }
  do_accept(which);
}

void Server::Impl::schedule_reload() {
  reload_timer.expires_after(options.tls_reload_interval);
  reload_timer.async_wait([this](beast::error_code ec) {
    if (ec || stopping.load())
      return;
    std::string message;
    switch (tls->poll(message)) {
      case TlsContextSource::Change::none:
        break;
      case TlsContextSource::Change::reloaded:
        log(LogLevel::info, message);
        break;
      case TlsContextSource::Change::failed:
        log(LogLevel::error, message);
        break;
    }
    schedule_reload();
  });
}

void Server::Impl::begin_shutdown() {
  if (stopping.exchange(true))
    return;
  log(LogLevel::info, "shutting down: no new connections; finishing requests in flight",
      boost::json::object{{"open_connections", all_connections.load()}});
  beast::error_code ec;
  api_acceptor.close(ec);
  readiness_acceptor.close(ec);
  if (metrics_acceptor)
    metrics_acceptor->close(ec);
  reload_timer.cancel();
  accept_retry_timer.cancel();
  signals.cancel();
  for (auto& session : live_sessions())
    session->on_server_stopping();
  drain_deadline = Clock::now() + options.shutdown_grace;
  drain();
}

void Server::Impl::drain() {
  if (all_connections.load() == 0 || forced) {
    if (all_connections.load() != 0)
      log(LogLevel::warn, "shutdown grace period over: connections cut",
          boost::json::object{{"open_connections", all_connections.load()}});
    work.reset();
    ioc.stop();
    return;
  }
  if (Clock::now() >= drain_deadline) {
    for (auto& session : live_sessions())
      session->force_close();
    forced = true;  // one more tick for the closes to run, then stop
  }
  drain_timer.expires_after(std::chrono::milliseconds(10));
  drain_timer.async_wait([this](beast::error_code) { drain(); });
}

void Server::Impl::mark_stopped() {
  std::lock_guard lock(stop_mutex);
  stopped = true;
  stop_cv.notify_all();
}

std::unique_ptr<Server> Server::start(ServerOptions options,
                                      ServerHooks hooks,
                                      std::string& error) {
  auto impl = std::make_unique<Impl>();
  if (options.workers == 0)
    options.workers = std::max(1u, std::thread::hardware_concurrency());
  if (options.io_threads == 0)
    options.io_threads = std::max(1u, std::thread::hardware_concurrency() / 2);
  impl->options = std::move(options);
  impl->hooks = std::move(hooks);
  impl->logger =
      impl->hooks.logger ? impl->hooks.logger : std::make_shared<const evaluation::Logger>();
  if (!impl->hooks.handle)
    return error = "no request handler", nullptr;

  const ServerOptions& opts = impl->options;
  if (opts.tls) {
    impl->tls = TlsContextSource::load(*opts.tls, error);
    if (!impl->tls)
      return nullptr;
  }
  // The API listener first; readiness only once it is bound (kubewarden.md 1.7).
  if (!impl->bind(impl->api_acceptor, opts.port, "API", error) ||
      !impl->bind(impl->readiness_acceptor, opts.readiness_port, "readiness", error))
    return nullptr;
  if (opts.metrics_port) {
    impl->metrics_acceptor.emplace(impl->control);
    if (!impl->bind(*impl->metrics_acceptor, *opts.metrics_port, "metrics", error))
      return nullptr;
  }

  beast::error_code ec;
  impl->api_port = impl->api_acceptor.local_endpoint(ec).port();
  impl->readiness_port = impl->readiness_acceptor.local_endpoint(ec).port();
  if (impl->metrics_acceptor)
    impl->metrics_port = impl->metrics_acceptor->local_endpoint(ec).port();
  impl->workers.emplace(opts.workers);
  Impl* raw = impl.get();
  asio::dispatch(impl->control, [raw] {
    raw->do_accept(Listener::api);
    raw->do_accept(Listener::readiness);
    if (raw->metrics_acceptor)
      raw->do_accept(Listener::metrics);
    if (raw->tls)
      raw->schedule_reload();
    if (raw->options.stop_on_signals) {
      beast::error_code ec;
      raw->signals.add(SIGTERM, ec);
      raw->signals.add(SIGINT, ec);
      raw->signals.async_wait([raw](beast::error_code wait_ec, int signal) {
        if (wait_ec)
          return;
        raw->log(LogLevel::info, "signal received",
                 boost::json::object{{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
        raw->begin_shutdown();
      });
    }
  });
  for (std::size_t i = 0; i < opts.io_threads; ++i) {
    impl->io_threads.emplace_back([raw] {
      for (;;) {
        try {
          raw->ioc.run();
          break;
        } catch (const std::exception& e) {
          // A handler threw (e.g. bad_alloc): that connection is lost, the server is not.
          raw->log(LogLevel::error, "I/O thread caught an exception",
                   boost::json::object{{"error", e.what()}});
        }
      }
      raw->mark_stopped();
    });
  }

  boost::json::object fields{{"address", opts.address},
                             {"port", impl->api_port},
                             {"tls", opts.tls.has_value()},
                             {"mtls", opts.tls && !opts.tls->client_ca_files.empty()},
                             {"readiness_port", impl->readiness_port},
                             {"workers", opts.workers}};
  if (impl->metrics_acceptor)
    fields["metrics_port"] = *impl->metrics_port;
  impl->log(LogLevel::info, "listening", fields);
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  shutdown();
  wait();
  impl_->workers->join();
}

uint16_t Server::port() const {
  return impl_->api_port;
}

uint16_t Server::readiness_port() const {
  return impl_->readiness_port;
}

std::optional<uint16_t> Server::metrics_port() const {
  return impl_->metrics_port;
}

void Server::set_ready() {
  impl_->ready.store(true);
}

void Server::shutdown() {
  Impl* raw = impl_.get();
  asio::dispatch(raw->control, [raw] { raw->begin_shutdown(); });
}

void Server::wait() {
  {
    std::unique_lock lock(impl_->stop_mutex);
    impl_->stop_cv.wait(lock, [&] { return impl_->stopped; });
    if (impl_->joined)
      return;
    impl_->joined = true;
  }
  for (auto& thread : impl_->io_threads)
    thread.join();
}

std::size_t Server::open_connections() const {
  return impl_->api_connections.load();
}

}  // namespace tollgate::server::net
