//! A remote CONTEXT for the whole run, on the REAL engine, offline: `taskrun -f FILE URL`,
//! `taskrun build … URL`, `scan URL` and named tasks on a git URL (issue 14 §4). The servers are
//! `git daemon`, a static HTTP server and a "dumb HTTP" git server that wants a token, all on
//! 127.0.0.1, and the registry on 127.0.0.1:5000 for the OCI artifact (scripts/test-env.sh).
//! Behaviour is documented in docs/cli.md ("Remote contexts") and docs/service.md.
//!
//! Every run gets its own `TMPDIR`, so the tests can check that the fetched directory is gone
//! when the run is over. No assertion depends on timing.

use crate::common::{self, remote};

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{BUSYBOX, Images, Run, taskrun_command};
use remote::{GitDaemon, git, serve_git_dumb_http, serve_http};

/// A task that shows what `.Run.*` the run got and which files the workspace has.
const SHOW_TASK: &str = r#"steps:
  - id: show
    cmd: BUSYBOX sh -c 'echo commit={{.Run.Commit}} branch={{.Run.Branch}}; ls /workspace; cat msg.txt'
"#;

/// A directory for one test: `cwd/` to run in (no task file there), `home/` (`TASKRUN_HOME`)
/// and `tmp/` (`TMPDIR` of the runs).
struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Self {
        let d = Dir {
            dir: tempfile::tempdir().unwrap(),
        };
        for sub in ["cwd", "home", "tmp"] {
            std::fs::create_dir_all(d.dir.path().join(sub)).unwrap();
        }
        d
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = taskrun_command(&self.path("cwd"), &self.path("home"));
        cmd.args(args).env("TMPDIR", self.path("tmp"));
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::of(&mut self.command(args))
    }

    /// Nothing fetched is left behind.
    fn tmp_is_empty(&self) {
        let left: Vec<_> = std::fs::read_dir(self.path("tmp"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "left in TMPDIR: {left:?}");
    }
}

/// A bare repository `<base>/repo.git` with `main` and `feature`: each has `folder/` with the
/// task file, a Dockerfile and `msg.txt`, and a root `root.txt` that must not be in the
/// context. Returns `(main, feature)` commits.
fn make_repo(base: &Path) -> (String, String) {
    let work = base.join("work");
    std::fs::create_dir_all(work.join("folder")).unwrap();
    git(&work, &["init", "-q"]);
    let write = |rel: &str, text: &str| std::fs::write(work.join(rel), text).unwrap();
    write("root.txt", "the repository root\n");
    write(
        "folder/acr-task.yaml",
        &SHOW_TASK.replace("BUSYBOX", BUSYBOX),
    );
    write(
        "folder/Dockerfile",
        &format!("FROM {BUSYBOX}\nCOPY msg.txt /msg.txt\n"),
    );
    write("folder/msg.txt", "from main\n");
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "main"]);
    let main = git(&work, &["rev-parse", "HEAD"]);
    git(&work, &["checkout", "-qb", "feature"]);
    write("folder/msg.txt", "from the feature branch\n");
    git(&work, &["commit", "-qam", "feature"]);
    let feature = git(&work, &["rev-parse", "HEAD"]);
    git(&work, &["checkout", "-q", "main"]);
    git(
        base,
        &["clone", "-q", "--bare", work.to_str().unwrap(), "repo.git"],
    );
    (main, feature)
}

/// A new commit on `main` of `<base>/repo.git` (through the work tree); returns it.
fn push_commit(base: &Path, text: &str) -> String {
    let work = base.join("work");
    std::fs::write(work.join("folder/msg.txt"), text).unwrap();
    git(&work, &["commit", "-qam", "next"]);
    git(&work, &["push", "-q", "../repo.git", "main"]);
    git(&work, &["rev-parse", "HEAD"])
}

