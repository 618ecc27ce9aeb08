# Shared helpers for the bench/ scripts: logging, tool checks, free ports, child processes.
# Sourced, not executed. Callers set BENCH_DIR (the bench/ directory) before sourcing.
# shellcheck shell=bash

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
warn() { printf '[bench] WARNING: %s\n' "$*" >&2; }
die() {
  printf '[bench] ERROR: %s\n' "$*" >&2
  exit 1
}

# need_tool NAME DEBIAN_PACKAGE [EXTRA_DIRS...]: print the resolved path of NAME, or die with
# the apt-get line that installs it. /usr/sbin is searched as well because nginx and varnishd
# live there and it is often not on a non-root PATH.
need_tool() {
  local name=$1 pkg=$2 path
  path=$(PATH="$PATH:/usr/sbin:/usr/local/sbin:/sbin" command -v "$name" 2>/dev/null) || true
  [[ -n $path ]] || die "'$name' not found; install it with: sudo apt-get install -y $pkg"
  printf '%s\n' "$path"
}

# free_ports N: print N distinct TCP ports on 127.0.0.1 that are free right now. All sockets
# are held open until every port is chosen so the N ports are distinct.
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

# ---- child processes -------------------------------------------------------------------------
# Every long-running child is started through spawn, in its own session/process group, so
# that cleanup can stop it together with anything it forked (nginx workers) and nothing else.

declare -ga BENCH_PIDS=()
declare -gA BENCH_PID_NAME=()
declare -gA BENCH_PID_LOG=()

# spawn NAME LOGFILE CMD...: start CMD in the background, stdout+stderr to LOGFILE.
# Sets SPAWNED_PID (also the process-group id).
# With BENCH_PIN=1 servers run on CPU 0 and the load generator on CPU 1 (see pin_cpus), so
# a faster server does not lose tail latency to the client competing for its core.
spawn() {
  local name=$1 logfile=$2
  shift 2
  if [[ ${BENCH_PIN:-0} == 1 ]]; then
    set -- taskset -c 0 "$@"
  fi
  setsid "$@" </dev/null >"$logfile" 2>&1 &
  SPAWNED_PID=$!
  BENCH_PIDS+=("$SPAWNED_PID")
  BENCH_PID_NAME[$SPAWNED_PID]=$name
  BENCH_PID_LOG[$SPAWNED_PID]=$logfile
}

# alive PID: true while the process exists (and is not a zombie waiting to be reaped).
alive() {
  local state
  [[ -r /proc/$1/stat ]] || return 1
  state=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ $state != Z ]]
}

