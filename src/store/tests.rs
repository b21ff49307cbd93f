//! Tests of the store, each on a fresh temporary `$TASKRUN_HOME`.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, TimeZone, Utc};

use super::*;

fn home() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn open(dir: &Path) -> Store {
    Store::open(dir).expect("open store")
}

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, 0)
        .single()
        .expect("time")
}

fn task(name: &str) -> TaskDef {
    TaskDef::new(name, format!("/work/{name}/acr-task.yaml"), None)
}

fn run_at(id: &str, task: Option<&str>, started: DateTime<Utc>) -> RunRecord {
    let mut run = RunRecord::new(id, task.map(str::to_owned), RunTrigger::Manual, "linux");
    run.started = started;
    run
}

fn finish(status: RunStatus, at: DateTime<Utc>) -> RunFinish {
    RunFinish {
        status,
        finished: at,
        exit_code: Some(if status == RunStatus::Succeeded { 0 } else { 1 }),
        steps: vec![StepRecord {
            id: "build".into(),
            status: "succeeded".into(),
            duration_ms: 1234,
            exit_code: Some(0),
        }],
        dependencies_json: Some(r#"[{"image":null,"runtime-dependency":null}]"#.into()),
    }
}

fn pragma<T: rusqlite::types::FromSql>(store: &Store, name: &str) -> T {
    store
        .conn()
        .pragma_query_value(None, name, |r| r.get(0))
        .expect("pragma")
}

// ---------------------------------------------------------------- open, settings, migrations

#[test]
fn open_creates_directories_database_and_settings() {
    let dir = home();
    let nested = dir.path().join("a").join("b");
    let store = open(&nested);
    assert!(nested.join(DB_FILE).is_file());
    assert_eq!(store.path(), nested.join(DB_FILE));
    assert_eq!(store.home(), nested);
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(SCHEMA_VERSION, 3);
    assert_eq!(pragma::<String>(&store, "journal_mode"), "wal");
    assert_eq!(pragma::<i64>(&store, "foreign_keys"), 1);
    assert_eq!(pragma::<i64>(&store, "busy_timeout"), 5000);
    assert_eq!(pragma::<i64>(&store, "synchronous"), 1, "NORMAL");
}

#[cfg(unix)]
#[test]
fn store_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = home();
    let h = dir.path().join("home");
    let store = open(&h);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&h), 0o700);
    assert_eq!(mode(store.path()), 0o600);
}

#[test]
fn reopen_persists_and_migrations_are_idempotent() {
    let dir = home();
    {
        let store = open(dir.path());
        store.create_task(&task("hello-world")).unwrap();
        assert_eq!(store.next_run_id("").unwrap(), "ca1");
    }
    let again = open(dir.path());
    let third = open(dir.path()); // a second connection while the first is open
    assert_eq!(again.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(again.get_task("hello-world").unwrap().is_some());
    assert_eq!(third.next_run_id("").unwrap(), "ca2");
    assert_eq!(again.next_run_id("").unwrap(), "ca3");
}

#[test]
fn concurrent_first_open_migrates_once() {
    let dir = home();
    let path = dir.path().to_path_buf();
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (path, barrier) = (path.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                Store::open(&path).map(|s| s.schema_version())
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().unwrap().unwrap(), SCHEMA_VERSION);
    }
}

#[test]
fn newer_schema_is_refused() {
    let dir = home();
    {
        let store = open(dir.path());
        store
            .conn()
            .pragma_update(None, "user_version", 99)
            .unwrap();
    }
    let err = Store::open(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::SchemaTooNew {
                found: 99,
                supported: SCHEMA_VERSION,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("taskrun.db"), "{err}");
}

#[test]
fn a_file_that_is_not_a_database_is_an_error() {
    let dir = home();
    std::fs::write(dir.path().join(DB_FILE), vec![0x5a_u8; 8192]).unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::Sqlite { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("taskrun.db"), "{msg}");
    assert!(msg.contains("not a database"), "{msg}");
}

#[test]
fn home_cannot_be_created() {
    let dir = home();
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let err = Store::open(&file.join("sub")).unwrap_err();
    assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
    assert!(
        err.to_string().contains("create the store directory"),
        "{err}"
    );
}

#[test]
fn corrupt_rows_are_errors_not_panics() {
    let dir = home();
    let store = open(dir.path());
    store.create_task(&task("hello")).unwrap();
    store
        .insert_run(&run_at("ca1", Some("hello"), t(0)))
        .unwrap();
    store
        .record_digest(&BaseImageRecord {
            image: "node:15".into(),
            digest: "sha256:a".into(),
            platform: None,
            platform_digest: None,
            checked: t(0),
        })
        .unwrap();
    store
        .set_task_dependencies("hello", &[("node:15".into(), DependencyKind::Runtime)])
        .unwrap();
    {
        let conn = store.conn();
        conn.execute_batch(
            "UPDATE runs SET status = 'Bogus';
             UPDATE tasks SET set_json = '{not json';
             UPDATE base_images SET checked = 'yesterday';
             UPDATE task_dependencies SET kind = 'Sometimes';",
        )
        .unwrap();
    }
    let err = store.get_run("ca1").unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("Bogus"), "{err}");
    assert!(matches!(
        store.list_runs(None, None),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        store.get_task("hello"),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        store.list_tasks(),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        store.get_digest("node:15", None),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        store.tasks_depending_on("node:15"),
        Err(StoreError::Corrupt { .. })
    ));
    // A value of the wrong SQL type is an error too.
    store
        .conn()
        .execute("UPDATE runs SET status = 'Queued', started = 42", [])
        .unwrap();
    assert!(store.get_run("ca1").is_err());
}

