// Module downloads over https:// (and http:// for insecure sources), honouring sources.yml.
// SPDX-License-Identifier: Apache-2.0
//
// Beast's asynchronous operations are the ones that honour `expires_after`, so each step runs
// asynchronously on a private io_context that is driven to completion before the next step.
#include "server/net/https_fetch.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "server/net/cert_gen.hpp"

namespace tollgate::server::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using runtime::Error;
using runtime::ErrorKind;

namespace {

struct Url {
  bool https = true;
  std::string host;  ///< without brackets for IPv6
  std::string port;  ///< "" when the URL gives none
  std::string target;

  std::string effective_port() const { return port.empty() ? (https ? "443" : "80") : port; }
  /// How sources.yml names this origin: "host:port" when the URL has a port, else "host".
  std::string source_key() const { return port.empty() ? host : host + ":" + port; }
};

Error fetch_error(const std::string& url, const std::string& what) {
  return Error{ErrorKind::resource, 0, "cannot download " + url + ": " + what};
}

// Only what a module URL needs: scheme, host, optional port, path and query. Userinfo and
// fragments are refused rather than half-supported.
std::optional<Url> parse_url(std::string_view text) {
  Url url;
  if (text.starts_with("https://")) {
    text.remove_prefix(8);
  } else if (text.starts_with("http://")) {
    url.https = false;
    text.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  size_t slash = text.find_first_of("/?");
  std::string_view authority = text.substr(0, slash);
  url.target = slash == std::string_view::npos ? "/" : std::string(text.substr(slash));
  if (url.target.front() == '?')
    url.target.insert(url.target.begin(), '/');
  if (authority.empty() || authority.find('@') != std::string_view::npos ||
      url.target.find('#') != std::string::npos)
    return std::nullopt;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos)
      return std::nullopt;
    url.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (!authority.empty()) {
      if (authority.front() != ':')
        return std::nullopt;
      url.port = std::string(authority.substr(1));
    }
  } else {
    size_t colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos)
      url.port = std::string(authority.substr(colon + 1));
  }
  if (url.host.empty() ||
      !std::all_of(url.port.begin(), url.port.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return url;
}

bool is_insecure(const Url& url, const evaluation::SourcesConfig& sources) {
  const auto& list = sources.insecure_sources;
  return std::find(list.begin(), list.end(), url.source_key()) != list.end() ||
         std::find(list.begin(), list.end(), url.host + ":" + url.effective_port()) != list.end();
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Adds every certificate of `data` (PEM, possibly several, or one DER) to the context's store.
bool add_authority(ssl::context& ctx, const std::string& data) {
  X509_STORE* store = SSL_CTX_get_cert_store(ctx.native_handle());
  int added = 0;
  BIO* bio = BIO_new_mem_buf(data.data(), static_cast<int>(data.size()));
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    added += X509_STORE_add_cert(store, cert) == 1;
    X509_free(cert);
  }
  BIO_free(bio);
  if (added == 0) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
    if (X509* cert = d2i_X509(nullptr, &bytes, static_cast<long>(data.size()))) {
      added += X509_STORE_add_cert(store, cert) == 1;
      X509_free(cert);
    }
  }
  ERR_clear_error();
  return added > 0;
}

