#!/usr/bin/env bash
# The load scenario of the benchmark driver, under the name RESULTS.md quotes: the same options
# (bench/run load --help). See bench/README.md.
exec "$(dirname "${BASH_SOURCE[0]}")/run" load "$@"
