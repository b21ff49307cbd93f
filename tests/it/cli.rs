//! The command line without an engine: exit codes, `schema` (and the committed copy), samples
//! validating with taskrun and against the schema, `render`, and `graph` formats.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn taskrun(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taskrun"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("TASKRUN_REGISTRY")
        .output()
        .expect("run taskrun")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn samples() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root().join("samples")).expect("samples/") {
        let dir = entry.expect("entry").path();
        let task = dir.join("acr-task.yaml");
        if task.exists() {
            out.push(task);
        }
    }
    out.sort();
    assert!(out.len() >= 5, "expected the samples, found {out:?}");
    out
}

/// Flags a sample needs to render as its README runs it.
fn sample_flags(task: &Path) -> Vec<&'static str> {
    let name = task
        .parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str());
    match name {
        Some("quickstart") => vec!["--registry", "127.0.0.1:5000"],
        Some("secrets-volumes") => vec!["--secret", "apikey=s3cr3t-value"],
        Some("buildkit-secrets") => vec!["--secret", "npmtoken=s3cr3t-npm-token"],
        _ => vec![],
    }
}

#[test]
fn committed_schema_is_current() {
    let out = taskrun(&["schema"]);
    assert!(out.status.success());
    let committed = std::fs::read_to_string(root().join("schemas/acr-task.schema.json"))
        .expect("schemas/acr-task.schema.json");
    assert_eq!(
        stdout(&out),
        committed,
        "schemas/acr-task.schema.json is stale: run `taskrun schema > schemas/acr-task.schema.json`"
    );
}

#[test]
fn samples_validate_cleanly() {
    for task in samples() {
        let path = task.to_string_lossy().into_owned();
        let mut args = vec!["validate", "-f", path.as_str()];
        args.extend(sample_flags(&task));
        let out = taskrun(&args);
        assert!(out.status.success(), "{path}: {}", stderr(&out));
        assert!(stderr(&out).contains("valid"), "{path}: {}", stderr(&out));
    }
}

#[test]
fn samples_match_the_schema_after_rendering() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schemas/acr-task.schema.json")).expect("schema"),
    )
    .expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    for task in samples() {
        let path = task.to_string_lossy().into_owned();
        let mut args = vec!["render", "-f", path.as_str()];
        args.extend(sample_flags(&task));
        let out = taskrun(&args);
        assert!(out.status.success(), "{path}: {}", stderr(&out));
        // A masked secret (`***`, also its base64 in a volume entry) is not a YAML scalar.
        let text = stdout(&out).replace("***", "masked");
        let doc: serde_json::Value =
            serde_saphyr::from_str(&text).expect("rendered sample is YAML");
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{path}: {errors:?}");
    }
}

#[test]
fn schema_rejects_shape_errors() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schemas/acr-task.schema.json")).expect("schema"),
    )
    .expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    for bad in [
        "steps: {a: 1}",
        "steps: [plain-string]",
        "steps: [{push: img}]",
        "steps: [{cmd: x, when: a}]",
        "steps: [{env: [A=1]}]",
        "steps: [{cmd: x, build: y}]",
    ] {
        let doc: serde_json::Value = serde_saphyr::from_str(bad).expect("yaml");
        assert!(!validator.is_valid(&doc), "schema accepted {bad}");
    }
    let good: serde_json::Value =
        serde_saphyr::from_str("steps: [{cmd: x, when: ['-'], privileged: yes}]").expect("yaml");
    assert!(validator.is_valid(&good));
}

