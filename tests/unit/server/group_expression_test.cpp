// Policy group expressions: parsing, precedence, short-circuiting, and clear errors.
// SPDX-License-Identifier: Apache-2.0
#include "server/evaluation/group_expression.hpp"

#include <gtest/gtest.h>

#include <map>

namespace tollgate::server::evaluation {
namespace {

struct Outcome {
  bool result;
  std::vector<std::string> called;
};

Outcome run(std::string_view text, std::map<std::string, bool> verdicts) {
  auto e = GroupExpression::parse(text);
  EXPECT_TRUE(e) << text << ": " << (e ? "" : e.error().message);
  if (!e)
    return {false, {}};
  Outcome r{false, {}};
  r.result = e->evaluate([&](const std::string& name) {
    r.called.push_back(name);
    return verdicts.at(name);
  });
  return r;
}

TEST(group_expression, constants_and_calls) {
  EXPECT_TRUE(run("true", {}).result);
  EXPECT_FALSE(run("false", {}).result);
  EXPECT_TRUE(run("a()", {{"a", true}}).result);
  EXPECT_FALSE(run("!a()", {{"a", true}}).result);
  EXPECT_TRUE(run("!!a()", {{"a", true}}).result);
  EXPECT_TRUE(run("  a ( )  ", {{"a", true}}).result);
}

TEST(group_expression, and_binds_tighter_than_or) {
  // false || (true && true) == true; (false || true) && false would be false.
  EXPECT_TRUE(run("a() || b() && c()", {{"a", false}, {"b", true}, {"c", true}}).result);
  EXPECT_FALSE(run("(a() || b()) && c()", {{"a", false}, {"b", true}, {"c", false}}).result);
  EXPECT_TRUE(run("a() && b() || c()", {{"a", false}, {"b", true}, {"c", true}}).result);
}

TEST(group_expression, short_circuit) {
  Outcome r = run("a() || b()", {{"a", true}, {"b", false}});
  EXPECT_TRUE(r.result);
  EXPECT_EQ(r.called, std::vector<std::string>{"a"});
  r = run("a() && b()", {{"a", false}, {"b", true}});
  EXPECT_FALSE(r.result);
  EXPECT_EQ(r.called, std::vector<std::string>{"a"});
  r = run("sigstore_pgp() || (sigstore_gh_action() && reject_latest_tag())",
          {{"sigstore_pgp", false}, {"sigstore_gh_action", true}, {"reject_latest_tag", true}});
  EXPECT_TRUE(r.result);
  EXPECT_EQ(r.called,
            (std::vector<std::string>{"sigstore_pgp", "sigstore_gh_action", "reject_latest_tag"}));
}

TEST(group_expression, members_listed_once_in_order) {
  auto e = GroupExpression::parse("b() && (a() || b()) && !c_2()");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->members(), (std::vector<std::string>{"b", "a", "c_2"}));
}

void expect_error(std::string_view text, std::string_view fragment) {
  auto e = GroupExpression::parse(text);
  ASSERT_FALSE(e) << text;
  EXPECT_NE(e.error().message.find(fragment), std::string::npos) << e.error().message;
}

TEST(group_expression, errors) {
  expect_error("", "expected `true`, `false`");
  expect_error("a", "is not a policy call");
  expect_error("a(1)", "takes no arguments");
  expect_error("a() &&", "expected `true`, `false`");
  expect_error("a() & b()", "unexpected `&");
  expect_error("(a()", "expected `)`");
  expect_error("a())", "unexpected `)`");
  expect_error("a() == b()", "unexpected `==");
  expect_error("a() != b()", "unexpected `!=");
  expect_error("1 + 2", "unexpected `1");
  expect_error("let x = 1; x", "is not a policy call");
  expect_error(std::string(200, '(') + "true" + std::string(200, ')'), "nested deeper");
  expect_error(std::string(200, '!') + "true", "nested deeper");
  std::string huge;
  for (int i = 0; i < 5000; ++i)
    huge += "a() && ";
  expect_error(huge + "a()", "longer than");
}

}  // namespace
}  // namespace tollgate::server::evaluation
