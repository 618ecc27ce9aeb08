#!/usr/bin/env bash
# The fields_batch scenario of the benchmark driver, under the name RESULTS.md quotes: the same options
# (bench/run fields_batch --help). See bench/README.md.
exec "$(dirname "${BASH_SOURCE[0]}")/run" fields_batch "$@"
