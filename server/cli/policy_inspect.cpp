// `tollgate inspect` and `tollgate annotate`: read and write a policy's embedded metadata.
// SPDX-License-Identifier: Apache-2.0
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <span>
#include <string_view>

#include <yaml-cpp/yaml.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "hostabi/kubewarden/evaluator.hpp"
#include "hostabi/kubewarden/metadata.hpp"
#include "runtime/base/limits.hpp"
#include "runtime/module.hpp"
#include "server/cli/policy_command.hpp"
#include "server/evaluation/yaml_json.hpp"

#ifndef TOLLGATE_VERSION
#define TOLLGATE_VERSION "unknown"
#endif

namespace tollgate::server::cli {
namespace {

namespace json = boost::json;
namespace kw = hostabi::kubewarden;

constexpr std::string_view kKwctlAnnotation = "io.kubewarden.kwctl";
constexpr std::string_view kUsageAnnotation = "io.kubewarden.policy.usage";
constexpr size_t kMaxTextBytes = 4u << 20;

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

json::value type_json(const runtime::FuncType& type) {
  json::array params, results;
  for (runtime::ValType t : type.params)
    params.push_back(json::string(runtime::val_type_name(t)));
  for (runtime::ValType t : type.results)
    results.push_back(json::string(runtime::val_type_name(t)));
  return json::object{{"params", params}, {"results", results}};
}

/// Rego policies are told apart by their `opa_*` exports (kwctl's heuristic).
bool has_opa_exports(const runtime::Module& module) {
  for (const runtime::Export& e : module.exports) {
    if (e.name.rfind("opa_", 0) == 0)
      return true;
  }
  return false;
}

/// Kubernetes' checks on RuleWithOperations lists, as policy-evaluator's Metadata validation
/// mirrors them; the first problem, or nullopt.
std::optional<std::string> rules_problem(const json::value& rules) {
  if (!rules.is_array())
    return "rules must be a list";
  static const std::set<std::string_view> kOperations{"CREATE", "UPDATE", "DELETE", "CONNECT", "*"};
  size_t i = 0;
  for (const json::value& rule : rules.get_array()) {
    const std::string where = "rules[" + std::to_string(i++) + "]";
    if (!rule.is_object())
      return where + " must be a mapping";
    std::vector<std::string> lists[4];
    const char* keys[4] = {"apiGroups", "apiVersions", "resources", "operations"};
    for (int k = 0; k < 4; ++k) {
      const json::value* v = rule.get_object().if_contains(keys[k]);
      if (v == nullptr || !v->is_array() || v->get_array().empty())
        return where + "." + keys[k] + " must be a non-empty list";
      for (const json::value& item : v->get_array()) {
        if (!item.is_string())
          return where + "." + keys[k] + " must list strings";
        lists[k].emplace_back(item.get_string());
      }
      // "*" means all and must then be alone (for resources, "*/*" plays that role).
      if (k != 2) {
        bool star = std::find(lists[k].begin(), lists[k].end(), "*") != lists[k].end();
        if (star && lists[k].size() > 1)
          return where + "." + keys[k] + ": if '*' is present, it must be the only entry";
      }
    }
    for (const std::string& op : lists[3]) {
      if (!kOperations.count(op))
        return where + ".operations: unsupported operation `" + op + "`";
    }
    // Resource wildcards must not overlap (k8s validateResources).
    std::set<std::string> res(lists[2].begin(), lists[2].end());
    for (const std::string& r : lists[2]) {
      if (r.empty())
        return where + ".resources: a resource must not be empty";
      size_t slash = r.find('/');
      std::string base = r.substr(0, slash);
      std::string sub = slash == std::string::npos ? "" : r.substr(slash + 1);
      if (res.count("*/*") && r != "*/*")
        return where + ".resources: if '*/*' is present, it must be the only entry";
      if (slash == std::string::npos && r != "*" && res.count("*"))
        return where + ".resources: `" + r + "` overlaps with '*'";
      if (slash != std::string::npos && base != "*" && res.count("*/" + sub))
        return where + ".resources: `" + r + "` overlaps with '*/" + sub + "'";
      if (slash != std::string::npos && sub != "*" && res.count(base + "/*"))
        return where + ".resources: `" + r + "` overlaps with '" + base + "/*'";
    }
  }
  return std::nullopt;
}

/// Removes every custom section called `name` so the new one is the first readers see.
std::optional<std::vector<uint8_t>> without_custom_section(std::span<const uint8_t> wasm,
                                                           std::string_view name) {
  auto leb = [&](size_t& p, uint32_t& out) {
    out = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      if (p >= wasm.size())
        return false;
      uint8_t b = wasm[p++];
      out |= static_cast<uint32_t>(b & 0x7f) << shift;
      if (!(b & 0x80))
        return true;
    }
    return false;
  };
  if (wasm.size() < 8)
    return std::nullopt;
  std::vector<uint8_t> out(wasm.begin(), wasm.begin() + 8);
  size_t p = 8;
  while (p < wasm.size()) {
    size_t start = p;
    uint8_t id = wasm[p++];
    uint32_t size = 0;
    if (!leb(p, size) || size > wasm.size() - p)
      return std::nullopt;
    size_t end = p + size;
    bool drop = false;
    if (id == 0) {
      uint32_t len = 0;
      size_t q = p;
      if (leb(q, len) && len <= end - q)
        drop = std::string_view(reinterpret_cast<const char*>(wasm.data() + q), len) == name;
    }
    if (!drop)
      out.insert(out.end(), wasm.begin() + static_cast<ptrdiff_t>(start),
                 wasm.begin() + static_cast<ptrdiff_t>(end));
    p = end;
  }
  return out;
}

bool write_file(const std::string& path, std::span<const uint8_t> bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    std::fprintf(stderr, "tollgate: cannot create %s: %s\n", path.c_str(), std::strerror(errno));
    return false;
  }
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok = std::fclose(f) == 0 && ok;
  if (!ok)
    std::fprintf(stderr, "tollgate: cannot write %s: %s\n", path.c_str(), std::strerror(errno));
  return ok;
}

}  // namespace

