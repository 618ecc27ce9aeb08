# Servers used by the benchmarks: the origin and each proxy under test. Each start_* function
# writes its own config into $BENCH_TMP, starts the server as a non-daemon child (see spawn in
# common.sh), waits until it answers, and sets:
#   TARGET_URL[name]  URL that wrk and the body check use
#   TARGET_PID[name]  pid (= process group) of the server, for liveness and CPU accounting
# Nothing here reads or writes outside $BENCH_TMP; system nginx/varnish services are untouched.
# shellcheck shell=bash disable=SC2034  # globals set here are read by the sourcing script

declare -gA TARGET_URL=()
declare -gA TARGET_PID=()
declare -gA TARGET_LABEL=()

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

# start_origin NAME PORT BODY_FILE: nginx, one worker, answering every request with the body.
# Bodies up to 3 KB are served with 'return 200' (no file I/O); larger ones from a file
# (nginx caps one config token at 4 KB).
start_origin() {
  local name=$1 port=$2 body=$3 dir=$BENCH_TMP/$1 location
  mkdir -p "$dir/www"
  if (($(wc -c <"$body") <= 3072)); then
    location="location / { default_type application/json; return 200 '$(cat "$body")'; }"
  else
    cp "$body" "$dir/www/body.json"
    chmod -R a+rX "$dir/www"
    location="location / { default_type application/json; root $dir/www; try_files /body.json =404; }"
  fi
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

# start_nginx_proxy NAME PORT ORIGIN_PORT WORKERS: nginx as a plain reverse proxy with an
# upstream keep-alive pool; no caching, no access log.
start_nginx_proxy() {
  local name=$1 port=$2 origin_port=$3 workers=$4 dir=$BENCH_TMP/$1
  mkdir -p "$dir"
  {
    _nginx_preamble "$name" "$workers"
    echo "http {"
    _nginx_http_common "$name"
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
    }
  }
}
EOF
  } >"$dir/nginx.conf"
  _run_nginx "$name" "$dir/nginx.conf" "$port"
  TARGET_LABEL[$name]="nginx $("$NGINX_BIN" -v 2>&1 | sed -n 's|.*nginx/||p')"
}

# start_edge NAME PORT ORIGIN_PORT WORKERS: edge-proxy from $EDGE_BIN with a generated config:
# one upstream, one pass-through (cache: false) route class, one catch-all route.
# EDGE_MODE=quick starts it with --listen/--upstream/--workers instead.
start_edge() {
  local name=$1 port=$2 origin_port=$3 workers=$4 dir=$BENCH_TMP/$1
  mkdir -p "$dir"
  local -a cmd
  if [[ ${EDGE_MODE:-config} == quick ]]; then
    cmd=("$EDGE_BIN" --listen "127.0.0.1:$port" --upstream "127.0.0.1:$origin_port" --workers "$workers")
  else
    cat >"$dir/edge.yaml" <<EOF
listen: ["127.0.0.1:$port"]
workers: $workers
upstreams:
  origin:
    servers: ["127.0.0.1:$origin_port"]
    pool: { max_idle: 128 }
route_classes:
  pass: { cache: false }
routes:
  - match: { path_prefix: / }
    upstream: origin
    class: pass
EOF
    "$EDGE_BIN" --check-config "$dir/edge.yaml" >"$dir/check-config.log" 2>&1 ||
      die "edge-proxy rejected $dir/edge.yaml: $(cat "$dir/check-config.log")"
    cmd=("$EDGE_BIN" --config "$dir/edge.yaml")
  fi
  printf '%q ' "${cmd[@]}" >"$dir/command.txt"
  spawn "$name" "$dir/stderr.log" "${cmd[@]}"
  TARGET_PID[$name]=$SPAWNED_PID
  TARGET_URL[$name]="http://127.0.0.1:$port/"
  TARGET_LABEL[$name]="edge-proxy"
  EDGE_VERSION=$("$EDGE_BIN" --version 2>/dev/null | head -n1) || EDGE_VERSION="edge-proxy (no --version)"
  wait_http "${TARGET_URL[$name]}" "$SPAWNED_PID" 10
}
