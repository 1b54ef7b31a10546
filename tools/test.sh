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

# The runtime-level suites once more under ASan+UBSan (gcc, debugoptimized): the unit tests of
# runtime, jit and hostabi, and the whole spec suite and our spec-tests/extra scripts on both
# tiers (reusing the JSON converted above). Any sanitizer report fails them. Only these targets
# are built, to keep the test command well inside CI's time; TG_SKIP_ASAN=1 skips the section.
if [ -z "${TG_SKIP_ASAN:-}" ]; then
  echo "== runtime, jit and hostabi unit tests and the spec suite under ASan+UBSan (build-asan)"
  if [ ! -f build-asan/build.ninja ]; then
    meson setup build-asan -Dbuildtype=debugoptimized -Db_sanitize=address,undefined >/dev/null || status=1
  fi
  if ninja -C build-asan tests/unit_tests tests/jit_tests tests/hostabi_tests \
      spec-tests/spec_runner >/dev/null; then
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
    for t in unit_tests jit_tests hostabi_tests; do
      echo "-- build-asan/tests/$t"
      build-asan/tests/$t --gtest_brief=1 | tail -n 3 || status=1
    done
    for tier in interp jit; do
      echo "-- spec suite on the $tier tier under ASan+UBSan"
      sh spec-tests/run_all.sh --tier $tier --simd skip build-asan/spec-tests/spec_runner \
        build/spec-tests/json | tail -n 1 || status=1
      # Our own scripts reach the interpreter's fused forms that the suite's modules do not.
      echo "-- spec-tests/extra on the $tier tier under ASan+UBSan"
      sh spec-tests/run_all.sh --tier $tier build-asan/spec-tests/spec_runner \
        build/spec-tests/json/extra | tail -n 1 || status=1
    done
    unset ASAN_OPTIONS UBSAN_OPTIONS
  else
    echo "build-asan: build failed"
    status=1
  fi
fi

# Every libFuzzer target for a short time on the clang build (TG_FUZZ_SECONDS, default 20;
# TG_SKIP_FUZZ=1 skips). A finding fails the run. The committed corpora were replayed above on the
# normal build (suite fuzz-regress); fuzz/campaign.sh runs long campaigns.
if [ -z "${TG_SKIP_FUZZ:-}" ]; then
  echo "== fuzz targets, ${TG_FUZZ_SECONDS:-20}s each (build-fuzz, clang-14 + libFuzzer + ASan/UBSan)"
  if [ ! -f build-fuzz/build.ninja ]; then
    # -O0: clang needs over ten minutes for the interpreter's dispatch function at -O2 with
    # sanitizers and coverage, and 9 s at -O0; a short smoke run does not need the speed.
    CC=clang-14 CXX=clang++-14 meson setup build-fuzz -Dfuzz=true -Dtests=false \
      -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false \
      -Dcpp_args=-fsanitize=fuzzer-no-link >/dev/null || status=1
  fi
  fuzz_targets=(decode instantiate_run gen_run interp_vs_jit wapc_protocol admission_json
    policies_yml http_handler host_capabilities)
  # shellcheck disable=SC2046
  if ninja -C build-fuzz $(printf 'fuzz/%s_fuzzer ' "${fuzz_targets[@]}") >/dev/null; then
    WORK=build-fuzz/test-run fuzz/campaign.sh "${TG_FUZZ_SECONDS:-20}" "${fuzz_targets[@]}" \
      | sed -n '/campaign summary/,$p'
    if compgen -G "build-fuzz/test-run/crashes/*.min" >/dev/null; then
      echo "fuzz: crashers in build-fuzz/test-run/crashes/"
      status=1
    fi
  else
    echo "build-fuzz: build failed"
    status=1
  fi
fi

# The aarch64 build: cross-compiled, its unit tests and the non-SIMD spec suite run under
# qemu-aarch64 on the interpreter and on the JIT in both bounds modes (TG_SKIP_CROSS=1 skips).
if [ -z "${TG_SKIP_CROSS:-}" ]; then
  echo "== aarch64: cross build, unit tests and spec suite under qemu-aarch64 (tools/cross-test.sh)"
  tools/cross-test.sh || status=1
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
