# The phases of bench/load.sh: servers, priming, idle connections, the load and soak runs and
# the report. Sourced by load.sh after its options are checked and bench_start has run.
# shellcheck shell=bash disable=SC2034  # globals set here are read by load.sh

# Hot URLs of the demo API (config/examples/edge.yaml: api_detail, api_list, filter_options).
HOT_PATHS=(/api/v1/work-orders/1 /api/v1/work-orders/2 /api/v1/work-orders/3 /api/v1/sites/1
  /api/v1/filter-options)
# ?fields= selections of cached lists (the list entry is keyed without `fields`).
FIELDS_PATHS=("/api/v1/work-orders?fields=id,title,status"
  "/api/v1/work-orders?fields=id,site.name,priority,assignee"
  "/api/v1/sites?fields=id,name")
BATCH_ITEMS=(/api/v1/work-orders/1 /api/v1/sites/1 "/api/v1/work-orders/2?fields=id,title")
NONCE=$(date +%s)-$$
KIND_RUNS=0

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$EDGE_PID/status"; }
# cache_stats: "entries bytes" of the proxy's cache, from the admin API's GET /stats.
cache_stats() {
  curl -s --max-time 5 -H "Authorization: Bearer $EDGE_ADMIN_TOKEN" \
    "http://127.0.0.1:$ADMIN_PORT/stats" | python3 -c '
import json, sys
d = json.load(sys.stdin)
def find(o):
    if isinstance(o, dict):
        if "entries" in o and "bytes" in o:
            return o
        for v in o.values():
            r = find(v)
            if r: return r
    return None
s = find(d) or {}
print(s.get("entries", "?"), s.get("bytes", "?"))' 2>/dev/null || echo "? ?"
}
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# ---- servers ---------------------------------------------------------------------------------
start_servers() {
  read -r ORIGIN_PORT EDGE_PORT ADMIN_PORT REDIS_PORT NGINX_PORT <<<"$(free_ports 5)"
  export EDGE_ADMIN_TOKEN=bench-load-token
  if [[ -n $REDIS_BIN ]]; then
    spawn redis "$BENCH_TMP/redis.log" "$REDIS_BIN" --port "$REDIS_PORT" --bind 127.0.0.1 \
      --save '' --appendonly no
    REDIS_NOTE="redis-server on 127.0.0.1:$REDIS_PORT"
  else
    REDIS_NOTE="no redis-server installed: the subscriber retries in the background"
  fi
  spawn origin "$BENCH_TMP/origin.log" "$NODE_BIN" "$REPO_ROOT/demo/origin.mjs" \
    --host 127.0.0.1 --port "$ORIGIN_PORT"
  ORIGIN_PID=$SPAWNED_PID
  wait_http "http://127.0.0.1:$ORIGIN_PORT/health" "$ORIGIN_PID"

  # The reference config with its four ports (listener, upstream, Redis, admin) rewritten.
  local src=$REPO_ROOT/config/examples/edge.yaml conf=$BENCH_TMP/edge.yaml
  sed -e "s/^\(  - \)127\.0\.0\.1:8080\b/\1127.0.0.1:$EDGE_PORT/" \
    -e "s/^\(      - \)127\.0\.0\.1:3000\b/\1127.0.0.1:$ORIGIN_PORT/" \
    -e "s/^\(    address: \)127\.0\.0\.1:6379\b/\1127.0.0.1:$REDIS_PORT/" \
    -e "s/^\(  listen: \)127\.0\.0\.1:9091\b/\1127.0.0.1:$ADMIN_PORT/" "$src" >"$conf"
  [[ -n $WORKERS ]] && sed -i "s/^workers: auto\b/workers: $WORKERS/" "$conf"
  local p
  for p in "$EDGE_PORT" "$ORIGIN_PORT" "$REDIS_PORT" "$ADMIN_PORT"; do
    grep -q "127\.0\.0\.1:$p\b" "$conf" || die "could not rewrite the ports of $src (port $p)"
  done
  diff "$src" "$conf" >"$BENCH_TMP/edge.yaml.diff" || true
  "$EDGE_BIN" --check-config "$conf" >"$BENCH_TMP/check-config.log" 2>&1 ||
    die "edge-proxy rejected $conf: $(cat "$BENCH_TMP/check-config.log")"
  spawn edge "$BENCH_TMP/edge.log" "$EDGE_BIN" --config "$conf"
  EDGE_PID=$SPAWNED_PID
  EDGE_URL=http://127.0.0.1:$EDGE_PORT
  wait_http "$EDGE_URL/health" "$EDGE_PID"
  EDGE_VERSION=$("$EDGE_BIN" --version 2>/dev/null | head -n1) || EDGE_VERSION=edge-proxy
  EDGE_NOFILE=$(awk '/^Max open files/ { print $4 }' "/proc/$EDGE_PID/limits")
  ((EDGE_NOFILE >= NOFILE_NEED)) || die "edge-proxy runs with a descriptor limit of $EDGE_NOFILE"
  log "edge-proxy on $EDGE_URL (config/examples/edge.yaml, workers ${WORKERS:-auto}," \
    "descriptor limit $EDGE_NOFILE), demo origin on 127.0.0.1:$ORIGIN_PORT, $REDIS_NOTE"
}

