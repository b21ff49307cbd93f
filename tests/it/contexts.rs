//! Build contexts end to end on the REAL engine: what reaches `/workspace` and the builder for
//! symlinks pointing outside the context, absolute symlinks, `..` in `-f`, special files and
//! unreadable files; remote contexts (a git repository served by `git daemon`, a tarball from a
//! local HTTP server, an OCI artifact in the registry on 127.0.0.1:5000). Each behaviour is
//! documented in docs/compat.md ("`build` steps", "Build contexts"); the unit tests in
//! src/context/tests.rs and src/context/remote.rs cover the archive and fetch rules themselves.
//!
//! The environment comes from `scripts/test-env.sh`; every test fails (never skips) without it.
//! Runs that could hang on a special file carry a generous `--timeout` so that a hang fails the
//! test instead of blocking it; no assertion depends on timing.

use crate::common::{self, remote};

use std::ops::Deref;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{BUSYBOX, Images, Run, bin, need_docker};
use remote::{GitDaemon, git, serve_http};

/// Only guards against a hang; never reached by a passing run.
const GUARD_TIMEOUT: &str = "600";

/// Text only the host has: it must never show up in a container, an image or the output.
const HOST_ONLY: &str = "HOST-ONLY-CONTENT-7f3a";

/// A task directory ([`common::Ws`]) with a directory `outside/` next to the CONTEXT, holding
/// `host.txt` ([`HOST_ONLY`]).
struct Ws(common::Ws);

impl Deref for Ws {
    type Target = common::Ws;

    fn deref(&self) -> &common::Ws {
        &self.0
    }
}

impl Ws {
    fn new(task: &str) -> Self {
        let ws = Self(common::Ws::new(task));
        std::fs::create_dir_all(ws.outside()).unwrap();
        std::fs::write(ws.outside().join("host.txt"), format!("{HOST_ONLY}\n")).unwrap();
        ws
    }

    fn outside(&self) -> PathBuf {
        self.path().join("outside")
    }

    /// `taskrun run --output plain` with a guard `--timeout`.
    fn run(&self) -> Run {
        self.0
            .run(&["--output", "plain", "--timeout", GUARD_TIMEOUT])
    }
}

/// The image `name` of this test process, removed with `images`.
fn image(images: &mut Images, name: &str) -> String {
    images.add(&format!("taskrun-ctx-{name}-{}:1", std::process::id()))
}

trait NoHostContent {
    fn never_shows_host_content(&self) -> &Self;
}

impl NoHostContent for Run {
    fn never_shows_host_content(&self) -> &Self {
        assert!(!self.all().contains(HOST_ONLY), "{}", self.all());
        self
    }
}

// ---------------------------------------------------------------------------------------------
// Symlinks

