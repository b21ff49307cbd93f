#!/usr/bin/env bash
# Builds the taskrun container image (docker/Dockerfile) from a statically linked release build.
# Usage: scripts/build-image.sh [TAG] [BASE]   (defaults: taskrun:local, taskrun-busybox:latest)
set -euo pipefail
cd "$(dirname "$0")/.."

tag=${1:-taskrun:local}
base=${2:-taskrun-busybox:latest}
target=$(rustc -vV | sed -n 's/^host: //p')

RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target "$target" >&2
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "target/$target/release/taskrun" "$ctx/taskrun"
cp docker/Dockerfile "$ctx/Dockerfile"
# The agent's shell needs a docker CLI in the image; only a static one runs on busybox.
if cli=$(command -v docker) && ! ldd "$cli" >/dev/null 2>&1; then
  cp "$cli" "$ctx/docker"
else
  echo "build-image: no static docker CLI found; cmd lines that need the agent's shell will be refused in the image" >&2
fi
docker build -q --build-arg "BASE=$base" -t "$tag" "$ctx" >/dev/null
echo "$tag"
