#!/usr/bin/env bash
# Cache-hit benchmark: edge-proxy, nginx (proxy_cache) and Varnish, each caching in front of
# the same nginx origin (JSON bodies with Cache-Control: public, max-age=3600), measured with
# wrk in interleaved rounds on 127.0.0.1 once every target answers the URL from its cache.
# Prints per body size the per-target medians and the edge/nginx and edge/varnish ratios.
# See bench/README.md.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/load.sh
source "$BENCH_DIR/lib/load.sh"

usage() {
  cat <<'EOF'
Usage: bench/cache_hit.sh [options]

Compares edge-proxy, nginx (proxy_cache) and Varnish serving cache hits for the same URL of
the same nginx origin on 127.0.0.1, with wrk, in interleaved rounds, for each body size.
Every target must answer HIT with the origin's bytes before the rounds start. Prints median
req/s, p50, p99 and CPU per target and the edge/nginx and edge/varnish ratios.

Options:
  --sizes LIST        comma-separated body sizes in bytes (default 1024,65536)
  --rounds R          measured rounds per target and size (default 5)
  --duration D        wrk duration per run, e.g. 10s, 1m (default 10s)
  --connections C     wrk connections (default 64)
  --threads T         wrk threads (default 2)
  --workers N         workers of edge-proxy and nginx (default 1); Varnish keeps its
                      default thread pools
  --warmup D          warm-up per target and size before round 1 (default 2s; 0 to skip)
  --pin               servers on CPU 0, wrk (one thread) on CPU 1: tails without the
                      client competing for the server's core (needs 2 CPUs)
  --markdown          print the result blocks for bench/RESULTS.md on stdout
                      (the plain tables then go to stderr)
  --keep              keep the temporary directory (configs, logs, raw wrk output)
  -h, --help          this help

Environment:
  EDGE_PROXY_BIN      edge-proxy binary (default: build/edge-proxy under the repository root)
  EDGE_PROXY_BASELINE_BIN  an older edge-proxy, measured in the same interleaved rounds as
                      "edge-proxy (before)": the before/after ratio of a change
  NGINX_BIN, WRK_BIN, VARNISHD_BIN  override the nginx / wrk / varnishd executables
EOF
}

SIZES=1024,65536
ROUNDS=5
DURATION=10s
WRK_CONNECTIONS=64
WRK_THREADS=2
WORKERS=1
WARMUP=2s
MARKDOWN=0
KEEP=0
CACHE_CONTROL="public, max-age=3600"

ORIG_ARGS=("$@")
while (($#)); do
  case $1 in
  --sizes) SIZES=${2:?--sizes needs a value}; shift 2 ;;
  --rounds) ROUNDS=${2:?--rounds needs a value}; shift 2 ;;
  --duration) DURATION=${2:?--duration needs a value}; shift 2 ;;
  --connections) WRK_CONNECTIONS=${2:?--connections needs a value}; shift 2 ;;
  --threads) WRK_THREADS=${2:?--threads needs a value}; shift 2 ;;
  --workers) WORKERS=${2:?--workers needs a value}; shift 2 ;;
  --warmup) WARMUP=${2:?--warmup needs a value}; shift 2 ;;
  --pin) BENCH_PIN=1; WRK_THREADS=1; shift ;;
  --markdown) MARKDOWN=1; shift ;;
  --keep) KEEP=1; shift ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; die "unknown option: $1" ;;
  esac
done

