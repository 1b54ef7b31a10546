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
