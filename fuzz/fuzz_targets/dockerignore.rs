//! Fuzz target `dockerignore`: [`taskrun::fuzzing::dockerignore`] on arbitrary bytes (see docs/fuzzing.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| taskrun::fuzzing::dockerignore(data));
