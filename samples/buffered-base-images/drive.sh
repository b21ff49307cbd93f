#!/bin/sh
# Scenario B end to end: creates the three tasks in $TASKRUN_HOME, runs them once, then publishes
# a good and a bad upstream update and lets `taskrun serve --once` follow the triggers.
#
#   TASKRUN_HOME=$(mktemp -d) samples/buffered-base-images/drive.sh [REGISTRY]
#
# REGISTRY (default 127.0.0.1:5000) may carry a namespace (127.0.0.1:5000/demo): the images are
# REGISTRY/upstream/node:15-alpine, REGISTRY/base-artifacts/node:15-alpine and
# REGISTRY/dev/hello-world. The sample directory is copied to a temporary directory first (node-public
# becomes a git repository there); set TASKRUN to use another binary than `taskrun`.
set -eu

: "${TASKRUN_HOME:?set TASKRUN_HOME to a new directory (the task store)}"
export TASKRUN_HOME
TASKRUN=${TASKRUN:-taskrun}
REGISTRY=${1:-127.0.0.1:5000}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/buffered-base-images.XXXXXX")
cp -R "$here/node-public" "$here/base-import-node" "$here/hello-world" "$work/"

say() { printf '\n== %s\n' "$*"; }
commit() {
    git -C "$work/node-public" -c user.name=upstream -c user.email=upstream@example.com \
        commit -q -a -m "$1"
}

say "node-public becomes a git repository (in $work)"
git -C "$work/node-public" init -q
git -C "$work/node-public" add -A
commit "node 15.0.0"

say "create the tasks"
"$TASKRUN" task create -n node-public -f "$work/node-public/acr-task.yaml" \
    -c "$work/node-public" -r "$REGISTRY" -o json >/dev/null
"$TASKRUN" task create -n base-import-node -f "$work/base-import-node/acr-task.yaml" \
    -c "$work/base-import-node" -r "$REGISTRY" -o json >/dev/null
"$TASKRUN" task create -n hello-world -f "$work/hello-world/acr-task.yaml" \
    -c "$work/hello-world" -r "$REGISTRY" --set "REGISTRY_FROM_URL=$REGISTRY/base-artifacts/" \
    -o json >/dev/null
"$TASKRUN" task list

say "first runs (base-image triggers follow only tasks that completed a run)"
for t in node-public base-import-node hello-world; do
    "$TASKRUN" task run -n "$t" --output plain
done

say "serve --once: records node-public's commit, nothing fires"
"$TASKRUN" serve --once

say "a good upstream update: node 15.0.1"
sed -i 's/^ENV NODE_VERSION .*/ENV NODE_VERSION 15.0.1/' "$work/node-public/Dockerfile"
commit "node 15.0.1"
"$TASKRUN" serve --once
docker run --rm "$REGISTRY/dev/hello-world:latest"

say "a bad upstream update: BACKGROUND_COLOR Red"
sed -i 's/^ENV BACKGROUND_COLOR .*/ENV BACKGROUND_COLOR Red/' "$work/node-public/Dockerfile"
commit "red"
"$TASKRUN" serve --once
docker run --rm "$REGISTRY/dev/hello-world:latest"

say "runs, newest first"
"$TASKRUN" task list-runs