int inspect_policy(const std::string& uri, const std::string& format) {
  auto path = local_path(uri);
  if (!path)
    return kPolicyExitFailed;
  auto text = read_text(*path, runtime::kMaxModuleSize);
  if (!text)
    return kPolicyExitFailed;
  auto decoded = runtime::decode_module(as_bytes(*text));
  if (!decoded) {
    std::fprintf(stderr, "tollgate: %s: %s\n", path->c_str(), decoded.error().message.c_str());
    return kPolicyExitFailed;
  }
  const runtime::Module& module = *decoded.value();
  auto metadata = kw::read_metadata(module);
  if (!metadata) {
    std::fprintf(stderr, "tollgate: %s: invalid io.kubewarden.metadata section: %s\n",
                 path->c_str(), metadata.error().message.c_str());
    return kPolicyExitFailed;
  }

  json::object report;
  report["path"] = *path;
  if (metadata.value()) {
    // The section as kwctl would re-serialise it: defaults filled in, unknown keys dropped.
    json::value m = json::parse(kw::serialize_metadata(*metadata.value()));
    report["metadata"] = std::move(m);
  } else {
    report["metadata"] = nullptr;
  }
  json::array imports;
  for (const runtime::Import& import : module.imports) {
    json::object i{{"module", import.module},
                   {"name", import.name},
                   {"kind", runtime::extern_kind_name(import.kind)}};
    if (import.kind == runtime::ExternKind::func)
      i["type"] = type_json(module.types[import.func_type]);
    imports.push_back(std::move(i));
  }
  report["imports"] = std::move(imports);
  json::array exports;
  for (const runtime::Export& e : module.exports) {
    json::object x{{"name", e.name}, {"kind", runtime::extern_kind_name(e.kind)}};
    if (e.kind == runtime::ExternKind::func)
      x["type"] = type_json(module.func_type(e.index));
    exports.push_back(std::move(x));
  }
  report["exports"] = std::move(exports);

  if (format == "json") {
    std::printf("%s\n", json::serialize(report).c_str());
    return kPolicyExitOk;
  }
  if (!metadata.value())
    std::fprintf(stderr, "tollgate: warning: %s has no io.kubewarden.metadata section\n",
                 path->c_str());
  YAML::Emitter out;
  evaluation::emit_yaml(out, report);
  std::printf("%s\n", out.c_str());
  return kPolicyExitOk;
}

