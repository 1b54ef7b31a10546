// Socket-free request handling: routes, AdmissionReview in and out, Kubewarden's error bodies.
// SPDX-License-Identifier: Apache-2.0
//
// Routes (kubewarden.md 1.4): POST /validate/{id}, /audit/{id}, /validate_raw/{id}. Unknown id:
// 404 {"message":"unknown policy: <id>","status":404}; body not JSON: 400; JSON of the wrong
// shape: 422; Content-Type not application/json: 415; anything unexpected: 500
// {"message":"Something went wrong","status":500}. Policy outcomes are always 200. /validate
// answers errors with a JSON body, /audit and /validate_raw with plain text (axum's default).
// Other paths: 404, other methods on these paths: 405 (plain text, empty body).
#pragma once

#include "server/api/http_types.hpp"
#include "server/evaluation/environment.hpp"

namespace tollgate::server::api {

/// Answers one request. Blocks while the evaluation runs (call it on a worker thread); never
/// throws.
HttpResponse handle(const evaluation::EvaluationEnvironment& environment,
                    const HttpRequest& request);

}  // namespace tollgate::server::api