#[test]
fn default_home_resolution() {
    let os = |s: &str| Some(std::ffi::OsString::from(s));
    assert_eq!(home_from(os("/th"), os("/xdg"), os("/h")), Path::new("/th"));
    assert_eq!(
        home_from(os(""), os("/xdg"), os("/h")),
        Path::new("/xdg/taskrun")
    );
    assert_eq!(
        home_from(None, os("relative"), os("/h")),
        Path::new("/h/.local/share/taskrun")
    );
    assert_eq!(
        home_from(None, None, os("/h")),
        Path::new("/h/.local/share/taskrun")
    );
    assert_eq!(home_from(None, None, None), Path::new(".taskrun"));
    // The real one resolves to something.
    assert!(!default_home().as_os_str().is_empty());
}

// ---------------------------------------------------------------- tasks

#[test]
fn task_defaults_follow_az() {
    let plain = home();
    let def = TaskDef::new(
        "hello-world",
        "/x/acr-task.yaml",
        Some(plain.path().display().to_string()),
    );
    assert!(def.base_image_trigger_enabled);
    assert_eq!(def.base_image_trigger_type, BaseImageTriggerType::Runtime);
    assert_eq!(def.timeout_secs, 3600);
    assert!(def.schedules.is_empty());
    assert!(
        !def.commit_trigger_enabled,
        "plain directory: no commit trigger"
    );

    let repo = home();
    std::fs::create_dir(repo.path().join(".git")).unwrap();
    let ctx = repo.path().display().to_string();
    assert!(TaskDef::new("a", "/f", Some(ctx.clone())).commit_trigger_enabled);
    assert!(TaskDef::new("a", "/f", Some(format!("{ctx}#main"))).commit_trigger_enabled);
    assert!(is_git_context("/does/not/exist#main"));
    assert!(!is_git_context("#main"));
    assert!(!TaskDef::new("a", "/f", None).commit_trigger_enabled);
}

#[test]
fn task_crud() {
    let dir = home();
    let store = open(dir.path());
    let mut def = task("base-import-node");
    def.context = Some("/src/node#main".into());
    def.values_file = Some("/src/values.yaml".into());
    def.set = vec![("A".into(), "1".into()), ("A".into(), "2".into())];
    def.set_secret = vec![("TOKEN".into(), "s3cret".into())];
    def.registry = Some("localhost:5000".into());
    def.base_image_trigger_type = BaseImageTriggerType::All;
    def.schedules = vec!["0 * * * *".into(), "*/5 1 * * Mon".into()];
    def.commit_trigger_enabled = true;
    def.timeout_secs = 600;
    def.created = t(-1000);

    let before = now();
    let created = store.create_task(&def).unwrap();
    assert!(created.created >= before, "the store sets the times");
    assert_eq!(created.created, created.updated);
    let got = store.get_task("base-import-node").unwrap().unwrap();
    assert_eq!(got, created);
    assert_eq!(got.set, def.set);
    assert_eq!(got.set_secret, def.set_secret);
    assert_eq!(got.schedules, def.schedules);
    assert_eq!(store.get_task("nope").unwrap(), None);

    assert!(matches!(
        store.create_task(&def),
        Err(StoreError::TaskExists(n)) if n == "base-import-node"
    ));

    std::thread::sleep(Duration::from_millis(2));
    let updated = store
        .update_task(
            "base-import-node",
            &TaskUpdate {
                timeout_secs: Some(7200),
                context: Some(None),
                base_image_trigger_enabled: Some(false),
                ..TaskUpdate::default()
            },
        )
        .unwrap();
    assert_eq!(updated.timeout_secs, 7200);
    assert_eq!(updated.context, None);
    assert!(!updated.base_image_trigger_enabled);
    assert_eq!(updated.set_secret, def.set_secret, "untouched fields stay");
    assert_eq!(updated.schedules, def.schedules);
    assert_eq!(updated.created, created.created);
    assert!(updated.updated > created.updated);
    assert_eq!(
        store.get_task("base-import-node").unwrap().unwrap(),
        updated
    );

    assert!(matches!(
        store.update_task("nope", &TaskUpdate::default()),
        Err(StoreError::TaskNotFound(_))
    ));
    assert!(matches!(
        store.update_task(
            "base-import-node",
            &TaskUpdate {
                file: Some("relative.yaml".into()),
                ..TaskUpdate::default()
            }
        ),
        Err(StoreError::Invalid { .. })
    ));

    store.create_task(&task("aaaaa")).unwrap();
    store.create_task(&task("zzzzz")).unwrap();
    let names: Vec<_> = store
        .list_tasks()
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["aaaaa", "base-import-node", "zzzzz"]);

    store.delete_task("aaaaa").unwrap();
    assert!(matches!(
        store.delete_task("aaaaa"),
        Err(StoreError::TaskNotFound(_))
    ));
    assert_eq!(store.list_tasks().unwrap().len(), 2);
}

