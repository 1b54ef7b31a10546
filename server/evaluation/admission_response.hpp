// AdmissionResponse: built from a policy's ValidationResponse, post-processed, serialised.
// SPDX-License-Identifier: Apache-2.0
//
// Reproduces policy-evaluator's AdmissionResponse (kubewarden.md 1.5) and its response handler
// (1.6): the JSONPatch diff, monitor mode, the mutation constraint and custom messages, with
// Kubewarden's exact messages and field order. Shared by the server and `tollgate run`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "hostabi/kubewarden/protocol.hpp"
#include "server/evaluation/config.hpp"

namespace tollgate::server::evaluation {

inline constexpr std::string_view kDeleteMutationMessage =
    "Incoming object is null, which happens only with DELETE operations, but the policy is "
    "attempting a mutation. This is not allowed";
inline constexpr std::string_view kGroupMutationMessage =
    "mutation is not allowed inside of policy group";

/// `Request rejected by policy <id>. The policy attempted to mutate the request, but it is
/// currently configured to not allow mutations.`
std::string mutation_not_allowed_message(std::string_view policy_id);

/// metav1.StatusCause; reason and field serialise as null when absent.
struct StatusCause {
  std::optional<std::string> reason;
  std::optional<std::string> message;
  std::optional<std::string> field;
};

/// metav1.Status as Kubewarden fills it; each absent field is omitted.
struct AdmissionStatus {
  std::optional<std::string> status;
  std::optional<std::string> message;
  std::optional<std::string> reason;
  std::vector<StatusCause> causes;  ///< `details.causes`; `details` omitted when empty
  std::optional<int64_t> code;
};

struct AdmissionResponse {
  std::string uid;
  bool allowed = false;
  std::optional<std::string> patch;  ///< base64 (standard, padded) of the RFC 6902 JSON array
  std::optional<AdmissionStatus> status;
  std::optional<std::map<std::string, std::string>> audit_annotations;
  std::optional<std::vector<std::string>> warnings;

  /// `{uid, allowed:true}` (always-accept namespace).
  static AdmissionResponse accept(std::string uid);
  /// `{uid, allowed:false, status:{message, code}}`.
  static AdmissionResponse reject(std::string uid,
                                  std::string message,
                                  std::optional<int64_t> code);
};

/// PE `AdmissionResponse::from_policy_validation_response`. `original` is request.object (or
/// the whole raw request); a mutation becomes the patch `diff(*original, mutated_object)`, or
/// the DELETE rejection when `original` is null/absent. An empty diff gives no patch.
AdmissionResponse from_validation_response(std::string uid,
                                           const hostabi::kubewarden::ValidationResponse& response,
                                           const boost::json::value* original);

/// How a policy's answer is post-processed (kubewarden.md 1.6).
struct ResponsePolicy {
  std::string policy_id;
  PolicyMode mode = PolicyMode::protect;
  bool allowed_to_mutate = false;
  std::optional<std::string> custom_message;
};

/// Monitor mode, then the mutation constraint, then the custom message. Does not log; the
/// caller logs the monitor-mode decision.
void post_process(AdmissionResponse& response, const ResponsePolicy& policy);

/// The AdmissionResponse JSON: uid, allowed, patchType+patch, status, auditAnnotations (null
/// when absent), warnings (null when absent), in that order.
boost::json::object to_json(const AdmissionResponse& response);
/// `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":...}`.
boost::json::object to_admission_review(const AdmissionResponse& response);

/// The decoded patch (base64 -> JSON array); for tests and `tollgate run`.
runtime::Result<boost::json::array> decode_patch(std::string_view base64_patch);

}  // namespace tollgate::server::evaluation
