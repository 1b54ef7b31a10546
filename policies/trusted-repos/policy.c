/* trusted-repos: only images from allowed registries/images, without rejected tags (like
 * Kubewarden's). */
// SPDX-License-Identifier: Apache-2.0
#include "tg_policy.h"

/* Settings (all optional; an empty configuration allows everything):
 *   registries: {allow: [..]} or {reject: [..]}   registry host names, `*`/`?` wildcards allowed
 *   tags:       {reject: [..]}                    tags (an image without a tag is `latest`)
 *   images:     {allow: [..]} or {reject: [..]}   image references or wildcard patterns
 * Images are normalized the Docker way: `nginx` is `docker.io/library/nginx`. */

typedef struct image_ref {
  tg_str registry;
  tg_str repository;
  tg_str tag;    /* empty when absent */
  tg_str digest; /* empty when absent */
} image_ref;

static tg_str concat3(tg_str a, const char* sep, tg_str b) {
  tg_buf buf = {0, 0, 0, 0};
  tg_buf_putstr(&buf, a);
  tg_buf_puts(&buf, sep);
  tg_buf_putstr(&buf, b);
  return tg_buf_str(&buf);
}

static image_ref parse_image(tg_str s) {
  image_ref r;
  tg_str empty = {"", 0};
  r.tag = r.digest = empty;
  int64_t at = tg_str_find(s, '@');
  if (at >= 0) {
    r.digest = tg_str_sub(s, (uint32_t)at + 1, s.len);
    s = tg_str_sub(s, 0, (uint32_t)at);
  }
  int64_t slash = tg_str_rfind(s, '/');
  int64_t colon = tg_str_rfind(s, ':');
  if (colon > slash) {
    r.tag = tg_str_sub(s, (uint32_t)colon + 1, s.len);
    s = tg_str_sub(s, 0, (uint32_t)colon);
  }
  int64_t first = tg_str_find(s, '/');
  tg_str head = first >= 0 ? tg_str_sub(s, 0, (uint32_t)first) : empty;
  if (first >= 0 && (tg_str_find(head, '.') >= 0 || tg_str_find(head, ':') >= 0 ||
                     tg_str_eqc(head, "localhost"))) {
    r.registry = head;
    r.repository = tg_str_sub(s, (uint32_t)first + 1, s.len);
  } else {
    r.registry = tg_s("docker.io");
    r.repository = s;
  }
  if (tg_str_eqc(r.registry, "index.docker.io"))
    r.registry = tg_s("docker.io");
  if (tg_str_eqc(r.registry, "docker.io") && tg_str_find(r.repository, '/') < 0)
    r.repository = concat3(tg_s("library"), "/", r.repository);
  return r;
}

static tg_str registry_repository(const image_ref* r) {
  return concat3(r->registry, "/", r->repository);
}

static tg_str whole(const image_ref* r) {
  tg_str s = registry_repository(r);
  if (r->tag.len)
    s = concat3(s, ":", r->tag);
  if (r->digest.len)
    s = concat3(s, "@", r->digest);
  return s;
}

/* Glob match with `*` (any run) and `?` (one byte); iterative, O(len(p) * len(s)). */
static int wildcard_match(tg_str p, tg_str s) {
  uint32_t pi = 0, si = 0, star_p = 0, star_s = 0;
  int have_star = 0;
  while (si < s.len) {
    if (pi < p.len && (p.ptr[pi] == '?' || p.ptr[pi] == s.ptr[si])) {
      pi++, si++;
    } else if (pi < p.len && p.ptr[pi] == '*') {
      have_star = 1, star_p = pi++, star_s = si;
    } else if (have_star) {
      pi = star_p + 1, si = ++star_s;
    } else {
      return 0;
    }
  }
  while (pi < p.len && p.ptr[pi] == '*')
    pi++;
  return pi == p.len;
}

static int is_pattern(tg_str p) {
  return tg_str_find(p, '*') >= 0 || tg_str_find(p, '?') >= 0;
}

static int string_matches_any(const tg_json* list, tg_str value) {
  for (const tg_json* e = tg_json_is(list, TG_JSON_ARRAY) ? list->first : NULL; e; e = e->next) {
    if (e->type != TG_JSON_STRING)
      continue;
    if (is_pattern(e->text) ? wildcard_match(e->text, value) : tg_str_eq(e->text, value))
      return 1;
  }
  return 0;
}

static int image_matches_any(const tg_json* list, const image_ref* img) {
  tg_str img_whole = whole(img), img_rr = registry_repository(img);
  for (const tg_json* e = tg_json_is(list, TG_JSON_ARRAY) ? list->first : NULL; e; e = e->next) {
    if (e->type != TG_JSON_STRING)
      continue;
    tg_str p = e->text;
    int versioned = tg_str_find(p, ':') >= 0 || tg_str_find(p, '@') >= 0;
    if (is_pattern(p)) {
      if (wildcard_match(p, img_whole))
        return 1;
      if (!versioned && (wildcard_match(p, img_rr) || wildcard_match(p, img->repository)))
        return 1;
      continue;
    }
    image_ref want = parse_image(p);
    if (tg_str_eq(whole(&want), img_whole))
      return 1;
    /* An entry without tag or digest names every version of that repository. */
    if (!want.tag.len && !want.digest.len && tg_str_eq(registry_repository(&want), img_rr))
      return 1;
  }
  return 0;
}

static int non_empty_list(const tg_json* v) {
  return tg_json_is(v, TG_JSON_ARRAY) && v->count > 0;
}

