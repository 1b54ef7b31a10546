// policies.yml and sources.yml: the policy-server configuration files, parsed and checked.
// SPDX-License-Identifier: Apache-2.0
#include "server/evaluation/config.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "hostabi/kubewarden/protocol.hpp"
#include "server/evaluation/yaml_json.hpp"

namespace tollgate::server::evaluation {
namespace {

namespace json = boost::json;
using runtime::Error;
using runtime::ErrorKind;

Error config_error(const std::string& what) {
  return Error{ErrorKind::invalid, 0, what};
}

/// The document as JSON: JSON text directly (what the controller writes), YAML otherwise.
runtime::Result<json::value> parse_document(std::string_view text) {
  std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && text[first] == '{') {
    boost::system::error_code ec;
    json::value value = hostabi::kubewarden::parse_json(text, ec);
    if (!ec)
      return value;
    // Flow-style YAML also starts with `{`; let the YAML parser have it.
  }
  auto documents = parse_yaml_documents(text);
  if (!documents)
    return documents.take_error();
  if (documents->size() > 1)
    return config_error("expected one YAML document, found " + std::to_string(documents->size()));
  if (documents->empty())
    return json::value(json::object());
  return std::move(documents->front());
}

runtime::Result<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return config_error("cannot open " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad())
    return config_error("cannot read " + path);
  return text.str();
}

const char* kind_name(const json::value& value) {
  switch (value.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "a sequence";
    case json::kind::object:
      return "a map";
  }
  return "a value";
}

/// Reads the fields of one map, each error prefixed with where it is.
class Fields {
 public:
  Fields(const json::object& object, std::string where)
      : object_(object), where_(std::move(where)) {}

  Error error(const std::string& what) const { return config_error(where_ + ": " + what); }

  const json::value* get(std::string_view key) const {
    const json::value* value = object_.if_contains(key);
    return value;
  }

  runtime::Result<std::optional<std::string>> string(std::string_view key) const {
    const json::value* value = get(key);
    if (value == nullptr || value->is_null())
      return std::optional<std::string>();
    if (!value->is_string())
      return error("`" + std::string(key) + "` must be a string, not " + kind_name(*value));
    return std::optional<std::string>(std::string(value->get_string()));
  }

  runtime::Result<std::optional<bool>> boolean(std::string_view key) const {
    const json::value* value = get(key);
    if (value == nullptr || value->is_null())
      return std::optional<bool>();
    if (!value->is_bool())
      return error("`" + std::string(key) + "` must be a boolean, not " + kind_name(*value));
    return std::optional<bool>(value->get_bool());
  }

  runtime::Result<std::optional<uint64_t>> unsigned_number(std::string_view key) const {
    const json::value* value = get(key);
    if (value == nullptr || value->is_null())
      return std::optional<uint64_t>();
    if (value->is_uint64())
      return std::optional<uint64_t>(value->get_uint64());
    if (value->is_int64() && value->get_int64() >= 0)
      return std::optional<uint64_t>(static_cast<uint64_t>(value->get_int64()));
    return error("`" + std::string(key) + "` must be a non-negative integer");
  }

  runtime::Result<std::optional<std::vector<std::string>>> strings(std::string_view key) const {
    const json::value* value = get(key);
    if (value == nullptr || value->is_null())
      return std::optional<std::vector<std::string>>();
    if (!value->is_array())
      return error("`" + std::string(key) + "` must be a sequence of strings");
    std::vector<std::string> out;
    for (const json::value& item : value->get_array()) {
      if (!item.is_string())
        return error("`" + std::string(key) + "` must be a sequence of strings");
      out.emplace_back(item.get_string());
    }
    return std::optional<std::vector<std::string>>(std::move(out));
  }

 private:
  const json::object& object_;
  std::string where_;
};

runtime::Result<PolicyMode> parse_mode(const Fields& fields) {
  auto mode = fields.string("policyMode");
  if (!mode)
    return mode.take_error();
  if (!*mode || **mode == "protect")
    return PolicyMode::protect;
  if (**mode == "monitor")
    return PolicyMode::monitor;
  return fields.error("unknown variant `" + **mode +
                      "` of `policyMode`, expected `protect` or `monitor`");
}

