#!/usr/bin/env bash
# Sparse fieldsets and batch fan-out, end to end.
#  1. Hits: edge-proxy plain hits of a ~64 KB JSON array of work orders and hits of the same
#     document with ?fields=..., against nginx proxy_cache and Varnish plain hits of the same
#     document (neither has projection), in the same interleaved wrk rounds.
#  2. Latency (lib/batch_latency.js, sequential requests on keep-alive connections): a single
#     cached hit of a small detail document, a batch of 10 cached items, a batch of 10
#     uncached items behind a slow origin (lib/slow_origin.js), and single uncached requests
#     through edge-proxy, nginx and straight to the origin as references.
# See bench/README.md.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/load.sh
source "$BENCH_DIR/lib/load.sh"

usage() {
  cat <<'EOF'
Usage: bench/fields_batch.sh [options]

Part 1 (hits): wrk against edge-proxy plain hits of a JSON array of work orders, edge-proxy
hits of the same URL with ?fields=FIELDS (projection memoised in the cache), and nginx
proxy_cache and Varnish plain hits of the same document, in the same interleaved rounds.
Reports median req/s, p50, p99, CPU and the ratio edge fields / edge plain (goal >= 0.80).

Part 2 (latency): one Node.js client, sequential requests on one keep-alive connection per
scenario, scenarios interleaved in rounds: single cached hit of a small detail document
(edge-proxy, nginx, Varnish), POST /api/v1/batch with 10 cached items, a batch of 10
never-requested items behind an origin answering after DELAY ms, and single never-requested
requests through edge-proxy, nginx (no cache) and straight to that origin. Reports p50, p90,
p99 per scenario and the goals: batch of 10 cached ~ one hit, batch of 10 uncached <= 150 ms.

Options:
  --part P            all (default), hits or latency
  --body-bytes B      size of the work-order document (default 65536)
  --fields F          the field selection of part 1 (default id,number,status,site,asset.id)
  --rounds R          rounds of both parts (default 5)
  --duration D        wrk duration per run (default 10s)
  --connections C     wrk connections (default 64)
  --threads T         wrk threads (default 2)
  --workers N         workers of edge-proxy and nginx (default 1); Varnish keeps its
                      default thread pools
  --warmup D          wrk warm-up per target before round 1 (default 2s; 0 to skip)
  --samples N         latency samples per round for the cached scenarios (default 500)
  --slow-samples N    latency samples per round for the slow-origin scenarios (default 40)
  --delay-ms MS       slow origin delay (default 100)
  --pin               servers on CPU 0, wrk (one thread) and the latency client on CPU 1
  --markdown          print the result blocks for bench/RESULTS.md on stdout
                      (the plain tables then go to stderr)
  --keep              keep the temporary directory (configs, logs, raw output)
  -h, --help          this help

Environment:
  EDGE_PROXY_BIN      edge-proxy binary (default: build/edge-proxy under the repository root)
  NGINX_BIN, WRK_BIN, VARNISHD_BIN, NODE_BIN  override the executables
EOF
}

PART=all
BODY_BYTES=65536
FIELDS=id,number,status,site,asset.id
ROUNDS=5
DURATION=10s
WRK_CONNECTIONS=64
WRK_THREADS=2
WORKERS=1
WARMUP=2s
SAMPLES=500
SLOW_SAMPLES=40
DELAY_MS=100
BATCH_ITEMS=10
MARKDOWN=0
KEEP=0
CACHE_CONTROL="public, max-age=3600"

ORIG_ARGS=("$@")
while (($#)); do
  case $1 in
  --part) PART=${2:?--part needs a value}; shift 2 ;;
  --body-bytes) BODY_BYTES=${2:?--body-bytes needs a value}; shift 2 ;;
  --fields) FIELDS=${2:?--fields needs a value}; shift 2 ;;
  --rounds) ROUNDS=${2:?--rounds needs a value}; shift 2 ;;
  --duration) DURATION=${2:?--duration needs a value}; shift 2 ;;
  --connections) WRK_CONNECTIONS=${2:?--connections needs a value}; shift 2 ;;
  --threads) WRK_THREADS=${2:?--threads needs a value}; shift 2 ;;
  --workers) WORKERS=${2:?--workers needs a value}; shift 2 ;;
  --warmup) WARMUP=${2:?--warmup needs a value}; shift 2 ;;
  --samples) SAMPLES=${2:?--samples needs a value}; shift 2 ;;
  --slow-samples) SLOW_SAMPLES=${2:?--slow-samples needs a value}; shift 2 ;;
  --delay-ms) DELAY_MS=${2:?--delay-ms needs a value}; shift 2 ;;
  --pin) BENCH_PIN=1; WRK_THREADS=1; shift ;;
  --markdown) MARKDOWN=1; shift ;;
  --keep) KEEP=1; shift ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; die "unknown option: $1" ;;
  esac
