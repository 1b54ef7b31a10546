// YAML (yaml-cpp) to and from Boost.JSON values, for configuration files and manifests.
// SPDX-License-Identifier: Apache-2.0
#include "server/evaluation/yaml_json.hpp"

#include <charconv>
#include <cmath>
#include <regex>
#include <sstream>

#include <yaml-cpp/eventhandler.h>

#include "hostabi/kubewarden/protocol.hpp"

namespace tollgate::server::evaluation {
namespace {

namespace json = boost::json;
using runtime::Error;
using runtime::ErrorKind;

Error yaml_error(const std::string& what) {
  return Error{ErrorKind::invalid, 0, what};
}

/// A plain scalar read by YAML 1.2's core schema.
json::value plain_scalar(const std::string& text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL")
    return nullptr;
  if (text == "true" || text == "True" || text == "TRUE")
    return true;
  if (text == "false" || text == "False" || text == "FALSE")
    return false;
  static const std::regex integer("[-+]?[0-9]+");
  static const std::regex floating(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (std::regex_match(text, integer)) {
    std::string_view digits = text;
    if (digits[0] == '+')
      digits.remove_prefix(1);
    int64_t value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec == std::errc{} && end == digits.data() + digits.size())
      return value;
    uint64_t unsigned_value = 0;
    auto [uend, uec] =
        std::from_chars(digits.data(), digits.data() + digits.size(), unsigned_value);
    if (uec == std::errc{} && uend == digits.data() + digits.size())
      return unsigned_value;
  }
  if (std::regex_match(text, floating)) {
    double value = std::strtod(text.c_str(), nullptr);
    if (std::isfinite(value))
      return value;
  }
  if (text == ".inf" || text == "+.inf" || text == ".Inf" || text == ".INF")
    return json::string(text);  // JSON has no infinity: kept as text
  return json::string(text);
}

runtime::Result<json::value> convert(const YAML::Node& node, std::size_t depth) {
  if (depth > hostabi::kubewarden::kMaxJsonDepth)
    return yaml_error("YAML nested deeper than " +
                      std::to_string(hostabi::kubewarden::kMaxJsonDepth) + " levels");
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return json::value(nullptr);
    case YAML::NodeType::Scalar:
      // "!" marks a quoted (non-plain) scalar: always a string.
      if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str")
        return json::value(json::string(node.Scalar()));
      return plain_scalar(node.Scalar());
    case YAML::NodeType::Sequence: {
      json::array array;
      for (const YAML::Node& item : node) {
        auto value = convert(item, depth + 1);
        if (!value)
          return value;
        array.push_back(std::move(value).value());
      }
      return json::value(std::move(array));
    }
    case YAML::NodeType::Map: {
      json::object object;
      for (const auto& entry : node) {
        if (!entry.first.IsScalar())
          return yaml_error("a YAML mapping key is not a scalar");
        auto value = convert(entry.second, depth + 1);
        if (!value)
          return value;
        object[entry.first.Scalar()] = std::move(value).value();
      }
      return json::value(std::move(object));
    }
  }
  return json::value(nullptr);
}

/// Ignores every event: only the number of documents the parser reports matters.
class DocumentCounter : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&,
                const std::string&,
                YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&,
                       const std::string&,
                       YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&,
                  const std::string&,
                  YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

/// Debian's yaml-cpp 0.7 keeps reporting empty documents without consuming input after a `,`
/// outside a flow collection (`,g:`; yaml-cpp issue 1040, fixed upstream after 0.7), so
/// `LoadAll` collects them until memory runs out: a 5-byte policies.yml would take the server
/// down. The same parser, run first with nothing built and a cap on documents, finds such text.
constexpr int kMaxYamlDocuments = 10'000;

bool too_many_documents(std::string_view text) {
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  DocumentCounter counter;
  for (int documents = 0; parser.HandleNextDocument(counter); ++documents)
    if (documents >= kMaxYamlDocuments)
      return true;
  return false;
}

/// Whether a plain scalar would read back as something other than this string.
bool needs_quotes(std::string_view text) {
  if (text.empty())
    return true;
  return !plain_scalar(std::string(text)).is_string();
}

}  // namespace

runtime::Result<json::value> yaml_to_json(const YAML::Node& node) {
  try {
    return convert(node, 0);
  } catch (const YAML::Exception& e) {
    return yaml_error(e.what());
  }
}

runtime::Result<std::vector<json::value>> parse_yaml_documents(std::string_view text) {
  std::vector<json::value> documents;
  try {
    if (too_many_documents(text))
      return yaml_error("YAML: more than " + std::to_string(kMaxYamlDocuments) +
                        " documents (or a stray ',' that yaml-cpp 0.7 reads as endless empty "
                        "documents)");
    for (const YAML::Node& node : YAML::LoadAll(std::string(text))) {
      auto value = yaml_to_json(node);
      if (!value)
        return value.take_error();
      if (!value->is_null())
        documents.push_back(std::move(value).value());
    }
  } catch (const YAML::Exception& e) {
    return yaml_error(e.what());
  }
  return documents;
}

void emit_yaml(YAML::Emitter& out, const json::value& value) {
  switch (value.kind()) {
    case json::kind::null:
      out << YAML::Null;
      break;
    case json::kind::bool_:
      out << (value.get_bool() ? "true" : "false");
      break;
    case json::kind::int64:
      out << value.get_int64();
      break;
    case json::kind::uint64:
      out << value.get_uint64();
      break;
    case json::kind::double_:
      out << value.get_double();
      break;
    case json::kind::string: {
      std::string_view s = value.get_string();
      if (needs_quotes(s))
        out << YAML::DoubleQuoted;
      out << std::string(s);
      break;
    }
    case json::kind::array:
      out << YAML::BeginSeq;
      for (const json::value& item : value.get_array())
        emit_yaml(out, item);
      out << YAML::EndSeq;
      break;
    case json::kind::object:
      out << YAML::BeginMap;
      for (const auto& member : value.get_object()) {
        out << YAML::Key << std::string(member.key()) << YAML::Value;
        emit_yaml(out, member.value());
      }
      out << YAML::EndMap;
      break;
  }
}

}  // namespace tollgate::server::evaluation
