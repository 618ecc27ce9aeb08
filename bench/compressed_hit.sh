#!/usr/bin/env bash
# Compressed cache-hit benchmark: one ~64 KB JSON document (work orders) cached by edge-proxy,
# nginx (proxy_cache + gzip, compressing on every hit) and Varnish (do_gzip: stored gzipped),
# requested with Accept-Encoding: gzip, and from edge-proxy also with Accept-Encoding: br and
# without Accept-Encoding (identity), all in the same interleaved wrk rounds on 127.0.0.1.
# Prints a table for the gzip and the br scenario, the compressed sizes and the ratios.
# See bench/README.md.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/load.sh
source "$BENCH_DIR/lib/load.sh"

usage() {
  cat <<'EOF'
Usage: bench/compressed_hit.sh [options]

Compares cache hits of one JSON document requested with Accept-Encoding: gzip from edge-proxy,
nginx (proxy_cache, gzip on) and Varnish (beresp.do_gzip), and measures edge-proxy's hits with
Accept-Encoding: br and without Accept-Encoding in the same interleaved wrk rounds. Every
target must answer HIT in the requested encoding, decoding to the origin's bytes, before the
rounds start. Prints median req/s, p50, p99 and CPU per target, the compressed sizes and the
ratios edge/nginx, edge/varnish (gzip) and edge compressed/identity.

Options:
  --body-bytes B      size of the JSON document (default 65536)
  --rounds R          measured rounds per target (default 5)
  --duration D        wrk duration per run, e.g. 10s, 1m (default 10s)
  --connections C     wrk connections (default 64)
  --threads T         wrk threads (default 2)
  --workers N         workers of edge-proxy and nginx (default 1); Varnish keeps its
                      default thread pools
  --warmup D          warm-up per target before round 1 (default 2s; 0 to skip)
  --pin               servers on CPU 0, wrk (one thread) on CPU 1 (needs 2 CPUs)
  --markdown          print the result blocks for bench/RESULTS.md on stdout
                      (the plain tables then go to stderr)
  --keep              keep the temporary directory (configs, logs, raw wrk output)
  -h, --help          this help

Environment:
  EDGE_PROXY_BIN      edge-proxy binary (default: build/edge-proxy under the repository root)
  NGINX_BIN, WRK_BIN, VARNISHD_BIN  override the nginx / wrk / varnishd executables
EOF
}

BODY_BYTES=65536
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
  --body-bytes) BODY_BYTES=${2:?--body-bytes needs a value}; shift 2 ;;
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
if ! is_uint "$BODY_BYTES" || ((BODY_BYTES < 4096)); then
  die "--body-bytes must be an integer >= 4096 (got '$BODY_BYTES')"
fi

# ---- tools -------------------------------------------------------------------------------------
NGINX_BIN=${NGINX_BIN:-$(need_tool nginx nginx)}
WRK_BIN=${WRK_BIN:-$(need_tool wrk wrk)}
VARNISHD_BIN=${VARNISHD_BIN:-$(need_tool varnishd varnish)}
need_tool curl curl >/dev/null
need_tool python3 python3 >/dev/null
need_tool setsid util-linux >/dev/null
curl -V | grep -qw brotli || die "this curl cannot decode Brotli (curl -V lists no 'brotli' feature)"

bench_start compressed_hit

# ---- servers ---------------------------------------------------------------------------------
CACHE_MEMORY=256m
NGINX_GZIP="  gzip on;
  gzip_types application/json;
  gzip_min_length 1000;
  gzip_comp_level 6;
  gzip_proxied any;"
VARNISH_BERESP='  if (beresp.http.Content-Type ~ "^application/json") {
    set beresp.do_gzip = true;
  }'

read -r ORIGIN_PORT NGINX_PORT EDGE_PORT VARNISH_PORT <<<"$(free_ports 4)"
mkdir -p "$BENCH_TMP/bodies"
BODY=$BENCH_TMP/bodies/orders.json
make_work_orders "$BODY_BYTES" "$BODY"

log "origin: nginx on 127.0.0.1:$ORIGIN_PORT, /orders.json ($BODY_BYTES bytes of JSON), Cache-Control: $CACHE_CONTROL"
start_cacheable_origin origin "$ORIGIN_PORT" "$CACHE_CONTROL" "$BODY"
verify_body origin "${TARGET_URL[origin]}orders.json" "$BODY"

