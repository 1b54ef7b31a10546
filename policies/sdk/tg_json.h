/* tollgate policy SDK: a small, strict, non-recursive JSON reader/writer for wasm guests. */
// SPDX-License-Identifier: Apache-2.0
#ifndef TOLLGATE_POLICY_SDK_TG_JSON_H
#define TOLLGATE_POLICY_SDK_TG_JSON_H

/* Design notes:
 * - The document is a tree of tg_json nodes allocated from the arena (tg_mem.h).
 * - Parsing and writing walk the tree with parent pointers, never with C recursion, so a
 *   hostile `[[[[...]]]]` cannot overflow the guest's shadow stack; memory use is linear in
 *   the input size and an exhausted arena is reported as an error, not a trap.
 * - The grammar is RFC 8259 exactly: no comments, no trailing commas, no leading zeros, no
 *   control characters or lone surrogates in strings, nothing after the top-level value.
 * - Strings without escapes point into the input buffer (the payload lives for the whole call).
 * - Numbers keep their literal text, so an untouched number is written back byte-for-byte.
 * - Objects keep member order; lookups return the LAST duplicate, as serde_json does. */

#include "tg_mem.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tg_str {
  const char* ptr;
  uint32_t len;
} tg_str;

typedef enum tg_type {
  TG_JSON_NULL,
  TG_JSON_FALSE,
  TG_JSON_TRUE,
  TG_JSON_NUMBER,
  TG_JSON_STRING,
  TG_JSON_ARRAY,
  TG_JSON_OBJECT
} tg_type;

typedef struct tg_json {
  tg_type type;
  uint32_t count;         /* number of children (array/object) */
  struct tg_json* parent; /* container holding this node, NULL for a root */
  struct tg_json* next;   /* next sibling */
  struct tg_json* first;  /* first child */
  struct tg_json* last;   /* last child */
  tg_str key;             /* member name when the parent is an object */
  tg_str text;            /* decoded string, or the literal text of a number */
} tg_json;

/* ---- strings ---------------------------------------------------------------------------- */

static uint32_t tg_strlen(const char* s) {
  uint32_t n = 0;
  while (s && s[n])
    n++;
  return n;
}
static tg_str tg_s(const char* s) {
  tg_str r = {s, tg_strlen(s)};
  return r;
}
static int tg_str_eq(tg_str a, tg_str b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}
static int tg_str_eqc(tg_str a, const char* b) {
  return tg_str_eq(a, tg_s(b));
}
static int tg_str_has_prefix(tg_str s, tg_str p) {
  return s.len >= p.len && (p.len == 0 || memcmp(s.ptr, p.ptr, p.len) == 0);
}
static int tg_str_has_suffix(tg_str s, tg_str p) {
  return s.len >= p.len && (p.len == 0 || memcmp(s.ptr + s.len - p.len, p.ptr, p.len) == 0);
}
/* Index of the first byte c in s, or -1. */
static int64_t tg_str_find(tg_str s, char c) {
  for (uint32_t i = 0; i < s.len; i++)
    if (s.ptr[i] == c)
      return i;
  return -1;
}
static int64_t tg_str_rfind(tg_str s, char c) {
  for (uint32_t i = s.len; i > 0; i--)
    if (s.ptr[i - 1] == c)
      return i - 1;
  return -1;
}
static tg_str tg_str_sub(tg_str s, uint32_t from, uint32_t to) {
  if (to > s.len)
    to = s.len;
  if (from > to)
    from = to;
  tg_str r = {s.ptr + from, to - from};
  return r;
}

/* ---- growable output buffer ------------------------------------------------------------- */

typedef struct tg_buf {
  char* data;
  size_t len;
  size_t cap;
  int oom; /* set once an append failed; later appends are ignored */
} tg_buf;

