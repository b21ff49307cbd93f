#!/bin/sh
# Runs inside the upstream image: the checks an update must pass before teams may use it.
set -e
echo "node $(node --version), BACKGROUND_COLOR=$BACKGROUND_COLOR"
node --version | grep -q '^v15\.'
if [ "$BACKGROUND_COLOR" = Red ]; then
    echo "validation failed: BACKGROUND_COLOR is Red" >&2
    exit 1
fi
echo "validation passed"
