#!/usr/bin/env bash
# Request-coalescing benchmark: a burst of concurrent requests for one cold key behind a slow
# origin (lib/slow_origin.js, 500 ms per answer), against edge-proxy, nginx (proxy_cache_lock)
# and Varnish, a fresh key per target and round. Reports per target how many requests reached
# the origin per burst (ideally 1) and the latency distribution of the burst's responses.
# See bench/README.md.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/load.sh
source "$BENCH_DIR/lib/load.sh"

usage() {
  cat <<'EOF'
Usage: bench/coalesce.sh [options]

Fires CLIENTS concurrent GETs for one not-yet-cached URL at each caching proxy (edge-proxy,
nginx with proxy_cache_lock, Varnish) in front of a Node.js origin that takes DELAY ms per
answer, with a new URL for every target and round. Reports the origin requests per burst and
the p50 / p99 / max latency of the burst's answers. The origin is also hit directly (no proxy)
as a reference for what the client itself adds.

Options:
  --rounds R          bursts per target, each for a fresh key (default 5)
  --clients N         concurrent requests per burst (default 200)
  --delay-ms MS       origin delay per answer (default 500)
  --body-bytes B      size of the origin's JSON body (default 1024)
  --workers N         workers of edge-proxy and nginx (default 1); Varnish keeps its
                      default thread pools
  --no-direct         skip the reference burst straight at the origin
  --cold-connections  every request of a burst opens its own connection (default: the client
                      first opens CLIENTS keep-alive connections with GETs of an already
                      cached URL, and the burst goes out over them)
  --markdown          print the result block for bench/RESULTS.md on stdout
                      (the plain table then goes to stderr)
  --keep              keep the temporary directory (configs, logs, raw burst output)
  -h, --help          this help

Environment:
  EDGE_PROXY_BIN      edge-proxy binary (default: build/edge-proxy under the repository root)
  NGINX_BIN, VARNISHD_BIN, NODE_BIN  override the nginx / varnishd / node executables
EOF
}

ROUNDS=5
CLIENTS=200
DELAY_MS=500
BODY_BYTES=1024
WORKERS=1
DIRECT=1
PRECONNECT=1
MARKDOWN=0
KEEP=0
CACHE_CONTROL="public, max-age=3600"

ORIG_ARGS=("$@")
while (($#)); do
  case $1 in
  --rounds) ROUNDS=${2:?--rounds needs a value}; shift 2 ;;
  --clients) CLIENTS=${2:?--clients needs a value}; shift 2 ;;
  --delay-ms) DELAY_MS=${2:?--delay-ms needs a value}; shift 2 ;;
  --body-bytes) BODY_BYTES=${2:?--body-bytes needs a value}; shift 2 ;;
  --workers) WORKERS=${2:?--workers needs a value}; shift 2 ;;
  --no-direct) DIRECT=0; shift ;;
  --cold-connections) PRECONNECT=0; shift ;;
  --markdown) MARKDOWN=1; shift ;;
  --keep) KEEP=1; shift ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; die "unknown option: $1" ;;
  esac
done

require_positive rounds:ROUNDS clients:CLIENTS delay-ms:DELAY_MS body-bytes:BODY_BYTES workers:WORKERS
((BODY_BYTES >= 64)) || die "--body-bytes must be at least 64"
((CLIENTS <= 256)) || die "--clients must be at most 256 (the client's socket limit)"
# An answer is "late" when it took more than 1.5 x the origin delay: it did not come from the
# single origin fetch the burst started, but waited for something else (a lock poll, a retry).
LATE_MS=$((DELAY_MS * 3 / 2))

# ---- tools -------------------------------------------------------------------------------------
NGINX_BIN=${NGINX_BIN:-$(need_tool nginx nginx)}
VARNISHD_BIN=${VARNISHD_BIN:-$(need_tool varnishd varnish)}
NODE_BIN=${NODE_BIN:-$(need_tool node nodejs)}
need_tool curl curl >/dev/null
need_tool python3 python3 >/dev/null
need_tool setsid util-linux >/dev/null

