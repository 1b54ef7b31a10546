// The Kubewarden policy protocol payloads (kubewarden.md 2.3): requests and responses as JSON.
// SPDX-License-Identifier: Apache-2.0
#include "hostabi/kubewarden/protocol.hpp"

#include <cstdio>

#include <boost/json.hpp>

namespace tollgate::hostabi::kubewarden {

namespace json = boost::json;
using runtime::Error;
using runtime::ErrorKind;

ValidationResponse ValidationResponse::reject(std::string message, int64_t code) {
  ValidationResponse r;
  r.accepted = false;
  r.message = std::move(message);
  r.code = code;
  return r;
}

ValidationResponse ValidationResponse::internal_server_error(std::string_view error) {
  return reject("internal server error: " + std::string(error), 500);
}

json::value parse_json(std::string_view text, boost::system::error_code& ec) {
  json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  return json::parse(text, ec, {}, options);
}

std::string make_validation_request(const json::value& request, const json::value& settings) {
  // Written around the two serialisations instead of through a json::object holding deep
  // copies of them: the same bytes, without copying the largest input of every evaluation.
  std::string out = "{\"request\":";
  out += json::serialize(request);
  out += ",\"settings\":";
  out += json::serialize(settings);
  out += '}';
  return out;
}

namespace {

Error response_error(std::string message) {
  return Error{ErrorKind::invalid, 0, std::move(message)};
}

runtime::Result<json::object> parse_object(std::string_view text) {
  boost::system::error_code ec;
  json::value v = parse_json(text, ec);
  if (ec)
    return response_error(ec.message());
  if (!v.is_object())
    return response_error("invalid type: expected a JSON object");
  return std::move(v.get_object());
}

const json::value* member(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v == nullptr || v->is_null() ? nullptr : v;
}

}  // namespace

runtime::Result<ValidationResponse> parse_validation_response(std::string_view text) {
  auto parsed = parse_object(text);
  if (!parsed)
    return parsed.take_error();
  const json::object& o = parsed.value();
  ValidationResponse r;
  const json::value* accepted = member(o, "accepted");
  if (accepted == nullptr)
    return response_error("missing field `accepted`");
  if (!accepted->is_bool())
    return response_error("invalid type for `accepted`: expected a boolean");
  r.accepted = accepted->get_bool();
  if (const json::value* v = member(o, "message")) {
    if (!v->is_string())
      return response_error("invalid type for `message`: expected a string");
    r.message = std::string(v->get_string());
  }
  if (const json::value* v = member(o, "code")) {
    // u16 in the SDK: a code outside 0..65535 is a deserialisation error there too.
    if (!(v->is_int64() || v->is_uint64()) ||
        (v->is_int64() && (v->get_int64() < 0 || v->get_int64() > 65535)) ||
        (v->is_uint64() && v->get_uint64() > 65535))
      return response_error("invalid value for `code`: expected u16");
    r.code = v->is_int64() ? v->get_int64() : static_cast<int64_t>(v->get_uint64());
  }
  if (const json::value* v = member(o, "mutated_object"))
    r.mutated_object = *v;
  if (const json::value* v = member(o, "audit_annotations")) {
    if (!v->is_object())
      return response_error("invalid type for `audit_annotations`: expected a map");
    std::map<std::string, std::string> ann;
    for (const auto& kv : v->get_object()) {
      if (!kv.value().is_string())
        return response_error("invalid type in `audit_annotations`: expected a string");
      ann.emplace(std::string(kv.key()), std::string(kv.value().get_string()));
    }
    r.audit_annotations = std::move(ann);
  }
  if (const json::value* v = member(o, "warnings")) {
    if (!v->is_array())
      return response_error("invalid type for `warnings`: expected a sequence");
    std::vector<std::string> w;
    for (const json::value& e : v->get_array()) {
      if (!e.is_string())
        return response_error("invalid type in `warnings`: expected a string");
      w.emplace_back(e.get_string());
    }
    r.warnings = std::move(w);
  }
  return r;
}

runtime::Result<SettingsValidationResponse> parse_settings_response(std::string_view text) {
  auto parsed = parse_object(text);
  if (!parsed)
    return parsed.take_error();
  const json::object& o = parsed.value();
  SettingsValidationResponse r;
  const json::value* valid = member(o, "valid");
  if (valid == nullptr)
    return response_error("missing field `valid`");
  if (!valid->is_bool())
    return response_error("invalid type for `valid`: expected a boolean");
  r.valid = valid->get_bool();
  if (const json::value* v = member(o, "message")) {
    if (!v->is_string())
      return response_error("invalid type for `message`: expected a string");
    r.message = std::string(v->get_string());
  }
  return r;
}

json::object to_json(const ValidationResponse& r) {
  json::object o;
  o["accepted"] = r.accepted;
  if (r.message)
    o["message"] = *r.message;
  if (r.code)
    o["code"] = *r.code;
  if (r.mutated_object)
    o["mutated_object"] = *r.mutated_object;
  if (r.audit_annotations) {
    json::object ann;
    for (const auto& [k, v] : *r.audit_annotations)
      ann[k] = v;
    o["audit_annotations"] = std::move(ann);
  }
  if (r.warnings) {
    json::array w;
    for (const auto& s : *r.warnings)
      w.emplace_back(s);
    o["warnings"] = std::move(w);
  }
  return o;
}

json::object to_json(const SettingsValidationResponse& r) {
  json::object o;
  o["valid"] = r.valid;
  if (r.message)
    o["message"] = *r.message;
  return o;
}

std::string rust_debug_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\0':
        out += "\\0";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[16];
          std::snprintf(buf, sizeof buf, "\\u{%x}", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace tollgate::hostabi::kubewarden
