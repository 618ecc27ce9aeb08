#!/usr/bin/env bash
# The compressed_hit scenario of the benchmark driver, under the name RESULTS.md quotes: the same options
# (bench/run compressed_hit --help). See bench/README.md.
exec "$(dirname "${BASH_SOURCE[0]}")/run" compressed_hit "$@"
