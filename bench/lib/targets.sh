# Servers used by the benchmarks: the origin and each proxy under test. Each start_* function
# writes its own config into $BENCH_TMP, starts the server as a non-daemon child (see spawn in
# common.sh), waits until it answers, and sets:
#   TARGET_URL[name]    URL that wrk and the body check use
#   TARGET_PID[name]    pid (= process group) of the server, for liveness and CPU accounting
#   TARGET_LABEL[name]  name shown in the results
# Nothing here reads or writes outside $BENCH_TMP; system nginx/varnish services are untouched.
# shellcheck shell=bash disable=SC2034  # globals set here are read by the sourcing script

declare -gA TARGET_URL=()
declare -gA TARGET_PID=()
declare -gA TARGET_LABEL=()
# Caching targets only: the response header whose value is HIT when the answer came from the
# cache (see verify_hit in common.sh).
declare -gA TARGET_HIT_HEADER=()

# make_body BYTES FILE: deterministic JSON document of exactly BYTES bytes. It contains no
# single quote, backslash or '$', so it can be embedded in an nginx 'return' string.
make_body() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
size, path = int(sys.argv[1]), sys.argv[2]
if size < 64:
    sys.exit("body size must be at least 64 bytes")
items, doc = [], ""
def render(items, pad):
    return json.dumps({"items": items, "count": len(items), "pad": pad}, separators=(",", ":"))
while True:
    n = len(items) + 1
    cand = items + [{"id": n, "name": "work-order-%05d" % n, "status": "open", "site": n % 17}]
    if len(render(cand, "")) > size:
        break
    items = cand
base = render(items, "")
doc = render(items, "x" * (size - len(base)))
assert len(doc) == size, (len(doc), size)
with open(path, "w") as f:
    f.write(doc)
EOF
}

# make_work_orders BYTES FILE: deterministic JSON array of work orders of exactly BYTES bytes
# (as many whole records as fit, then spaces before the closing bracket). Fields vary from
# record to record (ids, dates, sites, assets, people, free text from a small vocabulary), so
# it compresses like real API output rather than like a repeated character. Fixed seed: the
# same bytes on every run.
make_work_orders() {
  python3 - "$1" "$2" <<'EOF'
import json, random, sys
size, path = int(sys.argv[1]), sys.argv[2]
rng = random.Random(20261121)
sites = ["Rotterdam DC", "Lyon North", "Gdansk Port", "Porto Hub", "Leipzig West", "Milan East",
         "Vienna Yard", "Aarhus Quay", "Bilbao Plant", "Tampere Works"]
kinds = ["corrective", "preventive", "inspection", "calibration", "emergency"]
statuses = ["open", "assigned", "in_progress", "on_hold", "done", "cancelled"]
people = ["A. Moreau", "B. Novak", "C. Jensen", "D. Silva", "E. Kowalski", "F. Rossi", "G. Weber",
          "H. Laine", "I. Garcia", "J. Berg", "K. Horvat", "L. Dubois"]
words = ["pump", "seal", "leak", "bearing", "vibration", "replace", "check", "filter", "motor",
         "belt", "sensor", "valve", "pressure", "noise", "overheating", "conveyor", "gearbox",
         "lubricate", "align", "tighten", "worn", "cracked", "calibrate", "panel", "cable",
         "after", "night", "shift", "reported", "by", "operator", "near", "line", "bay"]
parts = ["BRG-6204", "SEAL-35x52", "FLT-HEPA-24", "BELT-A42", "VLV-DN50", "SNS-PT100",
         "MTR-4KW", "GBX-OIL-5L", "CBL-3G2.5", "PNL-FUSE-16A"]
def order(n):
    day = 1 + (n * 7) % 28
    hour = rng.randrange(6, 22)
    return {
        "id": 100000 + n,
        "number": "WO-2026-%06d" % (4000 + n * 3),
        "type": rng.choice(kinds),
        "status": rng.choice(statuses),
        "priority": rng.randrange(1, 5),
        "site": rng.choice(sites),
        "asset": {"id": "AST-%05d" % rng.randrange(1, 4000), "line": rng.randrange(1, 12)},
        "assignee": rng.choice(people),
        "created_at": "2026-10-%02dT%02d:%02d:00Z" % (day, hour, rng.randrange(60)),
        "due_at": "2026-11-%02dT%02d:00:00Z" % (day, hour),
        "estimate_h": round(rng.uniform(0.5, 16), 1),
        "description": " ".join(rng.choice(words) for _ in range(rng.randrange(6, 16))),
        "parts": [{"sku": rng.choice(parts), "qty": rng.randrange(1, 6)}
                  for _ in range(rng.randrange(0, 4))],
    }
items, doc = [], "[]"
while True:
    items.append(order(len(items) + 1))
    text = json.dumps(items, separators=(",", ":"))
    if len(text) > size:
        break
    doc = text
doc = doc[:-1] + " " * (size - len(doc)) + "]"
assert len(doc) == size, (len(doc), size)
with open(path, "w") as f:
    f.write(doc)
EOF
}

