// Socket-free request handling: routes, AdmissionReview in and out, Kubewarden's error bodies.
// SPDX-License-Identifier: Apache-2.0
#include "server/api/handler.hpp"

#include <cctype>
#include <exception>

#include <boost/json/serialize.hpp>

#include "hostabi/kubewarden/protocol.hpp"
#include "runtime/utf8.hpp"
#include "server/api/admission_request.hpp"

namespace tollgate::server::api {
namespace {

namespace json = boost::json;
using evaluation::EvaluationEnvironment;
using evaluation::RequestOrigin;

enum class Route : uint8_t { validate, audit, validate_raw };

/// api_error's body: {"message":..,"status":..}.
HttpResponse json_error(unsigned status, std::string_view message) {
  json::object body;
  body["message"] = message;
  body["status"] = status;
  return {status, "application/json", json::serialize(body)};
}

HttpResponse text_error(unsigned status, std::string message) {
  return {status, "text/plain; charset=utf-8", std::move(message)};
}

/// A body rejection: JSON on /validate, plain text elsewhere (axum's own response).
HttpResponse rejection(Route route, unsigned status, std::string message) {
  if (route == Route::validate)
    return json_error(status, message);
  return text_error(status, std::move(message));
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/// Percent-decodes a path segment; nullopt when an escape is broken.
std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    int high = i + 1 < text.size() ? hex_digit(text[i + 1]) : -1;
    int low = i + 2 < text.size() ? hex_digit(text[i + 2]) : -1;
    if (high < 0 || low < 0)
      return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

/// axum's check: the media type is application/json or application/*+json; parameters allowed.
bool is_json_content_type(std::string_view header) {
  std::string type;
  for (char c : header.substr(0, header.find(';')))
    if (!std::isspace(static_cast<unsigned char>(c)))
      type += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (type == "application/json")
    return true;
  return type.starts_with("application/") && type.ends_with("+json");
}

HttpResponse ok_json(const json::object& body) {
  return {200, "application/json", json::serialize(body)};
}

HttpResponse handle_route(const EvaluationEnvironment& env,
                          Route route,
                          const std::string& policy_id,
                          const HttpRequest& request) {
  // axum runs the Json extractor before the handler looks the policy up.
  if (!is_json_content_type(request.content_type))
    return rejection(route, 415, "Expected request with `Content-Type: application/json`");
  boost::system::error_code ec;
  json::value body = hostabi::kubewarden::parse_json(request.body, ec);
  if (ec)
    return rejection(route, 400, "Failed to parse the request body as JSON: " + ec.message());
  const std::string kShape = "Failed to deserialize the JSON body into the target type: ";
  const json::object* review = body.if_object();
  if (review == nullptr)
    return rejection(route, 422, kShape + "invalid type, expected a map");
  const json::value* inner = review->if_contains("request");
  if (inner == nullptr)
    return rejection(route, 422, kShape + "missing field `request`");

  if (route == Route::validate_raw) {
    if (!env.has_policy(policy_id))
      return json_error(404, "unknown policy: " + policy_id);
    json::object out;
    out["response"] = evaluation::to_json(env.validate_raw(policy_id, *inner));
    return ok_json(out);
  }
  auto admission = parse_admission_request(*inner);
  if (!admission)
    return rejection(route, 422, kShape + "request: " + admission.error().message);
  if (!env.has_policy(policy_id))
    return json_error(404, "unknown policy: " + policy_id);
  RequestOrigin origin = route == Route::audit ? RequestOrigin::audit : RequestOrigin::validate;
  return ok_json(evaluation::to_admission_review(env.validate(policy_id, *admission, origin)));
}

}  // namespace

HttpResponse handle(const EvaluationEnvironment& environment, const HttpRequest& request) {
  try {
    std::string_view path = request.target;
    path = path.substr(0, path.find('?'));
    static const std::pair<std::string_view, Route> kRoutes[] = {
        {"/validate/", Route::validate},
        {"/audit/", Route::audit},
        {"/validate_raw/", Route::validate_raw},
    };
    for (const auto& [prefix, route] : kRoutes) {
      if (!path.starts_with(prefix))
        continue;
      std::string_view segment = path.substr(prefix.size());
      // `{policy_id}` is one non-empty path segment.
      if (segment.empty() || segment.find('/') != std::string_view::npos)
        break;
      if (request.method != "POST")
        return {405, "text/plain; charset=utf-8", ""};
      auto id = percent_decode(segment);
      if (!id)
        return text_error(400, "Invalid URL: cannot percent-decode the policy id");
      // axum refuses a path parameter that does not decode to UTF-8 the same way; echoing it
      // into a JSON 404 would make the body invalid JSON.
      if (!runtime::is_valid_utf8(*id))
        return text_error(400, "Invalid URL: the policy id is not UTF-8");
      return handle_route(environment, route, *id, request);
    }
    return {404, "text/plain; charset=utf-8", ""};
  } catch (const std::exception&) {
    return json_error(500, "Something went wrong");
  } catch (...) {
    return json_error(500, "Something went wrong");
  }
}

}  // namespace tollgate::server::api