// Runs one asynchronous step to completion on `ioc`.
template <typename Start>
beast::error_code run_step(asio::io_context& ioc, Start&& start) {
  beast::error_code result;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

struct Answer {
  unsigned status = 0;
  std::string location;
  std::vector<uint8_t> body;
};

runtime::Result<Answer> get_once(const Url& url,
                                 const std::string& text,
                                 const FetchOptions& options) {
  bool insecure = is_insecure(url, options.sources);
  if (!url.https && !insecure)
    return fetch_error(text, "plain http:// is only allowed for sources.yml insecure_sources");

  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  tcp::resolver::results_type endpoints;
  beast::error_code ec = run_step(ioc, [&](auto handler) {
    resolver.async_resolve(url.host, url.effective_port(),
                           [&, handler](beast::error_code e, tcp::resolver::results_type r) {
                             endpoints = std::move(r);
                             handler(e);
                           });
  });
  if (ec)
    return fetch_error(text, "resolving " + url.host + ": " + ec.message());

  http::request<http::empty_body> request{http::verb::get, url.target, 11};
  request.set(http::field::host, url.port.empty() ? url.host : url.host + ":" + url.port);
  request.set(http::field::user_agent, "tollgate");
  request.set(http::field::accept, "application/wasm, application/octet-stream, */*");

  http::response_parser<http::vector_body<uint8_t>> parser;
  parser.body_limit(options.max_bytes);
  beast::flat_buffer buffer;
  auto exchange = [&](auto& stream, auto& tcp_layer) -> beast::error_code {
    tcp_layer.expires_after(options.step_timeout);
    if (auto e = run_step(ioc, [&](auto h) { http::async_write(stream, request, h); }))
      return e;
    tcp_layer.expires_after(options.step_timeout);
    if (auto e = run_step(ioc, [&](auto h) { http::async_read_header(stream, buffer, parser, h); }))
      return e;
    // The body may be large: the deadline covers the whole transfer, scaled generously.
    tcp_layer.expires_after(options.step_timeout * 4);
    return run_step(ioc, [&](auto h) { http::async_read(stream, buffer, parser, h); });
  };

  if (url.https) {
    ssl::context ctx(ssl::context::tls_client);
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (insecure) {
      ctx.set_verify_mode(ssl::verify_none);
    } else {
      ctx.set_default_verify_paths(ec);
      auto authorities = options.sources.source_authorities.find(url.source_key());
      if (authorities != options.sources.source_authorities.end()) {
        for (const auto& authority : authorities->second) {
          std::string data = authority.type == evaluation::SourceAuthority::Type::path
                                 ? slurp(authority.value)
                                 : authority.value;
          if (!add_authority(ctx, data))
            return fetch_error(text, "no certificate in source authority for " + url.source_key() +
                                         (authority.type == evaluation::SourceAuthority::Type::path
                                              ? " (" + authority.value + ")"
                                              : std::string()));
        }
      }
      ctx.set_verify_mode(ssl::verify_peer);
      ctx.set_verify_callback(ssl::host_name_verification(url.host));
    }
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    if (!SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str()))
      ERR_clear_error();  // an IP address has no SNI; that is fine
    auto& tcp_layer = beast::get_lowest_layer(stream);
    tcp_layer.expires_after(options.step_timeout);
    ec = run_step(ioc, [&](auto h) { tcp_layer.async_connect(endpoints, h); });
    if (ec)
      return fetch_error(text, "connecting: " + ec.message());
    tcp_layer.expires_after(options.step_timeout);
    ec = run_step(ioc, [&](auto h) { stream.async_handshake(ssl::stream_base::client, h); });
    if (ec)
      return fetch_error(text, "TLS handshake: " + ec.message());
    ec = exchange(stream, tcp_layer);
  } else {
    beast::tcp_stream stream(ioc);
    stream.expires_after(options.step_timeout);
    ec = run_step(ioc, [&](auto h) { stream.async_connect(endpoints, h); });
    if (ec)
      return fetch_error(text, "connecting: " + ec.message());
    ec = exchange(stream, stream);
  }
  if (ec == http::error::body_limit)
    return fetch_error(text, "larger than " + std::to_string(options.max_bytes) + " bytes");
  if (ec)
    return fetch_error(text, ec.message());
  auto& response = parser.get();
  return Answer{response.result_int(), std::string(response[http::field::location]),
                std::move(response.body())};
}

// Resolves a redirect's Location against the URL it came from.
std::string resolve_location(const Url& from, const std::string& location) {
  if (location.starts_with("https://") || location.starts_with("http://"))
    return location;
  std::string origin =
      std::string(from.https ? "https://" : "http://") +
      (from.host.find(':') != std::string::npos ? "[" + from.host + "]" : from.host) +
      (from.port.empty() ? "" : ":" + from.port);
  if (location.starts_with("//"))
    return (from.https ? "https:" : "http:") + location;
  if (location.starts_with("/"))
    return origin + location;
  std::string base = from.target.substr(0, from.target.find('?'));
  return origin + base.substr(0, base.rfind('/') + 1) + location;
}

void save_copy(const Url& url, const std::vector<uint8_t>& bytes, const FetchOptions& options) {
  if (options.download_dir.empty())
    return;
  std::string name = url.target.substr(0, url.target.find('?'));
  std::replace(name.begin(), name.end(), '/', '_');
  std::string dir = options.download_dir + "/https/" + url.source_key();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::string error;
  if (!ec)
    write_file_atomically(dir + "/" + name, std::string(bytes.begin(), bytes.end()), false, error);
}

}  // namespace

runtime::Result<std::vector<uint8_t>> fetch_url(const std::string& url,
                                                const FetchOptions& options) {
  std::string current = url;
  for (int hop = 0; hop <= options.max_redirects; ++hop) {
    auto parsed = parse_url(current);
    if (!parsed)
      return fetch_error(url, "unsupported URL '" + current + "'");
    auto answer = get_once(*parsed, url, options);
    if (!answer)
      return answer.take_error();
    unsigned status = answer->status;
    if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
      if (answer->location.empty())
        return fetch_error(url, "redirect without a Location");
      current = resolve_location(*parsed, answer->location);
      continue;
    }
    if (status != 200)
      return fetch_error(url, "HTTP status " + std::to_string(status));
    save_copy(*parsed, answer->body, options);
    return std::move(answer->body);
  }
  return fetch_error(url, "too many redirects");
}

evaluation::ModuleFetcher make_module_fetcher(FetchOptions options) {
  return [options = std::move(options)](const std::string& url) { return fetch_url(url, options); };
}

}  // namespace tollgate::server::net
