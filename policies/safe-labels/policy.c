/* safe-labels: denied, mandatory and pattern-constrained labels, like Kubewarden's safe-labels. */
// SPDX-License-Identifier: Apache-2.0
#include "tg_policy.h"

/* Settings (all optional):
 *   denied_labels:      [name, ...]        labels that must not be present
 *   mandatory_labels:   [name, ...]        labels that must be present
 *   constrained_labels: {name: "regex"}    when present, the value must match the regex
 * Regexes are evaluated by the host's `regex` capability (RE2, search semantics: the pattern
 * may match anywhere in the value, as Go's regexp.Match in Kubewarden's policy). */

static int contains(const tg_json* list, tg_str name) {
  if (!tg_json_is(list, TG_JSON_ARRAY))
    return 0;
  for (const tg_json* e = list->first; e; e = e->next)
    if (e->type == TG_JSON_STRING && tg_str_eq(e->text, name))
      return 1;
  return 0;
}

static int is_string_list(const tg_json* v) {
  if (tg_json_is_absent(v))
    return 1;
  if (v->type != TG_JSON_ARRAY)
    return 0;
  for (const tg_json* e = v->first; e; e = e->next)
    if (e->type != TG_JSON_STRING)
      return 0;
  return 1;
}

/* Appends "<sep><name>" using sep only after the first name. */
static void add_name(tg_buf* b, tg_str name, int* first) {
  if (!*first)
    tg_buf_putc(b, ',');
  tg_buf_putstr(b, name);
  *first = 0;
}

void tg_policy_validate_settings(tg_ctx* ctx) {
  const tg_json* denied = tg_json_get(ctx->settings, "denied_labels");
  const tg_json* mandatory = tg_json_get(ctx->settings, "mandatory_labels");
  const tg_json* constrained = tg_json_get(ctx->settings, "constrained_labels");
  tg_buf msg = {0, 0, 0, 0};
  tg_buf_puts(&msg, "Provided settings are not valid: ");
  size_t prefix = msg.len;
  if (!is_string_list(denied))
    tg_buf_puts(&msg, "denied_labels must be a list of strings");
  else if (!is_string_list(mandatory))
    tg_buf_puts(&msg, "mandatory_labels must be a list of strings");
  else if (!tg_json_is_absent(constrained) && constrained->type != TG_JSON_OBJECT)
    tg_buf_puts(&msg, "constrained_labels must be an object of label name to regular expression");
  if (msg.len != prefix) {
    tg_settings_invalid(ctx, tg_buf_str(&msg));
    return;
  }
  /* Every pattern must compile: ask the host to run it once. */
  for (const tg_json* c = constrained ? constrained->first : NULL; c; c = c->next) {
    tg_str err = {NULL, 0};
    if (c->type != TG_JSON_STRING) {
      tg_buf_puts(&msg, "constrained label \"");
      tg_buf_putstr(&msg, c->key);
      tg_buf_puts(&msg, "\" must be a regular expression string");
    } else if (tg_regex_match(c->text, tg_s(""), &err) < 0) {
      tg_buf_puts(&msg, "constrained label \"");
      tg_buf_putstr(&msg, c->key);
      tg_buf_puts(&msg, "\": ");
      tg_buf_putstr(&msg, err);
    }
    if (msg.len != prefix) {
      tg_settings_invalid(ctx, tg_buf_str(&msg));
      return;
    }
  }
  /* The same label cannot be denied and also constrained or mandatory. */
  int first = 1;
  for (const tg_json* c = constrained ? constrained->first : NULL; c; c = c->next) {
    if (!contains(denied, c->key))
      continue;
    if (first)
      tg_buf_puts(&msg, "These labels cannot be constrained and denied at the same time: ");
    add_name(&msg, c->key, &first);
  }
  int first_mandatory = 1;
  for (const tg_json* m = mandatory ? mandatory->first : NULL; m; m = m->next) {
    if (!contains(denied, m->text))
      continue;
    if (first_mandatory) {
      if (!first)
        tg_buf_puts(&msg, "; ");
      tg_buf_puts(&msg, "These labels cannot be mandatory and denied at the same time: ");
    }
    add_name(&msg, m->text, &first_mandatory);
  }
  if (msg.len != prefix)
    tg_settings_invalid(ctx, tg_buf_str(&msg));
  else
    tg_settings_valid(ctx);
}

void tg_policy_validate(tg_ctx* ctx) {
  const tg_json* denied = tg_json_get(ctx->settings, "denied_labels");
  const tg_json* mandatory = tg_json_get(ctx->settings, "mandatory_labels");
  const tg_json* constrained = tg_json_get(ctx->settings, "constrained_labels");
  const tg_json* object = tg_request_object(ctx);
  if (!object) {
    tg_accept(ctx); /* DELETE: nothing is being labelled */
    return;
  }
  const tg_json* labels = tg_json_path(object, "metadata.labels");
  tg_buf denied_msg = {0, 0, 0, 0}, constrained_msg = {0, 0, 0, 0}, missing_msg = {0, 0, 0, 0};
  int first_denied = 1, first_constrained = 1, first_missing = 1;
  for (const tg_json* l = tg_json_is(labels, TG_JSON_OBJECT) ? labels->first : NULL; l;
       l = l->next) {
    if (contains(denied, l->key)) {
      add_name(&denied_msg, l->key, &first_denied);
      continue;
    }
    const tg_json* pattern = tg_json_getn(constrained, l->key);
    if (!pattern || pattern->type != TG_JSON_STRING)
      continue;
    tg_str err = {NULL, 0};
    int m = tg_regex_match(pattern->text, tg_json_str(l), &err);
    if (m < 0) {
      tg_buf e = {0, 0, 0, 0};
      tg_buf_puts(&e, "cannot evaluate the constraint of label ");
      tg_buf_putstr(&e, l->key);
      tg_buf_puts(&e, ": ");
      tg_buf_putstr(&e, err);
      tg_reject(ctx, tg_buf_str(&e), 500);
      return;
    }
    if (!m)
      add_name(&constrained_msg, l->key, &first_constrained);
  }
  for (const tg_json* m = tg_json_is(mandatory, TG_JSON_ARRAY) ? mandatory->first : NULL; m;
       m = m->next)
    if (m->type == TG_JSON_STRING && !tg_json_getn(labels, m->text))
      add_name(&missing_msg, m->text, &first_missing);

  tg_buf msg = {0, 0, 0, 0};
  if (denied_msg.len) {
    tg_buf_puts(&msg, "The following labels are denied: ");
    tg_buf_putstr(&msg, tg_buf_str(&denied_msg));
  }
  if (constrained_msg.len) {
    if (msg.len)
      tg_buf_puts(&msg, ". ");
    tg_buf_puts(&msg, "The following labels are violating user constraints: ");
    tg_buf_putstr(&msg, tg_buf_str(&constrained_msg));
  }
  if (missing_msg.len) {
    if (msg.len)
      tg_buf_puts(&msg, ". ");
    tg_buf_puts(&msg, "The following mandatory labels are missing: ");
    tg_buf_putstr(&msg, tg_buf_str(&missing_msg));
  }
  if (msg.len)
    tg_reject(ctx, tg_buf_str(&msg), 0);
  else
    tg_accept(ctx);
}
