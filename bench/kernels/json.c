/* A JSON scanner: generates JSON-ish records, then tokenizes them (branchy byte-at-a-time code). */
/* SPDX-License-Identifier: Apache-2.0 */
#include "support.h"

#define JSON_RECORDS 2000
#define JSON_BUFFER (JSON_RECORDS * 160 + 64)

static char text[JSON_BUFFER];

static uint32_t put_str(uint32_t at, const char* s) {
  while (*s)
    text[at++] = *s++;
  return at;
}

static uint32_t put_int(uint32_t at, int64_t v) {
  char digits[24];
  int count = 0;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  if (v < 0)
    text[at++] = '-';
  do {
    digits[count++] = (char)('0' + u % 10);
    u /= 10;
  } while (u != 0);
  while (count > 0)
    text[at++] = digits[--count];
  return at;
}

/* Writes JSON_RECORDS records into `text` as one array; returns its length. */
static uint32_t generate(void) {
  static const char* const kNames[] = {"alpha", "be\\\"ta", "gamma\\n", "delta", "\\u00e9psilon"};
  uint64_t seed = 42;
  uint32_t at = 0;
  text[at++] = '[';
  for (uint32_t r = 0; r < JSON_RECORDS; ++r) {
    uint64_t x = tg_next(&seed);
    if (r != 0)
      at = put_str(at, ",\n ");
    at = put_str(at, "{\"id\": ");
    at = put_int(at, (int64_t)r);
    at = put_str(at, ", \"name\": \"");
    at = put_str(at, kNames[x % 5]);
    at = put_str(at, "\", \"score\": ");
    at = put_int(at, (int64_t)(x >> 40) - (1 << 23));
    at = put_str(at, ".");
    at = put_int(at, (int64_t)((x >> 8) % 1000));
    at = put_str(at, "e-2, \"tags\": [\"a\", \"bc\", ");
    at = put_int(at, (int64_t)(x % 97));
    at = put_str(at, "], \"ok\": ");
    at = put_str(at, (x & 1) ? "true" : "false");
    at = put_str(at, ", \"next\": null}");
  }
  text[at++] = ']';
  return at;
}

struct Counts {
  uint64_t objects, arrays, strings, escapes, numbers, literals, digits_sum, errors;
};

static uint32_t skip_ws(uint32_t i, uint32_t len) {
  while (i < len && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t' || text[i] == '\r'))
    ++i;
  return i;
}

/* One pass of a flat tokenizer over text[0, len): counts token kinds and sums number digits. */
static void scan(uint32_t len, struct Counts* c) {
  uint32_t i = 0;
  while ((i = skip_ws(i, len)) < len) {
    char ch = text[i];
    if (ch == '{') {
      ++c->objects;
      ++i;
    } else if (ch == '[') {
      ++c->arrays;
      ++i;
    } else if (ch == '}' || ch == ']' || ch == ',' || ch == ':') {
      ++i;
    } else if (ch == '"') {
      ++c->strings;
      for (++i; i < len && text[i] != '"'; ++i) {
        if (text[i] == '\\') {
          ++c->escapes;
          ++i;
          if (i < len && text[i] == 'u')
            i += 4;
        }
      }
      ++i;
    } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
      ++c->numbers;
      uint64_t value = 0;
      for (; i < len; ++i) {
        char d = text[i];
        if (d >= '0' && d <= '9') {
          value = value * 10 + (uint64_t)(d - '0');
        } else if (d != '-' && d != '+' && d != '.' && d != 'e' && d != 'E') {
          break;
        }
      }
      c->digits_sum += value;
    } else if (ch == 't' || ch == 'f' || ch == 'n') {
      ++c->literals;
      while (i < len && text[i] >= 'a' && text[i] <= 'z')
        ++i;
    } else {
      ++c->errors;
      ++i;
    }
  }
}

/* Generates the records once and scans them n times. */
TG_EXPORT("run") uint64_t kernel_run(uint32_t n) {
  uint32_t len = generate();
  struct Counts c = {0, 0, 0, 0, 0, 0, 0, 0};
  for (uint32_t pass = 0; pass < n; ++pass)
    scan(len, &c);
  uint64_t acc = tg_mix(0, len);
  acc = tg_mix(acc, c.objects);
  acc = tg_mix(acc, c.arrays);
  acc = tg_mix(acc, c.strings);
  acc = tg_mix(acc, c.escapes);
  acc = tg_mix(acc, c.numbers);
  acc = tg_mix(acc, c.literals);
  acc = tg_mix(acc, c.digits_sum);
  return tg_mix(acc, c.errors);
}