#[test]
fn task_validation() {
    let dir = home();
    let store = open(dir.path());
    let mut rel = task("hello");
    rel.file = "acr-task.yaml".into();
    assert!(matches!(
        store.create_task(&rel),
        Err(StoreError::Invalid { .. })
    ));
    let mut zero = task("hello");
    zero.timeout_secs = 0;
    assert!(matches!(
        store.create_task(&zero),
        Err(StoreError::Invalid { .. })
    ));
    let mut huge = task("hello");
    huge.timeout_secs = u64::MAX;
    assert!(matches!(
        store.create_task(&huge),
        Err(StoreError::Invalid { .. })
    ));
    assert!(matches!(
        store.create_task(&task("bad name")),
        Err(StoreError::InvalidTaskName { .. })
    ));
    assert!(store.list_tasks().unwrap().is_empty());
}

#[test]
fn task_names() {
    for ok in [
        "a",
        "A1",
        "hello-world",
        "node_public",
        "0abc",
        &"x".repeat(50),
    ] {
        assert!(validate_task_name(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "-x",
        "_x",
        "a b",
        "a.b",
        "a/b",
        "é",
        "name\n",
        &"x".repeat(51),
    ] {
        let err = validate_task_name(bad).unwrap_err();
        assert!(matches!(err, StoreError::InvalidTaskName { .. }), "{bad}");
    }
}

#[test]
fn secrets_stay_out_of_debug() {
    let mut def = task("hello");
    def.set_secret = vec![("TOKEN".into(), "hunter2-very-secret".into())];
    let shown = format!("{def:?} {def:#?}");
    assert!(shown.contains("TOKEN"));
    assert!(!shown.contains("hunter2"), "{shown}");
    let update = TaskUpdate {
        set_secret: Some(def.set_secret.clone()),
        ..TaskUpdate::default()
    };
    let shown = format!("{update:?}");
    assert!(
        shown.contains("TOKEN") && !shown.contains("hunter2"),
        "{shown}"
    );
}

#[test]
fn delete_task_removes_runs_logs_links_and_state() {
    let dir = home();
    let store = open(dir.path());
    store.create_task(&task("hello")).unwrap();
    store.create_task(&task("other")).unwrap();
    store
        .insert_run(&run_at("ca1", Some("hello"), t(0)))
        .unwrap();
    store
        .insert_run(&run_at("ca2", Some("other"), t(1)))
        .unwrap();
    store.insert_run(&run_at("ca3", None, t(2))).unwrap();
    store.append_log("ca1", b"log").unwrap();
    store.set_task_state("hello", "commit", "abc").unwrap();
    store
        .set_task_dependencies("hello", &[("node:15".into(), DependencyKind::Runtime)])
        .unwrap();
    store.delete_task("hello").unwrap();

    assert_eq!(store.get_run("ca1").unwrap(), None);
    assert!(matches!(
        store.read_log("ca1"),
        Err(StoreError::RunNotFound(_))
    ));
    let left: i64 = store
        .conn()
        .query_row("SELECT COUNT(*) FROM run_logs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
    assert!(store.distinct_tracked_images().unwrap().is_empty());
    let ids: Vec<_> = store
        .list_runs(None, None)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["ca3", "ca2"]);
    // Recreating the task starts with no state.
    store.create_task(&task("hello")).unwrap();
    assert_eq!(store.get_task_state("hello", "commit").unwrap(), None);
}

#[test]
fn task_state_round_trip() {
    let dir = home();
    let store = open(dir.path());
    store.create_task(&task("hello")).unwrap();
    assert_eq!(store.get_task_state("hello", "last-commit").unwrap(), None);
    store.set_task_state("hello", "last-commit", "abc").unwrap();
    store.set_task_state("hello", "last-commit", "def").unwrap();
    store
        .set_task_state("hello", "timer:0 * * * *", "2026-01-01T00:00:00Z")
        .unwrap();
    assert_eq!(
        store
            .get_task_state("hello", "last-commit")
            .unwrap()
            .as_deref(),
        Some("def")
    );
    assert_eq!(
        store
            .get_task_state("hello", "timer:0 * * * *")
            .unwrap()
            .as_deref(),
        Some("2026-01-01T00:00:00Z")
    );
    assert!(store.delete_task_state("hello", "last-commit").unwrap());
    assert!(!store.delete_task_state("hello", "last-commit").unwrap());
    assert!(matches!(
        store.set_task_state("nope", "k", "v"),
        Err(StoreError::TaskNotFound(_))
    ));
}

// ---------------------------------------------------------------- run ids

#[test]
fn run_id_encoding() {
    let ids: Vec<_> = (1..=40).map(|n| encode_run_id("ca", n)).collect();
    assert_eq!(
        &ids[..10],
        [
            "ca1", "ca2", "ca3", "ca4", "ca5", "ca6", "ca7", "ca8", "ca9", "caa"
        ]
    );
    assert_eq!(ids[32], "cax"); // seen in ACR
    assert_eq!(ids[34], "caz");
    assert_eq!(ids[35], "ca10");
    assert_eq!(ids[36], "ca11"); // seen in ACR
    assert_eq!(ids[39], "ca14", "the 40th id");
    assert_eq!(encode_run_id("cf", 48), "cf1c"); // seen in ACR
    assert_eq!(encode_run_id("ca", 36 * 36), "ca100");
    assert_eq!(encode_run_id("ca", u64::MAX), "ca3w5e11264sgsf");

    let mut seen = HashSet::new();
    for n in 1..=50_000 {
        let id = encode_run_id("cb", n);
        assert_eq!(parse_run_id(&id), Some(("cb", n)), "{id}");
        assert!(seen.insert(id));
    }
    assert_eq!(parse_run_id("ca3w5e11264sgsf"), Some(("ca", u64::MAX)));
    for bad in [
        "",
        "c",
        "ca",
        "ca0",
        "ca01",
        "CA1",
        "ba1",
        "ca-1",
        "caA",
        "ca3w5e11264sgsg",
    ] {
        assert_eq!(parse_run_id(bad), None, "{bad}");
    }
}

#[test]
fn registry_prefixes() {
    assert_eq!(registry_prefix(0).as_deref(), Some("ca"));
    assert_eq!(registry_prefix(1).as_deref(), Some("cb"));
    assert_eq!(registry_prefix(25).as_deref(), Some("cz"));
    assert_eq!(registry_prefix(26).as_deref(), Some("da"));
    assert_eq!(registry_prefix(623).as_deref(), Some("zz"));
    assert_eq!(registry_prefix(624), None);
    let all: HashSet<_> = (0..624).filter_map(registry_prefix).collect();
    assert_eq!(all.len(), 624);
    assert_eq!(registry_key("  MyReg.AzureCR.io/ "), "myreg.azurecr.io");
}

#[test]
fn next_run_id_sequence_and_per_registry_counters() {
    let dir = home();
    let store = open(dir.path());
    let ids: Vec<_> = (0..40)
        .map(|_| store.next_run_id("localhost:5000").unwrap())
        .collect();
    assert_eq!(
        &ids[..10],
        [
            "ca1", "ca2", "ca3", "ca4", "ca5", "ca6", "ca7", "ca8", "ca9", "caa"
        ]
    );
    assert_eq!(ids[39], "ca14");
    // Another registry has its own counter (and prefix, so ids stay unique in the store).
    assert_eq!(store.next_run_id("upstream.example").unwrap(), "cb1");
    assert_eq!(store.next_run_id("upstream.example").unwrap(), "cb2");
    assert_eq!(store.next_run_id("").unwrap(), "cc1");
    assert_eq!(store.next_run_id("LOCALHOST:5000/").unwrap(), "ca15");
    assert_eq!(store.next_run_id("upstream.example").unwrap(), "cb3");
}

#[test]
fn run_id_prefixes_run_out_cleanly() {
    let dir = home();
    let store = open(dir.path());
    store
        .conn()
        .execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 623)
             INSERT INTO run_counters (registry, prefix, last_seq)
             SELECT 'r' || i, 'p' || i, 1 FROM n;",
        )
        .unwrap();
    assert!(matches!(
        store.next_run_id("one-too-many"),
        Err(StoreError::RunIdPrefixesExhausted(_))
    ));
    assert_eq!(store.next_run_id("r5").unwrap(), "p52");
}