# expect_hit URL [CURL_ARGS...]: the answer must be 200 with X-Cache: HIT.
expect_hit() {
  local url=$1 headers code value
  shift
  headers=$(mktemp "$BENCH_TMP/headers.XXXXXX")
  code=$(curl -s -D "$headers" -o /dev/null -w '%{http_code}' --max-time 5 "$@" "$url") || code=000
  value=$(response_header "$headers" x-cache)
  [[ $code == 200 && ${value^^} == HIT ]] ||
    die "GET $url: HTTP $code, X-Cache '${value:-<absent>}' (expected 200 and HIT)"
  rm -f "$headers"
}

# check_batch: POST /api/v1/batch with BATCH_ITEMS must answer 200 with every item 200.
check_batch() {
  local body="" out i
  for i in "${!BATCH_ITEMS[@]}"; do
    body+=$(printf '{"id":"i%s","method":"GET","path":"%s"},' "$i" "${BATCH_ITEMS[$i]}")
  done
  out=$(curl -s -f --max-time 10 -H 'Content-Type: application/json' \
    -d "{\"requests\":[${body%,}]}" "$EDGE_URL/api/v1/batch") || die "POST /api/v1/batch failed"
  python3 -c '
import json, sys
r = json.loads(sys.argv[1])["responses"]
bad = [x for x in r if x.get("status") != 200]
sys.exit("batch: %d items, not 200: %s" % (len(r), bad[:3]) if bad or len(r) != int(sys.argv[2])
         else 0)' "$out" "${#BATCH_ITEMS[@]}" || die "batch check failed"
}

# prime_and_check: hot and list URLs fetched until cached; checked to be HITs; batch checked.
prime_and_check() {
  local p
  for p in "${HOT_PATHS[@]}" /api/v1/work-orders /api/v1/sites; do
    fetch_n "$EDGE_URL$p" 2
    expect_hit "$EDGE_URL$p"
  done
  for p in "${FIELDS_PATHS[@]}"; do
    fetch_n "$EDGE_URL$p" 2
    expect_hit "$EDGE_URL$p"
  done
  check_batch
  log "primed: ${#HOT_PATHS[@]} hot URLs and ${#FIELDS_PATHS[@]} fields selections answer HIT," \
    "a batch of ${#BATCH_ITEMS[@]} answers 200 per item"
}