done

check_wrk_options
require_positive samples:SAMPLES slow-samples:SLOW_SAMPLES delay-ms:DELAY_MS
[[ $PART == all || $PART == hits || $PART == latency ]] || die "--part must be all, hits or latency"
if ! is_uint "$BODY_BYTES" || ((BODY_BYTES < 8192)); then
  die "--body-bytes must be an integer >= 8192 (got '$BODY_BYTES')"
fi
[[ $FIELDS =~ ^[A-Za-z0-9_.,]+$ ]] || die "--fields takes names, dots and commas only (got '$FIELDS')"

# ---- tools -------------------------------------------------------------------------------------
NGINX_BIN=${NGINX_BIN:-$(need_tool nginx nginx)}
WRK_BIN=${WRK_BIN:-$(need_tool wrk wrk)}
VARNISHD_BIN=${VARNISHD_BIN:-$(need_tool varnishd varnish)}
NODE_BIN=${NODE_BIN:-$(need_tool node nodejs)}
need_tool curl curl >/dev/null
need_tool python3 python3 >/dev/null
need_tool setsid util-linux >/dev/null
REPORT_PY=$BENCH_LIB/fields_batch_report.py

CLIENT_PID=
bench_on_exit() {
  if [[ -n $CLIENT_PID ]]; then
    kill -TERM "$CLIENT_PID" 2>/dev/null || true
    wait "$CLIENT_PID" 2>/dev/null || true
  fi
}
bench_start fields_batch

# ---- edge-proxy with fields and batch ----------------------------------------------------------
CACHE_MEMORY=256m
# start_edge_fb NAME PORT ORIGIN_PORT SLOW_PORT WORKERS: edge-proxy with two upstreams: /slow/
# goes to the slow origin, everything else to the nginx origin; one caching class for both
# with the fields defaults written out, and the batch section at its defaults.
start_edge_fb() {
  local name=$1 port=$2 origin_port=$3 slow_port=$4 workers=$5 dir=$BENCH_TMP/$1
  mkdir -p "$dir"
  cat >"$dir/edge.yaml" <<EOF
listen: ["127.0.0.1:$port"]
workers: $workers
cache: { memory: $CACHE_MEMORY }
batch: { path: /api/v1/batch, max_items: 20, concurrency: 10 }
upstreams:
  origin:
    servers: ["127.0.0.1:$origin_port"]
    pool: { max_idle: 128 }
  slow:
    servers: ["127.0.0.1:$slow_port"]
    pool: { max_idle: 128 }
route_classes:
  cached: { ttl: 1h, fields: { enabled: true, envelope: data, memoize: true } }
routes:
  - match: { path_prefix: /slow/ }
    upstream: slow
    class: cached
  - match: { path_prefix: / }
    upstream: origin
    class: cached
EOF
  "$EDGE_BIN" --check-config "$dir/edge.yaml" >"$dir/check-config.log" 2>&1 ||
    die "edge-proxy rejected $dir/edge.yaml: $(cat "$dir/check-config.log")"
  local -a cmd=("$EDGE_BIN" --config "$dir/edge.yaml")
  printf '%q ' "${cmd[@]}" >"$dir/command.txt"
  spawn "$name" "$dir/stderr.log" "${cmd[@]}"
  TARGET_PID[$name]=$SPAWNED_PID
  TARGET_URL[$name]="http://127.0.0.1:$port/"
  TARGET_LABEL[$name]="edge-proxy"
  TARGET_HIT_HEADER[$name]=x-cache
  EDGE_VERSION=$("$EDGE_BIN" --version 2>/dev/null | head -n1) || EDGE_VERSION="edge-proxy (no --version)"
  wait_http "${TARGET_URL[$name]}" "$SPAWNED_PID" 10
}

