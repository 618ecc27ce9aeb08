#!/bin/bash
# The image's HEALTHCHECK: GET /healthz on the admin listener (EDGE_ADMIN_PORT, default 9091)
# answers 200. The runtime image carries no HTTP client; bash's /dev/tcp is enough for this.
set -u
port=${EDGE_ADMIN_PORT:-9091}
exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
IFS= read -r -t 3 status <&3 || exit 1
[[ $status == "HTTP/1.1 200 "* ]]