#[test]
fn symlinks_reach_the_workspace_and_the_builder_as_links_never_as_their_targets() {
    let _engine = need_docker();
    let mut images = Images::default();
    let copied = image(&mut images, "links");
    let copy_abs = image(&mut images, "copy-abs");
    let copy_dir = image(&mut images, "copy-dir");
    let copy_in = image(&mut images, "copy-in");
    let ws = Ws::new(&format!(
        r#"steps:
  - id: look
    cmd: BUSYBOX sh -c 'for l in abs abs-dir in; do echo "$l -> $(readlink /workspace/$l)"; done; cat /workspace/in; cat /workspace/abs || echo abs unreadable; ls /workspace/abs-dir/ || echo abs-dir empty'
  - id: build
    build: -t {copied} .
  - id: image
    cmd: {copied} sh -c 'for l in abs abs-dir in; do echo "image $l -> $(readlink /ctx/$l)"; done; cat /ctx/abs || echo image abs unreadable'
  - id: copyabs
    build: -t {copy_abs} -f Dockerfile.abs .
    ignoreErrors: true
  - id: copydir
    build: -t {copy_dir} -f Dockerfile.dir .
    ignoreErrors: true
  - id: copyin
    build: -t {copy_in} -f Dockerfile.in .
  - id: copied
    cmd: {copy_in} cat /x
"#
    ));
    let host = ws.outside().join("host.txt");
    ws.file("data/in.txt", "inside the context\n");
    symlink(&host, ws.ctx().join("abs")).unwrap();
    symlink(ws.outside(), ws.ctx().join("abs-dir")).unwrap();
    symlink("data/in.txt", ws.ctx().join("in")).unwrap();
    ws.file("Dockerfile", &format!("FROM {BUSYBOX}\nCOPY . /ctx/\n"));
    ws.file("Dockerfile.abs", &format!("FROM {BUSYBOX}\nCOPY abs /x\n"));
    ws.file(
        "Dockerfile.dir",
        &format!("FROM {BUSYBOX}\nCOPY abs-dir/ /x/\n"),
    );
    ws.file("Dockerfile.in", &format!("FROM {BUSYBOX}\nCOPY in /x\n"));

    let run = ws.run();
    run.expect(0).never_shows_host_content().left_nothing();
    let host = host.display().to_string();
    let outside = ws.outside().display().to_string();
    // In /workspace and in an image built with `COPY .`: the links themselves, targets as
    // written; an absolute target is looked up in the container, where it does not exist.
    for (step, prefix, dir) in [("look", "", "/workspace"), ("image", "image ", "/ctx")] {
        assert!(
            run.has_line(step, &format!("{prefix}abs -> {host}")),
            "{}",
            run.all()
        );
        assert!(
            run.has_line(step, &format!("{prefix}abs-dir -> {outside}")),
            "{}",
            run.all()
        );
        assert!(
            run.has_line(step, &format!("{prefix}in -> data/in.txt")),
            "{}",
            run.all()
        );
        assert!(
            run.has_line(step, &format!("{prefix}abs unreadable")),
            "{dir}: {}",
            run.all()
        );
    }
    assert!(run.has_line("look", "inside the context"), "{}", run.all());
    assert!(run.has_line("look", "abs-dir empty"), "{}", run.all());
    // `COPY <link>` resolves the link inside the context (the engine's rule): an absolute link
    // to a host path finds nothing, a link inside the context copies its target.
    for step in ["copyabs", "copydir"] {
        let lines = run.lines_of(step).join("\n");
        assert!(lines.contains("failed (ignored)"), "{step}: {}", run.all());
        assert!(
            lines.contains("file not found in build context"),
            "{step}: {}",
            run.all()
        );
    }
    assert!(
        run.has_line("copied", "inside the context"),
        "{}",
        run.all()
    );
}

#[test]
fn a_relative_symlink_out_of_the_context_is_refused_before_anything_starts() {
    let _engine = need_docker();
    let ws = Ws::new("steps:\n  - cmd: BUSYBOX ls -A /workspace\n");
    ws.file("kept.txt", "kept\n");
    symlink("../outside/host.txt", ws.ctx().join("escape")).unwrap();
    let run = ws.run();
    run.expect(1).never_shows_host_content().left_nothing();
    let text = run.all();
    assert!(
        text.contains("the symlink '")
            && text.contains(
                "/ctx/escape' points outside the build context (to '../outside/host.txt')"
            ),
        "{text}"
    );
    assert!(text.contains("exclude it in .dockerignore"), "{text}");
    assert!(
        !text.contains("[acb_step_0] kept.txt"),
        "no step ran: {text}"
    );

    // Excluded, it is neither checked nor sent.
    ws.file(".dockerignore", "escape\n");
    let run = ws.run();
    run.expect(0).left_nothing();
    assert_eq!(
        run.output_of("acb_step_0"),
        [".dockerignore", "kept.txt"],
        "{}",
        run.all()
    );
}

#[test]
fn a_symlink_out_of_a_build_context_made_by_a_step_fails_that_build_by_name() {
    let _engine = need_docker();
    let mut images = Images::default();
    let image = image(&mut images, "step-link");
    let ws = Ws::new(&format!(
        r#"steps:
  - id: link
    cmd: BUSYBOX ln -s ../shared app/shared
  - id: build
    build: -t {image} app
"#
    ));
    ws.file("app/Dockerfile", &format!("FROM {BUSYBOX}\nCOPY . /app/\n"));
    ws.file("shared/lib.txt", "shared\n");
    let run = ws.run();
    run.expect(1).left_nothing();
    let build = run.lines_of("build").join("\n");
    assert!(
        build.contains("the symlink 'shared' points outside the build context (to '../shared')"),
        "{}",
        run.all()
    );
}

// ---------------------------------------------------------------------------------------------
// `-f` and `..`

