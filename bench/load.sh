#!/usr/bin/env bash
# Many connections at once: edge-proxy with the reference config in front of the demo origin
# holds --idle keep-alive connections open (lib/idle_conns.mjs) while --active connections run
# a mix of cached hits, misses, ?fields= selections and batches (one wrk per kind,
# lib/load_mix.lua). Reports requests, errors, p50/p99 per kind and the proxy's RSS; hits-only
# runs against edge-proxy and against nginx serving the same bodies as files give a comparison.
# --soak runs the same mix at a steady rate for a long time and checks that RSS stays flat.
# See bench/README.md.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/load.sh
source "$BENCH_DIR/lib/load.sh"

usage() {
  cat <<'EOF'
Usage: bench/load.sh [options]

Starts the demo origin (demo/origin.mjs), redis-server when installed, and edge-proxy with
config/examples/edge.yaml (ports rewritten to free ones on 127.0.0.1), raises the descriptor
limit, opens --idle keep-alive connections that stay open for the whole run, then:

  load mode (default): --active connections split over four wrk processes (hits, misses,
    fields, batch) for --duration, first closed loop (each connection sends its next request
    as soon as it has the answer: throughput, latency mostly queueing), then paced (each
    connection pauses --pace-ms before each request: latency at a rate the machine serves);
    then hits-only runs with --active connections, closed loop and paced, against edge-proxy
    and against nginx serving the same bodies as static files. Reports per kind requests,
    req/s, p50, p99 and errors, CPU used by the proxy and the origin, the proxy's RSS before,
    during and after, and whether every idle connection is still open and still answers.
  soak mode (--soak [DURATION], default 10m): fills the cache to its budget with misses, warms
    up, then runs the same mix at a steady rate (each connection pauses --soak-delay-ms
    before each request) for DURATION, sampling RSS every 10 s. Exits non-zero when there
    were errors or RSS grew more than --rss-limit percent after the warm-up.

Options:
  --duration D        wrk duration of each load-mode run (default 30s)
  --idle N            idle keep-alive connections (default 9000)
  --active N          active connections (default 1000)
  --mix H,M,F,B       percent of the active connections for hits, misses, fields, batch
                      (default 70,10,10,10)
  --workers N         rewrite the config's `workers: auto` to N (default: keep auto)
  --pace-ms MS        pause per connection before each request in the paced runs (default
                      100, i.e. at most 10 requests/s per connection; 0 skips the paced runs)
  --warmup D          mix warm-up before measuring (default 5s; soak: 30s)
  --touch S           each idle connection sends one request every S seconds (default 40;
                      the reference config closes keep-alive connections idle for 60 s; 0 = never)
  --soak [D]          soak mode for D (default 10m)
  --soak-delay-ms MS  pause per connection before each request in soak mode (default 100)
  --fill-max D        soak: longest time spent filling the cache (default 180s; 0 skips)
  --rss-limit PCT     soak: largest RSS growth after warm-up that passes (default 10)
  --no-nginx          skip the nginx comparison run
  --pin               servers on CPU 0, wrk on CPU 1 (use with --workers 1)
  --markdown          print the result block for bench/RESULTS.md on stdout
                      (the plain report then goes to stderr)
  --keep              keep the run directory (config, logs, raw wrk output, RSS samples)
  -h, --help          this help

Environment:
  EDGE_PROXY_BIN      edge-proxy binary (default: build/edge-proxy under the repository root)
  NGINX_BIN, WRK_BIN, NODE_BIN, REDIS_BIN  override the executables
EOF
}

DURATION=30s
IDLE=9000
ACTIVE=1000
MIX=70,10,10,10
WORKERS=
WARMUP=
TOUCH_S=40
PACE_MS=100
SOAK=
SOAK_DELAY_MS=100
FILL_MAX=180s
RSS_LIMIT=10
NO_NGINX=0
MARKDOWN=0
KEEP=0

ORIG_ARGS=("$@")
while (($#)); do
  case $1 in
  --duration) DURATION=${2:?--duration needs a value}; shift 2 ;;
  --idle) IDLE=${2:?--idle needs a value}; shift 2 ;;
  --active) ACTIVE=${2:?--active needs a value}; shift 2 ;;
  --mix) MIX=${2:?--mix needs a value}; shift 2 ;;
  --workers) WORKERS=${2:?--workers needs a value}; shift 2 ;;
  --warmup) WARMUP=${2:?--warmup needs a value}; shift 2 ;;
  --pace-ms) PACE_MS=${2:?--pace-ms needs a value}; shift 2 ;;
  --touch) TOUCH_S=${2:?--touch needs a value}; shift 2 ;;
  --soak)
    if [[ ${2:-} =~ ^[0-9]+[smh]?$ ]]; then SOAK=$2; shift 2; else SOAK=10m; shift; fi ;;
  --soak-delay-ms) SOAK_DELAY_MS=${2:?--soak-delay-ms needs a value}; shift 2 ;;
  --fill-max) FILL_MAX=${2:?--fill-max needs a value}; shift 2 ;;
  --rss-limit) RSS_LIMIT=${2:?--rss-limit needs a value}; shift 2 ;;
  --no-nginx) NO_NGINX=1; shift ;;
  --pin) BENCH_PIN=1; shift ;;
  --markdown) MARKDOWN=1; shift ;;
  --keep) KEEP=1; shift ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; die "unknown option: $1" ;;
  esac