# ---- idle connections ------------------------------------------------------------------------
open_idle() {
  IDLE_READY="open 0 of 0"
  IDLE_OPEN_ERRORS=0
  ((IDLE > 0)) || return 0
  log "opening $IDLE idle keep-alive connections (one GET each, then one every ${TOUCH_S}s)"
  spawn idle "$BENCH_TMP/idle.log" "$NODE_BIN" "$BENCH_LIB/idle_conns.mjs" --port "$EDGE_PORT" \
    --count "$IDLE" --path "${HOT_PATHS[0]}" --touch-s "$TOUCH_S"
  IDLE_PID=$SPAWNED_PID
  local deadline=$((SECONDS + 300)) line
  while ((SECONDS < deadline)); do
    line=$(grep '"event":"ready"' "$BENCH_TMP/idle.log" || true)
    [[ -n $line ]] && break
    check_alive "$IDLE_PID"
    sleep 1
  done
  [[ -n $line ]] || die "the idle connections were not open after 300 s"
  IDLE_OPEN=$(json_field "$line" open)
  IDLE_OPEN_ERRORS=$(json_field "$line" open_errors)
  IDLE_READY="open $IDLE_OPEN of $IDLE in $(json_field "$line" ms) ms"
  log "idle connections: $IDLE_READY ($IDLE_OPEN_ERRORS failed)"
}

json_field() {
  python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}

# check_idle: one request on every idle connection; closed ones and failures are errors.
check_idle() {
  IDLE_CHECK="-"
  IDLE_ERRORS=$IDLE_OPEN_ERRORS
  [[ -n $IDLE_PID ]] || return 0
  check_alive "$IDLE_PID"
  kill -USR2 "$IDLE_PID"
  local i line
  for ((i = 0; i < 120; i++)); do
    line=$(grep '"event":"check"' "$BENCH_TMP/idle.log" || true)
    [[ -n $line ]] && break
    sleep 1
  done
  [[ -n $line ]] || die "the idle connection check did not finish within 120 s"
  local held closed answered failed touch
  held=$(json_field "$line" held) closed=$(json_field "$line" closed_before)
  answered=$(json_field "$line" answered) failed=$(json_field "$line" failed)
  touch=$(json_field "$line" touch_errors)
  IDLE_ERRORS=$((IDLE_OPEN_ERRORS + closed + failed + touch))
  IDLE_CHECK="$held held for $(json_field "$line" held_s) s: $closed closed by the server,"
  IDLE_CHECK+=" $answered answered 200 at the end, $failed failed, $touch keep-alive touches failed"
  log "idle connections: $IDLE_CHECK"
}

# ---- wrk per kind ----------------------------------------------------------------------------
# start_kind KIND URL CONNECTIONS DURATION OUTFILE [DELAY_MS]: one wrk in the background for one
# kind of request (lib/load_mix.lua); its pid is appended to LOAD_WRK_PIDS.
start_kind() {
  local kind=$1 url=$2 conns=$3 duration=$4 out=$5 delay=${6:-0} threads=1
  local -a paths=() runner=()
  case $kind in
  hits) paths=("${HOT_PATHS[@]}") ;;
  fields) paths=("${FIELDS_PATHS[@]}") ;;
  batch) paths=("${BATCH_ITEMS[@]}") ;;
  esac
  ((conns >= 500 && ${BENCH_PIN:-0} != 1)) && threads=2
  [[ ${BENCH_PIN:-0} == 1 ]] && runner=(taskset -c 1)
  # Each wrk numbers its miss URLs from 1: a new nonce per run keeps them unique.
  KIND_RUNS=$((KIND_RUNS + 1))
  LOAD_DELAY_MS=$delay "${runner[@]}" "$WRK_BIN" -t "$threads" -c "$conns" -d "$duration" \
    --latency -s "$BENCH_LIB/load_mix.lua" "$url" -- "$kind" "$NONCE-$KIND_RUNS" "${paths[@]}" \
    >"$out" 2>&1 &
  LOAD_WRK_PIDS+=($!)
}

