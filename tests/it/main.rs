//! The integration tests, as one test binary (one link instead of twenty; see docs/ci.md):
//! each module is one concern, driving the real binary, the Docker engine and the local
//! registries of `scripts/test-env.sh`. Engine tests hold the lock of `common::need_docker`
//! (shared) or `common::need_docker_alone` (exclusive). `tests/faults.rs` (which stops the
//! engine), `tests/load.rs` and `tests/cli_reference.rs` (which sets an environment variable)
//! stay binaries of their own.

mod common;

mod cli;
mod contexts;
mod deps_engine;
mod diagnostics;
mod docs_commands;
mod engine_docker;
mod fuzz_corpus;
mod gate;
mod image;
mod import;
mod registry_digest;
mod remote_context;
mod run_buildkit;
mod run_engine;
mod run_timeout;
mod samples;
mod scenario_b;
mod schema_corpus;
mod secrets;
mod serve;
mod serve_triggers;
