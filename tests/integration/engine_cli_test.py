# `--engine interp`, `--engine jit` (guard region by default) and `--engine jit --jit-bounds explicit` give the same output:
# `tollgate run` on every example policy and fixture of expectations.json, `tollgate wasm run` on
# small modules (results, traps, fuel).
# SPDX-License-Identifier: Apache-2.0
#
# Usage: engine_cli_test.py TOLLGATE WAT2WASM BUILT_POLICIES_DIR EXPECTATIONS FIXTURES_DIR
import json
import os
import subprocess
import sys
import tempfile

TOLLGATE, WAT2WASM, BUILT, EXPECTATIONS, FIXTURES = sys.argv[1:6]
failures = []


def tollgate(args):
    proc = subprocess.run([TOLLGATE] + args, capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def with_engine(args, engine):
    # Options go before `--`, after which everything is a positional argument.
    cut = args.index("--") if "--" in args else len(args)
    return args[:cut] + engine + args[cut:]


def same_on_both(label, args):
    interp = tollgate(with_engine(args, ["--engine", "interp"]))
    jit = tollgate(with_engine(args, ["--engine", "jit"]))
    explicit = tollgate(with_engine(args, ["--engine", "jit", "--jit-bounds", "explicit"]))
    ok = interp == jit == explicit
    print(f"{'ok' if ok else 'FAIL'}: {label}")
    if not ok:
        print(f"    interp: {interp!r}\n    jit:    {jit!r}\n    explicit: {explicit!r}")
        failures.append(label)
    return interp


with open(EXPECTATIONS) as f:
    policies = json.load(f)["policies"]
for name, spec in sorted(policies.items()):
    wasm = os.path.join(BUILT, name + ".wasm")
    for i, case in enumerate(spec["cases"]):
        settings = case.get("settings", spec.get("settings", {}))
        args = ["run", wasm, "-r", os.path.join(FIXTURES, case["fixture"]),
                "--settings-json", json.dumps(settings)]
        if name.startswith("raw-"):
            args.append("--raw")
        code, out, _ = same_on_both(f"run {name} case {i} ({case['fixture']})", args)
        if code != 0 or not out.strip():
            print(f"FAIL: run {name} case {i} gave no response (exit {code})")
            failures.append(f"{name} {i} no response")

MODULES = {
    "arith": ("""(module (func (export "f") (param i32 i64) (result i64)
                  (i64.add (i64.extend_i32_u (local.get 0)) (i64.mul (local.get 1) (i64.const 3)))))""",
              ["7", "0x100000000"]),
    "trap": ("""(module (func (export "f") (param i32) (result i32)
                 (i32.div_s (i32.const 1) (local.get 0))))""", ["0"]),
    "loop": ("""(module (func (export "f") (param i32) (result i32) (local i32)
                 (loop $l (local.set 1 (i32.add (local.get 1) (local.get 0)))
                   (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
                   (br_if $l (local.get 0)))
                 (local.get 1)))""", ["1000"]),
}
with tempfile.TemporaryDirectory() as tmp:
    for name, (wat, args) in MODULES.items():
        wat_path = os.path.join(tmp, name + ".wat")
        wasm_path = os.path.join(tmp, name + ".wasm")
        with open(wat_path, "w") as f:
            f.write(wat)
        subprocess.run([WAT2WASM, wat_path, "-o", wasm_path], check=True)
        for fuel in ([], ["--fuel", "100000"], ["--fuel", "50"]):
            same_on_both(f"wasm run {name} {' '.join(fuel)}",
                         ["wasm", "run", wasm_path, "--invoke", "f"] + fuel + ["--"] + args)

bad = tollgate(["wasm", "run", "x.wasm", "--invoke", "f", "--engine", "v8"])
if bad[0] == 0:
    print("FAIL: --engine v8 was accepted")
    failures.append("--engine v8")

print(f"{len(failures)} failed")
sys.exit(1 if failures else 0)
