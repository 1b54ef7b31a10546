/* SHA-256 (FIPS 180-4) over a buffer, chained n times: 32-bit rotates, shifts and table loads. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "support.h"

#define SHA_BUFFER 4096

static const uint32_t kRound[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t kInitial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

static uint8_t input[SHA_BUFFER];
static uint8_t digest_out[32];

static inline uint32_t rotr(uint32_t x, unsigned r) {
  return (x >> r) | (x << (32 - r));
}

static void compress(uint32_t state[8], const uint8_t block[64]) {
  uint32_t w[64];
  for (int i = 0; i < 16; ++i) {
    w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 |
           (uint32_t)block[4 * i + 2] << 8 | (uint32_t)block[4 * i + 3];
  }
  for (int i = 16; i < 64; ++i) {
    uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
  uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
  for (int i = 0; i < 64; ++i) {
    uint32_t t1 =
        h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + kRound[i] + w[i];
    uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
  state[4] += e;
  state[5] += f;
  state[6] += g;
  state[7] += h;
}

/* The SHA-256 digest of data[0, len) into out[32]. */
static void sha256(const uint8_t* data, uint32_t len, uint8_t out[32]) {
  uint32_t state[8];
  for (int i = 0; i < 8; ++i)
    state[i] = kInitial[i];
  uint32_t done = 0;
  for (; len - done >= 64; done += 64)
    compress(state, data + done);
  uint8_t tail[128];
  uint32_t rest = len - done;
  for (uint32_t i = 0; i < rest; ++i)
    tail[i] = data[done + i];
  tail[rest] = 0x80;
  uint32_t tail_len = rest + 1 + 8 <= 64 ? 64 : 128;
  for (uint32_t i = rest + 1; i < tail_len; ++i)
    tail[i] = 0;
  uint64_t bits = (uint64_t)len * 8;
  for (int i = 0; i < 8; ++i)
    tail[tail_len - 1 - i] = (uint8_t)(bits >> (8 * i));
  for (uint32_t off = 0; off < tail_len; off += 64)
    compress(state, tail + off);
  for (int i = 0; i < 8; ++i) {
    out[4 * i] = (uint8_t)(state[i] >> 24);
    out[4 * i + 1] = (uint8_t)(state[i] >> 16);
    out[4 * i + 2] = (uint8_t)(state[i] >> 8);
    out[4 * i + 3] = (uint8_t)state[i];
  }
}

#if defined(__wasm__)
/* For checking against other implementations: write up to SHA_BUFFER bytes at input_ptr(),
 * call digest(len), read 32 bytes at the returned address. */
TG_EXPORT("input_ptr") uint32_t input_ptr(void) {
  return (uint32_t)(uintptr_t)input;
}
TG_EXPORT("digest") uint32_t digest(uint32_t len) {
  sha256(input, len > SHA_BUFFER ? SHA_BUFFER : len, digest_out);
  return (uint32_t)(uintptr_t)digest_out;
}
#endif

/* Hashes the buffer n times, folding each digest back into the buffer's head. */
TG_EXPORT("run") uint64_t kernel_run(uint32_t n) {
  uint64_t seed = 0x5eed;
  for (uint32_t i = 0; i < SHA_BUFFER; ++i)
    input[i] = (uint8_t)tg_next(&seed);
  uint64_t acc = 0;
  for (uint32_t round = 0; round < n; ++round) {
    sha256(input, SHA_BUFFER, digest_out);
    for (int i = 0; i < 32; ++i)
      input[(round * 32 + i) % SHA_BUFFER] ^= digest_out[i];
    uint64_t head = 0;
    for (int i = 0; i < 8; ++i)
      head = head << 8 | digest_out[i];
    acc = tg_mix(acc, head);
  }
  return acc;
}