# Lines shared by every nginx config: pid, logs and temp paths inside the run directory, and
# (when started as root) workers running as the invoking user so they can read the run dir.
_nginx_preamble() {
  local name=$1 workers=$2 dir=$BENCH_TMP/$1
  mkdir -p "$dir/tmp"
  if ((EUID == 0)); then
    printf 'user %s %s;\n' "$(id -un)" "$(id -gn)"
  fi
  cat <<EOF
worker_processes $workers;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 8192; }
EOF
}

_nginx_http_common() {
  local dir=$BENCH_TMP/$1
  cat <<EOF
  access_log off;
  client_body_temp_path $dir/tmp/client_body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  keepalive_timeout 65s;
  keepalive_requests 1000000;
EOF
}

# _run_nginx NAME CONF PORT: start nginx in the foreground (master + workers) from CONF.
_run_nginx() {
  local name=$1 conf=$2 port=$3 dir=$BENCH_TMP/$1
  "$NGINX_BIN" -t -q -p "$dir" -c "$conf" -e "$dir/error.log" >"$dir/configtest.log" 2>&1 ||
    die "$name: nginx rejected $conf: $(cat "$dir/configtest.log")"
  spawn "$name" "$dir/stderr.log" "$NGINX_BIN" -p "$dir" -c "$conf" -e "$dir/error.log" -g 'daemon off;'
  TARGET_PID[$name]=$SPAWNED_PID
  TARGET_URL[$name]="http://127.0.0.1:$port/"
  wait_http "${TARGET_URL[$name]}" "$SPAWNED_PID" 10
}

# _origin_location MATCH BODY_FILE WWW_DIR [EXTRA]: one nginx location answering with the body.
# Bodies up to 3 KB are served with 'return 200' (no file I/O); larger ones from a copy of the
# file in WWW_DIR (nginx caps one config token at 4 KB). EXTRA goes inside the block.
_origin_location() {
  local match=$1 body=$2 www=$3 extra=${4:-} file
  if (($(wc -c <"$body") <= 3072)); then
    echo "location $match { default_type application/json; ${extra}return 200 '$(cat "$body")'; }"
  else
    file=$(basename "$body")
    cp "$body" "$www/$file"
    chmod -R a+rX "$www"
    echo "location $match { default_type application/json; ${extra}root $www; try_files /$file =404; }"
  fi
}

# start_origin NAME PORT BODY_FILE: nginx, one worker, answering every request with the body.
start_origin() {
  local name=$1 port=$2 body=$3 dir=$BENCH_TMP/$1 location
  mkdir -p "$dir/www"
  location=$(_origin_location / "$body" "$dir/www")
  {
    _nginx_preamble "$name" 1
    echo "http {"
    _nginx_http_common "$name"
    cat <<EOF
  server {
    listen 127.0.0.1:$port backlog=4096;
    $location
  }
}
EOF
  } >"$dir/nginx.conf"
  _run_nginx "$name" "$dir/nginx.conf" "$port"
  TARGET_LABEL[$name]="origin (nginx)"
}

