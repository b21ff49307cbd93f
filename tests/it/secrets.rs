//! Secrets never leak, values pass through byte for byte (SPEC §6, docs/reliability.md).
//!
//! Secret values are passed every supported way — `--secret ID=V`, `--secrets-file` (one of
//! them several lines long), `TASKRUN_SECRET_<ID>`, `--set-secret`, a `--credential` password
//! and a password in the user's docker config (`DOCKER_CONFIG`) for the `--registry` — and every
//! place taskrun writes is searched for them: the human, plain and json run output (stdout and
//! stderr), `--dry-run`, `render`, `validate`, `graph`, diagnostics on lines holding a secret,
//! failing steps whose command holds one, malformed secret flags and files, and named tasks
//! (`task create/show/list/run/logs/list-runs`) including the raw files of the store. A secret
//! counts as leaked in any of its forms: the value, its base64, its JSON-escaped text, each line
//! of a multi-line value, and a registry login's `auth` token.
//!
//! The one place a secret is kept on purpose is a named task's own `--set-secret` value, which
//! the store needs to run the task again: the test checks it is in the task definition's column
//! and nowhere else, and gone from the files once the task is deleted.
//!
//! Runs the REAL engine from `scripts/test-env.sh`; fails (never skips) without it. No
//! assertion depends on timing.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use sha2::{Digest, Sha256};

use common::{BUSYBOX, Ws, need_docker, output_text, taskrun_command};

