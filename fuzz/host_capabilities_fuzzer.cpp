// Fuzz target `host_capabilities`: the Kubewarden host-capability dispatcher on fuzzed bindings,
// namespaces, operations and payloads (certificate verification, regex, tracing, the gated
// kubernetes/oci calls). Every outcome is fine; a crash, a hang or a sanitizer report is not.
// SPDX-License-Identifier: Apache-2.0
//
// Input: byte 0 picks the call (from the table below, or an arbitrary binding/namespace/operation
// read from the input), byte 1 the context (context-aware allow-list and hostCapabilities
// gating on or off); the rest is the payload. `net/v1/dns_lookup_host` is left out on purpose:
// it asks the system resolver, whose timeouts would make the target slow and depend on the
// network.
#include <FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_util.hpp"
#include "hostabi/kubewarden/capabilities.hpp"

namespace {

using namespace tollgate::hostabi::kubewarden;

struct Call {
  const char* binding;
  const char* ns;
  const char* operation;
};

constexpr Call kCalls[] = {
    {"kubewarden", "crypto", "v1/is_certificate_trusted"},
    {"kubewarden", "regex", "v1/match"},
    {"kubewarden", "regex", "v1/find_all"},
    {"kubewarden", "regex", "v1/replace_all"},
    {"kubewarden", "tracing", "log"},
    {"kubewarden", "kubernetes", "list_resources_by_namespace"},
    {"kubewarden", "kubernetes", "list_resources_all"},
    {"kubewarden", "kubernetes", "get_resource"},
    {"kubewarden", "kubernetes", "can_i"},
    {"kubewarden", "oci", "v1/manifest_digest"},
    {"kubewarden", "oci", "v2/verify"},
    {"kubewarden", "net", "v2/unknown"},
};

/// Swallows log lines: only that the dispatcher survives matters.
class NullLog : public LogSink {
 public:
  void policy_log(std::string_view,
                  LogLevel,
                  std::string_view,
                  const boost::json::object&) override {}
  void console_log(std::string_view, std::string_view) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const uint8_t pick = in.ConsumeIntegral<uint8_t>();
  const uint8_t context_bits = in.ConsumeIntegral<uint8_t>();
  std::string binding, ns, operation;
  constexpr size_t kCallCount = sizeof(kCalls) / sizeof(kCalls[0]);
  if (pick < 240) {
    const Call& c = kCalls[pick % kCallCount];
    binding = c.binding, ns = c.ns, operation = c.operation;
  } else {
    binding = in.ConsumeRandomLengthString(32);
    ns = in.ConsumeRandomLengthString(32);
    operation = in.ConsumeRandomLengthString(32);
    if (ns == "net")  // the resolver: see the header comment
      return 0;
  }
  const std::string payload = in.ConsumeRemainingBytesAsString();

  NullLog log;
  CapabilityContext ctx;
  ctx.policy_id = "fuzzed";
  ctx.log = (context_bits & 1) ? &log : nullptr;
  if (context_bits & 2)
    ctx.context_aware_resources.push_back(ContextAwareResource{"v1", "Pod"});
  if (context_bits & 4)
    ctx.host_capabilities = std::vector<std::string>{(context_bits & 8) ? "*" : "crypto/*"};
  tollgate::hostabi::HostCallOutcome outcome =
      dispatch_host_call(ctx, binding, ns, operation, tollgate::fuzz::as_bytes(payload));
  // A failure always says why: the guest gets this text as its host error.
  if (!outcome.ok && outcome.data.empty())
    tollgate::fuzz::fail("host call failed without a message",
                         binding + "/" + ns + "/" + operation);
  return 0;
}
