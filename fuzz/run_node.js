// Runs export `main` of a module on node's engine (V8) and prints its results one per line, or
// "trap: MESSAGE": the protocol fuzz/differential.sh expects from any engine.
// SPDX-License-Identifier: Apache-2.0
'use strict';
const fs = require('fs');
function show(v) {
  if (typeof v === 'bigint') return v.toString();
  if (Number.isNaN(v)) return 'nan';
  if (Object.is(v, -0)) return '-0';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  return String(v);
}
let results;
try {
  const module = new WebAssembly.Module(fs.readFileSync(process.argv[2]));
  const r = new WebAssembly.Instance(module, {}).exports.main();
  results = r === undefined ? [] : Array.isArray(r) ? r : [r];
} catch (e) {
  console.log('trap: ' + e.message);
  process.exit(0);
}
for (const v of results) console.log(show(v));
