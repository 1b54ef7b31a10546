// Module downloads over https:// (and http:// for insecure sources), honouring sources.yml.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/base/result.hpp"
#include "server/evaluation/config.hpp"
#include "server/evaluation/environment.hpp"

namespace tollgate::server::net {

struct FetchOptions {
  /// insecure_sources: plain http:// and unverified TLS allowed for these host[:port];
  /// source_authorities: extra CAs trusted for a host[:port] (besides the system's).
  evaluation::SourcesConfig sources;
  /// Where downloaded modules are also written (--policies-download-dir); "" = nowhere.
  /// Writing is best effort: a read-only directory only costs a warning in the log.
  std::string download_dir;
  /// Each network step (connect, handshake, request, response) gets this long.
  std::chrono::milliseconds step_timeout{30'000};
  std::size_t max_bytes = 256u << 20;
  int max_redirects = 5;
};

/// GETs `url` (following redirects) and returns the body of the 200 answer. Errors are
/// ErrorKind::resource (network, TLS, HTTP status) and name the URL.
runtime::Result<std::vector<uint8_t>> fetch_url(const std::string& url,
                                                const FetchOptions& options);

/// fetch_url bound to `options`, for EnvironmentOptions::fetch_https.
evaluation::ModuleFetcher make_module_fetcher(FetchOptions options);

}  // namespace tollgate::server::net
