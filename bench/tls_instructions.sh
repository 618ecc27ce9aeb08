#!/usr/bin/env bash
# Instructions per cache hit over TLS and over plain HTTP, edge-proxy and nginx, counted by
# callgrind: a cost figure for the TLS hit path that the load on a shared machine cannot blur
# (the wall-clock comparison is bench/run tls_hit).
#
#   bench/tls_instructions.sh [--hits N1,N2] EDGE_PROXY_BINARY
#
# Each server runs alone under callgrind with a 1 KB JSON document cached: edge-proxy with one
# worker (cache: {memory: 64m}, class ttl 1h), nginx with `master_process off` (one process)
# and proxy_cache. TLS as in tls_hit: a P-256 certificate made here with the openssl CLI, TLS
# 1.3 only, default suites (TLS_AES_256_GCM_SHA384), one ticket. A Python client sends N1 and
# then N2 sequential keep-alive GETs on one connection (each must be a HIT); (total(N2) -
# total(N1)) / (N2 - N1) cancels start-up, the handshake and the first miss. User-space
# instructions of the server process only (OpenSSL and libc included; syscalls not counted).
set -euo pipefail
hits="300,1300"
edge=""
while (($#)); do
  case $1 in
    --hits) hits=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) edge=$1; shift ;;
  esac
done
[[ -n $edge ]] || { echo "usage: $0 [--hits N1,N2] EDGE_PROXY_BINARY" >&2; exit 2; }
IFS=, read -r n1 n2 <<<"$hits"
for tool in valgrind nginx openssl python3 node; do
  command -v "$tool" >/dev/null || [[ -x /usr/sbin/$tool ]] || { echo "$0: needs $tool" >&2; exit 2; }
done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d)
chmod 755 "$work"
origin_pid=""
cleanup() { [[ -n $origin_pid ]] && kill "$origin_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key.pem" \
  -out "$work/cert.pem" -days 2 -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
chmod 644 "$work/key.pem"

cat >"$work/origin.mjs" <<'JS'
import http from 'node:http';
const body = JSON.stringify({ items: 'x'.repeat(1000) });
http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=3600',
    'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}).listen(Number(process.argv[2]), '127.0.0.1');
JS
cat >"$work/client.py" <<'PY'
# N sequential keep-alive GETs on one connection; exits non-zero unless every one is a HIT.
import http.client, ssl, sys
scheme, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if scheme == "https":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=60)
else:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
hits = 0
for _ in range(n):
    conn.request("GET", "/item")
    r = conn.getresponse()
    r.read()
    hits += (r.getheader("x-cache") or r.getheader("x-cache-status")) == "HIT"
conn.close()
if hits != n:
    sys.exit("only %d of %d were hits" % (hits, n))
PY

origin_port=$(free_port)
node "$work/origin.mjs" "$origin_port" & origin_pid=$!

config() {  # server scheme port -> the command line that serves /item
  local server=$1 scheme=$2 port=$3 d="$work/$1-$2"
  mkdir -p "$d/cache" "$d/tmp"
  chmod 755 "$d" "$d/cache" "$d/tmp"
  if [[ $server == edge ]]; then
    local listen="listen: [127.0.0.1:$port]"
    if [[ $scheme == https ]]; then
      listen="listen:
  - address: 127.0.0.1:$port
    tls:
      certificates: [{ cert: $work/cert.pem, key: $work/key.pem }]
      min_version: \"1.3\"
      alpn: [http/1.1]
      session_tickets: true"
    fi
    cat >"$d/edge.yaml" <<YAML
$listen
workers: 1
cache: { memory: 64m }
upstreams:
  app: { servers: [127.0.0.1:$origin_port] }
route_classes:
  plain: { ttl: 1h }
routes:
  - { match: { path_prefix: / }, upstream: app, class: plain }
YAML
    echo "$edge --config $d/edge.yaml --log-level error"
  else
    local ssl="" listen_ssl=""
    if [[ $scheme == https ]]; then
      listen_ssl=" ssl"
      ssl="ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem; ssl_protocols TLSv1.3;
    ssl_session_tickets on; ssl_session_cache off; ssl_conf_command NumTickets 1;"
    fi
    local user=""
    [[ $(id -u) == 0 ]] && user="user $(id -un) $(id -gn);"
    cat >"$d/nginx.conf" <<CONF
$user
master_process off;
daemon off;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $d/tmp/cb; proxy_temp_path $d/tmp/p; fastcgi_temp_path $d/tmp/f;
  uwsgi_temp_path $d/tmp/u; scgi_temp_path $d/tmp/s;
  keepalive_requests 1000000;
  proxy_cache_path $d/cache levels=1:2 keys_zone=bench:16m max_size=64m inactive=1h use_temp_path=off;
  upstream origin { server 127.0.0.1:$origin_port; keepalive 64; }
  server {
    listen 127.0.0.1:$port$listen_ssl;
    $ssl
    location / {
      proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_cache bench; add_header X-Cache-Status \$upstream_cache_status always;
    }
  }
}
CONF
    echo "$nginx_bin -p $d -c $d/nginx.conf -e $d/error.log"
  fi
}

# Callgrind's total for `n` hits (after one priming request, which is a miss).
instructions() {
  local server=$1 scheme=$2 n=$3 port out cmd
  port=$(free_port)
  out="$work/callgrind.$server.$scheme.$n"
  cmd=$(config "$server" "$scheme" "$port")
  # shellcheck disable=SC2086
  valgrind --tool=callgrind --callgrind-out-file="$out" $cmd >/dev/null 2>&1 &
  local pid=$!
  local tries=0
  until curl -sk -o /dev/null "$scheme://127.0.0.1:$port/item"; do
    ((++tries < 600)) || { echo "$server ($scheme) did not start" >&2; kill "$pid"; exit 1; }
    sleep 0.1
  done
  python3 "$work/client.py" "$scheme" "$port" "$n"
  kill -TERM "$pid"
  wait "$pid" || true
  rm -rf "$work/$server-$scheme/cache"/*
  callgrind_annotate "$out" 2>/dev/null |
    awk '/PROGRAM TOTALS/ && !found { gsub(",", "", $1); print $1; found = 1 }'
}

echo "| server | instructions per hit, TLS 1.3 | instructions per hit, plain HTTP | TLS / plain |"
echo "|---|---:|---:|---:|"
for server in edge nginx; do
  declare -A per=()
  for scheme in https http; do
    a=$(instructions "$server" "$scheme" "$n1")
    b=$(instructions "$server" "$scheme" "$n2")
    per[$scheme]=$(( (b - a) / (n2 - n1) ))
  done
  label=$([[ $server == edge ]] && echo "edge-proxy" || "$nginx_bin" -v 2>&1 | sed 's|nginx version: nginx/|nginx |')
  echo "| $label | ${per[https]} | ${per[http]} | $(python3 -c "print('%.2f' % (${per[https]} / ${per[http]}))") |"
done
