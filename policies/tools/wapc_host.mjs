// A minimal waPC + WASI host in node, for testing policies before tollgate's runtime exists.
// SPDX-License-Identifier: Apache-2.0
//
// This follows kubewarden.md 2.2 (waPC) and 2.5 (WASI mode). It is a test tool, not the
// product: the `regex` capability uses JavaScript RegExp where tollgate uses RE2, which agrees
// on the simple patterns the tests use.

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: false });

// Host capabilities the test host answers. Returns {ok, bytes}.
export function defaultHostCall(binding, ns, op, payload, log) {
  const fail = (msg) => ({ ok: false, bytes: enc.encode(msg) });
  if (binding !== 'kubewarden') return fail(`unknown binding: ${binding}`);
  if (ns === 'tracing') {
    if (op !== 'log') return fail(`unknown operation: ${op}`);
    let entry;
    try {
      entry = JSON.parse(dec.decode(payload));
    } catch (e) {
      return fail(`cannot parse log entry: ${e.message}`);
    }
    log.push(entry);
    return { ok: true, bytes: new Uint8Array(0) };
  }
  if (ns === 'regex') {
    if (op !== 'v1/match') return fail(`unknown operation: ${op}`);
    let req;
    try {
      req = JSON.parse(dec.decode(payload));
    } catch (e) {
      return fail(`cannot parse regex request: ${e.message}`);
    }
    if (typeof req.pattern !== 'string' || typeof req.text !== 'string')
      return fail('regex request needs string fields pattern and text');
    let re;
    try {
      re = new RegExp(req.pattern, 'u');
    } catch (e) {
      return fail(`invalid regular expression: ${e.message}`);
    }
    return { ok: true, bytes: enc.encode(JSON.stringify({ matched: re.test(req.text) })) };
  }
  return fail(`unknown namespace: ${ns}`);
}

function trapText(e) {
  return e instanceof WebAssembly.RuntimeError ? `trap: ${e.message}` : String(e && e.message || e);
}

// Runs one waPC operation on a fresh instance. Returns {ok, text, log, consoleLog}.
export async function runWapc(wasmBytes, op, payload, hostCall = defaultHostCall) {
  const opBytes = enc.encode(op);
  const payBytes = typeof payload === 'string' ? enc.encode(payload) : payload;
  const state = { guestResponse: null, guestError: null, hostResponse: null, hostError: null };
  const log = [];
  const consoleLog = [];
  let memory;
  const mem = () => new Uint8Array(memory.buffer);
  const str = (p, l) => dec.decode(mem().slice(p, p + l));
  const wapc = {
    __guest_request(opPtr, ptr) {
      mem().set(opBytes, opPtr);
      mem().set(payBytes, ptr);
    },
    __guest_response(ptr, len) { state.guestResponse = mem().slice(ptr, ptr + len); },
    __guest_error(ptr, len) { state.guestError = mem().slice(ptr, ptr + len); },
    __host_call(bp, bl, np, nl, op2, ol, ptr, len) {
      state.hostResponse = null;
      state.hostError = null;
      const r = hostCall(str(bp, bl), str(np, nl), str(op2, ol), mem().slice(ptr, ptr + len), log);
      if (r.ok) state.hostResponse = r.bytes; else state.hostError = r.bytes;
      return r.ok ? 1 : 0;
    },
    __host_response_len() { return state.hostResponse ? state.hostResponse.length : 0; },
    __host_response(ptr) { if (state.hostResponse) mem().set(state.hostResponse, ptr); },
    __host_error_len() { return state.hostError ? state.hostError.length : 0; },
    __host_error(ptr) { if (state.hostError) mem().set(state.hostError, ptr); },
    __console_log(ptr, len) { consoleLog.push(str(ptr, len)); },
  };
  const module = await WebAssembly.compile(wasmBytes);
  const imports = { wapc };
  // Guests that also import WASI (Rust wasm32-wasi, TinyGo) get a silent preview1.
  if (WebAssembly.Module.imports(module).some((i) => i.module === 'wasi_snapshot_preview1')) {
    imports.wasi_snapshot_preview1 = makeWasi(() => memory, [], new Uint8Array(0)).imports;
  }
  let instance;
  try {
    instance = await WebAssembly.instantiate(module, imports);
  } catch (e) {
    return { ok: false, text: `instantiate: ${trapText(e)}`, log, consoleLog };
  }
  memory = instance.exports.memory;
  try {
    if (instance.exports._start) instance.exports._start();
    if (instance.exports.wapc_init) instance.exports.wapc_init();
    const rc = instance.exports.__guest_call(opBytes.length, payBytes.length);
    if (rc === 1) {
      if (state.guestResponse) return { ok: true, text: dec.decode(state.guestResponse), log, consoleLog };
      if (state.guestError) return { ok: false, text: dec.decode(state.guestError), log, consoleLog };
      return { ok: false, text: 'No error message OR response set for call success', log, consoleLog };
    }
    return {
      ok: false,
      text: state.guestError ? dec.decode(state.guestError) : 'No error message set for call failure',
      log,
      consoleLog,
    };
  } catch (e) {
    return { ok: false, text: trapText(e), log, consoleLog };
  }
}

class ProcExit extends Error {
  constructor(code) { super(`proc_exit(${code})`); this.code = code; }
}

