// AdmissionResponse: Kubewarden's JSON shape (field order, nulls) and post-processing order.
// SPDX-License-Identifier: Apache-2.0
#include "server/evaluation/admission_response.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "server/evaluation/json_patch.hpp"

namespace tollgate::server::evaluation {
namespace {

namespace json = boost::json;
using hostabi::kubewarden::ValidationResponse;

std::string text(const AdmissionResponse& r) {
  return json::serialize(to_json(r));
}

TEST(admission_response, accept_shape_has_null_annotations_and_warnings) {
  ValidationResponse v;
  v.accepted = true;
  AdmissionResponse r = from_validation_response("u1", v, nullptr);
  EXPECT_EQ(text(r), R"({"uid":"u1","allowed":true,"auditAnnotations":null,"warnings":null})");
  EXPECT_EQ(json::serialize(to_admission_review(r)),
            R"({"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":)"
            R"({"uid":"u1","allowed":true,"auditAnnotations":null,"warnings":null}})");
}

TEST(admission_response, reject_shape_in_field_order) {
  ValidationResponse v;
  v.accepted = false;
  v.message = "no";
  v.code = 403;
  v.warnings = std::vector<std::string>{"w1"};
  v.audit_annotations = std::map<std::string, std::string>{{"k", "v"}};
  EXPECT_EQ(text(from_validation_response("u", v, nullptr)),
            R"({"uid":"u","allowed":false,"status":{"message":"no","code":403},)"
            R"("auditAnnotations":{"k":"v"},"warnings":["w1"]})");
  // Only the fields present; a code of 0 is kept.
  ValidationResponse c;
  c.code = 0;
  EXPECT_EQ(
      text(from_validation_response("u", c, nullptr)),
      R"({"uid":"u","allowed":false,"status":{"code":0},"auditAnnotations":null,"warnings":null})");
}

TEST(admission_response, mutation_becomes_a_base64_json_patch) {
  json::value original = json::parse(R"({"metadata":{"labels":{"a":"1"}}})");
  ValidationResponse v;
  v.accepted = true;
  v.mutated_object = json::parse(R"({"metadata":{"labels":{"a":"1","b":"2"}}})");
  AdmissionResponse r = from_validation_response("u", v, &original);
  ASSERT_TRUE(r.patch);
  json::object out = to_json(r);
  EXPECT_EQ(out.at("patchType"), "JSONPatch");
  auto patch = decode_patch(*r.patch);
  ASSERT_TRUE(patch);
  json::value patched = original;
  ASSERT_TRUE(json_patch::apply(patched, *patch));
  EXPECT_EQ(patched, *v.mutated_object);
  // patchType and patch come right after allowed.
  std::string s = json::serialize(out);
  EXPECT_EQ(s.find(R"({"uid":"u","allowed":true,"patchType":"JSONPatch","patch":")"), 0u) << s;
}

TEST(admission_response, identical_mutated_object_gives_no_patch) {
  json::value original = json::parse(R"({"a":1})");
  ValidationResponse v;
  v.accepted = true;
  v.mutated_object = original;
  EXPECT_FALSE(from_validation_response("u", v, &original).patch);
}

TEST(admission_response, mutating_a_delete_is_rejected) {
  ValidationResponse v;
  v.accepted = true;
  v.mutated_object = json::parse(R"({"a":1})");
  json::value null_object;
  const json::value* originals[] = {nullptr, &null_object};
  for (const json::value* original : originals) {
    AdmissionResponse r = from_validation_response("u", v, original);
    EXPECT_EQ(text(r),
              R"({"uid":"u","allowed":false,"status":{"message":"Incoming object is null, which )"
              R"(happens only with DELETE operations, but the policy is attempting a mutation. )"
              R"(This is not allowed"},"auditAnnotations":null,"warnings":null})");
  }
}

AdmissionResponse mutated_response() {
  AdmissionResponse r;
  r.uid = "u";
  r.allowed = true;
  r.patch = "W10=";
  r.warnings = std::vector<std::string>{"w"};
  return r;
}

TEST(admission_response, monitor_mode_allows_and_strips_patch_and_status) {
  AdmissionResponse r = AdmissionResponse::reject("u", "no", 400);
  r.warnings = std::vector<std::string>{"w"};
  post_process(r, {"p", PolicyMode::monitor, false, std::string("custom")});
  EXPECT_EQ(text(r), R"({"uid":"u","allowed":true,"auditAnnotations":null,"warnings":["w"]})");
  AdmissionResponse m = mutated_response();
  post_process(m, {"p", PolicyMode::monitor, false, std::nullopt});
  EXPECT_TRUE(m.allowed);
  EXPECT_FALSE(m.patch);
}

TEST(admission_response, mutation_not_allowed) {
  AdmissionResponse r = mutated_response();
  post_process(r, {"clusterwide-x", PolicyMode::protect, false, std::nullopt});
  EXPECT_EQ(text(r),
            R"({"uid":"u","allowed":false,"status":{"message":"Request rejected by policy )"
            R"(clusterwide-x. The policy attempted to mutate the request, but it is currently )"
            R"(configured to not allow mutations."},"auditAnnotations":null,"warnings":["w"]})");
  AdmissionResponse allowed = mutated_response();
  post_process(allowed, {"p", PolicyMode::protect, true, std::nullopt});
  EXPECT_TRUE(allowed.allowed);
  EXPECT_TRUE(allowed.patch);
}

TEST(admission_response, custom_message_moves_the_original_to_causes) {
  AdmissionResponse r = AdmissionResponse::reject("u", "original", 403);
  post_process(r, {"p", PolicyMode::protect, false, std::string("custom")});
  EXPECT_EQ(text(r),
            R"({"uid":"u","allowed":false,"status":{"message":"custom","details":{"causes":)"
            R"([{"reason":null,"message":"original","field":null}]},"code":403},)"
            R"("auditAnnotations":null,"warnings":null})");
  // An accepted request keeps no custom message.
  AdmissionResponse ok = AdmissionResponse::accept("u");
  post_process(ok, {"p", PolicyMode::protect, false, std::string("custom")});
  EXPECT_FALSE(ok.status);
}

TEST(admission_response, custom_message_applies_after_the_mutation_rejection) {
  AdmissionResponse r = mutated_response();
  post_process(r, {"p", PolicyMode::protect, false, std::string("custom")});
  ASSERT_TRUE(r.status);
  EXPECT_EQ(r.status->message, "custom");
  ASSERT_EQ(r.status->causes.size(), 1u);
  EXPECT_EQ(r.status->causes[0].message, mutation_not_allowed_message("p"));
}

TEST(admission_response, decode_patch_rejects_garbage) {
  EXPECT_FALSE(decode_patch("not base64!"));
  EXPECT_FALSE(decode_patch("e30="));  // {} is not an array
}

}  // namespace
}  // namespace tollgate::server::evaluation