// ---------------------------------------------------------------- runs

#[test]
fn run_lifecycle() {
    let dir = home();
    let store = open(dir.path());
    store.create_task(&task("hello")).unwrap();
    let mut run = run_at("ca1", Some("hello"), t(0));
    run.trigger = RunTrigger::ImageUpdate;
    run.commit = Some("abc123".into());
    run.branch = Some("main".into());
    store.insert_run(&run).unwrap();
    assert_eq!(store.get_run("ca1").unwrap().unwrap(), run);
    assert!(matches!(
        store.insert_run(&run),
        Err(StoreError::RunExists(_))
    ));
    assert!(matches!(
        store.insert_run(&run_at("ca2", Some("nope"), t(0))),
        Err(StoreError::TaskNotFound(_))
    ));
    assert_eq!(store.get_run("ca2").unwrap(), None);

    assert_eq!(store.running_run("hello").unwrap().unwrap().id, "ca1");
    assert!(!store.has_completed_run("hello").unwrap());
    store.set_run_status("ca1", RunStatus::Running).unwrap();
    assert_eq!(
        store.get_run("ca1").unwrap().unwrap().status,
        RunStatus::Running
    );

    assert!(matches!(
        store.finish_run("ca1", &finish(RunStatus::Running, t(5))),
        Err(StoreError::Invalid { .. })
    ));
    let mut bad_json = finish(RunStatus::Succeeded, t(5));
    bad_json.dependencies_json = Some("{oops".into());
    assert!(matches!(
        store.finish_run("ca1", &bad_json),
        Err(StoreError::Invalid { .. })
    ));

    let done = store
        .finish_run("ca1", &finish(RunStatus::Succeeded, t(65)))
        .unwrap();
    assert_eq!(done.status, RunStatus::Succeeded);
    assert_eq!(done.duration(), Some(chrono::Duration::seconds(65)));
    assert_eq!(store.get_run("ca1").unwrap().unwrap(), done);
    assert_eq!(done.steps[0].duration_ms, 1234);
    assert_eq!(done.trigger, RunTrigger::ImageUpdate);
    assert_eq!(done.commit.as_deref(), Some("abc123"));
    assert!(store.running_run("hello").unwrap().is_none());
    assert!(store.has_completed_run("hello").unwrap());

    assert!(matches!(
        store.finish_run("ca1", &finish(RunStatus::Failed, t(70))),
        Err(StoreError::RunAlreadyFinished {
            status: RunStatus::Succeeded,
            ..
        })
    ));
    assert!(matches!(
        store.set_run_status("ca1", RunStatus::Running),
        Err(StoreError::RunAlreadyFinished { .. })
    ));
    assert!(matches!(
        store.finish_run("zz9", &finish(RunStatus::Failed, t(70))),
        Err(StoreError::RunNotFound(_))
    ));

    // Quick runs have no task.
    let quick = run_at("ca2", None, t(100));
    store.insert_run(&quick).unwrap();
    assert_eq!(store.get_run("ca2").unwrap().unwrap().task, None);
}