done

# ---- option checks -----------------------------------------------------------------------------
# to_seconds D: "30" / "30s" / "2m" / "1h" -> seconds; dies on anything else.
to_seconds() {
  local d
  d=$(norm_duration "$1")
  [[ $d =~ ^([0-9]+)([smh])$ ]] || die "$2 must look like 30s, 2m or 1h (got '$1')"
  case ${BASH_REMATCH[2]} in
  s) echo "${BASH_REMATCH[1]}" ;;
  m) echo $((BASH_REMATCH[1] * 60)) ;;
  h) echo $((BASH_REMATCH[1] * 3600)) ;;
  esac
}
MODE=load
[[ -n $SOAK ]] && MODE=soak
[[ -n $WARMUP ]] || { [[ $MODE == soak ]] && WARMUP=30s || WARMUP=5s; }
DURATION_S=$(to_seconds "$DURATION" --duration)
WARMUP_S=$(to_seconds "$WARMUP" --warmup)
FILL_MAX_S=$(to_seconds "$FILL_MAX" --fill-max)
SOAK_S=0
[[ $MODE == soak ]] && SOAK_S=$(to_seconds "$SOAK" --soak)
require_positive active:ACTIVE
is_uint "$IDLE" || die "--idle must be an integer >= 0 (got '$IDLE')"
is_uint "$TOUCH_S" || die "--touch must be an integer number of seconds (got '$TOUCH_S')"
is_uint "$PACE_MS" || die "--pace-ms must be an integer (got '$PACE_MS')"
is_uint "$SOAK_DELAY_MS" || die "--soak-delay-ms must be an integer (got '$SOAK_DELAY_MS')"
is_uint "$RSS_LIMIT" || die "--rss-limit must be an integer percent (got '$RSS_LIMIT')"
((DURATION_S > 0)) || die "--duration must be > 0"
[[ -z $WORKERS ]] || require_positive workers:WORKERS
[[ $MIX =~ ^([0-9]+),([0-9]+),([0-9]+),([0-9]+)$ ]] ||
  die "--mix takes four percentages (got '$MIX')"
KINDS=(hits misses fields batch)
declare -A CONNS=()
rest=$ACTIVE
for i in 1 2 3; do
  CONNS[${KINDS[$i]}]=$((ACTIVE * BASH_REMATCH[i + 1] / 100))
  rest=$((rest - CONNS[${KINDS[$i]}]))
done
CONNS[hits]=$rest # the rounding remainder goes to the hits
((BASH_REMATCH[1] + BASH_REMATCH[2] + BASH_REMATCH[3] + BASH_REMATCH[4] == 100)) ||
  die "--mix percentages must add up to 100 (got '$MIX')"
for k in "${KINDS[@]}"; do
  ((CONNS[$k] > 0)) || die "--mix gives no connection to $k with --active $ACTIVE"
done

# ---- tools and the descriptor limit ------------------------------------------------------------
NODE_BIN=${NODE_BIN:-$(need_tool node nodejs)}
WRK_BIN=${WRK_BIN:-$(need_tool wrk wrk)}
NGINX_BIN=${NGINX_BIN:-$(need_tool nginx nginx)}
REDIS_BIN=${REDIS_BIN:-$(PATH="$PATH:/usr/sbin" command -v redis-server || true)}
need_tool curl curl >/dev/null
need_tool python3 python3 >/dev/null
need_tool setsid util-linux >/dev/null

# Every child inherits the limit: the proxy holds idle + active client sockets plus its
# upstream pool, the idle client holds idle sockets, wrk the active ones.
NOFILE_NEED=$((IDLE + ACTIVE + 2048))
NOFILE_HARD=$(ulimit -Hn)
NOFILE_WANT=$NOFILE_NEED
((NOFILE_WANT < 65536)) && NOFILE_WANT=65536
[[ $NOFILE_HARD == unlimited ]] || ((NOFILE_WANT <= NOFILE_HARD)) || NOFILE_WANT=$NOFILE_HARD
ulimit -n "$NOFILE_WANT" 2>/dev/null ||
  die "ulimit -n $NOFILE_WANT failed (hard limit $NOFILE_HARD)"
NOFILE=$(ulimit -n)
((NOFILE >= NOFILE_NEED)) ||
  die "descriptor limit is $NOFILE (hard $NOFILE_HARD), need $NOFILE_NEED for --idle $IDLE" \
    "--active $ACTIVE; raise the hard limit (limits.conf, LimitNOFILE) or lower --idle"

declare -a LOAD_WRK_PIDS=()
IDLE_PID=
bench_on_exit() {
  local pid
  for pid in "${LOAD_WRK_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${LOAD_WRK_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
bench_start load
# shellcheck source=lib/load_phases.sh
source "$BENCH_LIB/load_phases.sh"

start_servers
prime_and_check
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
open_idle
if [[ $MODE == load ]]; then
  run_load
else
  run_soak
fi
check_idle
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
if ((MARKDOWN)); then
  MARKDOWN=0 report >&2
  echo >&2
fi
report
final_verdict
