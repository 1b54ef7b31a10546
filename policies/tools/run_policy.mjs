// Runs a policy .wasm once in the node test host and prints the response JSON.
// SPDX-License-Identifier: Apache-2.0
//
// node policies/tools/run_policy.mjs <policy.wasm> validate <request.json> [settings-json] [--wasi]
// node policies/tools/run_policy.mjs <policy.wasm> validate_settings <settings-json> [--wasi]
// node policies/tools/run_policy.mjs <policy.wasm> protocol_version
import { readFileSync } from 'node:fs';
import { runWapc, runWasi, wasiVerdict } from './wapc_host.mjs';

// The AdmissionRequest inside a fixture: AdmissionReview -> .request; {"request": raw} -> raw.
export function requestOf(doc) {
  if (doc && typeof doc === 'object' && !Array.isArray(doc)) {
    if (doc.kind === 'AdmissionReview') return doc.request;
    const keys = Object.keys(doc);
    if (keys.length === 1 && keys[0] === 'request') return doc.request;
  }
  return doc;
}

async function main() {
  const args = process.argv.slice(2).filter((a) => a !== '--wasi');
  const wasi = process.argv.includes('--wasi');
  const [wasmPath, op, arg1, arg2] = args;
  if (!wasmPath || !op) {
    console.error('usage: run_policy.mjs <policy.wasm> validate|validate_settings|protocol_version ...');
    process.exit(2);
  }
  const wasm = readFileSync(wasmPath);
  let payload = '';
  if (op === 'validate') {
    const request = requestOf(JSON.parse(readFileSync(arg1, 'utf8')));
    payload = JSON.stringify({ request, settings: JSON.parse(arg2 || '{}') });
  } else if (op === 'validate_settings') {
    payload = arg1 || '{}';
  }
  if (wasi) {
    const run = await runWasi(wasm, op === 'validate' ? 'validate' : 'validate-settings', payload);
    if (run.stderr) console.error(run.stderr.trimEnd());
    console.log(JSON.stringify(wasiVerdict(run)));
    return;
  }
  const r = await runWapc(wasm, op, payload);
  for (const l of r.log) console.error('policy log:', JSON.stringify(l));
  if (!r.ok) {
    console.log(JSON.stringify({ guest_error: r.text }));
    process.exit(1);
  }
  console.log(r.text);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