static void tg_buf_put(tg_buf* b, const char* p, size_t n) {
  if (b->oom || n == 0)
    return;
  if (b->cap - b->len < n) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n) {
      if (cap > TG_MAX_ALLOC / 2) {
        b->oom = 1;
        return;
      }
      cap *= 2;
    }
    char* d = (char*)tg_realloc(b->data, b->len, cap);
    if (!d) {
      b->oom = 1;
      return;
    }
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
}
static void tg_buf_putc(tg_buf* b, char c) {
  tg_buf_put(b, &c, 1);
}
static void tg_buf_puts(tg_buf* b, const char* s) {
  tg_buf_put(b, s, tg_strlen(s));
}
static void tg_buf_putstr(tg_buf* b, tg_str s) {
  tg_buf_put(b, s.ptr, s.len);
}
static void tg_buf_putu(tg_buf* b, uint64_t v) {
  char tmp[20];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n)
    tg_buf_putc(b, tmp[--n]);
}
static void tg_buf_puti(tg_buf* b, int64_t v) {
  if (v < 0) {
    tg_buf_putc(b, '-');
    tg_buf_putu(b, (uint64_t)0 - (uint64_t)v);
  } else {
    tg_buf_putu(b, (uint64_t)v);
  }
}
static tg_str tg_buf_str(const tg_buf* b) {
  tg_str r = {b->data, (uint32_t)b->len};
  return r;
}
/* Writes s as a JSON string literal (quotes included). */
static void tg_buf_put_json_string(tg_buf* b, tg_str s) {
  static const char hex[] = "0123456789abcdef";
  tg_buf_putc(b, '"');
  uint32_t run = 0; /* start of the pending run of bytes that need no escaping */
  for (uint32_t i = 0; i < s.len; i++) {
    unsigned char c = (unsigned char)s.ptr[i];
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    tg_buf_put(b, s.ptr + run, i - run);
    run = i + 1;
    char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
    switch (c) {
      case '"':
        tg_buf_put(b, "\\\"", 2);
        break;
      case '\\':
        tg_buf_put(b, "\\\\", 2);
        break;
      case '\n':
        tg_buf_put(b, "\\n", 2);
        break;
      case '\r':
        tg_buf_put(b, "\\r", 2);
        break;
      case '\t':
        tg_buf_put(b, "\\t", 2);
        break;
      case '\b':
        tg_buf_put(b, "\\b", 2);
        break;
      case '\f':
        tg_buf_put(b, "\\f", 2);
        break;
      default:
        tg_buf_put(b, esc, 6);
        break;
    }
  }
  tg_buf_put(b, s.ptr + run, s.len - run);
  tg_buf_putc(b, '"');
}

/* ---- construction ----------------------------------------------------------------------- */

static tg_json* tg_json_new(tg_type type) {
  tg_json* v = (tg_json*)tg_alloc_zeroed(sizeof(tg_json));
  if (v)
    v->type = type;
  return v;
}
/* The bytes are referenced, not copied: they must outlive the evaluation (literals, payload). */
static tg_json* tg_json_new_str(tg_str s) {
  tg_json* v = tg_json_new(TG_JSON_STRING);
  if (v)
    v->text = s;
  return v;
}
static tg_json* tg_json_new_cstr(const char* s) {
  return tg_json_new_str(tg_s(s));
}
static tg_json* tg_json_new_bool(int b) {
  return tg_json_new(b ? TG_JSON_TRUE : TG_JSON_FALSE);
}
static tg_json* tg_json_new_int(int64_t n) {
  tg_buf b = {0, 0, 0, 0};
  tg_buf_puti(&b, n);
  if (b.oom)
    return NULL;
  tg_json* v = tg_json_new(TG_JSON_NUMBER);
  if (v)
    v->text = tg_buf_str(&b);
  return v;
}

static void tg_json__link(tg_json* parent, tg_json* v) {
  v->parent = parent;
  v->next = NULL;
  if (parent->last)
    parent->last->next = v;
  else
    parent->first = v;
  parent->last = v;
  parent->count++;
}
/* Appends v to an array; returns 0 when arr is not an array or v is NULL. */
static int tg_json_append(tg_json* arr, tg_json* v) {
  if (!arr || !v || arr->type != TG_JSON_ARRAY)
    return 0;
  v->key.ptr = NULL;
  v->key.len = 0;
  tg_json__link(arr, v);
  return 1;
}

