#!/usr/bin/env bash
# The tls_handshake scenario of the benchmark driver: the same options (bench/run tls_handshake --help). See bench/README.md.
exec "$(dirname "${BASH_SOURCE[0]}")/run" tls_handshake "$@"
