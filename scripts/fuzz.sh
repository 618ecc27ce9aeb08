#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz into build-fuzz/ (clang) and runs each over its
# seed corpus and dictionary for FUZZ_SECONDS seconds (default 8: the whole set in under three
# minutes). Fails on any crash, leak, timeout or property violation; the input that did it is
# saved under build-fuzz/artifacts/<target>/. New inputs go to a scratch directory, never into
# tests/fuzz/corpus. Installs nothing: scripts/setup.sh installs clang and libfuzzer-14-dev.
#
#   scripts/fuzz.sh                     every target, FUZZ_SECONDS each
#   scripts/fuzz.sh request_parser      one target (or several)
#   scripts/fuzz.sh --long              600 s per target (same as FUZZ_SECONDS=600)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-8}
targets=()
for arg in "$@"; do
  case "$arg" in
    --long) seconds=${FUZZ_SECONDS_LONG:-600} ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) targets+=("${arg%_fuzz}") ;;
  esac
done

# Per target: dictionary and the longest input worth trying (-max_len).
declare -A dict=(
  [request_parser]=http [response_parser]=http [field_selection]=fields
  [projection]=projection [batch_request]=json [invalidation_message]=invalidation
  [cache_headers]=cache_control [conditional_headers]=conditional [cache_key]=cache_key
  [tags]=tags [config_loader]=yaml [request_target]=cache_key [access_log_line]=http
)
declare -A max_len=(
  [request_parser]=4096 [response_parser]=4096 [field_selection]=512 [projection]=4096
  [batch_request]=4096 [invalidation_message]=2048 [cache_headers]=1024
  [conditional_headers]=512 [cache_key]=1024 [tags]=1024 [config_loader]=16384
  [request_target]=1024 [access_log_line]=1024
)
if ((${#targets[@]} == 0)); then
  for source in tests/fuzz/*_fuzz.cc; do
    name=$(basename "$source" .cc)
    targets+=("${name%_fuzz}")
  done
fi
for target in "${targets[@]}"; do
  if [[ ! -f tests/fuzz/${target}_fuzz.cc ]]; then
    echo "fuzz: no target \"$target\" (tests/fuzz/${target}_fuzz.cc)" >&2
    exit 2
  fi
done

CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S . -B build-fuzz -DPROXY_FUZZ=ON \
  -DPROXY_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz --target fuzz_targets -j"${FUZZ_BUILD_JOBS:-2}"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/edge-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
failed=()
printf '%-22s %6s %12s  %s\n' target seconds executions result
for target in "${targets[@]}"; do
  artifacts=build-fuzz/artifacts/$target
  mkdir -p "$scratch/$target" "$artifacts"
  binary=build-fuzz/fuzz/${target}_fuzz
  problems=()
  # Regression inputs (crash-*) replay whole first: the corpus run truncates them to -max_len.
  mapfile -t regressions < <(find "tests/fuzz/corpus/$target" -name 'crash-*' -type f | sort)
  if ((${#regressions[@]} > 0)); then
    if ! "$binary" "${regressions[@]}" -timeout=10 -rss_limit_mb=2048 \
         >"$artifacts/replay.log" 2>&1; then
      problems+=("$artifacts/replay.log")
    fi
  fi
  # The scratch directory comes first: libFuzzer writes new inputs into the first one only.
  if ! "$binary" "$scratch/$target" "tests/fuzz/corpus/$target" \
       -dict="tests/fuzz/dict/${dict[$target]:-json}.dict" -max_len="${max_len[$target]:-4096}" \
       -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$artifacts/" >"$artifacts/last-run.log" 2>&1; then
    problems+=("$artifacts/last-run.log")
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$artifacts/last-run.log" | tail -1)
  result=ok
  if ((${#problems[@]} > 0)); then
    result="FAILED, see ${problems[*]}"
    failed+=("$target")
  fi
  printf '%-22s %6s %12s  %s\n' "$target" "$seconds" "${execs:-?}" "$result"
  for log in "${problems[@]}"; do
    grep -E '^==[0-9]+==ERROR|^SUMMARY|fuzz property violated|Test unit written|^Running: ' \
      "$log" | head -8 | sed 's/^/    /' || true
  done
done

if ((${#failed[@]} > 0)); then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
  echo "fuzz: reproduce with build-fuzz/fuzz/<target>_fuzz <artifact file>" >&2
  exit 1
fi
echo "fuzz: every target ran ${seconds}s without a finding"
