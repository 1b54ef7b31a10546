#!/usr/bin/env bash
# Sets up the machine, builds, runs every test suite, and prints the runners' summary lines.
set -uo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh || exit 1
tools/build.sh || exit 1

status=0
echo "== meson test: unit (gtest), spec (one test per .wast), smoke suites"
meson test -C build --no-rebuild --print-errorlogs --num-processes 2 || status=1

echo "== unit tests (gtest summary)"
for t in build/tests/*_tests; do
  if [ -x "$t" ]; then
    echo "-- $t"
    "$t" --gtest_brief=1 | tail -n 3 || status=1
  fi
done

echo "== WebAssembly spec suite on the interpreter (assertions per file)"
sh spec-tests/run_all.sh --simd skip build/spec-tests/spec_runner build/spec-tests/json || status=1

# One closing line over every meson test, in the form CI reads.
python3 - build/meson-logs/testlog.json <<'PY'
import json, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0}
for line in open(sys.argv[1]):
    result = json.loads(line)["result"]
    key = "OK" if result in ("OK", "EXPECTEDFAIL") else "SKIP" if result == "SKIP" else "FAIL"
    counts[key] += 1
print(f"tollgate: {counts['OK']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
PY
exit $status