#[test]
fn dockerfile_paths_with_dot_dot_are_resolved_in_the_workspace_and_kept_inside_the_context() {
    let _engine = need_docker();
    let mut images = Images::default();
    let inside = image(&mut images, "dotdot-inside");
    let from_sub = image(&mut images, "dotdot-sub");
    let linked = image(&mut images, "dotdot-linked");
    let ws = Ws::new(&format!(
        r#"steps:
  - id: cleaned
    build: -t {inside} -f sub/../Dockerfile .
  - id: fromsub
    workingDirectory: app
    build: -t {from_sub} -f ../Dockerfile ..
  - id: linkedout
    build: -t x-never -f Dockerfile.host .
    ignoreErrors: true
  - id: linkedin
    build: -t {linked} -f Dockerfile.link .
"#
    ));
    ws.file(
        "Dockerfile",
        &format!("FROM {BUSYBOX}\nRUN echo built-from-root\n"),
    );
    ws.file(
        "app/Dockerfile",
        &format!("FROM {BUSYBOX}\nRUN echo built-from-app\n"),
    );
    ws.file("sub/keep.txt", "x\n");
    std::fs::write(
        ws.outside().join("Dockerfile"),
        format!("FROM {BUSYBOX}\nRUN echo {HOST_ONLY}\n"),
    )
    .unwrap();
    symlink(
        ws.outside().join("Dockerfile"),
        ws.ctx().join("Dockerfile.host"),
    )
    .unwrap();
    symlink("app/Dockerfile", ws.ctx().join("Dockerfile.link")).unwrap();

    let run = ws.run();
    run.expect(0).never_shows_host_content().left_nothing();
    let lines = |step: &str| run.lines_of(step).join("\n");
    // `..` that stays inside is cleaned; `-f` is relative to the step's working directory.
    assert!(
        lines("cleaned").contains("built-from-root"),
        "{}",
        run.all()
    );
    assert!(
        lines("fromsub").contains("built-from-root"),
        "{}",
        run.all()
    );
    // A Dockerfile that is a link to a host file: the builder resolves it inside the context,
    // finds nothing, and the host file is never read. A link inside the context is followed.
    assert!(
        lines("linkedout").contains("Cannot locate specified Dockerfile: Dockerfile.host")
            && lines("linkedout").contains("failed (ignored)"),
        "{}",
        run.all()
    );
    assert!(
        lines("linkedin").contains("built-from-app"),
        "{}",
        run.all()
    );

    // A context or Dockerfile outside /workspace: an error of the file, reported by `validate`
    // and by `run` before anything starts (exit 2).
    std::fs::write(
        ws.path().join("acr-task.yaml"),
        r#"steps:
  - id: outofworkspace
    build: -t x-never -f ../../etc/passwd .
  - id: contextout
    build: -t x-never ../..
"#,
    )
    .unwrap();
    let expected = [
        "step `outofworkspace`: the Dockerfile `../../etc/passwd` resolves to `/etc/passwd`",
        "step `contextout`: the build context `../..` resolves to `/`, outside /workspace",
    ];
    let run = ws.run();
    run.expect(2).left_nothing();
    let text = run.all();
    for expected in expected {
        assert!(text.contains(expected), "no `{expected}` in\n{text}");
    }
    assert!(text.contains("taskrun::validate::build_path"), "{text}");
    assert!(!text.contains("Run ID"), "nothing started: {text}");
    let validate = Command::new(bin())
        .arg("validate")
        .arg("-f")
        .arg(ws.task())
        .arg(ws.ctx())
        .args(["--color", "never"])
        .output()
        .unwrap();
    let vtext = String::from_utf8_lossy(&validate.stderr);
    assert_eq!(validate.status.code(), Some(2), "{vtext}");
    for expected in expected {
        assert!(
            vtext.contains(expected),
            "validate: no `{expected}` in\n{vtext}"
        );
    }
}

