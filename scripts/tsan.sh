#!/usr/bin/env bash
# ThreadSanitizer pass: builds build-tsan (-DPROXY_TSAN=ON, RelWithDebInfo: TSan at -O0 is
# several times slower and finds the same races) and runs, with ctest, every unit test and the
# integration tests whose requests cross threads: workers sharing the store and the in-flight
# table (coalescing, stale refreshes, batch items, fields and safety variants on coalesced
# fetches), the main thread's Redis subscriber and admin API purging while workers fetch, the
# Brotli encoder on libuv's thread pool, and drain on SIGTERM. Extra arguments go to ctest.
#
# A report fails the run: a unit-test binary exits with TSan's exitcode (66), and the
# integration harness (tests/integration/lib/processes.mjs) fails the test file when the
# proxy printed "WARNING: ThreadSanitizer" on stderr, whatever its exit status.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${TSAN_BUILD_DIR:-build-tsan}
jobs=${TEST_JOBS:-2}

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROXY_TSAN=ON >/dev/null
cmake --build "$build" -j2

# halt_on_error=0: one run shows every race, not only the first; exitcode makes it count.
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=0 exitcode=66 second_deadlock_stack=1}

# Left out: one connection's bytes only, or the proxy's RSS (meaningless under TSan's shadow
# memory). Every other integration file runs, new ones included.
single_thread='cli|proxying|headers|errors|upstreams|streaming|cache_memory|cache_rfc9111|etag'
(cd "$build" && ctest --output-on-failure --timeout 600 -j"$jobs" \
  -E "^integration\.($single_thread)\$" "$@")