/* ---- lookup ----------------------------------------------------------------------------- */

static tg_json* tg_json_getn(const tg_json* obj, tg_str key) {
  tg_json* found = NULL;
  if (!obj || obj->type != TG_JSON_OBJECT)
    return NULL;
  for (tg_json* c = obj->first; c; c = c->next)
    if (tg_str_eq(c->key, key))
      found = c;
  return found;
}
static tg_json* tg_json_get(const tg_json* obj, const char* key) {
  return tg_json_getn(obj, tg_s(key));
}
static tg_json* tg_json_at(const tg_json* arr, uint32_t index) {
  if (!arr || arr->type != TG_JSON_ARRAY)
    return NULL;
  tg_json* c = arr->first;
  while (c && index--)
    c = c->next;
  return c;
}

/* Dotted path lookup: "object.metadata.labels", "spec.containers.0.image". A segment that is
 * all digits indexes an array; "\." puts a literal dot in a key
 * ("metadata.labels.app\.kubernetes\.io/name"). Returns NULL when any step is missing. */
static tg_json* tg_json_path(const tg_json* v, const char* path) {
  const char* p = path;
  tg_json* cur = (tg_json*)v;
  while (cur && *p) {
    char seg_buf[256];
    uint32_t n = 0;
    int digits = 1;
    while (*p && *p != '.') {
      char c = *p++;
      if (c == '\\' && *p)
        c = *p++;
      if (c < '0' || c > '9')
        digits = 0;
      if (n >= sizeof(seg_buf))
        return NULL;
      seg_buf[n++] = c;
    }
    if (*p == '.')
      p++;
    tg_str seg = {seg_buf, n};
    if (cur->type == TG_JSON_ARRAY && digits && n > 0 && n < 10) {
      uint32_t idx = 0;
      for (uint32_t i = 0; i < n; i++)
        idx = idx * 10 + (uint32_t)(seg_buf[i] - '0');
      cur = tg_json_at(cur, idx);
    } else {
      cur = tg_json_getn(cur, seg);
    }
  }
  return cur;
}

static int tg_json_is(const tg_json* v, tg_type t) {
  return v && v->type == t;
}
/* Only JSON `true` counts as true (a string "true" does not). */
static int tg_json_is_true(const tg_json* v) {
  return v && v->type == TG_JSON_TRUE;
}
/* Missing or null: what Kubernetes treats as "unset". */
static int tg_json_is_absent(const tg_json* v) {
  return !v || v->type == TG_JSON_NULL;
}
/* The string value, or {NULL,0} when v is not a string. */
static tg_str tg_json_str(const tg_json* v) {
  tg_str none = {NULL, 0};
  return v && v->type == TG_JSON_STRING ? v->text : none;
}
/* Parses an integral number into *out; returns 0 for non-integers or out-of-range values. */
static int tg_json_int(const tg_json* v, int64_t* out) {
  if (!v || v->type != TG_JSON_NUMBER)
    return 0;
  tg_str t = v->text;
  uint32_t i = 0;
  int neg = 0;
  uint64_t acc = 0;
  if (i < t.len && t.ptr[i] == '-')
    neg = 1, i++;
  if (i == t.len)
    return 0;
  for (; i < t.len; i++) {
    char c = t.ptr[i];
    if (c < '0' || c > '9')
      return 0;
    if (acc > (UINT64_C(9223372036854775807) - (uint64_t)(c - '0')) / 10)
      return 0;
    acc = acc * 10 + (uint64_t)(c - '0');
  }
  *out = neg ? -(int64_t)acc : (int64_t)acc;
  return 1;
}

/* ---- mutation --------------------------------------------------------------------------- */