#[test]
fn a_dockerfile_outside_the_build_context_is_sent_like_the_docker_cli() {
    let _engine = need_docker();
    let mut images = Images::default();
    let beside = image(&mut images, "outside-beside");
    let parent = image(&mut images, "outside-parent");
    let own = image(&mut images, "outside-own-ignore");
    let ws = Ws::new(&format!(
        r#"steps:
  - id: beside
    build: -t {beside} -f Dockerfile sub
  - id: parent
    workingDirectory: app
    build: -t {parent} -f ../x/Dockerfile .
  - id: own
    build: -t {own} -f y/Dockerfile other
  - id: showbeside
    cmd: {beside} ls -A /ctx
  - id: showparent
    cmd: {parent} ls -A /ctx
  - id: showown
    cmd: {own} ls -A /ctx
"#
    ));
    // `-f Dockerfile sub`: the Dockerfile beside the context; the context's .dockerignore
    // applies. A decoy `sub/Dockerfile` must be neither built nor scanned.
    ws.file(
        "Dockerfile",
        &format!("FROM {BUSYBOX}\nCOPY . /ctx\nRUN echo built-beside\n"),
    );
    ws.file("sub/Dockerfile", "FROM 127.0.0.1:5000/decoy-never:1\n");
    ws.file("sub/a.txt", "a\n");
    ws.file("sub/secret.log", "s\n");
    ws.file("sub/.dockerignore", "*.log\n");
    // `-f ../x/Dockerfile .` from `app`, a context without a .dockerignore: the one the CLI
    // adds for the generated name is dropped by the daemon, so `COPY .` sees only app.txt.
    ws.file(
        "x/Dockerfile",
        &format!("FROM {BUSYBOX}\nCOPY . /ctx\nRUN echo built-parent\n"),
    );
    ws.file("app/app.txt", "app\n");
    // `<Dockerfile>.dockerignore` next to an outside Dockerfile wins over the context's.
    ws.file(
        "y/Dockerfile",
        &format!("FROM {BUSYBOX}\nCOPY . /ctx\nRUN echo built-own\n"),
    );
    ws.file("y/Dockerfile.dockerignore", "*.tmp\n");
    ws.file("other/.dockerignore", "keep.txt\n");
    ws.file("other/keep.txt", "k\n");
    ws.file("other/drop.tmp", "d\n");

    let deps = ws.path().join("deps.json");
    let run = common::Ws::run(
        &ws,
        &[
            "--output",
            "plain",
            "--timeout",
            GUARD_TIMEOUT,
            "--deps-file",
            deps.to_str().unwrap(),
        ],
    );
    run.expect(0).left_nothing();
    let lines = |step: &str| run.lines_of(step).join("\n");
    for (step, says) in [
        ("beside", "built-beside"),
        ("parent", "built-parent"),
        ("own", "built-own"),
    ] {
        assert!(lines(step).contains(says), "{step}: {}", run.all());
    }
    let listing = |step: &str| {
        let mut l: Vec<String> = run.output_of(step);
        l.sort();
        l
    };
    // No generated `.dockerfile.*` reaches COPY; ignored files stay out.
    assert_eq!(
        listing("showbeside"),
        [".dockerignore", "Dockerfile", "a.txt"],
        "{}",
        run.all()
    );
    assert_eq!(listing("showparent"), ["app.txt"], "{}", run.all());
    assert_eq!(
        listing("showown"),
        [".dockerignore", "keep.txt"],
        "{}",
        run.all()
    );
    // The dependency scan read the Dockerfile that was built, not the decoy in the context.
    let deps = std::fs::read_to_string(&deps).unwrap();
    assert!(deps.contains("taskrun-busybox"), "{deps}");
    assert!(!deps.contains("decoy-never"), "{deps}");
}

// ---------------------------------------------------------------------------------------------
// The context travels once: builds before any `cmd` step read the CONTEXT directory directly

