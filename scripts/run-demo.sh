#!/usr/bin/env bash
# Sets up (see setup.sh), then runs the bundled demo origin on 127.0.0.1:3000 and the proxy
# with the reference config (config/examples/edge.yaml) on 127.0.0.1:8080. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap "exit 130" INT TERM

wait_for() {  # url
  for _ in $(seq 100); do
    curl -fs -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "run-demo: $1 did not answer within 10 s" >&2
  exit 1
}

node demo/origin.mjs --host 127.0.0.1 --port 3000 &
pids+=($!)
wait_for http://127.0.0.1:3000/health
build/edge-proxy --config config/examples/edge.yaml &
pids+=($!)
wait_for http://127.0.0.1:8080/health

cat <<'TRY'

edge-proxy is running on http://127.0.0.1:8080 in front of the demo origin (127.0.0.1:3000).
Try:
  curl -i http://127.0.0.1:8080/api/v1/work-orders
  curl -i http://127.0.0.1:8080/api/v1/work-orders/42
  curl -i http://127.0.0.1:8080/api/v1/sites/3
  curl -i http://127.0.0.1:8080/api/v1/dashboard
  curl -I http://127.0.0.1:8080/static/app.js
  curl -i -X POST -H 'Content-Type: application/json' -d '{"title":"Fix pump"}' \
       http://127.0.0.1:8080/api/v1/work-orders
Press Ctrl-C to stop.
TRY
wait -n
