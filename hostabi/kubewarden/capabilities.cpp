// Host capabilities under binding `kubewarden` (kubewarden.md 2.4) plus our `regex` namespace.
// SPDX-License-Identifier: Apache-2.0
#include "hostabi/kubewarden/capabilities.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <re2/re2.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <exception>
#include <memory>

#include <boost/json.hpp>

#include "hostabi/kubewarden/protocol.hpp"

#include "hostabi/kubewarden/session.hpp"

namespace tollgate::hostabi::kubewarden {

namespace json = boost::json;

const char* log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::trace:
      return "trace";
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warning:
      return "warning";
    case LogLevel::error:
      return "error";
  }
  return "info";
}

HostCallOutcome CapabilityProvider::kubernetes(std::string_view operation, const json::value&) {
  return HostCallOutcome::failure("kubernetes/" + std::string(operation) +
                                  ": Kubernetes host capabilities are not available");
}

HostCallOutcome CapabilityProvider::oci(std::string_view operation, const json::value&) {
  return HostCallOutcome::failure("oci/" + std::string(operation) +
                                  ": OCI host capabilities are not available");
}

namespace {

std::string_view as_text(std::span<const uint8_t> bytes) {
  return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

std::optional<json::value> parse_payload(std::string_view text, std::string& error) {
  boost::system::error_code ec;
  json::value v = parse_json(text, ec);
  if (ec) {
    error = ec.message();
    return std::nullopt;
  }
  return v;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// --- tracing/log ------------------------------------------------------------------------------

HostCallOutcome tracing_log(const CapabilityContext& ctx, std::string_view payload) {
  std::string err;
  auto v = parse_payload(payload, err);
  if (!v || !v->is_object())
    return HostCallOutcome::failure("cannot deserialize policy log entry: " +
                                    (v ? std::string("not a JSON object") : err));
  json::object fields = v->get_object();
  const json::value* level_v = fields.if_contains("level");
  if (level_v == nullptr || !level_v->is_string())
    return HostCallOutcome::failure("cannot deserialize policy log entry: missing field `level`");
  const std::string level_s = lower(level_v->get_string());
  LogLevel level;
  if (level_s == "trace")
    level = LogLevel::trace;
  else if (level_s == "debug")
    level = LogLevel::debug;
  else if (level_s == "info")
    level = LogLevel::info;
  else if (level_s == "warning" || level_s == "warn")
    level = LogLevel::warning;
  else if (level_s == "error")
    level = LogLevel::error;
  else
    return HostCallOutcome::failure("cannot deserialize policy log entry: unknown level `" +
                                    std::string(level_v->get_string()) + "`");
  std::string message;
  if (const json::value* m = fields.if_contains("message"); m && m->is_string())
    message = std::string(m->get_string());
  fields.erase("level");
  fields.erase("message");
  if (ctx.log)
    ctx.log->policy_log(ctx.policy_id, level, message, fields);
  return HostCallOutcome::success("");
}

// --- crypto/v1/is_certificate_trusted ---------------------------------------------------------

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

// {"encoding": "Pem"|"Der", "data": [u8...]} to an X509.
std::optional<X509Ptr> decode_certificate(const json::value& v) {
  const json::object* o = v.if_object();
  if (o == nullptr)
    return std::nullopt;
  const json::value* enc = o->if_contains("encoding");
  const json::value* data = o->if_contains("data");
  if (!enc || !enc->is_string() || !data || !data->is_array())
    return std::nullopt;
  std::vector<uint8_t> bytes;
  bytes.reserve(data->get_array().size());
  for (const json::value& b : data->get_array()) {
    if (!b.is_int64() && !b.is_uint64())
      return std::nullopt;
    int64_t n = b.is_int64() ? b.get_int64() : static_cast<int64_t>(b.get_uint64());
    if (n < 0 || n > 255)
      return std::nullopt;
    bytes.push_back(static_cast<uint8_t>(n));
  }
  if (bytes.size() > INT32_MAX)
    return std::nullopt;
  X509* cert = nullptr;
  if (enc->get_string() == "Pem") {
    BIO* bio = BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size()));
    if (bio == nullptr)
      return std::nullopt;
    cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
  } else if (enc->get_string() == "Der") {
    const unsigned char* p = bytes.data();
    cert = d2i_X509(nullptr, &p, static_cast<long>(bytes.size()));
  }
  if (cert == nullptr)
    return std::nullopt;
  return X509Ptr(cert);
}

// RFC 3339 (`2024-01-02T03:04:05Z`, optional fraction, `Z` or `±hh:mm`) to Unix seconds.
std::optional<int64_t> parse_rfc3339(std::string_view s) {
  int y, mo, d, h, mi, sec, consumed = 0;
  std::string text(s);
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
                  &consumed) != 6 ||
      consumed != 19)
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
    return std::nullopt;
  size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t digits = 0;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])))
      ++pos, ++digits;
    if (digits == 0)
      return std::nullopt;
  }
  int64_t offset = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos + 6 == text.size() && (text[pos] == '+' || text[pos] == '-') &&
             text[pos + 3] == ':') {
    int oh = 0, om = 0;
    if (std::sscanf(text.c_str() + pos + 1, "%2d:%2d", &oh, &om) != 2 || oh > 23 || om > 59)
      return std::nullopt;
    offset = (text[pos] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size())
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return static_cast<int64_t>(timegm(&tm)) - offset;
}

