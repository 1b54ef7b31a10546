/* raw-validation-wasi: a raw (non-Kubernetes) policy for the WASI execution mode. */
// SPDX-License-Identifier: Apache-2.0
//
// Built with wasi-libc and -DTG_WASI: the SDK's main() reads the payload from stdin, takes the
// command from argv[1] (validate | validate-settings) and writes the answer to stdout.
//
// Request (raw): {"user": "tonio", "action": "eats", "resource": "banana"}
// Settings: {"valid_users": [..], "valid_actions": [..], "valid_resources": [..]} (each optional;
//           an absent list allows every value). The request is accepted when each field is in
//           its list.
#define TG_WASI 1
#include "tg_policy.h"

static const char* const kFields[] = {"user", "action", "resource"};
static const char* const kLists[] = {"valid_users", "valid_actions", "valid_resources"};

static int listed(const tg_json* list, tg_str value) {
  for (const tg_json* e = list->first; e; e = e->next)
    if (e->type == TG_JSON_STRING && tg_str_eq(e->text, value))
      return 1;
  return 0;
}

void tg_policy_validate_settings(tg_ctx* ctx) {
  for (unsigned i = 0; i < 3; i++) {
    const tg_json* list = tg_json_get(ctx->settings, kLists[i]);
    if (tg_json_is_absent(list))
      continue;
    int ok = list->type == TG_JSON_ARRAY;
    for (const tg_json* e = ok ? list->first : NULL; e; e = e->next)
      if (e->type != TG_JSON_STRING)
        ok = 0;
    if (!ok) {
      tg_buf msg = {0, 0, 0, 0};
      tg_buf_puts(&msg, kLists[i]);
      tg_buf_puts(&msg, " must be a list of strings");
      tg_settings_invalid(ctx, tg_buf_str(&msg));
      return;
    }
  }
  tg_settings_valid(ctx);
}

void tg_policy_validate(tg_ctx* ctx) {
  tg_str values[3];
  for (unsigned i = 0; i < 3; i++) {
    values[i] = tg_json_str(tg_json_get(ctx->request, kFields[i]));
    if (!values[i].ptr) {
      tg_buf msg = {0, 0, 0, 0};
      tg_buf_puts(&msg, "the request has no string field `");
      tg_buf_puts(&msg, kFields[i]);
      tg_buf_putc(&msg, '`');
      tg_reject(ctx, tg_buf_str(&msg), 400);
      return;
    }
  }
  for (unsigned i = 0; i < 3; i++) {
    const tg_json* list = tg_json_get(ctx->settings, kLists[i]);
    if (!tg_json_is(list, TG_JSON_ARRAY) || listed(list, values[i]))
      continue;
    tg_buf msg = {0, 0, 0, 0};
    tg_buf_puts(&msg, "not allowed: ");
    tg_buf_putstr(&msg, values[0]);
    tg_buf_putc(&msg, ' ');
    tg_buf_putstr(&msg, values[1]);
    tg_buf_putc(&msg, ' ');
    tg_buf_putstr(&msg, values[2]);
    tg_buf_puts(&msg, " (");
    tg_buf_puts(&msg, kFields[i]);
    tg_buf_puts(&msg, " not in ");
    tg_buf_puts(&msg, kLists[i]);
    tg_buf_putc(&msg, ')');
    tg_reject(ctx, tg_buf_str(&msg), 0);
    return;
  }
  tg_log("info", tg_s("raw request accepted"));
  tg_accept(ctx);
}
