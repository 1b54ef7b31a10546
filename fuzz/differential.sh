#!/usr/bin/env bash
# Differential runs: each module of DIR (from `tollgate-gen --differential`) runs on tollgate
# (`tollgate wasm run --invoke main`) and on another engine; results must agree.
# SPDX-License-Identifier: Apache-2.0
#
# usage: fuzz/differential.sh DIR [ENGINE...]
#   ENGINE is any command that takes the module path as its last argument, runs export `main`
#   and prints each result on its own line (integers in decimal, floats as numbers, nan, inf,
#   -0) or a line starting with "trap". Default: node fuzz/run_node.js (V8).
#   TOLLGATE=path/to/tollgate overrides the tollgate binary (default build/server/cli/tollgate).
# Integers compare exactly (modulo 2^32 / 2^64), floats by bits (f32 after rounding), NaNs only as
# NaN (the spec lets their payload vary), traps only as traps (messages differ by engine).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${1:?usage: fuzz/differential.sh DIR [ENGINE...]}"
shift
engine=("$@")
if ((${#engine[@]} == 0)); then engine=(node "$here/run_node.js"); fi
tollgate="${TOLLGATE:-$here/../build/server/cli/tollgate}"

same=0
differ=0
for wasm in "$dir"/*.wasm; do
  ours="$("$tollgate" wasm run --invoke main "$wasm" 2>&1)"
  theirs="$("${engine[@]}" "$wasm" 2>&1)"
  if python3 - "$ours" "$theirs" <<'PY'; then same=$((same + 1)); else differ=$((differ + 1)); echo "DIFFER: $wasm"; echo "  tollgate: ${ours//$'\n'/ }"; echo "  engine:   ${theirs//$'\n'/ }"; fi
import math, struct, sys
ours = sys.argv[1].splitlines()
theirs = sys.argv[2].splitlines()
def trapped(lines):
    return any("trap" in l for l in lines)
if trapped(ours) or trapped(theirs):
    sys.exit(0 if trapped(ours) == trapped(theirs) else 1)
if len(ours) != len(theirs):
    sys.exit(1)
def number(text):
    t = text.strip().lower().replace("infinity", "inf")
    if "nan" in t:
        return math.nan
    return float(t)
for o, t in zip(ours, theirs):
    kind, _, value = o.partition(":")
    if kind in ("i32", "i64"):
        mod = 1 << (32 if kind == "i32" else 64)
        if int(value) % mod != int(t) % mod:
            sys.exit(1)
    else:
        a, b = number(value), number(t)
        if math.isnan(a) or math.isnan(b):
            if not (math.isnan(a) and math.isnan(b)):
                sys.exit(1)
            continue
        fmt = "<f" if kind == "f32" else "<d"
        if struct.pack(fmt, a) != struct.pack(fmt, b):
            sys.exit(1)
sys.exit(0)
PY
done
echo "differential: $same agree, $differ differ (engine: ${engine[*]})"
((differ == 0))
