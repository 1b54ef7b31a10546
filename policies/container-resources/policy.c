/* container-resources: fills in default requests/limits and caps limits (after Kubewarden's
 * policy). */
// SPDX-License-Identifier: Apache-2.0
#include "tg_policy.h"

/* Settings:
 *   cpu:    {defaultRequest, defaultLimit, maxLimit}   Kubernetes quantities, all optional
 *   memory: {defaultRequest, defaultLimit, maxLimit}
 *   ignoreImages: ["registry/image:tag", "prefix*"]     containers left alone
 * At least one of cpu and memory is required. For every container (not init/ephemeral, as in
 * Kubewarden's policy), memory then cpu:
 *   - a missing limit is set to defaultLimit; a present one must not exceed maxLimit;
 *   - a missing request is set to defaultRequest;
 *   - after a default was filled in, the request must not exceed the limit.
 * Rejections use code 400, like the upstream policy. */

static const char* const kResources[] = {"memory", "cpu"};

/* Parses a Kubernetes quantity ("500m", "1Gi", "1e3", "2") into base units. */
static int parse_quantity(tg_str s, double* out) {
  uint32_t i = 0;
  double sign = 1, v = 0, scale = 1;
  int digits = 0;
  if (i < s.len && (s.ptr[i] == '+' || s.ptr[i] == '-'))
    sign = s.ptr[i++] == '-' ? -1 : 1;
  while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9')
    v = v * 10 + (s.ptr[i++] - '0'), digits++;
  if (i < s.len && s.ptr[i] == '.') {
    i++;
    while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9')
      v += (s.ptr[i++] - '0') * (scale /= 10), digits++;
  }
  if (!digits)
    return 0;
  tg_str suffix = tg_str_sub(s, i, s.len);
  static const struct {
    const char* name;
    double factor;
  } kSuffixes[] = {{"", 1},
                   {"n", 1e-9},
                   {"u", 1e-6},
                   {"m", 1e-3},
                   {"k", 1e3},
                   {"M", 1e6},
                   {"G", 1e9},
                   {"T", 1e12},
                   {"P", 1e15},
                   {"E", 1e18},
                   {"Ki", 1024.0},
                   {"Mi", 1048576.0},
                   {"Gi", 1073741824.0},
                   {"Ti", 1099511627776.0},
                   {"Pi", 1125899906842624.0},
                   {"Ei", 1152921504606846976.0}};
  for (unsigned k = 0; k < sizeof kSuffixes / sizeof kSuffixes[0]; k++) {
    if (tg_str_eqc(suffix, kSuffixes[k].name)) {
      *out = sign * v * kSuffixes[k].factor;
      return 1;
    }
  }
  /* Decimal exponent: 1e3, 1E-2. */
  if (suffix.len >= 2 && (suffix.ptr[0] == 'e' || suffix.ptr[0] == 'E')) {
    uint32_t j = 1;
    int neg = 0, e = 0, edigits = 0;
    if (suffix.ptr[j] == '+' || suffix.ptr[j] == '-')
      neg = suffix.ptr[j++] == '-';
    while (j < suffix.len && suffix.ptr[j] >= '0' && suffix.ptr[j] <= '9' && e < 1000)
      e = e * 10 + (suffix.ptr[j++] - '0'), edigits++;
    if (!edigits || j != suffix.len)
      return 0;
    double f = 1;
    while (e--)
      f = neg ? f / 10 : f * 10;
    *out = sign * v * f;
    return 1;
  }
  return 0;
}

/* The textual quantity of a JSON value: a string as is, a number by its literal. */
static tg_str quantity_text(const tg_json* v) {
  tg_str none = {NULL, 0};
  if (tg_json_is(v, TG_JSON_STRING) || tg_json_is(v, TG_JSON_NUMBER))
    return v->text;
  return none;
}

static int quantity_missing(const tg_json* v) {
  tg_str t = quantity_text(v);
  for (uint32_t i = 0; i < t.len; i++)
    if (t.ptr[i] != ' ' && t.ptr[i] != '\t')
      return 0;
  return 1;
}