# start_cacheable_origin NAME PORT CACHE_CONTROL BODY_FILE...: the same nginx origin, but each
# body is served at /<its file name> (exact match; any other path is 404) with the given
# Cache-Control header, and every request is logged, one line each, to $BENCH_TMP/NAME/access.log
# so that origin_requests can count what reached the origin.
start_cacheable_origin() {
  local name=$1 port=$2 cc=$3 dir=$BENCH_TMP/$1 body locations=""
  shift 3
  mkdir -p "$dir/www"
  for body in "$@"; do
    locations+="    $(_origin_location "= /$(basename "$body")" "$body" "$dir/www" \
      "add_header Cache-Control \"$cc\" always; ")"$'\n'
  done
  {
    _nginx_preamble "$name" 1
    echo "http {"
    _nginx_http_common "$name"
    cat <<EOF
  log_format counted '\$request_uri';
  server {
    listen 127.0.0.1:$port backlog=4096;
    access_log $dir/access.log counted;
$locations    location / { return 404; }
  }
}
EOF
  } >"$dir/nginx.conf"
  _run_nginx "$name" "$dir/nginx.conf" "$port"
  TARGET_LABEL[$name]="origin (nginx)"
}

# origin_requests NAME: requests answered so far by an origin started with start_cacheable_origin.
origin_requests() {
  local logfile=$BENCH_TMP/$1/access.log
  if [[ -f $logfile ]]; then wc -l <"$logfile"; else echo 0; fi
}

# start_slow_origin NAME PORT DELAY_MS BODY_FILE CACHE_CONTROL: lib/slow_origin.js under Node.js
# (stdlib only): answers every GET with the body after DELAY_MS, with the given Cache-Control,
# and counts the requests it received per path; GET /count?path=P returns that count as text
# (/count alone: the total). /count itself is not counted and is never cacheable.
start_slow_origin() {
  local name=$1 port=$2 delay=$3 body=$4 cc=$5 dir=$BENCH_TMP/$1
  mkdir -p "$dir"
  spawn "$name" "$dir/stderr.log" "$NODE_BIN" "$BENCH_LIB/slow_origin.js" "$port" "$delay" "$body" "$cc"
  TARGET_PID[$name]=$SPAWNED_PID
  TARGET_URL[$name]="http://127.0.0.1:$port/"
  TARGET_LABEL[$name]="origin (Node.js, ${delay} ms)"
  wait_http "http://127.0.0.1:$port/count" "$SPAWNED_PID" 10
}

# slow_origin_count NAME PATH: requests the slow origin NAME received for PATH so far.
slow_origin_count() {
  local n
  n=$(curl -s --max-time 5 "${TARGET_URL[$1]}count?path=$2") || die "$1: GET /count failed"
  [[ $n =~ ^[0-9]+$ ]] || die "$1: GET /count returned '$n'"
  printf '%s\n' "$n"
}

# _nginx_proxy_conf NAME PORT ORIGIN_PORT WORKERS [HTTP_EXTRA [LOCATION_EXTRA]]: config of nginx as
# a reverse proxy with an upstream keep-alive pool and no access log; the extra lines go into
# the http block and the location block.
_nginx_proxy_conf() {
  local name=$1 port=$2 origin_port=$3 workers=$4 http_extra=${5:-} location_extra=${6:-}
  _nginx_preamble "$name" "$workers"
  echo "http {"
  _nginx_http_common "$name"
  [[ -n $http_extra ]] && printf '%s\n' "$http_extra"
  cat <<EOF
  upstream origin {
    server 127.0.0.1:$origin_port;
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$port backlog=4096;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
EOF
  [[ -n $location_extra ]] && printf '%s\n' "$location_extra"
  cat <<EOF
    }
  }
}
EOF
}

