// Record and replay of host-capability exchanges, as kwctl's --record/--replay-host-capabilities-
// interactions: a YAML list of {type: Exchange, request: <YAML text>, response: {...}}.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "hostabi/host_call.hpp"
#include "runtime/base/result.hpp"

namespace tollgate::hostabi::kubewarden {

/// One recorded exchange: the request as kwctl writes it (the YAML of its CallbackRequestType,
/// e.g. "!KubernetesGetResource\napi_version: v1\n...") and the outcome.
struct Exchange {
  std::string request;
  HostCallOutcome response;
};

/// The request text of a capability call: a YAML document tagged with kwctl's
/// CallbackRequestType variant (`!KubernetesGetResource`, `!OciManifestDigest`, `!DNSLookupHost`,
/// ...), or `!HostCall` with binding/namespace/operation/payload for calls kwctl has no variant
/// for.
std::string callback_request_yaml(std::string_view ns,
                                  std::string_view operation,
                                  const boost::json::value& request);

/// Collects exchanges; thread-safe.
class InteractionRecorder {
 public:
  void record(std::string request, const HostCallOutcome& response);
  std::vector<Exchange> exchanges() const;
  /// The session file text.
  std::string to_yaml() const;
  runtime::Status save(const std::string& path) const;

 private:
  mutable std::mutex mutex_;
  std::vector<Exchange> exchanges_;
};

/// Answers capability calls from a recorded session, in order; thread-safe.
class InteractionReplayer {
 public:
  static runtime::Result<InteractionReplayer> parse(std::string_view yaml_text);
  static runtime::Result<InteractionReplayer> load(const std::string& path);

  InteractionReplayer() = default;
  InteractionReplayer(InteractionReplayer&& other) noexcept;
  /// The next recorded response; an error outcome when the session is exhausted or the next
  /// recorded request differs from `request`.
  HostCallOutcome next(std::string_view request);
  size_t remaining() const;

 private:
  mutable std::mutex mutex_;
  std::vector<Exchange> exchanges_;
  size_t next_ = 0;
};

}  // namespace tollgate::hostabi::kubewarden