check_wrk_options
IFS=, read -r -a SIZE_LIST <<<"$SIZES"
((${#SIZE_LIST[@]})) || die "--sizes needs at least one size"
for s in "${SIZE_LIST[@]}"; do
  if ! is_uint "$s" || ((s < 64)); then
    die "--sizes: every size must be an integer >= 64 (got '$s')"
  fi
done

# ---- tools -------------------------------------------------------------------------------------
NGINX_BIN=${NGINX_BIN:-$(need_tool nginx nginx)}
WRK_BIN=${WRK_BIN:-$(need_tool wrk wrk)}
VARNISHD_BIN=${VARNISHD_BIN:-$(need_tool varnishd varnish)}
need_tool curl curl >/dev/null
need_tool python3 python3 >/dev/null
need_tool setsid util-linux >/dev/null

bench_start cache_hit

# ---- servers ---------------------------------------------------------------------------------
# Targets in display order; ratios: edge-proxy against each of the others.
TARGETS=(edge nginx varnish)
PAIRS=edge:nginx,edge:varnish
CACHE_MEMORY=256m

if [[ -n $EDGE_BASELINE_BIN ]]; then
  TARGETS=(edge edge_before nginx varnish)
  PAIRS+=,edge:edge_before,edge_before:nginx,edge_before:varnish
fi

read -r ORIGIN_PORT NGINX_PORT EDGE_PORT VARNISH_PORT BEFORE_PORT <<<"$(free_ports 5)"
mkdir -p "$BENCH_TMP/bodies"
declare -A BODY_FILE=()
for s in "${SIZE_LIST[@]}"; do
  BODY_FILE[$s]=$BENCH_TMP/bodies/body-$s.json
  make_body "$s" "${BODY_FILE[$s]}"
done

log "origin: nginx on 127.0.0.1:$ORIGIN_PORT, bodies of ${SIZES//,/, } bytes, Cache-Control: $CACHE_CONTROL"
start_cacheable_origin origin "$ORIGIN_PORT" "$CACHE_CONTROL" "${BODY_FILE[@]}"
for s in "${SIZE_LIST[@]}"; do
  verify_body origin "${TARGET_URL[origin]}body-$s.json" "${BODY_FILE[$s]}"
done

log "nginx proxy_cache on 127.0.0.1:$NGINX_PORT ($WORKERS worker(s))"
start_nginx_cache nginx "$NGINX_PORT" "$ORIGIN_PORT" "$WORKERS"
log "edge-proxy on 127.0.0.1:$EDGE_PORT ($EDGE_BIN, $WORKERS worker(s), cache memory $CACHE_MEMORY)"
start_edge edge "$EDGE_PORT" "$ORIGIN_PORT" "$WORKERS" "$CACHE_MEMORY"
if [[ -n $EDGE_BASELINE_BIN ]]; then
  log "edge-proxy (before) on 127.0.0.1:$BEFORE_PORT ($EDGE_BASELINE_BIN)"
  start_edge edge_before "$BEFORE_PORT" "$ORIGIN_PORT" "$WORKERS" "$CACHE_MEMORY"
fi
log "varnish on 127.0.0.1:$VARNISH_PORT (malloc,$CACHE_MEMORY, default thread pools)"
start_varnish varnish "$VARNISH_PORT" "$ORIGIN_PORT"

declare -A BASE_URL=()
for t in "${TARGETS[@]}"; do BASE_URL[$t]=${TARGET_URL[$t]}; done

# run_hook (called by run_rounds around every measured run): the origin must not see a single
# request while a target serves its cached copy, and the target must still answer HIT after.
declare -A ORIGIN_DURING=()
run_hook() {
  local when=$1 t=$2 now
  now=$(origin_requests origin)
  if [[ $when == before ]]; then
    ORIGIN_BEFORE_RUN=$now
    return 0
  fi
  ORIGIN_DURING[$t]=$((${ORIGIN_DURING[$t]:-0} + now - ORIGIN_BEFORE_RUN))
  if ((now != ORIGIN_BEFORE_RUN)); then
    warn "${TARGET_LABEL[$t]}: the origin received $((now - ORIGIN_BEFORE_RUN)) request(s) during a measured run"
  fi
  verify_hit "${TARGET_LABEL[$t]}" "${TARGET_URL[$t]}" "$CURRENT_BODY" "${TARGET_HIT_HEADER[$t]}"
}

# ---- measurement, one size after the other ----------------------------------------------------
LOAD_START_ALL=$(cut -d' ' -f1-3 /proc/loadavg)
declare -a MD_BLOCKS=()
for s in "${SIZE_LIST[@]}"; do
  CURRENT_BODY=${BODY_FILE[$s]}
  prime_report=()
  for t in "${TARGETS[@]}"; do
    TARGET_URL[$t]=${BASE_URL[$t]}body-$s.json
    # The first request is a miss that fills the cache; the next ones must be hits.
    before=$(origin_requests origin)
    fetch_n "${TARGET_URL[$t]}" 3
    verify_hit "${TARGET_LABEL[$t]}" "${TARGET_URL[$t]}" "$CURRENT_BODY" "${TARGET_HIT_HEADER[$t]}"
    fetched=$(($(origin_requests origin) - before))
    prime_report+=("${TARGET_LABEL[$t]} $fetched")
    ((fetched == 1)) || warn "${TARGET_LABEL[$t]}: 4 requests for a cacheable URL reached the origin $fetched times (expected 1)"
  done
  log "$s bytes: every target answers HIT with the origin's bytes"

  ORIGIN_DURING=()
  LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
  origin_at_start=$(origin_requests origin)
  warmup_all "$WARMUP"
  RESULTS=$BENCH_TMP/results-$s.tsv
  # shellcheck disable=SC2034  # read by run_rounds
  RUN_PREFIX="${s}B"
  run_rounds "$ROUNDS" "$DURATION" "$RESULTS"
  LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
  origin_total=$(($(origin_requests origin) - origin_at_start))

  during_report=()
  for t in "${TARGETS[@]}"; do during_report+=("${TARGET_LABEL[$t]} ${ORIGIN_DURING[$t]:-0}"); done
  primed=$(IFS=,; echo "${prime_report[*]}")
  during=$(IFS=,; echo "${during_report[*]}")
  META=$BENCH_TMP/meta-$s.txt
  {
    machine_meta
    echo "title=Cache hits, $s-byte JSON body, $WORKERS worker(s) for edge-proxy and nginx, Varnish with default thread pools"
    echo "heading=Cache hits, $s-byte body, $WORKERS worker(s)"
    echo "command=$COMMAND_LINE"
    echo "edge_version=$EDGE_VERSION, $EDGE_BIN (cache: {memory: $CACHE_MEMORY}, class ttl: 1h)"
    echo "load_start=$LOAD_START"
    echo "load_end=$LOAD_END"
    echo "load=wrk -t$WRK_THREADS -c$WRK_CONNECTIONS -d$DURATION --latency on one URL; $ROUNDS interleaved rounds (order rotates); warm-up $WARMUP per target; every answer a cache hit (origin: nginx, 1 worker, Cache-Control: $CACHE_CONTROL) on the same machine"
    echo "checks=origin requests while priming (4 GETs each): ${primed//,/, }; origin requests during the measured runs: ${during//,/, } (warm-up included: $origin_total); every target answered HIT with the origin's bytes before round 1 and after every run"
  } >"$META"
  if ((MARKDOWN)); then
    python3 "$BENCH_LIB/summarize.py" summary "$RESULTS" "$META" --baseline "$PAIRS" >&2
    echo >&2
    MD_BLOCKS+=("$(python3 "$BENCH_LIB/summarize.py" summary "$RESULTS" "$META" --baseline "$PAIRS" --markdown)")
  else
    summarize "$RESULTS" "$META" "$PAIRS"
    echo
  fi
done

if ((MARKDOWN)); then
  for block in "${MD_BLOCKS[@]}"; do
    printf '%s\n\n' "$block"
  done
fi
log "load average at start $LOAD_START_ALL, at end $(cut -d' ' -f1-3 /proc/loadavg)"
