//! One snapshot per diagnostic code: each fixture in `tests/fixtures/diagnostics/<code>.yaml`
//! is validated by the real binary and the report (code, message, file:line:column snippet,
//! help) is compared with `tests/snapshots/`. A `<code>.setup` file lists commands (one a line)
//! run first against the same store, for codes that need one (a finished run). Also checks that every code has a fixture and an
//! entry in `docs/errors.md`.

use std::path::Path;
use std::process::Command;

use taskrun::diag::Code;

const DIR: &str = "tests/fixtures/diagnostics";

/// The short name of a code (`taskrun::validate::when_unknown` → `when_unknown`).
fn short(code: Code) -> &'static str {
    code.as_str().rsplit("::").next().unwrap_or_default()
}

fn report(name: &str) -> (i32, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(DIR);
    let args_file = dir.join(format!("{name}.args"));
    let extra = std::fs::read_to_string(&args_file).unwrap_or_default();
    let mut args: Vec<String> = extra.split_whitespace().map(str::to_owned).collect();
    // An `.args` file may name another command (`scan …`, `run …`, `task …`); the default is
    // `validate`. The `context` codes fetch from the registries of scripts/test-env.sh
    // (127.0.0.1:5000 open, :5001 with basic auth) or a closed port.
    if !matches!(
        args.first().map(String::as_str),
        Some("scan" | "run" | "task")
    ) {
        if !args.iter().any(|a| a == "-f") {
            args.splice(0..0, ["-f".to_owned(), format!("{name}.yaml")]);
        }
        args.insert(0, "validate".to_owned());
    }
    // `task` commands use a fresh store, empty but for what the `.setup` commands made.
    let home = tempfile::tempdir().expect("temp dir");
    let setup = std::fs::read_to_string(dir.join(format!("{name}.setup"))).unwrap_or_default();
    for line in setup.lines().filter(|l| !l.trim().is_empty()) {
        let status = Command::new(env!("CARGO_BIN_EXE_taskrun"))
            .args(line.split_whitespace())
            .current_dir(&dir)
            .env("TASKRUN_HOME", home.path())
            .env_remove("TASKRUN_REGISTRY")
            .output()
            .expect("run a setup command")
            .status;
        assert!(status.code().is_some(), "{name}.setup: `{line}` was killed");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_taskrun"))
        .args(&args)
        .args(["--color", "never"])
        .current_dir(&dir)
        .env("TASKRUN_HOME", home.path())
        // No registry logins of the user's (the `auth` fixture needs anonymous access).
        .env("DOCKER_CONFIG", home.path())
        .env("NO_COLOR", "1")
        .env_remove("TASKRUN_REGISTRY")
        .env_remove("GITHUB_ACTIONS")
        // No docker CLI for the agent's shell (the `agent_shell` fixture).
        .env("TASKRUN_DOCKER_CLI", "/nonexistent/docker")
        .output()
        .expect("run taskrun");
    let text = String::from_utf8_lossy(&out.stderr).replace('\\', "/");
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn every_code_has_a_snapshot_with_its_position() {
    let mut missing = Vec::new();
    for &code in Code::ALL {
        let name = short(code);
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(DIR);
        if !dir.join(format!("{name}.yaml")).exists() && !dir.join(format!("{name}.args")).exists()
        {
            missing.push(name);
            continue;
        }
        let (exit, text) = report(name);
        assert!(
            text.contains(code.as_str()),
            "{name}: the report does not show {code}:\n{text}"
        );
        // A remote CONTEXT that cannot be reached or refuses the credentials is the
        // environment's failure (3).
        let environment = matches!(code, Code::ContextFetch | Code::ContextAuth);
        assert!(
            exit == 0 || exit == 2 || (environment && exit == 3),
            "{name}: exit code {exit} is neither 0 nor 2"
        );
        insta::assert_snapshot!(name, format!("exit code: {exit}\n{text}"));
    }
    assert!(missing.is_empty(), "codes without a fixture: {missing:?}");
}

#[test]
fn every_code_is_documented() {
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/errors.md"))
            .expect("docs/errors.md");
    let undocumented: Vec<&str> = Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !docs.contains(c))
        .collect();
    assert!(
        undocumented.is_empty(),
        "not in docs/errors.md: {undocumented:?}"
    );
}
