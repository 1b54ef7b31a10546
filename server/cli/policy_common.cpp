// Shared pieces of the policy subcommands: files, YAML settings, policy loading, the CLI's
// response. SPDX-License-Identifier: Apache-2.0
#include "server/cli/policy_common.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "hostabi/kubewarden/session.hpp"
#include "runtime/base/limits.hpp"
#include "server/cli/engine_option.hpp"
#include "server/evaluation/admission_response.hpp"
#include "server/evaluation/yaml_json.hpp"

namespace tollgate::server::cli {
namespace {

namespace json = boost::json;
namespace kw = hostabi::kubewarden;

/// Requests and settings files larger than this are refused (Kubernetes caps objects far lower).
constexpr size_t kMaxInputBytes = 64u << 20;

std::optional<json::value> parse_json_text(const std::string& what, const std::string& text) {
  boost::system::error_code ec;
  json::value v = kw::parse_json(text, ec);
  if (ec) {
    std::fprintf(stderr, "tollgate: %s: not valid JSON: %s\n", what.c_str(), ec.message().c_str());
    return std::nullopt;
  }
  return v;
}

}  // namespace

std::optional<std::string> read_text(const std::string& path, size_t limit) {
  std::FILE* file = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    std::fprintf(stderr, "tollgate: cannot open %s: %s\n", path.c_str(), std::strerror(errno));
    return std::nullopt;
  }
  std::string text;
  char chunk[65536];
  bool too_big = false;
  while (size_t got = std::fread(chunk, 1, sizeof chunk, file)) {
    if (text.size() + got > limit) {
      too_big = true;
      break;
    }
    text.append(chunk, got);
  }
  bool failed = std::ferror(file) != 0;
  int err = errno;
  if (file != stdin)
    std::fclose(file);
  if (too_big) {
    std::fprintf(stderr, "tollgate: %s: larger than %zu bytes\n", path.c_str(), limit);
    return std::nullopt;
  }
  if (failed) {
    std::fprintf(stderr, "tollgate: cannot read %s: %s\n", path.c_str(), std::strerror(err));
    return std::nullopt;
  }
  return text;
}

std::optional<std::string> local_path(const std::string& uri) {
  constexpr std::string_view kFile = "file://";
  if (uri.rfind(kFile, 0) == 0)
    return uri.substr(kFile.size());
  size_t scheme = uri.find("://");
  if (scheme != std::string::npos) {
    std::fprintf(stderr,
                 "tollgate: %s: only local files (a path or file://) can be run; pull the "
                 "policy first\n",
                 uri.c_str());
    return std::nullopt;
  }
  return uri;
}

std::shared_ptr<const kw::PolicyModule> load_policy_file(const std::string& uri,
                                                         std::optional<kw::ExecutionMode> mode) {
  auto path = local_path(uri);
  if (!path)
    return nullptr;
  auto text = read_text(*path, runtime::kMaxModuleSize);
  if (!text)
    return nullptr;
  auto policy = kw::load_policy(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text->data()), text->size()), mode);
  if (!policy) {
    std::fprintf(stderr, "tollgate: %s: %s\n", path->c_str(), policy.error().message.c_str());
    return nullptr;
  }
  return std::move(policy).value();
}

