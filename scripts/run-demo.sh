#!/usr/bin/env bash
# Sets up (see setup.sh), then runs the bundled demo origin on 127.0.0.1:3000, a redis-server on
# 127.0.0.1:6379 (when the reference config has an invalidation section and no Redis answers
# there yet; nothing saved to disk) and the proxy with the reference config
# (config/examples/edge.yaml) on 127.0.0.1:8080, admin API on 127.0.0.1:9091. Ctrl-C stops all.
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

config=config/examples/edge.yaml
if grep -q '^invalidation:' "$config" && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --loglevel warning &
  pids+=($!)
fi
# The admin API needs a bearer token from the environment: one for this session if none is set.
export EDGE_ADMIN_TOKEN=${EDGE_ADMIN_TOKEN:-$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')}

node demo/origin.mjs --host 127.0.0.1 --port 3000 &
pids+=($!)
wait_for http://127.0.0.1:3000/health
build/edge-proxy --config "$config" &
pids+=($!)
wait_for http://127.0.0.1:8080/health

cat <<TRY

edge-proxy is running on http://127.0.0.1:8080 in front of the demo origin (127.0.0.1:3000).
Try:
  curl -i http://127.0.0.1:8080/api/v1/work-orders
  curl -i http://127.0.0.1:8080/api/v1/work-orders/42
  curl -i http://127.0.0.1:8080/api/v1/sites/3
  curl -i http://127.0.0.1:8080/api/v1/dashboard
  curl -I http://127.0.0.1:8080/static/app.js
  curl -i -X POST -H 'Content-Type: application/json' -d '{"title":"Fix pump"}' \\
       http://127.0.0.1:8080/api/v1/work-orders
Sparse fieldsets, compression and a batch:
  curl -s 'http://127.0.0.1:8080/api/v1/work-orders?per_page=3&fields=id,title,site.name'
  curl -s --compressed -o /dev/null -w '%{size_download} bytes\\n' -H 'Accept-Encoding: br' \\
       http://127.0.0.1:8080/api/v1/work-orders
  curl -s -X POST -H 'Content-Type: application/json' http://127.0.0.1:8080/api/v1/batch \\
       -d '{"requests":[{"id":"a","path":"/api/v1/sites/3"},{"id":"b","path":"/api/v1/dashboard"}]}'
Purge (Redis, then the admin API):
  redis-cli -p 6379 PUBLISH cache_invalidation 'org:*:list'
  curl -s -X POST -H "Authorization: Bearer $EDGE_ADMIN_TOKEN" \\
       'http://127.0.0.1:9091/purge?pattern=*%7C/api/v1/work-orders*'
  curl -s -H "Authorization: Bearer $EDGE_ADMIN_TOKEN" http://127.0.0.1:9091/stats
Press Ctrl-C to stop.
TRY
wait -n
