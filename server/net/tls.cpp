// The API listener's TLS configuration: OpenSSL contexts built from PEM files, and their reload.
// SPDX-License-Identifier: Apache-2.0
#include "server/net/tls.hpp"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

namespace tollgate::server::net {

namespace ssl = boost::asio::ssl;

TlsContextSource::Stamp TlsContextSource::stamp_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return {};
  return Stamp{st.st_ino,
               static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec,
               static_cast<long long>(st.st_size)};
}

bool TlsContextSource::read(Pem& pem, std::string& error) {
  // Stamp first: a write that lands after the stamp shows up as a change at the next poll.
  pem.stamp = stamp_of(pem.path);
  std::ifstream in(pem.path, std::ios::binary);
  if (!in)
    return error = "cannot read " + pem.path, false;
  std::ostringstream text;
  text << in.rdbuf();
  pem.text = text.str();
  return true;
}

std::unique_ptr<TlsContextSource> TlsContextSource::load(const TlsFiles& files,
                                                         std::string& error) {
  auto source = std::unique_ptr<TlsContextSource>(new TlsContextSource());
  source->cert_.path = files.cert_file;
  source->key_.path = files.key_file;
  if (!read(source->cert_, error) || !read(source->key_, error))
    return nullptr;
  for (const auto& path : files.client_ca_files) {
    Pem ca{path, {}, {}};
    if (!read(ca, error))
      return nullptr;
    source->client_cas_.push_back(std::move(ca));
  }
  source->current_ = source->build(error);
  if (!source->current_)
    return nullptr;
  return source;
}

std::shared_ptr<ssl::context> TlsContextSource::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

std::shared_ptr<ssl::context> TlsContextSource::build(std::string& error) const {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use,
                   ec);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  // Reused TLS sessions skip the full handshake for kube-apiserver's reconnects.
  static const unsigned char kSessionContext[] = "tollgate";
  SSL_CTX_set_session_id_context(native, kSessionContext, sizeof kSessionContext - 1);

  ctx->use_certificate_chain(boost::asio::buffer(cert_.text), ec);
  if (ec)
    return error = "certificate " + cert_.path + ": " + ec.message(), nullptr;
  ctx->use_private_key(boost::asio::buffer(key_.text), ssl::context::pem, ec);
  if (ec)
    return error = "key " + key_.path + ": " + ec.message(), nullptr;
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    return error = "key " + key_.path + " does not match certificate " + cert_.path, nullptr;
  }

  if (!client_cas_.empty()) {
    STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
    for (const auto& ca : client_cas_) {
      ctx->add_certificate_authority(boost::asio::buffer(ca.text), ec);
      if (ec) {
        sk_X509_NAME_pop_free(names, X509_NAME_free);
        return error = "client CA " + ca.path + ": " + ec.message(), nullptr;
      }
      // Also advertised in the CertificateRequest, so clients pick the right certificate.
      BIO* bio = BIO_new_mem_buf(ca.text.data(), static_cast<int>(ca.text.size()));
      while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
        if (X509_NAME* name = X509_NAME_dup(X509_get_subject_name(cert)))
          sk_X509_NAME_push(names, name);
        X509_free(cert);
      }
      BIO_free(bio);
      ERR_clear_error();
    }
    SSL_CTX_set_client_CA_list(native, names);
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
  }
  return ctx;
}

TlsContextSource::Change TlsContextSource::poll(std::string& message) {
  Stamp cert_now = stamp_of(cert_.path);
  Stamp key_now = stamp_of(key_.path);
  bool pair_changed = cert_now != cert_.stamp && key_now != key_.stamp;
  std::vector<size_t> cas_changed;
  for (size_t i = 0; i < client_cas_.size(); ++i) {
    if (stamp_of(client_cas_[i].path) != client_cas_[i].stamp)
      cas_changed.push_back(i);
  }
  if (!pair_changed && cas_changed.empty())
    return Change::none;

  std::vector<Stamp> state{cert_now, key_now};
  for (const auto& ca : client_cas_)
    state.push_back(stamp_of(ca.path));
  if (state == failed_state_)
    return Change::none;

  TlsContextSource next;
  next.cert_ = pair_changed ? Pem{cert_.path, {}, {}} : cert_;
  next.key_ = pair_changed ? Pem{key_.path, {}, {}} : key_;
  next.client_cas_ = client_cas_;
  std::string error;
  bool ok = !pair_changed || (read(next.cert_, error) && read(next.key_, error));
  for (size_t i : cas_changed) {
    if (ok)
      ok = read(next.client_cas_[i], error);
  }
  std::shared_ptr<ssl::context> ctx = ok ? next.build(error) : nullptr;
  if (!ctx) {
    failed_state_ = std::move(state);
    message = "TLS reload failed, keeping the previous certificate: " + error;
    return Change::failed;
  }
  cert_ = std::move(next.cert_);
  key_ = std::move(next.key_);
  client_cas_ = std::move(next.client_cas_);
  failed_state_.clear();
  {
    std::lock_guard lock(mutex_);
    current_ = std::move(ctx);
  }
  message =
      pair_changed ? "TLS certificate and key reloaded from " + cert_.path : "client CA reloaded";
  return Change::reloaded;
}

}  // namespace tollgate::server::net