/* Sets obj[key] = v, replacing an existing member in place (keeping its position) or
 * appending a new one. The key bytes are referenced, not copied. Returns 0 on bad input. */
static int tg_json_setn(tg_json* obj, tg_str key, tg_json* v) {
  if (!obj || !v || obj->type != TG_JSON_OBJECT)
    return 0;
  v->key = key;
  tg_json* prev = NULL;
  for (tg_json* c = obj->first; c; prev = c, c = c->next) {
    if (!tg_str_eq(c->key, key))
      continue;
    v->parent = obj;
    v->next = c->next;
    if (prev)
      prev->next = v;
    else
      obj->first = v;
    if (obj->last == c)
      obj->last = v;
    c->parent = NULL;
    c->next = NULL;
    return 1;
  }
  tg_json__link(obj, v);
  return 1;
}
static int tg_json_set(tg_json* obj, const char* key, tg_json* v) {
  return tg_json_setn(obj, tg_s(key), v);
}
/* Returns obj[key] when it is an object, otherwise creates (or replaces a null/scalar with) an
 * empty object there. NULL when obj is not an object or memory ran out. */
static tg_json* tg_json_ensure_object(tg_json* obj, const char* key) {
  tg_json* cur = tg_json_get(obj, key);
  if (cur && cur->type == TG_JSON_OBJECT)
    return cur;
  if (!obj || obj->type != TG_JSON_OBJECT)
    return NULL;
  tg_json* fresh = tg_json_new(TG_JSON_OBJECT);
  if (!fresh || !tg_json_set(obj, key, fresh))
    return NULL;
  return fresh;
}

/* ---- parsing ---------------------------------------------------------------------------- */

typedef struct tg_json_error {
  const char* message; /* static text, NULL when parsing succeeded */
  size_t offset;       /* byte offset in the input */
} tg_json_error;

static int tg_json__hex4(const char* p, uint32_t* out) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f')
      v |= (uint32_t)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      v |= (uint32_t)(c - 'A' + 10);
    else
      return 0;
  }
  *out = v;
  return 1;
}

