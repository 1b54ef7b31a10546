#!/usr/bin/env bash
# A fuzzing campaign: runs each libFuzzer target in turn for a time, minimises every crasher,
# merges (shrinks) the corpus, and prints per target exec/s, total execs, coverage (cov), features
# (ft), corpus size and crashers; each row is also appended to WORK/summary.tsv.
# SPDX-License-Identifier: Apache-2.0
#
# usage: fuzz/campaign.sh [SECONDS_PER_TARGET (default 600)] [TARGET...]
#   BUILD=build-fuzz   the clang build (fuzz/README.md shows its setup)
#   WORK=$BUILD/campaign   corpora, crashers and logs (seeded once from fuzz/make_seeds.sh)
#   EXTRA="-jobs=2 -workers=2"   more libFuzzer flags
#   SEED_LIMIT=300   a target starts from at most this many seeds (a random sample): thousands of
#                    spec modules would take a slow (-O0, loaded machine) target's whole slot
#   RSS_MB=1536 TIMEOUT=20   libFuzzer's -rss_limit_mb and -timeout per input
#   MIN_SECONDS=180   time for minimising each crasher
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
  targets=(decode instantiate_run gen_run interp_vs_jit wapc_protocol admission_json http_handler
           policies_yml host_capabilities)
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
  sample="$work/seed-sample/$t"
  if [ ! -d "$sample" ]; then
    mkdir -p "$sample"
    find "$work/seeds/$t" -type f 2>/dev/null | shuf -n "${SEED_LIMIT:-300}" |
      while read -r f; do cp -f "$f" "$sample/"; done
  fi
  log="$work/logs/$t.log"
  echo "== $t for ${seconds}s (log $log, started $(date +%H:%M:%S))"
  before=$(find "$work/crashes" -name "$t-*" ! -name '*.min' ! -name '*.log' | wc -l)
  # shellcheck disable=SC2086
  "$fuzzer" "$corpus" "$sample" -max_total_time="$seconds" -print_final_stats=1 \
    -timeout="${TIMEOUT:-20}" -rss_limit_mb="${RSS_MB:-1536}" -artifact_prefix="$work/crashes/$t-" \
    ${EXTRA:-} >"$log" 2>&1
  for crash in "$work/crashes/$t"-crash-* "$work/crashes/$t"-leak-* "$work/crashes/$t"-timeout-* \
               "$work/crashes/$t"-oom-*; do
    [ -f "$crash" ] || continue
    [[ "$crash" == *.min ]] && continue
    [ -f "$crash.min" ] && continue
    "$fuzzer" -minimize_crash=1 -runs=20000 -max_total_time="${MIN_SECONDS:-180}" \
      -timeout="${TIMEOUT:-20}" -rss_limit_mb="${RSS_MB:-1536}" -exact_artifact_path="$crash.min" \
      "$crash" >"$crash.minimize.log" 2>&1 || true
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
  status=$(grep -a -E '^#[0-9]+' "$log" | tail -1)
  cov=$(grep -o -E 'cov: [0-9]+' <<<"$status" | awk '{print $2}')
  ft=$(grep -o -E 'ft: [0-9]+' <<<"$status" | awk '{print $2}')
  corpus_files=$(find "$corpus" -type f | wc -l)
  after=$(find "$work/crashes" -name "$t-*" ! -name '*.min' ! -name '*.log' | wc -l)
  row="$(printf '%-16s %6ss %11s execs %7s exec/s  cov %6s  ft %7s  corpus %6s  crashers %s' "$t" \
    "$seconds" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$corpus_files" "$((after - before))")"
  summary+=("$row")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$seconds" "${execs:-?}" "${rate:-?}" \
    "${cov:-?}" "${ft:-?}" "$corpus_files" "$((after - before))" >>"$work/summary.tsv"
  # Target-specific counts printed at exit (interp_vs_jit: modules the JIT refused).
  grep -a -A20 '^interp_vs_jit:' "$log" | grep -a -E '^(interp_vs_jit:|  refused)' | tail -8 || true
  echo "$row"
done
echo "== campaign summary (${seconds}s per target; new crashers minimised in $work/crashes)"
printf '%s\n' "${summary[@]}"