std::optional<RunInputs> prepare_inputs(const RunFlags& flags) {
  RunInputs in;
  std::optional<kw::ExecutionMode> mode;
  if (flags.execution_mode) {
    mode = kw::parse_execution_mode(*flags.execution_mode);
    if (!mode) {
      std::fprintf(stderr,
                   "tollgate: unknown execution mode `%s` (opa, gatekeeper, kubewarden, wasi)\n",
                   flags.execution_mode->c_str());
      return std::nullopt;
    }
  }
  const std::optional<const runtime::Engine*> engine = select_engine(flags.engine);
  if (!engine)
    return std::nullopt;
  in.policy = load_policy_file(flags.policy, mode);
  if (!in.policy)
    return std::nullopt;
  in.engine = *engine;
  if (in.engine != nullptr)
    kw::prepare_code(*in.policy, *in.engine);

  // Settings: an object or null; kwctl sends {} when there are none.
  json::value settings = json::object();
  if (flags.settings_json) {
    auto v = parse_json_text("--settings-json", *flags.settings_json);
    if (!v)
      return std::nullopt;
    settings = std::move(*v);
  } else if (flags.settings_path) {
    auto text = read_text(*flags.settings_path, kMaxInputBytes);
    if (!text)
      return std::nullopt;
    auto docs = evaluation::parse_yaml_documents(*text);
    if (!docs) {
      std::fprintf(stderr, "tollgate: %s: not valid YAML or JSON: %s\n",
                   flags.settings_path->c_str(), docs.error().message.c_str());
      return std::nullopt;
    }
    if (docs.value().size() > 1) {
      std::fprintf(stderr, "tollgate: %s: more than one YAML document\n",
                   flags.settings_path->c_str());
      return std::nullopt;
    }
    settings = docs.value().empty() ? json::value(nullptr) : std::move(docs.value().front());
  }
  if (settings.is_null())
    settings = json::object();
  if (!settings.is_object()) {
    std::fprintf(stderr, "tollgate: the settings must be an object or null\n");
    return std::nullopt;
  }
  in.settings = std::move(settings);

  auto text = read_text(flags.request_path, kMaxInputBytes);
  if (!text)
    return std::nullopt;
  auto request = parse_json_text(flags.request_path, *text);
  if (!request)
    return std::nullopt;
  in.raw = flags.raw || in.policy->metadata.policy_type == kw::PolicyType::raw;
  if (in.raw) {
    in.request = std::move(*request);
    return in;
  }
  // An AdmissionReview gives its `.request`; anything else is taken as the AdmissionRequest.
  if (request->is_object()) {
    const json::object& o = request->get_object();
    const json::value* kind = o.if_contains("kind");
    if (kind && kind->is_string() && kind->get_string() == "AdmissionReview") {
      const json::value* r = o.if_contains("request");
      if (!r || !r->is_object()) {
        std::fprintf(stderr, "tollgate: %s: the AdmissionReview has no request object\n",
                     flags.request_path.c_str());
        return std::nullopt;
      }
      in.request = *r;
      return in;
    }
  }
  if (!request->is_object()) {
    std::fprintf(stderr, "tollgate: %s: not an AdmissionReview or AdmissionRequest object\n",
                 flags.request_path.c_str());
    return std::nullopt;
  }
  in.request = std::move(*request);
  return in;
}

kw::EvalOptions cli_eval_options(const RunFlags& flags,
                                 const RunInputs& inputs,
                                 kw::InteractionRecorder* recorder,
                                 kw::InteractionReplayer* replayer) {
  kw::EvalOptions o;
  o.fuel = flags.fuel;
  o.engine = inputs.engine;
  if (flags.memory_pages)
    o.max_memory_pages = *flags.memory_pages;
  o.capabilities.policy_id = std::string(kCliPolicyId);
  if (flags.allow_context_aware)
    o.capabilities.context_aware_resources = inputs.policy->metadata.context_aware_resources;
  o.capabilities.host_capabilities = inputs.policy->metadata.host_capabilities;
  o.capabilities.recorder = recorder;
  o.capabilities.replayer = replayer;
  return o;
}

json::object cli_admission_response(const kw::ValidationResponse& response,
                                    const RunInputs& inputs) {
  const json::object* request = inputs.request.if_object();
  const json::value* uid = request ? request->if_contains("uid") : nullptr;
  // Raw requests are diffed whole; Kubernetes ones on request.object (kubewarden.md 1.5).
  const json::value* original = &inputs.request;
  if (!inputs.raw)
    original = request ? request->if_contains("object") : nullptr;
  evaluation::AdmissionResponse out = evaluation::from_validation_response(
      uid && uid->is_string() ? std::string(uid->get_string()) : std::string(), response, original);
  evaluation::ResponsePolicy policy;
  policy.policy_id = std::string(kCliPolicyId);
  policy.mode = evaluation::PolicyMode::protect;
  policy.allowed_to_mutate = true;
  evaluation::post_process(out, policy);
  return evaluation::to_json(out);
}

}  // namespace tollgate::server::cli
