// RFC 6902 JSON Patch: diff produces a patch that turns `from` into `to`; apply follows the RFC.
// SPDX-License-Identifier: Apache-2.0
#include "server/evaluation/json_patch.hpp"

#include <gtest/gtest.h>

#include <random>

#include <boost/json.hpp>

namespace tollgate::server::evaluation::json_patch {
namespace {

namespace json = boost::json;

void expect_round_trip(std::string_view from_text, std::string_view to_text) {
  json::value from = json::parse(from_text);
  json::value to = json::parse(to_text);
  json::array patch = diff(from, to);
  json::value patched = from;
  auto applied = apply(patched, patch);
  ASSERT_TRUE(applied) << applied.error().message << " patch " << json::serialize(patch);
  EXPECT_EQ(patched, to) << "patch " << json::serialize(patch);
}

TEST(json_patch, equal_documents_give_an_empty_patch) {
  json::value doc = json::parse(R"({"a":[1,{"b":null}],"c":"d"})");
  EXPECT_TRUE(diff(doc, doc).empty());
}

TEST(json_patch, object_members_added_removed_replaced) {
  json::array patch = diff(json::parse(R"({"a":1,"b":2})"), json::parse(R"({"a":3,"c":4})"));
  EXPECT_EQ(json::value(patch), json::parse(R"([{"op":"remove","path":"/b"},
      {"op":"replace","path":"/a","value":3},{"op":"add","path":"/c","value":4}])"));
}

TEST(json_patch, round_trips) {
  expect_round_trip(R"({})", R"({"a":{"b":[1,2,3]}})");
  expect_round_trip(R"({"a":[1,2,3,4,5]})", R"({"a":[1,9]})");
  expect_round_trip(R"({"a":[1]})", R"({"a":[1,2,{"x":[]}]})");
  expect_round_trip(R"({"a":[1,2]})", R"({"a":{"0":1}})");
  expect_round_trip(R"({"a/b":1,"c~d":2,"":3})", R"({"a/b":2,"c~d":3,"":[4]})");
  expect_round_trip(R"([1,2,3])", R"({"x":1})");
  expect_round_trip(R"(null)", R"({"x":1})");
  expect_round_trip(R"({"spec":{"containers":[{"name":"a","image":"x"},{"name":"b"}]}})",
                    R"({"spec":{"containers":[{"name":"a","image":"y",
                        "resources":{"limits":{"cpu":"500m"}}},{"name":"b"}]}})");
  expect_round_trip(R"({"a":1.5,"b":true,"c":"s"})", R"({"a":1,"b":false,"c":null})");
}

TEST(json_patch, escaped_tokens) {
  EXPECT_EQ(escape_token("a/b~c"), "a~1b~0c");
  json::array patch = diff(json::parse(R"({"a/b":1})"), json::parse(R"({"a/b":2})"));
  EXPECT_EQ(json::value(patch), json::parse(R"([{"op":"replace","path":"/a~1b","value":2}])"));
}

// RFC 6902 appendix A examples.
void expect_apply(std::string_view doc, std::string_view patch, std::string_view result) {
  json::value d = json::parse(doc);
  auto applied = apply(d, json::parse(patch).as_array());
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ(d, json::parse(result));
}

void expect_apply_error(std::string_view doc, std::string_view patch) {
  json::value d = json::parse(doc);
  EXPECT_FALSE(apply(d, json::parse(patch).as_array())) << patch;
}

