#!/usr/bin/env bash
# Installs whatever the build, the tests and the benchmarks need (Debian packages only, and
# only the missing ones), then configures and builds into build/. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config clang libfuzzer-14-dev
  libuv1-dev node-llhttp libssl-dev libbrotli-dev zlib1g-dev libhiredis-dev
  libyaml-cpp-dev libsimdjson-dev googletest libgtest-dev libgmock-dev libbenchmark-dev
  nodejs node-ws openssl curl redis-server nginx varnish wrk iproute2 procps util-linux prometheus
  podman buildah mmdebstrap runc   # the container image and its test (scripts/container-test.sh)
)

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]} > 0)); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  # Packaged services (redis, nginx, varnish, prometheus) must not start on install: tests run their own.
  printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee /usr/sbin/policy-rc.d >/dev/null
  "${sudo_cmd[@]}" chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
  "${sudo_cmd[@]}" rm -f /usr/sbin/policy-rc.d
fi

build_type=${BUILD_TYPE:-RelWithDebInfo}
cmake -S . -B build -DCMAKE_BUILD_TYPE="$build_type" ${CMAKE_EXTRA_ARGS:-} >/dev/null
cmake --build build -j"$(nproc)"
echo "setup: built build/edge-proxy"
