// Host capabilities: dispatch and its error strings, tracing, regex, crypto, DNS, record/replay.
// SPDX-License-Identifier: Apache-2.0
#include "hostabi/kubewarden/capabilities.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include <boost/json.hpp>

#include "hostabi/kubewarden/session.hpp"

namespace tollgate::hostabi::kubewarden {
namespace {

namespace json = boost::json;

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

HostCallOutcome call(const CapabilityContext& ctx,
                     std::string_view b,
                     std::string_view ns,
                     std::string_view op,
                     std::string_view payload) {
  return dispatch_host_call(ctx, b, ns, op, bytes(payload));
}

struct RecordingSink : LogSink {
  struct Line {
    std::string policy;
    LogLevel level;
    std::string message;
    json::object fields;
  };
  std::vector<Line> lines;
  void policy_log(std::string_view policy,
                  LogLevel level,
                  std::string_view message,
                  const json::object& fields) override {
    lines.push_back({std::string(policy), level, std::string(message), fields});
  }
  void console_log(std::string_view, std::string_view) override {}
};

TEST(capabilities, unknown_binding_namespace_operation) {
  CapabilityContext ctx;
  EXPECT_EQ(call(ctx, "nope", "x", "y", "").data, "unknown binding: nope");
  EXPECT_EQ(call(ctx, "kubewarden", "space", "y", "").data, "unknown namespace: space");
  EXPECT_EQ(call(ctx, "kubewarden", "tracing", "shout", "").data, "unknown operation: shout");
  EXPECT_EQ(call(ctx, "kubewarden", "oci", "v9/x", "\"img\"").data, "unknown operation: v9/x");
  EXPECT_EQ(call(ctx, "kubewarden", "regex", "v1/nothing", R"({"pattern":"a","text":"a"})").data,
            "unknown operation: v1/nothing");
  EXPECT_FALSE(call(ctx, "nope", "x", "y", "").ok);
}

TEST(capabilities, tracing_log_goes_to_the_sink) {
  RecordingSink sink;
  CapabilityContext ctx;
  ctx.policy_id = "pod-privileged";
  ctx.log = &sink;
  auto out = call(ctx, "kubewarden", "tracing", "log",
                  R"({"level":"WARNING","message":"careful","pod":"p1"})");
  ASSERT_TRUE(out.ok) << out.data;
  EXPECT_EQ(out.data, "");
  ASSERT_EQ(sink.lines.size(), 1u);
  EXPECT_EQ(sink.lines[0].policy, "pod-privileged");
  EXPECT_EQ(sink.lines[0].level, LogLevel::warning);
  EXPECT_EQ(sink.lines[0].message, "careful");
  EXPECT_EQ(json::serialize(sink.lines[0].fields), R"({"pod":"p1"})");
  EXPECT_FALSE(call(ctx, "kubewarden", "tracing", "log", "not json").ok);
  EXPECT_FALSE(call(ctx, "kubewarden", "tracing", "log", R"({"level":"loud"})").ok);
}

TEST(capabilities, regex_match_find_all_replace_all) {
  CapabilityContext ctx;
  auto m = call(ctx, "kubewarden", "regex", "v1/match",
                R"({"pattern":"^registry\\.example\\.com/","text":"registry.example.com/app:1"})");
  ASSERT_TRUE(m.ok) << m.data;
  EXPECT_EQ(m.data, R"({"matched":true})");
  auto no = call(ctx, "kubewarden", "regex", "v1/match", R"({"pattern":"^x","text":"abc"})");
  EXPECT_EQ(no.data, R"({"matched":false})");

  auto all = call(ctx, "kubewarden", "regex", "v1/find_all",
                  R"({"pattern":"[0-9]+","text":"a1 b22 c333"})");
  ASSERT_TRUE(all.ok);
  EXPECT_EQ(all.data, R"({"matches":["1","22","333"]})");
  auto limited = call(ctx, "kubewarden", "regex", "v1/find_all",
                      R"({"pattern":"[0-9]+","text":"a1 b22 c333","limit":2})");
  EXPECT_EQ(limited.data, R"({"matches":["1","22"]})");
  // Empty matches advance, so this terminates with one empty match per position.
  auto empty = call(ctx, "kubewarden", "regex", "v1/find_all", R"({"pattern":"x*","text":"ab"})");
  EXPECT_EQ(empty.data, R"({"matches":["","",""]})");

  auto rep = call(ctx, "kubewarden", "regex", "v1/replace_all",
                  R"j({"pattern":"(\\w+)@(\\w+)","text":"a@b c@d","rewrite":"\\2@\\1"})j");
  ASSERT_TRUE(rep.ok) << rep.data;
  EXPECT_EQ(rep.data, R"({"result":"b@a d@c"})");

  auto bad = call(ctx, "kubewarden", "regex", "v1/match", R"({"pattern":"(","text":""})");
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.data.rfind("invalid regular expression: ", 0), 0u) << bad.data;
  // Backreferences are not regular: RE2 refuses them instead of running in exponential time.
  EXPECT_FALSE(
      call(ctx, "kubewarden", "regex", "v1/match", R"j({"pattern":"(a)\\1","text":""})j").ok);
  EXPECT_FALSE(call(ctx, "kubewarden", "regex", "v1/match", R"({"pattern":1,"text":""})").ok);
}

TEST(capabilities, kubernetes_allow_list_and_provider) {
  struct Provider : CapabilityProvider {
    HostCallOutcome kubernetes(std::string_view op, const json::value& req) override {
      return HostCallOutcome::success(std::string(op) + " " + json::serialize(req));
    }
  } provider;
  CapabilityContext ctx;
  ctx.context_aware_resources = {{"v1", "Namespace"}};
  auto denied =
      call(ctx, "kubewarden", "kubernetes", "get_resource",
           R"({"api_version":"apps/v1","kind":"Deployment","name":"x","disable_cache":false})");
  EXPECT_FALSE(denied.ok);
  EXPECT_EQ(denied.data,
            "Policy has not been granted access to Kubernetes apps/v1/Deployment resources. The "
            "violation has been reported.");
  auto unavailable = call(ctx, "kubewarden", "kubernetes", "get_resource",
                          R"({"api_version":"v1","kind":"Namespace","name":"default"})");
  EXPECT_FALSE(unavailable.ok);
  EXPECT_NE(unavailable.data.find("not available"), std::string::npos);
  ctx.provider = &provider;
  auto ok = call(ctx, "kubewarden", "kubernetes", "list_resources_all",
                 R"({"api_version":"v1","kind":"Namespace"})");
  ASSERT_TRUE(ok.ok);
  EXPECT_EQ(ok.data, R"(list_resources_all {"api_version":"v1","kind":"Namespace"})");
  EXPECT_FALSE(call(ctx, "kubewarden", "oci", "v1/manifest_digest", "\"busybox\"").ok);
}

TEST(capabilities, a_throwing_provider_becomes_a_guest_error) {
  struct Throwing : CapabilityProvider {
    HostCallOutcome oci(std::string_view, const json::value&) override {
      throw std::runtime_error("registry exploded");
    }
  } provider;
  CapabilityContext ctx;
  ctx.provider = &provider;
  auto out = call(ctx, "kubewarden", "oci", "v1/manifest_digest", "\"busybox\"");
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.data, "host capability failed: registry exploded");
}

TEST(capabilities, host_capabilities_gating) {
  CapabilityContext ctx;
  ctx.host_capabilities = std::vector<std::string>{"oci/v1/*", "net/v1/dns_lookup_host"};
  auto denied = call(ctx, "kubewarden", "crypto", "v1/is_certificate_trusted", "{}");
  EXPECT_EQ(denied.data,
            "Policy has not been granted access to the 'crypto/v1/is_certificate_trusted' host "
            "capability. The violation has been reported.");
  // Granted, but no provider: it gets as far as the provider.
  auto oci = call(ctx, "kubewarden", "oci", "v1/manifest_digest", "\"busybox\"");
  EXPECT_NE(oci.data.find("not available"), std::string::npos);
  // Tracing is never gated.
  EXPECT_TRUE(call(ctx, "kubewarden", "tracing", "log", R"({"level":"info"})").ok);
}

TEST(capabilities, dns_lookup_host) {
  auto out = dns_lookup_host("\"localhost\"");
  ASSERT_TRUE(out.ok) << out.data;
  json::value v = json::parse(out.data);
  bool found = false;
  for (const auto& ip : v.at("ips").as_array())
    found |= ip.as_string() == "127.0.0.1" || ip.as_string() == "::1";
  EXPECT_TRUE(found) << out.data;
  EXPECT_FALSE(dns_lookup_host("42").ok);
  EXPECT_FALSE(dns_lookup_host("\"no-such-host.invalid\"").ok);
}

// Certificates made with the openssl CLI in a temporary directory.
class Certs : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/tollgate-certs-XXXXXX";
    dir_ = mkdtemp(tmpl);
    const std::string d = dir_;
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ";
    const std::string cmds[] = {
        "openssl req -x509" + ec + "-days 30 -subj /CN=root -keyout " + d + "/root.key -out " + d +
            "/root.pem -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign",
        "openssl req -x509" + ec + "-days 30 -subj /CN=root -keyout " + d + "/other.key -out " + d +
            "/other.pem -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign",
        "openssl req" + ec + "-subj /CN=leaf -keyout " + d + "/leaf.key -out " + d + "/leaf.csr",
        "openssl x509 -req -in " + d + "/leaf.csr -CA " + d + "/root.pem -CAkey " + d +
            "/root.key -CAcreateserial -days 10 -out " + d + "/leaf.pem",
        "openssl x509 -in " + d + "/leaf.pem -outform DER -out " + d + "/leaf.der",
    };
    ok_ = true;
    for (const auto& c : cmds)
      ok_ = ok_ && std::system((c + " >/dev/null 2>&1").c_str()) == 0;
  }
  static void TearDownTestSuite() { std::system(("rm -rf " + dir_).c_str()); }
  static json::object cert(const std::string& file, const char* encoding) {
    std::ifstream f(dir_ + "/" + file, std::ios::binary);
    json::array data;
    for (auto it = std::istreambuf_iterator<char>(f); it != std::istreambuf_iterator<char>(); ++it)
      data.push_back(static_cast<uint8_t>(*it));
    return json::object{{"encoding", encoding}, {"data", std::move(data)}};
  }
  static std::string dir_;
  static bool ok_;
};
std::string Certs::dir_;
bool Certs::ok_ = false;

