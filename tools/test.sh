#!/usr/bin/env bash
# Sets up the machine, builds, and runs every test suite, printing each runner's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh

status=0
echo "== unit tests (gtest)"
./build/tests/unit_tests --gtest_brief=1 || status=1

echo "== spec tests (interpreter)"
spec-tests/run_all.sh build interp || status=1

echo "== meson test (all suites)"
meson test -C build --print-errorlogs --num-processes 2 --no-rebuild || status=1

exit $status
