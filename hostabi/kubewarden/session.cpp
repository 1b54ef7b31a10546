// Record and replay of host-capability exchanges in kwctl's session YAML shape.
// SPDX-License-Identifier: Apache-2.0
#include "hostabi/kubewarden/session.hpp"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include <boost/json.hpp>

namespace tollgate::hostabi::kubewarden {

namespace json = boost::json;
using runtime::Error;
using runtime::ErrorKind;

namespace {

YAML::Node to_yaml_node(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return YAML::Node(YAML::NodeType::Null);
    case json::kind::bool_:
      return YAML::Node(v.get_bool());
    case json::kind::int64:
      return YAML::Node(v.get_int64());
    case json::kind::uint64:
      return YAML::Node(v.get_uint64());
    case json::kind::double_:
      return YAML::Node(v.get_double());
    case json::kind::string:
      return YAML::Node(std::string(v.get_string()));
    case json::kind::array: {
      YAML::Node seq(YAML::NodeType::Sequence);
      for (const auto& e : v.get_array())
        seq.push_back(to_yaml_node(e));
      return seq;
    }
    case json::kind::object: {
      YAML::Node map(YAML::NodeType::Map);
      for (const auto& kv : v.get_object())
        map[std::string(kv.key())] = to_yaml_node(kv.value());
      return map;
    }
  }
  return YAML::Node();
}

// kwctl's CallbackRequestType variant for a capability call, when it has one.
std::string variant_for(std::string_view ns, std::string_view op, const json::value& request) {
  if (ns == "kubernetes") {
    if (op == "list_resources_by_namespace")
      return "KubernetesListResourceNamespace";
    if (op == "list_resources_all")
      return "KubernetesListResourceAll";
    if (op == "get_resource")
      return "KubernetesGetResource";
    if (op == "can_i")
      return "KubernetesCanI";
  } else if (ns == "oci") {
    if (op == "v1/manifest_digest")
      return "OciManifestDigest";
    if (op == "v1/oci_manifest")
      return "OciManifest";
    if (op == "v1/oci_manifest_config")
      return "OciManifestAndConfig";
    if (op == "v2/verify" && request.is_object())
      if (const json::value* t = request.get_object().if_contains("type"); t && t->is_string())
        return std::string(t->get_string());
    if (op == "v1/verify" && request.is_object() && request.get_object().size() == 1)
      return std::string(request.get_object().begin()->key());
  } else if (ns == "net" && op == "v1/dns_lookup_host") {
    return "DNSLookupHost";
  }
  return {};
}

}  // namespace

std::string callback_request_yaml(std::string_view ns,
                                  std::string_view op,
                                  const json::value& request) {
  std::string variant = variant_for(ns, op, request);
  YAML::Node node;
  if (variant.empty()) {
    node["binding"] = "kubewarden";
    node["namespace"] = std::string(ns);
    node["operation"] = std::string(op);
    node["payload"] = to_yaml_node(request);
    variant = "HostCall";
  } else if (ns == "oci" && op.starts_with("v1/") && op != "v1/verify") {
    node["image"] = to_yaml_node(request);
  } else if (ns == "net") {
    node["host"] = to_yaml_node(request);
  } else if (ns == "oci" && op == "v1/verify") {
    node = to_yaml_node(request.get_object().begin()->value());
  } else if (request.is_object()) {
    node = to_yaml_node(request);
    if (ns == "oci")
      node.remove("type");
  } else {
    node["payload"] = to_yaml_node(request);
  }
  YAML::Emitter out;
  out << YAML::LocalTag(variant) << node;
  return std::string(out.c_str()) + "\n";
}

void InteractionRecorder::record(std::string request, const HostCallOutcome& response) {
  std::lock_guard lock(mutex_);
  exchanges_.push_back({std::move(request), response});
}

std::vector<Exchange> InteractionRecorder::exchanges() const {
  std::lock_guard lock(mutex_);
  return exchanges_;
}

std::string InteractionRecorder::to_yaml() const {
  std::lock_guard lock(mutex_);
  YAML::Emitter out;
  out << YAML::BeginSeq;
  for (const Exchange& e : exchanges_) {
    out << YAML::BeginMap;
    out << YAML::Key << "type" << YAML::Value << "Exchange";
    out << YAML::Key << "request" << YAML::Value << YAML::Literal << e.request;
    out << YAML::Key << "response" << YAML::Value << YAML::BeginMap;
    if (e.response.ok) {
      out << YAML::Key << "type" << YAML::Value << "Success";
      out << YAML::Key << "payload" << YAML::Value << YAML::DoubleQuoted << e.response.data;
    } else {
      out << YAML::Key << "type" << YAML::Value << "Error";
      out << YAML::Key << "message" << YAML::Value << YAML::DoubleQuoted << e.response.data;
    }
    out << YAML::EndMap << YAML::EndMap;
  }
  out << YAML::EndSeq;
  return std::string(out.c_str()) + "\n";
}

runtime::Status InteractionRecorder::save(const std::string& path) const {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << to_yaml();
  if (!f)
    return Error{ErrorKind::resource, 0, "cannot write session file " + path};
  return runtime::Ok{};
}

InteractionReplayer::InteractionReplayer(InteractionReplayer&& other) noexcept {
  std::lock_guard lock(other.mutex_);
  exchanges_ = std::move(other.exchanges_);
  next_ = other.next_;
}

runtime::Result<InteractionReplayer> InteractionReplayer::parse(std::string_view yaml_text) {
  InteractionReplayer r;
  try {
    YAML::Node doc = YAML::Load(std::string(yaml_text));
    if (doc.IsNull())
      return r;
    if (!doc.IsSequence())
      return Error{ErrorKind::invalid, 0, "session file: expected a list of exchanges"};
    for (const YAML::Node& item : doc) {
      if (!item.IsMap() || item["type"].as<std::string>("") != "Exchange")
        return Error{ErrorKind::invalid, 0, "session file: every entry must be of type Exchange"};
      Exchange e;
      e.request = item["request"].as<std::string>("");
      YAML::Node resp = item["response"];
      std::string type = resp["type"].as<std::string>("");
      if (type == "Success")
        e.response = HostCallOutcome::success(resp["payload"].as<std::string>(""));
      else if (type == "Error")
        e.response = HostCallOutcome::failure(resp["message"].as<std::string>(""));
      else
        return Error{ErrorKind::invalid, 0, "session file: unknown response type `" + type + "`"};
      r.exchanges_.push_back(std::move(e));
    }
  } catch (const YAML::Exception& ex) {
    // yaml-cpp reports errors by throwing; they stop here, as values.
    return Error{ErrorKind::invalid, 0, std::string("session file: ") + ex.what()};
  }
  return r;
}

runtime::Result<InteractionReplayer> InteractionReplayer::load(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return Error{ErrorKind::invalid, 0, "cannot read session file " + path};
  std::stringstream ss;
  ss << f.rdbuf();
  return parse(ss.str());
}

HostCallOutcome InteractionReplayer::next(std::string_view request) {
  std::lock_guard lock(mutex_);
  if (next_ >= exchanges_.size())
    return HostCallOutcome::failure("replay session exhausted: no recorded answer for request " +
                                    std::string(request));
  const Exchange& e = exchanges_[next_];
  if (e.request != request)
    return HostCallOutcome::failure("replay session mismatch: expected request " + e.request +
                                    " but the policy made " + std::string(request));
  ++next_;
  return e.response;
}

size_t InteractionReplayer::remaining() const {
  std::lock_guard lock(mutex_);
  return exchanges_.size() - next_;
}

}  // namespace tollgate::hostabi::kubewarden
