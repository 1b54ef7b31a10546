/* Memory copy and checksum: byte and word copies at shifting offsets, then a checksum pass. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "support.h"

#define COPY_WORDS (1u << 15)
#define COPY_BYTES (COPY_WORDS * 8)

static uint64_t src[COPY_WORDS];
static uint64_t dst[COPY_WORDS + 1];

/* Unaligned byte copy: the shape of a naive memcpy. */
static void copy_bytes(uint8_t* to, const uint8_t* from, uint32_t len) {
  for (uint32_t i = 0; i < len; ++i)
    to[i] = from[i];
}

/* Runs n rounds; each copies the source byte-wise at a shifting offset, copies it back
 * word-wise with a twist, and checksums the destination. */
TG_EXPORT("run") uint64_t kernel_run(uint32_t n) {
  uint64_t seed = 7;
  for (uint32_t i = 0; i < COPY_WORDS; ++i)
    src[i] = tg_next(&seed);
  uint64_t acc = 0;
  for (uint32_t round = 0; round < n; ++round) {
    uint32_t shift = round % 8;
    copy_bytes((uint8_t*)dst + shift, (const uint8_t*)src, COPY_BYTES);
    uint64_t sum = 0;
    for (uint32_t i = 0; i < COPY_WORDS; ++i) {
      uint64_t w = dst[i];
      sum = (sum ^ w) * 0x100000001B3ull;
      src[i] = w + round;
    }
    acc = tg_mix(acc, sum);
  }
  return acc;
}
