/* pod-privileged: rejects workloads with privileged containers, like Kubewarden's pod-privileged.
 */
// SPDX-License-Identifier: Apache-2.0
#include "tg_policy.h"

/* Settings (all optional): skip_init_containers, skip_ephemeral_containers (booleans). */

static int settings_flag(tg_ctx* ctx, const char* key) {
  return tg_json_is_true(tg_json_get(ctx->settings, key));
}

/* True when any container in list has securityContext.privileged == true. */
static int any_privileged(const tg_json* list) {
  if (!tg_json_is(list, TG_JSON_ARRAY))
    return 0;
  for (const tg_json* c = list->first; c; c = c->next)
    if (tg_json_is_true(tg_json_path(c, "securityContext.privileged")))
      return 1;
  return 0;
}

static const char* check_settings(const tg_json* s) {
  static const char* const keys[] = {"skip_init_containers", "skip_ephemeral_containers"};
  if (s->type != TG_JSON_OBJECT)
    return "settings must be an object";
  for (unsigned i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    const tg_json* v = tg_json_get(s, keys[i]);
    if (v && v->type != TG_JSON_TRUE && v->type != TG_JSON_FALSE && v->type != TG_JSON_NULL)
      return i == 0 ? "skip_init_containers must be a boolean"
                    : "skip_ephemeral_containers must be a boolean";
  }
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
  const tg_json* spec = tg_request_pod_spec(ctx);
  if (!spec) {
    tg_accept(ctx); /* nothing to check: not a pod-bearing object, or a DELETE */
    return;
  }
  if (any_privileged(tg_json_get(spec, "containers"))) {
    tg_rejectc(ctx, "Privileged container is not allowed", 0);
  } else if (!settings_flag(ctx, "skip_init_containers") &&
             any_privileged(tg_json_get(spec, "initContainers"))) {
    tg_rejectc(ctx, "Privileged init container is not allowed", 0);
  } else if (!settings_flag(ctx, "skip_ephemeral_containers") &&
             any_privileged(tg_json_get(spec, "ephemeralContainers"))) {
    tg_rejectc(ctx, "Privileged ephemeral container is not allowed", 0);
  } else {
    tg_accept(ctx);
  }
}
