/* tollgate policy SDK: the Kubewarden policy protocol (waPC or WASI) for C/C++ policies. */
// SPDX-License-Identifier: Apache-2.0
#ifndef TOLLGATE_POLICY_SDK_TG_POLICY_H
#define TOLLGATE_POLICY_SDK_TG_POLICY_H

/* A policy includes this header once and defines two functions:
 *
 *   void tg_policy_validate(tg_ctx* ctx);           // ends with tg_accept/tg_reject/tg_mutate
 *   void tg_policy_validate_settings(tg_ctx* ctx);  // ends with tg_settings_valid/_invalid
 *
 * Build for the waPC execution mode (the default, `kubewarden-wapc`) with
 *   clang-14 --target=wasm32 -nostdlib -O2 -Wl,--no-entry ...
 * The SDK exports `__guest_call` and imports the `wapc` module functions.
 *
 * Build for the WASI execution mode (`executionMode: wasi`) with -DTG_WASI and
 *   clang-14 --target=wasm32-wasi -O2 ...
 * The SDK then defines main(): argv[1] is `validate` or `validate-settings`, stdin holds the
 * payload, the response JSON goes to stdout; an SDK-level failure goes to stderr with exit 1.
 *
 * Payload shapes (snake_case keys, as the Kubewarden SDKs and policy-evaluator use):
 *   validate           {"request": <AdmissionRequest or raw JSON>, "settings": {...}}
 *                   -> {"accepted":bool,"message":str?,"code":u16?,"mutated_object":any?,
 *                       "warnings":[str]?,"audit_annotations":{str:str}?}
 *   validate_settings  <settings JSON alone> -> {"valid":bool,"message":str?}
 *   protocol_version   (empty) -> "v1" */

#include "tg_json.h"

#ifdef TG_WASI
#include <unistd.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the evaluation context ------------------------------------------------------------- */

typedef struct tg_ctx {
  tg_json* payload;  /* the whole parsed payload */
  tg_json* request;  /* payload.request (validate only) */
  tg_json* settings; /* payload.settings for validate; the payload itself for validate_settings */
  tg_buf response;   /* the response bytes once the policy answered */
  int answered;
  /* Optional extras attached to the next tg_accept/tg_reject/tg_mutate. */
  tg_json* warnings;          /* array of strings */
  tg_json* audit_annotations; /* object of strings */
} tg_ctx;

void tg_policy_validate(tg_ctx* ctx);
void tg_policy_validate_settings(tg_ctx* ctx);

/* request.<path>, e.g. tg_request_path(ctx, "object.metadata.labels"). */
static tg_json* tg_request_path(const tg_ctx* ctx, const char* path) {
  return tg_json_path(ctx->request, path);
}
/* settings.<path>; settings are `{}` when the host sent none. */
static tg_json* tg_settings_path(const tg_ctx* ctx, const char* path) {
  return tg_json_path(ctx->settings, path);
}
/* request.object (NULL for DELETE, where Kubernetes sends `object: null`). */
static tg_json* tg_request_object(const tg_ctx* ctx) {
  tg_json* o = tg_json_get(ctx->request, "object");
  return o && o->type == TG_JSON_OBJECT ? o : NULL;
}
static tg_str tg_request_kind(const tg_ctx* ctx) {
  return tg_json_str(tg_json_path(ctx->request, "kind.kind"));
}
static tg_str tg_request_operation(const tg_ctx* ctx) {
  return tg_json_str(tg_json_get(ctx->request, "operation"));
}

/* The PodSpec inside request.object for the kinds that carry one (the same set as the
 * Kubewarden SDKs): Pod; Deployment, ReplicaSet, StatefulSet, DaemonSet,
 * ReplicationController, Job (spec.template.spec); CronJob (spec.jobTemplate.spec.template.spec).
 * NULL for other kinds or when the object has no pod spec. */
