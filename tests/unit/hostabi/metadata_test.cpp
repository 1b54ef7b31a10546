// io.kubewarden.metadata: JSON parse/serialise and the custom section written and read back.
// SPDX-License-Identifier: Apache-2.0
#include "hostabi/kubewarden/metadata.hpp"

#include <gtest/gtest.h>

#include "runtime/module.hpp"
#include "tests/utils/wat.hpp"

namespace tollgate::hostabi::kubewarden {
namespace {

TEST(metadata, parses_kwctl_json_and_ignores_unknown_keys) {
  auto m = parse_metadata(R"({
    "protocolVersion": "v1",
    "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "operations": ["CREATE"]}],
    "annotations": {"io.kubewarden.policy.title": "pod-privileged"},
    "mutating": false,
    "contextAware": false,
    "executionMode": "wasi",
    "policyType": "raw",
    "contextAwareResources": [{"apiVersion": "v1", "kind": "Namespace"}],
    "minimumKubewardenVersion": "1.9.0",
    "hostCapabilities": ["oci/*"]
  })");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->protocol_version, "v1");
  EXPECT_EQ(m->execution_mode, ExecutionMode::wasi);
  EXPECT_EQ(m->policy_type, PolicyType::raw);
  EXPECT_TRUE(m->background_audit);  // default
  ASSERT_EQ(m->context_aware_resources.size(), 1u);
  EXPECT_EQ(m->context_aware_resources[0], (ContextAwareResource{"v1", "Namespace"}));
  EXPECT_EQ(m->annotations->at("io.kubewarden.policy.title"), "pod-privileged");
  EXPECT_EQ(m->minimum_kubewarden_version, "1.9.0");
  ASSERT_TRUE(m->host_capabilities.has_value());
  EXPECT_EQ((*m->host_capabilities)[0], "oci/*");
}

TEST(metadata, defaults_and_errors) {
  auto m = parse_metadata("{}");
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->protocol_version.has_value());
  EXPECT_EQ(m->execution_mode, ExecutionMode::kubewarden_wapc);
  EXPECT_EQ(m->policy_type, PolicyType::kubernetes);
  EXPECT_FALSE(parse_metadata("[]").ok());
  EXPECT_FALSE(parse_metadata("{").ok());
  EXPECT_FALSE(parse_metadata(R"({"executionMode":"python"})").ok());
  EXPECT_FALSE(parse_metadata(R"({"mutating":"yes"})").ok());
}

TEST(metadata, write_then_read_round_trip) {
  Metadata m;
  m.protocol_version = "v1";
  m.mutating = true;
  m.execution_mode = ExecutionMode::wasi;
  m.context_aware_resources = {{"apps/v1", "Deployment"}};
  m.annotations = std::map<std::string, std::string>{{"io.kubewarden.policy.author", "us"}};

  std::vector<uint8_t> wasm = test::wat_to_wasm(R"((module (func (export "f"))))");
  ASSERT_FALSE(wasm.empty());
  write_metadata(wasm, m);

  // Raw section scan.
  auto raw = find_custom_section(wasm, kMetadataSection);
  ASSERT_TRUE(raw.ok());
  ASSERT_TRUE(raw.value().has_value());
  auto again = parse_metadata(std::string(raw.value()->begin(), raw.value()->end()));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(serialize_metadata(*again), serialize_metadata(m));

  // Through the decoder: the module stays valid and the section is found.
  auto module = runtime::decode_module(wasm);
  ASSERT_TRUE(module.ok()) << module.error().message;
  auto read = read_metadata(*module.value());
  ASSERT_TRUE(read.ok());
  ASSERT_TRUE(read.value().has_value());
  EXPECT_TRUE(read.value()->mutating);
  EXPECT_EQ(read.value()->execution_mode, ExecutionMode::wasi);
  EXPECT_EQ(read.value()->context_aware_resources[0].kind, "Deployment");
}

TEST(metadata, first_section_wins) {
  std::vector<uint8_t> wasm = test::wat_to_wasm("(module)");
  Metadata a;
  a.protocol_version = "v1";
  Metadata b;
  b.protocol_version = "Unknown";
  write_metadata(wasm, a);
  write_metadata(wasm, b);
  auto module = runtime::decode_module(wasm);
  ASSERT_TRUE(module.ok());
  auto read = read_metadata(*module.value());
  ASSERT_TRUE(read.ok() && read.value().has_value());
  EXPECT_EQ(read.value()->protocol_version, "v1");
}

TEST(metadata, custom_section_binary_layout) {
  std::vector<uint8_t> wasm = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  const uint8_t payload[] = {'h', 'i'};
  append_custom_section(wasm, "ab", payload);
  // id 0, size 5 (name length 1 + name 2 + payload 2), name length 2, "ab", "hi".
  std::vector<uint8_t> tail(wasm.begin() + 8, wasm.end());
  EXPECT_EQ(tail, (std::vector<uint8_t>{0x00, 0x05, 0x02, 'a', 'b', 'h', 'i'}));

  // A large payload needs a multi-byte LEB size.
  std::vector<uint8_t> big(300, 'x');
  append_custom_section(wasm, "big", big);
  auto found = find_custom_section(wasm, "big");
  ASSERT_TRUE(found.ok() && found.value().has_value());
  EXPECT_EQ(found.value()->size(), 300u);
}

TEST(metadata, malformed_binaries_are_errors) {
  EXPECT_FALSE(find_custom_section(std::vector<uint8_t>{1, 2, 3}, "x").ok());
  std::vector<uint8_t> truncated = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x00, 0x7f};
  EXPECT_FALSE(find_custom_section(truncated, "x").ok());
  std::vector<uint8_t> bad_name = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00,
                                   0x00, 0x00, 0x00, 0x02, 0x09, 'a'};
  EXPECT_FALSE(find_custom_section(bad_name, "x").ok());
  std::vector<uint8_t> none = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  auto r = find_custom_section(none, "x");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.value().has_value());
}

}  // namespace
}  // namespace tollgate::hostabi::kubewarden
