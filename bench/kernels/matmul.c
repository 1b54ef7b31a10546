/* Dense matrix multiply over doubles (i-k-j order): f64 loads, multiplies and adds. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "support.h"

#define MATMUL_MAX 512

static double ma[MATMUL_MAX * MATMUL_MAX];
static double mb[MATMUL_MAX * MATMUL_MAX];
static double mc[MATMUL_MAX * MATMUL_MAX];

/* Multiplies two n x n matrices (n is capped at MATMUL_MAX); returns the bits of C's entries. */
TG_EXPORT("run") uint64_t kernel_run(uint32_t n) {
  if (n > MATMUL_MAX)
    n = MATMUL_MAX;
  for (uint32_t i = 0; i < n; ++i) {
    for (uint32_t j = 0; j < n; ++j) {
      ma[i * n + j] = (double)((i * 7 + j * 3) % 17) * 0.125 - 1.0;
      mb[i * n + j] = (double)((i * 5 + j * 11) % 23) * 0.0625 + 0.5;
      mc[i * n + j] = 0.0;
    }
  }
  for (uint32_t i = 0; i < n; ++i) {
    for (uint32_t k = 0; k < n; ++k) {
      double a = ma[i * n + k];
      for (uint32_t j = 0; j < n; ++j)
        mc[i * n + j] += a * mb[k * n + j];
    }
  }
  uint64_t acc = 0;
  for (uint32_t i = 0; i < n * n; ++i)
    acc = tg_mix(acc, tg_bits(mc[i]));
  return acc;
}
