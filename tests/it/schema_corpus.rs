//! The committed JSON Schema against the shared corpus of real task files
//! (`../shared/corpus/EXPECT.tsv`): every `accept` file, rendered with placeholders for the
//! values it expects, matches the schema; the `reject` files whose fault is the file's shape
//! (a string where a list belongs, `steps` as a mapping, a step without or with several kinds)
//! do not.

use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    assert!(
        dir.join("EXPECT.tsv").exists(),
        "the shared corpus is missing at {}",
        dir.display()
    );
    dir
}

fn rendered(file: &Path) -> Option<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_taskrun"))
        .args(["render", "--placeholders", "-f"])
        .arg(file)
        .env("NO_COLOR", "1")
        .output()
        .expect("taskrun render");
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).replace("[-]", "[\"-\"]");
    serde_saphyr::from_str(&text).ok()
}

#[test]
fn schema_accepts_the_accept_files_and_rejects_the_shape_errors() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/acr-task.schema.json"),
        )
        .expect("schema"),
    )
    .expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let dir = corpus();
    let expect = std::fs::read_to_string(dir.join("EXPECT.tsv")).expect("EXPECT.tsv");
    let (mut accepted, mut rejected) = (0, 0);
    let mut failures = Vec::new();
    for line in expect.lines().skip(1) {
        let mut cols = line.split('\t');
        let (Some(file), Some(verdict), reason) = (cols.next(), cols.next(), cols.next()) else {
            continue;
        };
        let reason = reason.unwrap_or_default();
        let path = dir.join(file);
        match verdict {
            "accept" => {
                let Some(doc) = rendered(&path) else {
                    failures.push(format!("accept {file}: does not render to YAML"));
                    continue;
                };
                let errors: Vec<String> =
                    validator.iter_errors(&doc).map(|e| e.to_string()).collect();
                if errors.is_empty() {
                    accepted += 1;
                } else {
                    failures.push(format!("accept {file}: {errors:?}"));
                }
            }
            "reject"
                if ["is a str", "is dict", "has none of", "has several"]
                    .iter()
                    .any(|k| reason.contains(k)) =>
            {
                match rendered(&path) {
                    Some(doc) if validator.is_valid(&doc) => {
                        failures.push(format!("reject {file} ({reason}): the schema accepts it"));
                    }
                    _ => rejected += 1,
                }
            }
            _ => {}
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        accepted >= 100 && rejected >= 10,
        "{accepted} accepted, {rejected} rejected"
    );
}