std::optional<int64_t> asn1_time_to_unix(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1)
    return std::nullopt;
  return static_cast<int64_t>(timegm(&tm));
}

HostCallOutcome trusted_answer(bool trusted, std::string reason) {
  json::object o{{"trusted", trusted}, {"reason", std::move(reason)}};
  return HostCallOutcome::success(json::serialize(o));
}

}  // namespace

HostCallOutcome verify_certificate(std::string_view request_json) {
  std::string err;
  auto req = parse_payload(request_json, err);
  if (!req || !req->is_object())
    return HostCallOutcome::failure("cannot decode certificate verification request: " +
                                    (req ? std::string("not a JSON object") : err));
  const json::object& o = req->get_object();
  const json::value* cert_v = o.if_contains("cert");
  if (cert_v == nullptr)
    return HostCallOutcome::failure(
        "cannot decode certificate verification request: missing field `cert`");
  auto cert = decode_certificate(*cert_v);
  if (!cert)
    return HostCallOutcome::failure("Certificate is not a valid DER or PEM encoded certificate");

  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  int64_t verification_time = now;
  if (const json::value* na = o.if_contains("not_after"); na && !na->is_null()) {
    std::optional<int64_t> t = na->is_string() ? parse_rfc3339(na->get_string()) : std::nullopt;
    if (!t)
      return HostCallOutcome::failure("Timestamp not_after is not in RFC3339 format");
    auto cert_not_after = asn1_time_to_unix(X509_get0_notAfter(cert->get()));
    if (!cert_not_after || *cert_not_after < *t)
      return trusted_answer(false, "Certificate is being used after its expiration date");
    verification_time = *t;
  }
  auto not_before = asn1_time_to_unix(X509_get0_notBefore(cert->get()));
  if (!not_before || *not_before > now)
    return trusted_answer(false, "Certificate is being used before its validity date");

  // Kubewarden treats a certificate without a chain as trusted; with one, the chain's last
  // certificate is the trust anchor and the others are intermediates.
  const json::value* chain_v = o.if_contains("cert_chain");
  if (chain_v == nullptr || chain_v->is_null())
    return trusted_answer(true, "");
  if (!chain_v->is_array())
    return HostCallOutcome::failure(
        "cannot decode certificate verification request: cert_chain must be a list");
  std::vector<X509Ptr> chain;
  for (const json::value& c : chain_v->get_array()) {
    auto x = decode_certificate(c);
    if (!x)
      return HostCallOutcome::failure("Certificate is not a valid DER or PEM encoded certificate");
    chain.push_back(std::move(*x));
  }
  if (chain.empty())
    return trusted_answer(false, "Certificate is not trusted by the provided cert chain");

  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  std::unique_ptr<STACK_OF(X509), void (*)(STACK_OF(X509)*)> intermediates(
      sk_X509_new_null(), [](STACK_OF(X509) * s) { sk_X509_free(s); });
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> vctx(X509_STORE_CTX_new(),
                                                                       X509_STORE_CTX_free);
  if (!store || !intermediates || !vctx ||
      X509_STORE_add_cert(store.get(), chain.back().get()) != 1)
    return HostCallOutcome::failure("cannot set up certificate verification");
  for (size_t i = 0; i + 1 < chain.size(); ++i)
    sk_X509_push(intermediates.get(), chain[i].get());
  if (X509_STORE_CTX_init(vctx.get(), store.get(), cert->get(), intermediates.get()) != 1)
    return HostCallOutcome::failure("cannot set up certificate verification");
  X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(vctx.get()),
                             static_cast<time_t>(verification_time));
  if (X509_verify_cert(vctx.get()) == 1)
    return trusted_answer(true, "");
  const int code = X509_STORE_CTX_get_error(vctx.get());
  switch (code) {
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return trusted_answer(false, "Certificate is not trusted by the provided cert chain");
    default:
      return trusted_answer(
          false, std::string("Certificate not trusted: ") + X509_verify_cert_error_string(code));
  }
}

