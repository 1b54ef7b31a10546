// RFC 6902 JSON Patch: the diff between two JSON documents, and applying a patch.
// SPDX-License-Identifier: Apache-2.0
#include "server/evaluation/json_patch.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

namespace tollgate::server::evaluation::json_patch {
namespace {

namespace json = boost::json;
using runtime::Error;
using runtime::ErrorKind;

json::object make_op(std::string_view op, const std::string& path) {
  json::object o;
  o["op"] = op;
  o["path"] = path;
  return o;
}

void diff_into(json::array& out,
               const std::string& path,
               const json::value& from,
               const json::value& to,
               int depth) {
  if (from == to)
    return;
  // Beyond a sane depth (inputs are depth-bounded by the parser anyway) whole values are replaced.
  constexpr int kMaxDepth = 512;
  if (from.is_object() && to.is_object() && depth < kMaxDepth) {
    const json::object& a = from.get_object();
    const json::object& b = to.get_object();
    for (const auto& member : a) {
      if (!b.contains(member.key())) {
        out.push_back(make_op("remove", path + "/" + escape_token(member.key())));
      }
    }
    for (const auto& member : b) {
      std::string child = path + "/" + escape_token(member.key());
      if (const json::value* old = a.if_contains(member.key())) {
        diff_into(out, child, *old, member.value(), depth + 1);
      } else {
        json::object op = make_op("add", child);
        op["value"] = member.value();
        out.push_back(std::move(op));
      }
    }
    return;
  }
  if (from.is_array() && to.is_array() && depth < kMaxDepth) {
    const json::array& a = from.get_array();
    const json::array& b = to.get_array();
    std::size_t common = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < common; ++i)
      diff_into(out, path + "/" + std::to_string(i), a[i], b[i], depth + 1);
    // Remove from the end so earlier indices stay valid.
    for (std::size_t i = a.size(); i > common; --i)
      out.push_back(make_op("remove", path + "/" + std::to_string(i - 1)));
    for (std::size_t i = common; i < b.size(); ++i) {
      json::object op = make_op("add", path + "/" + std::to_string(i));
      op["value"] = b[i];
      out.push_back(std::move(op));
    }
    return;
  }
  json::object op = make_op("replace", path);
  op["value"] = to;
  out.push_back(std::move(op));
}

Error fail(std::size_t index, const std::string& what) {
  return Error{ErrorKind::invalid, 0, "patch operation " + std::to_string(index) + ": " + what};
}

/// Splits a JSON pointer into unescaped tokens; nullopt when it is not a valid pointer.
std::optional<std::vector<std::string>> split_pointer(std::string_view pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty())
    return tokens;
  if (pointer[0] != '/')
    return std::nullopt;
  std::size_t pos = 1;
  while (true) {
    std::size_t end = pointer.find('/', pos);
    std::string_view raw = pointer.substr(pos, end == std::string_view::npos ? end : end - pos);
    std::string token;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '~') {
        token += raw[i];
        continue;
      }
      if (i + 1 >= raw.size() || (raw[i + 1] != '0' && raw[i + 1] != '1'))
        return std::nullopt;
      token += raw[i + 1] == '0' ? '~' : '/';
      ++i;
    }
    tokens.push_back(std::move(token));
    if (end == std::string_view::npos)
      break;
    pos = end + 1;
  }
  return tokens;
}

/// An array index token: digits without a leading zero (RFC 6901 section 4).
std::optional<std::size_t> parse_index(const std::string& token) {
  if (token.empty() || (token.size() > 1 && token[0] == '0'))
    return std::nullopt;
  std::size_t value = 0;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (ec != std::errc{} || end != token.data() + token.size())
    return std::nullopt;
  return value;
}

/// The value at `tokens`, or null.
json::value* resolve(json::value& root, const std::vector<std::string>& tokens, std::size_t count) {
  json::value* at = &root;
  for (std::size_t i = 0; i < count; ++i) {
    if (json::object* o = at->if_object()) {
      at = o->if_contains(tokens[i]);
    } else if (json::array* a = at->if_array()) {
      auto index = parse_index(tokens[i]);
      at = index && *index < a->size() ? &(*a)[*index] : nullptr;
    } else {
      at = nullptr;
    }
    if (at == nullptr)
      return nullptr;
  }
  return at;
}

