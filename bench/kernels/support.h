/* Shared helpers for the benchmark kernels, which build both for wasm32 (no libc) and natively. */
/* SPDX-License-Identifier: Apache-2.0 */
#ifndef TOLLGATE_BENCH_KERNELS_SUPPORT_H
#define TOLLGATE_BENCH_KERNELS_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

/* Every kernel defines `uint64_t kernel_run(uint32_t n)`, which does work proportional to `n` and
 * returns a checksum of everything it computed. The native build renames it per kernel
 * (-Dkernel_run=fib_run) so the seven kernels link into one driver; the wasm build exports it
 * as `run`. */
#if defined(__wasm__)
#define TG_EXPORT(name) __attribute__((export_name(name)))
#else
#define TG_EXPORT(name)
#endif

/* The kernels are compiled with -fno-builtin and never call libc: a wasm module built with
 * -nostdlib would otherwise import memcpy/memset, and wasm-ld rejects undefined symbols. */
static inline void tg_memset(void* dst, uint8_t value, size_t len) {
  uint8_t* d = (uint8_t*)dst;
  for (size_t i = 0; i < len; ++i)
    d[i] = value;
}

/* splitmix64: a tiny deterministic generator so both builds see identical inputs. */
static inline uint64_t tg_next(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Folds one word into a running checksum (order-sensitive). */
static inline uint64_t tg_mix(uint64_t acc, uint64_t word) {
  acc ^= word + 0x9E3779B97F4A7C15ull + (acc << 6) + (acc >> 2);
  return acc;
}

/* The bit pattern of a double: checksums over floats must compare bits, not approximate values. */
static inline uint64_t tg_bits(double d) {
  uint64_t u;
  __builtin_memcpy(&u, &d, sizeof u);
  return u;
}

#endif
