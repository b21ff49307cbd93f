#!/usr/bin/env bash
# Scenario D: taskrun as one CI container step. Builds the taskrun image (static binary), then
# runs samples/quickstart in it, as a CI job would: the engine socket mounted, non-interactive
# output, the exit code of the run as the step's result, nothing left on the engine.
# Usage: samples/ci-step/run.sh [REGISTRY] [OUTPUT]   (defaults: 127.0.0.1:5000, plain)
set -euo pipefail
cd "$(dirname "$0")/../.."

registry=${1:-127.0.0.1:5000}
output=${2:-plain}
image=$(scripts/build-image.sh "taskrun-ci-step:$$")
trap 'docker rmi -f "$image" >/dev/null 2>&1 || true' EXIT

status=0
docker run --rm \
  -v /var/run/docker.sock:/var/run/docker.sock \
  -v "$PWD/samples/quickstart:/src:ro" -w /src \
  "$image" -f acr-task.yaml --registry "$registry" --output "$output" . || status=$?
echo "ci-step: taskrun exited with $status"
exit "$status"