TEST_F(Certs, is_certificate_trusted) {
  ASSERT_TRUE(ok_) << "openssl CLI could not make test certificates";
  auto verify = [](json::object req) { return verify_certificate(json::serialize(req)); };
  auto trusted = verify(
      {{"cert", cert("leaf.pem", "Pem")}, {"cert_chain", json::array{cert("root.pem", "Pem")}}});
  ASSERT_TRUE(trusted.ok) << trusted.data;
  EXPECT_EQ(trusted.data, R"({"trusted":true,"reason":""})");

  auto der = verify(
      {{"cert", cert("leaf.der", "Der")}, {"cert_chain", json::array{cert("root.pem", "Pem")}}});
  EXPECT_EQ(der.data, R"({"trusted":true,"reason":""})");

  auto other = verify(
      {{"cert", cert("leaf.pem", "Pem")}, {"cert_chain", json::array{cert("other.pem", "Pem")}}});
  ASSERT_TRUE(other.ok);
  EXPECT_EQ(
      other.data,
      R"({"trusted":false,"reason":"Certificate is not trusted by the provided cert chain"})");

  // Kubewarden treats a certificate without a chain as trusted.
  auto no_chain = verify({{"cert", cert("leaf.pem", "Pem")}});
  EXPECT_EQ(no_chain.data, R"({"trusted":true,"reason":""})");

  auto expired = verify({{"cert", cert("leaf.pem", "Pem")}, {"not_after", "2999-01-01T00:00:00Z"}});
  EXPECT_EQ(expired.data,
            R"({"trusted":false,"reason":"Certificate is being used after its expiration date"})");
  auto in_range = verify({{"cert", cert("leaf.pem", "Pem")},
                          {"cert_chain", json::array{cert("root.pem", "Pem")}},
                          {"not_after", "2020-01-01T10:00:00+02:00"}});
  // Verified at that time, before the leaf existed: OpenSSL finds it not yet valid.
  EXPECT_NE(in_range.data.find("\"trusted\":false"), std::string::npos) << in_range.data;

  auto bad_time = verify({{"cert", cert("leaf.pem", "Pem")}, {"not_after", "yesterday"}});
  EXPECT_FALSE(bad_time.ok);
  EXPECT_EQ(bad_time.data, "Timestamp not_after is not in RFC3339 format");

  auto garbage = verify_certificate(R"({"cert":{"encoding":"Pem","data":[1,2,3]}})");
  EXPECT_FALSE(garbage.ok);
  EXPECT_EQ(garbage.data, "Certificate is not a valid DER or PEM encoded certificate");
}

