# Smoke test of `tollgate wasm validate|run|inspect` on the demo modules: outputs and exit codes.
# SPDX-License-Identifier: Apache-2.0
#
# Usage: cli_smoke_test.py TOLLGATE FIB_WASM SHA256_WASM [WAT2WASM]
import os
import subprocess
import sys
import tempfile

TOLLGATE, FIB, SHA256 = sys.argv[1:4]
WAT2WASM = sys.argv[4] if len(sys.argv) > 4 else None
failures = []


def check(args, code, stdout=None, stderr_has=None, stdout_has=None):
    proc = subprocess.run([TOLLGATE] + args, capture_output=True, text=True, timeout=120)
    problems = []
    if proc.returncode != code:
        problems.append(f"exit {proc.returncode}, want {code}")
    if stdout is not None and proc.stdout != stdout:
        problems.append(f"stdout {proc.stdout!r}, want {stdout!r}")
    if stdout_has is not None and stdout_has not in proc.stdout:
        problems.append(f"stdout {proc.stdout!r} lacks {stdout_has!r}")
    if stderr_has is not None and stderr_has not in proc.stderr:
        problems.append(f"stderr {proc.stderr!r} lacks {stderr_has!r}")
    status = "FAIL" if problems else "ok"
    print(f"{status}: tollgate {' '.join(args)}")
    for p in problems:
        print(f"    {p}")
    if problems:
        failures.append(args)


# A module with one function of type [] -> [i32] whose body is just `end`: it decodes but fails
# validation (the body leaves no i32 on the stack).
INVALID = bytes.fromhex("0061736d01000000" "010501600001 7f" "0302 0100" "0a04 0102000b".replace(" ", ""))

with tempfile.TemporaryDirectory() as tmp:
    invalid = os.path.join(tmp, "invalid.wasm")
    with open(invalid, "wb") as f:
        f.write(INVALID)
    truncated = os.path.join(tmp, "truncated.wasm")
    with open(FIB, "rb") as f, open(truncated, "wb") as out:
        out.write(f.read()[:20])
    not_wasm = os.path.join(tmp, "not.wasm")
    with open(not_wasm, "w") as f:
        f.write("hello\n")

    check(["wasm", "validate", FIB], 0, stdout="valid\n")
    check(["wasm", "validate", invalid], 1, stderr_has="invalid at byte offset")
    check(["wasm", "validate", truncated], 1, stderr_has="malformed at byte offset")
    check(["wasm", "validate", not_wasm], 1, stderr_has="malformed at byte offset 0")
    check(["wasm", "validate", os.path.join(tmp, "missing.wasm")], 1, stderr_has="cannot open")
    check(["wasm", "validate", tmp], 1, stderr_has="cannot read")

    # fib(20) = 6765, fib(30) = 832040 (OEIS A000045); fib.wasm returns 0 for negative n.
    check(["wasm", "run", FIB, "--invoke", "fib", "20"], 0, stdout="i64:6765\n")
    check(["wasm", "run", FIB, "--invoke", "fib", "30"], 0, stdout="i64:832040\n")
    check(["wasm", "run", FIB, "--invoke", "fib", "-5"], 0, stdout="i64:0\n")
    check(["wasm", "run", FIB, "--invoke", "fib", "0x14", "--fuel", "10000000"], 0,
          stdout="i64:6765\n", stderr_has="fuel used: ")
    check(["wasm", "run", FIB, "--invoke", "fib", "30", "--fuel", "1000"], 2,
          stderr_has="out of fuel")
    check(["wasm", "run", FIB, "--invoke", "nope", "1"], 1, stderr_has="no export named `nope`")
    check(["wasm", "run", FIB, "--invoke", "memory"], 1, stderr_has="is a memory, not a function")
    check(["wasm", "run", FIB, "--invoke", "fib"], 1, stderr_has="takes 1 argument (i32) but 0")
    check(["wasm", "run", FIB, "--invoke", "fib", "1", "2"], 1, stderr_has="but 2 were given")
    check(["wasm", "run", FIB, "--invoke", "fib", "x"], 1, stderr_has="`x` is not an i32")
    check(["wasm", "run", FIB, "--invoke", "fib", "1.5"], 1, stderr_has="is not an i32")
    check(["wasm", "run", invalid, "--invoke", "f"], 1, stderr_has="invalid at byte offset")

    # The CLI cannot read guest memory, so for sha256.wasm only check that calls run; its digests
    # are checked against node's crypto (see bench/README.md).
    check(["wasm", "run", SHA256, "--invoke", "digest", "0"], 0, stdout_has="i32:")
    check(["wasm", "run", SHA256, "--invoke", "run", "3"], 0, stdout_has="i64:")

    check(["wasm", "inspect", FIB], 0, stdout_has="func   fib: [i32] -> [i64]")

    if WAT2WASM:
        def wat(name, text):
            source = os.path.join(tmp, name + ".wat")
            with open(source, "w") as f:
                f.write(text)
            subprocess.run([WAT2WASM, source, "-o", os.path.join(tmp, name + ".wasm")], check=True)
            return os.path.join(tmp, name + ".wasm")

        imports = wat("imports", '(module (import "env" "f" (func)) (func (export "g")))')
        start = wat("start", "(module (func $s unreachable) (start $s) (func (export \"g\")))")
        ops = wat("ops", """(module
          (func (export "echo") (param i64 f64 f32) (result i64 f64 f32)
            local.get 0 local.get 1 local.get 2)
          (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
          (func (export "spin") (loop br 0)))""")
        check(["wasm", "run", imports, "--invoke", "g"], 1, stderr_has="unlinkable")
        check(["wasm", "inspect", imports], 0, stdout_has="func   env.f: [] -> []")
        check(["wasm", "run", start, "--invoke", "g"], 2, stderr_has="uninstantiable: unreachable")
        # Multi-value results, one per line; i64 prints signed, floats keep sign and NaN payload.
        check(["wasm", "run", ops, "--invoke", "echo", "--", "-5", "0x1.8p1", "-nan:0x1"], 0,
              stdout="i64:-5\nf64:3\nf32:-nan:0x1\n")
        # `-inf` is not a number to CLI11, so it needs `--` like any option-looking argument.
        check(["wasm", "run", ops, "--invoke", "echo", "--", "18446744073709551615", "-inf", "-0"], 0,
              stdout="i64:-1\nf64:-inf\nf32:-0\n")
        check(["wasm", "run", ops, "--invoke", "div", "-7", "2"], 0, stdout="i32:-3\n")
        check(["wasm", "run", ops, "--invoke", "div", "1", "0"], 2,
              stderr_has="trap: integer divide by zero")
        check(["wasm", "run", ops, "--invoke", "div", "--", "-2147483648", "-1"], 2,
              stderr_has="trap: integer overflow")
        check(["wasm", "run", ops, "--invoke", "spin", "--fuel", "5000"], 2,
              stderr_has="out of fuel")

if failures:
    print(f"{len(failures)} failed")
    sys.exit(1)
print("all passed")
