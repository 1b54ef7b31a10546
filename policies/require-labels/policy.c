/* require-labels: rejects objects that lack any of the labels listed in settings.required_labels.
 */
// SPDX-License-Identifier: Apache-2.0
#include "tg_policy.h"

/* Settings: {"required_labels": ["app", "version"]} (a non-empty list of label names). */

static const char* check_settings(const tg_json* s) {
  const tg_json* list = tg_json_get(s, "required_labels");
  if (!list)
    return "required_labels is missing";
  if (list->type != TG_JSON_ARRAY || list->count == 0)
    return "required_labels must be a non-empty list of label names";
  for (const tg_json* l = list->first; l; l = l->next)
    if (l->type != TG_JSON_STRING || l->text.len == 0)
      return "required_labels must contain only non-empty strings";
  return 0;
}

void tg_policy_validate_settings(tg_ctx* ctx) {
  const char* problem = check_settings(ctx->settings);
  if (problem)
    tg_settings_invalidc(ctx, problem);
  else
    tg_settings_valid(ctx);
}

void tg_policy_validate(tg_ctx* ctx) {
  const tg_json* object = tg_request_object(ctx);
  const char* problem = check_settings(ctx->settings);
  if (problem) {
    /* The host validates settings first; this only guards direct calls. */
    tg_rejectc(ctx, problem, 400);
    return;
  }
  if (!object) {
    tg_accept(ctx); /* DELETE carries no object to label */
    return;
  }
  const tg_json* labels = tg_json_path(object, "metadata.labels");
  tg_buf missing = {0, 0, 0, 0};
  for (const tg_json* want = tg_json_get(ctx->settings, "required_labels")->first; want;
       want = want->next) {
    if (tg_json_getn(labels, want->text))
      continue;
    tg_buf_puts(&missing, missing.len ? ", " : "The following required labels are missing: ");
    tg_buf_putstr(&missing, want->text);
  }
  if (missing.len)
    tg_reject(ctx, tg_buf_str(&missing), 0);
  else
    tg_accept(ctx);
}
