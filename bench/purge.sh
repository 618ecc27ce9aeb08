#!/usr/bin/env bash
# Purge benchmark: (1) propagation from a Redis PUBLISH to the entry being gone, beside the
# admin API and Varnish PURGE / BAN; (2) the purge micro-benchmark (1 million entries) when
# built; (3) cache-hit throughput with and without a stream of purges, in interleaved rounds.
# See bench/RESULTS.md for figures and method.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_LIB=$BENCH_DIR/lib
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
# shellcheck source=lib/common.sh
source "$BENCH_LIB/common.sh"

usage() {
  cat <<'USAGE'
Usage: bench/purge.sh [options]

Starts redis-server, the demo origin, edge-proxy (subscribed to Redis, admin API on) and
Varnish (PURGE and BAN allowed) on 127.0.0.1, then measures:
  1. purge propagation: PUBLISH -> entry gone (polled with Cache-Control: only-if-cached),
     admin POST /purge, Varnish PURGE and BAN; median and p99 over --messages samples each;
  2. bench/micro purge_bench (1M entries), when MICRO_BENCH_BIN or
     build-bench-redis/bench/micro/purge_bench exists;
  3. wrk hit throughput on one URL with no purges and with --rate purges per second
     (soft, each naming ~--entries/1000 stored entries), --rounds interleaved rounds.

Options:
  --messages N     samples per propagation method (default 500)
  --rounds R       throughput rounds per condition (default 5)
  --duration D     wrk duration per run (default 5s)
  --connections C  wrk connections (default 32)
  --rate N         purges per second in the purge condition (default 1000)
  --entries N      entries stored before the throughput rounds (default 20000)
  --keep           keep the run directory
USAGE
}

MESSAGES=500
ROUNDS=5
DURATION=5s
WRK_CONNECTIONS=32
RATE=1000
ENTRIES=20000
KEEP=0
ORIG_ARGS=("$@")
while (($#)); do
  case $1 in
  --messages) MESSAGES=${2:?}; shift 2 ;;
  --rounds) ROUNDS=${2:?}; shift 2 ;;
  --duration) DURATION=${2:?}; shift 2 ;;
  --connections) WRK_CONNECTIONS=${2:?}; shift 2 ;;
  --rate) RATE=${2:?}; shift 2 ;;
  --entries) ENTRIES=${2:?}; shift 2 ;;
  --keep) KEEP=1; shift ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; die "unknown option: $1" ;;
  esac
done

bench_start purge
REDIS_BIN=$(need_tool redis-server redis-server)
NODE_BIN=$(need_tool node nodejs)
WRK_BIN=$(need_tool wrk wrk)
VARNISHD_BIN=$(need_tool varnishd varnish)
read -r REDIS_PORT ORIGIN_PORT EDGE_PORT ADMIN_PORT VARNISH_PORT < <(free_ports 5)
export EDGE_ADMIN_TOKEN=bench-admin-token

spawn redis "$BENCH_TMP/redis.log" "$REDIS_BIN" --port "$REDIS_PORT" --bind 127.0.0.1 \
  --save '' --appendonly no
REDIS_PID=$SPAWNED_PID
spawn origin "$BENCH_TMP/origin.log" "$NODE_BIN" "$REPO_ROOT/demo/origin.mjs" --host 127.0.0.1 \
  --port "$ORIGIN_PORT"
wait_http "http://127.0.0.1:$ORIGIN_PORT/health" "$SPAWNED_PID"

cat >"$BENCH_TMP/edge.yaml" <<YAML
listen: 127.0.0.1:$EDGE_PORT
workers: 1
upstreams:
  app: {servers: [127.0.0.1:$ORIGIN_PORT]}
cache: {memory: 1g}
route_classes:
  p: {ttl: 1h, tags: ["org:{query.org}:wo"]}
routes:
  - {match: {path_prefix: /_test/cache/p/}, upstream: app, class: p}
invalidation:
  redis: {address: 127.0.0.1:$REDIS_PORT}
admin:
  listen: 127.0.0.1:$ADMIN_PORT
YAML
spawn edge "$BENCH_TMP/edge.log" "$EDGE_BIN" --config "$BENCH_TMP/edge.yaml"
EDGE_PID=$SPAWNED_PID
wait_http "http://127.0.0.1:$EDGE_PORT/_test/cache/p/ready" "$EDGE_PID"

mkdir -p "$BENCH_TMP/varnish"
cat >"$BENCH_TMP/varnish/default.vcl" <<VCL
vcl 4.1;
backend origin { .host = "127.0.0.1"; .port = "$ORIGIN_PORT"; }
sub vcl_recv {
  if (req.method == "PURGE") { return (purge); }
  if (req.method == "BAN") {
    ban("req.url == " + req.url);
    return (synth(200, "Ban added"));
  }
}
sub vcl_deliver {
  if (obj.hits > 0) { set resp.http.X-Cache = "HIT"; } else { set resp.http.X-Cache = "MISS"; }
}
VCL
if ((EUID == 0)); then chmod a+rx "$BENCH_TMP" "$BENCH_TMP/varnish"; fi
spawn varnish "$BENCH_TMP/varnish/stderr.log" "$VARNISHD_BIN" -F -a "127.0.0.1:$VARNISH_PORT" \
  -f "$BENCH_TMP/varnish/default.vcl" -n "$BENCH_TMP/varnish/work" -s malloc,256m