#[test]
fn list_runs_order_filter_and_top() {
    let dir = home();
    let store = open(dir.path());
    store.create_task(&task("alpha")).unwrap();
    store.create_task(&task("bravo")).unwrap();
    // Inserted out of order; two share a start time (insertion order breaks the tie).
    for (id, task, at) in [
        ("ca3", "alpha", 30),
        ("ca1", "alpha", 10),
        ("ca2", "bravo", 20),
        ("ca4", "bravo", 30),
        ("ca5", "alpha", 50),
    ] {
        store.insert_run(&run_at(id, Some(task), t(at))).unwrap();
    }
    let ids = |runs: Vec<RunRecord>| runs.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_runs(None, None).unwrap()),
        ["ca5", "ca4", "ca3", "ca2", "ca1"]
    );
    assert_eq!(ids(store.list_runs(None, Some(2)).unwrap()), ["ca5", "ca4"]);
    assert_eq!(
        ids(store.list_runs(None, Some(0)).unwrap()),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(store.list_runs(Some("alpha"), None).unwrap()),
        ["ca5", "ca3", "ca1"]
    );
    assert_eq!(
        ids(store.list_runs(Some("bravo"), Some(1)).unwrap()),
        ["ca4"]
    );
    assert!(store.list_runs(Some("nope"), None).unwrap().is_empty());
    assert_eq!(store.latest_run(None).unwrap().unwrap().id, "ca5");
    assert_eq!(store.latest_run(Some("bravo")).unwrap().unwrap().id, "ca4");
    assert_eq!(store.latest_run(Some("nope")).unwrap(), None);

    // running_run picks the newest unfinished one.
    store
        .finish_run("ca5", &finish(RunStatus::Failed, t(60)))
        .unwrap();
    assert_eq!(store.running_run("alpha").unwrap().unwrap().id, "ca3");
}

#[test]
fn list_runs_by_status_filters_before_top() {
    let dir = home();
    let store = open(dir.path());
    store.create_task(&task("alpha")).unwrap();
    store.create_task(&task("bravo")).unwrap();
    for (id, task, at, status) in [
        ("ca1", "alpha", 10, Some(RunStatus::Failed)),
        ("ca2", "bravo", 20, Some(RunStatus::Failed)),
        ("ca3", "alpha", 30, Some(RunStatus::Succeeded)),
        ("ca4", "alpha", 40, Some(RunStatus::Failed)),
        ("ca5", "alpha", 50, None),
    ] {
        store.insert_run(&run_at(id, Some(task), t(at))).unwrap();
        if let Some(s) = status {
            store.finish_run(id, &finish(s, t(at + 1))).unwrap();
        }
    }
    let ids = |runs: Vec<RunRecord>| runs.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let failed = Some(RunStatus::Failed);
    assert_eq!(
        ids(store.list_runs_with(None, failed, None).unwrap()),
        ["ca4", "ca2", "ca1"]
    );
    // The top N of the runs that have the status, not the status among the top N.
    assert_eq!(
        ids(store.list_runs_with(None, failed, Some(2)).unwrap()),
        ["ca4", "ca2"]
    );
    assert_eq!(
        ids(store
            .list_runs_with(Some("alpha"), failed, Some(5))
            .unwrap()),
        ["ca4", "ca1"]
    );
    assert_eq!(
        ids(store
            .list_runs_with(None, Some(RunStatus::Queued), None)
            .unwrap()),
        ["ca5"]
    );
    assert!(
        store
            .list_runs_with(Some("bravo"), Some(RunStatus::Canceled), None)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ids(store.list_runs_with(Some("alpha"), None, Some(2)).unwrap()),
        ["ca5", "ca4"]
    );
}

#[test]
fn run_owner_reads_what_set_run_owner_wrote() {
    let dir = home();
    let store = open(dir.path());
    store.create_task(&task("alpha")).unwrap();
    store
        .insert_run(&run_at("ca1", Some("alpha"), t(1)))
        .unwrap();
    assert_eq!(store.run_owner("ca1").unwrap(), None);
    assert_eq!(store.run_owner("nope").unwrap(), None);
    store.set_run_owner("ca1", "abcd-42").unwrap();
    assert_eq!(store.run_owner("ca1").unwrap().as_deref(), Some("abcd-42"));
}

#[test]
fn enum_words() {
    assert_eq!(RunTrigger::ImageUpdate.to_string(), "Image Update");
    assert_eq!(
        "image update".parse::<RunTrigger>(),
        Ok(RunTrigger::ImageUpdate)
    );
    assert_eq!(
        "Image-Update".parse::<RunTrigger>(),
        Ok(RunTrigger::ImageUpdate)
    );
    assert_eq!("timer".parse::<RunTrigger>(), Ok(RunTrigger::Timer));
    assert!("Cron".parse::<RunTrigger>().is_err());
    for s in [
        RunStatus::Queued,
        RunStatus::Running,
        RunStatus::Succeeded,
        RunStatus::Failed,
        RunStatus::Canceled,
        RunStatus::Timeout,
        RunStatus::Error,
    ] {
        assert_eq!(s.as_str().parse::<RunStatus>(), Ok(s));
    }
    assert_eq!("cancelled".parse::<RunStatus>(), Ok(RunStatus::Canceled));
    assert!(!RunStatus::Running.is_terminal() && RunStatus::Timeout.is_terminal());
    assert_eq!(
        "all".parse::<BaseImageTriggerType>(),
        Ok(BaseImageTriggerType::All)
    );
    assert_eq!(
        "RUNTIME".parse::<BaseImageTriggerType>(),
        Ok(BaseImageTriggerType::Runtime)
    );
    let err = "Both".parse::<BaseImageTriggerType>().unwrap_err();
    assert_eq!(err.to_string(), "unknown base-image trigger type \"Both\"");
    assert_eq!(
        serde_json::to_string(&RunTrigger::ImageUpdate).unwrap(),
        "\"Image Update\""
    );
}