log "nginx proxy_cache + gzip (level 6) on 127.0.0.1:$NGINX_PORT ($WORKERS worker(s))"
start_nginx_cache nginx "$NGINX_PORT" "$ORIGIN_PORT" "$WORKERS" "$NGINX_GZIP"
log "edge-proxy on 127.0.0.1:$EDGE_PORT ($EDGE_BIN, $WORKERS worker(s), cache memory $CACHE_MEMORY)"
start_edge edge "$EDGE_PORT" "$ORIGIN_PORT" "$WORKERS" "$CACHE_MEMORY"
log "varnish on 127.0.0.1:$VARNISH_PORT (malloc,$CACHE_MEMORY, default thread pools, do_gzip for JSON)"
start_varnish varnish "$VARNISH_PORT" "$ORIGIN_PORT" "$VARNISH_BERESP"

# Measured targets: one server may appear several times, once per Accept-Encoding.
# TARGET_SERVER: the started server; TARGET_AE: the Accept-Encoding wrk sends (empty: none).
TARGETS=(edge-gz nginx varnish edge-br edge-id)
declare -A TARGET_SERVER=([edge-gz]=edge [edge-br]=edge [edge-id]=edge [nginx]=nginx [varnish]=varnish)
declare -A TARGET_AE=([edge-gz]=gzip [edge-br]=br [edge-id]="" [nginx]=gzip [varnish]=gzip)
for t in "${TARGETS[@]}"; do
  s=${TARGET_SERVER[$t]}
  TARGET_URL[$t]=${TARGET_URL[$s]}orders.json
  TARGET_PID[$t]=${TARGET_PID[$s]}
  TARGET_HIT_HEADER[$t]=${TARGET_HIT_HEADER[$s]}
  TARGET_LABEL[$t]="${TARGET_LABEL[$s]} ${TARGET_AE[$t]:-identity}"
done

# set_wrk_args TARGET: the Accept-Encoding header wrk sends to TARGET.
set_wrk_args() {
  WRK_EXTRA_ARGS=()
  if [[ -n ${TARGET_AE[$1]} ]]; then WRK_EXTRA_ARGS=(-H "Accept-Encoding: ${TARGET_AE[$1]}"); fi
}

# check_target TARGET: one request in TARGET's encoding must be a HIT that is (or decodes to)
# the origin's body; sets ENCODED_BYTES / ENCODED_LENGTH for compressed targets.
check_target() {
  local t=$1
  if [[ -n ${TARGET_AE[$t]} ]]; then
    verify_encoded_hit "${TARGET_LABEL[$t]}" "${TARGET_URL[$t]}" "$BODY" "${TARGET_AE[$t]}" "${TARGET_HIT_HEADER[$t]}"
  else
    verify_hit "${TARGET_LABEL[$t]}" "${TARGET_URL[$t]}" "$BODY" "${TARGET_HIT_HEADER[$t]}"
  fi
}

# run_hook (called by run_rounds around every measured run): wrk gets the target's
# Accept-Encoding; the origin must not see a request during the run, and the target must still
# answer HIT in its encoding after it.
declare -A ORIGIN_DURING=()
run_hook() {
  local when=$1 t=$2 now
  now=$(origin_requests origin)
  if [[ $when == before ]]; then
    set_wrk_args "$t"
    ORIGIN_BEFORE_RUN=$now
    return 0
  fi
  ORIGIN_DURING[$t]=$((${ORIGIN_DURING[$t]:-0} + now - ORIGIN_BEFORE_RUN))
  if ((now != ORIGIN_BEFORE_RUN)); then
    warn "${TARGET_LABEL[$t]}: the origin received $((now - ORIGIN_BEFORE_RUN)) request(s) during a measured run"
  fi
  check_target "$t"
}

