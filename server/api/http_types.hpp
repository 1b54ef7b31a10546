// The seam between transport and request handling: plain HTTP values, no sockets, no Beast types.
// SPDX-License-Identifier: Apache-2.0
//
// server/net parses HTTP with Beast and hands each request to api::handle() (server/api) on a
// worker thread; api never sees a socket, so every route is testable without one (house-style
// 2.7, Beast's handle_request).
#pragma once

#include <string>

namespace tollgate::server::api {

struct HttpRequest {
  std::string method;        ///< "POST", "GET", ...
  std::string target;        ///< path and query, e.g. "/validate/pod-privileged"
  std::string content_type;  ///< the Content-Type header, verbatim ("" when absent)
  std::string body;
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
};

}  // namespace tollgate::server::api
