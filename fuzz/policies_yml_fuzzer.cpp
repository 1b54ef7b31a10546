// Fuzz target `policies_yml`: policies.yml / sources.yml parsing (YAML or JSON) and policy group
// expressions, on fuzzed text. Errors are values; only crashes and broken invariants count.
// SPDX-License-Identifier: Apache-2.0
//
// Input: byte 0 picks policies.yml, sources.yml or a bare group expression; the rest is the text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "fuzz/fuzz_util.hpp"
#include "server/evaluation/config.hpp"
#include "server/evaluation/group_expression.hpp"

namespace {

using namespace tollgate::server::evaluation;

/// Known finding (fuzz/corpus/policies_yml/regress-yaml-cpp-comma-loop, reported in the fuzz/README
/// figures): Debian's yaml-cpp 0.7 `LoadAll` loops for ever, allocating, on a `,` where a block
/// node should start (`,g:` — yaml-cpp issue 1040, fixed upstream by PR 1319), so a 5-byte
/// policies.yml exhausts memory. Such inputs are skipped (a flow-context `,` or one inside a
/// scalar is fine) so the campaign reaches the rest of the parser.
bool yaml_cpp_comma_loop(std::string_view text) {
  int flow = 0;
  char quote = 0;
  char previous = '\n';  // the last non-blank character on the line
  for (char c : text) {
    if (quote != 0) {
      if (c == quote || c == '\n')
        quote = 0;
      continue;
    }
    switch (c) {
      case '\'':
      case '"':
        quote = c;
        break;
      case '[':
      case '{':
        ++flow;
        break;
      case ']':
      case '}':
        flow = flow > 0 ? flow - 1 : 0;
        break;
      case ',':
        if (flow == 0 && (previous == '\n' || previous == '-' || previous == ':' ||
                          previous == '?' || previous == ','))
          return true;
        break;
      default:
        break;
    }
    if (c == '\n')
      previous = '\n';
    else if (c != ' ' && c != '\t' && c != '\r')
      previous = c;
  }
  return false;
}

/// Parses and evaluates an expression with member verdicts taken from `bits`; checks that only
/// declared members are called.
void check_expression(std::string_view text, uint64_t bits) {
  auto expr = GroupExpression::parse(text);
  if (!expr)
    return;
  const auto& members = expr.value().members();
  expr.value().evaluate([&](const std::string& name) {
    for (size_t i = 0; i < members.size(); ++i) {
      if (members[i] == name) {
        return ((bits >> (i % 64)) & 1) != 0;
      }
    }
    tollgate::fuzz::fail("evaluate called an undeclared member", name);
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] % 3 != 2 && yaml_cpp_comma_loop(text))
    return 0;
  switch (data[0] % 3) {
    case 0: {
      auto entries = parse_policies(text);
      if (!entries)
        return 0;
      for (const PolicyEntry& entry : entries.value()) {
        if (const auto* group = std::get_if<PolicyGroupSpec>(&entry.spec)) {
          check_expression(group->expression, size);
          check_expression(group->expression, ~uint64_t{0});
        }
      }
      break;
    }
    case 1:
      (void)parse_sources(text);
      break;
    default:
      check_expression(text, data[0]);
      check_expression(text, ~uint64_t{data[0]});
      break;
  }
  return 0;
}
