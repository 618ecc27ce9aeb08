#!/usr/bin/env bash
# Sets up (see setup.sh), then runs every test: unit and integration tests against the
# optimised build, again against an AddressSanitizer + UndefinedBehaviorSanitizer build, the
# unit tests and the cross-thread integration tests under ThreadSanitizer (scripts/tsan.sh),
# and every fuzz target for a few seconds over its corpus (scripts/fuzz.sh). Unit tests are
# GoogleTest; integration tests drive the real binary against a Node.js origin with curl and
# raw sockets. The first pass also builds and runs the container image (scripts/container-test.sh;
# reported as skipped where containers cannot run). SKIP_SANITIZERS=1 runs only the first
# pass; SKIP_FUZZ=1 leaves out the fuzzing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
jobs=${TEST_JOBS:-2}
started=$SECONDS

echo "== tests: optimised build"
(cd build && ctest --output-on-failure --timeout 600 -j"$jobs" "$@")

if [[ ${SKIP_SANITIZERS:-0} != 1 ]]; then
  echo "== tests: ASan + UBSan build"
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DPROXY_ASAN=ON >/dev/null
  cmake --build build-asan -j"$(nproc)"
  # A small quarantine keeps freed buffers from counting as resident memory, so the tests
  # that bound the proxy's memory still mean something under ASan.
  (
    export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=4:thread_local_quarantine_size_kb=64:detect_leaks=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    cd build-asan && ctest --output-on-failure --timeout 900 -j"$jobs" "$@"
  )

  echo "== tests: ThreadSanitizer build"
  scripts/tsan.sh "$@"
fi

if [[ ${SKIP_FUZZ:-0} != 1 ]]; then
  echo "== fuzzing: every target over its corpus"
  scripts/fuzz.sh
fi
echo "== every pass green in $((SECONDS - started)) s"