# ---- servers ---------------------------------------------------------------------------------
read -r ORIGIN_PORT SLOW_PORT NGINX_PORT NGINX_SLOW_PORT EDGE_PORT VARNISH_PORT <<<"$(free_ports 6)"
mkdir -p "$BENCH_TMP/bodies"
BODY=$BENCH_TMP/bodies/orders.json
make_work_orders "$BODY_BYTES" "$BODY"
python3 "$REPORT_PY" details "$BODY" "$BENCH_TMP/bodies" "$BATCH_ITEMS"
DETAILS=()
for ((i = 1; i <= BATCH_ITEMS; i++)); do DETAILS+=("$BENCH_TMP/bodies/wo-$i.json"); done
DETAIL_BYTES=$(wc -c <"${DETAILS[0]}")
SLOW_BODY=${DETAILS[0]}

log "origin: nginx on 127.0.0.1:$ORIGIN_PORT, /orders.json ($BODY_BYTES bytes) and /wo-1..$BATCH_ITEMS.json (~$DETAIL_BYTES bytes each), Cache-Control: $CACHE_CONTROL"
start_cacheable_origin origin "$ORIGIN_PORT" "$CACHE_CONTROL" "$BODY" "${DETAILS[@]}"
verify_body origin "${TARGET_URL[origin]}orders.json" "$BODY"
log "slow origin: Node.js on 127.0.0.1:$SLOW_PORT, $DELAY_MS ms per answer, $DETAIL_BYTES-byte body"
start_slow_origin slow "$SLOW_PORT" "$DELAY_MS" "$SLOW_BODY" "$CACHE_CONTROL"
log "nginx proxy_cache on 127.0.0.1:$NGINX_PORT ($WORKERS worker(s))"
start_nginx_cache nginx "$NGINX_PORT" "$ORIGIN_PORT" "$WORKERS"
log "nginx proxy (no cache) to the slow origin on 127.0.0.1:$NGINX_SLOW_PORT ($WORKERS worker(s))"
start_nginx_proxy nginxslow "$NGINX_SLOW_PORT" "$SLOW_PORT" "$WORKERS"
log "edge-proxy on 127.0.0.1:$EDGE_PORT ($EDGE_BIN, $WORKERS worker(s), cache memory $CACHE_MEMORY)"
start_edge_fb edge "$EDGE_PORT" "$ORIGIN_PORT" "$SLOW_PORT" "$WORKERS"
log "varnish on 127.0.0.1:$VARNISH_PORT (malloc,$CACHE_MEMORY, default thread pools)"
start_varnish varnish "$VARNISH_PORT" "$ORIGIN_PORT"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# check_projection NAME URL: GET URL must be 200, X-Cache: HIT, and the body the origin's
# document cut to FIELDS (every element with exactly those members, same values).
check_projection() {
  local name=$1 url=$2 got headers code value msg
  got=$(mktemp "$BENCH_TMP/verify.XXXXXX")
  headers=$(mktemp "$BENCH_TMP/verify-headers.XXXXXX")
  code=$(curl -s -D "$headers" -o "$got" -w '%{http_code}' --max-time 5 "$url") || code=000
  [[ $code == 200 ]] || die "$name: GET $url returned HTTP $code, expected 200"
  value=$(response_header "$headers" x-cache)
  [[ ${value^^} == HIT ]] || die "$name: GET $url was not served from the cache (X-Cache: '${value:-<absent>}'); response headers:
$(tr -d '\r' <"$headers")"
  msg=$(python3 "$REPORT_PY" check-projection "$BODY" "$got" "$FIELDS") ||
    die "$name: GET $url is not the document cut to $FIELDS: $msg"
  PROJECTED_BYTES=$(wc -c <"$got")
  rm -f "$got" "$headers"
}

