#!/usr/bin/env bash
# Container test: builds the image from docker/Dockerfile with podman and proves it works.
#  1. The Debian base image (docker.io/library/debian:bookworm, the Dockerfile's FROM) is made
#     with mmdebstrap and `podman import` when missing; no registry is needed. It stays in
#     podman's storage, so later runs (and podman's layer cache) skip that part.
#  2. edge-proxy:latest and edge-proxy-demo-origin:latest are built (--pull=never).
#  3. The image's metadata: non-root user, STOPSIGNAL SIGTERM, the HEALTHCHECK command.
#  4. The demo origin and the proxy run as containers with --network=host on free loopback
#     ports (docker/edge.yaml with those ports): a MISS then a HIT; the proxy process runs as a
#     non-root uid; the healthcheck passes exactly when the admin API answers GET /healthz 200;
#     `podman stop` while a request is in flight lets it finish and the proxy exits 0 before
#     podman's timeout (drain + 5 s) would kill it.
#  5. The k8s sidecar Pod (docker/k8s/configmap.yaml + sidecar.yaml) runs under
#     `podman play kube` (host network, the same ports rewritten) with a redis-server: an entry
#     is cached, a PUBLISH on cache_invalidation purges it, the next request is a MISS.
# Everything it starts (containers, pod, redis-server, podman-default-kube-network if it made
# it) is removed on exit. Exit 0: passed; 77: SKIPPED (this machine cannot run containers:
# printed loudly, and ctest counts it as skipped); anything else: failed.
set -euo pipefail
cd "$(dirname "$0")/.."

base_image=docker.io/library/debian:bookworm
proxy_image=localhost/edge-proxy:latest
origin_image=localhost/edge-proxy-demo-origin:latest
drain_s=5   # client_timeouts.drain in docker/edge.yaml
started=$SECONDS

say() { echo "container-test: $*"; }
fail() { echo "container-test: FAILED: $*" >&2; exit 1; }
skip() {
  echo "################################################################################"
  echo "container-test: SKIPPED: $*"
  echo "################################################################################"
  exit 77
}

for tool in podman mmdebstrap runc curl redis-server redis-cli node; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/setup.sh installs it)"
done

