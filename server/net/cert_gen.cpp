// Test and demo certificates made with OpenSSL: a throwaway CA and the leaf certificates it signs.
// SPDX-License-Identifier: Apache-2.0
#include "server/net/cert_gen.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace tollgate::server::net {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::string openssl_error(const char* what) {
  std::string text = what;
  if (unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    text += ": ";
    text += buf;
  }
  ERR_clear_error();
  return text;
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return std::string(data, size > 0 ? static_cast<size_t>(size) : 0);
}

bool key_pem(EVP_PKEY* key, std::string& out) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return false;
  out = bio_text(bio.get());
  return true;
}

bool cert_pem(X509* cert, std::string& out) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1)
    return false;
  out = bio_text(bio.get());
  return true;
}

PkeyPtr read_key(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return PkeyPtr(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

X509Ptr read_cert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

bool add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext)
    return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A fresh certificate shell: random 128-bit serial, validity from an hour ago (clock skew
// between test processes and clients) to `valid_days` ahead, subject CN.
X509Ptr new_cert(EVP_PKEY* key, const std::string& common_name, int valid_days) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1)
    return nullptr;
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1)
    return nullptr;
  serial_bytes[0] &= 0x7f;  // a positive INTEGER
  BIGNUM* bn = BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr);
  bool serial_ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get())) != nullptr;
  BN_free(bn);
  if (!serial_ok)
    return nullptr;
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400L * valid_days))
    return nullptr;
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) != 1)
    return nullptr;
  if (X509_set_pubkey(cert.get(), key) != 1)
    return nullptr;
  return cert;
}

}  // namespace

bool make_ca(const std::string& common_name, int valid_days, KeyAndCert& out, std::string& error) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key)
    return error = openssl_error("generating the CA key"), false;
  X509Ptr cert = new_cert(key.get(), common_name, valid_days);
  if (!cert || X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) != 1 ||
      !add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE") ||
      !add_extension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign") ||
      !add_extension(cert.get(), cert.get(), NID_subject_key_identifier, "hash") ||
      X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
    return error = openssl_error("making the CA certificate"), false;
  if (!key_pem(key.get(), out.key_pem) || !cert_pem(cert.get(), out.cert_pem))
    return error = openssl_error("encoding the CA"), false;
  return true;
}

bool issue_certificate(const KeyAndCert& ca,
                       const CertRequest& request,
                       KeyAndCert& out,
                       std::string& error) {
  PkeyPtr ca_key = read_key(ca.key_pem);
  X509Ptr ca_cert = read_cert(ca.cert_pem);
  if (!ca_key || !ca_cert)
    return error = openssl_error("reading the CA"), false;
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key)
    return error = openssl_error("generating the key"), false;
  X509Ptr cert = new_cert(key.get(), request.common_name, request.valid_days);
  if (!cert || X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get())) != 1)
    return error = openssl_error("making the certificate"), false;

  std::string usages;
  if (request.server_auth)
    usages += "serverAuth";
  if (request.client_auth)
    usages += usages.empty() ? "clientAuth" : ",clientAuth";
  std::string names;
  for (const auto& dns : request.dns_names)
    names += (names.empty() ? "DNS:" : ",DNS:") + dns;
  for (const auto& ip : request.ip_addresses)
    names += (names.empty() ? "IP:" : ",IP:") + ip;
  bool ok = add_extension(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE") &&
            add_extension(cert.get(), ca_cert.get(), NID_key_usage,
                          "critical,digitalSignature,keyEncipherment") &&
            add_extension(cert.get(), ca_cert.get(), NID_subject_key_identifier, "hash") &&
            add_extension(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid");
  if (ok && !usages.empty())
    ok = add_extension(cert.get(), ca_cert.get(), NID_ext_key_usage, usages);
  if (ok && !names.empty())
    ok = add_extension(cert.get(), ca_cert.get(), NID_subject_alt_name, names);
  if (!ok || X509_sign(cert.get(), ca_key.get(), EVP_sha256()) == 0)
    return error = openssl_error("signing the certificate"), false;
  if (!key_pem(key.get(), out.key_pem) || !cert_pem(cert.get(), out.cert_pem))
    return error = openssl_error("encoding the certificate"), false;
  return true;
}

bool write_file_atomically(const std::string& path,
                           const std::string& content,
                           bool private_file,
                           std::string& error) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, private_file ? 0600 : 0644);
  if (fd < 0)
    return error = "cannot create " + tmp + ": " + std::strerror(errno), false;
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      error = "cannot write " + tmp + ": " + std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    error = "cannot write " + path + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

bool ensure_demo_certificates(const std::string& dir, std::string& error) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return error = "cannot create " + dir + ": " + ec.message(), false;
  const std::string ca_path = dir + "/ca.crt";
  const std::string cert_path = dir + "/tls.crt";
  const std::string key_path = dir + "/tls.key";

  auto slurp = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  };
  if (fs::exists(ca_path) && fs::exists(cert_path) && fs::exists(key_path)) {
    X509Ptr cert = read_cert(slurp(cert_path));
    PkeyPtr key = read_key(slurp(key_path));
    if (cert && key && X509_check_private_key(cert.get(), key.get()) == 1 &&
        X509_cmp_time(X509_get0_notAfter(cert.get()), nullptr) > 0) {
      time_t tomorrow = ::time(nullptr) + 86400;
      if (X509_cmp_time(X509_get0_notAfter(cert.get()), &tomorrow) > 0)
        return true;
    }
    ERR_clear_error();
  }
  KeyAndCert ca, leaf;
  CertRequest request;
  request.common_name = "localhost";
  request.dns_names = {"localhost"};
  request.ip_addresses = {"127.0.0.1", "::1"};
  if (!make_ca("tollgate demo CA", 3650, ca, error) || !issue_certificate(ca, request, leaf, error))
    return false;
  // The CA key is not kept: nothing else is ever signed with it.
  return write_file_atomically(key_path, leaf.key_pem, true, error) &&
         write_file_atomically(cert_path, leaf.cert_pem, false, error) &&
         write_file_atomically(ca_path, ca.cert_pem, false, error);
}

}  // namespace tollgate::server::net