static tg_json* tg_request_pod_spec(const tg_ctx* ctx) {
  tg_json* obj = tg_request_object(ctx);
  tg_str kind = tg_request_kind(ctx);
  tg_json* spec = NULL;
  if (!obj)
    return NULL;
  if (tg_str_eqc(kind, "Pod")) {
    spec = tg_json_get(obj, "spec");
  } else if (tg_str_eqc(kind, "Deployment") || tg_str_eqc(kind, "ReplicaSet") ||
             tg_str_eqc(kind, "StatefulSet") || tg_str_eqc(kind, "DaemonSet") ||
             tg_str_eqc(kind, "ReplicationController") || tg_str_eqc(kind, "Job")) {
    spec = tg_json_path(obj, "spec.template.spec");
  } else if (tg_str_eqc(kind, "CronJob")) {
    spec = tg_json_path(obj, "spec.jobTemplate.spec.template.spec");
  }
  return spec && spec->type == TG_JSON_OBJECT ? spec : NULL;
}

/* ---- answering -------------------------------------------------------------------------- */

static void tg__respond(tg_ctx* ctx,
                        int accepted,
                        tg_str message,
                        uint32_t code,
                        const tg_json* mutated) {
  tg_buf* b = &ctx->response;
  b->len = 0;
  tg_buf_puts(b, accepted ? "{\"accepted\":true" : "{\"accepted\":false");
  if (message.ptr) {
    tg_buf_puts(b, ",\"message\":");
    tg_buf_put_json_string(b, message);
  }
  if (code) {
    tg_buf_puts(b, ",\"code\":");
    tg_buf_putu(b, code);
  }
  if (mutated) {
    tg_buf_puts(b, ",\"mutated_object\":");
    tg_json_write(b, mutated);
  }
  if (ctx->warnings && ctx->warnings->count) {
    tg_buf_puts(b, ",\"warnings\":");
    tg_json_write(b, ctx->warnings);
  }
  if (ctx->audit_annotations && ctx->audit_annotations->count) {
    tg_buf_puts(b, ",\"audit_annotations\":");
    tg_json_write(b, ctx->audit_annotations);
  }
  tg_buf_putc(b, '}');
  ctx->answered = 1;
}

static void tg_accept(tg_ctx* ctx) {
  tg_str none = {NULL, 0};
  tg__respond(ctx, 1, none, 0, NULL);
}
/* code 0 means "no code" (the host then answers with its default). */
static void tg_reject(tg_ctx* ctx, tg_str message, uint32_t code) {
  tg__respond(ctx, 0, message, code, NULL);
}
static void tg_rejectc(tg_ctx* ctx, const char* message, uint32_t code) {
  tg_reject(ctx, tg_s(message), code);
}
/* Accepts with a mutated object (typically the edited request.object). */
static void tg_mutate(tg_ctx* ctx, const tg_json* mutated_object) {
  tg_str none = {NULL, 0};
  tg__respond(ctx, 1, none, 0, mutated_object);
}
static void tg_add_warning(tg_ctx* ctx, tg_str warning) {
  if (!ctx->warnings)
    ctx->warnings = tg_json_new(TG_JSON_ARRAY);
  tg_json_append(ctx->warnings, tg_json_new_str(warning));
}
static void tg_add_audit_annotation(tg_ctx* ctx, const char* key, tg_str value) {
  if (!ctx->audit_annotations)
    ctx->audit_annotations = tg_json_new(TG_JSON_OBJECT);
  tg_json_set(ctx->audit_annotations, key, tg_json_new_str(value));
}

static void tg_settings_valid(tg_ctx* ctx) {
  ctx->response.len = 0;
  tg_buf_puts(&ctx->response, "{\"valid\":true}");
  ctx->answered = 1;
}
static void tg_settings_invalid(tg_ctx* ctx, tg_str message) {
  tg_buf* b = &ctx->response;
  b->len = 0;
  tg_buf_puts(b, "{\"valid\":false,\"message\":");
  tg_buf_put_json_string(b, message);
  tg_buf_putc(b, '}');
  ctx->answered = 1;
}
static void tg_settings_invalidc(tg_ctx* ctx, const char* message) {
  tg_settings_invalid(ctx, tg_s(message));
}

/* ---- host calls ------------------------------------------------------------------------- */

