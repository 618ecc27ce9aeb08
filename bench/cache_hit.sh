#!/usr/bin/env bash
# The cache_hit scenario of the benchmark driver, under the name RESULTS.md quotes: the same options
# (bench/run cache_hit --help). See bench/README.md.
exec "$(dirname "${BASH_SOURCE[0]}")/run" cache_hit "$@"