/* Parses the string literal starting at s[*pos] == '"'; advances *pos past the closing quote. */
static const char* tg_json__string(const char* s, size_t n, size_t* pos, tg_str* out) {
  size_t i = *pos + 1;
  size_t start = i;
  int escaped = 0;
  for (;;) {
    if (i >= n)
      return "unterminated string";
    unsigned char c = (unsigned char)s[i];
    if (c == '"')
      break;
    if (c < 0x20)
      return "control character in string";
    if (c == '\\') {
      escaped = 1;
      i++;
      if (i >= n)
        return "unterminated string";
    }
    i++;
  }
  size_t end = i; /* index of the closing quote */
  if (end - start > 0xffffffffu)
    return "string too long";
  if (!escaped) {
    out->ptr = s + start;
    out->len = (uint32_t)(end - start);
    *pos = end + 1;
    return NULL;
  }
  char* d = (char*)tg_alloc(end - start);
  if (!d)
    return "out of memory";
  uint32_t m = 0;
  for (i = start; i < end;) {
    char c = s[i++];
    if (c != '\\') {
      d[m++] = c;
      continue;
    }
    char e = s[i++];
    switch (e) {
      case '"':
        d[m++] = '"';
        break;
      case '\\':
        d[m++] = '\\';
        break;
      case '/':
        d[m++] = '/';
        break;
      case 'b':
        d[m++] = '\b';
        break;
      case 'f':
        d[m++] = '\f';
        break;
      case 'n':
        d[m++] = '\n';
        break;
      case 'r':
        d[m++] = '\r';
        break;
      case 't':
        d[m++] = '\t';
        break;
      case 'u': {
        uint32_t cp;
        if (end - i < 4 || !tg_json__hex4(s + i, &cp))
          return "invalid \\u escape";
        i += 4;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
          return "lone surrogate in \\u escape";
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t lo;
          if (end - i < 6 || s[i] != '\\' || s[i + 1] != 'u' || !tg_json__hex4(s + i + 2, &lo) ||
              lo < 0xDC00 || lo > 0xDFFF)
            return "lone surrogate in \\u escape";
          i += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        /* A \u escape is 6 input bytes and at most 4 output bytes, so d never overflows. */
        if (cp < 0x80) {
          d[m++] = (char)cp;
        } else if (cp < 0x800) {
          d[m++] = (char)(0xC0 | (cp >> 6));
          d[m++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
          d[m++] = (char)(0xE0 | (cp >> 12));
          d[m++] = (char)(0x80 | ((cp >> 6) & 0x3F));
          d[m++] = (char)(0x80 | (cp & 0x3F));
        } else {
          d[m++] = (char)(0xF0 | (cp >> 18));
          d[m++] = (char)(0x80 | ((cp >> 12) & 0x3F));
          d[m++] = (char)(0x80 | ((cp >> 6) & 0x3F));
          d[m++] = (char)(0x80 | (cp & 0x3F));
        }
        break;
      }
      default:
        return "invalid escape in string";
    }
  }
  out->ptr = d;
  out->len = m;
  *pos = end + 1;
  return NULL;
}

static const char* tg_json__number(const char* s, size_t n, size_t* pos, tg_str* out) {
  size_t i = *pos;
  size_t start = i;
#define TG_DIGIT(k) ((k) < n && s[(k)] >= '0' && s[(k)] <= '9')
  if (i < n && s[i] == '-')
    i++;
  if (!TG_DIGIT(i))
    return "invalid number";
  if (s[i] == '0') {
    i++;
    if (TG_DIGIT(i))
      return "leading zero in number";
  } else {
    while (TG_DIGIT(i))
      i++;
  }
  if (i < n && s[i] == '.') {
    i++;
    if (!TG_DIGIT(i))
      return "invalid number";
    while (TG_DIGIT(i))
      i++;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-'))
      i++;
    if (!TG_DIGIT(i))
      return "invalid number";
    while (TG_DIGIT(i))
      i++;
  }
#undef TG_DIGIT
  if (i - start > 0xffffffffu)
    return "number too long";
  out->ptr = s + start;
  out->len = (uint32_t)(i - start);
  *pos = i;
  return NULL;
}

static int tg_json__literal(const char* s, size_t n, size_t pos, const char* lit) {
  uint32_t l = tg_strlen(lit);
  return n - pos >= l && memcmp(s + pos, lit, l) == 0;
}

/* Parses s[0..n). Returns the root, or NULL with *err filled. */
static tg_json* tg_json_parse(const char* s, size_t n, tg_json_error* err) {
  size_t pos = 0;
  tg_json* root = NULL;
  tg_json* cur = NULL; /* innermost open container */
  const char* msg = NULL;
#define TG_WS()                                                                            \
  while (pos < n && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r')) \
  pos++
#define TG_FAIL(m) \
  do {             \
    msg = (m);     \
    goto fail;     \
  } while (0)
  for (;;) {
    /* Expecting a value (preceded by "key": inside an object). */
    tg_str key = {NULL, 0};
    TG_WS();
    if (cur && cur->type == TG_JSON_OBJECT) {
      if (pos >= n || s[pos] != '"')
        TG_FAIL("expected object key");
      if ((msg = tg_json__string(s, n, &pos, &key)))
        goto fail;
      TG_WS();
      if (pos >= n || s[pos] != ':')
        TG_FAIL("expected ':'");
      pos++;
      TG_WS();
    }
    if (pos >= n)
      TG_FAIL("unexpected end of input");
    tg_json* v = tg_json_new(TG_JSON_NULL);
    if (!v)
      TG_FAIL("out of memory");
    v->key = key;
    int opened = 0;
    char c = s[pos];
    if (c == '{' || c == '[') {
      v->type = c == '{' ? TG_JSON_OBJECT : TG_JSON_ARRAY;
      pos++;
      opened = 1;
    } else if (c == '"') {
      v->type = TG_JSON_STRING;
      if ((msg = tg_json__string(s, n, &pos, &v->text)))
        goto fail;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      v->type = TG_JSON_NUMBER;
      if ((msg = tg_json__number(s, n, &pos, &v->text)))
        goto fail;
    } else if (tg_json__literal(s, n, pos, "true")) {
      v->type = TG_JSON_TRUE;
      pos += 4;
    } else if (tg_json__literal(s, n, pos, "false")) {
      v->type = TG_JSON_FALSE;
      pos += 5;
    } else if (tg_json__literal(s, n, pos, "null")) {
      pos += 4;
    } else {
      TG_FAIL("unexpected character");
    }
    if (cur)
      tg_json__link(cur, v);
    else
      root = v;
    if (opened) {
      TG_WS();
      char close = v->type == TG_JSON_OBJECT ? '}' : ']';
      if (pos < n && s[pos] == close) {
        pos++; /* empty container: fall through to "after a value" */
      } else {
        cur = v;
        continue;
      }
    }
    /* After a value: a comma, closing brackets, or the end of the document. */
    for (;;) {
      TG_WS();
      if (!cur) {
        if (pos != n)
          TG_FAIL("trailing characters after JSON value");
        if (err)
          err->message = NULL, err->offset = 0;
        return root;
      }
      if (pos >= n)
        TG_FAIL("unexpected end of input");
      c = s[pos++];
      if (c == ',')
        break;
      if ((c == '}' && cur->type == TG_JSON_OBJECT) || (c == ']' && cur->type == TG_JSON_ARRAY)) {
        cur = cur->parent;
        continue;
      }
      pos--;
      TG_FAIL(cur->type == TG_JSON_OBJECT ? "expected ',' or '}'" : "expected ',' or ']'");
    }
  }
fail:
  if (err)
    err->message = msg, err->offset = pos;
  return NULL;
#undef TG_WS
#undef TG_FAIL
}

/* ---- writing ---------------------------------------------------------------------------- */

static void tg_json__scalar(tg_buf* b, const tg_json* v) {
  switch (v->type) {
    case TG_JSON_NULL:
      tg_buf_put(b, "null", 4);
      break;
    case TG_JSON_FALSE:
      tg_buf_put(b, "false", 5);
      break;
    case TG_JSON_TRUE:
      tg_buf_put(b, "true", 4);
      break;
    case TG_JSON_NUMBER:
      tg_buf_putstr(b, v->text);
      break;
    case TG_JSON_STRING:
      tg_buf_put_json_string(b, v->text);
      break;
    default:
      break;
  }
}

/* Serializes v compactly (no whitespace). A NULL v is written as null. */
static void tg_json_write(tg_buf* b, const tg_json* v) {
  if (!v) {
    tg_buf_put(b, "null", 4);
    return;
  }
  const tg_json* n = v;
  for (;;) {
    if (n != v && n->parent && n->parent->type == TG_JSON_OBJECT) {
      tg_buf_put_json_string(b, n->key);
      tg_buf_putc(b, ':');
    }
    if (n->type == TG_JSON_OBJECT || n->type == TG_JSON_ARRAY) {
      tg_buf_putc(b, n->type == TG_JSON_OBJECT ? '{' : '[');
      if (n->first) {
        n = n->first;
        continue;
      }
      tg_buf_putc(b, n->type == TG_JSON_OBJECT ? '}' : ']');
    } else {
      tg_json__scalar(b, n);
    }
    /* Climb until a node with a next sibling, closing the containers we leave. */
    while (n != v && !n->next) {
      n = n->parent;
      tg_buf_putc(b, n->type == TG_JSON_OBJECT ? '}' : ']');
    }
    if (n == v)
      return;
    tg_buf_putc(b, ',');
    n = n->next;
  }
}

#ifdef __cplusplus
}
#endif
#endif
