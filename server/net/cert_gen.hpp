// Test and demo certificates made with OpenSSL: a throwaway CA and the leaf certificates it signs.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

namespace tollgate::server::net {

/// A private key and its certificate, both PEM.
struct KeyAndCert {
  std::string key_pem;
  std::string cert_pem;
};

/// What a leaf certificate is for and whom it names.
struct CertRequest {
  std::string common_name;
  std::vector<std::string> dns_names;     ///< subjectAltName DNS entries
  std::vector<std::string> ip_addresses;  ///< subjectAltName IP entries ("127.0.0.1", "::1")
  bool server_auth = true;
  bool client_auth = false;
  int valid_days = 365;
};

/// A self-signed CA (P-256, SHA-256). Returns false and sets `error` on failure.
bool make_ca(const std::string& common_name, int valid_days, KeyAndCert& out, std::string& error);

/// A leaf certificate for `request`, signed by `ca`.
bool issue_certificate(const KeyAndCert& ca,
                       const CertRequest& request,
                       KeyAndCert& out,
                       std::string& error);

/// Writes `content` to `path` through a temporary file and rename(), so a watcher never sees a
/// half-written file; `private_file` makes it 0600.
bool write_file_atomically(const std::string& path,
                           const std::string& content,
                           bool private_file,
                           std::string& error);

/// The demo's TLS material in `dir` (created if needed): ca.crt, tls.crt, tls.key for
/// localhost/127.0.0.1/::1. Existing files are kept while the certificate is valid for at least
/// another day, so restarts do not invalidate a pasted `--cacert`.
bool ensure_demo_certificates(const std::string& dir, std::string& error);

}  // namespace tollgate::server::net