/// A value unique to this process and call: `what` and 16 hex digits that differ for every
/// call (so no 12 bytes of two values are alike).
fn unique(what: &str) -> String {
    let hash = Sha256::digest(common::unique(what).as_bytes());
    let hex: String = hash.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{what}{hex}")
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// One secret and every form of it that must never be written.
#[derive(Debug, Clone)]
struct Secret {
    how: &'static str,
    value: String,
    extra_forms: Vec<String>,
}

impl Secret {
    fn new(how: &'static str, value: String) -> Self {
        Self {
            how,
            value,
            extra_forms: Vec::new(),
        }
    }

    fn forms(&self) -> Vec<String> {
        let mut forms = vec![self.value.clone(), b64(&self.value)];
        let json = serde_json::to_string(&self.value).unwrap();
        forms.push(json[1..json.len() - 1].to_owned());
        if self.value.contains('\n') {
            forms.extend(self.value.lines().map(|l| l.trim().to_owned()));
        }
        forms.extend(self.extra_forms.iter().cloned());
        forms.retain(|f| f.len() >= 8);
        forms.sort();
        forms.dedup();
        forms
    }
}

/// Fails when `text` holds any form of any secret, or any 12 bytes of a secret's value (a
/// secret cut short, e.g. by a shortened summary, still leaks), naming the secret, the form and
/// where.
fn assert_clean(place: &str, text: &[u8], secrets: &[Secret]) {
    for s in secrets {
        let mut forms = s.forms();
        forms.extend(
            s.value
                .as_bytes()
                .windows(12)
                .filter_map(|w| std::str::from_utf8(w).ok())
                .map(str::to_owned),
        );
        for form in forms {
            let found = text.windows(form.len()).position(|w| w == form.as_bytes());
            if let Some(at) = found {
                let start = at.saturating_sub(200);
                let end = (at + form.len() + 200).min(text.len());
                panic!(
                    "{place}: the {} secret leaked as {form:?}:\n{}",
                    s.how,
                    String::from_utf8_lossy(&text[start..end])
                );
            }
        }
    }
}

fn all_bytes(out: &Output) -> Vec<u8> {
    let mut b = out.stdout.clone();
    b.extend_from_slice(b"\n");
    b.extend_from_slice(&out.stderr);
    b
}

/// Every secret of the leak tests, with the files and environment that pass them.
struct Setup {
    ws: Ws,
    flag: Secret,
    file: Secret,
    multi: Secret,
    env: Secret,
    set: Secret,
    quote: Secret,
    cred: Secret,
    conf: Secret,
}

const LEAK_TASK: &str = r#"secrets:
  - id: flagsec
    keyvault: https://vault.vault.azure.net/secrets/flagsec
  - id: filesec
    keyvault: https://vault.vault.azure.net/secrets/filesec
  - id: multisec
    keyvault: https://vault.vault.azure.net/secrets/multisec
  - id: envsec
    keyvault: https://vault.vault.azure.net/secrets/envsec
  - id: quotesec
    keyvault: https://vault.vault.azure.net/secrets/quotesec
volumes:
  - name: sv
    secret:
      flag.txt: {{.Secrets.flagsec | b64enc}}
      quote.txt: {{.Secrets.quotesec | b64enc}}
      multi.txt: {{.Secrets.multisec | b64enc}}
steps:
  - id: show
    cmd: BUSYBOX sh -c 'echo flag={{.Secrets.flagsec}} file={{.Secrets.filesec}} env={{.Secrets.envsec}} set={{.Values.setsec}}; printf "%s\n" "$Q" "$M"; cat /acb/home/.docker/config.json; echo; cat /sv/flag.txt; echo; cat /sv/quote.txt; echo; cat /sv/multi.txt; echo; for v in "$FLAG" "$Q" "$SET" "$M"; do printf %s "$v" | base64; done; echo on stderr {{.Secrets.filesec}} >&2'
    env:
      - FLAG={{.Secrets.flagsec}}
      - SET={{.Values.setsec}}
      - {{ printf "'Q=%s'" (.Secrets.quotesec | replace "'" "'\\''") | toJson }}
      - {{ printf "'M=%s'" (.Secrets.multisec | replace "'" "'\\''") | toJson }}
    volumeMounts:
      - name: sv
        mountPath: /sv
  - id: fails
    cmd: BUSYBOX sh -c 'echo failing with {{.Secrets.envsec}} {{.Values.setsec}} >&2; exit 3'
    ignoreErrors: true
  - id: noimage
    cmd: 127.0.0.1:5000/nonexistent-{{.Secrets.flagsec}}:{{.Values.setsec}} echo
    ignoreErrors: true
  - id: nodockerfile
    build: -t 127.0.0.1:5000/img-{{.Secrets.flagsec}}:x -f Dockerfile-{{.Values.setsec}} .
    ignoreErrors: true
  - id: last
    cmd: BUSYBOX sh -c 'echo {{.Secrets.filesec}}; exit 4'
"#;

impl Setup {
    fn new() -> Self {
        // Lower-case letters and digits: usable in image references of the failing steps.
        let flag = Secret::new("--secret", unique("flagsecret"));
        let file = Secret::new("--secrets-file", unique("filesecret"));
        let multi = Secret::new(
            "multi-line --secrets-file",
            format!(
                "-----BEGIN TEST KEY-----\n{}\n{}\n-----END TEST KEY-----",
                unique("multilineone"),
                unique("multilinetwo")
            ),
        );
        let env = Secret::new("TASKRUN_SECRET_*", unique("envsecret"));
        let set = Secret::new("--set-secret", unique("setsecret"));
        let quote = Secret::new(
            "quoted --secret",
            format!("q\"u'o\\te $(x) ✓ {}", unique("qs")),
        );
        let mut cred = Secret::new("--credential", unique("credpass"));
        cred.extra_forms
            .push(b64(&format!("creduser:{}", cred.value)));
        let mut conf = Secret::new("docker config", unique("confpass"));
        conf.extra_forms
            .push(b64(&format!("confuser:{}", conf.value)));
        let setup = Self {
            ws: Ws::new(LEAK_TASK),
            flag,
            file,
            multi,
            env,
            set,
            quote,
            cred,
            conf,
        };
        setup.ws.file("plain.txt", "plain\n");
        std::fs::write(
            setup.path().join("secrets.yaml"),
            format!(
                "filesec: {}\nmultisec: |-\n{}\n",
                setup.file.value,
                setup
                    .multi
                    .value
                    .lines()
                    .map(|l| format!("  {l}\n"))
                    .collect::<String>()
            ),
        )
        .unwrap();
        let config = setup.path().join("docker-config");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(
            config.join("config.json"),
            serde_json::json!({
                "auths": {"conf.invalid:5000": {"auth": b64(&format!("confuser:{}", setup.conf.value))}}
            })
            .to_string(),
        )
        .unwrap();
        setup
    }

    fn path(&self) -> &Path {
        self.ws.path()
    }

    fn all(&self) -> Vec<Secret> {
        vec![
            self.flag.clone(),
            self.file.clone(),
            self.multi.clone(),
            self.env.clone(),
            self.set.clone(),
            self.quote.clone(),
            self.cred.clone(),
            self.conf.clone(),
        ]
    }

    /// taskrun with every secret source set; `args` go after the subcommand.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = taskrun_command(self.path(), &self.path().join("home"));
        cmd.args(args)
            .env("DOCKER_CONFIG", self.path().join("docker-config"))
            .env("TASKRUN_SECRET_ENVSEC", &self.env.value);
        cmd
    }

    /// The file flags that pass the secrets (for run, render, validate, graph).
    fn secret_flags(&self) -> Vec<String> {
        vec![
            "-f".into(),
            "acr-task.yaml".into(),
            "--secret".into(),
            format!("flagsec={}", self.flag.value),
            "--secret".into(),
            format!("quotesec={}", self.quote.value),
            "--secrets-file".into(),
            "secrets.yaml".into(),
            "--set-secret".into(),
            format!("setsec={}", self.set.value),
            "--registry".into(),
            "conf.invalid:5000".into(),
        ]
    }

    fn credential(&self) -> String {
        format!(
            r#"{{"registry":"cred.invalid:5000","username":"creduser","password":"{}"}}"#,
            self.cred.value
        )
    }

    fn run(&self, sub: &str, extra: &[&str]) -> Output {
        let mut args: Vec<String> = vec![sub.to_owned()];
        args.extend(self.secret_flags());
        if sub == "run" {
            args.push("--credential".into());
            args.push(self.credential());
        }
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        if sub == "run" {
            args.push("ctx".into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.command(&args).output().unwrap()
    }
}

fn expect_code(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}\n{}",
        output_text(out)
    );
}

