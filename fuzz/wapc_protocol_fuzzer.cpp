// Fuzz target `wapc_protocol`: a fixed waPC guest (guests/wapc_script.wat) runs the fuzzed payload
// as a script of waPC import calls with fuzzed pointers and lengths, against fuzzed host-call
// responses, an operation name and fuel. Every outcome is fine; a crash or sanitizer report is not.
// SPDX-License-Identifier: Apache-2.0
#include <FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "fuzz/fuzz_util.hpp"
#include "hostabi/wapc/wapc.hpp"
#include "runtime/module.hpp"
#include "runtime/store.hpp"

namespace {

using namespace tollgate;

std::shared_ptr<const runtime::Module> guest() {
  static std::shared_ptr<const runtime::Module> module = [] {
    auto m = runtime::decode_module(fuzz::read_build_file(TG_FUZZ_WAPC_GUEST));
    if (!m)
      fuzz::fail("the waPC guest does not decode", m.error().message);
    return m.value();
  }();
  return module;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const bool host_ok = in.ConsumeBool();
  const std::string host_data = in.ConsumeRandomLengthString(512);
  const std::string op = in.ConsumeRandomLengthString(32);
  const uint64_t fuel = in.ConsumeIntegralInRange<uint64_t>(0, 200'000);
  const std::vector<uint8_t> payload = in.ConsumeRemainingBytes<uint8_t>();

  hostabi::wapc::WapcHost host(
      [&](std::string_view binding, std::string_view ns, std::string_view operation,
          std::span<const uint8_t> request) {
        // The handler sees exactly the guest's bytes; touching them finds bad spans.
        size_t sum = binding.size() + ns.size() + operation.size();
        for (uint8_t b : request)
          sum += b;
        (void)sum;
        return host_ok ? hostabi::HostCallOutcome::success(host_data)
                       : hostabi::HostCallOutcome::failure(host_data);
      },
      [](std::string_view line) { (void)line.size(); });

  runtime::StoreLimits limits;
  limits.max_memory_pages = 8;
  runtime::Store store(limits);
  runtime::Linker linker;
  auto module = guest();
  host.define_imports(linker, store, *module);
  auto instance = linker.instantiate(store, module);
  if (!instance)
    fuzz::fail("the waPC guest does not instantiate", instance.error().message);

  runtime::CallOptions options;
  options.fuel = fuel;
  options.max_call_depth = 64;
  // Twice in one instance: the second call must not see the first one's state.
  for (int i = 0; i < 2; ++i) {
    hostabi::wapc::WapcOutcome out = host.call(store, *instance.value(), op, payload, options);
    if (std::getenv("TG_FUZZ_VERBOSE") != nullptr)
      std::fprintf(stderr, "ok=%d response=%zu bytes error=%s\n", out.ok, out.response.size(),
                   out.error.c_str());
    if (out.ok && out.trap)
      fuzz::fail("a successful waPC call reports a trap");
  }
  return 0;
}
