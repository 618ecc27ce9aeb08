#!/usr/bin/env bash
# Instructions per cache hit, counted by callgrind: a deterministic cost figure for the hit
# path that the load on a shared machine cannot blur (wall-clock benchmarks: bench/run).
#
#   bench/hit_instructions.sh [--hits N1,N2] [--encoding gzip|br] BINARY...
#
# For each binary: one worker with a 1 KB JSON document cached (class ttl 1h), N1 and then N2
# sequential keep-alive hits under callgrind; (total(N2) - total(N1)) / (N2 - N1) cancels
# start-up and the first miss. User-space instructions only (syscalls are not counted).
set -euo pipefail
hits="500,2500"
encoding=""
binaries=()
while (($#)); do
  case $1 in
    --hits) hits=$2; shift 2 ;;
    --encoding) encoding=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) binaries+=("$1"); shift ;;
  esac
done
((${#binaries[@]} > 0)) || { echo "usage: $0 [--hits N1,N2] [--encoding gzip|br] BINARY..." >&2; exit 2; }
IFS=, read -r n1 n2 <<<"$hits"
command -v valgrind >/dev/null || { echo "$0: needs valgrind (apt-get install valgrind)" >&2; exit 2; }

work=$(mktemp -d)
origin_pid=""
cleanup() { [[ -n $origin_pid ]] && kill "$origin_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

cat >"$work/origin.mjs" <<'JS'
import http from 'node:http';
const body = JSON.stringify({ items: 'x'.repeat(1000) });
http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=3600',
    'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}).listen(Number(process.argv[2]), '127.0.0.1');
JS
cat >"$work/client.mjs" <<'JS'
// N sequential keep-alive GETs of one URL; exits non-zero unless every one is a HIT.
import http from 'node:http';
const [port, n, encoding] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const headers = encoding ? { 'Accept-Encoding': encoding } : {};
const get = () => new Promise((resolve, reject) => {
  http.get({ host: '127.0.0.1', port, path: '/item', agent, headers }, (res) => {
    res.resume();
    res.on('end', () => resolve(res.headers['x-cache']));
  }).on('error', reject);
});
let hits = 0;
for (let i = 0; i < n; ++i) if ((await get()) === 'HIT') ++hits;
agent.destroy();
if (hits !== n) { console.error(`only ${hits} of ${n} were hits`); process.exit(1); }
JS

origin_port=$(free_port)
node "$work/origin.mjs" "$origin_port" & origin_pid=$!

# Callgrind's total for `n` hits (after one priming request, which is a miss).
instructions() {
  local binary=$1 n=$2 port out
  port=$(free_port)
  out="$work/callgrind.$n"
  cat >"$work/edge.yaml" <<YAML
listen: [127.0.0.1:$port]
workers: 1
upstreams:
  app: { servers: [127.0.0.1:$origin_port] }
route_classes:
  plain: { ttl: 1h }
routes:
  - { match: { path_prefix: / }, upstream: app, class: plain }
YAML
  valgrind --tool=callgrind --callgrind-out-file="$out" "$binary" --config "$work/edge.yaml" \
    --log-level error >/dev/null 2>&1 &
  local pid=$!
  local tries=0
  until curl -s -o /dev/null "http://127.0.0.1:$port/item"; do
    ((++tries < 300)) || { echo "$binary did not start" >&2; kill "$pid"; exit 1; }
    sleep 0.1
  done
  node "$work/client.mjs" "$port" "$n" "$encoding"
  kill -TERM "$pid"
  wait "$pid" || true
  # awk reads to the end: stopping early would fail the pipeline (SIGPIPE) under pipefail.
  callgrind_annotate "$out" 2>/dev/null |
    awk '/PROGRAM TOTALS/ && !found { gsub(",", "", $1); print $1; found = 1 }'
}

echo "| binary | instructions per hit (${encoding:-identity}, 1 KB JSON) |"
echo "|---|---:|"
for binary in "${binaries[@]}"; do
  a=$(instructions "$binary" "$n1")
  b=$(instructions "$binary" "$n2")
  echo "| $binary | $(( (b - a) / (n2 - n1) )) |"
done