static void settings_error(tg_buf* b, const char* resource, const char* what, const char* more) {
  if (b->len)
    return; /* report the first problem only */
  tg_buf_puts(b, "Provided settings are not valid: invalid ");
  tg_buf_puts(b, resource);
  tg_buf_puts(b, " settings: ");
  tg_buf_puts(b, what);
  tg_buf_puts(b, more);
}

void tg_policy_validate_settings(tg_ctx* ctx) {
  static const char* const kFields[] = {"defaultRequest", "defaultLimit", "maxLimit"};
  tg_buf msg = {0, 0, 0, 0};
  int configured = 0;
  for (unsigned r = 0; r < 2; r++) {
    const tg_json* cfg = tg_json_get(ctx->settings, kResources[r]);
    if (tg_json_is_absent(cfg))
      continue;
    if (cfg->type != TG_JSON_OBJECT) {
      settings_error(&msg, kResources[r], "must be an object", "");
      continue;
    }
    double q[3];
    int set[3];
    for (unsigned f = 0; f < 3; f++) {
      const tg_json* v = tg_json_get(cfg, kFields[f]);
      set[f] = !tg_json_is_absent(v);
      if (set[f] && !parse_quantity(quantity_text(v), &q[f])) {
        settings_error(&msg, kResources[r], kFields[f], " is not a valid quantity");
      }
    }
    if (!set[0] && !set[1] && !set[2])
      settings_error(&msg, kResources[r], "all the quantities are empty", "");
    if (msg.len)
      continue;
    configured = 1;
    /* defaultRequest <= defaultLimit <= maxLimit, where both sides are given. */
    for (unsigned lo = 0; lo < 3; lo++)
      for (unsigned hi = lo + 1; hi < 3; hi++)
        if (set[lo] && set[hi] && q[lo] > q[hi] && !msg.len) {
          settings_error(&msg, kResources[r], kFields[lo], " cannot be greater than ");
          tg_buf_puts(&msg, kFields[hi]);
        }
  }
  if (!msg.len && !configured)
    tg_buf_puts(&msg,
                "Provided settings are not valid: no settings provided. At least one resource "
                "limit or request must be verified");
  const tg_json* ignore = tg_json_get(ctx->settings, "ignoreImages");
  if (!msg.len && !tg_json_is_absent(ignore)) {
    int ok = ignore->type == TG_JSON_ARRAY;
    for (const tg_json* e = ok ? ignore->first : NULL; e; e = e->next)
      if (e->type != TG_JSON_STRING)
        ok = 0;
    if (!ok)
      tg_buf_puts(&msg, "Provided settings are not valid: ignoreImages must be a list of strings");
  }
  if (msg.len)
    tg_settings_invalid(ctx, tg_buf_str(&msg));
  else
    tg_settings_valid(ctx);
}

static int ignored(const tg_json* ignore, tg_str image) {
  for (const tg_json* e = tg_json_is(ignore, TG_JSON_ARRAY) ? ignore->first : NULL; e;
       e = e->next) {
    tg_str p = tg_json_str(e);
    if (!p.ptr)
      continue;
    if (p.len && p.ptr[p.len - 1] == '*') {
      if (tg_str_has_prefix(image, tg_str_sub(p, 0, p.len - 1)))
        return 1;
    } else if (tg_str_eq(p, image)) {
      return 1;
    }
  }
  return 0;
}

/* Sets container.resources.<section>.<resource> = value, creating the objects on demand. */
static int set_quantity(tg_json* container,
                        const char* section,
                        const char* resource,
                        tg_str value) {
  tg_json* res = tg_json_ensure_object(container, "resources");
  tg_json* sec = tg_json_ensure_object(res, section);
  tg_json* v = tg_json_new_str(value);
  return sec && v && tg_json_set(sec, resource, v);
}

