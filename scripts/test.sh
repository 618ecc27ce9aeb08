#!/usr/bin/env bash
# Sets up (see setup.sh), then runs every test: unit tests and the integration tests that
# drive the real binary against a Node.js origin with curl and raw sockets.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cd build
ctest --output-on-failure --timeout 600 -j"${TEST_JOBS:-2}" "$@"