// ---------------------------------------------------------------- logs

#[test]
fn logs_round_trip_multi_megabyte() {
    let dir = home();
    let store = open(dir.path());
    store.insert_run(&run_at("ca1", None, t(0))).unwrap();
    store.insert_run(&run_at("ca2", None, t(1))).unwrap();
    assert!(store.read_log("ca1").unwrap().is_empty());

    let mut expected = Vec::new();
    // Many small appends...
    for i in 0..2000u32 {
        let line = format!(
            "2026/01/01 00:00:00 line {i} {}\n",
            "x".repeat(i as usize % 200)
        );
        store.append_log("ca1", line.as_bytes()).unwrap();
        expected.extend_from_slice(line.as_bytes());
    }
    // ... an empty one, and one big binary append that is split into chunks.
    store.append_log("ca1", b"").unwrap();
    let big: Vec<u8> = (0..(5 * LOG_CHUNK_MAX + 123))
        .map(|i| (i % 251) as u8)
        .collect();
    store.append_log("ca1", &big).unwrap();
    expected.extend_from_slice(&big);
    store.append_log("ca2", b"other run").unwrap();

    let got = store.read_log("ca1").unwrap();
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "log differs");
    assert!(got.len() > 5_000_000);
    assert_eq!(store.read_log("ca2").unwrap(), b"other run");

    let biggest: i64 = store
        .conn()
        .query_row("SELECT MAX(length(data)) FROM run_logs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(biggest, LOG_CHUNK_MAX as i64);

    // Survives a reopen.
    drop(store);
    assert!(open(dir.path()).read_log("ca1").unwrap() == expected);
}

#[test]
fn log_follow_with_cursor() {
    let dir = home();
    let store = open(dir.path());
    store.insert_run(&run_at("ca1", None, t(0))).unwrap();
    let (none, c0) = store.read_log_since("ca1", 0).unwrap();
    assert!(none.is_empty());
    assert_eq!(c0, 0);
    store.append_log("ca1", b"one\n").unwrap();
    store.append_log("ca1", b"two\n").unwrap();
    let (part, c1) = store.read_log_since("ca1", c0).unwrap();
    assert_eq!(part, b"one\ntwo\n");
    let (empty, c1b) = store.read_log_since("ca1", c1).unwrap();
    assert!(empty.is_empty());
    assert_eq!(c1b, c1);
    store.append_log("ca1", b"three\n").unwrap();
    assert_eq!(store.read_log_since("ca1", c1).unwrap().0, b"three\n");
}

#[test]
fn logs_of_unknown_runs() {
    let dir = home();
    let store = open(dir.path());
    assert!(matches!(
        store.append_log("ca9", b"x"),
        Err(StoreError::RunNotFound(_))
    ));
    assert!(matches!(
        store.read_log("ca9"),
        Err(StoreError::RunNotFound(_))
    ));
}

// ---------------------------------------------------------------- base images

#[test]
fn dependency_links_and_reverse_lookup() {
    let dir = home();
    let store = open(dir.path());
    let mut gate = task("base-import-node");
    gate.base_image_trigger_type = BaseImageTriggerType::Runtime;
    store.create_task(&gate).unwrap();
    let mut app = task("hello-world");
    app.base_image_trigger_type = BaseImageTriggerType::All;
    store.create_task(&app).unwrap();
    let mut off = task("disabled");
    off.base_image_trigger_enabled = false;
    store.create_task(&off).unwrap();

    let upstream = "upstream.local/node:15-alpine".to_string();
    let base = "base.local/node:15-alpine".to_string();
    let golang = "docker.io/library/golang:1.10-alpine".to_string();
    store
        .set_task_dependencies(
            "base-import-node",
            &[
                (upstream.clone(), DependencyKind::Runtime),
                (golang.clone(), DependencyKind::Buildtime),
                (golang.clone(), DependencyKind::Buildtime), // duplicate ignored
            ],
        )
        .unwrap();
    store
        .set_task_dependencies(
            "hello-world",
            &[
                (base.clone(), DependencyKind::Runtime),
                (golang.clone(), DependencyKind::Buildtime),
            ],
        )
        .unwrap();
    store
        .set_task_dependencies("disabled", &[(base.clone(), DependencyKind::Runtime)])
        .unwrap();

    assert_eq!(
        store.task_dependencies("base-import-node").unwrap(),
        [
            (golang.clone(), DependencyKind::Buildtime),
            (upstream.clone(), DependencyKind::Runtime)
        ]
    );
    assert_eq!(
        store.tasks_depending_on(&golang).unwrap(),
        [
            ("base-import-node".to_string(), DependencyKind::Buildtime),
            ("hello-world".to_string(), DependencyKind::Buildtime)
        ]
    );
    assert_eq!(
        store.tasks_depending_on(&base).unwrap(),
        [
            ("disabled".to_string(), DependencyKind::Runtime),
            ("hello-world".to_string(), DependencyKind::Runtime)
        ]
    );
    assert_eq!(
        store.tasks_triggered_by(&upstream).unwrap(),
        ["base-import-node"]
    );
    assert_eq!(store.tasks_triggered_by(&base).unwrap(), ["hello-world"]);
    // Buildtime only fires tasks with type All.
    assert_eq!(store.tasks_triggered_by(&golang).unwrap(), ["hello-world"]);
    assert!(store.tasks_triggered_by("nothing:1").unwrap().is_empty());
    assert_eq!(
        store.distinct_tracked_images().unwrap(),
        [base.clone(), golang.clone(), upstream.clone()]
    );

    // Replaced after the next successful run.
    store
        .set_task_dependencies(
            "base-import-node",
            &[(upstream.clone(), DependencyKind::Runtime)],
        )
        .unwrap();
    assert_eq!(
        store.tasks_depending_on(&golang).unwrap(),
        [("hello-world".to_string(), DependencyKind::Buildtime)]
    );
    store.set_task_dependencies("hello-world", &[]).unwrap();
    store.set_task_dependencies("disabled", &[]).unwrap();
    assert_eq!(store.distinct_tracked_images().unwrap(), [upstream]);
    assert!(matches!(
        store.set_task_dependencies("nope", &[]),
        Err(StoreError::TaskNotFound(_))
    ));
}