int annotate_policy(const AnnotateFlags& flags) {
  auto wasm_text = read_text(flags.input, runtime::kMaxModuleSize);
  if (!wasm_text)
    return kPolicyExitFailed;
  auto decoded = runtime::decode_module(as_bytes(*wasm_text));
  if (!decoded) {
    std::fprintf(stderr, "tollgate: %s: %s\n", flags.input.c_str(),
                 decoded.error().message.c_str());
    return kPolicyExitFailed;
  }
  auto yaml_text = read_text(flags.metadata_path, kMaxTextBytes);
  if (!yaml_text)
    return kPolicyExitFailed;
  auto docs = evaluation::parse_yaml_documents(*yaml_text);
  if (!docs || docs.value().size() != 1 || !docs.value().front().is_object()) {
    std::fprintf(stderr, "tollgate: %s: %s\n", flags.metadata_path.c_str(),
                 docs ? "the metadata must be one YAML mapping" : docs.error().message.c_str());
    return kPolicyExitFailed;
  }
  const json::value& yaml_json = docs.value().front();
  auto parsed = kw::parse_metadata(json::serialize(yaml_json));
  if (!parsed) {
    std::fprintf(stderr, "tollgate: %s: %s\n", flags.metadata_path.c_str(),
                 parsed.error().message.c_str());
    return kPolicyExitFailed;
  }
  kw::Metadata metadata = std::move(parsed).value();
  if (auto problem = rules_problem(metadata.rules)) {
    std::fprintf(stderr, "tollgate: %s: invalid metadata: %s\n", flags.metadata_path.c_str(),
                 problem->c_str());
    return kPolicyExitFailed;
  }

  const bool rego = has_opa_exports(*decoded.value());
  const bool rego_mode = metadata.execution_mode == kw::ExecutionMode::opa ||
                         metadata.execution_mode == kw::ExecutionMode::gatekeeper;
  if (rego != rego_mode) {
    std::fprintf(stderr,
                 "tollgate: %s: executionMode %s does not match the module, which %s a Rego "
                 "policy (opa_* exports)\n",
                 flags.metadata_path.c_str(), kw::execution_mode_name(metadata.execution_mode),
                 rego ? "is" : "is not");
    return kPolicyExitFailed;
  }

  // The protocol version comes from the guest itself (waPC), never from the YAML.
  if (metadata.execution_mode == kw::ExecutionMode::kubewarden_wapc) {
    auto policy = kw::make_policy(decoded.value(), metadata.execution_mode);
    if (!policy) {
      std::fprintf(stderr, "tollgate: %s: %s\n", flags.input.c_str(),
                   policy.error().message.c_str());
      return kPolicyExitFailed;
    }
    auto version = kw::protocol_version(*policy.value());
    if (!version) {
      std::fprintf(stderr, "tollgate: %s: %s\n", flags.input.c_str(),
                   version.error().message.c_str());
      return kPolicyExitFailed;
    }
    if (version.value() != "v1") {
      std::fprintf(stderr, "tollgate: %s: the policy reports protocol version %s, v1 is needed\n",
                   flags.input.c_str(), version.value().c_str());
      return kPolicyExitFailed;
    }
    metadata.protocol_version = version.value();
  } else {
    metadata.protocol_version = "Unknown";
  }

  if (!metadata.annotations)
    metadata.annotations.emplace();
  (*metadata.annotations)[std::string(kKwctlAnnotation)] = TOLLGATE_VERSION;
  if (flags.usage_path) {
    auto usage = read_text(*flags.usage_path, kMaxTextBytes);
    if (!usage)
      return kPolicyExitFailed;
    (*metadata.annotations)[std::string(kUsageAnnotation)] = *usage;
  }

  auto bytes = without_custom_section(as_bytes(*wasm_text), kw::kMetadataSection);
  if (!bytes) {
    std::fprintf(stderr, "tollgate: %s: malformed section layout\n", flags.input.c_str());
    return kPolicyExitFailed;
  }
  kw::write_metadata(*bytes, metadata);
  return write_file(flags.output, *bytes) ? kPolicyExitOk : kPolicyExitFailed;
}

}  // namespace tollgate::server::cli