#[test]
fn a_git_context_with_branch_and_folder_runs_the_file_in_the_folder() {
    let _engine = common::need_docker();
    let served = tempfile::tempdir().unwrap();
    let (_main, feature) = make_repo(served.path());
    let daemon = GitDaemon::start(served.path());
    let url = format!("git://127.0.0.1:{}/repo.git", daemon.port);
    let d = Dir::new();

    let ctx = format!("{url}#feature:folder");
    let run = d.run(&["-f", "acr-task.yaml", "--output", "plain", &ctx]);
    run.expect(0).left_nothing();
    let text = run.all();
    assert_eq!(
        run.output_of("show"),
        [
            format!("commit={feature} branch=feature"),
            "Dockerfile".to_owned(),
            "acr-task.yaml".to_owned(),
            "msg.txt".to_owned(),
            "from the feature branch".to_owned(),
        ],
        "{text}"
    );
    run.says(&[
        &format!("Fetching git context {ctx}"),
        &format!("Context: fetched git context {ctx}, commit {feature}, branch feature"),
        "Task file: acr-task.yaml (from the fetched context)",
    ]);
    d.tmp_is_empty();

    // --commit/--branch win over the checkout's.
    let run = d.run(&[
        "-f",
        "acr-task.yaml",
        "--output",
        "plain",
        "--commit",
        "abc",
        "--branch",
        "given",
        &ctx,
    ]);
    run.expect(0);
    assert_eq!(run.output_of("show")[0], "commit=abc branch=given");

    // --dry-run fetches nothing, and says what it would fetch.
    std::fs::write(
        d.path("cwd").join("local.yaml"),
        SHOW_TASK.replace("BUSYBOX", BUSYBOX),
    )
    .unwrap();
    let run = d.run(&["-f", "local.yaml", "--dry-run", &ctx]);
    run.expect(0);
    run.says(&[&format!(
        "Dry run: the git context {ctx} would be fetched into a temporary directory"
    )]);
    assert!(!run.all().contains("Fetching"), "{}", run.all());
    d.tmp_is_empty();

    // A missing ref, a missing folder: clear errors before any step, nothing left.
    for (bad, what) in [
        (format!("{url}#no-such-branch:folder"), "no-such-branch"),
        (format!("{url}#main:no-such-folder"), "no-such-folder"),
    ] {
        let run = d.run(&["-f", "acr-task.yaml", &bad]);
        run.expect_no_panic(2);
        run.says(&["taskrun::context::not_found", what, "help:"]);
        assert!(!run.all().contains("Run ID"), "{}", run.all());
        d.tmp_is_empty();
    }
    drop(daemon);
}

