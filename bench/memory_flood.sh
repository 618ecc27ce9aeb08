#!/usr/bin/env bash
# Memory under a flood of unique keys: the demo origin, edge-proxy with a small cache budget
# and bench/memory_flood.mjs sending GETs to unique cacheable URLs (JSON of a few hundred bytes
# to 64 KB). Prints one JSON line per run: idle RSS, peak RSS, the store's count and budget,
# and whether the peak stayed under 1.5 x budget + idle. See bench/RESULTS.md.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/load.sh
source "$BENCH_DIR/lib/load.sh"

usage() {
  cat <<'USAGE'
Usage: bench/memory_flood.sh [options]

Options:
  --bin PATH                 edge-proxy binary (default: $EDGE_PROXY_BIN, else build/edge-proxy)
  --memory SIZE              cache.memory (default 32m)
  --count N                  unique URLs requested (default 30000)
  --parallel N               keep-alive connections (default 32)
  --rounds R                 runs, one proxy each (default 1)
  --compress-on-store 0|1    store gzip at once and Brotli in the background (default 0)
USAGE
}

BIN=${EDGE_PROXY_BIN:-$REPO_ROOT/build/edge-proxy}
ROUNDS=1
pass=()
while (($# > 0)); do
  case $1 in
    --bin) BIN=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --memory | --count | --parallel | --compress-on-store) pass+=("$1" "$2"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

NODE=$(need_tool node nodejs)
[[ -x $BIN ]] || die "no edge-proxy binary at $BIN (build it, or pass --bin)"
log "edge-proxy: $BIN; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for ((round = 1; round <= ROUNDS; round++)); do
  "$NODE" "$BENCH_DIR/memory_flood.mjs" --bin "$BIN" "${pass[@]}"
done
