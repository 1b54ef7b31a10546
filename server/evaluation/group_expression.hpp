// Policy group expressions: the boolean subset of Rhai that Kubewarden's examples use.
// SPDX-License-Identifier: Apache-2.0
//
// Grammar (precedence low to high):  or := and ("||" and)*;  and := unary ("&&" unary)*;
// unary := "!" unary | primary;  primary := "true" | "false" | NAME "(" ")" | "(" or ")".
// `||` and `&&` short-circuit, so members not needed for the result are never evaluated.
// Anything else (other operators, arguments, statements) is a parse error.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/base/result.hpp"

namespace tollgate::server::evaluation {

/// Nesting of parentheses and `!` a parsed expression may have.
inline constexpr std::size_t kMaxExpressionDepth = 64;

class GroupExpression {
 public:
  struct Node;

  /// Parses `text`; errors say what was found where (byte offset) and what was expected.
  static runtime::Result<GroupExpression> parse(std::string_view text);

  /// The member names called, each once, in order of first appearance.
  const std::vector<std::string>& members() const { return members_; }

  /// Evaluates with `call(name)` giving a member's verdict; only calls what short-circuiting
  /// leaves to evaluate, in left-to-right order.
  bool evaluate(const std::function<bool(const std::string& name)>& call) const;

 private:
  std::shared_ptr<const Node> root_;
  std::vector<std::string> members_;
};

}  // namespace tollgate::server::evaluation