#[test]
fn quick_build_and_scan_take_a_git_context() {
    let _engine = common::need_docker();
    common::check_registries();
    let mut images = Images::default();
    let served = tempfile::tempdir().unwrap();
    let (main, _) = make_repo(served.path());
    let daemon = GitDaemon::start(served.path());
    let ctx = format!("git://127.0.0.1:{}/repo.git#main:folder", daemon.port);
    let d = Dir::new();

    let repo = format!("taskrun-remote-build-{}", std::process::id());
    images.add(&format!("127.0.0.1:5000/{repo}:1"));
    let run = d.run(&[
        "build",
        "-t",
        &format!("{repo}:1"),
        "-r",
        "127.0.0.1:5000",
        "--output",
        "plain",
        &ctx,
    ]);
    run.expect(0).left_nothing();
    let digest = common::registry_digest(&format!("127.0.0.1:5000/{repo}:1"));
    run.says(&[&format!("pushed 127.0.0.1:5000/{repo}:1@{digest}")]);
    d.tmp_is_empty();

    let run = d.run(&["scan", "--no-digests", "-t", "app:1", &ctx]);
    run.expect(0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("scan prints JSON");
    assert_eq!(json[0]["git"]["git-head-revision"], main.as_str());
    assert_eq!(
        json[0]["runtime-dependency"]["reference"],
        BUSYBOX,
        "{}",
        run.all()
    );
    d.tmp_is_empty();
    drop(daemon);
}

#[test]
fn a_tarball_context_over_http_is_the_workspace() {
    let _engine = common::need_docker();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(
        src.path().join("acr-task.yaml"),
        SHOW_TASK.replace("BUSYBOX", BUSYBOX),
    )
    .unwrap();
    std::fs::write(src.path().join("msg.txt"), "from the tarball\n").unwrap();
    let tgz = src.path().join("ctx.tar.gz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&tgz)
        .args([
            "-C",
            src.path().to_str().unwrap(),
            "acr-task.yaml",
            "msg.txt",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let port = serve_http(vec![
        ("/ctx.tar.gz", std::fs::read(&tgz).unwrap()),
        (
            "/page.html",
            b"<!DOCTYPE html><html>a page</html>".repeat(20),
        ),
    ]);
    let d = Dir::new();
    let url = format!("http://127.0.0.1:{port}/ctx.tar.gz");
    let run = d.run(&["-f", "acr-task.yaml", "--output", "plain", &url]);
    run.expect(0).left_nothing();
    assert_eq!(
        run.output_of("show"),
        [
            "commit= branch=",
            "acr-task.yaml",
            "msg.txt",
            "from the tarball"
        ],
        "{}",
        run.all()
    );
    run.says(&[&format!("Context: fetched tarball context {url}")]);
    d.tmp_is_empty();

    // Not a tarball; a missing one.
    let run = d.run(&[
        "-f",
        "acr-task.yaml",
        &format!("http://127.0.0.1:{port}/page.html"),
    ]);
    run.expect_no_panic(2);
    run.says(&["taskrun::context::not_archive", "not a tar archive"]);
    let run = d.run(&[
        "-f",
        "acr-task.yaml",
        &format!("http://127.0.0.1:{port}/gone.tar.gz"),
    ]);
    run.expect_no_panic(2);
    run.says(&["taskrun::context::not_found", "404"]);
    d.tmp_is_empty();
}

#[test]
fn an_oci_artifact_context_is_pulled_from_the_registry() {
    use oci_client::client::ImageLayer;

    let _engine = common::need_docker();
    common::check_registries();
    let title = remote::oci_title;
    let layers = vec![
        ImageLayer::new(
            SHOW_TASK.replace("BUSYBOX", BUSYBOX).into_bytes(),
            "application/vnd.oci.image.layer.v1.tar".to_owned(),
            Some(title("acr-task.yaml")),
        ),
        ImageLayer::new(
            b"from the artifact\n".to_vec(),
            "application/vnd.oci.image.layer.v1.tar".to_owned(),
            Some(title("msg.txt")),
        ),
    ];
    let artifact = format!("127.0.0.1:5000/taskrun-runctx-{}:1", std::process::id());
    remote::push_oci_artifact(&artifact, &layers);

    let d = Dir::new();
    let ctx = format!("oci://{artifact}");
    let run = d.run(&["-f", "acr-task.yaml", "--output", "plain", &ctx]);
    run.expect(0).left_nothing();
    assert_eq!(
        run.output_of("show"),
        [
            "commit= branch=",
            "acr-task.yaml",
            "msg.txt",
            "from the artifact"
        ],
        "{}",
        run.all()
    );
    run.says(&[&format!("Context: fetched OCI artifact context {ctx}")]);
    d.tmp_is_empty();

    let run = d.run(&[
        "-f",
        "acr-task.yaml",
        &format!(
            "oci://127.0.0.1:5000/taskrun-runctx-missing-{}:1",
            std::process::id()
        ),
    ]);
    run.expect_no_panic(2);
    run.says(&["taskrun::context::not_found", "manifest unknown"]);
}

/// `task …` / `serve …` in `d`; its output.
fn service(d: &Dir, args: &[&str]) -> Run {
    let run = d.run(args);
    assert!(!run.all().contains("panicked"), "{}", run.all());
    run
}

#[test]
fn a_named_task_on_a_git_context_fires_on_a_new_commit() {
    let _engine = common::need_docker();
    let served = tempfile::tempdir().unwrap();
    let (main, _) = make_repo(served.path());
    let daemon = GitDaemon::start(served.path());
    let ctx = format!("git://127.0.0.1:{}/repo.git#main:folder", daemon.port);
    let d = Dir::new();

    service(
        &d,
        &[
            "task",
            "create",
            "-n",
            "fromgit",
            "-f",
            "acr-task.yaml",
            "-c",
            &ctx,
            "-o",
            "json",
        ],
    )
    .expect(0)
    .says(&[
        "\"commitTriggerEnabled\": true",
        "\"file\": \"acr-task.yaml\"",
    ]);
    // The first cycle records the commit and fires nothing.
    service(&d, &["serve", "--once"])
        .expect(0)
        .says(&["nothing to run"]);
    assert!(common::runs(&d.path("home")).is_empty());
    service(&d, &["serve", "--once"])
        .expect(0)
        .says(&["nothing to run"]);

    let next = push_commit(served.path(), "after the push\n");
    assert_ne!(next, main);
    service(&d, &["serve", "--once"])
        .expect(0)
        .says(&["serve: running task fromgit (trigger Commit)"]);
    assert_eq!(
        common::runs(&d.path("home")),
        [(
            "fromgit".to_owned(),
            "Commit".to_owned(),
            "Succeeded".to_owned()
        )]
    );
    let log = service(&d, &["task", "logs", "-n", "fromgit"]);
    log.expect(0).says(&[
        &format!("[show] commit={next} branch=main"),
        "[show] after the push",
        &format!("Context: fetched git context {ctx}, commit {next}, branch main"),
    ]);
    // Nothing new: nothing fires.
    service(&d, &["serve", "--once"])
        .expect(0)
        .says(&["nothing to run"]);
    assert_eq!(common::runs(&d.path("home")).len(), 1);
    d.tmp_is_empty();
    drop(daemon);
}

/// `(table.column)` of every cell in the database holding `needle`.
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
                if let rusqlite::types::ValueRef::Text(t) = row.get_ref(i).unwrap()
                    && t.windows(needle.len()).any(|w| w == needle.as_bytes())
                {
                    found.push(format!("{table}.{column}"));
                }
            }
        }
    }
    found
}

