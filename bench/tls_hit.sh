#!/usr/bin/env bash
# The tls_hit scenario of the benchmark driver: the same options (bench/run tls_hit --help). See bench/README.md.
exec "$(dirname "${BASH_SOURCE[0]}")/run" tls_hit "$@"