wait_http "http://127.0.0.1:$VARNISH_PORT/_test/cache/p/ready" "$SPAWNED_PID" 30
VARNISH_LABEL="varnish $("$VARNISHD_BIN" -V 2>&1 | sed -n 's/.*varnish-\([0-9.]*\).*/\1/p' | head -n1)"

log "1. propagation ($MESSAGES samples per method)"
"$NODE_BIN" "$BENCH_LIB/purge_latency.mjs" --edge "$EDGE_PORT" --admin "$ADMIN_PORT" \
  --redis "$REDIS_PORT" --varnish "$VARNISH_PORT" --messages "$MESSAGES" | tee "$BENCH_TMP/latency.json"

MICRO=${MICRO_BENCH_BIN:-$REPO_ROOT/build-bench-redis/bench/micro/purge_bench}
if [[ -x $MICRO ]]; then
  log "2. micro-benchmark: $MICRO"
  "$MICRO" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true | tee "$BENCH_TMP/micro.txt"
else
  log "2. micro-benchmark skipped: build it with -DPROXY_BUILD_BENCH=ON into build-bench-redis"
fi

log "3. hit throughput: storing $ENTRIES entries"
"$NODE_BIN" - "$EDGE_PORT" "$ENTRIES" <<'NODE'
const http = require('node:http');
const [port, count] = process.argv.slice(2).map(Number);
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
const get = (path) => new Promise((resolve, reject) => {
  http.get({ host: '127.0.0.1', port, path, agent }, (res) => { res.resume(); res.on('end', resolve); })
    .on('error', reject);
});
(async () => {
  for (let i = 0; i < count; i += 256) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 256); j++) batch.push(get(`/_test/cache/p/e${j}?org=${j % 1000}`));
    await Promise.all(batch);
  }
  agent.destroy();
})();
NODE
HOT=http://127.0.0.1:$EDGE_PORT/_test/cache/p/hot
curl -s -o /dev/null "$HOT"
curl -s -D "$BENCH_TMP/hot.head" -o /dev/null "$HOT"
[[ $(response_header "$BENCH_TMP/hot.head" x-cache) == HIT* ]] || die "the hot URL is not a hit"

wrk_rps() {  # OUT -> requests per second
  "$WRK_BIN" -t 1 -c "$WRK_CONNECTIONS" -d "$DURATION" "$HOT" >"$1" 2>&1 || die "wrk failed: $(tail -n 3 "$1")"
  grep -E '^(Non-2xx|Socket errors)' "$1" && die "wrk saw errors: $1"
  awk '/^Requests\/sec/ { print $2 }' "$1"
}
seconds=${DURATION%s}
declare -a OFF=() ON=()
for ((r = 1; r <= ROUNDS; r++)); do
  OFF+=("$(wrk_rps "$BENCH_TMP/wrk-off-$r.txt")")
  "$NODE_BIN" "$BENCH_LIB/purge_stream.mjs" --redis "$REDIS_PORT" --rate "$RATE" \
    --seconds "$((seconds + 1))" >"$BENCH_TMP/stream-$r.json" &
  STREAM_PID=$!
  sleep 0.5
  ON+=("$(wrk_rps "$BENCH_TMP/wrk-on-$r.txt")")
  wait "$STREAM_PID"
  log "round $r: no purges ${OFF[-1]} req/s, $RATE purges/s ${ON[-1]} req/s ($(cat "$BENCH_TMP/stream-$r.json"))"
done
check_alive "$EDGE_PID"
check_alive "$REDIS_PID"
python3 - "${OFF[*]}" "${ON[*]}" <<'PY'
import statistics, sys
off = [float(x) for x in sys.argv[1].split()]
on = [float(x) for x in sys.argv[2].split()]
mo, mn = statistics.median(off), statistics.median(on)
print(f"hit req/s median: no purges {mo:.0f}, with purges {mn:.0f}; ratio {mn / mo:.3f} "
      f"(drop {100 * (1 - mn / mo):.1f}%)")
print("rounds off:", " ".join(f"{x:.0f}" for x in off))
print("rounds on: ", " ".join(f"{x:.0f}" for x in on))
PY
curl -s -H "Authorization: Bearer $EDGE_ADMIN_TOKEN" "http://127.0.0.1:$ADMIN_PORT/stats"
echo
echo "varnish: $VARNISH_LABEL; command: $COMMAND_LINE"