// ---------------------------------------------------------------------------------------------
// Run output, dry run, render, validate, graph

#[test]
fn secrets_never_reach_any_run_output_mode() {
    let _engine = need_docker();
    let s = Setup::new();
    let secrets = s.all();
    for mode in ["plain", "json", "human"] {
        let out = s.run("run", &["--output", mode, "--color", "never"]);
        // `last` fails on purpose (exit 4), after steps that fail with ignoreErrors.
        expect_code(&out, 1, mode);
        let text = output_text(&out);
        assert_clean(&format!("run --output {mode}"), &all_bytes(&out), &secrets);
        // The secrets did reach the step: each printed value is masked, not missing.
        assert!(text.contains("flag=*** file=*** env=*** set=***"), "{text}");
        for needle in [
            "on stderr ***",
            "failing with *** ***",
            "nonexistent-***:***",
            "Dockerfile-***",
            r#""auth":"***""#,
        ] {
            let found = text.contains(needle)
                || (mode == "json" && text.contains(&needle.replace('"', "\\\"")));
            assert!(found, "{mode}: no `{needle}` in\n{text}");
        }
        if mode == "json" {
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                serde_json::from_str::<serde_json::Value>(line)
                    .unwrap_or_else(|e| panic!("masking broke the JSON ({e}): {line}"));
            }
        }
    }
}

