// Kubewarden protocol payloads: ValidationResponse / SettingsValidationResponse parsing and shape.
// SPDX-License-Identifier: Apache-2.0
#include "hostabi/kubewarden/protocol.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace tollgate::hostabi::kubewarden {
namespace {

TEST(protocol, null_means_absent) {
  auto r = parse_validation_response(
      R"({"accepted":true,"message":null,"code":null,"mutated_object":null,"warnings":null,"audit_annotations":null})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->accepted);
  EXPECT_FALSE(r->message || r->code || r->mutated_object || r->warnings || r->audit_annotations);
  EXPECT_EQ(boost::json::serialize(to_json(*r)), R"({"accepted":true})");
}

TEST(protocol, validation_request_wraps_request_and_settings) {
  namespace json = boost::json;
  const json::value request = json::parse(
      R"({"uid":"u\u00e9\n","object":{"spec":{"containers":[{"securityContext":{"privileged":true}}]}},"n":-1.5e300,"e":[],"o":{}})");
  for (const json::value& settings :
       {json::value(json::object()), json::parse(R"({"skip_init_containers":true})"),
        json::value(nullptr)}) {
    json::object expected;
    expected["request"] = request;
    expected["settings"] = settings;
    const std::string payload = make_validation_request(request, settings);
    EXPECT_EQ(payload, json::serialize(expected));
    EXPECT_EQ(json::parse(payload), json::value(expected));
  }
}

TEST(protocol, rejects_wrong_shapes) {
  EXPECT_FALSE(parse_validation_response("{}").ok());
  EXPECT_FALSE(parse_validation_response(R"({"accepted":"yes"})").ok());
  EXPECT_FALSE(parse_validation_response(R"({"accepted":false,"code":70000})").ok());
  EXPECT_FALSE(parse_validation_response(R"({"accepted":false,"code":-1})").ok());
  EXPECT_FALSE(parse_validation_response(R"({"accepted":false,"warnings":"w"})").ok());
  EXPECT_FALSE(parse_validation_response("[true]").ok());
  EXPECT_FALSE(parse_settings_response(R"({"message":"m"})").ok());
  auto s = parse_settings_response(R"({"valid":false,"message":"m"})");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->message, "m");
}

TEST(protocol, deep_objects_parse_up_to_the_depth_limit) {
  auto nested = [](size_t depth) {
    std::string s = R"({"accepted":true,"mutated_object":)";
    for (size_t i = 0; i < depth; ++i)
      s += "[";
    for (size_t i = 0; i < depth; ++i)
      s += "]";
    return s + "}";
  };
  EXPECT_TRUE(parse_validation_response(nested(100)).ok());
  EXPECT_FALSE(parse_validation_response(nested(100000)).ok());
}

TEST(protocol, internal_server_error_shape) {
  ValidationResponse r = ValidationResponse::internal_server_error("boom");
  EXPECT_FALSE(r.accepted);
  EXPECT_EQ(r.code, 500);
  EXPECT_EQ(r.message, "internal server error: boom");
}

TEST(protocol, rust_debug_string_escapes) {
  EXPECT_EQ(rust_debug_string("a\"b\\c\nd"), R"("a\"b\\c\nd")");
  EXPECT_EQ(rust_debug_string(std::string("\x01", 1)), R"("\u{1}")");
}

}  // namespace
}  // namespace tollgate::hostabi::kubewarden
