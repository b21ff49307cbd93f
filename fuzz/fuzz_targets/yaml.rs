//! Fuzz target `yaml`: [`taskrun::fuzzing::yaml`] on arbitrary bytes (see docs/fuzzing.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| taskrun::fuzzing::yaml(data));
