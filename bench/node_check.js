// Cross-checks the wasm kernels in V8 (node): prints run(n) checksums and checks sha256.wasm's digest.
// SPDX-License-Identifier: Apache-2.0
//
// Usage: node bench/node_check.js BUILD/bench [--quick]
// The checksums must equal the `checksum` column of `bench_kernels` (same --quick): that shows
// the kernels compute the same thing natively, in V8 and in tollgate, independently of our runtime.
//
// Timing mode, used by bench_kernels: node [V8 flags] bench/node_check.js BUILD/bench --time NAME N
// runs run(N) once untimed (so V8 has compiled and, unless told not to, tiered up what it runs),
// then once timed, and prints `<wall ms> <checksum> <CPU ms>` (CPU: the whole process, user and
// system). The timers are inside node, so process start-up and compilation are not counted.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const dir = process.argv[2];
const quick = process.argv.includes('--quick');
// [name, n, quick n]: the same inputs as kKernels in kernels_bench.cpp.
const kernels = [
  ['fib', 37, 20], ['sieve', 25000000, 100000], ['matmul', 512, 24], ['sha256', 4000, 10],
  ['nbody', 1000000, 1000], ['json', 250, 1], ['copy', 1200, 2],
];

function instantiate(name) {
  const bytes = fs.readFileSync(path.join(dir, name + '.wasm'));
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports;
}

const timeAt = process.argv.indexOf('--time');
if (timeAt !== -1) {
  const exports = instantiate(process.argv[timeAt + 1]);
  const n = Number(process.argv[timeAt + 2]);
  exports.run(n);
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  const checksum = BigInt.asUintN(64, exports.run(n));
  const cpu = process.cpuUsage(cpuStart);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  console.log(`${ms} ${checksum} ${(cpu.user + cpu.system) / 1e3}`);
  process.exit(0);
}

let failed = 0;
for (const [name, n, quickN] of kernels) {
  const exports = instantiate(name);
  const arg = quick ? quickN : n;
  const start = process.hrtime.bigint();
  const checksum = BigInt.asUintN(64, exports.run(arg));
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  console.log(`${name.padEnd(8)} ${String(arg).padStart(10)} ${ms.toFixed(1).padStart(9)} ms  ${checksum}`);
}

// FIPS 180-4 SHA-256 against node's implementation, across the padding edge cases.
const sha = instantiate('sha256');
for (const len of [0, 1, 3, 55, 56, 63, 64, 65, 119, 120, 127, 128, 1000, 4096]) {
  const data = crypto.randomBytes(len);
  new Uint8Array(sha.memory.buffer).set(data, sha.input_ptr());
  const at = sha.digest(len);
  const got = Buffer.from(new Uint8Array(sha.memory.buffer, at, 32)).toString('hex');
  const want = crypto.createHash('sha256').update(data).digest('hex');
  if (got !== want) {
    console.log(`sha256 digest of ${len} bytes: got ${got}, want ${want}`);
    failed++;
  }
}
console.log(failed ? `sha256: ${failed} digests wrong` : 'sha256: digests match node crypto');
process.exit(failed ? 1 : 0);
