/* Recursive Fibonacci: call-heavy code (one wasm call per node of the recursion tree). */
/* SPDX-License-Identifier: Apache-2.0 */
#include "support.h"

/* noinline keeps the recursion real in both builds: the point is to time calls. */
__attribute__((noinline)) static uint64_t fib_rec(uint32_t n) {
  return n < 2 ? n : fib_rec(n - 1) + fib_rec(n - 2);
}

#if defined(__wasm__)
/* The demo entry point: `tollgate wasm run fib.wasm --invoke fib 30`. */
TG_EXPORT("fib") int64_t fib(int32_t n) {
  return n < 0 ? 0 : (int64_t)fib_rec((uint32_t)n);
}
#endif

TG_EXPORT("run") uint64_t kernel_run(uint32_t n) {
  return fib_rec(n);
}