#[test]
fn exit_codes_for_bad_input() {
    // A missing file, a bad flag value, an invalid task: all exit 2 with a diagnostic.
    let out = taskrun(&["validate", "-f", "does-not-exist.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("taskrun::input::read"));
    let out = taskrun(&[
        "validate",
        "-f",
        "tests/fixtures/diagnostics/when_unknown.yaml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = taskrun(&["validate", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    // `run` checks the file before touching the engine.
    let out = taskrun(&["run", "-f", "tests/fixtures/diagnostics/yaml.yaml"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn render_applies_aliases_templates_and_angle_delims() {
    let out = taskrun(&[
        "render",
        "-f",
        "samples/angle-delims/acr-task.yaml",
        "--run-id",
        "demo1",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("echo 'run demo1 keeps {{.Id}} as typed'"));
    let out = taskrun(&[
        "render",
        "-f",
        "samples/aliases/acr-task.yaml",
        "--run-id",
        "demo1",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("run demo1 says hello-from-an-alias-file"),
        "{text}"
    );
    assert!(text.contains("HOME is $HOME"), "{text}");
}

#[test]
fn secrets_never_reach_render_or_validate_output() {
    let out = taskrun(&[
        "render",
        "-f",
        "samples/secrets-volumes/acr-task.yaml",
        "--secret",
        "apikey=very-secret-value",
        "--set-secret",
        "other=another-secret",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!all.contains("very-secret-value"));
    // The base64 of the value is in the rendered text: it is data, not the secret text itself.
    assert!(!all.contains("another-secret"));
}

#[test]
fn graph_formats() {
    let f = "samples/parallel/acr-task.yaml";
    let text = stdout(&taskrun(&["graph", "-f", f]));
    assert!(
        text.contains("package") && text.contains("after lint, unit"),
        "{text}"
    );
    let dot = stdout(&taskrun(&["graph", "-f", f, "--format", "dot"]));
    assert!(
        dot.starts_with("digraph task {") && dot.contains("s0 -> s2;"),
        "{dot}"
    );
    let mermaid = stdout(&taskrun(&["graph", "-f", f, "--format", "mermaid"]));
    assert!(
        mermaid.starts_with("flowchart LR") && mermaid.contains("s2 --> s3"),
        "{mermaid}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&taskrun(&["graph", "-f", f, "--format", "json"])))
            .expect("json");
    assert_eq!(
        json["steps"][2]["after"],
        serde_json::json!(["lint", "unit"])
    );
    assert_eq!(json["steps"][3]["after"], serde_json::json!(["package"]));
}

#[test]
fn validate_says_which_delimiters_it_used() {
    let out = taskrun(&["validate", "-f", "samples/angle-delims/acr-task.yaml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("<< >> template delimiters"),
        "{}",
        stderr(&out)
    );
}

/// `validate CONTEXT` and `run` make the same build checks: a Dockerfile outside the context is
/// valid for both; one missing from CONTEXT is the same warning in both (an error with
/// `--strict`); a path out of /workspace is an error in both.
#[test]
fn validate_with_context_and_run_agree_on_build_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let ctx = d.join("ctx");
    std::fs::create_dir_all(ctx.join("sub")).unwrap();
    std::fs::create_dir_all(ctx.join("app")).unwrap();
    std::fs::write(ctx.join("Dockerfile"), "FROM scratch\n").unwrap();
    let task = d.join("acr-task.yaml");
    std::fs::write(
        &task,
        "steps:\n  - id: beside\n    build: -t a:1 -f Dockerfile sub\n  - id: parent\n    \
         workingDirectory: app\n    build: -t b:1 -f ../x/Dockerfile .\n",
    )
    .unwrap();
    let (task_s, ctx_s) = (task.to_str().unwrap(), ctx.to_str().unwrap());
    let missing = "step `parent`: the Dockerfile `/workspace/x/Dockerfile`";

    let plain = taskrun(&["validate", "-f", task_s]);
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    assert!(!stderr(&plain).contains("build_path"), "{}", stderr(&plain));

    let validate = taskrun(&["validate", "-f", task_s, ctx_s]);
    let run = taskrun(&["run", "--dry-run", "-f", task_s, ctx_s]);
    assert_eq!(validate.status.code(), Some(0), "{}", stderr(&validate));
    // The run starts (not exit 2); its dry-run build then fails for want of the Dockerfile.
    assert_ne!(run.status.code(), Some(2), "{}", stderr(&run));
    for (what, out) in [("validate", &validate), ("run", &run)] {
        let text = stderr(out);
        assert!(
            text.contains("taskrun::validate::build_path"),
            "{what}: {text}"
        );
        assert!(text.contains(missing), "{what}: {text}");
        assert!(
            text.contains("is not in the CONTEXT directory"),
            "{what}: {text}"
        );
    }
    for args in [
        vec!["validate", "--strict", "-f", task_s, ctx_s],
        vec!["run", "--dry-run", "--strict", "-f", task_s, ctx_s],
    ] {
        let out = taskrun(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(missing), "{args:?}: {}", stderr(&out));
    }

    std::fs::create_dir_all(ctx.join("x")).unwrap();
    std::fs::write(ctx.join("x/Dockerfile"), "FROM scratch\n").unwrap();
    for args in [
        vec!["validate", "-f", task_s, ctx_s],
        vec!["run", "--dry-run", "-f", task_s, ctx_s],
    ] {
        let out = taskrun(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(
            !stderr(&out).contains("build_path"),
            "{args:?}: {}",
            stderr(&out)
        );
    }

    let gone = d.join("no-such-dir");
    let out = taskrun(&["validate", "-f", task_s, gone.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));

    std::fs::write(&task, "steps:\n  - build: -t a:1 -f ../../etc/passwd .\n").unwrap();
    for args in [
        vec!["validate", "-f", task_s],
        vec!["run", "--dry-run", "-f", task_s, ctx_s],
    ] {
        let out = taskrun(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("resolves to `/etc/passwd`"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}
/// A task file written to a fresh directory.
fn task_file(yaml: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("acr-task.yaml");
    std::fs::write(&path, yaml).expect("write task");
    (dir, path)
}

#[test]
fn run_reports_a_refused_line_once_as_an_error() {
    let (dir, path) = task_file("version: v1.1.0\nsteps:\n  - build: -t x --ssh default .\n");
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").expect("write Dockerfile");
    let file = path.to_str().unwrap();
    let ctx = dir.path().to_str().unwrap();
    let out = taskrun(&["run", "--dry-run", "-f", file, ctx]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(
        err.matches("taskrun::validate::unsupported_flag").count(),
        1,
        "{err}"
    );
    assert!(err.contains("error: 1 problem found\n"), "{err}");
    assert!(!err.contains("warning"), "{err}");
    // One name for the step in every message (no `acb_step_0` next to `step 1`).
    assert!(err.contains("step 1"), "{err}");
    assert!(!err.contains("acb_step_0"), "{err}");
    // validate still only warns.
    let out = taskrun(&["validate", "-f", file]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out).matches("unsupported_flag").count(), 1);
}

#[test]
fn run_reports_a_refused_build_once_with_its_code() {
    let (_dir, path) = task_file(
        "steps:\n  - build: -t x --output type=tar .\n  - build: -t y -f ../../etc/passwd .\n",
    );
    let out = taskrun(&["run", "--dry-run", "-f", path.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(
        err.matches("taskrun::validate::unsupported_flag").count(),
        1,
        "{err}"
    );
    assert_eq!(
        err.matches("taskrun::validate::build_path").count(),
        1,
        "{err}"
    );
    assert!(err.contains("error: 2 problems found\n"), "{err}");
}

#[test]
fn a_type_error_does_not_hide_the_other_problems() {
    let (_dir, path) = task_file(
        "version: v1.1.0\nsteps:\n  - id: a\n    cmd: alpine echo 'hi\n    timeout: abc\n  - id: a\n    cmd: alpine echo\n    when: [nope]\n",
    );
    let out = taskrun(&["validate", "-f", path.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for code in [
        "taskrun::syntax::type",
        "taskrun::validate::cmd_shell",
        "taskrun::validate::step_id_duplicate",
        "taskrun::validate::when_unknown",
    ] {
        assert_eq!(err.matches(code).count(), 1, "{code}: {err}");
    }
    assert!(err.contains("error: 4 problems found\n"), "{err}");
}

#[test]
fn task_logs_of_an_unknown_run_says_so() {
    let home = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_taskrun"))
        .args(["task", "logs", "--run-id", "nope"])
        .env("TASKRUN_HOME", home.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("run taskrun");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("taskrun::input::run_not_found"), "{err}");
    assert!(!err.contains("flag_format"), "{err}");
}

#[test]
fn dry_run_shows_docker_run_flags() {
    let (_dir, path) = task_file(
        "steps:\n  - cmd: --shm-size 64m --ulimit nofile=512:512 --mount type=tmpfs,dst=/t --ipc private --cpus 0.5 --memory 64m -P --gpus all --restart always alpine true\n",
    );
    let out = taskrun(&["run", "--dry-run", "-f", path.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for field in [
        "cpus=0.5",
        "memory=67108864",
        "mount=[tmpfs::/t]",
        "publish_all",
        "ulimits=[nofile=512:512]",
        "shm_size=67108864",
        "ipc=private",
        "gpus=[count=-1, capabilities=gpu]",
        "restart=always",
    ] {
        assert!(text.contains(field), "{field}: {text}");
    }
}

#[test]
fn bad_docker_run_flag_values_are_validate_errors() {
    let (_dir, path) = task_file("steps:\n  - cmd: --shm-size lots --ulimit nofile=x alpine\n");
    let out = taskrun(&["validate", "-f", path.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("`--shm-size`: `lots` is not a size"), "{err}");
    assert!(err.contains("acr-task.yaml:2:10]"), "{err}");
    // Every bad value at once.
    assert!(
        err.contains("`--ulimit`: the ulimit `nofile=x` has `x`"),
        "{err}"
    );
    assert!(err.contains("acr-task.yaml:2:26]"), "{err}");
    assert!(err.contains("error: 2 problems found"), "{err}");
}

/// `taskrun` with `TASKRUN_HOME=home`, in `dir`.
fn task_cmd(home: &Path, dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taskrun"))
        .args(args)
        .current_dir(dir)
        .env("TASKRUN_HOME", home)
        .env("NO_COLOR", "1")
        .env_remove("TASKRUN_REGISTRY")
        .output()
        .expect("run taskrun")
}

#[test]
fn list_runs_filters_by_status_then_takes_the_top() {
    // Runs of a file that does not validate end as Error without an engine; canceled runs are
    // made by canceling a run that has no process.
    let home = tempfile::tempdir().expect("temp dir");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("bad.yaml"), "steps:\n  - id: a\n").expect("write");
    let h = home.path();
    let d = dir.path();
    let ok = |args: &[&str]| {
        let out = task_cmd(h, d, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    ok(&["task", "create", "-n", "bad", "-f", "bad.yaml"]);
    for _ in 0..3 {
        assert_eq!(
            task_cmd(h, d, &["task", "run", "-n", "bad"]).status.code(),
            Some(2)
        );
    }
    let listed = |args: &[&str]| -> Vec<(String, String)> {
        let mut all = vec!["task", "list-runs", "-o", "json"];
        all.extend_from_slice(args);
        let json: serde_json::Value = serde_json::from_str(&ok(&all)).expect("json");
        json.as_array()
            .expect("list")
            .iter()
            .map(|r| {
                (
                    r["runId"].as_str().unwrap_or_default().to_owned(),
                    r["status"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    let pair = |id: &str, status: &str| (id.to_owned(), status.to_owned());
    assert_eq!(
        listed(&["--status", "error"]),
        [
            pair("ca3", "Error"),
            pair("ca2", "Error"),
            pair("ca1", "Error")
        ]
    );
    assert_eq!(
        listed(&["--status", "ERROR", "--top", "2"]),
        [pair("ca3", "Error"), pair("ca2", "Error")]
    );
    assert_eq!(listed(&["--top", "1"]), [pair("ca3", "Error")]);
    assert!(listed(&["--run-status", "Succeeded"]).is_empty());
    assert!(listed(&["-n", "bad", "--status", "Canceled"]).is_empty());
    let table = ok(&["task", "list-runs", "--status", "Error", "--top", "1"]);
    assert_eq!(table.lines().count(), 3, "{table}");

    let out = task_cmd(h, d, &["task", "list-runs", "--status", "Bogus"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Queued, Running, Succeeded"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn cancel_run_of_a_finished_or_unknown_run_says_why() {
    let home = tempfile::tempdir().expect("temp dir");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("bad.yaml"), "steps:\n  - id: a\n").expect("write");
    let (h, d) = (home.path(), dir.path());
    assert!(
        task_cmd(h, d, &["task", "create", "-n", "bad", "-f", "bad.yaml"])
            .status
            .success()
    );
    assert_eq!(
        task_cmd(h, d, &["task", "run", "-n", "bad"]).status.code(),
        Some(2)
    );

    let out = task_cmd(h, d, &["task", "cancel-run", "ca1"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("taskrun::input::run_not_running"), "{err}");
    assert!(err.contains("it finished with status Error"), "{err}");

    // az's spelling works too; an unknown id is run_not_found.
    let out = task_cmd(h, d, &["task", "cancel-run", "--run-id", "ca9"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("taskrun::input::run_not_found"), "{err}");

    // One id, given once.
    assert_eq!(
        task_cmd(h, d, &["task", "cancel-run"]).status.code(),
        Some(2)
    );
    assert_eq!(
        task_cmd(h, d, &["task", "cancel-run", "ca1", "--run-id", "ca1"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn task_run_overrides_are_for_that_run_only() {
    // Without an engine: which file and values a run used shows in its diagnostics.
    let home = tempfile::tempdir().expect("temp dir");
    let dir = tempfile::tempdir().expect("temp dir");
    let (h, d) = (home.path(), dir.path());
    std::fs::write(d.join("stored.yaml"), "steps:\n  - id: stored_step\n").expect("write");
    std::fs::create_dir_all(d.join("ctx")).expect("dir");
    std::fs::write(d.join("ctx/other.yaml"), "steps:\n  - id: other_step\n").expect("write");
    assert!(
        task_cmd(h, d, &["task", "create", "-n", "t", "-f", "stored.yaml"])
            .status
            .success()
    );
    // -f relative to the --context given.
    let out = task_cmd(
        h,
        d,
        &["task", "run", "-n", "t", "-c", "ctx", "-f", "other.yaml"],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("other_step") && !err.contains("stored_step"),
        "{err}"
    );
    // --values for the run.
    let out = task_cmd(
        h,
        d,
        &["task", "run", "-n", "t", "--values", "missing.yaml"],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("missing.yaml"), "{err}");
    // The task itself is unchanged.
    let shown = stdout(&task_cmd(h, d, &["task", "show", "-n", "t", "-o", "json"]));
    let json: serde_json::Value = serde_json::from_str(&shown).expect("json");
    assert!(
        json["file"]
            .as_str()
            .unwrap_or_default()
            .ends_with("stored.yaml"),
        "{shown}"
    );
    assert_eq!(json["valuesFile"], serde_json::Value::Null, "{shown}");
    let out = task_cmd(h, d, &["task", "run", "-n", "t"]);
    assert!(stderr(&out).contains("stored_step"), "{}", stderr(&out));

    // A malformed --set-secret is refused before the run, without echoing it.
    let out = task_cmd(
        h,
        d,
        &[
            "task",
            "run",
            "-n",
            "t",
            "--set-secret",
            "hunter2-no-equals",
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("taskrun::input::flag_format"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn quick_build_dry_run_masks_secret_build_args_and_qualifies_names() {
    let ctx = tempfile::tempdir().expect("tempdir");
    std::fs::write(ctx.path().join("Dockerfile"), "FROM scratch\n").expect("Dockerfile");
    let o = taskrun(&[
        "build",
        "-t",
        "hello:{{.Run.ID}}",
        "--secret-build-arg",
        "TOKEN=s3cr3t: 'q'",
        "--run-id",
        "qb1",
        "-r",
        "reg.example:5000",
        "--dry-run",
        ctx.path().to_str().expect("utf-8 path"),
    ]);
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(o.status.success(), "{all}");
    assert!(!all.contains("s3cr3t"), "{all}");
    assert!(all.contains("--build-arg 'TOKEN=***'"), "{all}");
    assert!(all.contains("push reg.example:5000/hello:qb1"), "{all}");
    assert!(
        all.contains("Task: generated quick build task, version v1.1.0"),
        "{all}"
    );
}

#[test]
fn quick_run_dry_run_and_refusals() {
    let o = taskrun(&[
        "--cmd",
        "$Registry/hello-world --flag 'a: b'",
        "-r",
        "reg.example",
        "/dev/null",
        "--dry-run",
    ]);
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(o.status.success(), "{all}");
    assert!(all.contains("reg.example/hello-world"), "{all}");
    // `-f` and `--cmd` together, and `build` without a name to push: usage errors (exit 2).
    for args in [
        &["--cmd", "x", "-f", "acr-task.yaml"][..],
        &["run", "--cmd", "x", "-f", "acr-task.yaml"],
        &["build", "-r", "reg.example", "."],
        &["build", "-t", "", "-r", "reg.example", "."],
    ] {
        let o = taskrun(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
}

/// What a new user tripped on (issue 14 §6), each as it was reproduced.
#[test]
fn a_refused_run_with_json_output_says_so_on_stdout() {
    let (dir, path) = task_file("steps:\n  - id: a b\n    cmd: x\n");
    let out = taskrun(&[
        "run",
        "--output",
        "json",
        "-f",
        path.to_str().unwrap(),
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let events: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
        .collect();
    assert!(
        events.iter().any(|e| e["event"] == "diagnostic"
            && e["code"] == "taskrun::validate::step_id_spaces"
            && e["line"] == 2),
        "{events:?}"
    );
    assert_eq!(
        events.last().map(|e| e["event"].clone()),
        Some("run_refused".into())
    );
}

#[test]
fn without_a_task_file_both_default_names_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_taskrun"))
        .args(["validate"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("run taskrun");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("acr-task.yaml") && err.contains("acb.yaml"),
        "{err}"
    );
}

#[test]
fn a_dry_run_invents_no_digest_and_accepts_images_earlier_steps_make() {
    let (dir, path) = task_file(
        "steps:\n  - cmd: taskrun-busybox sh -c 'echo would make the image'\n  - push: [reg.local/made-by-a-cmd:1]\n",
    );
    let out = taskrun(&[
        "run",
        "--dry-run",
        "--output",
        "plain",
        "-f",
        path.to_str().unwrap(),
        dir.path().to_str().unwrap(),
    ]);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("Would push image: reg.local/made-by-a-cmd:1"),
        "{text}"
    );
    assert!(!text.contains("@sha256:"), "{text}");
}

#[test]
fn serve_once_with_nothing_to_do_says_what_it_checked() {
    let home = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_taskrun"))
        .args(["serve", "--once"])
        .env("TASKRUN_HOME", home.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("run taskrun");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("serve: checked 0 task(s)")
            && stderr(&out).contains("nothing changed"),
        "{}",
        stderr(&out)
    );
}

/// A dry run says what it cannot know instead of inventing it: the image a `cmd` step uses may
/// or may not be on the engine, and a build that reads the workspace after a `cmd` step reads
/// the Dockerfile CONTEXT seeds it with (no "no FROM instruction" for a Dockerfile that has
/// one).
#[test]
fn dry_run_says_what_it_cannot_know() {
    let (dir, path) = task_file(
        "version: v1.1.0\nsteps:\n  - cmd: alpine sh -c 'echo hi > gen.txt'\n  - build: -t app:1 -f docker/Dockerfile docker\n",
    );
    std::fs::create_dir_all(dir.path().join("docker")).unwrap();
    std::fs::write(
        dir.path().join("docker/Dockerfile"),
        "FROM alpine:3.19\nRUN true\n",
    )
    .unwrap();
    let out = taskrun(&[
        "run",
        "--dry-run",
        "--output",
        "plain",
        "-f",
        path.to_str().unwrap(),
        dir.path().to_str().unwrap(),
    ]);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains("Could not scan"), "{text}");
    assert!(!text.contains("Unable to find image"), "{text}");
    assert!(
        text.contains("a real run pulls 'alpine' if the engine does not have it"),
        "{text}"
    );
    assert!(
        text.contains("Dry run: docker/Dockerfile is read from CONTEXT"),
        "{text}"
    );
}
