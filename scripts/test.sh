#!/usr/bin/env bash
# The project's test command (README "Quick start"): sets up the Docker engine and the local
# registries the engine tests need (scripts/test-env.sh, idempotent), then formatting, lints and
# every test, including those against the real engine.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/test-env.sh
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --all-targets --locked