// A tiny WASI preview1: args, a refillable stdin, captured stdout/stderr, proc_exit.
function makeWasi(getMemory, args, stdinBytes) {
  const ESUCCESS = 0, EBADF = 8, ENOSYS = 52, ESPIPE = 70;
  const io = { stdin: [stdinBytes], stdout: [], stderr: [] };
  const view = () => new DataView(getMemory().buffer);
  const u8 = () => new Uint8Array(getMemory().buffer);
  const argBytes = args.map((a) => enc.encode(a + '\0'));
  const imports = {
    args_sizes_get(countPtr, sizePtr) {
      view().setUint32(countPtr, argBytes.length, true);
      view().setUint32(sizePtr, argBytes.reduce((n, a) => n + a.length, 0), true);
      return ESUCCESS;
    },
    args_get(argvPtr, bufPtr) {
      let p = bufPtr;
      argBytes.forEach((a, i) => {
        view().setUint32(argvPtr + 4 * i, p, true);
        u8().set(a, p);
        p += a.length;
      });
      return ESUCCESS;
    },
    environ_sizes_get(countPtr, sizePtr) {
      view().setUint32(countPtr, 0, true);
      view().setUint32(sizePtr, 0, true);
      return ESUCCESS;
    },
    environ_get() { return ESUCCESS; },
    fd_read(fd, iovs, iovsLen, nreadPtr) {
      if (fd !== 0) return EBADF;
      let total = 0;
      for (let i = 0; i < iovsLen; i++) {
        const base = view().getUint32(iovs + 8 * i, true);
        const len = view().getUint32(iovs + 8 * i + 4, true);
        let off = 0;
        while (off < len && io.stdin.length) {
          const head = io.stdin[0];
          const n = Math.min(len - off, head.length);
          u8().set(head.subarray(0, n), base + off);
          if (n === head.length) io.stdin.shift(); else io.stdin[0] = head.subarray(n);
          off += n;
        }
        total += off;
      }
      view().setUint32(nreadPtr, total, true);
      return ESUCCESS;
    },
    fd_write(fd, iovs, iovsLen, nwrittenPtr) {
      const sink = fd === 1 ? io.stdout : fd === 2 ? io.stderr : null;
      if (!sink) return EBADF;
      let total = 0;
      for (let i = 0; i < iovsLen; i++) {
        const base = view().getUint32(iovs + 8 * i, true);
        const len = view().getUint32(iovs + 8 * i + 4, true);
        sink.push(u8().slice(base, base + len));
        total += len;
      }
      view().setUint32(nwrittenPtr, total, true);
      return ESUCCESS;
    },
    fd_close() { return ESUCCESS; },
    fd_seek() { return ESPIPE; },
    fd_fdstat_get(fd, statPtr) {
      if (fd > 2) return EBADF;
      for (let i = 0; i < 24; i++) view().setUint8(statPtr + i, 0);
      view().setUint8(statPtr, 6); // filetype: a socket/pipe-like stream
      return ESUCCESS;
    },
    fd_prestat_get() { return EBADF; },
    fd_prestat_dir_name() { return EBADF; },
    clock_time_get(id, precision, timePtr) {
      view().setBigUint64(timePtr, BigInt(Date.now()) * 1000000n, true);
      return ESUCCESS;
    },
    random_get(ptr, len) {
      for (let i = 0; i < len; i++) u8()[ptr + i] = (Math.random() * 256) | 0;
      return ESUCCESS;
    },
    proc_exit(code) { throw new ProcExit(code); },
  };
  const handler = { get: (t, k) => (k in t ? t[k] : () => ENOSYS) };
  return { imports: new Proxy(imports, handler), io };
}

// Runs a WASI-mode policy (kubewarden.md 2.5). cmd is `validate` or `validate-settings`.
// Returns {exitCode, stdout, stderr, log}.
export async function runWasi(wasmBytes, cmd, payload, hostCall = defaultHostCall) {
  let memory;
  const log = [];
  const wasi = makeWasi(() => memory, ['policy.wasm', cmd], enc.encode(payload));
  const host = {
    call(bp, bl, np, nl, op, ol, ptr, len) {
      const s = (p, l) => dec.decode(new Uint8Array(memory.buffer).slice(p, p + l));
      const r = hostCall(s(bp, bl), s(np, nl), s(op, ol),
                         new Uint8Array(memory.buffer).slice(ptr, ptr + len), log);
      wasi.io.stdin.push(r.bytes); // the answer (or error text) is appended to stdin
      return r.ok ? 0 : 1;
    },
  };
  const module = await WebAssembly.compile(wasmBytes);
  const instance = await WebAssembly.instantiate(module, {
    wasi_snapshot_preview1: wasi.imports,
    host,
  });
  memory = instance.exports.memory;
  let exitCode = 0;
  try {
    instance.exports._start();
  } catch (e) {
    if (e instanceof ProcExit) exitCode = e.code;
    else return { exitCode: -1, stdout: '', stderr: trapText(e), log };
  }
  const join = (parts) => dec.decode(Buffer.concat(parts.map((p) => Buffer.from(p))));
  return { exitCode, stdout: join(wasi.io.stdout), stderr: join(wasi.io.stderr), log };
}

// The host-side view of a WASI run: a ValidationResponse-like object (kubewarden.md 2.5).
export function wasiVerdict(run) {
  if (run.exitCode !== 0) return { accepted: false, message: run.stderr.trim(), code: 500 };
  try {
    return JSON.parse(run.stdout);
  } catch (e) {
    return {
      accepted: false,
      message: `internal server error: Cannot deserialize policy validation response: ${e.message}`,
      code: 500,
    };
  }
}