#[test]
fn a_build_only_task_builds_the_host_context_with_its_dockerignore() {
    let _engine = need_docker();
    let mut images = Images::default();
    let root = image(&mut images, "once-root");
    let sub = image(&mut images, "once-sub");
    let ws = Ws::new(&format!(
        r#"steps:
  - id: root
    build: -t {root} .
  - id: sub
    build: -t {sub} -f Dockerfile.sub sub
"#
    ));
    ws.file("Dockerfile", &format!("FROM {BUSYBOX}\nCOPY . /ctx\n"));
    ws.file("Dockerfile.sub", &format!("FROM {BUSYBOX}\nCOPY . /ctx\n"));
    ws.file(".dockerignore", "*.log\nsub/skip.txt\n");
    ws.file("a.txt", "a\n");
    ws.file("drop.log", "d\n");
    ws.file("sub/b.txt", "b\n");
    ws.file("sub/skip.txt", "s\n");
    ws.file("sub/.dockerignore", "*.tmp\n");
    ws.file("sub/drop.tmp", "t\n");
    let run = ws.run();
    run.expect(0).left_nothing();
    let listing = |image: &str| {
        let mut l: Vec<String> = common::docker(&["run", "--rm", image, "find", "/ctx"])
            .lines()
            .map(str::to_owned)
            .collect();
        l.sort();
        l
    };
    assert_eq!(
        listing(&root),
        [
            "/ctx",
            "/ctx/.dockerignore",
            "/ctx/Dockerfile",
            "/ctx/Dockerfile.sub",
            "/ctx/a.txt",
            "/ctx/sub",
            "/ctx/sub/.dockerignore",
            "/ctx/sub/b.txt",
            "/ctx/sub/drop.tmp",
        ],
        "{}",
        run.all()
    );
    // `sub` with a root .dockerignore: read from the seeded workspace (which lacks what the
    // root rules exclude), with sub's own rules applied on top.
    assert_eq!(
        listing(&sub),
        ["/ctx", "/ctx/.dockerignore", "/ctx/b.txt"],
        "{}",
        run.all()
    );
}

#[test]
fn a_file_a_cmd_step_wrote_is_in_a_later_builds_context_and_a_parallel_build_works() {
    let _engine = need_docker();
    let mut images = Images::default();
    let early = image(&mut images, "once-early");
    let parallel = image(&mut images, "once-parallel");
    let late = image(&mut images, "once-late");
    let ws = Ws::new(&format!(
        r#"steps:
  - id: early
    build: -t {early} .
  - id: write
    when: [early]
    cmd: BUSYBOX sh -c 'sleep 1; mv /workspace/gone.txt /workspace/made.txt'
  - id: parallel
    when: [early]
    build: -t {parallel} .
  - id: late
    when: [write, parallel]
    build: -t {late} .
  - id: showearly
    when: [late]
    cmd: {early} ls -A /ctx
  - id: showlate
    cmd: {late} sh -c 'ls -A /ctx; cat /ctx/made.txt'
  - id: showparallel
    cmd: {parallel} ls -A /ctx
"#
    ));
    ws.file("Dockerfile", &format!("FROM {BUSYBOX}\nCOPY . /ctx\n"));
    ws.file("a.txt", "a\n");
    ws.file("gone.txt", "g\n");
    let run = ws.run();
    run.expect(0).left_nothing();
    let listing = |step: &str| {
        let mut l: Vec<String> = run.output_of(step);
        l.sort();
        l
    };
    assert_eq!(
        listing("showearly"),
        ["Dockerfile", "a.txt", "gone.txt"],
        "{}",
        run.all()
    );
    // The build after the cmd step sees the file as the step renamed it (one atomic change).
    assert_eq!(
        listing("showlate"),
        ["Dockerfile", "a.txt", "g", "made.txt"],
        "{}",
        run.all()
    );
    // The parallel build saw the workspace before or after `write`: either is a valid order of
    // two parallel steps, and nothing else.
    let p = listing("showparallel");
    assert!(
        p == ["Dockerfile", "a.txt", "gone.txt"] || p == ["Dockerfile", "a.txt", "made.txt"],
        "{p:?}: {}",
        run.all()
    );
    // The user's directory is never written.
    assert!(ws.ctx().join("gone.txt").exists());
    assert!(!ws.ctx().join("made.txt").exists());
}

#[test]
fn every_add_host_of_a_build_reaches_its_run_steps() {
    let _engine = need_docker();
    let mut images = Images::default();
    let hosts = image(&mut images, "add-hosts");
    let ws = Ws::new(&format!(
        r#"steps:
  - id: hosts
    build: -t {hosts} --no-cache --add-host alpha.test:10.1.2.3 --add-host beta.test:10.4.5.6 .
"#
    ));
    ws.file(
        "Dockerfile",
        &format!("FROM {BUSYBOX}\nRUN grep -E 'alpha|beta' /etc/hosts\n"),
    );
    let run = ws.run();
    run.expect(0).left_nothing();
    let text = run.lines_of("hosts").join("\n");
    for entry in ["10.1.2.3\talpha.test", "10.4.5.6\tbeta.test"] {
        assert!(text.contains(entry), "no `{entry}` in\n{}", run.all());
    }
}

// ---------------------------------------------------------------------------------------------
// Special files

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

