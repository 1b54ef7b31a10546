// The `io.kubewarden.metadata` custom section: parse, serialise, read from and append to wasm.
// SPDX-License-Identifier: Apache-2.0
#include "hostabi/kubewarden/metadata.hpp"

#include <boost/json.hpp>

#include "hostabi/kubewarden/protocol.hpp"

namespace tollgate::hostabi::kubewarden {

namespace json = boost::json;
using runtime::Error;
using runtime::ErrorKind;

const char* execution_mode_name(ExecutionMode mode) {
  switch (mode) {
    case ExecutionMode::kubewarden_wapc:
      return "kubewarden-wapc";
    case ExecutionMode::opa:
      return "opa";
    case ExecutionMode::gatekeeper:
      return "gatekeeper";
    case ExecutionMode::wasi:
      return "wasi";
  }
  return "kubewarden-wapc";
}

std::optional<ExecutionMode> parse_execution_mode(std::string_view name) {
  if (name == "kubewarden-wapc" || name == "kubewarden")
    return ExecutionMode::kubewarden_wapc;
  if (name == "opa")
    return ExecutionMode::opa;
  if (name == "gatekeeper")
    return ExecutionMode::gatekeeper;
  if (name == "wasi")
    return ExecutionMode::wasi;
  return std::nullopt;
}

namespace {

Error metadata_error(std::string message) {
  return Error{ErrorKind::invalid, 0, "invalid policy metadata: " + std::move(message)};
}

// Reads an optional string member; false when present with another type (null counts as absent).
bool get_string(const json::object& o, std::string_view key, std::optional<std::string>& out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null())
    return true;
  if (!v->is_string())
    return false;
  out = std::string(v->get_string());
  return true;
}

bool get_bool(const json::object& o, std::string_view key, bool& out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null())
    return true;
  if (!v->is_bool())
    return false;
  out = v->get_bool();
  return true;
}

}  // namespace

runtime::Result<Metadata> parse_metadata(std::string_view text) {
  boost::system::error_code ec;
  json::value doc = parse_json(text, ec);
  if (ec)
    return metadata_error(ec.message());
  if (!doc.is_object())
    return metadata_error("not a JSON object");
  const json::object& o = doc.get_object();
  Metadata m;
  if (!get_string(o, "protocolVersion", m.protocol_version))
    return metadata_error("protocolVersion must be a string");
  if (const json::value* v = o.if_contains("rules"); v && !v->is_null()) {
    if (!v->is_array())
      return metadata_error("rules must be an array");
    m.rules = *v;
  }
  if (const json::value* v = o.if_contains("annotations"); v && !v->is_null()) {
    if (!v->is_object())
      return metadata_error("annotations must be an object");
    std::map<std::string, std::string> ann;
    for (const auto& kv : v->get_object()) {
      if (!kv.value().is_string())
        return metadata_error("annotation values must be strings");
      ann.emplace(std::string(kv.key()), std::string(kv.value().get_string()));
    }
    m.annotations = std::move(ann);
  }
  if (!get_bool(o, "mutating", m.mutating) || !get_bool(o, "backgroundAudit", m.background_audit))
    return metadata_error("mutating and backgroundAudit must be booleans");
  std::optional<std::string> s;
  if (!get_string(o, "executionMode", s))
    return metadata_error("executionMode must be a string");
  if (s) {
    auto mode = parse_execution_mode(*s);
    if (!mode || *s == "kubewarden")
      return metadata_error("unknown executionMode `" + *s + "`");
    m.execution_mode = *mode;
  }
  s.reset();
  if (!get_string(o, "policyType", s))
    return metadata_error("policyType must be a string");
  if (s) {
    if (*s == "kubernetes")
      m.policy_type = PolicyType::kubernetes;
    else if (*s == "raw")
      m.policy_type = PolicyType::raw;
    else
      return metadata_error("unknown policyType `" + *s + "`");
  }
  if (const json::value* v = o.if_contains("contextAwareResources"); v && !v->is_null()) {
    if (!v->is_array())
      return metadata_error("contextAwareResources must be an array");
    for (const json::value& r : v->get_array()) {
      const json::object* ro = r.if_object();
      const json::value* av = ro ? ro->if_contains("apiVersion") : nullptr;
      const json::value* kv = ro ? ro->if_contains("kind") : nullptr;
      if (!av || !kv || !av->is_string() || !kv->is_string())
        return metadata_error("contextAwareResources entries need apiVersion and kind strings");
      m.context_aware_resources.push_back(
          {std::string(av->get_string()), std::string(kv->get_string())});
    }
  }
  if (!get_string(o, "minimumKubewardenVersion", m.minimum_kubewarden_version))
    return metadata_error("minimumKubewardenVersion must be a string");
  if (const json::value* v = o.if_contains("hostCapabilities"); v && !v->is_null()) {
    if (!v->is_array())
      return metadata_error("hostCapabilities must be an array");
    std::vector<std::string> caps;
    for (const json::value& c : v->get_array()) {
      if (!c.is_string())
        return metadata_error("hostCapabilities entries must be strings");
      caps.emplace_back(c.get_string());
    }
    m.host_capabilities = std::move(caps);
  }
  return m;
}

