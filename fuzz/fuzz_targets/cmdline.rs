//! Fuzz target `cmdline`: [`taskrun::fuzzing::cmdline`] on arbitrary bytes (see docs/fuzzing.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| taskrun::fuzzing::cmdline(data));