/// RFC 6902 "add" at `tokens`.
bool add_at(json::value& root, const std::vector<std::string>& tokens, json::value value) {
  if (tokens.empty()) {
    root = std::move(value);
    return true;
  }
  json::value* parent = resolve(root, tokens, tokens.size() - 1);
  if (parent == nullptr)
    return false;
  const std::string& last = tokens.back();
  if (json::object* o = parent->if_object()) {
    (*o)[last] = std::move(value);
    return true;
  }
  if (json::array* a = parent->if_array()) {
    if (last == "-") {
      a->push_back(std::move(value));
      return true;
    }
    auto index = parse_index(last);
    if (!index || *index > a->size())
      return false;
    a->insert(a->begin() + static_cast<std::ptrdiff_t>(*index), std::move(value));
    return true;
  }
  return false;
}

/// RFC 6902 "remove" at `tokens`, returning the removed value.
std::optional<json::value> remove_at(json::value& root, const std::vector<std::string>& tokens) {
  if (tokens.empty())
    return std::nullopt;
  json::value* parent = resolve(root, tokens, tokens.size() - 1);
  if (parent == nullptr)
    return std::nullopt;
  if (json::object* o = parent->if_object()) {
    auto it = o->find(tokens.back());
    if (it == o->end())
      return std::nullopt;
    json::value removed = std::move(it->value());
    o->erase(it);
    return removed;
  }
  if (json::array* a = parent->if_array()) {
    auto index = parse_index(tokens.back());
    if (!index || *index >= a->size())
      return std::nullopt;
    json::value removed = std::move((*a)[*index]);
    a->erase(a->begin() + static_cast<std::ptrdiff_t>(*index));
    return removed;
  }
  return std::nullopt;
}

}  // namespace

std::string escape_token(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

json::array diff(const json::value& from, const json::value& to) {
  json::array out;
  diff_into(out, "", from, to, 0);
  return out;
}

runtime::Status apply(json::value& document, const json::array& patch) {
  for (std::size_t i = 0; i < patch.size(); ++i) {
    const json::object* op = patch[i].if_object();
    if (op == nullptr)
      return fail(i, "not an object");
    const json::value* name = op->if_contains("op");
    const json::value* path_value = op->if_contains("path");
    if (name == nullptr || !name->is_string() || path_value == nullptr || !path_value->is_string())
      return fail(i, "`op` and `path` must be strings");
    std::string_view kind = name->get_string();
    auto path = split_pointer(path_value->get_string());
    if (!path)
      return fail(i, "invalid JSON pointer");
    const json::value* value = op->if_contains("value");
    std::optional<std::vector<std::string>> from;
    if (kind == "move" || kind == "copy") {
      const json::value* from_value = op->if_contains("from");
      if (from_value == nullptr || !from_value->is_string())
        return fail(i, "`from` must be a string");
      from = split_pointer(from_value->get_string());
      if (!from)
        return fail(i, "invalid `from` pointer");
    }
    if (kind == "add") {
      if (value == nullptr)
        return fail(i, "`value` is missing");
      if (!add_at(document, *path, *value))
        return fail(i, "add: target location does not exist");
    } else if (kind == "remove") {
      if (!remove_at(document, *path))
        return fail(i, "remove: no value at path");
    } else if (kind == "replace") {
      if (value == nullptr)
        return fail(i, "`value` is missing");
      json::value* target = resolve(document, *path, path->size());
      if (target == nullptr)
        return fail(i, "replace: no value at path");
      *target = *value;
    } else if (kind == "move") {
      // A location cannot move into one of its own children.
      bool into_self =
          from->size() < path->size() && std::equal(from->begin(), from->end(), path->begin());
      if (into_self)
        return fail(i, "move: `from` is a prefix of `path`");
      auto moved = remove_at(document, *from);
      if (!moved)
        return fail(i, "move: no value at from");
      if (!add_at(document, *path, std::move(*moved)))
        return fail(i, "move: target location does not exist");
    } else if (kind == "copy") {
      json::value* source = resolve(document, *from, from->size());
      if (source == nullptr)
        return fail(i, "copy: no value at from");
      json::value copied = *source;
      if (!add_at(document, *path, std::move(copied)))
        return fail(i, "copy: target location does not exist");
    } else if (kind == "test") {
      if (value == nullptr)
        return fail(i, "`value` is missing");
      json::value* target = resolve(document, *path, path->size());
      if (target == nullptr || *target != *value)
        return fail(i, "test failed");
    } else {
      return fail(i, "unknown op `" + std::string(kind) + "`");
    }
  }
  return runtime::Ok{};
}

}  // namespace tollgate::server::evaluation::json_patch
