#!/usr/bin/env bash
# Sets up everything the engine tests need, idempotently, on Debian (run as root):
#   - Docker engine (docker.io), started in the background; socket /var/run/docker.sock
#   - two registries on 127.0.0.1: :5000 open, :5001 with basic auth (user taskrun / taskrun-pass)
#   - a local busybox base image `taskrun-busybox:latest` (no Docker Hub needed), also pushed to
#     127.0.0.1:5000/busybox:latest
#   - `taskrun-docker-cli:latest` (= `docker:latest`): busybox with the docker CLI, for `cmd: docker …`
# State lives under ${TASKRUN_TEST_ENV:-/tmp/taskrun-test-env}.
set -euo pipefail

state=${TASKRUN_TEST_ENV:-/tmp/taskrun-test-env}
mkdir -p "$state"

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker-registry >/dev/null || need+=(docker-registry)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v htpasswd >/dev/null || need+=(apache2-utils)
command -v git >/dev/null || need+=(git)
if [ ${#need[@]} -gt 0 ]; then
  echo "test-env: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Docker engine.
if ! docker version >/dev/null 2>&1; then
  echo "test-env: starting dockerd"
  nohup dockerd --host unix:///var/run/docker.sock >"$state/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do
    docker version >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker version >/dev/null 2>&1 || { echo "test-env: dockerd did not start; see $state/dockerd.log" >&2; tail -20 "$state/dockerd.log" >&2; exit 1; }
fi

# Registries.
start_registry() { # name port [htpasswd]
  local name=$1 port=$2 auth=${3:-}
  if curl -fsS -o /dev/null -m 2 "http://127.0.0.1:$port/v2/" 2>/dev/null \
     || [ "$(curl -s -o /dev/null -w '%{http_code}' -m 2 "http://127.0.0.1:$port/v2/" 2>/dev/null)" = 401 ]; then
    return
  fi
  mkdir -p "$state/$name"
  {
    echo "version: 0.1"
    echo "log: {level: warn}"
    echo "storage: {filesystem: {rootdirectory: $state/$name/data}, delete: {enabled: true}}"
    echo "http: {addr: 127.0.0.1:$port}"
    if [ -n "$auth" ]; then
      echo "auth: {htpasswd: {realm: taskrun-test, path: $auth}}"
    fi
  } >"$state/$name/config.yml"
  echo "test-env: starting registry $name on 127.0.0.1:$port"
  nohup docker-registry serve "$state/$name/config.yml" >"$state/$name/log" 2>&1 &
  for _ in $(seq 1 40); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -m 2 "http://127.0.0.1:$port/v2/" 2>/dev/null || true)
    [ "$code" = 200 ] || [ "$code" = 401 ] && return
    sleep 0.25
  done
  echo "test-env: registry $name did not start; see $state/$name/log" >&2
  exit 1
}
command -v curl >/dev/null || { apt-get install -y -qq curl >/dev/null; }
start_registry open 5000
[ -f "$state/htpasswd" ] || htpasswd -Bbc "$state/htpasswd" taskrun taskrun-pass >/dev/null 2>&1
start_registry auth 5001 "$state/htpasswd"

# Base image made locally from busybox-static.
if ! docker image inspect taskrun-busybox:latest >/dev/null 2>&1; then
  echo "test-env: building taskrun-busybox:latest"
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/root"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"
  tar -C "$root" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' - taskrun-busybox:latest >/dev/null
  rm -rf "$root"
fi
# A docker CLI image, as ACR agents have `docker` preloaded: busybox plus this machine's docker
# CLI (static). Tagged `docker:latest` too, the name real task files use (`cmd: docker stop x`).
if ! docker image inspect taskrun-docker-cli:latest >/dev/null 2>&1; then
  echo "test-env: building taskrun-docker-cli:latest"
  cli=$(command -v docker)
  root=$(mktemp -d)
  printf 'FROM taskrun-busybox:latest\nCOPY docker /usr/local/bin/docker\nENV PATH=/usr/local/bin:/bin\nENTRYPOINT ["docker"]\n' >"$root/Dockerfile"
  cp "$cli" "$root/docker"
  DOCKER_BUILDKIT=0 docker build -q -t taskrun-docker-cli:latest "$root" >/dev/null
  rm -rf "$root"
fi
docker image inspect docker:latest >/dev/null 2>&1 || docker tag taskrun-docker-cli:latest docker:latest
if ! curl -fsS -m 2 -o /dev/null 2>/dev/null "http://127.0.0.1:5000/v2/busybox/manifests/latest" -H 'Accept: application/vnd.docker.distribution.manifest.v2+json'; then
  docker tag taskrun-busybox:latest 127.0.0.1:5000/busybox:latest
  docker push -q 127.0.0.1:5000/busybox:latest >/dev/null
fi
echo "test-env: ready (docker $(docker version --format '{{.Server.Version}}'), registries 127.0.0.1:5000 and 127.0.0.1:5001)"
