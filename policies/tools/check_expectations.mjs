// Checks every example policy against policies/expectations.json in the node test host.
// SPDX-License-Identifier: Apache-2.0
//
// node policies/tools/check_expectations.mjs <dir-with-built-wasm> [fixtures-dir]
//   default fixtures dir: ../shared/fixtures/admission beside the checkout
// node policies/tools/check_expectations.mjs --markdown   (prints the EXPECTATIONS.md tables)
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runWapc, runWasi, wasiVerdict } from './wapc_host.mjs';
import { requestOf } from './run_policy.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const expectations = JSON.parse(readFileSync(join(here, '..', 'expectations.json'), 'utf8'));

// RFC 6902 add/replace on a deep copy; paths use JSON pointers.
function applyPatch(doc, ops) {
  const out = structuredClone(doc);
  for (const op of ops) {
    const parts = op.path.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    let cur = out;
    for (const p of parts.slice(0, -1)) {
      if (cur[p] === undefined) throw new Error(`patch path ${op.path} missing at ${p}`);
      cur = cur[p];
    }
    const last = parts[parts.length - 1];
    if (op.op === 'replace' && !(last in cur)) throw new Error(`replace of missing ${op.path}`);
    cur[last] = structuredClone(op.value);
  }
  return out;
}

function jsonEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => k in b && jsonEqual(a[k], b[k]));
}

async function evaluate(wasm, mode, op, payload) {
  if (mode === 'wasi') {
    const run = await runWasi(wasm, op === 'validate' ? 'validate' : 'validate-settings', payload);
    return { ok: true, value: wasiVerdict(run) };
  }
  const r = await runWapc(wasm, op, payload);
  if (!r.ok) return { ok: false, error: r.text };
  return { ok: true, value: JSON.parse(r.text) };
}

function markdown() {
  const out = [];
  for (const [name, p] of Object.entries(expectations.policies)) {
    out.push(`### ${name}\n`);
    out.push(`Default settings: \`${JSON.stringify(p.settings)}\`\n`);
    out.push('| fixture | settings | verdict | message / mutation | why |');
    out.push('|---|---|---|---|---|');
    for (const c of p.cases) {
      const settings = c.settings ? `\`${JSON.stringify(c.settings)}\`` : 'default';
      const verdict = c.accepted ? (c.mutation ? 'accept + mutate' : 'accept') : `reject${c.code ? ` (${c.code})` : ''}`;
      const detail = c.accepted
        ? (c.mutation || []).map((m) => `${m.op} \`${m.path}\``).join('<br>')
        : `\`${c.message}\``;
      out.push(`| ${c.fixture} | ${settings} | ${verdict} | ${detail.replace(/\|/g, '\\|')} | ${c.why} |`);
    }
    out.push('\nSettings validation:\n');
    out.push('| settings | valid | message |');
    out.push('|---|---|---|');
    for (const s of p.settings_cases) {
      const msg = s.message ?? (s.message_prefix ? `${s.message_prefix}… (host regex error)` : '');
      out.push(`| \`${JSON.stringify(s.settings).replace(/\|/g, '\\|')}\` | ${s.valid} | ${msg ? '`' + msg + '`' : ''} |`);
    }
    out.push('');
  }
  console.log(out.join('\n'));
}

async function main() {
  if (process.argv.includes('--markdown')) return markdown();
  const wasmDir = process.argv[2];
  const fixtures = process.argv[3] || join(here, '..', '..', '..', 'shared', 'fixtures', 'admission');
  if (!wasmDir) {
    console.error('usage: check_expectations.mjs <dir-with-built-wasm> [fixtures-dir]');
    process.exit(2);
  }
  let pass = 0, fail = 0;
  const report = (ok, what, detail) => {
    if (ok) pass++; else { fail++; console.log(`FAIL ${what}: ${detail}`); }
  };
  for (const [name, p] of Object.entries(expectations.policies)) {
    const wasm = readFileSync(join(wasmDir, `${name}.wasm`));
    if (p.mode !== 'wasi') {
      const v = await runWapc(wasm, 'protocol_version', '');
      report(v.ok && v.text === '"v1"', `${name} protocol_version`, v.text);
    }
    for (const c of p.cases) {
      const what = `${name} ${c.fixture}${c.settings ? ' ' + JSON.stringify(c.settings) : ''}`;
      const request = requestOf(JSON.parse(readFileSync(join(fixtures, c.fixture), 'utf8')));
      const payload = JSON.stringify({ request, settings: c.settings ?? p.settings });
      const r = await evaluate(wasm, p.mode, 'validate', payload);
      if (!r.ok) { report(false, what, `guest error: ${r.error}`); continue; }
      const v = r.value;
      const problems = [];
      if (v.accepted !== c.accepted) problems.push(`accepted=${v.accepted}`);
      if ((v.message ?? undefined) !== (c.message ?? undefined)) problems.push(`message=${JSON.stringify(v.message)}`);
      if ((v.code ?? null) !== (c.code ?? null)) problems.push(`code=${v.code}`);
      if (c.mutation) {
        const want = applyPatch(request.object, c.mutation);
        if (!jsonEqual(v.mutated_object, want)) problems.push(`mutated_object=${JSON.stringify(v.mutated_object)}`);
      } else if (v.mutated_object !== undefined && v.mutated_object !== null) {
        problems.push('unexpected mutated_object');
      }
      report(!problems.length, what, problems.join(', '));
    }
    for (const s of p.settings_cases) {
      const what = `${name} validate_settings ${JSON.stringify(s.settings)}`;
      const r = await evaluate(wasm, p.mode, 'validate_settings', JSON.stringify(s.settings));
      if (!r.ok) { report(false, what, `guest error: ${r.error}`); continue; }
      const v = r.value;
      const msgOk = s.message !== undefined ? v.message === s.message
        : s.message_prefix !== undefined ? typeof v.message === 'string' && v.message.startsWith(s.message_prefix)
        : v.message === undefined;
      report(v.valid === s.valid && msgOk, what, JSON.stringify(v));
    }
  }
  console.log(`${pass} passed, ${fail} failed`);
  process.exit(fail ? 1 : 0);
}

main();
