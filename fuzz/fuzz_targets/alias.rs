//! Fuzz target `alias`: [`taskrun::fuzzing::alias`] on arbitrary bytes (see docs/fuzzing.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| taskrun::fuzzing::alias(data));