#[test]
fn digest_records() {
    let dir = home();
    let store = open(dir.path());
    let image = "docker.io/library/node:15-alpine";
    assert_eq!(store.get_digest(image, None).unwrap(), None);
    let plain = BaseImageRecord {
        image: image.into(),
        digest: "sha256:index1".into(),
        platform: None,
        platform_digest: None,
        checked: t(0),
    };
    let amd64 = BaseImageRecord {
        platform: Some("linux/amd64".into()),
        platform_digest: Some("sha256:amd1".into()),
        ..plain.clone()
    };
    store.record_digest(&plain).unwrap();
    store.record_digest(&amd64).unwrap();
    assert_eq!(store.get_digest(image, None).unwrap().unwrap(), plain);
    assert_eq!(
        store
            .get_digest(image, Some("linux/amd64"))
            .unwrap()
            .unwrap(),
        amd64
    );
    assert_eq!(store.get_digest(image, Some("linux/arm64")).unwrap(), None);

    let newer = BaseImageRecord {
        digest: "sha256:index2".into(),
        platform_digest: Some("sha256:amd1".into()),
        checked: t(600),
        ..amd64.clone()
    };
    store.record_digest(&newer).unwrap();
    assert_eq!(
        store
            .get_digest(image, Some("linux/amd64"))
            .unwrap()
            .unwrap(),
        newer
    );
    assert_eq!(store.digests_of(image).unwrap(), [plain, newer]);
    assert!(store.digests_of("other:1").unwrap().is_empty());
}

// ---------------------------------------------------------------- concurrency

const WORKER_RUNS: usize = 200;
const CHILD_HOME: &str = "TASKRUN_STORE_TEST_CHILD_HOME";
const CHILD_START: &str = "TASKRUN_STORE_TEST_CHILD_START_MS";

fn millis_now() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// One writer: its own connection, `WORKER_RUNS` × (allocate id, insert run, log, finish).
fn worker(home: &Path, name: &str, start_at_ms: u128) -> Result<Vec<String>> {
    let store = Store::open(home)?;
    while millis_now() < start_at_ms {
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut ids = Vec::with_capacity(WORKER_RUNS);
    for i in 0..WORKER_RUNS {
        let id = store.next_run_id("localhost:5000")?;
        let run = RunRecord::new(id.clone(), Some("conc".into()), RunTrigger::Timer, "linux");
        store.insert_run(&run)?;
        store.append_log(&id, format!("{name} {i}\n").as_bytes())?;
        store.finish_run(&id, &finish(RunStatus::Succeeded, now()))?;
        if i % 20 == 0 {
            // Readers interleave with the writers.
            store.list_runs(Some("conc"), Some(15))?;
        }
        ids.push(id);
    }
    Ok(ids)
}

/// Body of the child process of `concurrent_writers_threads_and_process`; does nothing when
/// run as an ordinary test.
#[test]
fn child_worker() {
    let Some(home) = std::env::var_os(CHILD_HOME) else {
        return;
    };
    let start: u128 = std::env::var(CHILD_START)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    worker(Path::new(&home), "child", start).expect("child worker");
}

#[test]
fn concurrent_writers_threads_and_process() {
    let dir = home();
    let path = dir.path().to_path_buf();
    open(&path).create_task(&task("conc")).unwrap();
    let start_at = millis_now() + 1000;

    // A second process: this test binary, running only `child_worker`.
    let module = module_path!()
        .split_once("::")
        .map_or(module_path!(), |(_, rest)| rest);
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            &format!("{module}::child_worker"),
            "--exact",
            "--test-threads=1",
        ])
        .env(CHILD_HOME, &path)
        .env(CHILD_START, start_at.to_string())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();

    let threads: Vec<_> = ["thread-a", "thread-b"]
        .into_iter()
        .map(|name| {
            let path = path.clone();
            std::thread::spawn(move || worker(&path, name, start_at))
        })
        .collect();
    let mut all = Vec::new();
    for t in threads {
        let ids = t
            .join()
            .unwrap()
            .unwrap_or_else(|e| panic!("worker failed: {e}"));
        assert_eq!(ids.len(), WORKER_RUNS);
        all.extend(ids);
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran its worker: {stdout}"
    );

    let store = open(&path);
    let runs = store.list_runs(Some("conc"), None).unwrap();
    assert_eq!(runs.len(), 3 * WORKER_RUNS);
    let ids: HashSet<_> = runs.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids.len(), 3 * WORKER_RUNS, "ids are unique");
    assert!(all.iter().all(|id| ids.contains(id)));
    // The counter handed out exactly 1..=600.
    let seqs: HashSet<u64> = ids.iter().map(|id| parse_run_id(id).unwrap().1).collect();
    assert_eq!(seqs, (1..=3 * WORKER_RUNS as u64).collect());
    assert!(runs.iter().all(|r| r.status == RunStatus::Succeeded));
    let child_runs = runs
        .iter()
        .filter(|r| store.read_log(&r.id).unwrap().starts_with(b"child "))
        .count();
    assert_eq!(child_runs, WORKER_RUNS);
}