#[test]
fn secrets_never_reach_dry_run_render_validate_or_graph() {
    let s = Setup::new();
    let secrets = s.all();
    let out = s.run("run", &["--dry-run"]);
    expect_code(&out, 0, "dry run");
    assert_clean("run --dry-run", &all_bytes(&out), &secrets);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Engine calls"),
        "{}",
        output_text(&out)
    );
    let out = s.run("render", &[]);
    expect_code(&out, 0, "render");
    assert_clean("render", &all_bytes(&out), &secrets);
    let rendered = String::from_utf8_lossy(&out.stdout);
    assert!(rendered.contains("flag.txt: ***"), "{rendered}");
    assert!(rendered.contains(r#"- "'Q=***'""#), "{rendered}");
    let out = s.run("validate", &[]);
    expect_code(&out, 0, "validate");
    assert_clean("validate", &all_bytes(&out), &secrets);
    for format in ["text", "json", "dot", "mermaid"] {
        let out = s.run("graph", &["--format", format]);
        expect_code(&out, 0, "graph");
        assert_clean(
            &format!("graph --format {format}"),
            &all_bytes(&out),
            &secrets,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Diagnostics and malformed secret inputs

#[test]
fn diagnostics_on_lines_holding_secrets_are_masked() {
    let s = Setup::new();
    let secrets = s.all();
    let header = "secrets:\n  - id: flagsec\n    keyvault: https://v.vault.azure.net/secrets/flagsec\nsteps:\n";
    let cases = [
        // A type error on the line holding two secrets.
        "  - {cmd: \"BUSYBOX echo {{.Secrets.flagsec}} {{.Values.setsec}}\", timeout: nope}\n",
        // A YAML syntax error on the line.
        "  - cmd: \"BUSYBOX echo {{.Secrets.flagsec}} {{.Values.setsec}}\n",
        // A template function failing with the secret as its message.
        "  - cmd: BUSYBOX echo {{ fail .Values.setsec }}\n",
        // An unterminated quote next to the secrets.
        "  - cmd: BUSYBOX echo {{.Secrets.flagsec}} '{{.Values.setsec}}\n",
        // An unknown docker flag made of a secret.
        "  - cmd: --{{.Secrets.flagsec}} BUSYBOX echo\n",
        // A docker run flag whose value (a secret) is not a size: quoted in the error.
        "  - cmd: --shm-size={{.Values.setsec}} BUSYBOX echo\n",
        // A bad build flag.
        "  - build: -t x --bogus={{.Secrets.flagsec}} .\n",
        // A step id made of a secret, used twice.
        "  - id: x{{.Values.setsec}}\n    cmd: BUSYBOX echo\n  - id: x{{.Values.setsec}}\n    cmd: BUSYBOX echo\n",
    ];
    for (i, case) in cases.iter().enumerate() {
        let text = format!("{header}{}", case.replace("BUSYBOX", BUSYBOX));
        std::fs::write(s.path().join("acr-task.yaml"), &text).unwrap();
        for sub in ["run", "validate", "render", "graph"] {
            let out = s.run(sub, &[]);
            let code = out.status.code();
            let what = format!("case {i} `{sub}`:\n{text}");
            assert_clean(&what, &all_bytes(&out), &secrets);
            if sub != "render" {
                // render only fails on template errors; the others on every case.
                let expected = 2;
                assert_eq!(code, Some(expected), "{what}\n{}", output_text(&out));
            }
            if code == Some(2) {
                assert!(
                    String::from_utf8_lossy(&out.stderr).contains("***"),
                    "{what}: the diagnostic shows where the secret was\n{}",
                    output_text(&out)
                );
            }
        }
    }
}

#[test]
fn malformed_secret_inputs_do_not_echo_the_secret() {
    let s = Setup::new();
    let secrets = s.all();
    // A secrets file that is not YAML: no snippet, not the parser's words, only the position.
    std::fs::write(
        s.path().join("bad-secrets.yaml"),
        format!("filesec: \"{}\nother: [\n", s.file.value),
    )
    .unwrap();
    // A secrets file with a value of the wrong type on the secret's line.
    std::fs::write(
        s.path().join("list-secrets.yaml"),
        format!("- {}\n", s.file.value),
    )
    .unwrap();
    let runs: Vec<(&str, Vec<String>)> = vec![
        (
            "bad secrets file",
            vec!["--secrets-file".into(), "bad-secrets.yaml".into()],
        ),
        (
            "secrets file not a mapping",
            vec!["--secrets-file".into(), "list-secrets.yaml".into()],
        ),
        (
            "--secret without =",
            vec!["--secret".into(), s.flag.value.clone()],
        ),
        (
            "--secret with an empty id",
            vec!["--secret".into(), format!("={}", s.flag.value)],
        ),
        (
            "--set-secret without =",
            vec!["--set-secret".into(), s.set.value.clone()],
        ),
        (
            "--credential that is not JSON",
            vec![
                "--credential".into(),
                format!(
                    r#"{{"registry":"r","username":"u","password":"{}"#,
                    s.cred.value
                ),
            ],
        ),
        (
            "--credential with a bad field",
            vec![
                "--credential".into(),
                format!(
                    r#"{{"registry":"r","username":"u","password":"{}","identity":5}}"#,
                    s.cred.value
                ),
            ],
        ),
    ];
    std::fs::write(
        s.path().join("acr-task.yaml"),
        format!("steps:\n  - cmd: {BUSYBOX} echo hi\n"),
    )
    .unwrap();
    for (what, flags) in runs {
        for sub in ["run", "render"] {
            if sub == "render" && what.contains("credential") {
                continue;
            }
            let mut args = vec![sub.to_owned(), "-f".into(), "acr-task.yaml".into()];
            args.extend(flags.iter().cloned());
            if sub == "run" {
                args.push("ctx".into());
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = s.command(&args).output().unwrap();
            expect_code(&out, 2, what);
            assert_clean(&format!("{what} ({sub})"), &all_bytes(&out), &secrets);
        }
    }
    // task create with a malformed --set-secret.
    let out = s
        .command(&[
            "task",
            "create",
            "-n",
            "bad",
            "-f",
            "acr-task.yaml",
            "--set-secret",
            &s.set.value,
        ])
        .output()
        .unwrap();
    expect_code(&out, 2, "task create --set-secret without =");
    assert_clean(
        "task create --set-secret without =",
        &all_bytes(&out),
        &secrets,
    );
}

// ---------------------------------------------------------------------------------------------
// Named tasks and the store

const NAMED_TASK: &str = r#"secrets:
  - id: flagsec
    keyvault: https://vault.vault.azure.net/secrets/flagsec
  - id: envsec
    keyvault: https://vault.vault.azure.net/secrets/envsec
steps:
  - id: show
    cmd: BUSYBOX sh -c 'echo flag={{.Secrets.flagsec}} env={{.Secrets.envsec}} set={{.Values.setsec}}; printf %s "$SET" | base64'
    env: ["SET={{.Values.setsec}}"]
  - id: fails
    cmd: BUSYBOX sh -c 'echo failing with {{.Secrets.flagsec}} >&2; exit 3'
    ignoreErrors: true
  - id: last
    cmd: BUSYBOX sh -c 'echo {{.Values.setsec}} {{.Secrets.envsec}}; exit 4'
"#;

/// Every file under `dir`, recursively, with its bytes.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.push((path, bytes));
            }
        }
    }
    out
}

/// `(table.column, row text)` of every cell in the database holding `needle`.
fn cells_holding(db: &Path, needle: &str) -> Vec<String> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut found = Vec::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns: Vec<String> = stmt.column_names().map(str::to_owned).collect();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for (i, column) in columns.iter().enumerate() {
                let bytes: Vec<u8> = match row.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        t.to_vec()
                    }
                    _ => continue,
                };
                if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    found.push(format!("{table}.{column}"));
                }
            }
        }
    }
    found
}