# ---- priming and checks -----------------------------------------------------------------------
# Identity first for edge-proxy (that miss fills its cache), then its gzip and br forms, which
# must come from the stored entry (no further origin request). The first request in each
# encoding may make the compressed form; the next ones must be HITs decoding to the body.
declare -A SIZE_BYTES=() SIZE_LENGTH=() ORIGIN_PRIME=()
for t in edge-id edge-gz edge-br nginx varnish; do
  before=$(origin_requests origin)
  set_wrk_args "$t"
  for _ in 1 2 3; do
    curl -s -o /dev/null --max-time 10 "${WRK_EXTRA_ARGS[@]}" "${TARGET_URL[$t]}" ||
      die "GET ${TARGET_URL[$t]} failed"
  done
  check_target "$t"
  if [[ -n ${TARGET_AE[$t]} ]]; then
    SIZE_BYTES[$t]=$ENCODED_BYTES
    SIZE_LENGTH[$t]=${ENCODED_LENGTH:-chunked}
  fi
  ORIGIN_PRIME[$t]=$(($(origin_requests origin) - before))
done
prime_edge=$((ORIGIN_PRIME[edge-id] + ORIGIN_PRIME[edge-gz] + ORIGIN_PRIME[edge-br]))
((prime_edge == 1)) || warn "edge-proxy: identity, gzip and br requests for one URL reached the origin $prime_edge times (expected 1)"
for t in nginx varnish; do
  ((ORIGIN_PRIME[$t] == 1)) || warn "${TARGET_LABEL[$t]}: 4 requests reached the origin ${ORIGIN_PRIME[$t]} times (expected 1)"
done
log "every target answers HIT in its encoding, decoding to the origin's $BODY_BYTES bytes"
for t in edge-gz edge-br nginx varnish; do
  log "  ${TARGET_LABEL[$t]}: ${SIZE_BYTES[$t]} bytes on the wire (Content-Length: ${SIZE_LENGTH[$t]})"
done
BR_GZ=$(awk -v b="${SIZE_BYTES[edge-br]}" -v g="${SIZE_BYTES[edge-gz]}" 'BEGIN { printf "%.2f", b / g }')
GZ_FRAC=$(awk -v g="${SIZE_BYTES[edge-gz]}" -v n="$BODY_BYTES" 'BEGIN { printf "%.1f", 100 * g / n }')
BR_FRAC=$(awk -v b="${SIZE_BYTES[edge-br]}" -v n="$BODY_BYTES" 'BEGIN { printf "%.1f", 100 * b / n }')

# ---- measurement ------------------------------------------------------------------------------
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
origin_at_start=$(origin_requests origin)
if [[ $WARMUP != 0 && $WARMUP != 0[smh] ]]; then
  for t in "${TARGETS[@]}"; do
    log "warm-up ${TARGET_LABEL[$t]} ($WARMUP)"
    set_wrk_args "$t"
    warmup "$t" "$WARMUP"
  done
fi
RESULTS=$BENCH_TMP/results.tsv
run_rounds "$ROUNDS" "$DURATION" "$RESULTS"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
origin_total=$(($(origin_requests origin) - origin_at_start))

during_report=()
for t in "${TARGETS[@]}"; do during_report+=("${TARGET_LABEL[$t]} ${ORIGIN_DURING[$t]:-0}"); done
during=$(IFS=,; echo "${during_report[*]}")
SIZES_LINE="gzip $BODY_BYTES -> ${SIZE_BYTES[edge-gz]} bytes ($GZ_FRAC %) from edge-proxy, ${SIZE_BYTES[nginx]} from nginx, ${SIZE_BYTES[varnish]} from Varnish; br (edge-proxy, stored form at compression.brotli_quality) ${SIZE_BYTES[edge-br]} bytes ($BR_FRAC %); br/gzip size ratio $BR_GZ"

