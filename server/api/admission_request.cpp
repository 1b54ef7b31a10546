// The typed AdmissionRequest of policy-evaluator: required fields checked, unknown ones dropped.
// SPDX-License-Identifier: Apache-2.0
#include "server/api/admission_request.hpp"

#include <boost/json/object.hpp>

namespace tollgate::server::api {
namespace {

namespace json = boost::json;
using runtime::Error;
using runtime::ErrorKind;

Error shape_error(const std::string& where, const std::string& what) {
  return Error{ErrorKind::invalid, 0, where.empty() ? what : where + ": " + what};
}

runtime::Result<json::value> string_field(const json::object& object,
                                          const std::string& where,
                                          std::string_view key,
                                          bool required) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || (value->is_null() && !required)) {
    if (required)
      return shape_error(where, "missing field `" + std::string(key) + "`");
    return json::value(nullptr);
  }
  if (!value->is_string())
    return shape_error(where, "invalid type for `" + std::string(key) + "`, expected a string");
  return *value;
}

/// A {group, version, <third>} triple (GroupVersionKind or GroupVersionResource).
runtime::Result<json::value> group_version(const json::value& value,
                                           const std::string& where,
                                           std::string_view third) {
  const json::object* object = value.if_object();
  if (object == nullptr)
    return shape_error(where, "invalid type, expected a map");
  json::object out;
  for (std::string_view key : {std::string_view("group"), std::string_view("version"), third}) {
    auto field = string_field(*object, where, key, true);
    if (!field)
      return field;
    out[key] = std::move(field).value();
  }
  return json::value(std::move(out));
}

runtime::Result<json::value> user_info(const json::value& value) {
  const std::string where = "userInfo";
  const json::object* object = value.if_object();
  if (object == nullptr)
    return shape_error(where, "invalid type, expected a map");
  json::object out;
  for (std::string_view key : {"username", "uid"}) {
    auto field = string_field(*object, where, key, false);
    if (!field)
      return field;
    if (!field->is_null())
      out[key] = std::move(field).value();
  }
  if (const json::value* groups = object->if_contains("groups"); groups && !groups->is_null()) {
    bool ok = groups->is_array();
    for (const json::value& g : ok ? groups->get_array() : json::array())
      ok = ok && g.is_string();
    if (!ok)
      return shape_error(where, "invalid type for `groups`, expected a sequence of strings");
    out["groups"] = *groups;
  }
  if (const json::value* extra = object->if_contains("extra"); extra && !extra->is_null()) {
    bool ok = extra->is_object();
    for (const auto& entry : ok ? extra->get_object() : json::object()) {
      ok = ok && entry.value().is_array();
      for (const json::value& item : ok ? entry.value().get_array() : json::array())
        ok = ok && item.is_string();
    }
    if (!ok)
      return shape_error(where, "invalid type for `extra`, expected a map of sequences of strings");
    out["extra"] = *extra;
  }
  return json::value(std::move(out));
}

}  // namespace

runtime::Result<json::value> parse_admission_request(const json::value& request) {
  const json::object* in = request.if_object();
  if (in == nullptr)
    return shape_error("", "invalid type, expected an AdmissionRequest map");
  json::object out;
  auto uid = string_field(*in, "", "uid", true);
  if (!uid)
    return uid;
  out["uid"] = std::move(uid).value();

  const json::value* kind = in->if_contains("kind");
  if (kind == nullptr)
    return shape_error("", "missing field `kind`");
  auto gvk = group_version(*kind, "kind", "kind");
  if (!gvk)
    return gvk;
  out["kind"] = std::move(gvk).value();

  const json::value* resource = in->if_contains("resource");
  if (resource == nullptr)
    return shape_error("", "missing field `resource`");
  auto gvr = group_version(*resource, "resource", "resource");
  if (!gvr)
    return gvr;
  out["resource"] = std::move(gvr).value();

  auto sub_resource = string_field(*in, "", "subResource", false);
  if (!sub_resource)
    return sub_resource;
  if (!sub_resource->is_null())
    out["subResource"] = std::move(sub_resource).value();

  if (const json::value* v = in->if_contains("requestKind"); v && !v->is_null()) {
    auto parsed = group_version(*v, "requestKind", "kind");
    if (!parsed)
      return parsed;
    out["requestKind"] = std::move(parsed).value();
  }
  if (const json::value* v = in->if_contains("requestResource"); v && !v->is_null()) {
    auto parsed = group_version(*v, "requestResource", "resource");
    if (!parsed)
      return parsed;
    out["requestResource"] = std::move(parsed).value();
  }
  for (std::string_view key : {"requestSubResource", "name", "namespace"}) {
    auto field = string_field(*in, "", key, false);
    if (!field)
      return field;
    if (!field->is_null())
      out[key] = std::move(field).value();
  }
  auto operation = string_field(*in, "", "operation", true);
  if (!operation)
    return operation;
  out["operation"] = std::move(operation).value();

  const json::value* user = in->if_contains("userInfo");
  if (user == nullptr)
    return shape_error("", "missing field `userInfo`");
  auto info = user_info(*user);
  if (!info)
    return info;
  out["userInfo"] = std::move(info).value();

  for (std::string_view key : {"object", "oldObject"}) {
    if (const json::value* v = in->if_contains(key); v && !v->is_null())
      out[key] = *v;
  }
  if (const json::value* v = in->if_contains("dryRun"); v && !v->is_null()) {
    if (!v->is_bool())
      return shape_error("", "invalid type for `dryRun`, expected a boolean");
    out["dryRun"] = *v;
  }
  if (const json::value* v = in->if_contains("options"); v && !v->is_null())
    out["options"] = *v;
  return json::value(std::move(out));
}

}  // namespace tollgate::server::api
