// Fuzz target `http_handler`: the server's request handling at the seam the Beast layer calls
// (api::handle, server/api/http_types.hpp), with fuzzed methods, URL paths, Content-Type headers
// and bodies, against one example policy loaded once; no sockets.
// SPDX-License-Identifier: Apache-2.0
//
// Input (FuzzedDataProvider): flags, method, path (a route prefix and a policy id, each either
// picked or arbitrary, then an optional query or extra segment), Content-Type, and the body,
// either raw or an AdmissionReview template with the rest spliced into one of its fields.
// Findings besides sanitizer reports: a status outside the documented ones (handler.hpp), a 500
// (an exception escaped the request handling), a JSON answer that does not parse, a 200 that is
// not an AdmissionReview answer for the request's uid, a path outside the routes not answered
// 404, and two handlings of the same request answering differently.
#include <FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "fuzz/fuzz_environment.hpp"
#include "fuzz/fuzz_util.hpp"
#include "server/api/handler.hpp"
#include "server/evaluation/config.hpp"
#include "server/evaluation/environment.hpp"

namespace {

using namespace tollgate;
namespace json = boost::json;
namespace ev = server::evaluation;

const ev::EvaluationEnvironment& environment() {
  // One policy, as a policy server with a one-line policies.yml would have it.
  static const ev::EvaluationEnvironment* env = [] {
    return fuzz::build_environment(std::string("privileged:\n  module: ") +
                                   TG_POLICY_POD_PRIVILEGED_WASM);
  }();
  return *env;
}

constexpr const char* kMethods[] = {"POST", "GET", "HEAD", "PUT", "DELETE", "post", ""};
constexpr const char* kPrefixes[] = {"/validate/", "/audit/",    "/validate_raw/", "/validate",
                                     "/",          "/readiness", "//validate/",    "/VALIDATE/"};
constexpr const char* kIds[] = {"privileged", "missing",       "%70rivileged", "privileged%",
                                "%zz",        "priv%2Fileged", "privileged/x", ""};
constexpr const char* kContentTypes[] = {"application/json",
                                         "application/json; charset=utf-8",
                                         " Application/JSON ;x=y",
                                         "application/merge-patch+json",
                                         "application/+json",
                                         "text/plain",
                                         "",
                                         "application/jsonx"};

// AdmissionReview bodies with a hole (`@`) the fuzzer fills.
constexpr const char* kTemplates[] = {
    R"({"request":{"uid":"u1","kind":{"group":"","version":"v1","kind":"Pod"},)"
    R"("resource":{"group":"","version":"v1","resource":"pods"},"operation":"CREATE",)"
    R"("namespace":"default","userInfo":{"username":"alice"},"object":{"apiVersion":"v1",)"
    R"("kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"nginx",)"
    R"("securityContext":{"privileged":@}}]}}}})",
    R"({"request":{"uid":"@","kind":{"group":"","version":"v1","kind":"Pod"},)"
    R"("resource":{"group":"","version":"v1","resource":"pods"},"operation":"CREATE",)"
    R"("userInfo":{},"object":{"kind":"Pod","spec":{"containers":[]}}}})",
    R"({"request":{"uid":"u2","kind":{"group":"","version":"v1","kind":"Pod"},)"
    R"("resource":{"group":"","version":"v1","resource":"pods"},"operation":"UPDATE",)"
    R"("namespace":"kube-system","userInfo":{"username":"bob"},"object":@}})",
    R"({"request":@})",
    R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u3",)"
    R"("kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1",)"
    R"("resource":"pods"},"operation":"CREATE","userInfo":{"username":"c","groups":[@]},)"
    R"("object":{"kind":"Pod","spec":{"initContainers":[{"securityContext":{"privileged":true}}]}}}})",
};

template <size_t N>
std::string pick_or_any(FuzzedDataProvider& in, const char* const (&choices)[N], size_t max) {
  if (in.ConsumeIntegralInRange<int>(0, 7) == 0)
    return in.ConsumeRandomLengthString(max);
  return choices[in.ConsumeIntegralInRange<size_t>(0, N - 1)];
}

