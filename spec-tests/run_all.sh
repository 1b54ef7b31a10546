#!/bin/sh
# Runs spec_runner on every converted spec script and prints a per-file table and one total line.
# SPDX-License-Identifier: Apache-2.0
#
# Usage: run_all.sh [--tier T] [--jit-bounds explicit|guard] [--simd run|skip] [--timeout SECONDS]
#                   RUNNER JSON_ROOT
# JSON_ROOT holds one folder per .wast (NAME/NAME.json), as spec-tests/meson.build lays them out.
# `--simd` applies to the simd_* files only. Each file runs in its own process under `timeout`, so
# a crash or hang shows up as that file's status and the rest still run.
set -u
tier=interp
simd=run
limit=600
bounds=
while [ $# -gt 2 ]; do
  case "$1" in
    --tier) tier=$2; shift 2 ;;
    --simd) simd=$2; shift 2 ;;
    --jit-bounds) bounds=$2; shift 2 ;;
    --timeout) limit=$2; shift 2 ;;
    *) echo "run_all.sh: unexpected argument $1" >&2; exit 2 ;;
  esac
done
if [ $# -ne 2 ]; then
  echo "usage: run_all.sh [--tier T] [--jit-bounds explicit|guard] [--simd run|skip] [--timeout S] RUNNER JSON_ROOT" >&2
  exit 2
fi
runner=$1
root=$2
log_dir="$(dirname "$root")/logs-$tier${bounds:+-$bounds}"
mkdir -p "$log_dir"

total_pass=0 total_fail=0 total_skip=0 bad_files=0 files=0
printf '%-40s %8s %8s %8s  %s\n' file passed failed skipped status
for dir in "$root"/*/; do
  name=$(basename "$dir")
  json="$dir$name.json"
  [ -f "$json" ] || continue
  files=$((files + 1))
  extra=""
  [ -n "$bounds" ] && extra="--jit-bounds $bounds"
  case "$name" in simd_*) extra="$extra --simd $simd" ;; esac
  log="$log_dir/$name.log"
  # shellcheck disable=SC2086
  timeout "$limit" "$runner" --tier "$tier" $extra "$json" >"$log" 2>&1
  rc=$?
  counts=$(tail -n 1 "$log" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p')
  if [ -n "$counts" ]; then
    set -- $counts
    status=ok
    [ "$2" -ne 0 ] && status=FAIL
    total_pass=$((total_pass + $1)) total_fail=$((total_fail + $2)) total_skip=$((total_skip + $3))
    printf '%-40s %8s %8s %8s  %s\n' "$name" "$1" "$2" "$3" "$status"
  else
    case $rc in
      124) status="TIMEOUT after ${limit}s" ;;
      *) status="CRASH (exit $rc)" ;;
    esac
    bad_files=$((bad_files + 1))
    printf '%-40s %8s %8s %8s  %s\n' "$name" - - - "$status"
  fi
done
echo "logs: $log_dir"
if [ "$bad_files" -ne 0 ]; then
  echo "$bad_files of $files files crashed or timed out (their commands are not counted)"
fi
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ] && [ "$bad_files" -eq 0 ]
