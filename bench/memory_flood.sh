#!/usr/bin/env bash
# The memory_flood scenario of the benchmark driver, under the name RESULTS.md quotes: the same options
# (bench/run memory_flood --help). See bench/README.md.
exec "$(dirname "${BASH_SOURCE[0]}")/run" memory_flood "$@"