std::string serialize_metadata(const Metadata& m) {
  json::object o;
  if (m.protocol_version)
    o["protocolVersion"] = *m.protocol_version;
  o["rules"] = m.rules;
  if (m.annotations) {
    json::object ann;
    for (const auto& [k, v] : *m.annotations)
      ann[k] = v;
    o["annotations"] = std::move(ann);
  }
  o["mutating"] = m.mutating;
  o["backgroundAudit"] = m.background_audit;
  json::array car;
  for (const auto& r : m.context_aware_resources)
    car.push_back(json::object{{"apiVersion", r.api_version}, {"kind", r.kind}});
  o["contextAwareResources"] = std::move(car);
  o["executionMode"] = execution_mode_name(m.execution_mode);
  o["policyType"] = m.policy_type == PolicyType::raw ? "raw" : "kubernetes";
  if (m.minimum_kubewarden_version)
    o["minimumKubewardenVersion"] = *m.minimum_kubewarden_version;
  if (m.host_capabilities) {
    json::array caps;
    for (const auto& c : *m.host_capabilities)
      caps.emplace_back(c);
    o["hostCapabilities"] = std::move(caps);
  }
  return json::serialize(o);
}

runtime::Result<std::optional<Metadata>> read_metadata(const runtime::Module& module) {
  const runtime::CustomSection* section = module.find_custom(kMetadataSection);
  if (section == nullptr)
    return std::optional<Metadata>();
  auto parsed = parse_metadata(std::string_view(
      reinterpret_cast<const char*>(section->bytes.data()), section->bytes.size()));
  if (!parsed)
    return parsed.take_error();
  return std::optional<Metadata>(std::move(parsed).value());
}

namespace {

// Unsigned LEB128 of at most 5 bytes (a u32), as the binary format encodes sizes.
bool read_u32_leb(std::span<const uint8_t> in, size_t& pos, uint32_t& out) {
  uint64_t result = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (pos >= in.size())
      return false;
    uint8_t b = in[pos++];
    result |= uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0) {
      out = static_cast<uint32_t>(result);
      return result <= UINT32_MAX;
    }
  }
  return false;
}

void write_u32_leb(std::vector<uint8_t>& out, uint32_t v) {
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    out.push_back(v ? (b | 0x80) : b);
  } while (v);
}

}  // namespace

runtime::Result<std::optional<std::vector<uint8_t>>> find_custom_section(
    std::span<const uint8_t> wasm,
    std::string_view name) {
  static constexpr uint8_t kHeader[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  if (wasm.size() < 8 || !std::equal(std::begin(kHeader), std::end(kHeader), wasm.begin()))
    return Error{ErrorKind::malformed, 0, "not a WebAssembly 1.0 binary"};
  size_t pos = 8;
  while (pos < wasm.size()) {
    const size_t section_start = pos;
    uint8_t id = wasm[pos++];
    uint32_t size = 0;
    if (!read_u32_leb(wasm, pos, size) || size > wasm.size() - pos)
      return Error{ErrorKind::malformed, static_cast<uint32_t>(section_start),
                   "section size out of bounds"};
    const size_t end = pos + size;
    if (id == 0) {
      uint32_t name_len = 0;
      size_t p = pos;
      if (!read_u32_leb(wasm.first(end), p, name_len) || name_len > end - p)
        return Error{ErrorKind::malformed, static_cast<uint32_t>(section_start),
                     "custom section name out of bounds"};
      std::string_view sname(reinterpret_cast<const char*>(wasm.data() + p), name_len);
      if (sname == name)
        return std::optional<std::vector<uint8_t>>(
            std::vector<uint8_t>(wasm.begin() + p + name_len, wasm.begin() + end));
    }
    pos = end;
  }
  return std::optional<std::vector<uint8_t>>();
}

void append_custom_section(std::vector<uint8_t>& wasm,
                           std::string_view name,
                           std::span<const uint8_t> payload) {
  std::vector<uint8_t> body;
  write_u32_leb(body, static_cast<uint32_t>(name.size()));
  body.insert(body.end(), name.begin(), name.end());
  body.insert(body.end(), payload.begin(), payload.end());
  wasm.push_back(0);
  write_u32_leb(wasm, static_cast<uint32_t>(body.size()));
  wasm.insert(wasm.end(), body.begin(), body.end());
}

void write_metadata(std::vector<uint8_t>& wasm, const Metadata& metadata) {
  std::string text = serialize_metadata(metadata);
  append_custom_section(
      wasm, kMetadataSection,
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

}  // namespace tollgate::hostabi::kubewarden
