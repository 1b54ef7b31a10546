// The whole server over real sockets: TLS, mTLS, certificate reload, readiness, hardening,
// concurrency and graceful shutdown, with the example policies and the shared fixtures.
// SPDX-License-Identifier: Apache-2.0
#include "server/net/server.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <openssl/evp.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

#include "hostabi/kubewarden/metadata.hpp"
#include "server/api/handler.hpp"
#include "server/evaluation/environment.hpp"
#include "server/evaluation/json_patch.hpp"
#include "server/net/cert_gen.hpp"
#include "server/net/https_fetch.hpp"
#include "tests/unit/hostabi/guests.hpp"
#include "tests/utils/wat.hpp"

namespace tollgate::server::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace json = boost::json;
namespace fs = std::filesystem;
namespace kw = hostabi::kubewarden;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using namespace tollgate::test::guests;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string fixture(const std::string& name) {
  std::string text = read_text(fs::path(TG_FIXTURES_DIR) / name);
  EXPECT_FALSE(text.empty()) << name;
  return text;
}

fs::path scratch() {
  static fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("tollgate-net-tests-" + std::to_string(getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

void write(const fs::path& path, const std::string& text) {
  std::string error;
  ASSERT_TRUE(write_file_atomically(path.string(), text, false, error)) << error;
}

std::string write_module(const std::string& name, std::vector<uint8_t> wasm) {
  kw::Metadata metadata;
  metadata.protocol_version = "v1";
  kw::write_metadata(wasm, metadata);
  fs::path path = scratch() / (name + ".wasm");
  write(path, std::string(wasm.begin(), wasm.end()));
  return path.string();
}

// An example policy of this build with its metadata embedded (as `kwctl annotate` does).
std::string example(const char* wasm_path, const char* metadata_path, const std::string& name) {
  std::string bytes = read_text(wasm_path);
  auto metadata = kw::parse_metadata(read_text(metadata_path));
  EXPECT_TRUE(metadata) << name;
  std::vector<uint8_t> wasm(bytes.begin(), bytes.end());
  kw::write_metadata(wasm, *metadata);
  fs::path path = scratch() / (name + ".wasm");
  write(path, std::string(wasm.begin(), wasm.end()));
  return path.string();
}

// validate_settings accepts; validate never returns (for the deadline).
std::string looping_guest() {
  Data d;
  Str valid = d.add(R"({"valid":true})");
  std::string body = "(if (i32.eq (local.get $op_len) (i32.const 17)) (then " + respond(valid) +
                     "))\n(loop $l (br $l)) (i32.const 1)\n";
  return write_module("looping", test::wat_to_wasm(wapc_guest(d, body)));
}

// --- certificates -------------------------------------------------------------------------

struct Pki {
  KeyAndCert ca;
  KeyAndCert server;
  KeyAndCert client;
};

Pki make_pki(const std::string& name) {
  Pki pki;
  std::string error;
  EXPECT_TRUE(make_ca(name + " CA", 30, pki.ca, error)) << error;
  CertRequest server{"localhost", {"localhost"}, {"127.0.0.1"}, true, false, 30};
  EXPECT_TRUE(issue_certificate(pki.ca, server, pki.server, error)) << error;
  CertRequest client{name + " client", {}, {}, false, true, 30};
  EXPECT_TRUE(issue_certificate(pki.ca, client, pki.client, error)) << error;
  return pki;
}

// --- a small Beast client ------------------------------------------------------------------

struct Reply {
  unsigned status = 0;
  std::string content_type;
  std::string body;
  bool keep_alive = false;
  json::value json() const { return json::parse(body); }
};

class Client {
 public:
  /// TLS when `trust` (a CA PEM) is given; `identity` adds a client certificate.
  Client(uint16_t port, const std::string* trust = nullptr, const KeyAndCert* identity = nullptr)
      : ctx_(ssl::context::tls_client) {
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
    if (trust) {
      ctx_.add_certificate_authority(asio::buffer(*trust));
      ctx_.set_verify_mode(ssl::verify_peer);
      ctx_.set_verify_callback(ssl::host_name_verification("localhost"));
      if (identity) {
        ctx_.use_certificate_chain(asio::buffer(identity->cert_pem));
        ctx_.use_private_key(asio::buffer(identity->key_pem), ssl::context::pem);
      }
      tls_.emplace(ioc_, ctx_);
      beast::get_lowest_layer(*tls_).connect(endpoint);
      SSL_set_tlsext_host_name(tls_->native_handle(), "localhost");
      tls_->handshake(ssl::stream_base::client, handshake_error_);
    } else {
      plain_.emplace(ioc_);
      plain_->connect(endpoint);
    }
  }

  beast::error_code handshake_error() const { return handshake_error_; }

  Reply request(http::verb verb,
                const std::string& target,
                const std::string& body = {},
                const std::string& content_type = "application/json") {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "localhost");
    if (!content_type.empty())
      req.set(http::field::content_type, content_type);
    req.body() = body;
    req.prepare_payload();
    Reply reply;
    auto exchange = [&](auto& stream) {
      http::write(stream, req, error_);
      if (error_)
        return;
      http::response<http::string_body> res;
      http::read(stream, buffer_, res, error_);
      if (error_)
        return;
      reply.status = res.result_int();
      reply.content_type = std::string(res[http::field::content_type]);
      reply.body = std::move(res.body());
      reply.keep_alive = res.keep_alive();
    };
    if (tls_)
      exchange(*tls_);
    else
      exchange(*plain_);
    return reply;
  }

  Reply post(const std::string& target, const std::string& body) {
    return request(http::verb::post, target, body);
  }
  Reply get(const std::string& target) { return request(http::verb::get, target, {}, {}); }

  /// Raw bytes, for requests a well-behaved client would not send.
  void send_raw(const std::string& bytes) {
    if (tls_)
      asio::write(*tls_, asio::buffer(bytes), error_);
    else
      asio::write(plain_->socket(), asio::buffer(bytes), error_);
  }
  /// Reads one response, or reports why none came.
  Reply read_reply() {
    Reply reply;
    http::response<http::string_body> res;
    if (tls_)
      http::read(*tls_, buffer_, res, error_);
    else
      http::read(*plain_, buffer_, res, error_);
    if (!error_) {
      reply.status = res.result_int();
      reply.body = res.body();
    }
    return reply;
  }

  beast::error_code error() const { return error_; }

 private:
  asio::io_context ioc_;
  ssl::context ctx_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  std::optional<beast::tcp_stream> plain_;
  beast::flat_buffer buffer_;
  beast::error_code handshake_error_;
  beast::error_code error_;
};

std::string decode_base64(const std::string& text) {
  std::string out(text.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0)
    return {};
  size_t padding = text.ends_with("==") ? 2 : text.ends_with("=") ? 1 : 0;
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

// --- the shared environment -----------------------------------------------------------------

constexpr const char* kRejectMessage = "Privileged container is not allowed";
constexpr const char* kTimeoutMessage =
    "Policy execution interrupted because it exceeded the allowed execution time";

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pod =
        example(TG_POLICY_POD_PRIVILEGED_WASM, TG_POLICY_POD_PRIVILEGED_METADATA, "pod-privileged");
    std::string resources = example(TG_POLICY_CONTAINER_RESOURCES_WASM,
                                    TG_POLICY_CONTAINER_RESOURCES_METADATA, "container-resources");
    std::string labels =
        example(TG_POLICY_REQUIRE_LABELS_WASM, TG_POLICY_REQUIRE_LABELS_METADATA, "require-labels");
    std::string looping = looping_guest();
    std::string yaml =
        "pod-privileged: {module: " + pod + "}\n" + "pod-privileged-monitor: {module: " + pod +
        ", policyMode: monitor}\n" + "pod-privileged-message: {module: " + pod +
        ", message: \"no privileged pods here\"}\n" +
        "container-resources:\n  module: " + resources +
        "\n  allowedToMutate: true\n  settings: "
        R"({"cpu":{"defaultRequest":"100m","defaultLimit":"500m","maxLimit":"2"},)"
        R"("memory":{"defaultRequest":"128Mi","defaultLimit":"512Mi","maxLimit":"2Gi"}})"
        "\nlooping: {module: " +
        looping + ", timeoutEvalSeconds: 1}\n" +
        "privileged-or-labelled:\n  expression: \"pod_privileged() || require_labels()\"\n"
        "  message: \"the group rejected it\"\n  policies:\n"
        "    pod_privileged: {module: " +
        pod +
        "}\n"
        "    require_labels: {module: " +
        labels + ", settings: {required_labels: [app, version]}}\n";
    auto entries = evaluation::parse_policies(yaml);
    ASSERT_TRUE(entries) << entries.error().message;
    evaluation::EnvironmentOptions options;
    options.workers = 4;
    options.always_accept_namespace = "kubewarden";
    options.logger = std::make_shared<evaluation::Logger>(evaluation::LogLevel::warn,
                                                          evaluation::LogFormat::text);
    auto env = evaluation::EvaluationEnvironment::build(std::move(entries).value(), options);
    ASSERT_TRUE(env) << env.error().message;
    env_ = std::move(env).value().release();
    pki_ = new Pki(make_pki("main"));
    write(scratch() / "tls.crt", pki_->server.cert_pem);
    write(scratch() / "tls.key", pki_->server.key_pem);
    write(scratch() / "ca.crt", pki_->ca.cert_pem);
  }

  static void TearDownTestSuite() {
    delete env_;
    delete pki_;
  }

  static ServerOptions options(bool tls = true) {
    ServerOptions o;
    o.address = "127.0.0.1";
    o.port = 0;
    o.readiness_port = 0;
    o.metrics_port = 0;
    o.workers = 4;
    o.io_threads = 2;
    o.tls_reload_interval = 50ms;
    o.shutdown_grace = 5s;
    if (tls)
      o.tls = TlsFiles{(scratch() / "tls.crt").string(), (scratch() / "tls.key").string(), {}};
    return o;
  }

  static std::unique_ptr<Server> start(ServerOptions o) {
    ServerHooks hooks;
    hooks.handle = [](const api::HttpRequest& request) { return api::handle(*env_, request); };
    hooks.render_metrics = [] { return env_->metrics().render_prometheus(); };
    hooks.logger = std::make_shared<evaluation::Logger>(evaluation::LogLevel::warn,
                                                        evaluation::LogFormat::text);
    std::string error;
    auto server = Server::start(std::move(o), std::move(hooks), error);
    EXPECT_TRUE(server) << error;
    if (server)
      server->set_ready();
    return server;
  }

  Client client(const Server& server) { return Client(server.port(), &pki_->ca.cert_pem); }

  static json::object response_of(const Reply& reply) {
    EXPECT_EQ(reply.status, 200u) << reply.body;
    json::value v = reply.json();
    EXPECT_EQ(v.at("kind"), "AdmissionReview");
    return v.at("response").as_object();
  }

  static evaluation::EvaluationEnvironment* env_;
  static Pki* pki_;
};

evaluation::EvaluationEnvironment* ServerTest::env_ = nullptr;
Pki* ServerTest::pki_ = nullptr;

// --- admission behaviour through the socket --------------------------------------------------

TEST_F(ServerTest, accepts_and_echoes_the_uid) {
  auto server = start(options());
  Client c = client(*server);
  auto r = response_of(c.post("/validate/pod-privileged", fixture("review_pod_unprivileged.json")));
  EXPECT_EQ(r.at("allowed"), true);
  EXPECT_EQ(r.at("uid"), "1299d386-525b-4032-98ae-1949f69f9cfc");
  EXPECT_FALSE(r.contains("patch"));
}

TEST_F(ServerTest, rejects_with_message) {
  auto server = start(options());
  Client c = client(*server);
  auto r = response_of(c.post("/validate/pod-privileged", fixture("review_pod_privileged.json")));
  EXPECT_EQ(r.at("allowed"), false);
  EXPECT_EQ(r.at("status").at("message"), kRejectMessage);
}

TEST_F(ServerTest, mutation_patch_applies_to_the_object) {
  auto server = start(options());
  Client c = client(*server);
  std::string body = fixture("review_pod_unprivileged.json");
  auto r = response_of(c.post("/validate/container-resources", body));
  EXPECT_EQ(r.at("allowed"), true);
  ASSERT_EQ(r.at("patchType"), "JSONPatch");
  json::value patch = json::parse(decode_base64(std::string(r.at("patch").as_string())));
  json::value object = json::parse(body).at("request").at("object");
  auto applied = evaluation::json_patch::apply(object, patch.as_array());
  ASSERT_TRUE(applied) << applied.error().message;
  for (int i = 0; i < 2; ++i) {
    const auto& resources = object.at("spec").at("containers").at(i).at("resources");
    EXPECT_EQ(resources.at("limits").at("cpu"), "500m");
    EXPECT_EQ(resources.at("limits").at("memory"), "512Mi");
    EXPECT_EQ(resources.at("requests").at("cpu"), "100m");
    EXPECT_EQ(resources.at("requests").at("memory"), "128Mi");
  }
}

TEST_F(ServerTest, monitor_mode_accepts_without_status) {
  auto server = start(options());
  Client c = client(*server);
  auto r = response_of(
      c.post("/validate/pod-privileged-monitor", fixture("review_pod_privileged.json")));
  EXPECT_EQ(r.at("allowed"), true);
  EXPECT_FALSE(r.contains("status"));
  EXPECT_FALSE(r.contains("patch"));
}

TEST_F(ServerTest, custom_message_keeps_the_original_as_cause) {
  auto server = start(options());
  Client c = client(*server);
  auto r = response_of(
      c.post("/validate/pod-privileged-message", fixture("review_pod_privileged.json")));
  EXPECT_EQ(r.at("allowed"), false);
  EXPECT_EQ(r.at("status").at("message"), "no privileged pods here");
  EXPECT_EQ(r.at("status").at("details").at("causes").at(0).at("message"), kRejectMessage);
}

TEST_F(ServerTest, error_statuses) {
  auto server = start(options());
  Client c = client(*server);
  Reply unknown = c.post("/validate/nope", fixture("review_pod_privileged.json"));
  EXPECT_EQ(unknown.status, 404u);
  EXPECT_EQ(unknown.json(), json::parse(R"({"message":"unknown policy: nope","status":404})"));
  Reply malformed = c.post("/validate/pod-privileged", "{\"request\": ");
  EXPECT_EQ(malformed.status, 400u);
  EXPECT_EQ(malformed.json().at("status"), 400);
  Reply shape = c.post("/validate/pod-privileged", "{}");
  EXPECT_EQ(shape.status, 422u);
  EXPECT_EQ(shape.json().at("status"), 422);
  Reply type = c.request(http::verb::post, "/validate/pod-privileged",
                         fixture("review_pod_privileged.json"), "text/plain");
  EXPECT_EQ(type.status, 415u);
  // The connection survives all of these.
  auto r = response_of(c.post("/validate/pod-privileged", fixture("review_pod_unprivileged.json")));
  EXPECT_EQ(r.at("allowed"), true);
}

TEST_F(ServerTest, policy_timeout_rejects) {
  auto server = start(options());
  Client c = client(*server);
  auto started = std::chrono::steady_clock::now();
  auto r = response_of(c.post("/validate/looping", fixture("review_pod_unprivileged.json")));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_EQ(r.at("allowed"), false);
  EXPECT_EQ(r.at("status").at("code"), 500);
  EXPECT_EQ(r.at("status").at("message"), kTimeoutMessage);
}

TEST_F(ServerTest, always_accept_namespace) {
  auto server = start(options());
  Client c = client(*server);
  json::value review = json::parse(fixture("review_pod_privileged.json"));
  review.at("request").as_object()["namespace"] = "kubewarden";
  auto r = response_of(c.post("/validate/pod-privileged", json::serialize(review)));
  EXPECT_EQ(r.at("allowed"), true);
  EXPECT_EQ(c.post("/validate/nope", json::serialize(review)).status, 404u);
}

TEST_F(ServerTest, policy_group_accepts_and_rejects) {
  auto server = start(options());
  Client c = client(*server);
  auto ok = response_of(
      c.post("/validate/privileged-or-labelled", fixture("review_pod_unprivileged.json")));
  EXPECT_EQ(ok.at("allowed"), true);
  auto no = response_of(
      c.post("/validate/privileged-or-labelled", fixture("review_pod_privileged.json")));
  EXPECT_EQ(no.at("allowed"), false);
  EXPECT_EQ(no.at("status").at("message"), "the group rejected it");
  const auto& causes = no.at("status").at("details").at("causes").as_array();
  ASSERT_EQ(causes.size(), 2u);
  EXPECT_EQ(causes.at(0).at("field"), "spec.policies.pod_privileged");
  EXPECT_EQ(causes.at(0).at("message"), kRejectMessage);
  EXPECT_EQ(causes.at(1).at("field"), "spec.policies.require_labels");
}

TEST_F(ServerTest, plain_http_without_certificate) {
  auto server = start(options(false));
  Client c(server->port());
  auto r = response_of(c.post("/validate/pod-privileged", fixture("review_pod_privileged.json")));
  EXPECT_EQ(r.at("allowed"), false);
}

// --- TLS -----------------------------------------------------------------------------------

TEST_F(ServerTest, mtls_requires_a_client_certificate) {
  Pki clients = make_pki("clients");
  write(scratch() / "client-ca.crt", clients.ca.cert_pem);
  ServerOptions o = options();
  // Two CAs, comma-separated on the command line: either may have issued the client's cert.
  o.tls->client_ca_files = {(scratch() / "ca.crt").string(),
                            (scratch() / "client-ca.crt").string()};
  auto server = start(o);

  Client anonymous(server->port(), &pki_->ca.cert_pem);
  Reply refused;
  if (!anonymous.handshake_error())  // TLS 1.3: the refusal arrives after the handshake
    refused = anonymous.post("/validate/pod-privileged", fixture("review_pod_privileged.json"));
  EXPECT_TRUE(anonymous.handshake_error() || anonymous.error());
  EXPECT_EQ(refused.status, 0u);

  Pki stranger = make_pki("stranger");
  Client untrusted(server->port(), &pki_->ca.cert_pem, &stranger.client);
  if (!untrusted.handshake_error())
    untrusted.post("/validate/pod-privileged", fixture("review_pod_privileged.json"));
  EXPECT_TRUE(untrusted.handshake_error() || untrusted.error());

  Client known(server->port(), &pki_->ca.cert_pem, &clients.client);
  ASSERT_FALSE(known.handshake_error()) << known.handshake_error().message();
  auto r =
      response_of(known.post("/validate/pod-privileged", fixture("review_pod_privileged.json")));
  EXPECT_EQ(r.at("allowed"), false);
}

TEST_F(ServerTest, certificate_reload_needs_both_files) {
  fs::path dir = scratch() / "reload";
  fs::create_directories(dir);
  write(dir / "tls.crt", pki_->server.cert_pem);
  write(dir / "tls.key", pki_->server.key_pem);
  ServerOptions o = options();
  o.tls = TlsFiles{(dir / "tls.crt").string(), (dir / "tls.key").string(), {}};
  auto server = start(o);
  Client before(server->port(), &pki_->ca.cert_pem);
  ASSERT_FALSE(before.handshake_error());

  Pki next = make_pki("next");
  // Only the certificate changed: the pair does not match, nothing is reloaded.
  write(dir / "tls.crt", next.server.cert_pem);
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(Client(server->port(), &pki_->ca.cert_pem).handshake_error());

  write(dir / "tls.key", next.server.key_pem);
  bool switched = false;
  for (int i = 0; i < 100 && !switched; ++i) {
    std::this_thread::sleep_for(50ms);
    switched = !Client(server->port(), &next.ca.cert_pem).handshake_error();
  }
  EXPECT_TRUE(switched);
  EXPECT_TRUE(Client(server->port(), &pki_->ca.cert_pem).handshake_error());
  // A connection made before the reload keeps working.
  auto r =
      response_of(before.post("/validate/pod-privileged", fixture("review_pod_privileged.json")));
  EXPECT_EQ(r.at("allowed"), false);
}

TEST_F(ServerTest, bad_key_fails_start) {
  ServerOptions o = options();
  Pki other = make_pki("other");
  write(scratch() / "other.key", other.server.key_pem);
  o.tls->key_file = (scratch() / "other.key").string();
  ServerHooks hooks;
  hooks.handle = [](const api::HttpRequest&) { return api::HttpResponse{}; };
  std::string error;
  EXPECT_FALSE(Server::start(o, hooks, error));
  EXPECT_NE(error.find("key"), std::string::npos) << error;
}

// --- readiness and metrics -----------------------------------------------------------------

TEST_F(ServerTest, readiness_only_after_set_ready_and_metrics) {
  ServerHooks hooks;
  hooks.handle = [](const api::HttpRequest& request) { return api::handle(*env_, request); };
  hooks.render_metrics = [] { return env_->metrics().render_prometheus(); };
  hooks.logger =
      std::make_shared<evaluation::Logger>(evaluation::LogLevel::warn, evaluation::LogFormat::text);
  std::string error;
  auto server = Server::start(options(), hooks, error);
  ASSERT_TRUE(server) << error;
  EXPECT_EQ(Client(server->readiness_port()).get("/readiness").status, 503u);
  server->set_ready();
  Client probe(server->readiness_port());
  Reply ready = probe.get("/readiness");
  EXPECT_EQ(ready.status, 200u);
  EXPECT_EQ(ready.body, "");
  EXPECT_EQ(probe.get("/elsewhere").status, 404u);

  client(*server).post("/validate/pod-privileged", fixture("review_pod_privileged.json"));
  ASSERT_TRUE(server->metrics_port());
  Reply metrics = Client(*server->metrics_port()).get("/metrics");
  EXPECT_EQ(metrics.status, 200u);
  EXPECT_NE(metrics.content_type.find("text/plain"), std::string::npos);
  EXPECT_NE(metrics.body.find("kubewarden_policy_evaluations_total{"), std::string::npos);
  EXPECT_NE(metrics.body.find("policy_name=\"pod-privileged\""), std::string::npos);
}

// --- load and hardening --------------------------------------------------------------------

TEST_F(ServerTest, many_concurrent_clients) {
  auto server = start(options());
  const std::string accept = fixture("review_pod_unprivileged.json");
  const std::string reject = fixture("review_pod_privileged.json");
  std::atomic<int> correct{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      Client c(server->port(), &pki_->ca.cert_pem);
      for (int i = 0; i < 50; ++i) {
        bool expect_allowed = (i + t) % 2 == 0;
        Reply reply = c.post("/validate/pod-privileged", expect_allowed ? accept : reject);
        if (reply.status != 200)
          continue;
        json::value v = json::parse(reply.body);
        if (v.at("response").at("allowed").as_bool() == expect_allowed)
          ++correct;
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ(correct.load(), 16 * 50);
}

TEST_F(ServerTest, slow_client_is_cut_and_others_are_served) {
  ServerOptions o = options();
  o.limits.header_timeout = 300ms;
  auto server = start(o);
  Client slow = client(*server);
  slow.send_raw("POST /validate/pod-privileged HTTP/1.1\r\nHost: localhost\r\n");
  auto r = response_of(
      client(*server).post("/validate/pod-privileged", fixture("review_pod_privileged.json")));
  EXPECT_EQ(r.at("allowed"), false);
  std::this_thread::sleep_for(600ms);
  slow.send_raw("Content-Type: application/json\r\n");
  Reply none = slow.read_reply();
  EXPECT_TRUE(slow.error());
  EXPECT_EQ(none.status, 0u);
}

TEST_F(ServerTest, idle_keep_alive_connection_is_closed) {
  ServerOptions o = options();
  o.limits.idle_timeout = 200ms;
  auto server = start(o);
  Client c = client(*server);
  EXPECT_EQ(c.post("/validate/pod-privileged", fixture("review_pod_privileged.json")).status, 200u);
  std::this_thread::sleep_for(500ms);
  c.post("/validate/pod-privileged", fixture("review_pod_privileged.json"));
  EXPECT_TRUE(c.error());
}

TEST_F(ServerTest, oversized_and_garbage_requests) {
  ServerOptions o = options();
  o.limits.max_body_bytes = 64 * 1024;
  auto server = start(o);
  {
    Client c = client(*server);
    c.send_raw(
        "POST /validate/pod-privileged HTTP/1.1\r\nHost: localhost\r\n"
        "Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n");
    EXPECT_EQ(c.read_reply().status, 413u);
  }
  {
    Client c = client(*server);
    std::string chunk(32 * 1024, 'x');
    std::string request =
        "POST /validate/pod-privileged HTTP/1.1\r\nHost: localhost\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 3; ++i)
      request += "8000\r\n" + chunk + "\r\n";
    c.send_raw(request);
    EXPECT_EQ(c.read_reply().status, 413u);
  }
  {
    Client c = client(*server);
    c.send_raw("GARBAGE\r\n\r\n");
    EXPECT_EQ(c.read_reply().status, 400u);
  }
  {
    Client c = client(*server);
    c.send_raw("GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: " + std::string(64 * 1024, 'a') +
               "\r\n\r\n");
    EXPECT_EQ(c.read_reply().status, 431u);
  }
  // None of that hurt the server.
  auto r = response_of(
      client(*server).post("/validate/pod-privileged", fixture("review_pod_privileged.json")));
  EXPECT_EQ(r.at("allowed"), false);
}

TEST_F(ServerTest, connection_cap) {
  ServerOptions o = options();
  o.limits.max_connections = 2;
  auto server = start(o);
  Client a = client(*server);
  Client b = client(*server);
  ASSERT_FALSE(a.handshake_error());
  ASSERT_FALSE(b.handshake_error());
  Client c = client(*server);
  EXPECT_TRUE(c.handshake_error());
  EXPECT_EQ(a.post("/validate/pod-privileged", fixture("review_pod_privileged.json")).status, 200u);
}

TEST_F(ServerTest, graceful_shutdown_finishes_the_request_in_flight) {
  auto server = start(options());
  Client idle = client(*server);
  ASSERT_FALSE(idle.handshake_error());
  Reply in_flight;
  std::thread slow([&] {
    Client c = client(*server);
    in_flight = c.post("/validate/looping", fixture("review_pod_unprivileged.json"));
  });
  std::this_thread::sleep_for(300ms);
  uint16_t port = server->port();
  server->shutdown();
  slow.join();
  EXPECT_EQ(in_flight.status, 200u);
  EXPECT_FALSE(in_flight.keep_alive);
  EXPECT_EQ(in_flight.json().at("response").at("status").at("message"), kTimeoutMessage);
  server->wait();
  EXPECT_THROW(Client(port, &pki_->ca.cert_pem), boost::system::system_error);
  idle.post("/validate/pod-privileged", fixture("review_pod_privileged.json"));
  EXPECT_TRUE(idle.error());
}

// --- module download -----------------------------------------------------------------------

TEST_F(ServerTest, https_fetch_honours_source_authorities) {
  ServerOptions o = options();
  ServerHooks hooks;
  hooks.handle = [](const api::HttpRequest& request) {
    if (request.target == "/module.wasm")
      return api::HttpResponse{200, "application/wasm", "wasm module bytes"};
    return api::HttpResponse{404, "text/plain", ""};
  };
  std::string error;
  auto server = Server::start(o, hooks, error);
  ASSERT_TRUE(server) << error;
  std::string url = "https://127.0.0.1:" + std::to_string(server->port()) + "/module.wasm";

  FetchOptions fetch;
  fetch.step_timeout = 5s;
  auto untrusted = fetch_url(url, fetch);
  EXPECT_FALSE(untrusted);

  fetch.sources.source_authorities["127.0.0.1:" + std::to_string(server->port())] = {
      {evaluation::SourceAuthority::Type::data, pki_->ca.cert_pem}};
  auto trusted = fetch_url(url, fetch);
  ASSERT_TRUE(trusted) << trusted.error().message;
  EXPECT_EQ(std::string(trusted->begin(), trusted->end()), "wasm module bytes");

  FetchOptions insecure;
  insecure.sources.insecure_sources = {"127.0.0.1:" + std::to_string(server->port())};
  EXPECT_TRUE(fetch_url(url, insecure));

  auto missing =
      fetch_url("https://127.0.0.1:" + std::to_string(server->port()) + "/moved", insecure);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("404"), std::string::npos);
  EXPECT_FALSE(fetch_url("http://127.0.0.1:1/x.wasm", fetch));  // plain http needs insecure
}

}  // namespace
}  // namespace tollgate::server::net