# wait_kinds: wait for every wrk in LOAD_WRK_PIDS; dies if one failed.
wait_kinds() {
  local pid rc=0
  for pid in "${LOAD_WRK_PIDS[@]}"; do wait "$pid" || rc=$?; done
  LOAD_WRK_PIDS=()
  ((rc == 0)) || die "a wrk run failed (rc $rc); raw output in $BENCH_TMP/wrk"
  check_alive "$EDGE_PID"
}

# run_mix LABEL DURATION_S [DELAY_MS]: the four kinds at once; one row per kind appended to
# $BENCH_TMP/results.tsv (label kind connections requests rps p50 p99 errors).
# Calls mix_tick (if defined) every 10 s while it runs.
run_mix() {
  local label=$1 secs=$2 delay=${3:-0} k t0 e0 o0
  mkdir -p "$BENCH_TMP/wrk"
  e0=$(cpu_ticks "$EDGE_PID") o0=$(cpu_ticks "$ORIGIN_PID")
  for k in "${KINDS[@]}"; do
    start_kind "$k" "$EDGE_URL" "${CONNS[$k]}" "${secs}s" "$BENCH_TMP/wrk/$label-$k.txt" "$delay"
  done
  t0=$SECONDS
  while ((SECONDS - t0 < secs)); do
    sleep 1
    if declare -F mix_tick >/dev/null && (((SECONDS - t0) % 10 == 0)); then
      mix_tick "$((SECONDS - t0))"
    fi
  done
  wait_kinds
  record_cpu "$label" "$e0" "$o0" "$((SECONDS - t0))"
  for k in "${KINDS[@]}"; do
    add_row "$label" "$k" "${CONNS[$k]}" "$BENCH_TMP/wrk/$label-$k.txt"
  done
}

# record_cpu LABEL EDGE_TICKS0 ORIGIN_TICKS0 SECONDS: cores used by edge-proxy and the origin
# since the given cpu_ticks readings, to $BENCH_TMP/cpu.tsv and the log.
record_cpu() {
  local hz e o
  hz=$(getconf CLK_TCK)
  e=$(awk -v t=$(($(cpu_ticks "$EDGE_PID") - $2)) -v hz="$hz" -v s="$4" \
    'BEGIN { printf "%.2f", t / hz / s }')
  o=$(awk -v t=$(($(cpu_ticks "$ORIGIN_PID") - $3)) -v hz="$hz" -v s="$4" \
    'BEGIN { printf "%.2f", t / hz / s }')
  printf '%s\t%s\t%s\n' "$1" "$e" "$o" >>"$BENCH_TMP/cpu.tsv"
  log "$1: CPU cores used: edge-proxy $e, demo origin $o"
}

add_row() {
  local label=$1 kind=$2 conns=$3 out=$4 parsed rps p50 p99 req errs
  parsed=$(python3 "$BENCH_LIB/summarize.py" parse "$out") || die "could not parse $out"
  IFS=$'\t' read -r rps p50 p99 req errs <<<"$parsed"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$kind" "$conns" "$req" "$rps" "$p50" \
    "$p99" "$errs" >>"$BENCH_TMP/results.tsv"
  log "$(printf '%-10s %-7s c=%-4s %9s req %9.0f req/s  p50 %8.3f ms  p99 %8.3f ms  errors %s' \
    "$label" "$kind" "$conns" "$req" "$rps" "$p50" "$p99" "$errs")"
}