TEST(json_patch, rfc6902_examples) {
  expect_apply(R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux"}])",
               R"({"baz":"qux","foo":"bar"})");
  expect_apply(R"({"foo":["bar","baz"]})", R"([{"op":"add","path":"/foo/1","value":"qux"}])",
               R"({"foo":["bar","qux","baz"]})");
  expect_apply(R"({"baz":"qux","foo":"bar"})", R"([{"op":"remove","path":"/baz"}])",
               R"({"foo":"bar"})");
  expect_apply(R"({"foo":["bar","qux","baz"]})", R"([{"op":"remove","path":"/foo/1"}])",
               R"({"foo":["bar","baz"]})");
  expect_apply(R"({"baz":"qux","foo":"bar"})", R"([{"op":"replace","path":"/baz","value":"boo"}])",
               R"({"baz":"boo","foo":"bar"})");
  expect_apply(R"({"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}})",
               R"([{"op":"move","from":"/foo/waldo","path":"/qux/thud"}])",
               R"({"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}})");
  expect_apply(R"({"foo":["all","grass","cows","eat"]})",
               R"([{"op":"move","from":"/foo/1","path":"/foo/3"}])",
               R"({"foo":["all","cows","eat","grass"]})");
  expect_apply(
      R"({"baz":"qux","foo":["a",2,"c"]})",
      R"([{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}])",
      R"({"baz":"qux","foo":["a",2,"c"]})");
  expect_apply_error(R"({"baz":"qux"})", R"([{"op":"test","path":"/baz","value":"bar"}])");
  expect_apply(R"({"foo":"bar"})", R"([{"op":"add","path":"/child","value":{"grandchild":{}}}])",
               R"({"foo":"bar","child":{"grandchild":{}}})");
  expect_apply_error(R"({"foo":"bar"})", R"([{"op":"add","path":"/baz/bat","value":"qux"}])");
  expect_apply(R"({"foo":["bar"]})", R"([{"op":"add","path":"/foo/-","value":["abc","def"]}])",
               R"({"foo":["bar",["abc","def"]]})");
  expect_apply(R"({"/":9,"~1":10})", R"([{"op":"test","path":"/~01","value":10}])",
               R"({"/":9,"~1":10})");
  expect_apply(R"({"a":1})", R"([{"op":"copy","from":"/a","path":"/b"}])", R"({"a":1,"b":1})");
}

TEST(json_patch, apply_errors) {
  expect_apply_error(R"({})", R"([{"op":"remove","path":"/missing"}])");
  expect_apply_error(R"({})", R"([{"op":"replace","path":"/missing","value":1}])");
  expect_apply_error(R"({"a":[1]})", R"([{"op":"add","path":"/a/5","value":1}])");
  expect_apply_error(R"({"a":[1]})", R"([{"op":"add","path":"/a/01","value":1}])");
  expect_apply_error(R"({})", R"([{"op":"add","path":"a","value":1}])");
  expect_apply_error(R"({})", R"([{"op":"add","path":"/~2","value":1}])");
  expect_apply_error(R"({})", R"([{"op":"frobnicate","path":"/a"}])");
  expect_apply_error(R"({})", R"([{"op":"add","path":"/a"}])");
  expect_apply_error(R"({})", R"([1])");
  expect_apply_error(R"({"a":{"b":1}})", R"([{"op":"move","from":"/a","path":"/a/c"}])");
}

/// Random JSON of bounded size; deterministic for a seed.
json::value random_value(std::mt19937& rng, int depth) {
  std::uniform_int_distribution<int> kind(0, depth > 3 ? 3 : 6);
  switch (kind(rng)) {
    case 0:
      return nullptr;
    case 1:
      return static_cast<int64_t>(rng() % 5);
    case 2:
      return (rng() & 1) != 0;
    case 3: {
      static const char* const kStrings[] = {"a", "b", "x/y", "~", ""};
      return kStrings[rng() % 5];
    }
    case 4:
    case 5: {
      json::object o;
      static const char* const kKeys[] = {"a", "b", "c", "d/e", "f~g"};
      for (unsigned i = rng() % 4; i > 0; --i)
        o[kKeys[rng() % 5]] = random_value(rng, depth + 1);
      return o;
    }
    default: {
      json::array a;
      for (unsigned i = rng() % 5; i > 0; --i)
        a.push_back(random_value(rng, depth + 1));
      return a;
    }
  }
}

TEST(json_patch, random_round_trips) {
  std::mt19937 rng(12345);
  for (int i = 0; i < 2000; ++i) {
    json::value from = random_value(rng, 0);
    json::value to = random_value(rng, 0);
    json::array patch = diff(from, to);
    json::value patched = from;
    ASSERT_TRUE(apply(patched, patch)) << json::serialize(from) << " -> " << json::serialize(to);
    ASSERT_EQ(patched, to) << json::serialize(patch);
  }
}

}  // namespace
}  // namespace tollgate::server::evaluation::json_patch