runtime::Status parse_module_spec(const Fields& fields, ModuleSpec& spec) {
  auto module = fields.string("module");
  if (!module)
    return module.take_error();
  if (!*module)
    return fields.error("missing field `module`");
  if ((*module)->empty())
    return fields.error("`module` is empty");
  spec.module = std::move(**module);

  if (const json::value* settings = fields.get("settings")) {
    if (settings->is_object())
      spec.settings = settings->get_object();
    else if (!settings->is_null())
      return fields.error("`settings` must be a map, not " + std::string(kind_name(*settings)));
  }

  if (const json::value* resources = fields.get("contextAwareResources");
      resources != nullptr && !resources->is_null()) {
    if (!resources->is_array())
      return fields.error("`contextAwareResources` must be a sequence");
    for (const json::value& item : resources->get_array()) {
      const json::object* resource = item.if_object();
      const json::value* api_version = resource ? resource->if_contains("apiVersion") : nullptr;
      const json::value* kind = resource ? resource->if_contains("kind") : nullptr;
      if (api_version == nullptr || !api_version->is_string() || kind == nullptr ||
          !kind->is_string())
        return fields.error(
            "each `contextAwareResources` entry needs string `apiVersion` and `kind`");
      spec.context_aware_resources.push_back(
          {std::string(api_version->get_string()), std::string(kind->get_string())});
    }
  }

  auto timeout = fields.unsigned_number("timeoutEvalSeconds");
  if (!timeout)
    return timeout.take_error();
  spec.timeout_eval_seconds = *timeout;
  auto capabilities = fields.strings("hostCapabilities");
  if (!capabilities)
    return capabilities.take_error();
  spec.host_capabilities = std::move(*capabilities);
  return runtime::Ok{};
}

runtime::Status check_id(const std::string& id, const std::string& what) {
  if (id.empty())
    return config_error(what + " id is empty");
  if (id.find('/') != std::string::npos)
    return config_error(what + " id `" + id + "` contains `/`, which is not allowed");
  return runtime::Ok{};
}

runtime::Result<PolicySpec> parse_policy(const std::string& id, const json::object& object) {
  Fields fields(object, "policy `" + id + "`");
  PolicySpec spec;
  TG_TRY(parse_module_spec(fields, spec));
  auto mode = parse_mode(fields);
  if (!mode)
    return mode.take_error();
  spec.mode = *mode;
  auto mutate = fields.boolean("allowedToMutate");
  if (!mutate)
    return mutate.take_error();
  spec.allowed_to_mutate = mutate->value_or(false);
  auto message = fields.string("message");
  if (!message)
    return message.take_error();
  spec.message = std::move(*message);
  return spec;
}

runtime::Result<PolicyGroupSpec> parse_group(const std::string& id, const json::object& object) {
  Fields fields(object, "policy group `" + id + "`");
  PolicyGroupSpec spec;
  auto mode = parse_mode(fields);
  if (!mode)
    return mode.take_error();
  spec.mode = *mode;
  auto expression = fields.string("expression");
  if (!expression)
    return expression.take_error();
  auto message = fields.string("message");
  if (!message)
    return message.take_error();
  if (!*expression)
    return fields.error("missing field `expression`");
  if (!*message)
    return fields.error("missing field `message`");
  spec.expression = std::move(**expression);
  spec.message = std::move(**message);

  const json::value* policies = fields.get("policies");
  if (policies == nullptr || !policies->is_object())
    return fields.error("`policies` must be a map of member policies");
  static const char* const kMemberKeys[] = {"module", "settings", "contextAwareResources",
                                            "timeoutEvalSeconds", "hostCapabilities"};
  for (const auto& member : policies->get_object()) {
    std::string name(member.key());
    TG_TRY(check_id(name, "policy group `" + id + "` member"));
    const json::object* body = member.value().if_object();
    std::string where = "policy group `" + id + "` member `" + name + "`";
    if (body == nullptr)
      return config_error(where + ": must be a map");
    for (const auto& key : *body) {
      bool known = false;
      for (const char* allowed : kMemberKeys)
        known = known || key.key() == allowed;
      if (!known)
        return config_error(where + ": unknown field `" + std::string(key.key()) +
                            "`, expected one of `module`, `settings`, `contextAwareResources`, "
                            "`timeoutEvalSeconds`, `hostCapabilities`");
    }
    ModuleSpec module;
    TG_TRY(parse_module_spec(Fields(*body, where), module));
    spec.policies.emplace_back(std::move(name), std::move(module));
  }
  if (spec.policies.empty())
    return fields.error("`policies` has no members");
  return spec;
}

}  // namespace