#[test]
fn named_tasks_keep_secrets_out_of_history_logs_and_output() {
    let _engine = need_docker();
    let s = Setup::new();
    std::fs::write(
        s.path().join("named.yaml"),
        NAMED_TASK.replace("BUSYBOX", BUSYBOX),
    )
    .unwrap();
    // For a named task, `--set-secret` is part of the definition; the task's `secrets:` come
    // from TASKRUN_SECRET_* when it runs.
    let mut run_flag = s.flag.clone();
    run_flag.how = "TASKRUN_SECRET_FLAGSEC";
    let runtime = vec![run_flag.clone(), s.env.clone()];
    let mut everything = runtime.clone();
    everything.push(s.set.clone());
    let task = |args: &[&str]| {
        let mut full = vec!["task"];
        full.extend_from_slice(args);
        s.command(&full)
            .env("TASKRUN_SECRET_FLAGSEC", &run_flag.value)
            .output()
            .unwrap()
    };
    let setsec = format!("setsec={}", s.set.value);
    let out = task(&[
        "create",
        "-n",
        "sectask",
        "-f",
        "named.yaml",
        "-c",
        "ctx",
        "--set-secret",
        &setsec,
        "--set",
        "plain=visible",
    ]);
    expect_code(&out, 0, "task create");
    assert_clean("task create", &all_bytes(&out), &everything);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("setsec=***"),
        "{}",
        output_text(&out)
    );
    let out = task(&["run", "-n", "sectask", "--output", "plain"]);
    expect_code(&out, 1, "task run (the last step fails on purpose)");
    assert_clean("task run", &all_bytes(&out), &everything);
    let shown = output_text(&out);
    assert!(shown.contains("flag=*** env=*** set=***"), "{shown}");
    for args in [
        &["show", "-n", "sectask"][..],
        &["show", "-n", "sectask", "-o", "json"],
        &["list"],
        &["list", "-o", "json"],
        &["list-runs"],
        &["list-runs", "-o", "json"],
    ] {
        let out = task(args);
        expect_code(&out, 0, &format!("task {args:?}"));
        assert_clean(&format!("task {args:?}"), &all_bytes(&out), &everything);
    }
    let out = task(&["logs", "-n", "sectask"]);
    expect_code(&out, 0, "task logs");
    assert_clean("task logs", &all_bytes(&out), &everything);
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(log.contains("[show] flag=*** env=*** set=***"), "{log}");
    assert!(log.contains("[fails] failing with ***"), "{log}");

    // The raw store: the database, its -wal/-shm (when present) and anything else there.
    let home = s.path().join("home");
    let files = files_under(&home);
    assert!(
        files.iter().any(|(p, _)| p.ends_with("taskrun.db")),
        "{files:?}"
    );
    for (path, bytes) in &files {
        assert_clean(&path.display().to_string(), bytes, &runtime);
    }
    // The definition's own --set-secret is stored (it is needed to run the task again), in
    // the definition's column only — never in runs, steps or logs.
    let db = home.join("taskrun.db");
    assert_eq!(
        cells_holding(&db, &s.set.value),
        ["tasks.set_secret_json"],
        "where the task's --set-secret is stored"
    );
    for form in s.set.forms().iter().filter(|f| **f != s.set.value) {
        assert!(cells_holding(&db, form).is_empty(), "{form}");
    }

    // Deleting the task erases it from the files (secure_delete; the WAL is checkpointed when
    // the last connection closes).
    let out = task(&["delete", "-n", "sectask"]);
    expect_code(&out, 0, "task delete");
    for (path, bytes) in files_under(&home) {
        assert_clean(&path.display().to_string(), &bytes, &everything);
    }
}