TEST(session, record_then_replay) {
  struct Provider : CapabilityProvider {
    HostCallOutcome kubernetes(std::string_view, const json::value&) override {
      return HostCallOutcome::success(R"({"metadata":{"name":"default"}})");
    }
  } provider;
  InteractionRecorder recorder;
  CapabilityContext ctx;
  ctx.provider = &provider;
  ctx.recorder = &recorder;
  ctx.context_aware_resources = {{"v1", "Namespace"}};
  const char* req =
      R"({"api_version":"v1","kind":"Namespace","name":"default","disable_cache":false})";
  auto live = call(ctx, "kubewarden", "kubernetes", "get_resource", req);
  ASSERT_TRUE(live.ok);
  auto failed = call(ctx, "kubewarden", "oci", "v1/manifest_digest", R"("busybox:latest")");
  ASSERT_FALSE(failed.ok);
  ASSERT_EQ(recorder.exchanges().size(), 2u);
  EXPECT_EQ(recorder.exchanges()[0].request.rfind("!KubernetesGetResource", 0), 0u)
      << recorder.exchanges()[0].request;
  EXPECT_NE(recorder.exchanges()[1].request.find("!OciManifestDigest"), std::string::npos);
  EXPECT_NE(recorder.exchanges()[1].request.find("image: busybox:latest"), std::string::npos)
      << recorder.exchanges()[1].request;

  const std::string yaml = recorder.to_yaml();
  EXPECT_NE(yaml.find("type: Exchange"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("type: Success"), std::string::npos) << yaml;

  auto replayer = InteractionReplayer::parse(yaml);
  ASSERT_TRUE(replayer.ok()) << replayer.error().message;
  CapabilityContext replay;  // no provider: answers must come from the session
  replay.replayer = &replayer.value();
  replay.context_aware_resources = ctx.context_aware_resources;
  auto again = call(replay, "kubewarden", "kubernetes", "get_resource", req);
  ASSERT_TRUE(again.ok) << again.data;
  EXPECT_EQ(again.data, live.data);
  // Out of order: the next recorded request is the OCI one.
  auto wrong = call(replay, "kubewarden", "kubernetes", "get_resource", req);
  EXPECT_FALSE(wrong.ok);
  EXPECT_NE(wrong.data.find("mismatch"), std::string::npos);
  auto oci = call(replay, "kubewarden", "oci", "v1/manifest_digest", R"("busybox:latest")");
  EXPECT_FALSE(oci.ok);
  EXPECT_EQ(oci.data, failed.data);
  EXPECT_EQ(replayer.value().remaining(), 0u);
}

TEST(session, parses_kwctl_session_file) {
  const char* file = R"(---
- type: Exchange
  request: |
    !KubernetesGetResource
    api_version: v1
    kind: Namespace
    name: default
  response:
    type: Success
    payload: '{"apiVersion":"v1","kind":"Namespace"}'
)";
  auto r = InteractionReplayer::parse(file);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().remaining(), 1u);
  auto out =
      r.value().next("!KubernetesGetResource\napi_version: v1\nkind: Namespace\nname: default\n");
  ASSERT_TRUE(out.ok) << out.data;
  EXPECT_EQ(out.data, R"({"apiVersion":"v1","kind":"Namespace"})");
  EXPECT_FALSE(InteractionReplayer::parse("- {type: Nope}").ok());
  EXPECT_FALSE(InteractionReplayer::parse("[unclosed").ok());
}

}  // namespace
}  // namespace tollgate::hostabi::kubewarden