# ==== part 1: hits ==============================================================================
run_hits() {
  TARGETS=(edge-plain edge-fields nginx-plain varnish-plain)
  declare -gA TARGET_SERVER=([edge-plain]=edge [edge-fields]=edge [nginx-plain]=nginx [varnish-plain]=varnish)
  local t s
  for t in "${TARGETS[@]}"; do
    s=${TARGET_SERVER[$t]}
    TARGET_URL[$t]=${TARGET_URL[$s]}orders.json
    TARGET_PID[$t]=${TARGET_PID[$s]}
    TARGET_HIT_HEADER[$t]=${TARGET_HIT_HEADER[$s]}
    TARGET_LABEL[$t]="${TARGET_LABEL[$s]} plain hit"
  done
  TARGET_URL[edge-fields]+="?fields=$FIELDS"
  TARGET_LABEL[edge-fields]="edge-proxy ?fields= hit"

  check_target() {
    if [[ $1 == edge-fields ]]; then
      check_projection "${TARGET_LABEL[$1]}" "${TARGET_URL[$1]}"
    else
      verify_hit "${TARGET_LABEL[$1]}" "${TARGET_URL[$1]}" "$BODY" "${TARGET_HIT_HEADER[$1]}"
    fi
  }

  # Priming: edge plain first (its miss stores the document), then the projection, which must
  # be cut from the stored entry (the fields parameter is not part of the cache key and never
  # reaches the origin).
  declare -gA ORIGIN_PRIME=()
  local before
  for t in "${TARGETS[@]}"; do
    before=$(origin_requests origin)
    fetch_n "${TARGET_URL[$t]}" 3
    check_target "$t"
    ORIGIN_PRIME[$t]=$(($(origin_requests origin) - before))
  done
  ((ORIGIN_PRIME[edge-plain] == 1)) || warn "edge-proxy: 4 plain GETs reached the origin ${ORIGIN_PRIME[edge-plain]} times (expected 1)"
  ((ORIGIN_PRIME[edge-fields] == 0)) || warn "edge-proxy: 4 ?fields= GETs of a stored document reached the origin ${ORIGIN_PRIME[edge-fields]} times (expected 0)"
  for t in nginx-plain varnish-plain; do
    ((ORIGIN_PRIME[$t] == 1)) || warn "${TARGET_LABEL[$t]}: 4 GETs reached the origin ${ORIGIN_PRIME[$t]} times (expected 1)"
  done
  log "every target answers HIT; ?fields=$FIELDS gives every element exactly those members ($PROJECTED_BYTES of $BODY_BYTES bytes)"

  declare -gA ORIGIN_DURING=()
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
    check_target "$t"
  }

  local hits_load_start origin_at_start origin_total
  hits_load_start=$(cut -d' ' -f1-3 /proc/loadavg)
  origin_at_start=$(origin_requests origin)
  warmup_all "$WARMUP"
  HITS_RESULTS=$BENCH_TMP/hits.tsv
  run_rounds "$ROUNDS" "$DURATION" "$HITS_RESULTS"
  unset -f run_hook
  origin_total=$(($(origin_requests origin) - origin_at_start))

  local during_report=() during
  for t in "${TARGETS[@]}"; do during_report+=("${TARGET_LABEL[$t]} ${ORIGIN_DURING[$t]:-0}"); done
  during=$(IFS=,; echo "${during_report[*]}")
  HITS_META=$BENCH_TMP/meta-hits.txt
  {
    machine_meta
    echo "title=Sparse fieldsets: cache hits of a $BODY_BYTES-byte JSON array, plain and ?fields=$FIELDS, $WORKERS worker(s) for edge-proxy and nginx, Varnish with default thread pools"
    echo "heading=Sparse fieldsets, cache hits of a $BODY_BYTES-byte document, $WORKERS worker(s)"
    echo "command=$COMMAND_LINE"
    echo "edge_version=$EDGE_VERSION, ${EDGE_BIN#"$REPO_ROOT"/} (cache: {memory: $CACHE_MEMORY}, class {ttl: 1h, fields: {enabled: true, envelope: data, memoize: true}})"
    echo "load_start=$hits_load_start"
    echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "load=wrk -t$WRK_THREADS -c$WRK_CONNECTIONS -d$DURATION --latency, no Accept-Encoding (identity); edge-proxy on /orders.json and on /orders.json?fields=$FIELDS, nginx proxy_cache and Varnish on /orders.json (neither has field projection: their plain hits of the same document are the reference); all 4 targets in the same $ROUNDS interleaved rounds (order rotates); warm-up $WARMUP per target; origin: nginx, 1 worker, $BODY_BYTES bytes of work-order JSON (a top-level array), Cache-Control: $CACHE_CONTROL"
    echo "checks=projection: $BODY_BYTES -> $PROJECTED_BYTES bytes, every element with exactly the members $FIELDS and the origin's values (checked with python before round 1 and after every run); origin requests while priming (4 GETs each): edge-proxy plain ${ORIGIN_PRIME[edge-plain]}, edge-proxy ?fields= ${ORIGIN_PRIME[edge-fields]}, nginx ${ORIGIN_PRIME[nginx-plain]}, varnish ${ORIGIN_PRIME[varnish-plain]}; origin requests during the measured runs: ${during//,/, } (warm-up included: $origin_total); every target answered HIT before round 1 and after every run"
  } >"$HITS_META"
}