#[test]
fn a_git_access_token_reaches_the_server_and_nothing_else() {
    use base64::Engine as _;
    let _engine = common::need_docker();
    let served = tempfile::tempdir().unwrap();
    let (main, _) = make_repo(served.path());
    git(&served.path().join("repo.git"), &["update-server-info"]);
    let token = format!("tok-{}-SECRETVALUE", std::process::id());
    let port = serve_git_dumb_http(served.path().to_owned(), &token);
    let ctx = format!("http://127.0.0.1:{port}/repo.git#main:folder");
    let d = Dir::new();
    let forms = [
        token.clone(),
        base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{token}")),
    ];
    let clean = |run: &Run| {
        for f in &forms {
            assert!(!run.all().contains(f.as_str()), "leaked: {}", run.all());
        }
    };

    // Without the token the server says 401: an auth error, exit 3.
    let run = d.run(&["-f", "acr-task.yaml", &ctx]);
    run.expect_no_panic(3);
    run.says(&["taskrun::context::auth"]);

    // A named task with the token: the run fetches, the commit trigger polls.
    let run = service(
        &d,
        &[
            "task",
            "create",
            "-n",
            "private",
            "-f",
            "acr-task.yaml",
            "-c",
            &ctx,
            "--git-access-token",
            &token,
        ],
    );
    run.expect(0);
    clean(&run);
    let run = service(&d, &["task", "run", "-n", "private", "--output", "plain"]);
    run.expect(0);
    clean(&run);
    assert_eq!(
        run.output_of("show")[0],
        format!("commit={main} branch=main"),
        "{}",
        run.all()
    );
    let run = service(&d, &["serve", "--once"]);
    run.expect(0).says(&["nothing to run"]);
    clean(&run);
    for args in [
        &["task", "show", "-n", "private"][..],
        &["task", "show", "-n", "private", "-o", "json"],
        &["task", "list"],
        &["task", "list", "-o", "json"],
        &["task", "list-runs", "-o", "json"],
        &["task", "logs", "-n", "private"],
    ] {
        let run = service(&d, args);
        run.expect(0);
        clean(&run);
    }
    // The store keeps it in the task's own column only.
    let db = d.path("home").join("taskrun.db");
    assert_eq!(cells_holding(&db, &token), ["tasks.git_access_token"]);
    assert!(cells_holding(&db, &forms[1]).is_empty());

    // A wrong token: an auth error naming the masked URL, never the token.
    let bad = format!("bad-{}-TOKENVALUE", std::process::id());
    service(
        &d,
        &[
            "task",
            "update",
            "-n",
            "private",
            "--git-access-token",
            &bad,
        ],
    )
    .expect(0);
    let run = service(&d, &["task", "run", "-n", "private", "--output", "plain"]);
    run.expect(3);
    run.says(&[
        "taskrun::context::auth",
        &format!("http://127.0.0.1:{port}/repo.git"),
    ]);
    assert!(!run.all().contains(&bad), "{}", run.all());
    assert_eq!(
        common::runs(&d.path("home"))[0],
        (
            "private".to_owned(),
            "Manual".to_owned(),
            "Error".to_owned()
        )
    );
    // The failed run's stored log says why, masked.
    let log = service(&d, &["task", "logs", "-n", "private"]);
    log.expect(0).says(&[
        &format!("error: failed to fetch the git context http://127.0.0.1:{port}/repo.git"),
        "(taskrun::context::auth)",
    ]);
    assert!(!log.all().contains(&bad), "{}", log.all());
    let run = service(&d, &["serve", "--once"]);
    run.says(&["serve: cannot check the commit of task private"]);
    assert!(!run.all().contains(&bad), "{}", run.all());
    d.tmp_is_empty();

    // A token written into the URL is masked in every line.
    let inline = format!("http://me:{token}@127.0.0.1:{port}/repo.git#main:folder");
    let run = d.run(&["-f", "acr-task.yaml", &inline]);
    clean(&run);
    run.says(&[&format!(
        "http://me:***@127.0.0.1:{port}/repo.git#main:folder"
    )]);
    // Also as a task's context.
    let run = service(
        &d,
        &[
            "task",
            "create",
            "-n",
            "inline",
            "-f",
            "acr-task.yaml",
            "-c",
            &inline,
        ],
    );
    run.expect(0);
    clean(&run);
    run.says(&[&format!(
        "http://me:***@127.0.0.1:{port}/repo.git#main:folder"
    )]);
    for args in [
        &["task", "show", "-n", "inline", "-o", "json"][..],
        &["task", "list", "-o", "json"],
    ] {
        let run = service(&d, args);
        run.expect(0);
        clean(&run);
    }
    let run = service(&d, &["task", "run", "-n", "inline", "--output", "plain"]);
    clean(&run);
}

#[test]
fn ctrl_c_stops_a_fetch_and_removes_its_directory() {
    let _engine = common::need_docker();
    // A server that accepts and never answers: the download waits until it is stopped.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let d = Dir::new();
    let url = format!("http://127.0.0.1:{port}/slow.tar.gz");
    let mut child = d
        .command(&["-f", "acr-task.yaml", &url])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = common::read_on_thread(child.stdout.take().unwrap());
    let lines = common::line_channel(child.stderr.take().unwrap());
    let first = lines.recv_timeout(common::HANG).expect("a progress line");
    assert_eq!(first, format!("Fetching tarball context {url}"));
    // The fetch is under way once its line is out; give the signal handler no race to lose.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let status = Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let started = std::time::Instant::now();
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break common::exit_code(&s);
        }
        assert!(
            started.elapsed() < common::HANG,
            "taskrun did not stop on SIGINT"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let out = stdout.join().unwrap();
    assert_eq!(code, 130, "{out}");
    assert!(!out.contains("Run ID"), "{out}");
    d.tmp_is_empty();
}