#[test]
fn special_files_are_skipped_without_blocking() {
    let _engine = need_docker();
    let mut images = Images::default();
    let image = image(&mut images, "special");
    let ws = Ws::new(&format!(
        r#"steps:
  - id: look
    cmd: BUSYBOX sh -c 'ls -A /workspace; mkfifo /workspace/made-by-step; ls -A /workspace | grep made-by-step'
  - id: build
    build: -t {image} .
  - id: image
    cmd: {image} ls -A /ctx
"#
    ));
    ws.file("regular.txt", "regular\n");
    ws.file("Dockerfile", &format!("FROM {BUSYBOX}\nCOPY . /ctx/\n"));
    // A fifo (opening it would block until a writer comes), a socket and a character device.
    mkfifo(&ws.ctx().join("pipe"));
    let _socket = std::os::unix::net::UnixListener::bind(ws.ctx().join("sock")).unwrap();
    let made_device = Command::new("mknod")
        .arg(ws.ctx().join("device"))
        .args(["c", "1", "3"])
        .status()
        .unwrap()
        .success();
    assert!(made_device, "mknod (the tests run as root)");

    let run = ws.run();
    run.expect(0).left_nothing();
    assert_eq!(
        run.output_of("look"),
        ["Dockerfile", "regular.txt", "made-by-step"],
        "only regular files were seeded; the step's own fifo is in the volume\n{}",
        run.all()
    );
    // The build context, read back from the volume, drops the step's fifo too.
    assert_eq!(
        run.output_of("image"),
        ["Dockerfile", "regular.txt"],
        "{}",
        run.all()
    );
    // Each skip is said: while seeding, and in the build step's output.
    let all = run.all();
    for said in [
        "Workspace: skipping fifo 'pipe'",
        "Workspace: skipping socket 'sock'",
        "Workspace: skipping character device 'device'",
        "[build] warning: skipping fifo 'made-by-step'",
    ] {
        assert!(all.contains(said), "{said}\n{all}");
    }
}

// ---------------------------------------------------------------------------------------------
// Unreadable files

/// The uid/gid taskrun runs as in the unreadable-file test (`nobody`), with the docker group
/// (to reach the engine's socket) as its only supplementary group.
const NOBODY: u32 = 65534;

fn docker_gid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/var/run/docker.sock")
        .expect("the engine's socket at /var/run/docker.sock (scripts/test-env.sh)")
        .gid()
}

