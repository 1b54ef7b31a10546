/* Sieve of Eratosthenes over a static byte array: byte loads and stores in tight loops. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "support.h"

#define SIEVE_MAX (1u << 25)

static uint8_t composite[SIEVE_MAX + 1];

/* Sieves [0, n] (n is capped at SIEVE_MAX) and returns a checksum of the primes found. */
TG_EXPORT("run") uint64_t kernel_run(uint32_t n) {
  if (n > SIEVE_MAX)
    n = SIEVE_MAX;
  tg_memset(composite, 0, (size_t)n + 1);
  uint64_t count = 0;
  uint64_t acc = 0;
  for (uint32_t i = 2; i <= n; ++i) {
    if (composite[i])
      continue;
    ++count;
    acc = tg_mix(acc, i);
    for (uint64_t j = (uint64_t)i * i; j <= n; j += i)
      composite[j] = 1;
  }
  return (count << 40) ^ acc;
}
