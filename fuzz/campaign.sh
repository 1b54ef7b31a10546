#!/usr/bin/env bash
# A fuzzing campaign: runs each libFuzzer target in turn for a time, minimises every crasher,
# merges (shrinks) the corpus, and prints per target exec/s, total execs, coverage and findings.
# SPDX-License-Identifier: Apache-2.0
#
# usage: fuzz/campaign.sh [SECONDS_PER_TARGET (default 600)] [TARGET...]
#   BUILD=build-fuzz   the clang build (fuzz/README.md shows its setup)
#   WORK=$BUILD/campaign   corpora, crashers and logs (seeded once from fuzz/make_seeds.sh)
#   EXTRA="-jobs=2 -workers=2"   more libFuzzer flags
# A crasher ends as WORK/crashes/<target>-crash-*.min: check it with
# `build/fuzz/<target>_replay FILE` on the gcc build, fix the bug, and commit the file to
# fuzz/corpus/<target>/ as its regression test.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-600}"
shift || true
build="${BUILD:-$root/build-fuzz}"
work="${WORK:-$build/campaign}"
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=(decode instantiate_run gen_run wapc_protocol admission_json policies_yml)
fi
mkdir -p "$work/crashes" "$work/logs"
if [ ! -d "$work/seeds" ]; then "$root/fuzz/make_seeds.sh" "$work/seeds" >/dev/null; fi

summary=()
for t in "${targets[@]}"; do
  fuzzer="$build/fuzz/${t}_fuzzer"
  if [ ! -x "$fuzzer" ]; then
    echo "campaign: $fuzzer is not built; skipping" >&2
    continue
  fi
  corpus="$work/corpus/$t"
  mkdir -p "$corpus"
  log="$work/logs/$t.log"
  echo "== $t for ${seconds}s (log $log)"
  # shellcheck disable=SC2086
  "$fuzzer" "$corpus" "$work/seeds/$t" -max_total_time="$seconds" -print_final_stats=1 \
    -timeout=20 -rss_limit_mb=2560 -artifact_prefix="$work/crashes/$t-" ${EXTRA:-} >"$log" 2>&1
  for crash in "$work/crashes/$t"-crash-* "$work/crashes/$t"-leak-* "$work/crashes/$t"-timeout-* \
               "$work/crashes/$t"-oom-*; do
    [ -f "$crash" ] || continue
    [[ "$crash" == *.min ]] && continue
    [ -f "$crash.min" ] && continue
    "$fuzzer" -minimize_crash=1 -runs=20000 -exact_artifact_path="$crash.min" "$crash" \
      >"$crash.minimize.log" 2>&1 || true
    [ -f "$crash.min" ] || cp "$crash" "$crash.min"
  done
  # Shrink the corpus to the inputs that keep its coverage.
  merged="$work/corpus/$t.merged"
  rm -rf "$merged"
  mkdir -p "$merged"
  "$fuzzer" -merge=1 "$merged" "$corpus" >"$work/logs/$t.merge.log" 2>&1 &&
    rm -rf "$corpus" && mv "$merged" "$corpus"
  execs=$(grep -a 'stat::number_of_executed_units' "$log" | awk '{print $2}')
  rate=$(grep -a 'stat::average_exec_per_sec' "$log" | awk '{print $2}')
  cov=$(grep -a -E '^#[0-9]+' "$log" | tail -1 | grep -o -E 'cov: [0-9]+ ft: [0-9]+')
  crashes=$(find "$work/crashes" -name "$t-*.min" | wc -l)
  summary+=("$(printf '%-16s %10s execs %7s exec/s  %-22s crashers: %s' "$t" "${execs:-?}" \
    "${rate:-?}" "${cov:-?}" "$crashes")")
done
echo "== campaign summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