bool is_json(std::string_view text) {
  boost::system::error_code ec;
  (void)json::parse(text, ec);
  return !ec;
}

bool route_prefix(std::string_view path) {
  for (std::string_view p : {"/validate/", "/audit/", "/validate_raw/"})
    if (path.starts_with(p))
      return true;
  return false;
}

void check(const server::api::HttpRequest& request, const server::api::HttpResponse& response) {
  const std::string what = request.method + " " + request.target + " [" + request.content_type +
                           "] -> " + std::to_string(response.status) + " " + response.body;
  switch (response.status) {
    case 200:
    case 400:
    case 404:
    case 405:
    case 415:
    case 422:
      break;
    default:
      fuzz::fail("undocumented status (500: an exception escaped)", what);
  }
  if (response.content_type == "application/json" && !is_json(response.body))
    fuzz::fail("a JSON answer that does not parse", what);
  const std::string_view path =
      std::string_view(request.target).substr(0, request.target.find('?'));
  if (!route_prefix(path) && response.status != 404)
    fuzz::fail("a path outside the routes not answered 404", what);
  if (response.status != 200)
    return;
  if (response.content_type != "application/json" || request.method != "POST")
    fuzz::fail("a 200 that is not a JSON answer to a POST", what);
  boost::system::error_code ec;
  const json::value answer = json::parse(response.body, ec);
  const json::value* inner =
      answer.is_object() ? answer.as_object().if_contains("response") : nullptr;
  const json::object* r = inner != nullptr ? inner->if_object() : nullptr;
  if (r == nullptr || !r->contains("allowed") || !r->at("allowed").is_bool())
    fuzz::fail("a 200 without response.allowed", what);
  // An AdmissionReview answer names the request's uid (when the request had a string one).
  const json::value request_body = json::parse(request.body, ec);
  if (ec || !request_body.is_object() || !path.starts_with("/validate/"))
    return;
  const json::value* admission = request_body.as_object().if_contains("request");
  const json::value* uid = admission != nullptr && admission->is_object()
                               ? admission->as_object().if_contains("uid")
                               : nullptr;
  if (uid != nullptr && uid->is_string() && (!r->contains("uid") || r->at("uid") != *uid))
    fuzz::fail("a 200 whose uid is not the request's", what);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  environment();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const uint8_t flags = in.ConsumeIntegral<uint8_t>();
  server::api::HttpRequest request;
  request.method = pick_or_any(in, kMethods, 16);
  // Two statements: the operands of `+` may be evaluated in either order, and gcc and clang
  // differ, which would give the same input two meanings in the replay and libFuzzer builds.
  request.target = pick_or_any(in, kPrefixes, 64);
  request.target += pick_or_any(in, kIds, 64);
  if (flags & 1)
    request.target += (flags & 2 ? "?" : "/") + in.ConsumeRandomLengthString(64);
  request.content_type = pick_or_any(in, kContentTypes, 64);
  if (flags & 4) {
    std::string body = kTemplates[in.ConsumeIntegralInRange<size_t>(0, std::size(kTemplates) - 1)];
    body.replace(body.find('@'), 1, in.ConsumeRemainingBytesAsString());
    request.body = std::move(body);
  } else {
    request.body = in.ConsumeRemainingBytesAsString();
  }
  const server::api::HttpResponse response = server::api::handle(environment(), request);
  if (std::getenv("TG_FUZZ_VERBOSE") != nullptr)
    std::fprintf(stderr, "%s %s [%s] -> %u %s\n", request.method.c_str(), request.target.c_str(),
                 request.content_type.c_str(), response.status, response.body.c_str());
  check(request, response);
  // The same request again: policies are pure functions of the request and settings.
  if (flags & 8) {
    const server::api::HttpResponse again = server::api::handle(environment(), request);
    if (again.status != response.status || again.content_type != response.content_type ||
        again.body != response.body)
      fuzz::fail("the same request answered differently",
                 request.target + "\n" + response.body + "\n" + again.body);
  }
  return 0;
}
