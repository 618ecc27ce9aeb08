# Run metadata and the final summary. Uses NGINX_BIN, WRK_BIN, VARNISHD_BIN and NODE_BIN (the
# last three when set), REPO_ROOT, BENCH_LIB, TARGETS and TARGET_LABEL from the caller.
# shellcheck shell=bash

# machine_meta: key=value lines describing the machine, tools and source revision.
machine_meta() {
  local commit
  commit=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
  if [[ -n $(git -C "$REPO_ROOT" status --porcelain -- proxy config CMakeLists.txt 2>/dev/null) ]]; then
    commit+=" + uncommitted proxy/config changes"
  fi
  echo "repo_root=$REPO_ROOT"
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "commit=$commit"
  echo "nproc=$(nproc)"
  echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
  echo "kernel=$(uname -r)"
  echo "nginx_version=$("$NGINX_BIN" -v 2>&1 | sed 's/^nginx version: //')"
  if [[ -n ${VARNISHD_BIN:-} ]]; then
    echo "varnish_version=$("$VARNISHD_BIN" -V 2>&1 | sed -n 's/^varnishd (\(varnish-[0-9.]*\).*/\1/p' | head -n1)"
  fi
  if [[ -n ${WRK_BIN:-} ]]; then
    echo "wrk_version=$("$WRK_BIN" -v 2>&1 | head -n1 | awk '{print $1, $2}')"
  fi
  if [[ -n ${NODE_BIN:-} ]]; then
    echo "node_version=node $("$NODE_BIN" --version 2>&1)"
  fi
  echo "targets=$(
    IFS=,
    echo "${TARGETS[*]}"
  )"
  local t
  for t in "${TARGETS[@]}"; do echo "label.$t=${TARGET_LABEL[$t]}"; done
}

# summarize RESULTS_TSV META_FILE BASELINE: print the summary table. BASELINE is a target
# name (every other target is compared with it) or pairs "A:B,C:D" (A with B, C with D).
# With MARKDOWN=1 the markdown block for RESULTS.md goes to stdout and the plain table to
# stderr.
summarize() {
  local results=$1 meta=$2 baseline=$3
  if ((${MARKDOWN:-0})); then
    python3 "$BENCH_LIB/summarize.py" summary "$results" "$meta" --baseline "$baseline" >&2
    echo >&2
    python3 "$BENCH_LIB/summarize.py" summary "$results" "$meta" --baseline "$baseline" --markdown
  else
    python3 "$BENCH_LIB/summarize.py" summary "$results" "$meta" --baseline "$baseline"
  fi
}