#[test]
fn unreadable_files_fail_the_run_by_name_unless_excluded() {
    let _engine = need_docker();
    // Root reads every file, so taskrun runs as `nobody` here (setpriv from util-linux).
    let ws = Ws::new("steps:\n  - cmd: BUSYBOX ls -A /workspace\n");
    for dir in [ws.path().to_path_buf(), ws.ctx()] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(
        ws.path().join("acr-task.yaml"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let home = ws.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o777)).unwrap();
    ws.file("readable.txt", "ok\n");
    ws.file("secret.key", "root only\n");
    std::fs::set_permissions(
        ws.ctx().join("secret.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::fs::set_permissions(
        ws.ctx().join("readable.txt"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let as_nobody = || {
        let mut cmd = Command::new("setpriv");
        cmd.arg(format!("--reuid={NOBODY}"))
            .arg(format!("--regid={NOBODY}"))
            .arg(format!("--groups={}", docker_gid()))
            .arg("--")
            .arg(bin())
            .args(["run", "-f", "acr-task.yaml", "--output", "plain", "ctx"])
            .current_dir(ws.path())
            .env("TASKRUN_HOME", &home)
            .env("HOME", &home)
            .env("DOCKER_CONFIG", &home)
            .env("NO_COLOR", "1")
            .env_remove("TASKRUN_REGISTRY")
            .stdin(Stdio::null());
        cmd
    };

    let run = Run::of(&mut as_nobody());
    run.expect(1).left_nothing();
    let text = run.all();
    assert!(
        text.contains("error checking context: no permission to read from '")
            && text.contains("/ctx/secret.key'"),
        "{text}"
    );
    assert!(!text.contains("root only"), "{text}");

    // An unreadable directory: named the same way.
    std::fs::remove_file(ws.ctx().join("secret.key")).unwrap();
    ws.file("private/key", "root only\n");
    std::fs::set_permissions(
        ws.ctx().join("private"),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    let run = Run::of(&mut as_nobody());
    run.expect(1).left_nothing();
    let text = run.all();
    assert!(
        text.contains("error checking context: can't stat '") && text.contains("/ctx/private'"),
        "{text}"
    );

    // Excluded by .dockerignore: never read, the run goes ahead without it.
    ws.file(".dockerignore", "private\n");
    std::fs::set_permissions(
        ws.ctx().join(".dockerignore"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let run = Run::of(&mut as_nobody());
    run.expect(0).left_nothing();
    assert_eq!(
        run.output_of("acb_step_0"),
        [".dockerignore", "readable.txt"],
        "{}",
        run.all()
    );
}

// ---------------------------------------------------------------------------------------------
// Remote contexts (git daemon, HTTP tarball): fetched into `/workspace/<stepID>` as acb's
// scanner does, built from `<stepID>[/<subdir>]`.

/// A bare repository `<base>/repo.git`: `main` and `feature` branches and a tag `v1`, each with
/// a root Dockerfile that must not be used and `folder/` with the one that must.
fn make_repo(base: &Path) {
    let work = base.join("work");
    std::fs::create_dir_all(work.join("folder")).unwrap();
    git(&work, &["init", "-q"]);
    let write = |rel: &str, text: &str| std::fs::write(work.join(rel), text).unwrap();
    write(
        "Dockerfile",
        &format!("FROM {BUSYBOX}\nRUN echo wrong root Dockerfile > /msg.txt\n"),
    );
    write(
        "folder/Dockerfile",
        &format!("FROM {BUSYBOX}\nCOPY msg.txt /msg.txt\nRUN cat /msg.txt\n"),
    );
    write("folder/msg.txt", "from main\n");
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "main"]);
    git(&work, &["tag", "v1"]);
    git(&work, &["checkout", "-qb", "feature"]);
    write("folder/msg.txt", "from the feature branch\n");
    git(&work, &["commit", "-qam", "feature"]);
    git(&work, &["checkout", "-q", "main"]);
    git(
        base,
        &["clone", "-q", "--bare", work.to_str().unwrap(), "repo.git"],
    );
}

#[test]
fn a_git_context_is_cloned_and_built_from_its_ref_and_sub_directory() {
    let _engine = need_docker();
    let mut images = Images::default();
    let feature = image(&mut images, "git-feature");
    let tagged = image(&mut images, "git-tag");
    let served = tempfile::tempdir().unwrap();
    make_repo(served.path());
    let daemon = GitDaemon::start(served.path());
    let url = format!("git://127.0.0.1:{}/repo.git", daemon.port);
    let ws = Ws::new(&format!(
        r#"steps:
  - id: fromgit
    workingDirectory: elsewhere
    build: -t {feature} {url}#feature:folder
  - id: show
    cmd: {feature} cat /msg.txt
  - id: files
    cmd: BUSYBOX ls /workspace/fromgit /workspace/fromgit/folder
  - id: fromtag
    build: -t {tagged} -f Dockerfile {url}#v1:other/../folder
  - id: showtag
    cmd: {tagged} cat /msg.txt
"#
    ));
    let run = ws.run();
    run.expect(0).left_nothing();
    let text = run.all();
    assert!(
        run.has_line(
            "fromgit",
            &format!("Fetching git context {url}#feature:folder")
        ) && run.has_line(
            "fromgit",
            &format!("Successfully fetched git context {url}#feature:folder")
        ),
        "{text}"
    );
    assert_eq!(run.output_of("show"), ["from the feature branch"], "{text}");
    // acb's place for the files: `/workspace/<stepID>`, whatever the working directory.
    let files = run.output_of("files");
    assert!(
        files.iter().any(|l| l == "Dockerfile") && files.iter().any(|l| l == "msg.txt"),
        "{text}"
    );
    assert_eq!(run.output_of("showtag"), ["from main"], "{text}");

    // A ref the repository does not have: the step fails naming the URL and the ref.
    ws.write_task(&format!(
        "steps:\n  - id: missing\n    build: -t {feature} {url}#no-such-branch:folder\n"
    ));
    let run = ws.run();
    run.expect(1).left_nothing();
    let text = run.all();
    assert!(
        text.contains(&format!(
            "failed to fetch the git context {url}#no-such-branch:folder"
        )) && text.contains("no-such-branch"),
        "{text}"
    );
    drop(daemon);
}

#[test]
fn a_tarball_context_is_downloaded_unpacked_and_built() {
    let _engine = need_docker();
    let mut images = Images::default();
    let built = image(&mut images, "tarball");
    let src = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(src.path().join("docker")).unwrap();
    std::fs::write(
        src.path().join("docker/Dockerfile"),
        format!("FROM {BUSYBOX}\nCOPY msg.txt /msg.txt\nRUN cat /msg.txt\n"),
    )
    .unwrap();
    std::fs::write(src.path().join("msg.txt"), "from the tarball\n").unwrap();
    let tgz = src.path().join("ctx.tar.gz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&tgz)
        .args(["-C", src.path().to_str().unwrap(), "docker", "msg.txt"])
        .status()
        .unwrap();
    assert!(status.success());
    let port = serve_http(vec![
        ("/ctx.tar.gz", std::fs::read(&tgz).unwrap()),
        (
            "/page.html",
            b"<!DOCTYPE html><html><body>a page</body></html>".repeat(20),
        ),
    ]);
    let base = format!("http://127.0.0.1:{port}");
    let ws = Ws::new(&format!(
        r#"steps:
  - id: fromtar
    build: -t {built} -f docker/Dockerfile {base}/ctx.tar.gz
  - id: show
    cmd: {built} cat /msg.txt
"#
    ));
    let run = ws.run();
    run.expect(0).left_nothing();
    let text = run.all();
    assert!(
        run.has_line(
            "fromtar",
            &format!("Successfully fetched tarball context {base}/ctx.tar.gz")
        ),
        "{text}"
    );
    assert_eq!(run.output_of("show"), ["from the tarball"], "{text}");

    // Not a tarball, and a missing file: clear step failures naming the URL.
    ws.write_task(&format!(
        "steps:\n  - id: page\n    build: -t {built} {base}/page.html\n    ignoreErrors: true\n  - id: gone\n    build: -t {built} {base}/gone.tar\n"
    ));
    let run = ws.run();
    run.expect(1).left_nothing();
    let text = run.all();
    assert!(
        text.contains(&format!(
            "failed to fetch the tarball context {base}/page.html: not a tar archive"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "failed to fetch the tarball context {base}/gone.tar: the server answered 404"
        )),
        "{text}"
    );
}

#[test]
fn an_oci_artifact_context_is_pulled_and_built() {
    use oci_client::client::ImageLayer;

    let _engine = need_docker();
    common::check_registries();
    let mut images = Images::default();
    let built = image(&mut images, "oci");
    // An ORAS-style artifact: the Dockerfile as a titled file layer, `app/` as a directory
    // layer (gzip tar, `io.deis.oras.content.unpack`).
    let src = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(src.path().join("app")).unwrap();
    std::fs::write(src.path().join("app/msg.txt"), "from the artifact\n").unwrap();
    let tgz = src.path().join("app.tar.gz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&tgz)
        .args(["-C", src.path().to_str().unwrap(), "app"])
        .status()
        .unwrap();
    assert!(status.success());
    let title = remote::oci_title;
    let mut dir = title("app");
    dir.insert("io.deis.oras.content.unpack".to_owned(), "true".to_owned());
    let layers = vec![
        ImageLayer::new(
            format!("FROM {BUSYBOX}\nCOPY app/msg.txt /msg.txt\n").into_bytes(),
            "application/vnd.oci.image.layer.v1.tar".to_owned(),
            Some(title("Dockerfile")),
        ),
        ImageLayer::new(
            std::fs::read(&tgz).unwrap(),
            "application/vnd.oci.image.layer.v1.tar+gzip".to_owned(),
            Some(dir),
        ),
    ];
    let artifact = format!("127.0.0.1:5000/taskrun-ctx-oci-{}:1", std::process::id());
    remote::push_oci_artifact(&artifact, &layers);

    let ws = Ws::new(&format!(
        "steps:\n  - id: fromoci\n    build: -t {built} oci://{artifact}\n  - id: show\n    cmd: {built} cat /msg.txt\n"
    ));
    let run = ws.run();
    run.expect(0).left_nothing();
    let text = run.all();
    assert!(
        run.has_line(
            "fromoci",
            &format!("Successfully fetched OCI artifact context oci://{artifact}")
        ),
        "{text}"
    );
    assert_eq!(run.output_of("show"), ["from the artifact"], "{text}");
}
