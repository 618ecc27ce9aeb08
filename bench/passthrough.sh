#!/usr/bin/env bash
# Pass-through benchmark: edge-proxy and nginx, each as a reverse proxy without caching in
# front of the same nginx origin serving a fixed JSON body, measured with wrk in interleaved
# rounds on 127.0.0.1. Prints per-target medians and edge/nginx ratios. See bench/README.md.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/load.sh
source "$BENCH_DIR/lib/load.sh"

usage() {
  cat <<'EOF'
Usage: bench/passthrough.sh [options]

Compares edge-proxy and nginx as reverse proxies (no caching) in front of the same nginx
origin on 127.0.0.1, with wrk, in interleaved rounds. Prints median req/s, p50, p99 per
target and the edge/nginx ratios.

Options:
  --rounds R          measured rounds per target (default 5)
  --duration D        wrk duration per run, e.g. 10s, 1m (default 10s)
  --connections C     wrk connections (default 64)
  --threads T         wrk threads (default 2)
  --workers N         worker processes/threads of each proxy (default 1)
  --body-bytes B      size of the origin's JSON body in bytes (default 1024)
  --warmup D          warm-up per target before round 1 (default 2s; 0 to skip)
  --pin               servers on CPU 0, wrk (one thread) on CPU 1: tails without the
                      client competing for the server's core (needs 2 CPUs)
  --markdown          print the result block for bench/RESULTS.md on stdout
                      (the plain table then goes to stderr)
  --edge-mode MODE    config (default): generated YAML config with `workers: N`;
                      quick: --listen/--upstream/--workers N
  --keep              keep the temporary directory (configs, logs, raw wrk output)
  -h, --help          this help

Environment:
  EDGE_PROXY_BIN      edge-proxy binary (default: build/edge-proxy under the repository root)
  EDGE_PROXY_BASELINE_BIN  an older edge-proxy, measured in the same interleaved rounds as
                      "edge-proxy (before)": the before/after ratio of a change
  NGINX_BIN, WRK_BIN  override the nginx / wrk executables
EOF
}

ROUNDS=5
DURATION=10s
WRK_CONNECTIONS=64
WRK_THREADS=2
WORKERS=1
BODY_BYTES=1024
WARMUP=2s
MARKDOWN=0
KEEP=0
EDGE_MODE=config

ORIG_ARGS=("$@")
while (($#)); do
  case $1 in
  --rounds) ROUNDS=${2:?--rounds needs a value}; shift 2 ;;
  --duration) DURATION=${2:?--duration needs a value}; shift 2 ;;
  --connections) WRK_CONNECTIONS=${2:?--connections needs a value}; shift 2 ;;
  --threads) WRK_THREADS=${2:?--threads needs a value}; shift 2 ;;
  --workers) WORKERS=${2:?--workers needs a value}; shift 2 ;;
  --body-bytes) BODY_BYTES=${2:?--body-bytes needs a value}; shift 2 ;;
  --warmup) WARMUP=${2:?--warmup needs a value}; shift 2 ;;
  --edge-mode) EDGE_MODE=${2:?--edge-mode needs a value}; shift 2 ;;
  --pin) BENCH_PIN=1; WRK_THREADS=1; shift ;;
  --markdown) MARKDOWN=1; shift ;;
  --keep) KEEP=1; shift ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; die "unknown option: $1" ;;
  esac
done

check_wrk_options
require_positive body-bytes:BODY_BYTES
((BODY_BYTES >= 64)) || die "--body-bytes must be at least 64"
[[ $EDGE_MODE == config || $EDGE_MODE == quick ]] || die "--edge-mode must be config or quick"

# ---- tools -------------------------------------------------------------------------------------
NGINX_BIN=${NGINX_BIN:-$(need_tool nginx nginx)}
WRK_BIN=${WRK_BIN:-$(need_tool wrk wrk)}
need_tool curl curl >/dev/null
need_tool python3 python3 >/dev/null
need_tool setsid util-linux >/dev/null

bench_start passthrough

# ---- servers ---------------------------------------------------------------------------------
# Targets in display order; the first non-baseline entries are compared against BASELINE.
TARGETS=(edge nginx)
BASELINE=nginx
if [[ -n $EDGE_BASELINE_BIN ]]; then
  TARGETS=(edge edge_before nginx)
  BASELINE=edge:nginx,edge_before:nginx,edge:edge_before
fi

read -r ORIGIN_PORT NGINX_PORT EDGE_PORT BEFORE_PORT <<<"$(free_ports 4)"
BODY_FILE=$BENCH_TMP/body.json
make_body "$BODY_BYTES" "$BODY_FILE"

log "origin: nginx on 127.0.0.1:$ORIGIN_PORT, $BODY_BYTES-byte JSON body"
start_origin origin "$ORIGIN_PORT" "$BODY_FILE"
verify_body origin "${TARGET_URL[origin]}" "$BODY_FILE"

log "nginx proxy on 127.0.0.1:$NGINX_PORT ($WORKERS worker(s))"
start_nginx_proxy nginx "$NGINX_PORT" "$ORIGIN_PORT" "$WORKERS"
log "edge-proxy on 127.0.0.1:$EDGE_PORT ($EDGE_BIN, $EDGE_MODE mode, $WORKERS worker(s))"
start_edge edge "$EDGE_PORT" "$ORIGIN_PORT" "$WORKERS"
if [[ -n $EDGE_BASELINE_BIN ]]; then
  log "edge-proxy (before) on 127.0.0.1:$BEFORE_PORT ($EDGE_BASELINE_BIN)"
  start_edge edge_before "$BEFORE_PORT" "$ORIGIN_PORT" "$WORKERS"
fi

for t in "${TARGETS[@]}"; do
  verify_body "${TARGET_LABEL[$t]}" "${TARGET_URL[$t]}" "$BODY_FILE"
done
log "all targets return the origin body"

# ---- measurement -----------------------------------------------------------------------------
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
warmup_all "$WARMUP"
RESULTS=$BENCH_TMP/results.tsv
run_rounds "$ROUNDS" "$DURATION" "$RESULTS"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# The proxies must still be healthy and correct after the load.
for t in "${TARGETS[@]}"; do
  verify_body "${TARGET_LABEL[$t]}" "${TARGET_URL[$t]}" "$BODY_FILE"
done

# ---- summary ---------------------------------------------------------------------------------
META=$BENCH_TMP/meta.txt
{
  machine_meta
  echo "title=Pass-through, $BODY_BYTES-byte JSON body, $WORKERS worker(s) per proxy"
  echo "heading=Pass-through, $BODY_BYTES-byte body, $WORKERS worker(s)"
  echo "command=$COMMAND_LINE"
  echo "edge_version=$EDGE_VERSION, $EDGE_BIN ($EDGE_MODE mode)"
  echo "load_start=$LOAD_START"
  echo "load_end=$LOAD_END"
  echo "load=wrk -t$WRK_THREADS -c$WRK_CONNECTIONS -d$DURATION --latency; $ROUNDS interleaved rounds (order alternates); warm-up $WARMUP per target; origin nginx with 1 worker on the same machine"
} >"$META"
summarize "$RESULTS" "$META" "$BASELINE"