work=$(mktemp -d)
run_id=edge-proxy-test-$$
redis_pid=
kube_network_existed=1
cleanup() {
  set +e
  if [[ -f $work/pod.yaml ]]; then podman play kube --down "$work/pod.yaml" >/dev/null 2>&1; fi
  podman rm -f -t 0 "$run_id-proxy" "$run_id-origin" >/dev/null 2>&1
  if ((kube_network_existed == 0)); then
    podman network rm -f podman-default-kube-network >/dev/null 2>&1
  fi
  if [[ -n $redis_pid ]]; then kill "$redis_pid" 2>/dev/null; wait "$redis_pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

# The two settings this kind of machine needs: runc with cgroupfs (crun 1.8 rejects a hybrid
# cgroup layout), and default ulimits no higher than the hard limits a container may inherit.
cat >"$work/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
EOF
export CONTAINERS_CONF=$work/containers.conf
podman info >"$work/info.log" 2>&1 || skip "podman cannot start here: $(tail -1 "$work/info.log")"
podman network exists podman-default-kube-network || kube_network_existed=0

# -- 1. the base image -----------------------------------------------------------------------
if ! podman image exists "$base_image"; then
  say "making $base_image with mmdebstrap (once; kept in podman's storage)"
  mirror=http://deb.debian.org/debian
  official_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin  # as Docker Hub's
  if ! mmdebstrap --variant=minbase --quiet bookworm - "deb $mirror bookworm main" \
      "deb $mirror bookworm-updates main" \
      "deb http://deb.debian.org/debian-security bookworm-security main" 2>"$work/base.log" |
      podman import --change "ENV PATH=$official_path" --change 'CMD ["bash"]' - "$base_image" \
        >>"$work/base.log" 2>&1; then
    cat "$work/base.log" >&2
    podman rmi -f "$base_image" >/dev/null 2>&1 || true  # not half an image
    skip "the Debian base image cannot be made here (see the mmdebstrap output above)"
  fi
fi
podman run --rm --network=host "$base_image" true >"$work/run.log" 2>&1 ||
  skip "podman cannot run a container here: $(tail -1 "$work/run.log")"

# -- 2. the images ---------------------------------------------------------------------------
build() {  # tag [podman build args...]
  local tag=$1
  shift
  say "building $tag"
  if ! podman build --pull=never --network=host --format docker -f docker/Dockerfile \
      -t "$tag" "$@" . >"$work/build.log" 2>&1; then
    tail -40 "$work/build.log" >&2
    fail "podman build of $tag"
  fi
}
revision=$(git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
build "$proxy_image" --build-arg EDGE_PROXY_REVISION="$revision"
build "$origin_image" --target demo-origin
size=$(podman image inspect --format '{{.Size}}' "$proxy_image")
say "image $proxy_image: $((size / 1000000)) MB"

# -- 3. the image's metadata -----------------------------------------------------------------
inspect() { podman image inspect --format "$1" "$proxy_image"; }
user=$(inspect '{{.Config.User}}')
[[ $user == 10001:10001 ]] || fail "the image's user is '$user'"
stop_signal=$(inspect '{{.Config.StopSignal}}')
[[ $stop_signal == SIGTERM ]] || fail "STOPSIGNAL is '$stop_signal'"
healthcheck=$(inspect '{{json .HealthCheck.Test}}')
[[ $healthcheck == '["CMD","/usr/local/bin/edge-proxy-healthcheck"]' ]] ||
  fail "HEALTHCHECK is $healthcheck"

# -- 4. one container on the host network ----------------------------------------------------
# Free loopback ports, held open together so that they differ, then released for the servers.
read -r proxy_port admin_port origin_port redis_port < <(node -e '
  const net = require("node:net");
  const servers = [0, 1, 2, 3].map(() => net.createServer().listen(0, "127.0.0.1"));
  Promise.all(servers.map((s) => new Promise((r) => s.on("listening", r)))).then(() => {
    console.log(servers.map((s) => s.address().port).join(" "));
    servers.forEach((s) => s.close());
  });')
token=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')

# docker/edge.yaml (or the ConfigMap holding it) on this run's loopback ports.
localise() {  # file
  sed -e "s/0\.0\.0\.0:8080/127.0.0.1:$proxy_port/" -e "s/0\.0\.0\.0:9091/127.0.0.1:$admin_port/" \
      -e "s/app:3000/127.0.0.1:$origin_port/" -e "s/redis:6379/127.0.0.1:$redis_port/" "$1"
}
localise docker/edge.yaml >"$work/edge.yaml"
for port in "$proxy_port" "$admin_port" "$origin_port" "$redis_port"; do
  grep -q "127\.0\.0\.1:$port\b" "$work/edge.yaml" || fail "docker/edge.yaml: an address moved"
done

redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
  --loglevel warning >"$work/redis.log" 2>&1 &
redis_pid=$!

# Waits until a command succeeds: the servers here start in the background.
wait_until() {  # what command...
  local what=$1
  shift
  for _ in $(seq 1200); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "$what did not happen within 120 s"
}
answers() { curl -fs -o /dev/null "$1"; }
x_cache() {  # path [curl args...]
  local path=$1
  shift
  curl -fs -D - -o /dev/null "$@" "http://127.0.0.1:$proxy_port$path" |
    tr -d '\r' | sed -n 's/^[Xx]-[Cc]ache: //p'
}
json() {  # javascript expression over the JSON on stdin, as `s`
  node -e "let t = ''; process.stdin.on('data', (d) => t += d)
    .on('end', () => { const s = JSON.parse(t); console.log($1); })"
}
admin_stats() {  # expression over the admin API's /stats
  curl -fs -H "Authorization: Bearer $token" "http://127.0.0.1:$admin_port/stats" | json "$1"
}

podman run -d --name "$run_id-origin" --network=host "$origin_image" \
  node /opt/demo/origin.mjs --host 127.0.0.1 --port "$origin_port" >/dev/null
wait_until "the demo origin answering" answers "http://127.0.0.1:$origin_port/health"
# --no-healthcheck: podman's timer for it needs systemd; the test runs the healthcheck itself.
podman run -d --name "$run_id-proxy" --network=host --no-healthcheck \
  -e EDGE_ADMIN_TOKEN="$token" \
  -v "$work/edge.yaml:/etc/edge-proxy/edge.yaml:ro" "$proxy_image" >/dev/null
wait_until "the proxy answering" answers "http://127.0.0.1:$proxy_port/health"

first=$(x_cache /api/v1/work-orders)
second=$(x_cache /api/v1/work-orders)
[[ $first == MISS && $second == HIT ]] || fail "X-Cache was '$first' then '$second', not MISS, HIT"
say "MISS then HIT through the container"

pid=$(podman inspect --format '{{.State.Pid}}' "$run_id-proxy")
command=$(cat "/proc/$pid/comm")
[[ $command == edge-proxy ]] || fail "the container's process is $command"
read -r _ real effective saved fs < <(grep '^Uid:' "/proc/$pid/status")
for uid in "$real" "$effective" "$saved" "$fs"; do
  ((uid != 0)) || fail "the proxy runs as root ($(grep '^Uid:' "/proc/$pid/status"))"
done
say "the proxy runs as uid $effective"

# The HEALTHCHECK passes exactly when GET /healthz answers 200 (the admin port is passed in).
healthz=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$admin_port/healthz")
health_rc=0
podman exec -e EDGE_ADMIN_PORT="$admin_port" "$run_id-proxy" \
  /usr/local/bin/edge-proxy-healthcheck || health_rc=$?
if [[ $healthz == 200 ]]; then
  ((health_rc == 0)) || fail "GET /healthz answers 200 but the healthcheck failed ($health_rc)"
else
  ((health_rc != 0)) || fail "GET /healthz answers $healthz but the healthcheck passed"
fi
say "healthcheck agrees with GET /healthz ($healthz)"

# podman stop with a request in flight: held at the origin until the proxy has stopped
# listening, then released; it completes, and the proxy exits 0 before podman's kill timeout.
curl -fs -o "$work/inflight.json" "http://127.0.0.1:$proxy_port/_test/cache/inflight?hold=stop" &
inflight_pid=$!
origin_requests() {  # the demo origin's count of requests for a path
  curl -fs "http://127.0.0.1:$origin_port/_test/stats" | json "s.byPath['$1'] ?? 0"
}
reached_origin() { [[ $(origin_requests /_test/cache/inflight) == 1 ]]; }
wait_until "the held request reaching the origin" reached_origin
podman stop -t $((drain_s + 5)) "$run_id-proxy" >/dev/null &
stop_pid=$!
refused() { ! curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$proxy_port/health"; }
wait_until "the proxy closing its listener" refused
curl -fs -X POST -o /dev/null "http://127.0.0.1:$origin_port/_test/cache-gate/stop"
wait "$inflight_pid" || fail "the request in flight during podman stop failed"
wait "$stop_pid" || fail "podman stop failed"
exit_code=$(podman inspect --format '{{.State.ExitCode}}' "$run_id-proxy")
[[ $exit_code == 0 ]] || fail "the proxy exited $exit_code on podman stop"
say "podman stop: the request in flight completed, exit 0"
podman rm -f "$run_id-proxy" "$run_id-origin" >/dev/null

# -- 5. the sidecar Pod ----------------------------------------------------------------------
# docker/k8s/configmap.yaml must hold docker/edge.yaml unchanged.
diff <(sed -n '/^  edge.yaml: |$/,$p' docker/k8s/configmap.yaml | tail -n +2 | sed 's/^    //') \
  docker/edge.yaml >"$work/configmap.diff" ||
  fail "docker/k8s/configmap.yaml differs from docker/edge.yaml: $(cat "$work/configmap.diff")"

# The Pod on the host network (which takes no port list), on this run's ports, with the token
# as a literal value.
{
  localise docker/k8s/configmap.yaml
  echo ---
  secret='valueFrom: { secretKeyRef: { name: edge-proxy-admin, key: token } }'
  sed -e '/^      ports:$/,/containerPort: 9091 }$/d' \
      -e "s/port: 9091 }/port: $admin_port }/" \
      -e "s/\"--port\", \"3000\"/\"--port\", \"$origin_port\"/" \
      -e "s/$secret/value: \"$token\"/" \
      -e "s/^\(  name: \)edge-proxy-sidecar$/\1$run_id/" docker/k8s/sidecar.yaml
} >"$work/pod.yaml"
grep -q "value: \"$token\"" "$work/pod.yaml" || fail "the token's place in sidecar.yaml moved"
podman play kube --network host "$work/pod.yaml" >"$work/play.log" 2>&1 ||
  fail "podman play kube: $(cat "$work/play.log")"
wait_until "the Pod's proxy answering" answers "http://127.0.0.1:$proxy_port/health"
subscribed() { [[ $(admin_stats 's.invalidation.subscribed') == true ]]; }
wait_until "the Pod's proxy subscribing to Redis" subscribed

org=(-H 'X-Org-Id: 42')
first=$(x_cache /api/v1/sites "${org[@]}")
second=$(x_cache /api/v1/sites "${org[@]}")
[[ $first == MISS && $second == HIT ]] || fail "in the Pod, X-Cache was '$first' then '$second'"
receivers=$(redis-cli -p "$redis_port" PUBLISH cache_invalidation 'org:42:list')
[[ $receivers == 1 ]] || fail "PUBLISH reached $receivers subscribers, not the proxy alone"
purged() { (($(admin_stats 's.invalidation.purged_entries') >= 1)); }
wait_until "the purge being applied" purged
after=$(x_cache /api/v1/sites "${org[@]}")
[[ $after == MISS ]] || fail "after PUBLISH the entry answered '$after', not MISS"
say "Pod: MISS, HIT, PUBLISH org:42:list, MISS"

say "passed in $((SECONDS - started)) s"
