#!/usr/bin/env bash
# Sets up (see setup.sh), then runs every test twice: against the optimised build, and
# against an AddressSanitizer + UndefinedBehaviorSanitizer build. Unit tests are GoogleTest;
# integration tests drive the real binary against a Node.js origin with curl and raw sockets.
# SKIP_SANITIZERS=1 runs only the first pass.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
jobs=${TEST_JOBS:-2}

echo "== tests: optimised build"
(cd build && ctest --output-on-failure --timeout 600 -j"$jobs" "$@")

if [[ ${SKIP_SANITIZERS:-0} != 1 ]]; then
  echo "== tests: ASan + UBSan build"
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DPROXY_ASAN=ON >/dev/null
  cmake --build build-asan -j"$(nproc)"
  # A small quarantine keeps freed buffers from counting as resident memory, so the tests
  # that bound the proxy's memory still mean something under ASan.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=4:thread_local_quarantine_size_kb=64:detect_leaks=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  (cd build-asan && ctest --output-on-failure --timeout 900 -j"$jobs" "$@")
fi
