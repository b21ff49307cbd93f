#!/usr/bin/env bash
# Quick start: on a fresh Debian machine (as root, with a Rust toolchain), set up a local Docker
# engine and registry, build taskrun, and run samples/quickstart end to end: build an image from
# a locally made base image, test it, and push it to the registry at 127.0.0.1:5000. Offline.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/test-env.sh
cargo build --locked --quiet
./target/debug/taskrun -f samples/quickstart/acr-task.yaml --registry 127.0.0.1:5000 samples/quickstart