// --- net/v1/dns_lookup_host -------------------------------------------------------------------

HostCallOutcome dns_lookup_host(std::string_view request_json) {
  std::string err;
  auto req = parse_payload(request_json, err);
  if (!req || !req->is_string())
    return HostCallOutcome::failure("cannot decode DNS lookup request: expected a JSON string");
  std::string host(req->get_string());
  if (host.empty() || host.size() > 253 || host.find('\0') != std::string::npos)
    return HostCallOutcome::failure("DNS lookup failed: invalid host name");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0)
    return HostCallOutcome::failure(std::string("DNS lookup failed: ") + gai_strerror(rc));
  std::vector<std::string> ips;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {0};
    const void* addr =
        ai->ai_family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr);
    if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
        inet_ntop(ai->ai_family, addr, buf, sizeof buf) != nullptr &&
        std::find(ips.begin(), ips.end(), buf) == ips.end())
      ips.emplace_back(buf);
  }
  freeaddrinfo(res);
  json::array arr;
  for (auto& ip : ips)
    arr.emplace_back(ip);
  return HostCallOutcome::success(json::serialize(json::object{{"ips", std::move(arr)}}));
}

// --- regex (ours) -----------------------------------------------------------------------------

namespace {

constexpr size_t kMaxPatternBytes = 64u << 10;
constexpr int64_t kMaxRegexProgramBytes = 8 << 20;
constexpr size_t kDefaultFindAllLimit = 1000;

}  // namespace

HostCallOutcome regex_call(std::string_view operation, std::string_view request_json) {
  std::string err;
  auto req = parse_payload(request_json, err);
  if (!req || !req->is_object())
    return HostCallOutcome::failure("cannot decode regex request: " +
                                    (req ? std::string("not a JSON object") : err));
  const json::object& o = req->get_object();
  const json::value* pattern_v = o.if_contains("pattern");
  const json::value* text_v = o.if_contains("text");
  if (!pattern_v || !pattern_v->is_string() || !text_v || !text_v->is_string())
    return HostCallOutcome::failure(
        "cannot decode regex request: `pattern` and `text` must be strings");
  const json::string& pattern = pattern_v->get_string();
  const json::string& text = text_v->get_string();
  if (pattern.size() > kMaxPatternBytes)
    return HostCallOutcome::failure("invalid regular expression: pattern too long");

  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(kMaxRegexProgramBytes);
  RE2 re(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re.ok())
    return HostCallOutcome::failure("invalid regular expression: " + re.error());
  const re2::StringPiece input(text.data(), text.size());

  if (operation == "v1/match") {
    bool matched = RE2::PartialMatch(input, re);
    return HostCallOutcome::success(json::serialize(json::object{{"matched", matched}}));
  }
  if (operation == "v1/find_all") {
    size_t limit = kDefaultFindAllLimit;
    if (const json::value* l = o.if_contains("limit"); l && !l->is_null()) {
      if (!l->is_int64() && !l->is_uint64())
        return HostCallOutcome::failure("cannot decode regex request: `limit` must be an integer");
      int64_t n = l->is_int64() ? l->get_int64() : static_cast<int64_t>(l->get_uint64());
      limit = n < 0 ? 0 : std::min<size_t>(static_cast<size_t>(n), kDefaultFindAllLimit);
    }
    json::array matches;
    size_t pos = 0;
    re2::StringPiece m;
    while (matches.size() < limit && pos <= input.size() &&
           re.Match(input, pos, input.size(), RE2::UNANCHORED, &m, 1)) {
      matches.emplace_back(json::string_view(m.data(), m.size()));
      size_t end = static_cast<size_t>(m.data() - input.data()) + m.size();
      pos = m.empty() ? end + 1 : end;  // step past an empty match so the scan always advances
    }
    return HostCallOutcome::success(json::serialize(json::object{{"matches", std::move(matches)}}));
  }
  if (operation == "v1/replace_all") {
    const json::value* rw = o.if_contains("rewrite");
    if (!rw || !rw->is_string())
      return HostCallOutcome::failure("cannot decode regex request: `rewrite` must be a string");
    std::string out(text.data(), text.size());
    std::string rewrite_error;
    re2::StringPiece rewrite(rw->get_string().data(), rw->get_string().size());
    if (!re.CheckRewriteString(rewrite, &rewrite_error))
      return HostCallOutcome::failure("invalid rewrite string: " + rewrite_error);
    RE2::GlobalReplace(&out, re, rewrite);
    return HostCallOutcome::success(json::serialize(json::object{{"result", out}}));
  }
  return HostCallOutcome::failure("unknown operation: " + std::string(operation));
}