# write_meta SCENARIO TARGET_LIST: the META file of one scenario's table (same results TSV).
write_meta() {
  local scenario=$1 list=$2 t
  machine_meta | grep -v -e '^targets=' -e '^label\.'
  echo "targets=$list"
  for t in ${list//,/ }; do echo "label.$t=${TARGET_LABEL[$t]}"; done
  echo "title=Compressed cache hits ($scenario), $BODY_BYTES-byte JSON body, $WORKERS worker(s) for edge-proxy and nginx, Varnish with default thread pools"
  echo "heading=Compressed cache hits ($scenario), $BODY_BYTES-byte body, $WORKERS worker(s)"
  echo "command=$COMMAND_LINE"
  echo "edge_version=$EDGE_VERSION, $EDGE_BIN (cache: {memory: $CACHE_MEMORY}, class ttl: 1h)"
  echo "load_start=$LOAD_START"
  echo "load_end=$LOAD_END"
  echo "load=wrk -t$WRK_THREADS -c$WRK_CONNECTIONS -d$DURATION --latency on one URL, with -H 'Accept-Encoding: gzip' (edge-proxy, nginx with gzip on at level 6, Varnish with do_gzip), -H 'Accept-Encoding: br' (edge-proxy) or none (edge-proxy identity); all $((${#TARGETS[@]})) targets in the same $ROUNDS interleaved rounds (order rotates); warm-up $WARMUP per target; origin: nginx, 1 worker, $BODY_BYTES bytes of work-order JSON, Cache-Control: $CACHE_CONTROL"
  echo "checks=sizes: $SIZES_LINE; origin requests while priming: edge-proxy $prime_edge (identity, gzip and br, 4 GETs each), nginx ${ORIGIN_PRIME[nginx]}, varnish ${ORIGIN_PRIME[varnish]}; origin requests during the measured runs: ${during//,/, } (warm-up included: $origin_total); every target answered HIT with Content-Encoding as requested (none for identity), decoding to the origin's bytes, before round 1 and after every run"
}

# Target figures: medians of the same rounds.
targets_report() {
  python3 - "$RESULTS" "$BR_GZ" "$MARKDOWN" <<'EOF'
import statistics, sys
path, br_gz, markdown = sys.argv[1], float(sys.argv[2]), sys.argv[3] == "1"
rows = {}
with open(path) as f:
    header = f.readline().rstrip("\n").split("\t")
    for line in f:
        r = dict(zip(header, line.rstrip("\n").split("\t")))
        rows.setdefault(r["target"], []).append(float(r["rps"]))
m = {t: statistics.median(v) for t, v in rows.items()}
checks = [
    ("edge-proxy gzip / nginx gzip req/s", m["edge-gz"] / m["nginx"], ">=", 15.0),
    ("edge-proxy gzip / Varnish gzip req/s", m["edge-gz"] / m["varnish"], ">=", 1.8),
    ("edge-proxy gzip / edge-proxy identity req/s", m["edge-gz"] / m["edge-id"], ">=", 0.90),
    ("edge-proxy br / edge-proxy identity req/s", m["edge-br"] / m["edge-id"], ">=", 0.90),
    ("edge-proxy br / gzip body size", br_gz, "<=", 0.85),
]
if markdown:
    print("| target | measured | goal | met |")
    print("|---|---:|---:|---|")
for name, value, op, goal in checks:
    met = value >= goal if op == ">=" else value <= goal
    if markdown:
        print("| %s | %.2f | %s %.2f | %s |" % (name, value, op, goal, "yes" if met else "**no**"))
    else:
        print("  %-46s %7.2f   goal %s %.2f   %s" % (name, value, op, goal, "met" if met else "NOT MET"))
EOF
}

META_GZ=$BENCH_TMP/meta-gzip.txt
META_BR=$BENCH_TMP/meta-br.txt
write_meta "Accept-Encoding: gzip" edge-gz,nginx,varnish,edge-id >"$META_GZ"
write_meta "Accept-Encoding: br" edge-br,edge-id >"$META_BR"
PAIRS_GZ=edge-gz:nginx,edge-gz:varnish,edge-gz:edge-id
PAIRS_BR=edge-br:edge-id
summarize "$RESULTS" "$META_GZ" "$PAIRS_GZ"
echo
summarize "$RESULTS" "$META_BR" "$PAIRS_BR"
echo
if ((MARKDOWN)); then
  { echo "  sizes: $SIZES_LINE"; echo; MARKDOWN=0 targets_report; echo; } >&2
  echo "Compressed sizes: $SIZES_LINE."
  echo
  targets_report
else
  echo "  sizes: $SIZES_LINE"
  echo
  targets_report
fi
log "load average at start $LOAD_START, at end $(cut -d' ' -f1-3 /proc/loadavg)"