const char* policy_mode_name(PolicyMode mode) {
  return mode == PolicyMode::monitor ? "monitor" : "protect";
}

runtime::Result<std::vector<PolicyEntry>> parse_policies(std::string_view text) {
  auto document = parse_document(text);
  if (!document)
    return document.take_error();
  if (document->is_null())
    return std::vector<PolicyEntry>();
  const json::object* root = document->if_object();
  if (root == nullptr)
    return config_error("policies file: expected a map from policy id to policy, found " +
                        std::string(kind_name(*document)));
  std::vector<PolicyEntry> entries;
  for (const auto& item : *root) {
    std::string id(item.key());
    TG_TRY(check_id(id, "policy"));
    const json::object* body = item.value().if_object();
    if (body == nullptr)
      return config_error("policy `" + id + "`: expected a map, found " + kind_name(item.value()));
    PolicyEntry entry{id, PolicySpec{}};
    // serde's untagged enum: a policy when `module` is there, else a group when its three
    // required fields are.
    if (body->contains("module")) {
      auto policy = parse_policy(id, *body);
      if (!policy)
        return policy.take_error();
      entry.spec = std::move(policy).value();
    } else if (body->contains("policies") || body->contains("expression")) {
      auto group = parse_group(id, *body);
      if (!group)
        return group.take_error();
      entry.spec = std::move(group).value();
    } else {
      return config_error("policy `" + id +
                          "`: data did not match any variant of untagged enum "
                          "PolicyOrPolicyGroup (a policy needs `module`; a policy group needs "
                          "`policies`, `expression` and `message`)");
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

runtime::Result<std::vector<PolicyEntry>> load_policies_file(const std::string& path) {
  auto text = read_text_file(path);
  if (!text)
    return text.take_error();
  auto entries = parse_policies(*text);
  if (!entries)
    return config_error(path + ": " + entries.error().message);
  return entries;
}

runtime::Result<SourcesConfig> parse_sources(std::string_view text) {
  auto document = parse_document(text);
  if (!document)
    return document.take_error();
  SourcesConfig config;
  if (document->is_null())
    return config;
  const json::object* root = document->if_object();
  if (root == nullptr)
    return config_error("sources file: expected a map");
  Fields fields(*root, "sources file");
  auto insecure = fields.strings("insecure_sources");
  if (!insecure)
    return insecure.take_error();
  config.insecure_sources = insecure->value_or(std::vector<std::string>());
  const json::value* authorities = root->if_contains("source_authorities");
  if (authorities != nullptr && !authorities->is_null()) {
    if (!authorities->is_object())
      return fields.error("`source_authorities` must be a map from host to certificates");
    for (const auto& host : authorities->get_object()) {
      std::string where = "sources file: `source_authorities` of `" + std::string(host.key()) + "`";
      if (!host.value().is_array())
        return config_error(where + ": must be a sequence");
      std::vector<SourceAuthority> list;
      for (const json::value& item : host.value().get_array()) {
        const json::object* entry = item.if_object();
        const json::value* type = entry ? entry->if_contains("type") : nullptr;
        if (type == nullptr || !type->is_string())
          return config_error(where + ": each entry needs `type` (Path or Data)");
        SourceAuthority authority;
        std::string key;
        if (type->get_string() == "Path") {
          authority.type = SourceAuthority::Type::path;
          key = "path";
        } else if (type->get_string() == "Data") {
          authority.type = SourceAuthority::Type::data;
          key = "data";
        } else {
          return config_error(where + ": unknown type `" + std::string(type->get_string()) +
                              "`, expected `Path` or `Data`");
        }
        const json::value* value = entry->if_contains(key);
        if (value == nullptr || !value->is_string())
          return config_error(where + ": a " + std::string(type->get_string()) +
                              " entry needs a string `" + key + "`");
        authority.value = std::string(value->get_string());
        list.push_back(std::move(authority));
      }
      config.source_authorities[std::string(host.key())] = std::move(list);
    }
  }
  return config;
}

runtime::Result<SourcesConfig> load_sources_file(const std::string& path) {
  auto text = read_text_file(path);
  if (!text)
    return text.take_error();
  auto config = parse_sources(*text);
  if (!config)
    return config_error(path + ": " + config.error().message);
  return config;
}

}  // namespace tollgate::server::evaluation
