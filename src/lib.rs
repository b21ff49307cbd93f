//! taskrun: run Azure Container Registry Tasks files (`acr-task.yaml`) locally, as ACR Tasks would.
//!
//! The pipeline follows ACR's runner: read → version sniff → `$` aliases → Go-template render →
//! YAML parse → validate → plan → run. Each stage is one module:
//! [`render`] (text → text), [`syntax`] (text → spanned AST), [`validate`] (AST → [`model::Task`]),
//! [`plan`] (task → graph). [`ops`] is the library's entry (a request in, a typed outcome out),
//! [`service`] the local ACR Tasks service on top of it. [`report`] is the only module that
//! prints. [`cli`] and [`commands`] map the command line onto them.

pub mod cli;
pub mod commands;
pub mod context;
pub mod deps;
pub mod diag;
pub mod engine;
pub mod exec;
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod model;
pub mod ops;
pub(crate) mod plan;
pub(crate) mod quick;
pub mod registry;
pub(crate) mod render;
pub(crate) mod report;
pub(crate) mod runtime;
pub(crate) mod secrets;
pub mod service;
pub(crate) mod signals;
pub(crate) mod source;
pub mod store;
pub(crate) mod syntax;
pub(crate) mod validate;

use std::ffi::OsString;
use std::process::ExitCode;

/// Runs taskrun with the given arguments (including the program name) and returns the exit code.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    // One TLS provider for the whole process (registry client, and bollard on a TLS DOCKER_HOST).
    registry::digest::install_crypto_provider();
    let code = commands::execute(cli::parse(args));
    ExitCode::from(code.as_u8())
}