#[test]
fn one_store_shared_between_threads() {
    let dir = home();
    let store = Arc::new(open(dir.path()));
    store.create_task(&task("conc")).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                (0..50)
                    .map(|_| {
                        let id = store.next_run_id("")?;
                        store.insert_run(&RunRecord::new(
                            id.clone(),
                            Some("conc".into()),
                            RunTrigger::Manual,
                            "linux",
                        ))?;
                        Ok(id)
                    })
                    .collect::<Result<Vec<_>>>()
            })
        })
        .collect();
    let mut ids = HashSet::new();
    for h in handles {
        for id in h.join().unwrap().unwrap() {
            assert!(ids.insert(id));
        }
    }
    assert_eq!(ids.len(), 200);
    assert_eq!(store.list_runs(None, None).unwrap().len(), 200);
}

#[test]
fn runs_whose_process_has_ended_are_finished_as_error() {
    let dir = home();
    let store = open(dir.path());
    for id in ["ca1", "ca2", "ca3", "ca4"] {
        let mut run = RunRecord::new(id, None, RunTrigger::Manual, "linux");
        run.status = RunStatus::Running;
        store.insert_run(&run).unwrap();
    }
    store.set_run_owner("ca1", "dead").unwrap();
    store.set_run_owner("ca2", "alive").unwrap();
    store.set_run_owner("ca4", "dead").unwrap();
    store
        .finish_run("ca4", &finish(RunStatus::Succeeded, t(5)))
        .unwrap();
    let reaped = store.reap_orphans(|owner| owner == "dead").unwrap();
    assert_eq!(reaped, ["ca1"], "ca2 alive, ca3 has no owner, ca4 finished");
    let ca1 = store.get_run("ca1").unwrap().unwrap();
    assert_eq!(ca1.status, RunStatus::Error);
    assert!(ca1.finished.is_some());
    assert_eq!(
        store.get_run("ca2").unwrap().unwrap().status,
        RunStatus::Running
    );
    assert_eq!(
        store.get_run("ca3").unwrap().unwrap().status,
        RunStatus::Running
    );
    assert_eq!(
        store.get_run("ca4").unwrap().unwrap().status,
        RunStatus::Succeeded
    );
    // Runs without a recorded process (ca3) are never reaped.
    assert_eq!(store.reap_orphans(|_| true).unwrap(), ["ca2"]);
}

#[test]
fn a_version_1_database_is_migrated_to_the_current_version() {
    let dir = home();
    {
        let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        conn.execute_batch(super::schema::MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO runs (id, task, status, trigger_kind, platform, started) \
             VALUES ('ca1', NULL, 'Running', 'manual', 'linux', '2026-01-01T00:00:00.000000Z')",
            [],
        )
        .unwrap();
    }
    let store = open(dir.path());
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    store.set_run_owner("ca1", "dead").unwrap();
    assert_eq!(store.reap_orphans(|o| o == "dead").unwrap(), ["ca1"]);
    // Version 3: tasks have a git access token column, empty for existing tasks.
    let t = store
        .create_task(&TaskDef::new("old", "/abs/acr-task.yaml", None))
        .unwrap();
    assert_eq!(t.git_access_token, None);
}

#[test]
fn a_git_access_token_is_stored_updated_and_never_in_debug() {
    let dir = home();
    let store = open(dir.path());
    let mut def = TaskDef::new(
        "remote",
        "acr-task.yaml",
        Some("https://example.com/x/y.git#main:app".to_owned()),
    );
    // A remote context: the file is relative to it, and the commit trigger is on.
    assert!(def.commit_trigger_enabled);
    def.git_access_token = Some("tok-very-secret".to_owned());
    let created = store.create_task(&def).unwrap();
    assert_eq!(created.file, "acr-task.yaml");
    let got = store.get_task("remote").unwrap().unwrap();
    assert_eq!(got.git_access_token.as_deref(), Some("tok-very-secret"));
    assert!(!format!("{got:?}").contains("tok-very-secret"));
    let update = TaskUpdate {
        git_access_token: Some(Some("tok-two".to_owned())),
        ..TaskUpdate::default()
    };
    assert!(!format!("{update:?}").contains("tok-two"));
    let t = store.update_task("remote", &update).unwrap();
    assert_eq!(t.git_access_token.as_deref(), Some("tok-two"));
    let t = store
        .update_task(
            "remote",
            &TaskUpdate {
                git_access_token: Some(None),
                ..TaskUpdate::default()
            },
        )
        .unwrap();
    assert_eq!(t.git_access_token, None);
    // A relative file with a local context is still refused.
    assert!(
        store
            .create_task(&TaskDef::new("local", "acr-task.yaml", Some("/src".into())))
            .is_err()
    );
}
