# wrk driver. Uses WRK_BIN, WRK_THREADS, WRK_CONNECTIONS and BENCH_LIB from the caller.
# shellcheck shell=bash disable=SC2034  # globals set here are read by the sourcing script

# Extra wrk arguments for every run and warm-up (e.g. -H 'Accept-Encoding: gzip'); a scenario
# may change them between runs (in run_hook for the measured runs). Empty by default.
if ! declare -p WRK_EXTRA_ARGS >/dev/null 2>&1; then
  declare -ga WRK_EXTRA_ARGS=()
fi

# _wrk OUTFILE ARGS...: run wrk in the background and wait for it, so that a signal to the
# script is handled at once (bash defers traps while a foreground child runs) and cleanup can
# stop wrk as well (BENCH_WRK_PID, see cleanup_children).
_wrk() {
  local out=$1 rc=0
  shift
  local runner=()
  if [[ ${BENCH_PIN:-0} == 1 ]]; then
    runner=(taskset -c 1)  # the servers have CPU 0 (see spawn)
  fi
  "${runner[@]}" "$WRK_BIN" "$@" >"$out" 2>&1 &
  BENCH_WRK_PID=$!
  wait "$BENCH_WRK_PID" || rc=$?
  BENCH_WRK_PID=
  return "$rc"
}

# run_wrk NAME DURATION OUTFILE: one wrk run against TARGET_URL[NAME] (with WRK_EXTRA_ARGS),
# raw output to OUTFILE.
# Sets RUN_RESULT to one tab-separated line: rps p50_ms p99_ms requests errors cpu_cores tcp_retrans
#   errors      = socket errors + non-2xx/3xx responses reported by wrk
#   cpu_cores   = CPU time the target's process group used during the run / wall time
#   tcp_retrans = TCP segments the host retransmitted during the run (see tcp_retrans_segs)
run_wrk() {
  local name=$1 duration=$2 out=$3 url=${TARGET_URL[$1]} pid=${TARGET_PID[$1]}
  local t0 t1 c0 c1 r0 r1 parsed hz
  check_alive "$pid"
  c0=$(cpu_ticks "$pid")
  r0=$(tcp_retrans_segs)
  t0=$(date +%s%N)
  _wrk "$out" -t "$WRK_THREADS" -c "$WRK_CONNECTIONS" -d "$duration" --latency \
    "${WRK_EXTRA_ARGS[@]}" "$url" ||
    die "wrk against $name failed: $(tail -n 5 "$out")"
  t1=$(date +%s%N)
  r1=$(tcp_retrans_segs)
  c1=$(cpu_ticks "$pid")
  check_alive "$pid"
  parsed=$(python3 "$BENCH_LIB/summarize.py" parse "$out") || die "could not parse wrk output $out"
  hz=$(getconf CLK_TCK)
  RUN_RESULT=$(printf '%s\t%s\t%d' "$parsed" "$(awk -v c=$((c1 - c0)) -v hz="$hz" -v ns=$((t1 - t0)) \
    'BEGIN { printf "%.2f", (c / hz) / (ns / 1e9) }')" "$((r1 - r0))")
}

# warmup NAME DURATION: short run whose numbers are discarded; fills the upstream keep-alive
# pools and lets allocators and the TCP stack settle before the first measured round.
warmup() {
  local name=$1 duration=$2
  _wrk "$BENCH_TMP/warmup-$name.txt" -t "$WRK_THREADS" -c "$WRK_CONNECTIONS" -d "$duration" \
    "${WRK_EXTRA_ARGS[@]}" "${TARGET_URL[$name]}" || die "warm-up wrk against $name failed"
  check_alive "${TARGET_PID[$name]}"
}

# warmup_all DURATION: warm up every target in TARGETS once (DURATION 0/0s skips).
warmup_all() {
  local duration=$1 t
  [[ $duration == 0 || $duration == 0[smh] ]] && return 0
  for t in "${TARGETS[@]}"; do
    log "warm-up ${TARGET_LABEL[$t]} ($duration)"
    warmup "$t" "$duration"
  done
}

# run_rounds ROUNDS DURATION RESULTS_TSV: ROUNDS rounds, each running wrk once against every
# target in TARGETS. The order rotates every round (with two targets: A,B then B,A, ...) so
# that no target always runs first or right after the other. Appends one row per run to
# RESULTS_TSV (columns as in summarize.py) and keeps the raw output in $BENCH_TMP/wrk/.
# If the caller defines a function run_hook, it is called as `run_hook before TARGET` and
# `run_hook after TARGET` around every measured run (e.g. to check an origin counter).
# RUN_PREFIX (optional) prefixes the raw output file names and the progress lines.
run_rounds() {
  local rounds=$1 duration=$2 results=$3 n=${#TARGETS[@]} r i t out
  local rps p50 p99 errs cpu retrans
  printf 'round\tposition\ttarget\trps\tp50_ms\tp99_ms\trequests\terrors\tcpu_cores\ttcp_retrans\n' >"$results"
  mkdir -p "$BENCH_TMP/wrk"
  for ((r = 1; r <= rounds; r++)); do
    for ((i = 0; i < n; i++)); do
      t=${TARGETS[$(((i + r - 1) % n))]}
      out=$BENCH_TMP/wrk/${RUN_PREFIX:+$RUN_PREFIX-}$t-round$r.txt
      if declare -F run_hook >/dev/null; then run_hook before "$t"; fi
      run_wrk "$t" "$duration" "$out"
      if declare -F run_hook >/dev/null; then run_hook after "$t"; fi
      printf '%d\t%d\t%s\t%s\n' "$r" "$((i + 1))" "$t" "$RUN_RESULT" >>"$results"
      IFS=$'\t' read -r rps p50 p99 _ errs cpu retrans <<<"$RUN_RESULT"
      log "${RUN_PREFIX:+$RUN_PREFIX: }$(printf 'round %d/%d  %-18s %10.0f req/s  p50 %7.3f ms  p99 %7.3f ms  cpu %s  errors %s  tcp retrans %s' \
        "$r" "$rounds" "${TARGET_LABEL[$t]}" "$rps" "$p50" "$p99" "$cpu" "$errs" "$retrans")"
      if ((errs != 0)); then
        warn "wrk reported $errs socket errors / non-2xx responses for ${TARGET_LABEL[$t]} (see $out)"
      fi
      sleep 1  # let closed connections drain before the next target starts
    done
  done
}
