// AdmissionResponse: built from a policy's ValidationResponse, post-processed, serialised.
// SPDX-License-Identifier: Apache-2.0
#include "server/evaluation/admission_response.hpp"

#include <boost/beast/core/detail/base64.hpp>
#include <boost/json/serialize.hpp>

#include "server/evaluation/json_patch.hpp"

namespace tollgate::server::evaluation {
namespace {

namespace json = boost::json;
namespace base64 = boost::beast::detail::base64;

std::string encode_base64(std::string_view bytes) {
  std::string out(base64::encoded_size(bytes.size()), '\0');
  out.resize(base64::encode(out.data(), bytes.data(), bytes.size()));
  return out;
}

json::value optional_string(const std::optional<std::string>& text) {
  return text ? json::value(*text) : json::value(nullptr);
}

}  // namespace

std::string mutation_not_allowed_message(std::string_view policy_id) {
  return "Request rejected by policy " + std::string(policy_id) +
         ". The policy attempted to mutate the request, but it is currently configured to not "
         "allow mutations.";
}

AdmissionResponse AdmissionResponse::accept(std::string uid) {
  AdmissionResponse response;
  response.uid = std::move(uid);
  response.allowed = true;
  return response;
}

AdmissionResponse AdmissionResponse::reject(std::string uid,
                                            std::string message,
                                            std::optional<int64_t> code) {
  AdmissionResponse response;
  response.uid = std::move(uid);
  response.allowed = false;
  response.status = AdmissionStatus{};
  response.status->message = std::move(message);
  response.status->code = code;
  return response;
}

AdmissionResponse from_validation_response(std::string uid,
                                           const hostabi::kubewarden::ValidationResponse& policy,
                                           const json::value* original) {
  if (policy.mutated_object) {
    if (original == nullptr || original->is_null())
      return AdmissionResponse::reject(std::move(uid), std::string(kDeleteMutationMessage),
                                       std::nullopt);
  }
  AdmissionResponse response;
  response.uid = std::move(uid);
  response.allowed = policy.accepted;
  if (policy.mutated_object) {
    json::array patch = json_patch::diff(*original, *policy.mutated_object);
    if (!patch.empty())
      response.patch = encode_base64(json::serialize(patch));
  }
  if (policy.message || policy.code) {
    response.status = AdmissionStatus{};
    response.status->message = policy.message;
    response.status->code = policy.code;
  }
  response.audit_annotations = policy.audit_annotations;
  response.warnings = policy.warnings;
  return response;
}

void post_process(AdmissionResponse& response, const ResponsePolicy& policy) {
  if (policy.mode == PolicyMode::monitor) {
    response.allowed = true;
    response.patch.reset();
    response.status.reset();
    return;
  }
  if (!policy.allowed_to_mutate && response.patch) {
    response.allowed = false;
    response.patch.reset();
    response.status = AdmissionStatus{};
    response.status->message = mutation_not_allowed_message(policy.policy_id);
  }
  if (policy.custom_message && !response.allowed) {
    if (!response.status)
      response.status = AdmissionStatus{};
    std::optional<std::string> original = std::move(response.status->message);
    response.status->message = *policy.custom_message;
    if (original)
      response.status->causes.push_back(
          StatusCause{std::nullopt, std::move(original), std::nullopt});
  }
}

json::object to_json(const AdmissionResponse& response) {
  json::object out;
  out["uid"] = response.uid;
  out["allowed"] = response.allowed;
  if (response.patch) {
    out["patchType"] = "JSONPatch";
    out["patch"] = *response.patch;
  }
  if (response.status) {
    const AdmissionStatus& s = *response.status;
    json::object status;
    if (s.status)
      status["status"] = *s.status;
    if (s.message)
      status["message"] = *s.message;
    if (s.reason)
      status["reason"] = *s.reason;
    if (!s.causes.empty()) {
      json::array causes;
      for (const StatusCause& cause : s.causes) {
        json::object c;
        c["reason"] = optional_string(cause.reason);
        c["message"] = optional_string(cause.message);
        c["field"] = optional_string(cause.field);
        causes.push_back(std::move(c));
      }
      status["details"] = json::object{{"causes", std::move(causes)}};
    }
    if (s.code)
      status["code"] = *s.code;
    out["status"] = std::move(status);
  }
  if (response.audit_annotations) {
    json::object annotations;
    for (const auto& [key, value] : *response.audit_annotations)
      annotations[key] = value;
    out["auditAnnotations"] = std::move(annotations);
  } else {
    out["auditAnnotations"] = nullptr;
  }
  if (response.warnings) {
    json::array warnings;
    for (const std::string& warning : *response.warnings)
      warnings.push_back(json::value(warning));
    out["warnings"] = std::move(warnings);
  } else {
    out["warnings"] = nullptr;
  }
  return out;
}

json::object to_admission_review(const AdmissionResponse& response) {
  json::object review;
  review["kind"] = "AdmissionReview";
  review["apiVersion"] = "admission.k8s.io/v1";
  review["response"] = to_json(response);
  return review;
}

runtime::Result<json::array> decode_patch(std::string_view base64_patch) {
  // Padded base64 only: a multiple of 4 characters, at most two `=` at the end.
  std::string_view data = base64_patch;
  std::size_t padding = 0;
  while (!data.empty() && data.back() == '=' && padding < 2) {
    data.remove_suffix(1);
    ++padding;
  }
  std::string bytes(base64::decoded_size(data.size()) + 3, '\0');
  auto [written, read] = base64::decode(bytes.data(), data.data(), data.size());
  if (base64_patch.size() % 4 != 0 || read != data.size())
    return runtime::Error{runtime::ErrorKind::malformed, static_cast<uint32_t>(read),
                          "patch is not valid base64"};
  bytes.resize(written);
  boost::system::error_code ec;
  json::value value = hostabi::kubewarden::parse_json(bytes, ec);
  if (ec || !value.is_array())
    return runtime::Error{runtime::ErrorKind::malformed, 0, "patch is not a JSON array"};
  return std::move(value.get_array());
}

}  // namespace tollgate::server::evaluation
