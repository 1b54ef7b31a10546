// The outcome of a guest-to-host capability call, shared by the waPC and WASI transports.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace tollgate::hostabi {

/// Success with response bytes, or failure with an error text; the guest receives either.
struct HostCallOutcome {
  bool ok = true;
  std::string data;  ///< the response payload when ok, else the error message

  static HostCallOutcome success(std::string payload) { return {true, std::move(payload)}; }
  static HostCallOutcome failure(std::string message) { return {false, std::move(message)}; }
};

/// Handles one host call (binding, namespace, operation, payload). Must not throw.
using HostCallHandler = std::function<HostCallOutcome(std::string_view binding,
                                                      std::string_view ns,
                                                      std::string_view operation,
                                                      std::span<const uint8_t> payload)>;

/// Largest payload a guest may pass to, or get back from, one host call (16 MiB): Kubernetes
/// lists can be large, but nothing a policy legitimately exchanges comes near this.
inline constexpr uint32_t kMaxHostCallBytes = 16u << 20;

}  // namespace tollgate::hostabi
