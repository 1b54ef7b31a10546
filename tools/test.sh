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

# The corpus replays (suite fuzz-regress) ran above with every other meson suite.

# Unit and spec suites once more under ASan+UBSan (gcc, debugoptimized): any report fails them.
# TG_SKIP_ASAN=1 skips this (it is a second full build).
if [ -z "${TG_SKIP_ASAN:-}" ]; then
  echo "== unit and spec suites under ASan+UBSan (build-asan)"
  if [ ! -f build-asan/build.ninja ]; then
    meson setup build-asan -Dbuildtype=debugoptimized -Db_sanitize=address,undefined >/dev/null || status=1
  fi
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C build-asan --suite unit --suite spec --num-processes 2 --print-errorlogs \
    | tail -n 8 || status=1
fi

# Every libFuzzer target for a short time on the clang build (TG_FUZZ_SECONDS each, default 20;
# TG_SKIP_FUZZ=1 skips). A finding fails the run; fuzz/campaign.sh runs the long campaigns.
if [ -z "${TG_SKIP_FUZZ:-}" ]; then
  echo "== fuzz targets, ${TG_FUZZ_SECONDS:-20}s each (build-fuzz, clang-14 + libFuzzer + ASan/UBSan)"
  if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang-14 CXX=clang++-14 meson setup build-fuzz -Dfuzz=true -Dtests=false \
      -Dbuildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false \
      -Dcpp_args=-fsanitize=fuzzer-no-link >/dev/null || status=1
  fi
  fuzz_targets=(decode instantiate_run gen_run wapc_protocol admission_json policies_yml)
  # shellcheck disable=SC2046
  ninja -C build-fuzz $(printf 'fuzz/%s_fuzzer ' "${fuzz_targets[@]}") >/dev/null || status=1
  WORK=build-fuzz/test-run fuzz/campaign.sh "${TG_FUZZ_SECONDS:-20}" "${fuzz_targets[@]}" \
    | sed -n '/campaign summary/,$p'
  if compgen -G "build-fuzz/test-run/crashes/*.min" >/dev/null; then
    echo "fuzz: crashers in build-fuzz/test-run/crashes/"
    status=1
  fi
fi

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