BURST_PID=
bench_on_exit() {
  if [[ -n $BURST_PID ]]; then
    kill -TERM "$BURST_PID" 2>/dev/null || true
    wait "$BURST_PID" 2>/dev/null || true
  fi
}
bench_start coalesce

# ---- servers ---------------------------------------------------------------------------------
TARGETS=(edge nginx varnish)
((DIRECT)) && TARGETS+=(direct)
CACHE_MEMORY=256m
declare -A WARM_URL=()

read -r ORIGIN_PORT NGINX_PORT EDGE_PORT VARNISH_PORT <<<"$(free_ports 4)"
BODY_FILE=$BENCH_TMP/body.json
make_body "$BODY_BYTES" "$BODY_FILE"

log "origin: Node.js on 127.0.0.1:$ORIGIN_PORT, $DELAY_MS ms per answer, $BODY_BYTES-byte body, Cache-Control: $CACHE_CONTROL"
start_slow_origin origin "$ORIGIN_PORT" "$DELAY_MS" "$BODY_FILE" "$CACHE_CONTROL"
log "nginx proxy_cache (proxy_cache_lock on, 5s) on 127.0.0.1:$NGINX_PORT ($WORKERS worker(s))"
start_nginx_cache nginx "$NGINX_PORT" "$ORIGIN_PORT" "$WORKERS"
log "edge-proxy on 127.0.0.1:$EDGE_PORT ($EDGE_BIN, $WORKERS worker(s), cache memory $CACHE_MEMORY)"
start_edge edge "$EDGE_PORT" "$ORIGIN_PORT" "$WORKERS" "$CACHE_MEMORY"
log "varnish on 127.0.0.1:$VARNISH_PORT (malloc,$CACHE_MEMORY, default thread pools)"
start_varnish varnish "$VARNISH_PORT" "$ORIGIN_PORT"
if ((DIRECT)); then
  TARGET_URL["direct"]=${TARGET_URL["origin"]}
  TARGET_PID["direct"]=${TARGET_PID["origin"]}
  TARGET_LABEL["direct"]="origin direct (no proxy)"
  WARM_URL["direct"]=${TARGET_URL["origin"]}count
fi

# Each proxy must fetch a cold key once and then answer it from its cache with the same bytes.
# That key then serves as the URL with which the client opens its connections before a burst
# (for the origin itself: /count, answered at once).
check_report=()
for t in edge nginx varnish; do
  path=/coalesce/check-$t
  WARM_URL[$t]=${TARGET_URL[$t]%/}$path
  verify_body "${TARGET_LABEL[$t]}" "${TARGET_URL[$t]%/}$path" "$BODY_FILE"
  verify_hit "${TARGET_LABEL[$t]}" "${TARGET_URL[$t]%/}$path" "$BODY_FILE" "${TARGET_HIT_HEADER[$t]}"
  n=$(slow_origin_count origin "$path")
  ((n == 1)) || warn "${TARGET_LABEL[$t]}: two sequential GETs of a cacheable URL reached the origin $n times (expected 1)"
  check_report+=("${TARGET_LABEL[$t]} $n")
done
log "every proxy caches: second GET is a HIT with the origin's bytes"

