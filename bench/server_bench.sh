#!/usr/bin/env bash
# Loopback load test of `tollgate serve --demo`: wrk over TLS keep-alive POSTing a privileged Pod
# to /validate/pod-privileged; prints requests/s, p50/p99 latency, server RSS and the time from
# launch to readiness.
#   bench/server_bench.sh <tollgate> [seconds=10] [connections=16]
# Env: TOLLGATE_BENCH_WORKERS (2), TOLLGATE_BENCH_IO_THREADS (1), TOLLGATE_BENCH_WRK_THREADS (1);
# TOLLGATE_BENCH_TRANSPORT=1 sends the Pod in an always-accept namespace, so no policy runs and
# the figures are the transport's (TLS, HTTP, worker hand-off, JSON in and out).
set -euo pipefail
tollgate=$(realpath "$1")
seconds=${2:-10}
connections=${3:-16}
here=$(cd "$(dirname "$0")" && pwd)
fixture=$(realpath "$here/../../shared/fixtures/admission/review_pod_privileged.json")
command -v wrk >/dev/null || { echo "server_bench: wrk is missing (tools/setup.sh installs it)" >&2; exit 1; }

extra=()
expect='"allowed":false'
if [ "${TOLLGATE_BENCH_TRANSPORT:-0}" = 1 ]; then
  body=$(mktemp)
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); r["request"]["namespace"]="bench-noop"; json.dump(r,open(sys.argv[2],"w"))' "$fixture" "$body"
  fixture=$body
  extra=(--always-accept-admission-reviews-on-namespace bench-noop)
  expect='"allowed":true'
fi

port=$((20000 + RANDOM % 20000))
readiness=$((port + 1))
log=$(mktemp)
start_ns=$(date +%s%N)
"$tollgate" serve --demo --port "$port" --readiness-probe-port "$readiness" \
  --workers "${TOLLGATE_BENCH_WORKERS:-2}" --io-threads "${TOLLGATE_BENCH_IO_THREADS:-1}" \
  --log-level warn "${extra[@]}" 2>"$log" >/dev/null &
server=$!
trap 'kill -TERM $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -f "$log"' EXIT

ready_ms=""
for _ in $(seq 1 2000); do
  if curl -fs -o /dev/null "http://127.0.0.1:$readiness/readiness" 2>/dev/null; then
    ready_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
    break
  fi
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; echo "server_bench: server died" >&2; exit 1; }
  sleep 0.002
done
[ -n "$ready_ms" ] || { echo "server_bench: never ready" >&2; exit 1; }

url="https://127.0.0.1:$port/validate/pod-privileged"
answer=$(curl -sk -H 'Content-Type: application/json' --data @"$fixture" "$url")
case "$answer" in
  *"$expect"*) ;;
  *) echo "server_bench: unexpected answer: $answer" >&2; exit 1 ;;
esac
rss_idle_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$server/status")

out=$(TOLLGATE_BENCH_BODY="$fixture" wrk -t "${TOLLGATE_BENCH_WRK_THREADS:-1}" -c "$connections" \
  -d "${seconds}s" --latency -s "$here/server_bench.lua" "$url")
echo "$out"
rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$server/status")
hwm_kb=$(awk '/^VmHWM/ {print $2}' "/proc/$server/status")

rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
echo
echo "server_bench: ${rps} req/s, p50 ${p50}, p99 ${p99}, ${connections} connections, ${seconds}s," \
  "cores $(nproc) shared with wrk"
echo "server_bench: RSS idle $((rss_idle_kb / 1024)) MB, after load $((rss_kb / 1024)) MB," \
  "peak $((hwm_kb / 1024)) MB; launch to readiness ${ready_ms} ms" \
  "(server's own count: $(grep -o 'startup_ms=[0-9]*' "$log" || echo 'n/a, log level warn'))"