_nginx_label() { echo "nginx $("$NGINX_BIN" -v 2>&1 | sed -n 's|.*nginx/||p')"; }

# start_nginx_proxy NAME PORT ORIGIN_PORT WORKERS: nginx as a plain reverse proxy with an
# upstream keep-alive pool; no caching, no access log.
start_nginx_proxy() {
  local name=$1 port=$2 origin_port=$3 workers=$4 dir=$BENCH_TMP/$1
  mkdir -p "$dir"
  _nginx_proxy_conf "$name" "$port" "$origin_port" "$workers" >"$dir/nginx.conf"
  _run_nginx "$name" "$dir/nginx.conf" "$port"
  TARGET_LABEL[$name]="$(_nginx_label)"
}

# start_nginx_cache NAME PORT ORIGIN_PORT WORKERS [HTTP_EXTRA]: the same reverse proxy with
# proxy_cache on; HTTP_EXTRA (optional) adds lines to the http block (e.g. gzip directives).
# The cache lives in $BENCH_TMP/NAME/cache (files, as nginx always keeps its cache; the hot
# ones stay in the page cache); the origin's Cache-Control sets the TTL. proxy_cache_lock
# lets one request per key go to the origin while the others wait (polling the lock every
# 500 ms, up to proxy_cache_lock_timeout). X-Cache-Status shows HIT/MISS/EXPIRED/...
start_nginx_cache() {
  local name=$1 port=$2 origin_port=$3 workers=$4 http_extra=${5:-} dir=$BENCH_TMP/$1
  mkdir -p "$dir/cache"
  _nginx_proxy_conf "$name" "$port" "$origin_port" "$workers" \
    "  proxy_cache_path $dir/cache levels=1:2 keys_zone=bench:16m max_size=256m inactive=1h use_temp_path=off;${http_extra:+
$http_extra}" \
    "      proxy_cache bench;
      proxy_cache_lock on;
      proxy_cache_lock_timeout 5s;
      add_header X-Cache-Status \$upstream_cache_status always;" >"$dir/nginx.conf"
  _run_nginx "$name" "$dir/nginx.conf" "$port"
  TARGET_LABEL[$name]="$(_nginx_label) cache"
  TARGET_HIT_HEADER[$name]=x-cache-status
}

# start_varnish NAME PORT ORIGIN_PORT [BACKEND_RESPONSE_VCL]: varnishd in the foreground (-F)
# with a VCL that only names the origin as backend and marks hits in X-Cache; TTLs come from
# the origin's Cache-Control. BACKEND_RESPONSE_VCL (optional) becomes the body of
# vcl_backend_response (e.g. to set beresp.do_gzip). Storage: malloc,256m; thread pools and
# every other parameter at their defaults. Its working directory (-n, shared memory log) is $BENCH_TMP/NAME/work. Started as
# root, varnishd drops to its own users (varnish, vcache), so the run directory is made
# traversable and the VCL readable for them.
start_varnish() {
  local name=$1 port=$2 origin_port=$3 beresp_vcl=${4:-} dir=$BENCH_TMP/$1 beresp_sub=""
  mkdir -p "$dir"
  if [[ -n $beresp_vcl ]]; then
    beresp_sub=$'\nsub vcl_backend_response {\n'"$beresp_vcl"$'\n}\n'
  fi
  cat >"$dir/default.vcl" <<EOF
vcl 4.1;

backend origin {
  .host = "127.0.0.1";
  .port = "$origin_port";
}
$beresp_sub

sub vcl_deliver {
  if (obj.hits > 0) {
    set resp.http.X-Cache = "HIT";
  } else {
    set resp.http.X-Cache = "MISS";
  }
}
EOF
  if ((EUID == 0)); then
    chmod a+x "$BENCH_TMP"
    chmod a+rx "$dir"
    chmod a+r "$dir/default.vcl"
  fi
  # shellcheck disable=SC2054  # "malloc,256m" is one argument
  local -a cmd=("$VARNISHD_BIN" -F -a "127.0.0.1:$port" -f "$dir/default.vcl" -n "$dir/work"
    -s malloc,256m)
  printf '%q ' "${cmd[@]}" >"$dir/command.txt"
  spawn "$name" "$dir/stderr.log" "${cmd[@]}"
  TARGET_PID[$name]=$SPAWNED_PID
  TARGET_URL[$name]="http://127.0.0.1:$port/"
  TARGET_LABEL[$name]="varnish $("$VARNISHD_BIN" -V 2>&1 | sed -n 's/.*varnish-\([0-9.]*\).*/\1/p' | head -n1)"
  TARGET_HIT_HEADER[$name]=x-cache
  wait_http "${TARGET_URL[$name]}" "$SPAWNED_PID" 30
}