#ifndef TG_WASI
#define TG_WAPC_IMPORT(name) __attribute__((import_module("wapc"), import_name(name)))
TG_WAPC_IMPORT("__guest_request") void tg__guest_request(uint8_t* op_ptr, uint8_t* ptr);
TG_WAPC_IMPORT("__guest_response") void tg__guest_response(const uint8_t* ptr, uint32_t len);
TG_WAPC_IMPORT("__guest_error") void tg__guest_error(const uint8_t* ptr, uint32_t len);
TG_WAPC_IMPORT("__host_call")
int32_t tg__host_call(const uint8_t* bd,
                      uint32_t bd_len,
                      const uint8_t* ns,
                      uint32_t ns_len,
                      const uint8_t* op,
                      uint32_t op_len,
                      const uint8_t* ptr,
                      uint32_t len);
TG_WAPC_IMPORT("__host_response_len") uint32_t tg__host_response_len(void);
TG_WAPC_IMPORT("__host_response") void tg__host_response(uint8_t* ptr);
TG_WAPC_IMPORT("__host_error_len") uint32_t tg__host_error_len(void);
TG_WAPC_IMPORT("__host_error") void tg__host_error(uint8_t* ptr);
TG_WAPC_IMPORT("__console_log") void tg__console_log(const uint8_t* ptr, uint32_t len);
#else
__attribute__((import_module("host"), import_name("call"))) int32_t tg__wasi_host_call(
    const uint8_t* bd,
    uint32_t bd_len,
    const uint8_t* ns,
    uint32_t ns_len,
    const uint8_t* op,
    uint32_t op_len,
    const uint8_t* ptr,
    uint32_t len);

/* Reads fd to EOF into the arena. Returns 0 on a read error or when memory runs out. */
static int tg__read_all(int fd, tg_buf* out) {
  char chunk[4096];
  for (;;) {
    ssize_t r = read(fd, chunk, sizeof chunk);
    if (r < 0)
      return 0;
    if (r == 0)
      return !out->oom;
    tg_buf_put(out, chunk, (size_t)r);
  }
}
#endif

/* Calls the host. On success returns 1 and *response holds the answer; on failure returns 0
 * and *response holds the error text. Both point into the arena. */
static int tg_host_call(const char* binding,
                        const char* ns,
                        const char* op,
                        tg_str payload,
                        tg_str* response) {
  tg_str b = tg_s(binding), n = tg_s(ns), o = tg_s(op);
  tg_str empty = {"", 0};
  *response = empty;
#ifndef TG_WASI
  int32_t ok =
      tg__host_call((const uint8_t*)b.ptr, b.len, (const uint8_t*)n.ptr, n.len,
                    (const uint8_t*)o.ptr, o.len, (const uint8_t*)payload.ptr, payload.len);
  uint32_t len = ok ? tg__host_response_len() : tg__host_error_len();
  char* data = (char*)tg_alloc(len ? len : 1);
  if (!data) {
    response->ptr = "out of memory reading the host response";
    response->len = tg_strlen(response->ptr);
    return 0;
  }
  if (ok)
    tg__host_response((uint8_t*)data);
  else
    tg__host_error((uint8_t*)data);
  response->ptr = data;
  response->len = len;
  return ok == 1;
#else
  /* WASI flavour: 0 means success and the answer is appended to stdin. */
  int32_t rc =
      tg__wasi_host_call((const uint8_t*)b.ptr, b.len, (const uint8_t*)n.ptr, n.len,
                         (const uint8_t*)o.ptr, o.len, (const uint8_t*)payload.ptr, payload.len);
  tg_buf in = {0, 0, 0, 0};
  if (!tg__read_all(0, &in)) {
    response->ptr = "cannot read the host response from stdin";
    response->len = tg_strlen(response->ptr);
    return 0;
  }
  *response = tg_buf_str(&in);
  if (!response->ptr)
    *response = empty;
  return rc == 0;
#endif
}

/* Sends a log entry through the host (`kubewarden`/`tracing`/`log`). level is one of
 * trace|debug|info|warning|error. Logging failures are ignored: a log line must never change
 * a verdict. */