# ---- load mode -------------------------------------------------------------------------------
# start_nginx_static: nginx (as many workers as the proxy has threads serving) answering the hot
# paths with the bodies edge-proxy serves, from files; access log off.
start_nginx_static() {
  local dir=$BENCH_TMP/nginx www=$BENCH_TMP/nginx/www p workers
  workers=${WORKERS:-$(nproc)}
  mkdir -p "$www"
  for p in "${HOT_PATHS[@]}"; do
    mkdir -p "$www$(dirname "$p")"
    curl -s -f --max-time 5 -o "$www$p" "$EDGE_URL$p" || die "GET $p failed"
  done
  chmod -R a+rX "$www"
  {
    _nginx_preamble nginx "$workers"
    echo "http {"
    _nginx_http_common nginx
    cat <<EOF
  server {
    listen 127.0.0.1:$NGINX_PORT backlog=4096;
    location / { default_type application/json; root $www; }
  }
}
EOF
  } >"$dir/nginx.conf"
  _run_nginx nginx "$dir/nginx.conf" "$NGINX_PORT"
  NGINX_LABEL=$(_nginx_label)
  for p in "${HOT_PATHS[@]}"; do verify_body nginx "http://127.0.0.1:$NGINX_PORT$p" "$www$p"; done
}

# hits_only LABEL URL OUTFILE [DELAY_MS]: ACTIVE connections of hits only, one wrk.
hits_only() {
  start_kind hits "$2" "$ACTIVE" "${DURATION_S}s" "$3" "${4:-0}"
  wait_kinds
  add_row "$1" hits "$ACTIVE" "$3"
}

# Closed loop (every connection sends its next request as soon as the answer is in) measures
# throughput: with 1,000 connections the latency is mostly queueing (connections / req/s). The
# paced runs (a pause of PACE_MS before each request) put the same connections at a rate the
# machine can serve, so their latency is the time to serve one request under that load.
run_load() {
  RSS_BEFORE=$(rss_kb)
  CACHE_BEFORE=$(cache_stats)
  log "RSS before: $(mb "$RSS_BEFORE") MB (cache entries/bytes: $CACHE_BEFORE)"
  if ((WARMUP_S > 0)); then
    log "warm-up: the mix for ${WARMUP_S}s"
    run_mix warmup "$WARMUP_S"
  fi
  log "mix, closed loop: ${CONNS[hits]} hits + ${CONNS[misses]} misses + ${CONNS[fields]}" \
    "fields + ${CONNS[batch]} batch connections for ${DURATION_S}s, $IDLE idle"
  local mid=$((DURATION_S / 2 / 10 * 10))
  ((mid > 0)) || mid=10
  RSS_DURING=
  mix_tick() {
    if [[ -z $RSS_DURING && $1 -ge $mid ]]; then
      RSS_DURING=$(rss_kb)
      log "RSS during the mix (${1}s): $(mb "$RSS_DURING") MB"
    fi
  }
  run_mix mix "$DURATION_S"
  unset -f mix_tick
  [[ -n $RSS_DURING ]] || RSS_DURING=$(rss_kb)
  if ((PACE_MS > 0)); then
    log "mix, paced: the same connections, each pausing $PACE_MS ms before each request"
    run_mix paced "$DURATION_S" "$PACE_MS"
  fi
  expect_hit "$EDGE_URL${HOT_PATHS[0]}"
  log "hits only: $ACTIVE connections against edge-proxy for ${DURATION_S}s"
  hits_only hits-only "$EDGE_URL" "$BENCH_TMP/wrk/hits-only-edge.txt"
  if ((PACE_MS > 0)); then
    hits_only hits-paced "$EDGE_URL" "$BENCH_TMP/wrk/hits-paced-edge.txt" "$PACE_MS"
  fi
  RSS_AFTER=$(rss_kb)
  CACHE_AFTER=$(cache_stats)
  log "RSS after: $(mb "$RSS_AFTER") MB (cache entries/bytes: $CACHE_AFTER)"
  if ((!NO_NGINX)); then
    start_nginx_static
    log "hits only: $ACTIVE connections against $NGINX_LABEL (same bodies, static files)"
    hits_only nginx "http://127.0.0.1:$NGINX_PORT" "$BENCH_TMP/wrk/hits-only-nginx.txt"
    if ((PACE_MS > 0)); then
      hits_only nginx-paced "http://127.0.0.1:$NGINX_PORT" \
        "$BENCH_TMP/wrk/hits-paced-nginx.txt" "$PACE_MS"
    fi
  fi
}

