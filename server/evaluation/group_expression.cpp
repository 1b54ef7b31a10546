// Policy group expressions: the boolean subset of Rhai that Kubewarden's examples use.
// SPDX-License-Identifier: Apache-2.0
#include "server/evaluation/group_expression.hpp"

#include <algorithm>
#include <cctype>
#include <variant>

namespace tollgate::server::evaluation {

struct GroupExpression::Node {
  enum class Kind : uint8_t { constant, call, negate, conjunction, disjunction };
  Kind kind = Kind::constant;
  bool value = false;                       ///< constant
  std::string name;                         ///< call
  std::shared_ptr<const Node> left, right;  ///< negate uses left only
};

namespace {

using runtime::Error;
using runtime::ErrorKind;
using Node = GroupExpression::Node;
using NodePtr = std::shared_ptr<const Node>;

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  runtime::Result<NodePtr> parse_all(std::vector<std::string>& members) {
    members_ = &members;
    auto root = parse_or(0);
    if (!root)
      return root;
    skip_space();
    if (pos_ < text_.size())
      return error("unexpected `" + describe_here() + "`, expected `&&`, `||` or the end");
    return root;
  }

 private:
  Error error(const std::string& what) const {
    return Error{ErrorKind::invalid, static_cast<uint32_t>(pos_),
                 "invalid policy group expression at offset " + std::to_string(pos_) + ": " + what};
  }

  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_])))
      ++pos_;
  }

  bool take(std::string_view token) {
    skip_space();
    if (text_.substr(pos_, token.size()) != token)
      return false;
    pos_ += token.size();
    return true;
  }

  std::string describe_here() const {
    if (pos_ >= text_.size())
      return "end of expression";
    std::size_t end = pos_ + 1;
    while (end < text_.size() && end < pos_ + 12 &&
           !std::isspace(static_cast<unsigned char>(text_[end])))
      ++end;
    return std::string(text_.substr(pos_, end - pos_));
  }

  static NodePtr binary(Node::Kind kind, NodePtr left, NodePtr right) {
    auto node = std::make_shared<Node>();
    node->kind = kind;
    node->left = std::move(left);
    node->right = std::move(right);
    return node;
  }

  runtime::Result<NodePtr> parse_or(std::size_t depth) {
    auto left = parse_and(depth);
    if (!left)
      return left;
    NodePtr node = std::move(left).value();
    while (take("||")) {
      auto right = parse_and(depth);
      if (!right)
        return right;
      node = binary(Node::Kind::disjunction, node, std::move(right).value());
    }
    return node;
  }

  runtime::Result<NodePtr> parse_and(std::size_t depth) {
    auto left = parse_unary(depth);
    if (!left)
      return left;
    NodePtr node = std::move(left).value();
    while (take("&&")) {
      auto right = parse_unary(depth);
      if (!right)
        return right;
      node = binary(Node::Kind::conjunction, node, std::move(right).value());
    }
    return node;
  }

  runtime::Result<NodePtr> parse_unary(std::size_t depth) {
    if (depth >= kMaxExpressionDepth)
      return error("nested deeper than " + std::to_string(kMaxExpressionDepth) + " levels");
    skip_space();
    // `!=` is a comparison, which the subset does not have.
    if (text_.substr(pos_, 2) != "!=" && take("!")) {
      auto operand = parse_unary(depth + 1);
      if (!operand)
        return operand;
      auto node = std::make_shared<Node>();
      node->kind = Node::Kind::negate;
      node->left = std::move(operand).value();
      return NodePtr(node);
    }
    return parse_primary(depth);
  }

  runtime::Result<NodePtr> parse_primary(std::size_t depth) {
    skip_space();
    if (take("(")) {
      auto inner = parse_or(depth + 1);
      if (!inner)
        return inner;
      if (!take(")"))
        return error("unexpected `" + describe_here() + "`, expected `)`");
      return inner;
    }
    std::size_t start = pos_;
    auto ident_char = [](char c, bool first) {
      return c == '_' || std::isalpha(static_cast<unsigned char>(c)) ||
             (!first && std::isdigit(static_cast<unsigned char>(c)));
    };
    if (pos_ >= text_.size() || !ident_char(text_[pos_], true))
      return error("unexpected `" + describe_here() +
                   "`, expected `true`, `false`, `!`, `(` or a policy call like `name()`");
    while (pos_ < text_.size() && ident_char(text_[pos_], false))
      ++pos_;
    std::string name(text_.substr(start, pos_ - start));
    auto node = std::make_shared<Node>();
    if (name == "true" || name == "false") {
      node->kind = Node::Kind::constant;
      node->value = name == "true";
      return NodePtr(node);
    }
    if (!take("("))
      return error("`" + name + "` is not a policy call: write `" + name + "()`");
    if (!take(")"))
      return error("policy `" + name + "` takes no arguments");
    node->kind = Node::Kind::call;
    node->name = name;
    if (std::find(members_->begin(), members_->end(), name) == members_->end())
      members_->push_back(name);
    return NodePtr(node);
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::vector<std::string>* members_ = nullptr;
};

bool eval(const Node& node, const std::function<bool(const std::string&)>& call) {
  switch (node.kind) {
    case Node::Kind::constant:
      return node.value;
    case Node::Kind::call:
      return call(node.name);
    case Node::Kind::negate:
      return !eval(*node.left, call);
    case Node::Kind::conjunction:
      return eval(*node.left, call) && eval(*node.right, call);
    case Node::Kind::disjunction:
      return eval(*node.left, call) || eval(*node.right, call);
  }
  return false;
}

}  // namespace

runtime::Result<GroupExpression> GroupExpression::parse(std::string_view text) {
  // Chains of `&&`/`||` nest left to right; bounding the length bounds that recursion too.
  constexpr std::size_t kMaxLength = 16384;
  if (text.size() > kMaxLength)
    return Error{ErrorKind::invalid, 0,
                 "invalid policy group expression: longer than " + std::to_string(kMaxLength) +
                     " characters"};
  GroupExpression expression;
  Parser parser(text);
  auto root = parser.parse_all(expression.members_);
  if (!root)
    return root.take_error();
  expression.root_ = std::move(root).value();
  return expression;
}

bool GroupExpression::evaluate(const std::function<bool(const std::string& name)>& call) const {
  return root_ ? eval(*root_, call) : false;
}

}  // namespace tollgate::server::evaluation