/* Builds a rejection message in msg; returns 0 so callers can `return fail(...)`. */
static int fail(tg_buf* msg, const char* a, tg_str b, const char* c, tg_str d, const char* e) {
  tg_buf_puts(msg, a);
  tg_buf_putstr(msg, b);
  tg_buf_puts(msg, c);
  tg_buf_putstr(msg, d);
  tg_buf_puts(msg, e);
  return 0;
}

/* Applies one resource's configuration to a container. Returns 0 with msg set on rejection. */
static int adjust(tg_json* container,
                  const char* resource,
                  const tg_json* cfg,
                  int* mutated,
                  tg_buf* msg) {
  const tg_json* limit = tg_json_path(container, "resources.limits");
  limit = tg_json_get(limit, resource);
  const tg_json* request = tg_json_get(tg_json_path(container, "resources.requests"), resource);
  tg_str default_limit = quantity_text(tg_json_get(cfg, "defaultLimit"));
  tg_str default_request = quantity_text(tg_json_get(cfg, "defaultRequest"));
  tg_str max_limit = quantity_text(tg_json_get(cfg, "maxLimit"));
  tg_str res = tg_s(resource);
  int filled = 0;
  if (quantity_missing(limit)) {
    if (default_limit.len) {
      if (!set_quantity(container, "limits", resource, default_limit))
        return fail(msg, "out of memory", tg_s(""), "", tg_s(""), "");
      filled = 1;
    }
  } else if (max_limit.len) {
    double have, max;
    if (!parse_quantity(quantity_text(limit), &have))
      return fail(msg, "invalid ", res, " limit", tg_s(""), "");
    if (parse_quantity(max_limit, &max) && have > max) {
      fail(msg, "", res, " limit '", quantity_text(limit), "' exceeds the max allowed value '");
      tg_buf_putstr(msg, max_limit);
      tg_buf_putc(msg, '\'');
      return 0;
    }
  }
  if (quantity_missing(request) && default_request.len) {
    if (!set_quantity(container, "requests", resource, default_request))
      return fail(msg, "out of memory", tg_s(""), "", tg_s(""), "");
    filled = 1;
  }
  if (filled) {
    *mutated = 1;
    /* A default must not leave the request above the limit: Kubernetes would refuse the pod. */
    tg_str l = quantity_text(tg_json_get(tg_json_path(container, "resources.limits"), resource));
    tg_str r = quantity_text(tg_json_get(tg_json_path(container, "resources.requests"), resource));
    double lv, rv;
    if (l.len && r.len && parse_quantity(l, &lv) && parse_quantity(r, &rv) && lv < rv) {
      fail(msg, "There is an issue after resource mutation: ", res, " limit '", l,
           "' is less than the requested '");
      tg_buf_putstr(msg, r);
      tg_buf_puts(msg, "' value");
      return 0;
    }
  }
  return 1;
}

void tg_policy_validate(tg_ctx* ctx) {
  tg_json* spec = tg_request_pod_spec(ctx);
  const tg_json* ignore = tg_json_get(ctx->settings, "ignoreImages");
  const tg_json* containers = tg_json_get(spec, "containers");
  int mutated = 0;
  tg_buf msg = {0, 0, 0, 0};
  for (tg_json* c = tg_json_is(containers, TG_JSON_ARRAY) ? containers->first : NULL; c;
       c = c->next) {
    if (c->type != TG_JSON_OBJECT || ignored(ignore, tg_json_str(tg_json_get(c, "image"))))
      continue;
    for (unsigned r = 0; r < 2; r++) {
      const tg_json* cfg = tg_json_get(ctx->settings, kResources[r]);
      if (!tg_json_is(cfg, TG_JSON_OBJECT))
        continue;
      if (!adjust(c, kResources[r], cfg, &mutated, &msg)) {
        tg_reject(ctx, tg_buf_str(&msg), 400);
        return;
      }
    }
  }
  if (mutated)
    tg_mutate(ctx, tg_request_object(ctx));
  else
    tg_accept(ctx);
}
