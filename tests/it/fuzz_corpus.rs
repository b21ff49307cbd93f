//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/`) and the inputs of every bug the
//! fuzzers found (`fuzz/regressions/<target>/`) through the fuzz targets' entry points
//! ([`taskrun::fuzzing`]), on stable Rust: the corpora act as regression tests without
//! cargo-fuzz or nightly. See `docs/fuzzing.md`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use taskrun::fuzzing::TARGETS;

/// A hang guard, not a speed goal: every input takes milliseconds, and the fuzzers run with
/// `-timeout=10`; debug builds on a loaded machine are far slower, so only a real hang (like the
/// cubic pattern matching found while fuzzing) gets near this.
const HANG: Duration = Duration::from_secs(120);

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of `dir`, sorted; none when it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// Runs every file under `fuzz/<kind>/<target>/` through its target; returns how many ran.
fn replay(kind: &str, name: &str, entry: fn(&[u8])) -> usize {
    let inputs = files(&fuzz_dir().join(kind).join(name));
    for path in &inputs {
        let data = std::fs::read(path).expect("read corpus file");
        let start = Instant::now();
        entry(&data);
        let took = start.elapsed();
        assert!(took < HANG, "{} took {took:?}", path.display());
    }
    inputs.len()
}

#[test]
fn every_target_has_a_corpus() {
    for (name, _) in TARGETS {
        let dir = fuzz_dir().join("corpus").join(name);
        assert!(
            !files(&dir).is_empty(),
            "no corpus for fuzz target `{name}` in {}",
            dir.display()
        );
        assert!(
            fuzz_dir()
                .join("fuzz_targets")
                .join(format!("{name}.rs"))
                .is_file(),
            "no fuzz target file for `{name}`"
        );
    }
}

/// One test per target, and `REPLAYED`: the names, checked against [`TARGETS`].
macro_rules! corpus_test {
    ($($name:ident),* $(,)?) => {
        const REPLAYED: &[&str] = &[$(stringify!($name)),*];
        $(
        #[test]
        fn $name() {
            let entry = TARGETS
                .iter()
                .find(|(n, _)| *n == stringify!($name))
                .map(|(_, f)| *f)
                .expect("target is listed in taskrun::fuzzing::TARGETS");
            let ran = replay("corpus", stringify!($name), entry)
                + replay("regressions", stringify!($name), entry);
            assert!(ran > 0, "no inputs for {}", stringify!($name));
        }
        )*
    };
}

corpus_test!(
    alias,
    render,
    yaml,
    cmdline,
    buildargs,
    dockerignore,
    dockerfile
);

#[test]
fn every_target_is_replayed() {
    let names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, REPLAYED);
}