# start_edge NAME PORT ORIGIN_PORT WORKERS [CACHE_MEMORY]: edge-proxy from $EDGE_BIN with a
# generated config: one upstream, one route class, one catch-all route. Without CACHE_MEMORY
# the class is pass-through (cache: false); with it (e.g. 256m) the config gets
# `cache: {memory: CACHE_MEMORY}` and a caching class with `ttl: 1h` (used only when the origin
# gives no freshness of its own). EDGE_MODE=quick starts it with --listen/--upstream/--workers
# instead (pass-through only). The target named edge_before runs $EDGE_BASELINE_BIN instead.
start_edge() {
  local name=$1 port=$2 origin_port=$3 workers=$4 cache_memory=${5:-} dir=$BENCH_TMP/$1
  mkdir -p "$dir"
  local -a cmd
  local EDGE_BIN=$EDGE_BIN label=edge-proxy
  if [[ $name == edge_before ]]; then
    EDGE_BIN=$EDGE_BASELINE_BIN
    label="edge-proxy (before)"
  fi
  if [[ ${EDGE_MODE:-config} == quick ]]; then
    [[ -z $cache_memory ]] || die "start_edge: quick mode has no cache configuration"
    cmd=("$EDGE_BIN" --listen "127.0.0.1:$port" --upstream "127.0.0.1:$origin_port" --workers "$workers")
  else
    local cache_section="" class="pass: { cache: false }" class_name=pass
    if [[ -n $cache_memory ]]; then
      cache_section="cache: { memory: $cache_memory }"
      class="cached: { ttl: 1h }"
      class_name=cached
    fi
    cat >"$dir/edge.yaml" <<EOF
listen: ["127.0.0.1:$port"]
workers: $workers
$cache_section
upstreams:
  origin:
    servers: ["127.0.0.1:$origin_port"]
    pool: { max_idle: 128 }
route_classes:
  $class
routes:
  - match: { path_prefix: / }
    upstream: origin
    class: $class_name
EOF
    "$EDGE_BIN" --check-config "$dir/edge.yaml" >"$dir/check-config.log" 2>&1 ||
      die "edge-proxy rejected $dir/edge.yaml: $(cat "$dir/check-config.log")"
    cmd=("$EDGE_BIN" --config "$dir/edge.yaml")
  fi
  printf '%q ' "${cmd[@]}" >"$dir/command.txt"
  spawn "$name" "$dir/stderr.log" "${cmd[@]}"
  TARGET_PID[$name]=$SPAWNED_PID
  TARGET_URL[$name]="http://127.0.0.1:$port/"
  TARGET_LABEL[$name]=$label
  TARGET_HIT_HEADER[$name]=x-cache
  [[ $name == edge_before ]] && { wait_http "${TARGET_URL[$name]}" "$SPAWNED_PID" 10; return; }
  EDGE_VERSION=$("$EDGE_BIN" --version 2>/dev/null | head -n1) || EDGE_VERSION="edge-proxy (no --version)"
  wait_http "${TARGET_URL[$name]}" "$SPAWNED_PID" 10
}