hits_goal() {
  python3 - "$HITS_RESULTS" "$MARKDOWN" <<'EOF'
import statistics, sys
path, markdown = sys.argv[1], sys.argv[2] == "1"
rows = {}
with open(path) as f:
    header = f.readline().rstrip("\n").split("\t")
    for line in f:
        r = dict(zip(header, line.rstrip("\n").split("\t")))
        rows.setdefault(r["target"], {})[r["round"]] = float(r["rps"])
m = {t: statistics.median(v.values()) for t, v in rows.items()}
ratio = m["edge-fields"] / m["edge-plain"]
paired = [rows["edge-fields"][k] / rows["edge-plain"][k] for k in rows["edge-plain"]]
pr = "%.2f (%.2f-%.2f)" % (statistics.median(paired), min(paired), max(paired))
met = "yes" if ratio >= 0.8 else "**no**"
if markdown:
    print("| goal | of medians | per-round paired | target | met |")
    print("|---|---:|---:|---:|---|")
    print("| edge-proxy ?fields= hits / plain hits, req/s | %.2f | %s | >= 0.80 | %s |" % (ratio, pr, met))
else:
    print("  edge-proxy ?fields= / plain hits req/s: %.2f (paired %s)   goal >= 0.80   %s"
          % (ratio, pr, "met" if ratio >= 0.8 else "NOT MET"))
EOF
}

# ==== part 2: latency ===========================================================================
# slow_origin_total: requests the slow origin received so far, all paths.
slow_origin_total() {
  local n
  n=$(curl -s --max-time 5 "${TARGET_URL[slow]}count") || die "slow origin: GET /count failed"
  [[ $n =~ ^[0-9]+$ ]] || die "slow origin: GET /count returned '$n'"
  printf '%s\n' "$n"
}