static int allowed_by(const tg_json* section, const image_ref* img, int is_image, tg_str value) {
  const tg_json* allow = tg_json_get(section, "allow");
  const tg_json* reject = tg_json_get(section, "reject");
  int (*hit)(const tg_json*, tg_str) = string_matches_any;
  if (non_empty_list(reject) && (is_image ? image_matches_any(reject, img) : hit(reject, value)))
    return 0;
  if (non_empty_list(allow))
    return is_image ? image_matches_any(allow, img) : hit(allow, value);
  return 1;
}

/* A sorted set of strings (the messages list names sorted and once, as Kubewarden's BTreeSet). */
typedef struct str_set {
  tg_str* items;
  uint32_t count, cap;
} str_set;

static int str_cmp(tg_str a, tg_str b) {
  uint32_t n = a.len < b.len ? a.len : b.len;
  int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
  return c ? c : (a.len < b.len ? -1 : a.len > b.len);
}

static void set_add(str_set* s, tg_str v) {
  uint32_t i = 0;
  while (i < s->count && str_cmp(s->items[i], v) < 0)
    i++;
  if (i < s->count && str_cmp(s->items[i], v) == 0)
    return;
  if (s->count == s->cap) {
    uint32_t cap = s->cap ? s->cap * 2 : 8;
    tg_str* items = (tg_str*)tg_realloc(s->items, s->cap * sizeof(tg_str), cap * sizeof(tg_str));
    if (!items)
      return;
    s->items = items;
    s->cap = cap;
  }
  memmove(s->items + i + 1, s->items + i, (s->count - i) * sizeof(tg_str));
  s->items[i] = v;
  s->count++;
}

static void put_set(tg_buf* b, const char* title, const str_set* s, int* first) {
  if (!s->count)
    return;
  if (!*first)
    tg_buf_puts(b, "; ");
  *first = 0;
  tg_buf_puts(b, title);
  for (uint32_t i = 0; i < s->count; i++) {
    if (i)
      tg_buf_puts(b, ", ");
    tg_buf_putstr(b, s->items[i]);
  }
}

static void check_containers(const tg_json* list,
                             const tg_json* settings,
                             str_set* registries,
                             str_set* tags,
                             str_set* images) {
  for (const tg_json* c = tg_json_is(list, TG_JSON_ARRAY) ? list->first : NULL; c; c = c->next) {
    tg_str image = tg_json_str(tg_json_get(c, "image"));
    if (!image.ptr || !image.len)
      continue;
    image_ref ref = parse_image(image);
    tg_str tag = ref.tag.len ? ref.tag : tg_s("latest");
    if (!allowed_by(tg_json_get(settings, "registries"), &ref, 0, ref.registry))
      set_add(registries, ref.registry);
    const tg_json* rejected_tags = tg_json_path(settings, "tags.reject");
    if (string_matches_any(rejected_tags, tag))
      set_add(tags, tag);
    if (!allowed_by(tg_json_get(settings, "images"), &ref, 1, image))
      set_add(images, image);
  }
}

static int string_list_or_absent(const tg_json* v) {
  if (tg_json_is_absent(v))
    return 1;
  if (v->type != TG_JSON_ARRAY)
    return 0;
  for (const tg_json* e = v->first; e; e = e->next)
    if (e->type != TG_JSON_STRING || !e->text.len)
      return 0;
  return 1;
}

void tg_policy_validate_settings(tg_ctx* ctx) {
  static const char* const paths[] = {"registries.allow", "registries.reject", "tags.reject",
                                      "images.allow", "images.reject"};
  tg_buf msg = {0, 0, 0, 0};
  for (unsigned i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    if (string_list_or_absent(tg_settings_path(ctx, paths[i])))
      continue;
    if (msg.len)
      tg_buf_puts(&msg, ", ");
    tg_buf_puts(&msg, paths[i]);
    tg_buf_puts(&msg, " must be a list of non-empty strings");
  }
  if (non_empty_list(tg_settings_path(ctx, "registries.allow")) &&
      non_empty_list(tg_settings_path(ctx, "registries.reject"))) {
    if (msg.len)
      tg_buf_puts(&msg, ", ");
    tg_buf_puts(&msg, "only one of registries allow or reject can be provided");
  }
  if (non_empty_list(tg_settings_path(ctx, "images.allow")) &&
      non_empty_list(tg_settings_path(ctx, "images.reject"))) {
    if (msg.len)
      tg_buf_puts(&msg, ", ");
    tg_buf_puts(&msg, "only one of images allow or reject can be provided");
  }
  if (msg.len)
    tg_settings_invalid(ctx, tg_buf_str(&msg));
  else
    tg_settings_valid(ctx);
}

void tg_policy_validate(tg_ctx* ctx) {
  const tg_json* spec = tg_request_pod_spec(ctx);
  if (!spec) {
    tg_accept(ctx);
    return;
  }
  str_set registries = {0, 0, 0}, tags = {0, 0, 0}, images = {0, 0, 0};
  check_containers(tg_json_get(spec, "initContainers"), ctx->settings, &registries, &tags, &images);
  check_containers(tg_json_get(spec, "ephemeralContainers"), ctx->settings, &registries, &tags,
                   &images);
  check_containers(tg_json_get(spec, "containers"), ctx->settings, &registries, &tags, &images);
  if (!registries.count && !tags.count && !images.count) {
    tg_accept(ctx);
    return;
  }
  tg_buf msg = {0, 0, 0, 0};
  int first = 1;
  tg_buf_puts(&msg, "not allowed, reported errors: ");
  put_set(&msg, "registries not allowed: ", &registries, &first);
  put_set(&msg, "tags not allowed: ", &tags, &first);
  put_set(&msg, "images not allowed: ", &images, &first);
  tg_reject(ctx, tg_buf_str(&msg), 0);
}
