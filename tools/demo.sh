#!/usr/bin/env bash
# The main job on built-in defaults: set up, build, start the admission webhook server on the
# example policies (HTTPS on 127.0.0.1:3000, readiness on :8081), send it a privileged Pod,
# and keep serving until Ctrl-C. `tools/demo.sh --once` stops after the first answer.
set -euo pipefail
cd "$(dirname "$0")/.."
once=false
if [ "${1:-}" = "--once" ]; then once=true; fi
tools/setup.sh
tools/build.sh

tollgate=build/server/cli/tollgate
[ -x "$tollgate" ] || tollgate=build/server/tollgate
port=${TOLLGATE_DEMO_PORT:-3000}
readiness=${TOLLGATE_DEMO_READINESS_PORT:-8081}

"$tollgate" serve --demo --port "$port" --readiness-probe-port "$readiness" &
server=$!
trap 'kill -TERM $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
  if curl -fsS -o /dev/null "http://127.0.0.1:$readiness/readiness" 2>/dev/null; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then echo "demo: the server did not start" >&2; exit 1; fi
  sleep 0.1
done

echo "== POST review_pod_privileged.json to /validate/pod-privileged:"
curl -sS --cacert build/demo-tls/ca.crt -H 'Content-Type: application/json' \
  --data @../shared/fixtures/admission/review_pod_privileged.json \
  "https://127.0.0.1:$port/validate/pod-privileged"
echo
if $once; then exit 0; fi
echo "== serving; Ctrl-C stops it"
wait $server