// --- dispatch ---------------------------------------------------------------------------------

namespace {

// [MONO] hostCapabilities patterns: "*", "<prefix>/*" or an exact "<ns>/<op>".
bool capability_granted(const std::vector<std::string>& patterns, const std::string& name) {
  for (const std::string& p : patterns) {
    if (p == "*" || p == name)
      return true;
    if (p.size() >= 2 && p.ends_with("/*") &&
        name.compare(0, p.size() - 1, p, 0, p.size() - 1) == 0)
      return true;
  }
  return false;
}

// Calls that reach the outside world go through the recorder/replayer.
template <typename Live>
HostCallOutcome external(const CapabilityContext& ctx,
                         std::string_view ns,
                         std::string_view op,
                         const json::value& request,
                         Live&& live) {
  if (ctx.recorder == nullptr && ctx.replayer == nullptr)
    return live();
  std::string req = callback_request_yaml(ns, op, request);
  if (ctx.replayer)
    return ctx.replayer->next(req);
  HostCallOutcome out = live();
  ctx.recorder->record(std::move(req), out);
  return out;
}

HostCallOutcome kubernetes_call(const CapabilityContext& ctx,
                                std::string_view op,
                                std::string_view payload) {
  if (op != "list_resources_by_namespace" && op != "list_resources_all" && op != "get_resource" &&
      op != "can_i")
    return HostCallOutcome::failure("unknown operation: " + std::string(op));
  std::string err;
  auto req = parse_payload(payload, err);
  if (!req || !req->is_object())
    return HostCallOutcome::failure("cannot decode Kubernetes request: " +
                                    (req ? std::string("not a JSON object") : err));
  if (op != "can_i") {
    const json::object& o = req->get_object();
    const json::value* av = o.if_contains("api_version");
    const json::value* kv = o.if_contains("kind");
    if (!av || !av->is_string() || !kv || !kv->is_string())
      return HostCallOutcome::failure(
          "cannot decode Kubernetes request: `api_version` and `kind` must be strings");
    ContextAwareResource wanted{std::string(av->get_string()), std::string(kv->get_string())};
    if (std::find(ctx.context_aware_resources.begin(), ctx.context_aware_resources.end(), wanted) ==
        ctx.context_aware_resources.end())
      return HostCallOutcome::failure("Policy has not been granted access to Kubernetes " +
                                      wanted.api_version + "/" + wanted.kind +
                                      " resources. The violation has been reported.");
  }
  return external(ctx, "kubernetes", op, *req, [&] {
    CapabilityProvider fallback;
    return (ctx.provider ? ctx.provider : &fallback)->kubernetes(op, *req);
  });
}

HostCallOutcome oci_call(const CapabilityContext& ctx,
                         std::string_view op,
                         std::string_view payload) {
  if (op != "v1/manifest_digest" && op != "v1/oci_manifest" && op != "v1/oci_manifest_config" &&
      op != "v1/verify" && op != "v2/verify")
    return HostCallOutcome::failure("unknown operation: " + std::string(op));
  std::string err;
  auto req = parse_payload(payload, err);
  if (!req)
    return HostCallOutcome::failure("cannot decode OCI request: " + err);
  return external(ctx, "oci", op, *req, [&] {
    CapabilityProvider fallback;
    return (ctx.provider ? ctx.provider : &fallback)->oci(op, *req);
  });
}

HostCallOutcome kubewarden_binding(const CapabilityContext& ctx,
                                   std::string_view ns,
                                   std::string_view op,
                                   std::string_view payload) {
  if (ns != "tracing" && ns != "oci" && ns != "net" && ns != "crypto" && ns != "kubernetes" &&
      ns != "regex")
    return HostCallOutcome::failure("unknown namespace: " + std::string(ns));
  // Logging and our pure regex helpers are always allowed, as MONO exempts tracing.
  if (ctx.host_capabilities && ns != "tracing" && ns != "regex") {
    std::string name = std::string(ns) + "/" + std::string(op);
    if (!capability_granted(*ctx.host_capabilities, name))
      return HostCallOutcome::failure("Policy has not been granted access to the '" + name +
                                      "' host capability. The violation has been reported.");
  }
  if (ns == "tracing") {
    if (op != "log")
      return HostCallOutcome::failure("unknown operation: " + std::string(op));
    return tracing_log(ctx, payload);
  }
  if (ns == "regex")
    return regex_call(op, payload);
  if (ns == "kubernetes")
    return kubernetes_call(ctx, op, payload);
  if (ns == "oci")
    return oci_call(ctx, op, payload);
  std::string err;
  if (ns == "net") {
    if (op != "v1/dns_lookup_host")
      return HostCallOutcome::failure("unknown operation: " + std::string(op));
    auto req = parse_payload(payload, err);
    return external(ctx, ns, op, req ? *req : json::value(json::string(payload)),
                    [&] { return dns_lookup_host(payload); });
  }
  // crypto
  if (op != "v1/is_certificate_trusted")
    return HostCallOutcome::failure("unknown operation: " + std::string(op));
  auto req = parse_payload(payload, err);
  return external(ctx, ns, op, req ? *req : json::value(json::string(payload)),
                  [&] { return verify_certificate(payload); });
}

// The deprecated `kubernetes` binding: list every Ingress, Namespace or Service.
HostCallOutcome legacy_kubernetes_binding(const CapabilityContext& ctx, std::string_view ns) {
  ContextAwareResource r;
  if (ns == "ingresses")
    r = {"networking.k8s.io/v1", "Ingress"};
  else if (ns == "namespaces")
    r = {"v1", "Namespace"};
  else if (ns == "services")
    r = {"v1", "Service"};
  else
    return HostCallOutcome::failure("unknown namespace: " + std::string(ns));
  json::value req = json::object{{"api_version", r.api_version}, {"kind", r.kind}};
  return external(ctx, "kubernetes", "list_resources_all", req, [&] {
    CapabilityProvider fallback;
    return (ctx.provider ? ctx.provider : &fallback)->kubernetes("list_resources_all", req);
  });
}

}  // namespace

HostCallOutcome dispatch_host_call(const CapabilityContext& ctx,
                                   std::string_view binding,
                                   std::string_view ns,
                                   std::string_view operation,
                                   std::span<const uint8_t> payload) {
  // The boundary no exception may cross (house style 2.3): allocation failures and whatever an
  // embedder's CapabilityProvider or LogSink throws become an error for the guest.
  try {
    if (binding == "kubewarden")
      return kubewarden_binding(ctx, ns, operation, as_text(payload));
    if (binding == "kubernetes")
      return legacy_kubernetes_binding(ctx, ns);
    return HostCallOutcome::failure("unknown binding: " + std::string(binding));
  } catch (const std::exception& e) {
    return HostCallOutcome::failure(std::string("host capability failed: ") + e.what());
  } catch (...) {
    return HostCallOutcome::failure("host capability failed");
  }
}

HostCallHandler make_host_call_handler(const CapabilityContext& ctx) {
  const CapabilityContext* c = &ctx;
  return [c](std::string_view binding, std::string_view ns, std::string_view op,
             std::span<const uint8_t> payload) {
    return dispatch_host_call(*c, binding, ns, op, payload);
  };
}

}  // namespace tollgate::hostabi::kubewarden
