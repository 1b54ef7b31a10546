/* tollgate policy SDK: a bump allocator over guest memory and the few libc helpers a guest needs.
 */
// SPDX-License-Identifier: Apache-2.0
#ifndef TOLLGATE_POLICY_SDK_TG_MEM_H
#define TOLLGATE_POLICY_SDK_TG_MEM_H

/* A policy is one translation unit that includes this SDK, so everything here is `static`
 * except the libc symbols clang itself may emit calls to (memcpy, memset, memmove, memcmp).
 *
 * Memory model: one evaluation allocates, never frees, and the whole arena is reset when the
 * next host call starts (tg_arena_reset). Chunks come from memory.grow (no-libc waPC build) or
 * from malloc (TG_WASI build, where wasi-libc owns memory.grow). An allocation that cannot be
 * satisfied returns NULL; every SDK caller checks for it, so a huge payload fails cleanly
 * instead of trapping. */

#include <stddef.h>
#include <stdint.h>

#ifdef TG_WASI
#include <stdlib.h>
#include <string.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

#ifndef TG_WASI
/* No libc: provide the four functions the compiler may call implicitly. */
__attribute__((no_builtin)) void* memcpy(void* dst, const void* src, size_t n) {
  unsigned char* d = (unsigned char*)dst;
  const unsigned char* s = (const unsigned char*)src;
  while (n--)
    *d++ = *s++;
  return dst;
}
__attribute__((no_builtin)) void* memmove(void* dst, const void* src, size_t n) {
  unsigned char* d = (unsigned char*)dst;
  const unsigned char* s = (const unsigned char*)src;
  if (d < s) {
    while (n--)
      *d++ = *s++;
  } else {
    while (n--)
      d[n] = s[n];
  }
  return dst;
}
__attribute__((no_builtin)) void* memset(void* dst, int c, size_t n) {
  unsigned char* d = (unsigned char*)dst;
  while (n--)
    *d++ = (unsigned char)c;
  return dst;
}
__attribute__((no_builtin)) int memcmp(const void* a, const void* b, size_t n) {
  const unsigned char* x = (const unsigned char*)a;
  const unsigned char* y = (const unsigned char*)b;
  for (size_t i = 0; i < n; i++) {
    if (x[i] != y[i])
      return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}
#endif

/* Largest single allocation the SDK will attempt (the host caps payloads far below this). */
#define TG_MAX_ALLOC ((size_t)1 << 30)
#define TG_CHUNK_SIZE ((size_t)1 << 20)
#define TG_WASM_PAGE ((size_t)65536)

typedef struct tg_arena {
  unsigned char* cur;  /* next free byte in the current chunk */
  unsigned char* end;  /* end of the current chunk */
  unsigned char* last; /* start of the most recent allocation (for in-place growth) */
#ifndef TG_WASI
  unsigned char* base; /* first chunk start; memory.grow chunks are contiguous and reused */
#endif
} tg_arena;

static tg_arena tg_arena_state;

#ifndef TG_WASI
extern unsigned char __heap_base;
#endif

static void tg_arena_reset(void) {
#ifndef TG_WASI
  /* Memory obtained with memory.grow is kept: rewind to the start of the heap. */
  if (!tg_arena_state.base) {
    tg_arena_state.base = &__heap_base;
    tg_arena_state.end = (unsigned char*)(__builtin_wasm_memory_size(0) * TG_WASM_PAGE);
  }
  tg_arena_state.cur = tg_arena_state.base;
  tg_arena_state.last = NULL;
#else
  /* malloc'ed chunks are leaked on reset: a WASI policy is a one-shot process. */
  tg_arena_state.cur = tg_arena_state.end = tg_arena_state.last = NULL;
#endif
}

/* Makes room for n more bytes at tg_arena_state.cur; returns 0 when memory is exhausted. */
static int tg_arena_reserve(size_t n) {
  if ((size_t)(tg_arena_state.end - tg_arena_state.cur) >= n)
    return 1;
  if (n > TG_MAX_ALLOC)
    return 0;
#ifndef TG_WASI
  if (!tg_arena_state.base)
    tg_arena_reset();
  size_t missing = n - (size_t)(tg_arena_state.end - tg_arena_state.cur);
  size_t pages = (missing + TG_WASM_PAGE - 1) / TG_WASM_PAGE;
  if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1)
    return 0;
  /* The heap is the top of linear memory, so the new pages extend the current chunk. */
  tg_arena_state.end = (unsigned char*)(__builtin_wasm_memory_size(0) * TG_WASM_PAGE);
  return 1;
#else
  size_t size = n > TG_CHUNK_SIZE ? n : TG_CHUNK_SIZE;
  unsigned char* chunk = (unsigned char*)malloc(size);
  if (!chunk)
    return 0;
  tg_arena_state.cur = chunk;
  tg_arena_state.end = chunk + size;
  tg_arena_state.last = NULL;
  return 1;
#endif
}

/* 8-byte aligned allocation; NULL when out of memory. */
static void* tg_alloc(size_t n) {
  size_t pad = (size_t)(-(uintptr_t)tg_arena_state.cur & 7u);
  if (n > TG_MAX_ALLOC)
    return NULL;
  if (!tg_arena_reserve(n + pad))
    return NULL;
  pad = (size_t)(-(uintptr_t)tg_arena_state.cur & 7u); /* the chunk may have changed */
  if ((size_t)(tg_arena_state.end - tg_arena_state.cur) < n + pad && !tg_arena_reserve(n + pad))
    return NULL;
  unsigned char* p = tg_arena_state.cur + pad;
  tg_arena_state.cur = p + n;
  tg_arena_state.last = p;
  return p;
}

static void* tg_alloc_zeroed(size_t n) {
  void* p = tg_alloc(n);
  if (p)
    memset(p, 0, n);
  return p;
}

/* Grows the block p (old_n bytes) to new_n bytes, in place when p is the newest allocation. */
static void* tg_realloc(void* p, size_t old_n, size_t new_n) {
  if (p && p == tg_arena_state.last && new_n <= TG_MAX_ALLOC &&
      (size_t)(tg_arena_state.end - (unsigned char*)p) >= new_n) {
    tg_arena_state.cur = (unsigned char*)p + new_n;
    return p;
  }
  if (p && p == tg_arena_state.last && new_n <= TG_MAX_ALLOC) {
#ifndef TG_WASI
    /* Newest block at the top of memory: grow the memory under it. */
    if (tg_arena_reserve(new_n - (size_t)(tg_arena_state.cur - (unsigned char*)p))) {
      tg_arena_state.cur = (unsigned char*)p + new_n;
      return p;
    }
    return NULL;
#endif
  }
  void* q = tg_alloc(new_n);
  if (q && p)
    memcpy(q, p, old_n < new_n ? old_n : new_n);
  return q;
}

#ifdef __cplusplus
}
#endif
#endif
