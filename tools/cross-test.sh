#!/usr/bin/env bash
# Cross-builds tollgate for aarch64 and runs its unit tests and the non-SIMD spec suite (both tiers) under qemu-user.
# SPDX-License-Identifier: Apache-2.0
#
# Idempotent: installs the arm64 toolchain and libraries only when missing, configures
# build-arm64 once (cross/aarch64-linux-gnu.ini, qemu-aarch64 as meson's exe_wrapper), builds only
# the targets it runs (unit_tests, jit_tests, spec_runner and the non-SIMD spec JSON). Prints each
# gtest summary and one `N passed, N failed, N skipped` line per spec run: the interpreter, the
# JIT with explicit bounds checks and the JIT on guard regions (qemu-user grants the 8 GiB
# reservations and delivers the faults to our handler). Exit status 0 only if all of it passed.
# Absolute times under qemu mean nothing; only ratios measured in one run do.
set -uo pipefail
cd "$(dirname "$0")/.."
dir=${TG_ARM64_BUILD:-build-arm64}
start=$(date +%s)

packages=(
  g++-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-user
  libasmjit-dev:arm64 libboost1.81-dev:arm64 libboost-json1.81-dev:arm64
  libssl-dev:arm64 libre2-dev:arm64 libgtest-dev:arm64 libgmock-dev:arm64
)
# shellcheck source=tools/apt-install.sh
source tools/apt-install.sh
# --no-remove: multiarch lockstep upgrades are fine, removing anything is not.
apt_install_missing cross-test --arch arm64 --no-remove -- "${packages[@]}" || exit 1

# meson copies the cross file at setup: a changed one needs a fresh configuration.
cross=cross/aarch64-linux-gnu.ini
if [ ! -f "$dir/build.ninja" ] || ! cmp -s "$cross" "$dir/cross-file.used"; then
  meson setup --wipe "$dir" --cross-file "$cross" >/dev/null 2>&1 ||
    meson setup "$dir" --cross-file "$cross" >/dev/null || exit 1
  cp "$cross" "$dir/cross-file.used"
fi
# As the cross file's exe_wrapper (see there for -R).
qemu=(qemu-aarch64 -R 0x10000000000)
# shellcheck disable=SC2207
json_targets=($(ninja -C "$dir" -t targets all | grep -o '^spec-tests/[A-Za-z0-9_.-]*\.stamp' |
  grep -v '^spec-tests/simd_'))
echo "== cross build ($dir): unit_tests, jit_tests, spec_runner, ${#json_targets[@]} spec files"
if ! ninja -C "$dir" tests/unit_tests tests/jit_tests spec-tests/spec_runner \
    "${json_targets[@]}" >"$dir/cross-build.log" 2>&1; then
  tail -n 30 "$dir/cross-build.log"
  echo "cross-test: build failed (log: $dir/cross-build.log)"
  exit 1
fi
built=$(date +%s)

status=0
for t in unit_tests jit_tests; do
  echo "-- ${qemu[*]} $dir/tests/$t"
  "${qemu[@]}" "$dir/tests/$t" --gtest_brief=1 | tail -n 3
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done

# run_all.sh takes one executable; this one runs the aarch64 runner under qemu with the bounds
# mode in TG_JIT_BOUNDS.
runner="$dir/spec_runner_qemu"
cat >"$runner" <<'EOF'
#!/bin/sh
exec qemu-aarch64 -R 0x10000000000 "$(dirname "$0")/spec-tests/spec_runner" ${TG_JIT_BOUNDS:+--jit-bounds $TG_JIT_BOUNDS} "$@"
EOF
chmod +x "$runner"
# The non-SIMD files only (the aarch64 JIT, like the x86-64 one, refuses SIMD modules).
core="$dir/spec-core/json"
rm -rf "$dir/spec-core"
mkdir -p "$core"
for d in "$dir"/spec-tests/json/*/; do
  name=$(basename "$d")
  case "$name" in simd_*) continue ;; esac
  ln -s "$(cd "$d" && pwd)" "$core/$name"
done
for run in interp jit:explicit jit:guard; do
  tier=${run%%:*}
  bounds=""
  [ "$run" != "$tier" ] && bounds=${run#*:}
  echo "-- spec suite (non-SIMD) on the $tier tier${bounds:+, $bounds bounds} under qemu-aarch64"
  out=$(TG_JIT_BOUNDS=$bounds sh spec-tests/run_all.sh --tier "$tier" --timeout 300 "$runner" "$core")
  rc=$?
  echo "$out" | grep -Ev ' ok$|^file |^logs: ' | grep -v '^[0-9]* passed' || true
  echo "$out" | tail -n 1
  if [ "$tier" = jit ]; then
    # The runner's per-file account: modules the JIT compiled or refused, calls it ran or handed
    # to the interpreter (guard-region code on a memory without the full reservation would be).
    cat "$core/../logs-jit"/*.log | awk '/^jit: / { c += $2; r += $5; j += $9; i += $14 }
      END { printf "jit: %d modules compiled, %d refused; %d calls on the jit, %d interpreted\n", c, r, j, i }'
  fi
  [ $rc -eq 0 ] || status=1
  echo "$out" | tail -n 1 | grep -q ' 0 failed' || status=1
done

end=$(date +%s)
echo "cross-test: build $((built - start)) s, tests $((end - built)) s, total $((end - start)) s"
exit $status