# ---- soak mode -------------------------------------------------------------------------------
# fill_cache: misses as fast as they go until the cache holds 90 % of its budget (the reference
# config's cache.memory) or FILL_MAX_S passed, so that the soak starts with the cache at the
# size it keeps from then on (eviction) and its growth is not read as a leak.
fill_cache() {
  ((FILL_MAX_S > 0)) || { FILL_NOTE="cache not filled (--fill-max 0)"; return 0; }
  local budget t0 entries bytes
  # cache.memory of the config, e.g. "256m" -> bytes
  budget=$(awk '/^[a-z]/ { c = ($1 == "cache:") }
                c && $1 == "memory:" { print toupper($2); exit }' "$BENCH_TMP/edge.yaml" |
    numfmt --from=iec) || die "no cache.memory in the config"
  log "filling the cache with misses up to 90% of $((budget / 1048576)) MB (at most ${FILL_MAX_S}s)"
  t0=$SECONDS
  mkdir -p "$BENCH_TMP/wrk"
  while ((SECONDS - t0 < FILL_MAX_S)); do
    start_kind misses "$EDGE_URL" 200 10s "$BENCH_TMP/wrk/fill.txt"
    wait_kinds
    read -r entries bytes <<<"$(cache_stats)"
    log "fill: $entries entries, $((bytes / 1048576)) MB, RSS $(mb "$(rss_kb)") MB"
    ((bytes * 10 >= budget * 9)) && break
  done
  FILL_NOTE="cache filled with misses for $((SECONDS - t0)) s to $entries entries /"
  FILL_NOTE+=" $((bytes / 1048576)) MB of $((budget / 1048576)) MB"
}

run_soak() {
  RSS_SAMPLES=$BENCH_TMP/rss.tsv
  printf 'phase\tseconds\trss_kb\tcache_entries\tcache_bytes\n' >"$RSS_SAMPLES"
  RSS_BEFORE=$(rss_kb)
  fill_cache
  if ((WARMUP_S > 0)); then
    log "warm-up: the mix at the soak rate for ${WARMUP_S}s"
    run_mix warmup "$WARMUP_S" "$SOAK_DELAY_MS"
  fi
  RSS_START=$(rss_kb)
  CACHE_START=$(cache_stats)
  printf 'start\t0\t%s\t%s\n' "$RSS_START" "${CACHE_START/ /$'\t'}" >>"$RSS_SAMPLES"
  log "soak: the mix for ${SOAK_S}s, each connection pausing ${SOAK_DELAY_MS} ms per request;" \
    "RSS at start $(mb "$RSS_START") MB (cache $CACHE_START)"
  local half=$((SOAK_S / 2 / 10 * 10))
  RSS_MID=
  mix_tick() {
    local rss c
    rss=$(rss_kb)
    c=$(cache_stats)
    printf 'run\t%s\t%s\t%s\n' "$1" "$rss" "${c/ /$'\t'}" >>"$RSS_SAMPLES"
    if [[ -z $RSS_MID && $1 -ge $half ]]; then
      RSS_MID=$rss CACHE_MID=$c
      log "soak: RSS at ${1}s (middle) $(mb "$rss") MB (cache $c)"
    fi
  }
  run_mix soak "$SOAK_S" "$SOAK_DELAY_MS"
  unset -f mix_tick
  RSS_END=$(rss_kb)
  CACHE_END=$(cache_stats)
  printf 'end\t%s\t%s\t%s\n' "$SOAK_S" "$RSS_END" "${CACHE_END/ /$'\t'}" >>"$RSS_SAMPLES"
  [[ -n $RSS_MID ]] || { RSS_MID=$RSS_END; CACHE_MID=$CACHE_END; }
  RSS_MAX=$(awk -F'\t' 'NR > 1 && $3 > m { m = $3 } END { print m }' "$RSS_SAMPLES")
  RSS_MIN=$(awk -F'\t' 'NR > 1 && (m == "" || $3 < m) { m = $3 } END { print m }' "$RSS_SAMPLES")
  RSS_GROWTH=$(awk -v a="$RSS_START" -v b="$RSS_MAX" 'BEGIN { printf "%.1f", (b - a) * 100 / a }')
  RSS_SPREAD=$(awk -v a="$RSS_START" -v lo="$RSS_MIN" -v hi="$RSS_MAX" \
    'BEGIN { printf "%.1f", (hi - lo) * 100 / a }')
  log "soak: RSS at end $(mb "$RSS_END") MB; largest growth over start $RSS_GROWTH %," \
    "spread (max - min) / start $RSS_SPREAD %"
}