run_latency() {
  local t url i
  # Prime: each detail document through edge-proxy (all ten), nginx and Varnish (the first).
  local before=$(origin_requests origin)
  for ((i = 1; i <= BATCH_ITEMS; i++)); do
    url=${TARGET_URL[edge]}wo-$i.json
    fetch_n "$url" 2
    verify_hit "edge-proxy" "$url" "${DETAILS[$((i - 1))]}" x-cache
  done
  local prime_edge=$(($(origin_requests origin) - before))
  ((prime_edge == BATCH_ITEMS)) || warn "edge-proxy: priming $BATCH_ITEMS detail documents reached the origin $prime_edge times (expected $BATCH_ITEMS)"
  for t in nginx varnish; do
    fetch_n "${TARGET_URL[$t]}wo-1.json" 2
    verify_hit "${TARGET_LABEL[$t]}" "${TARGET_URL[$t]}wo-1.json" "${DETAILS[0]}" "${TARGET_HIT_HEADER[$t]}"
  done
  # A slow-origin path answered through edge-proxy: MISS once, then a HIT (the route caches).
  verify_body edge-proxy "${TARGET_URL[edge]}slow/check" "$SLOW_BODY"
  verify_hit edge-proxy "${TARGET_URL[edge]}slow/check" "$SLOW_BODY" x-cache
  (($(slow_origin_count slow /slow/check) == 1)) || warn "edge-proxy: /slow/check reached the slow origin more than once"

  local plan=$BENCH_TMP/latency-plan.json out=$BENCH_TMP/latency.json
  local items="" sep=""
  for ((i = 1; i <= BATCH_ITEMS; i++)); do
    items+="$sep{\"path\": \"/wo-$i.json\", \"body_file\": \"${DETAILS[$((i - 1))]}\"}"
    sep=", "
  done
  local e=${TARGET_URL[edge]%/} n=${TARGET_URL[nginx]%/} v=${TARGET_URL[varnish]%/}
  local ns=${TARGET_URL[nginxslow]%/} s=${TARGET_URL[slow]%/}
  cat >"$plan" <<EOF
{"rounds": $ROUNDS, "timeout_ms": 10000, "pause_ms": 3, "scenarios": [
  {"name": "edge-hit", "kind": "get", "url": "$e/wo-1.json", "body_file": "$SLOW_BODY",
   "hit_header": "x-cache", "samples": $SAMPLES, "warm": 50},
  {"name": "edge-batch-hit", "kind": "batch", "url": "$e/api/v1/batch", "items": [$items],
   "hit_header": "x-cache", "samples": $SAMPLES, "warm": 50},
  {"name": "edge-hit-fresh", "kind": "get", "url": "$e/wo-1.json", "body_file": "$SLOW_BODY",
   "hit_header": "x-cache", "samples": $SAMPLES, "warm": 5, "fresh": true},
  {"name": "edge-batch-hit-fresh", "kind": "batch", "url": "$e/api/v1/batch", "items": [$items],
   "hit_header": "x-cache", "samples": $SAMPLES, "warm": 5, "fresh": true},
  {"name": "nginx-hit", "kind": "get", "url": "$n/wo-1.json", "body_file": "$SLOW_BODY",
   "hit_header": "x-cache-status", "samples": $SAMPLES, "warm": 50},
  {"name": "varnish-hit", "kind": "get", "url": "$v/wo-1.json", "body_file": "$SLOW_BODY",
   "hit_header": "x-cache", "samples": $SAMPLES, "warm": 50},
  {"name": "edge-batch-miss", "kind": "batch-unique", "url": "$e/api/v1/batch", "prefix": "/slow/b-",
   "n": $BATCH_ITEMS, "body_file": "$SLOW_BODY", "origin_count": "$s/count", "samples": $SLOW_SAMPLES, "warm": 3},
  {"name": "edge-miss", "kind": "get-unique", "base": "$e", "prefix": "/slow/e-", "body_file": "$SLOW_BODY",
   "origin_count": "$s/count", "samples": $SLOW_SAMPLES, "warm": 3},
  {"name": "nginx-miss", "kind": "get-unique", "base": "$ns", "prefix": "/slow/n-", "body_file": "$SLOW_BODY",
   "origin_count": "$s/count", "samples": $SLOW_SAMPLES, "warm": 3},
  {"name": "direct-miss", "kind": "get-unique", "base": "$s", "prefix": "/slow/d-", "body_file": "$SLOW_BODY",
   "origin_count": "$s/count", "samples": $SLOW_SAMPLES, "warm": 3}
]}
EOF
  local runner=()
  [[ ${BENCH_PIN:-0} == 1 ]] && runner=(taskset -c 1)
  local lat_load_start slow_before slow_total rc=0
  lat_load_start=$(cut -d' ' -f1-3 /proc/loadavg)
  slow_before=$(slow_origin_total)
  log "latency: $ROUNDS interleaved rounds of 10 scenarios ($SAMPLES samples per round cached, $SLOW_SAMPLES behind the $DELAY_MS ms origin)"
  "${runner[@]}" "$NODE_BIN" "$BENCH_LIB/batch_latency.js" "$plan" "$out" 2> >(tee "$BENCH_TMP/latency.log" >&2) &
  CLIENT_PID=$!
  wait "$CLIENT_PID" || rc=$?
  CLIENT_PID=
  ((rc <= 1)) || die "the latency client failed (exit $rc); see $BENCH_TMP/latency.log"
  ((rc == 0)) || warn "the latency client reported failed checks (see the errors in the table)"
  slow_total=$(($(slow_origin_total) - slow_before))
  LATENCY_OUT=$out
  LATENCY_META=$BENCH_TMP/meta-latency.txt
  local expected_slow=$(((ROUNDS * SLOW_SAMPLES + 3) * (BATCH_ITEMS + 3)))
  {
    machine_meta | grep -v -e '^targets=' -e '^label\.'
    echo "targets=edge-hit,nginx-hit,varnish-hit,edge-batch-hit,edge-hit-fresh,edge-batch-hit-fresh,edge-miss,nginx-miss,direct-miss,edge-batch-miss"
    echo "label.edge-hit-fresh=edge-proxy, single cached hit, new connection each"
    echo "label.edge-batch-hit-fresh=edge-proxy, batch of $BATCH_ITEMS cached items, new connection each"
    echo "label.edge-hit=edge-proxy, single cached hit"
    echo "label.nginx-hit=nginx proxy_cache, single cached hit"
    echo "label.varnish-hit=Varnish, single cached hit"
    echo "label.edge-batch-hit=edge-proxy, batch of $BATCH_ITEMS cached items"
    echo "label.edge-miss=edge-proxy, single request to the $DELAY_MS ms origin"
    echo "label.nginx-miss=nginx (no cache), single request to the $DELAY_MS ms origin"
    echo "label.direct-miss=$DELAY_MS ms origin directly (no proxy)"
    echo "label.edge-batch-miss=edge-proxy, batch of $BATCH_ITEMS uncached items, $DELAY_MS ms origin"
    echo "title=Batch fan-out latency: sequential requests on one keep-alive connection per scenario, $WORKERS worker(s)"
    echo "heading=Batch fan-out latency, $WORKERS worker(s)"
    echo "command=$COMMAND_LINE"
    echo "delay_ms=$DELAY_MS"
    echo "edge_version=$EDGE_VERSION, ${EDGE_BIN#"$REPO_ROOT"/} (cache: {memory: $CACHE_MEMORY}, class {ttl: 1h}, batch: {concurrency: 10, max_items: 20})"
    echo "load_start=$lat_load_start"
    echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "load=lib/batch_latency.js (Node.js, one keep-alive connection per scenario, one request at a time, no Accept-Encoding); 10 scenarios in the same $ROUNDS interleaved rounds (order rotates), $SAMPLES samples per round for the cached ones and $SLOW_SAMPLES for those behind the origin, after untimed warm-up requests, a 3 ms pause between two samples (outside the clock); latency = request issued to last byte of the answer; the two \"new connection each\" scenarios send Connection: close and open a connection per request (its setup is inside the clock). Detail documents: $BATCH_ITEMS work orders of about $DETAIL_BYTES bytes each from the nginx origin (Cache-Control: $CACHE_CONTROL); the batch body is {\"requests\":[{\"id\",\"method\":\"GET\",\"path\"}, x $BATCH_ITEMS]}; the slow origin (lib/slow_origin.js, $DELAY_MS ms per answer, same Cache-Control) gets a path never requested before for every item and every single request, so each is a miss"
    echo "checks=every answer checked after its clock stopped: 200 with the origin's bytes (single requests) or $BATCH_ITEMS item responses with status 200 and the right document as body (batches); single hits and every item of the cached batch with X-Cache (nginx: X-Cache-Status) HIT; for the uncached batches and single misses the slow origin's counter showed every path exactly once; slow-origin requests during the run: $slow_total (expected $expected_slow incl. warm-up)"
  } >"$LATENCY_META"
}

# ==== run and report ============================================================================
if [[ $PART == all || $PART == hits ]]; then
  run_hits
fi
if [[ $PART == all || $PART == latency ]]; then
  run_latency
fi
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

if [[ $PART == all || $PART == hits ]]; then
  summarize "$HITS_RESULTS" "$HITS_META" edge-fields:edge-plain,edge-plain:nginx-plain,edge-plain:varnish-plain,edge-fields:varnish-plain
  echo
  if ((MARKDOWN)); then
    { MARKDOWN=0 hits_goal; echo; } >&2
  fi
  hits_goal
  echo
fi
if [[ $PART == all || $PART == latency ]]; then
  if ((MARKDOWN)); then
    python3 "$REPORT_PY" latency "$LATENCY_OUT" "$LATENCY_META" >&2
    echo >&2
    python3 "$REPORT_PY" latency "$LATENCY_OUT" "$LATENCY_META" --markdown
  else
    python3 "$REPORT_PY" latency "$LATENCY_OUT" "$LATENCY_META"
  fi
fi
log "load average at start $LOAD_START, at end $LOAD_END"