static void tg_log(const char* level, tg_str message) {
  tg_buf b = {0, 0, 0, 0};
  tg_buf_puts(&b, "{\"level\":");
  tg_buf_put_json_string(&b, tg_s(level));
  tg_buf_puts(&b, ",\"message\":");
  tg_buf_put_json_string(&b, message);
  tg_buf_putc(&b, '}');
  if (b.oom)
    return;
  tg_str ignored;
  tg_host_call("kubewarden", "tracing", "log", tg_buf_str(&b), &ignored);
}

/* tollgate's regex capability (`kubewarden`/`regex`/`v1/match`), evaluated by RE2 on the host
 * with search semantics (the pattern may match anywhere; anchor it with ^...$ for a full match).
 * Returns 1 matched, 0 not matched, -1 on error (bad pattern, capability unavailable); the
 * error text is then in *error when error is not NULL. */
static int tg_regex_match(tg_str pattern, tg_str text, tg_str* error) {
  tg_buf b = {0, 0, 0, 0};
  tg_buf_puts(&b, "{\"pattern\":");
  tg_buf_put_json_string(&b, pattern);
  tg_buf_puts(&b, ",\"text\":");
  tg_buf_put_json_string(&b, text);
  tg_buf_putc(&b, '}');
  tg_str answer;
  if (b.oom) {
    if (error)
      *error = tg_s("out of memory");
    return -1;
  }
  if (!tg_host_call("kubewarden", "regex", "v1/match", tg_buf_str(&b), &answer)) {
    if (error)
      *error = answer;
    return -1;
  }
  tg_json_error perr;
  tg_json* doc = tg_json_parse(answer.ptr, answer.len, &perr);
  tg_json* matched = tg_json_get(doc, "matched");
  if (!matched || (matched->type != TG_JSON_TRUE && matched->type != TG_JSON_FALSE)) {
    if (error)
      *error = tg_s("malformed regex host response");
    return -1;
  }
  return matched->type == TG_JSON_TRUE;
}

/* ---- dispatch --------------------------------------------------------------------------- */

/* Builds "<what>: <parser message> at offset N" in the arena. */
static tg_str tg__parse_error(const char* what, tg_json_error e) {
  tg_buf b = {0, 0, 0, 0};
  tg_buf_puts(&b, what);
  tg_buf_puts(&b, ": ");
  tg_buf_puts(&b, e.message ? e.message : "unknown error");
  tg_buf_puts(&b, " at offset ");
  tg_buf_putu(&b, e.offset);
  if (b.oom)
    return tg_s(what);
  return tg_buf_str(&b);
}

typedef enum tg_op { TG_OP_VALIDATE, TG_OP_VALIDATE_SETTINGS } tg_op;

/* Runs one operation. Returns 1 with ctx->response set, or 0 with *error set. */
static int tg__run(tg_op op, const char* payload, size_t len, tg_ctx* ctx, tg_str* error) {
  tg_json_error perr;
  tg_json* doc = tg_json_parse(payload, len, &perr);
  if (!doc) {
    *error = tg__parse_error(
        op == TG_OP_VALIDATE ? "cannot parse the validation request" : "cannot parse the settings",
        perr);
    return 0;
  }
  ctx->payload = doc;
  if (op == TG_OP_VALIDATE) {
    if (doc->type != TG_JSON_OBJECT) {
      *error = tg_s("the validation request is not a JSON object");
      return 0;
    }
    ctx->request = tg_json_get(doc, "request");
    ctx->settings = tg_json_get(doc, "settings");
    if (!ctx->request) {
      *error = tg_s("the validation request has no `request` field");
      return 0;
    }
  } else {
    ctx->settings = doc;
  }
  /* Absent or null settings behave as `{}` (what the host sends when none are configured). */
  if (!ctx->settings || ctx->settings->type == TG_JSON_NULL)
    ctx->settings = tg_json_new(TG_JSON_OBJECT);
  if (!ctx->settings) {
    *error = tg_s("out of memory");
    return 0;
  }
  if (op == TG_OP_VALIDATE)
    tg_policy_validate(ctx);
  else
    tg_policy_validate_settings(ctx);
  if (!ctx->answered) {
    *error = tg_s("the policy returned without an answer");
    return 0;
  }
  if (ctx->response.oom) {
    *error = tg_s("out of memory while writing the response");
    return 0;
  }
  return 1;
}