# ---- report ----------------------------------------------------------------------------------
run_label() {
  case $1 in
  mix) echo "edge-proxy mix, closed loop" ;;
  paced) echo "edge-proxy mix, paced $PACE_MS ms" ;;
  soak) echo "edge-proxy mix, paced $SOAK_DELAY_MS ms" ;;
  hits-only) echo "edge-proxy hits, closed loop" ;;
  hits-paced) echo "edge-proxy hits, paced $PACE_MS ms" ;;
  nginx) echo "$NGINX_LABEL files, closed loop" ;;
  nginx-paced) echo "$NGINX_LABEL files, paced $PACE_MS ms" ;;
  *) echo "$1" ;;
  esac
}

total_errors() {
  local wrk_errors
  wrk_errors=$(awk -F'\t' '$1 != "warmup" { s += $8 } END { print s + 0 }' "$BENCH_TMP/results.tsv")
  echo $((wrk_errors + IDLE_ERRORS))
}

report() {
  local md=$MARKDOWN sep=" " lbl kind conns req rps p50 p99 errs
  local title="Load: $IDLE idle + $ACTIVE active keep-alive connections, mix ${CONNS[hits]} hits /"
  title+=" ${CONNS[misses]} misses / ${CONNS[fields]} fields / ${CONNS[batch]} batch connections"
  if [[ $MODE == soak ]]; then
    title="Soak ${SOAK}: $IDLE idle + $ACTIVE active connections, the same mix with a pause of"
    title+=" $SOAK_DELAY_MS ms before each request on each connection"
  fi
  if ((md)); then
    echo "### $(date -u '+%Y-%m-%d %H:%M UTC') — $title"
    echo
    echo "- Command: \`$COMMAND_LINE\`"
    local head cpu wrk_v
    head=$(git -C "$REPO_ROOT" rev-parse --short HEAD)
    cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1) || true
    # wrk -v prints its version and usage, then exits 1
    wrk_v=$("$WRK_BIN" -v 2>&1 | head -n1 | awk '{print $1, $2}') || true
    echo "- Repository HEAD at run time: \`$head\`; $EDGE_VERSION"
    echo "- Machine: $(nproc) cores, $cpu, kernel $(uname -r); load average $LOAD_START at"
    echo "  start, $LOAD_END at end"
    echo "- Tools: $wrk_v, node $("$NODE_BIN" --version), $(_nginx_label); descriptor limit"
    echo "  $NOFILE (edge-proxy $EDGE_NOFILE)"
    echo "- Config: config/examples/edge.yaml, ports rewritten${WORKERS:+, workers: $WORKERS};"
    echo "  $REDIS_NOTE"
    echo
    echo "| run | kind | connections | requests | req/s | p50 ms | p99 ms | errors |"
    echo "|---|---|---|---|---|---|---|---|"
  else
    echo "$title"
    printf '  %-32s %-7s %11s %10s %10s %9s %9s %7s\n' run kind connections requests req/s \
      "p50 ms" "p99 ms" errors
  fi
  while IFS=$'\t' read -r lbl kind conns req rps p50 p99 errs; do
    [[ $lbl == warmup ]] && continue
    lbl=$(run_label "$lbl")
    if ((md)); then
      printf '| %s | %s | %s | %s | %.0f | %.2f | %.2f | %s |\n' "$lbl" "$kind" "$conns" "$req" \
        "$rps" "$p50" "$p99" "$errs"
    else
      printf '  %-32s %-7s %11s %10s %10.0f %9.2f %9.2f %7s\n' "$lbl" "$kind" "$conns" "$req" \
        "$rps" "$p50" "$p99" "$errs"
    fi
  done <"$BENCH_TMP/results.tsv"
  ((md)) && echo
  local pre="  "
  ((md)) && pre="- "
  echo "${pre}Idle connections: $IDLE_READY; $IDLE_CHECK"
  local cpu_line
  cpu_line=$(awk -F'\t' '$1 != "warmup" { printf "%s%s %s / %s", sep, $1, $2, $3; sep = ", " }' \
    "$BENCH_TMP/cpu.tsv")
  echo "${pre}CPU cores used during the mix runs (edge-proxy / demo origin): $cpu_line"
  if [[ $MODE == load ]]; then
    echo "${pre}edge-proxy RSS: before $(mb "$RSS_BEFORE") MB (cache entries/bytes" \
      "$CACHE_BEFORE), during the mix $(mb "$RSS_DURING") MB, after $(mb "$RSS_AFTER") MB" \
      "($CACHE_AFTER)"
    local hp99 closed run=mix
    ((PACE_MS > 0)) && run=paced
    closed=$(awk -F'\t' '$1 == "mix" && $2 == "hits" { print $7 }' "$BENCH_TMP/results.tsv")
    hp99=$(awk -F'\t' -v r="$run" '$1 == r && $2 == "hits" { print $7 }' "$BENCH_TMP/results.tsv")
    echo "${pre}Targets: errors $(total_errors) (target 0); hits p99 in the $(run_label "$run")" \
      "run $hp99 ms (target < 10 ms):" \
      "$(awk -v p="$hp99" 'BEGIN { print (p < 10) ? "met" : "NOT met" }'); closed loop" \
      "(queueing included) $closed ms"
  else
    echo "${pre}$FILL_NOTE; RSS before the fill $(mb "$RSS_BEFORE") MB"
    echo "${pre}edge-proxy RSS after warm-up (cache entries/bytes in brackets): start" \
      "$(mb "$RSS_START") MB ($CACHE_START), middle $(mb "$RSS_MID") MB ($CACHE_MID), end" \
      "$(mb "$RSS_END") MB ($CACHE_END); samples every 10 s: min $(mb "$RSS_MIN"), max" \
      "$(mb "$RSS_MAX") MB"
    local verdict
    verdict=$(awk -v g="$RSS_GROWTH" -v l="$RSS_LIMIT" \
      'BEGIN { print (g <= l) ? "met" : "NOT met" }')
    echo "${pre}Targets: errors $(total_errors) (target 0); RSS largest growth over start" \
      "$RSS_GROWTH %, spread $RSS_SPREAD % (target <= $RSS_LIMIT %): $verdict"
  fi
}

# final_verdict: exit status 1 when there were errors or (soak) RSS grew beyond the limit.
final_verdict() {
  local errors rc=0
  errors=$(total_errors)
  if ((errors > 0)); then
    warn "$errors errors (wrk socket errors, non-2xx answers, idle connections lost or failing)"
    rc=1
  fi
  if [[ $MODE == soak ]] && awk -v g="$RSS_GROWTH" -v l="$RSS_LIMIT" 'BEGIN { exit !(g > l) }'; then
    warn "RSS grew $RSS_GROWTH % after warm-up (limit $RSS_LIMIT %)"
    rc=1
  fi
  log "load average at start $LOAD_START, at end $LOAD_END"
  return "$rc"
}