# ---- measurement -----------------------------------------------------------------------------
# burst NAME URL WARM_URL OUTFILE: run lib/burst.js in the background and wait for it (signals
# are then handled at once and on_exit can stop it). WARM_URL '-': cold connections.
burst() {
  local name=$1 url=$2 warm=$3 out=$4 rc=0
  "$NODE_BIN" "$BENCH_LIB/burst.js" "$url" "$CLIENTS" "$BODY_FILE" "$warm" 30000 >"$out" 2>"$out.stderr" &
  BURST_PID=$!
  wait "$BURST_PID" || rc=$?
  BURST_PID=
  ((rc == 0)) || warn "$name: some requests of the burst failed (see $out, $out.stderr)"
  [[ -s $out ]] || die "$name: the burst client printed nothing: $(tail -n 5 "$out.stderr")"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
RESULTS=$BENCH_TMP/results.tsv
mkdir -p "$BENCH_TMP/burst"
printf '%s\t' round position target origin_requests clients ok errors reused spread_ms min_ms \
  p50_ms p99_ms max_ms late >"$RESULTS"
printf 'markers\n' >>"$RESULTS"
n=${#TARGETS[@]}
for ((r = 1; r <= ROUNDS; r++)); do
  for ((i = 0; i < n; i++)); do
    t=${TARGETS[$(((i + r - 1) % n))]}
    check_alive "${TARGET_PID[$t]}"
    # A key no target has seen: the burst starts on a cold cache entry.
    path=/coalesce/round$r-$t-$RANDOM$RANDOM
    out=$BENCH_TMP/burst/$t-round$r.txt
    warm=-
    ((PRECONNECT)) && warm=${WARM_URL[$t]}
    burst "${TARGET_LABEL[$t]}" "${TARGET_URL[$t]%/}$path" "$warm" "$out"
    check_alive "${TARGET_PID[$t]}"
    origin_n=$(slow_origin_count origin "$path")
    digest=$(python3 "$BENCH_LIB/summarize.py" burst-parse "$out" --late-ms "$LATE_MS") ||
      die "could not parse burst output $out"
    printf '%d\t%d\t%s\t%s\t%s\n' "$r" "$((i + 1))" "$t" "$origin_n" "$digest" >>"$RESULTS"
    IFS=$'\t' read -r _ _ errs reused _ _ p50 p99 max late markers <<<"$digest"
    if ((PRECONNECT && reused != CLIENTS)); then
      warn "${TARGET_LABEL[$t]}: only $reused of $CLIENTS requests went out on a pre-opened connection"
    fi
    log "$(printf 'round %d/%d  %-24s origin %3d  p50 %6.0f ms  p99 %6.0f ms  max %6.0f ms  late %3d  errors %s  %s' \
      "$r" "$ROUNDS" "${TARGET_LABEL[$t]}" "$origin_n" "$p50" "$p99" "$max" "$late" "$errs" "$markers")"
    sleep 1 # let the burst's connections close before the next one
  done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- summary ---------------------------------------------------------------------------------
META=$BENCH_TMP/meta.txt
{
  machine_meta
  echo "title=Coalescing: $CLIENTS concurrent requests for one cold key, origin answers after $DELAY_MS ms, $WORKERS worker(s) for edge-proxy and nginx"
  echo "heading=Coalescing, $CLIENTS clients on a cold key, $DELAY_MS ms origin, $WORKERS worker(s)"
  echo "command=$COMMAND_LINE"
  echo "edge_version=$EDGE_VERSION, $EDGE_BIN (cache: {memory: $CACHE_MEMORY}, class ttl: 1h, default lock_timeout)"
  echo "load_start=$LOAD_START"
  echo "load_end=$LOAD_END"
  if ((PRECONNECT)); then
    conns="over $CLIENTS keep-alive connections opened just before (with GETs of an already cached URL)"
  else
    conns="one new connection each"
  fi
  echo "load=lib/burst.js: $CLIENTS GETs issued at once, $conns, latency = issue to last byte; $ROUNDS rounds, a fresh key per target and round, order rotates; origin lib/slow_origin.js ($DELAY_MS ms, $BODY_BYTES-byte body, Cache-Control: $CACHE_CONTROL); nginx proxy_cache_lock on, proxy_cache_lock_timeout 5s; Varnish default VCL besides the backend; late = answered after ${LATE_MS} ms (1.5 x the origin delay)"
  checked=$(IFS=,; echo "${check_report[*]}")
  echo "checks=two sequential GETs of a cold key: ${checked//,/, } origin request(s), the second a HIT with the origin's bytes"
  echo "late_ms=$LATE_MS"
} >"$META"
if ((MARKDOWN)); then
  python3 "$BENCH_LIB/summarize.py" burst "$RESULTS" "$META" >&2
  echo >&2
  python3 "$BENCH_LIB/summarize.py" burst "$RESULTS" "$META" --markdown
else
  python3 "$BENCH_LIB/summarize.py" burst "$RESULTS" "$META"
fi