#ifndef TG_WASI

__attribute__((export_name("__guest_call"))) int32_t tg__guest_call(int32_t op_len,
                                                                    int32_t msg_len) {
  tg_arena_reset();
  uint8_t* op = (uint8_t*)tg_alloc((size_t)(uint32_t)op_len + 1);
  uint8_t* msg = (uint8_t*)tg_alloc((size_t)(uint32_t)msg_len + 1);
  if (!op || !msg) {
    static const char oom[] = "out of memory receiving the payload";
    tg__guest_error((const uint8_t*)oom, sizeof oom - 1);
    return 0;
  }
  tg__guest_request(op, msg);
  tg_str op_name = {(const char*)op, (uint32_t)op_len};
  if (tg_str_eqc(op_name, "protocol_version")) {
    static const char v1[] = "\"v1\"";
    tg__guest_response((const uint8_t*)v1, sizeof v1 - 1);
    return 1;
  }
  tg_op which;
  if (tg_str_eqc(op_name, "validate")) {
    which = TG_OP_VALIDATE;
  } else if (tg_str_eqc(op_name, "validate_settings")) {
    which = TG_OP_VALIDATE_SETTINGS;
  } else {
    tg_buf b = {0, 0, 0, 0};
    tg_buf_puts(&b, "unknown operation: ");
    tg_buf_putstr(&b, op_name);
    tg__guest_error((const uint8_t*)b.data, b.oom ? 0 : (uint32_t)b.len);
    return 0;
  }
  tg_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  tg_str error = {NULL, 0};
  if (!tg__run(which, (const char*)msg, (size_t)(uint32_t)msg_len, &ctx, &error)) {
    tg__guest_error((const uint8_t*)error.ptr, error.len);
    return 0;
  }
  tg__guest_response((const uint8_t*)ctx.response.data, (uint32_t)ctx.response.len);
  return 1;
}

/* Writes a line to the host log through waPC's __console_log. */
static void tg_console_log(tg_str line) {
  tg__console_log((const uint8_t*)line.ptr, line.len);
}

#else /* TG_WASI */

static int tg__write_all(int fd, const char* p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w <= 0)
      return 0;
    p += w;
    n -= (size_t)w;
  }
  return 1;
}

int main(int argc, char** argv) {
  tg_arena_reset();
  if (argc < 2) {
    static const char usage[] = "usage: policy.wasm validate|validate-settings < payload\n";
    tg__write_all(2, usage, sizeof usage - 1);
    return 1;
  }
  tg_str cmd = tg_s(argv[1]);
  tg_op which;
  if (tg_str_eqc(cmd, "validate")) {
    which = TG_OP_VALIDATE;
  } else if (tg_str_eqc(cmd, "validate-settings")) {
    which = TG_OP_VALIDATE_SETTINGS;
  } else {
    tg__write_all(2, "unknown command: ", 17);
    tg__write_all(2, cmd.ptr, cmd.len);
    tg__write_all(2, "\n", 1);
    return 1;
  }
  tg_buf in = {0, 0, 0, 0};
  if (!tg__read_all(0, &in)) {
    static const char msg[] = "cannot read the payload from stdin\n";
    tg__write_all(2, msg, sizeof msg - 1);
    return 1;
  }
  tg_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  tg_str error = {NULL, 0};
  if (!tg__run(which, in.data ? in.data : "", in.len, &ctx, &error)) {
    tg__write_all(2, error.ptr, error.len);
    tg__write_all(2, "\n", 1);
    return 1;
  }
  return tg__write_all(1, ctx.response.data, ctx.response.len) ? 0 : 1;
}

#endif /* TG_WASI */

#ifdef __cplusplus
}
#endif
#endif