// ---------------------------------------------------------------------------------------------
// Values byte for byte

/// Values that a shell, a YAML parser or a template engine would all like to change.
const AWKWARD: &[&str] = &[
    "$(echo pwned) `id` ${HOME} $HOME",
    "a;b|c&d && e || f > g < h 2>&1",
    "it's \"quoted\" 'twice'",
    r"back\slash \n \t \\ \x41",
    "line1\nline2\n",
    "tab\there\r\n",
    "héllo ✓ 日本",
    "  padded both  ",
    "{{.Run.ID}} %s %v",
    "*?[a-z] ~ # not a comment",
];

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn awkward_values_reach_the_container_byte_for_byte() {
    awkward_values_arrive(false);
}

#[test]
fn awkward_values_reach_the_container_byte_for_byte_through_the_agent_shell() {
    awkward_values_arrive(true);
}

/// Every awkward value, passed each of six ways into a quoted `env` entry (acb writes `--env
/// <entry>` into a shell line, so the entry is shell-quoted as a file for ACR must be), arrives
/// byte for byte: through the engine API, or (`via_shell`, the line ends in `&& true`) through the
/// agent's shell.
fn awkward_values_arrive(via_shell: bool) {
    let _engine = need_docker();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("ctx")).unwrap();
    // Each way of passing a value, with its template expression.
    let ways: [(&str, &str, &str); 6] = [
        ("set", "V", ".Values"),
        ("valuesfile", "F", ".Values"),
        ("setsecret", "X", ".Values"),
        ("secret", "S", ".Secrets"),
        ("secretsfile", "Y", ".Secrets"),
        ("secretenv", "Z", ".Secrets"),
    ];
    let mut task = String::from("secrets:\n");
    for (_, prefix, data) in &ways {
        if *data == ".Secrets" {
            for i in 0..AWKWARD.len() {
                let id = format!("{}{i}", prefix.to_lowercase());
                task.push_str(&format!(
                    "  - id: {id}\n    keyvault: https://v.vault.azure.net/secrets/{id}\n"
                ));
            }
        }
    }
    let mut script = String::new();
    let mut env = String::new();
    let mut expected = BTreeMap::new();
    for (_, prefix, data) in &ways {
        for (i, value) in AWKWARD.iter().enumerate() {
            let var = format!("{prefix}{i}");
            let key = var.to_lowercase();
            env.push_str(&format!(
                "      - {{{{ printf \"'{var}=%s'\" ({data}.{key} | replace \"'\" \"'\\\\''\") | toJson }}}}\n"
            ));
            script.push_str(&format!("echo {var} $(printf %s \"${var}\" | sha256sum); "));
            expected.insert(var, sha256_hex(value));
        }
    }
    task.push_str(&format!(
        "steps:\n  - id: show\n    cmd: {BUSYBOX} sh -c '{script}'{}\n    env:\n{env}",
        if via_shell { " && true" } else { "" }
    ));
    std::fs::write(d.join("acr-task.yaml"), &task).unwrap();
    let quoted = |v: &str| serde_json::to_string(v).unwrap();
    let yaml_map = |prefix: &str| {
        AWKWARD
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{}{i}: {}\n", prefix.to_lowercase(), quoted(v)))
            .collect::<String>()
    };
    std::fs::write(d.join("values.yaml"), yaml_map("F")).unwrap();
    std::fs::write(d.join("secrets.yaml"), yaml_map("Y")).unwrap();

    let mut cmd = taskrun_command(d, &d.join("home"));
    cmd.args(["run", "-f", "acr-task.yaml", "--output", "json"])
        .args(["--values", "values.yaml", "--secrets-file", "secrets.yaml"]);
    for (i, v) in AWKWARD.iter().enumerate() {
        cmd.arg("--set").arg(format!("v{i}={v}"));
        cmd.arg("--set-secret").arg(format!("x{i}={v}"));
        cmd.arg("--secret").arg(format!("s{i}={v}"));
        cmd.env(format!("TASKRUN_SECRET_Z{i}"), v);
    }
    cmd.arg("ctx");
    let out = cmd.output().unwrap();
    expect_code(&out, 0, &task);
    let mut seen = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        if event["event"] == "log" && event["step"] == "show" {
            let text = event["line"].as_str().unwrap();
            let mut words = text.split_whitespace();
            let (Some(var), Some(hash)) = (words.next(), words.next()) else {
                panic!("unexpected line {text:?}");
            };
            seen.insert(var.to_owned(), hash.to_owned());
        }
    }
    for (var, hash) in &expected {
        let i: usize = var[1..].parse().unwrap();
        assert_eq!(
            seen.get(var),
            Some(hash),
            "{var} (value {:?}) did not arrive byte for byte\n{}",
            AWKWARD[i],
            output_text(&out)
        );
    }
    assert_eq!(seen.len(), expected.len());
}
