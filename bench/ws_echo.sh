#!/usr/bin/env bash
# The ws_echo scenario of the benchmark driver: the same options (bench/run ws_echo --help). See bench/README.md.
exec "$(dirname "${BASH_SOURCE[0]}")/run" ws_echo "$@"
