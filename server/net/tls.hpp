// The API listener's TLS configuration: OpenSSL contexts built from PEM files, and their reload.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>

namespace tollgate::server::net {

/// The files behind the server certificate and, for mTLS, the client CAs (1.1 `--cert-file`,
/// `--key-file`, `--client-ca-file`).
struct TlsFiles {
  std::string cert_file;
  std::string key_file;
  std::vector<std::string> client_ca_files;  ///< empty: no client certificate is asked for
};

/// Owns the current `ssl::context`. New connections take `current()`; a connection keeps the
/// context it started with, so swapping never disturbs a handshake in progress.
class TlsContextSource {
 public:
  /// Reads and checks every file; nullptr and `error` when a file is missing or the key does
  /// not match the certificate.
  static std::unique_ptr<TlsContextSource> load(const TlsFiles& files, std::string& error);

  std::shared_ptr<boost::asio::ssl::context> current() const;

  enum class Change { none, reloaded, failed };
  /// Looks at the files again (policy-server's certs.rs): the server certificate is replaced
  /// only once BOTH the certificate and the key changed, since an updated Secret rewrites them
  /// one after the other and a half-updated pair does not match; client CA files reload on
  /// their own. `message` describes a reload or its failure (a failure keeps the old context
  /// and is reported once per file state).
  Change poll(std::string& message);

 private:
  /// Identity of a file's content as far as stat() can tell (Secret volumes swap symlinks).
  struct Stamp {
    ino_t inode = 0;
    long long mtime_ns = 0;
    long long size = -1;
    bool operator==(const Stamp&) const = default;
  };
  struct Pem {
    std::string path;
    std::string text;
    Stamp stamp;
  };

  static Stamp stamp_of(const std::string& path);
  static bool read(Pem& pem, std::string& error);
  std::shared_ptr<boost::asio::ssl::context> build(std::string& error) const;

  Pem cert_;
  Pem key_;
  std::vector<Pem> client_cas_;
  std::vector<Stamp> failed_state_;
  mutable std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> current_;
};

}  // namespace tollgate::server::net
