// Fuzz target `admission_json`: api::handle on fuzzed bodies for /validate, /audit and
// /validate_raw against a tiny environment of example policies, and JSONPatch round trips
// (apply(a, diff(a, b)) == b) plus fuzzed patches applied to fuzzed documents.
// SPDX-License-Identifier: Apache-2.0
//
// Input: byte 0 picks the mode (route or JSONPatch) and byte 1 the policy and request variant;
// the rest is the body. In JSONPatch mode the rest is `a NUL b`.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>
#include <boost/json.hpp>

#include "fuzz/fuzz_environment.hpp"
#include "fuzz/fuzz_util.hpp"
#include "hostabi/kubewarden/metadata.hpp"
#include "server/api/handler.hpp"
#include "server/evaluation/config.hpp"
#include "server/evaluation/environment.hpp"
#include "server/evaluation/json_patch.hpp"

namespace {

using namespace tollgate;
namespace json = boost::json;
namespace kw = hostabi::kubewarden;
namespace ev = server::evaluation;

/// The example policy `wasm` annotated with its metadata, written to a scratch file.
std::string annotated(const char* wasm_path, const char* metadata_path, const std::string& name) {
  std::vector<uint8_t> wasm = fuzz::read_build_file(wasm_path);
  std::vector<uint8_t> meta = fuzz::read_build_file(metadata_path);
  auto metadata =
      kw::parse_metadata(std::string_view(reinterpret_cast<const char*>(meta.data()), meta.size()));
  if (!metadata)
    fuzz::fail("bad example metadata", metadata.error().message);
  kw::write_metadata(wasm, metadata.value());
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("tollgate-fuzz-" + std::to_string(getpid()));
  fs::create_directories(dir);
  fs::path path = dir / (name + ".wasm");
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(wasm.data()), static_cast<std::streamsize>(wasm.size()));
  return path.string();
}

const char* kPolicyIds[] = {"privileged", "resources", "group", "raw", "missing"};

const ev::EvaluationEnvironment& environment() {
  static const ev::EvaluationEnvironment* env = [] {
    const std::string privileged = annotated(TG_POLICY_POD_PRIVILEGED_WASM,
                                             TG_POLICY_POD_PRIVILEGED_METADATA, "pod-privileged");
    const std::string resources =
        annotated(TG_POLICY_CONTAINER_RESOURCES_WASM, TG_POLICY_CONTAINER_RESOURCES_METADATA,
                  "container-resources");
    const std::string labels = annotated(TG_POLICY_REQUIRE_LABELS_WASM,
                                         TG_POLICY_REQUIRE_LABELS_METADATA, "require-labels");
    const std::string raw = annotated(TG_POLICY_RAW_VALIDATION_WASI_WASM,
                                      TG_POLICY_RAW_VALIDATION_WASI_METADATA, "raw-validation");
    std::string yaml;
    yaml += "privileged:\n  module: " + privileged + "\n";
    yaml += "resources:\n  module: " + resources +
            "\n  allowedToMutate: true\n  settings: "
            R"({"cpu":{"defaultRequest":"100m","defaultLimit":"500m","maxLimit":"2"},)"
            R"("memory":{"defaultRequest":"128Mi","defaultLimit":"512Mi","maxLimit":"2Gi"}})"
            "\n";
    yaml +=
        "group:\n  expression: \"privileged() && !labels() || false\"\n  message: no\n"
        "  policies:\n    privileged:\n      module: " +
        privileged + "\n    labels:\n      module: " + labels +
        "\n      settings: {required_labels: [team]}\n";
    yaml += "raw:\n  module: " + raw +
            "\n  settings: {valid_users: [tonio], valid_actions: [eats], "
            "valid_resources: [banana]}\n";
    return fuzz::build_environment(yaml);
  }();
  return *env;
}

std::optional<json::value> parse(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec)
    return std::nullopt;
  return v;
}

void json_patch_round_trip(std::string_view input) {
  const size_t nul = input.find('\0');
  if (nul == std::string_view::npos)
    return;
  auto a = parse(input.substr(0, nul));
  auto b = parse(input.substr(nul + 1));
  if (!a || !b)
    return;
  json::array patch = ev::json_patch::diff(*a, *b);
  json::value patched = *a;
  runtime::Status applied = ev::json_patch::apply(patched, patch);
  if (!applied)
    fuzz::fail("apply(a, diff(a, b)) failed", applied.error().message);
  if (patched != *b)
    fuzz::fail("apply(a, diff(a, b)) != b", json::serialize(patch));
  if (patch.empty() != (*a == *b))
    fuzz::fail("diff is empty iff the documents are equal", json::serialize(patch));
  // b read as a patch of a: any outcome but a crash is fine.
  if (b->is_array()) {
    json::value doc = *a;
    (void)ev::json_patch::apply(doc, b->as_array());
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  environment();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2)
    return 0;
  const uint8_t mode = data[0];
  const uint8_t variant = data[1];
  std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);
  if (mode % 4 == 3) {
    json_patch_round_trip(body);
    return 0;
  }
  static const char* kRoutes[] = {"/validate/", "/audit/", "/validate_raw/"};
  server::api::HttpRequest request;
  request.method = (variant & 0x80) ? "GET" : "POST";
  request.target = std::string(kRoutes[mode % 4]) + kPolicyIds[(variant & 0x7f) % 5];
  request.content_type = (variant & 0x40) ? "text/plain" : "application/json";
  request.body = std::string(body);
  server::api::HttpResponse response = server::api::handle(environment(), request);
  if (std::getenv("TG_FUZZ_VERBOSE") != nullptr)
    std::fprintf(stderr, "%s %s -> %u %s\n", request.method.c_str(), request.target.c_str(),
                 response.status, response.body.c_str());
  if (response.status == 200 && response.content_type == "application/json" &&
      !parse(response.body))
    fuzz::fail("a 200 answer that is not JSON", response.body);
  return 0;
}