# stop_pid PID: SIGTERM the process group, wait up to 5 s, then SIGKILL it.
stop_pid() {
  local pid=$1 i
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    warn "${BENCH_PID_NAME[$pid]:-pid $pid} did not exit after SIGTERM; sending SIGKILL"
  fi
  # Also catches group members (nginx workers) that outlived their parent.
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

BENCH_WRK_PID=

cleanup_children() {
  local pid
  if [[ -n $BENCH_WRK_PID ]]; then
    kill -TERM "$BENCH_WRK_PID" 2>/dev/null || true
    wait "$BENCH_WRK_PID" 2>/dev/null || true
    BENCH_WRK_PID=
  fi
  for pid in "${BENCH_PIDS[@]}"; do
    stop_pid "$pid"
  done
  BENCH_PIDS=()
}

# check_alive PID: die with the tail of the child's log if it has exited.
check_alive() {
  local pid=$1
  alive "$pid" && return 0
  local logfile=${BENCH_PID_LOG[$pid]:-}
  if [[ -n $logfile && -s $logfile ]]; then
    printf '[bench] --- last lines of %s ---\n' "$logfile" >&2
    tail -n 20 "$logfile" >&2
  fi
  die "${BENCH_PID_NAME[$pid]:-pid $pid} exited unexpectedly"
}

# wait_http URL PID [TIMEOUT_S]: poll URL until it answers any HTTP status (default 10 s).
wait_http() {
  local url=$1 pid=$2 timeout=${3:-10} deadline code
  deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    check_alive "$pid"
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" 2>/dev/null) || true
    [[ -n $code && $code != 000 ]] && return 0
    sleep 0.1
  done
  check_alive "$pid"
  die "${BENCH_PID_NAME[$pid]:-pid $pid} did not answer on $url within ${timeout}s (log: ${BENCH_PID_LOG[$pid]:-none})"
}

# verify_body NAME URL EXPECTED_FILE: the response must be 200 with exactly the expected bytes.
verify_body() {
  local name=$1 url=$2 expected=$3 got code
  got=$(mktemp "$BENCH_TMP/verify.XXXXXX")
  code=$(curl -s -o "$got" -w '%{http_code}' --max-time 5 "$url") || code=000
  if [[ $code != 200 ]]; then
    die "$name: GET $url returned HTTP $code, expected 200"
  fi
  if ! cmp -s "$got" "$expected"; then
    die "$name: GET $url returned $(wc -c <"$got") bytes that differ from the origin body ($(wc -c <"$expected") bytes); first bytes: $(head -c 120 "$got")"
  fi
  rm -f "$got"
}

# cpu_ticks PGID: total user+system clock ticks of every live process in the process group
# (threads included). Used to report how many cores a target burned during a run.
cpu_ticks() {
  local pgid=$1 f rest total=0
  local -a fields
  for f in /proc/[0-9]*/stat; do
    { rest=$(<"$f"); } 2>/dev/null || continue
    rest=${rest##*) }  # drop "pid (comm) ", comm may contain spaces
    read -r -a fields <<<"$rest"
    # fields[0]=state [1]=ppid [2]=pgrp ... [11]=utime [12]=stime
    [[ ${fields[2]} == "$pgid" ]] || continue
    total=$((total + fields[11] + fields[12]))
  done
  printf '%s\n' "$total"
}

# tcp_retrans_segs: TCP segments retransmitted so far by this host (network namespace), from
# /proc/net/snmp. Over loopback every retransmission means a stall of at least the minimum
# RTO (200 ms) or a tail-loss probe: a few of them dominate a run's p99. System-wide: other
# programs' traffic counts too.
tcp_retrans_segs() {
  awk '$1 == "Tcp:" { if (!n) { for (i = 2; i <= NF; i++) if ($i == "RetransSegs") col = i; n = 1 }
                      else { print $col; exit } }' /proc/net/snmp
}

# response_header FILE NAME: value of header NAME (case-insensitive) in a curl -D dump, without
# the trailing CR; empty if absent. With several responses in FILE, the last one counts.
response_header() {
  awk -v want="$(tr '[:upper:]' '[:lower:]' <<<"$2")" '
    /^HTTP\// { value = "" }
    {
      line = $0; sub(/\r$/, "", line)
      i = index(line, ":")
      if (i > 0 && tolower(substr(line, 1, i - 1)) == want) {
        value = substr(line, i + 1); sub(/^[ \t]+/, "", value)
      }
    }
    END { print value }' "$1"
}

# verify_hit NAME URL EXPECTED_FILE HEADER: the response must be 200 with exactly the expected
# bytes, and response header HEADER must say HIT (the answer came from the proxy's cache).
verify_hit() {
  local name=$1 url=$2 expected=$3 header=$4 got headers code value
  got=$(mktemp "$BENCH_TMP/verify.XXXXXX")
  headers=$(mktemp "$BENCH_TMP/verify-headers.XXXXXX")
  code=$(curl -s -D "$headers" -o "$got" -w '%{http_code}' --max-time 5 "$url") || code=000
  [[ $code == 200 ]] || die "$name: GET $url returned HTTP $code, expected 200"
  if ! cmp -s "$got" "$expected"; then
    die "$name: GET $url returned $(wc -c <"$got") bytes that differ from the origin body ($(wc -c <"$expected") bytes); first bytes: $(head -c 120 "$got")"
  fi
  value=$(response_header "$headers" "$header")
  if [[ ${value^^} != HIT ]]; then
    die "$name: GET $url was not served from the cache ($header: '${value:-<absent>}'); response headers:
$(tr -d '\r' <"$headers")"
  fi
  rm -f "$got" "$headers"
}

# fetch_n URL N: GET URL N times in a row, bodies discarded (fills a cache).
fetch_n() {
  local url=$1 n=$2 i
  for ((i = 0; i < n; i++)); do
    curl -s -o /dev/null --max-time 10 "$url" || die "GET $url failed"
  done
}

# verify_encoded_hit NAME URL EXPECTED_FILE ENCODING HEADER: GET URL with
# Accept-Encoding: ENCODING (gzip or br). The response must be 200 with Content-Encoding:
# ENCODING, its body must decode (curl --compressed) to exactly the expected bytes, and
# response header HEADER must say HIT. Sets ENCODED_BYTES (body bytes on the wire, still
# encoded) and ENCODED_LENGTH (the Content-Length header; empty when the body was chunked).
verify_encoded_hit() {
  local name=$1 url=$2 expected=$3 encoding=$4 header=$5 raw decoded headers code value
  raw=$(mktemp "$BENCH_TMP/verify.XXXXXX")
  decoded=$(mktemp "$BENCH_TMP/verify.XXXXXX")
  headers=$(mktemp "$BENCH_TMP/verify-headers.XXXXXX")
  # A proxy may make an encoded form in the background (edge-proxy's stored Brotli form) and
  # answer with another encoding meanwhile: give it up to 5 s to settle.
  local attempt
  for attempt in $(seq 50); do
    code=$(curl -s -D "$headers" -o "$raw" -w '%{http_code}' --max-time 5 \
      -H "Accept-Encoding: $encoding" "$url") || code=000
    value=$(response_header "$headers" content-encoding)
    [[ $code == 200 && ${value,,} == "$encoding" ]] && break
    sleep 0.1
  done
  [[ $code == 200 ]] || die "$name: GET $url (Accept-Encoding: $encoding) returned HTTP $code, expected 200"
  value=$(response_header "$headers" content-encoding)
  if [[ ${value,,} != "$encoding" ]]; then
    die "$name: GET $url (Accept-Encoding: $encoding) answered with Content-Encoding '${value:-<absent>}'; response headers:
$(tr -d '\r' <"$headers")"
  fi
  value=$(response_header "$headers" "$header")
  if [[ ${value^^} != HIT ]]; then
    die "$name: GET $url (Accept-Encoding: $encoding) was not served from the cache ($header: '${value:-<absent>}'); response headers:
$(tr -d '\r' <"$headers")"
  fi
  ENCODED_BYTES=$(wc -c <"$raw")
  ENCODED_LENGTH=$(response_header "$headers" content-length)
  if [[ -n $ENCODED_LENGTH && $ENCODED_LENGTH != "$ENCODED_BYTES" ]]; then
    die "$name: GET $url (Accept-Encoding: $encoding): Content-Length $ENCODED_LENGTH but $ENCODED_BYTES body bytes"
  fi
  # A second request decoded by curl: the encoded bytes must be the origin's body.
  code=$(curl -s --compressed -o "$decoded" -w '%{http_code}' --max-time 5 \
    -H "Accept-Encoding: $encoding" "$url") || code=000
  [[ $code == 200 ]] || die "$name: GET $url (Accept-Encoding: $encoding, decoded) returned HTTP $code"
  if ! cmp -s "$decoded" "$expected"; then
    die "$name: GET $url (Accept-Encoding: $encoding) decodes to $(wc -c <"$decoded") bytes that differ from the origin body ($(wc -c <"$expected") bytes); first bytes: $(head -c 120 "$decoded")"
  fi
  rm -f "$raw" "$decoded" "$headers"
}

# bench_start SCRIPT: sets EDGE_BIN (from EDGE_PROXY_BIN, default build/edge-proxy), the exact
# command reproducible from the repository root (COMMAND_LINE, from ORIG_ARGS), and a run
# directory BENCH_TMP that is removed on exit unless KEEP=1 or the run failed. A script that
# starts children of its own defines bench_on_exit to stop them first.
bench_start() {
  local script=$1
  EDGE_BIN=${EDGE_PROXY_BIN:-$REPO_ROOT/build/edge-proxy}
  [[ $EDGE_BIN == /* ]] || EDGE_BIN=$REPO_ROOT/$EDGE_BIN
  if [[ ! -x $EDGE_BIN ]]; then
    die "edge-proxy binary not found at $EDGE_BIN; build it with
    cmake -S $REPO_ROOT -B $REPO_ROOT/build -DCMAKE_BUILD_TYPE=Release && cmake --build $REPO_ROOT/build --target edge-proxy -j\$(nproc)
  or point EDGE_PROXY_BIN at an existing binary"
  fi
  # An older binary to measure in the same interleaved rounds (before/after a change).
  EDGE_BASELINE_BIN=${EDGE_PROXY_BASELINE_BIN:-}
  if [[ -n $EDGE_BASELINE_BIN ]]; then
    [[ $EDGE_BASELINE_BIN == /* ]] || EDGE_BASELINE_BIN=$REPO_ROOT/$EDGE_BASELINE_BIN
    [[ -x $EDGE_BASELINE_BIN ]] || die "EDGE_PROXY_BASELINE_BIN: no binary at $EDGE_BASELINE_BIN"
  fi
  COMMAND_LINE=""
  [[ -n ${EDGE_PROXY_BIN:-} ]] && COMMAND_LINE+="EDGE_PROXY_BIN=$(printf '%q' "$EDGE_PROXY_BIN") "
  [[ -n $EDGE_BASELINE_BIN ]] &&
    COMMAND_LINE+="EDGE_PROXY_BASELINE_BIN=$(printf '%q' "$EDGE_PROXY_BASELINE_BIN") "
  COMMAND_LINE+="bench/$script.sh"
  ((${#ORIG_ARGS[@]})) && COMMAND_LINE+=" $(printf '%q ' "${ORIG_ARGS[@]}")"
  COMMAND_LINE=${COMMAND_LINE% }
  BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/edge-bench.XXXXXX")
  trap _bench_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

_bench_exit() {
  local rc=$?
  if declare -F bench_on_exit >/dev/null; then
    bench_on_exit
  fi
  cleanup_children
  if ((KEEP)) || ((rc != 0)); then
    log "run directory kept: $BENCH_TMP"
  else
    rm -rf "$BENCH_TMP"
  fi
  exit "$rc"
}

# ---- option checks shared by the scripts -------------------------------------------------------
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
# "10" -> "10s"; anything else as given.
norm_duration() { if is_uint "$1"; then echo "${1}s"; else echo "$1"; fi; }

# require_positive flag:VAR ...: each VAR must hold an integer > 0, else --flag is refused.
require_positive() {
  local v flag var
  for v in "$@"; do
    flag=${v%%:*} var=${v#*:}
    if ! is_uint "${!var}" || ((${!var} == 0)); then
      die "--$flag must be a positive integer (got '${!var}')"
    fi
  done
}

# check_wrk_options: the wrk settings every load script takes (--rounds, --connections,
# --threads, --workers, --duration, --warmup); normalises DURATION and WARMUP ("10" -> "10s").
check_wrk_options() {
  require_positive rounds:ROUNDS connections:WRK_CONNECTIONS threads:WRK_THREADS workers:WORKERS
  DURATION=$(norm_duration "$DURATION")
  WARMUP=$(norm_duration "$WARMUP")
  [[ $DURATION =~ ^[0-9]+[smh]$ ]] || die "--duration must look like 10s, 2m or 1h (got '$DURATION')"
  [[ $WARMUP =~ ^[0-9]+[smh]$ ]] || die "--warmup must look like 2s (got '$WARMUP')"
  ((WRK_CONNECTIONS >= WRK_THREADS)) || die "--connections must be >= --threads"
}
