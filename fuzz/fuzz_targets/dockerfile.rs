//! Fuzz target `dockerfile`: [`taskrun::fuzzing::dockerfile`] on arbitrary bytes (see docs/fuzzing.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| taskrun::fuzzing::dockerfile(data));
