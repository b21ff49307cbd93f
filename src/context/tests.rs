//! Tests of local contexts and archive filtering, on real temporary directories.

use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use futures_util::StreamExt;
use tar::EntryType;

use super::*;

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    path: Vec<u8>,
    kind: EntryType,
    content: Vec<u8>,
    link: Option<Vec<u8>>,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    username: Vec<u8>,
}

impl Entry {
    fn name(&self) -> String {
        String::from_utf8_lossy(&self.path).into_owned()
    }
}

fn ok<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn err<T, E>(r: Result<T, E>) -> E {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

fn tmp() -> tempfile::TempDir {
    ok(tempfile::tempdir())
}

fn write(dir: &Path, rel: &str, content: &str) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        ok(fs::create_dir_all(parent));
    }
    ok(fs::write(path, content));
}

fn parse_tar(bytes: &[u8]) -> Vec<Entry> {
    let mut archive = tar::Archive::new(bytes);
    let mut out = Vec::new();
    for entry in ok(archive.entries()) {
        let mut entry = ok(entry);
        let path = entry.path_bytes().into_owned();
        let link = entry.link_name_bytes().map(|l| l.into_owned());
        let h = entry.header().clone();
        let mut content = Vec::new();
        ok(entry.read_to_end(&mut content));
        out.push(Entry {
            path,
            kind: h.entry_type(),
            content,
            link,
            mode: ok(h.mode()),
            uid: ok(h.uid()),
            gid: ok(h.gid()),
            mtime: ok(h.mtime()),
            username: h.username_bytes().map(<[u8]>::to_vec).unwrap_or_default(),
        });
    }
    out
}

fn read_all(mut r: impl Read) -> Vec<u8> {
    let mut bytes = Vec::new();
    ok(r.read_to_end(&mut bytes));
    bytes
}

fn tar_entries(ctx: ContextTar) -> Vec<Entry> {
    parse_tar(&read_all(ctx.into_reader()))
}

fn names(entries: &[Entry]) -> Vec<String> {
    entries.iter().map(Entry::name).collect()
}

fn find<'a>(entries: &'a [Entry], name: &str) -> &'a Entry {
    match entries.iter().find(|e| e.name() == name) {
        Some(e) => e,
        None => panic!("{name} not in {:?}", names(entries)),
    }
}

fn ignore(text: &str) -> DockerIgnore {
    ok(DockerIgnore::parse(text))
}

fn collect_stream(
    stream: impl futures_util::Stream<Item = io::Result<Bytes>>,
) -> io::Result<Vec<u8>> {
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    rt.block_on(async move {
        let mut stream = std::pin::pin!(stream);
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    })
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(true)
}

#[test]
fn context_follows_dockerignore_in_walk_order() {
    let dir = tmp();
    let d = dir.path();
    for f in [
        "Dockerfile",
        "README.md",
        "CHANGELOG.md",
        "docs/guide.md",
        "node_modules/y.js",
        "web/node_modules/x.js",
        "src/main.rs",
        "src/lib.rs",
    ] {
        write(d, f, f);
    }
    write(d, ".dockerignore", "*.md\n!README.md\nnode_modules\n");
    let rules = ok(load_dockerignore(d, Some("Dockerfile")));
    let ctx = ok(context_tar(d, Some("Dockerfile"), &rules));
    assert_eq!(ctx.dockerfile(), Some("Dockerfile"));
    let expected = [
        ".dockerignore",
        "Dockerfile",
        "README.md",
        "docs/",
        "docs/guide.md",
        "src/",
        "src/lib.rs",
        "src/main.rs",
        "web/",
        "web/node_modules/",
        "web/node_modules/x.js",
    ];
    assert_eq!(ctx.paths(), expected);
    let entries = tar_entries(ctx);
    assert_eq!(names(&entries), expected);
    assert_eq!(find(&entries, "src/main.rs").content, b"src/main.rs");
    assert_eq!(find(&entries, "docs/").kind, EntryType::Directory);
}

#[test]
fn headers_are_normalised_but_keep_mode_and_mtime() {
    let dir = tmp();
    let d = dir.path();
    write(d, "run.sh", "#!/bin/sh\n");
    ok(fs::set_permissions(
        d.join("run.sh"),
        fs::Permissions::from_mode(0o4751),
    ));
    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
    let file = ok(fs::File::options().write(true).open(d.join("run.sh")));
    ok(file.set_modified(when));
    drop(file);
    let entries = tar_entries(ok(context_tar(d, None, &DockerIgnore::default())));
    let e = find(&entries, "run.sh");
    assert_eq!(e.mode, 0o4751);
    assert_eq!((e.uid, e.gid), (0, 0));
    assert_eq!(e.mtime, 1_600_000_000);
    assert!(e.username.is_empty());
    assert_eq!(e.kind, EntryType::Regular);
}

#[test]
fn dockerfile_and_dockerignore_are_always_sent() {
    let dir = tmp();
    let d = dir.path();
    write(d, "Dockerfile", "FROM scratch\n");
    write(d, "app.txt", "x");
    write(d, ".dockerignore", "*\n");
    let rules = ok(load_dockerignore(d, None));
    let entries = tar_entries(ok(context_tar(d, Some("Dockerfile"), &rules)));
    assert_eq!(names(&entries), [".dockerignore", "Dockerfile"]);

    // Dockerfile inside an excluded directory: only it comes back, without its parent entry.
    let dir = tmp();
    let d = dir.path();
    write(d, "build/Dockerfile", "FROM scratch\n");
    write(d, "build/secret.txt", "s");
    write(d, "main.go", "package main");
    write(d, ".dockerignore", "build\n.dockerignore\n");
    let rules = ok(load_dockerignore(d, None));
    let entries = tar_entries(ok(context_tar(d, Some("build/Dockerfile"), &rules)));
    assert_eq!(
        names(&entries),
        [".dockerignore", "build/Dockerfile", "main.go"]
    );
}

#[test]
fn exceptions_re_include_inside_excluded_directories() {
    let dir = tmp();
    let d = dir.path();
    write(d, "logs/debug.log", "d");
    write(d, "logs/important.log", "i");
    write(d, "a/b.go", "go");
    write(d, "a/c.rs", "rs");
    write(d, "top.go", "go");
    let rules = ignore("logs\n!logs/important.log\n");
    let entries = tar_entries(ok(context_tar(d, None, &rules)));
    assert!(names(&entries).contains(&"logs/important.log".to_string()));
    assert!(!names(&entries).contains(&"logs/".to_string()));
    assert!(!names(&entries).contains(&"logs/debug.log".to_string()));

    let rules = ignore("*\n!**/*.go\n");
    let entries = tar_entries(ok(context_tar(d, None, &rules)));
    assert_eq!(names(&entries), ["a/b.go", "top.go"]);
}

#[test]
fn symlinks_are_archived_as_links_never_followed() {
    let dir = tmp();
    let d = dir.path();
    write(d, "src/main.rs", "fn main() {}");
    ok(symlink("src/main.rs", d.join("link-in")));
    ok(symlink("../../../../etc/passwd", d.join("link-out")));
    ok(symlink("/etc/passwd", d.join("link-abs")));
    ok(symlink("/etc", d.join("link-dir")));
    ok(symlink("src", d.join("link-src")));
    ok(symlink("does/not/exist", d.join("link-dangling")));
    let long_target = format!("{}/target", "x".repeat(150));
    ok(symlink(&long_target, d.join("link-long")));
    ok(symlink("../main.rs", d.join("src/link-up")));
    // A relative link climbing out of the context is refused, naming it (the engine would
    // refuse the whole archive: `invalid symlink`) …
    let e = err(context_tar(d, None, &DockerIgnore::default()));
    assert!(
        matches!(&e, ContextError::SymlinkEscapes { path, target }
            if path.ends_with("/link-out") && target == "../../../../etc/passwd"),
        "{e}"
    );
    assert!(e.to_string().contains("exclude it in .dockerignore"), "{e}");
    // … unless it is excluded; every other link is archived as a link.
    let entries = tar_entries(ok(context_tar(d, None, &ignore("link-out\n"))));
    for (name, target) in [
        ("link-in", "src/main.rs"),
        ("src/link-up", "../main.rs"),
        ("link-abs", "/etc/passwd"),
        ("link-dir", "/etc"),
        ("link-src", "src"),
        ("link-dangling", "does/not/exist"),
        ("link-long", long_target.as_str()),
    ] {
        let e = find(&entries, name);
        assert_eq!(e.kind, EntryType::Symlink, "{name}");
        assert_eq!(e.link.as_deref(), Some(target.as_bytes()), "{name}");
        assert!(e.content.is_empty(), "{name} must not carry content");
    }
    assert!(
        entries
            .iter()
            .all(|e| !e.name().starts_with("link-dir/") && !e.name().starts_with("link-src/")),
        "directories behind links are not descended into"
    );
}

#[test]
fn links_escaping_the_context_are_judged_like_the_engine() {
    for (rel, target, escapes) in [
        ("a", "b", false),
        ("a", "./b/../c", false),
        ("a", "/etc/passwd", false),
        ("a", "/", false),
        ("a", ".", false),
        ("a", "..", true),
        ("a", "../x", true),
        ("a", "b/../../x", true),
        ("d/a", "../x", false),
        ("d/a", "../../x", true),
        ("d/e/a", "../../x", false),
        ("d/e/a", "./../.././../x", true),
        ("a", "", false),
    ] {
        assert_eq!(
            crate::context::link_escapes(rel.as_bytes(), target.as_bytes()),
            escapes,
            "{rel} -> {target}"
        );
    }
}

#[test]
fn filter_tar_refuses_a_link_escaping_the_context() {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(EntryType::Symlink);
    h.set_mode(0o777);
    h.set_size(0);
    ok(b.append_link(&mut h, "ctx/app/lib", "../../shared"));
    let input = ok(b.into_inner());
    let mut reader = TarFilter::new(&DockerIgnore::default(), None)
        .strip_prefix("ctx")
        .reader(io::Cursor::new(input.clone()));
    let mut out = Vec::new();
    let e = reader.read_to_end(&mut out).unwrap_err();
    assert!(
        e.to_string()
            .contains("the symlink 'app/lib' points outside the build context (to '../../shared')"),
        "{e}"
    );
    // Excluded, it is never looked at.
    let stream = filter_tar(io::Cursor::new(input), "ctx", &ignore("app/lib\n"), None);
    assert!(parse_tar(&ok(collect_stream(stream))).is_empty());
}

#[test]
fn symlinked_context_root_is_resolved() {
    let dir = tmp();
    let real = dir.path().join("real");
    write(&real, "f.txt", "f");
    let link = dir.path().join("ctx");
    ok(symlink(&real, &link));
    let ctx = ok(context_tar(&link, None, &DockerIgnore::default()));
    assert_eq!(ctx.paths(), ["f.txt"]);
}

#[test]
fn fifos_and_sockets_are_skipped_without_blocking() {
    let dir = tmp();
    let d = dir.path();
    write(d, "a.txt", "a");
    let made_fifo = std::process::Command::new("mkfifo")
        .arg(d.join("pipe"))
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let _listener = ok(std::os::unix::net::UnixListener::bind(d.join("sock")));
    let ctx = ok(context_tar(d, None, &DockerIgnore::default()));
    let mut expected = vec![ContextWarning::SpecialFileSkipped {
        path: "sock".to_string(),
        kind: "socket",
    }];
    if made_fifo {
        expected.insert(
            0,
            ContextWarning::SpecialFileSkipped {
                path: "pipe".to_string(),
                kind: "fifo",
            },
        );
    }
    assert_eq!(ctx.warnings(), expected.as_slice());
    let stream = ctx.into_stream();
    let handle = stream.handle();
    let entries = parse_tar(&ok(collect_stream(stream)));
    assert_eq!(names(&entries), ["a.txt"]);
    assert_eq!(handle.warnings(), expected);
    assert!(expected[0].to_string().starts_with("skipping "));
}

fn deny_secret(path: &Path) -> Option<io::Error> {
    let name = path.file_name()?.to_string_lossy();
    (name.starts_with("secret") || name.starts_with("private"))
        .then(|| io::Error::from(io::ErrorKind::PermissionDenied))
}

#[test]
fn unreadable_paths_fail_unless_excluded() {
    // Tests run as root, where permissions cannot be provoked: inject the failure instead.
    let dir = tmp();
    let d = dir.path();
    write(d, "ok.txt", "ok");
    write(d, "secret.key", "k");
    let e = err(context_tar_with_fault(
        d,
        None,
        &DockerIgnore::default(),
        deny_secret,
    ));
    assert!(matches!(&e, ContextError::NoPermission { path } if path.ends_with("/secret.key")));
    assert!(
        e.to_string()
            .starts_with("error checking context: no permission to read from '")
    );
    let ctx = ok(context_tar_with_fault(
        d,
        None,
        &ignore("secret*\n"),
        deny_secret,
    ));
    assert_eq!(ctx.paths(), ["ok.txt"]);

    let dir = tmp();
    let d = dir.path();
    write(d, "private/x", "x");
    write(d, "private/y", "y");
    write(d, "ok.txt", "ok");
    let e = err(context_tar_with_fault(
        d,
        None,
        &DockerIgnore::default(),
        deny_secret,
    ));
    assert!(matches!(&e, ContextError::CantStat { path, .. } if path.ends_with("/private")));
    assert!(e.to_string().contains("can't stat"));
    // Excluded: never read.
    let ctx = ok(context_tar_with_fault(
        d,
        None,
        &ignore("private\n"),
        deny_secret,
    ));
    assert_eq!(ctx.paths(), ["ok.txt"]);
    assert!(ctx.warnings().is_empty());
    // Excluded but walked for an exception: skipped with a warning.
    let ctx = ok(context_tar_with_fault(
        d,
        None,
        &ignore("private\n!private/x\n"),
        deny_secret,
    ));
    assert_eq!(ctx.paths(), ["ok.txt"]);
    assert!(matches!(
        ctx.warnings(),
        [ContextWarning::UnreadableDirSkipped { path, .. }] if path == "private"
    ));
}

#[test]
fn unreadable_file_with_real_permissions_when_not_root() {
    if is_root() {
        // Root reads mode-000 files; covered by the injected test above.
        return;
    }
    let dir = tmp();
    let d = dir.path();
    write(d, "locked", "x");
    ok(fs::set_permissions(
        d.join("locked"),
        fs::Permissions::from_mode(0o000),
    ));
    let e = err(context_tar(d, None, &DockerIgnore::default()));
    assert!(matches!(e, ContextError::NoPermission { .. }));
    assert!(context_tar(d, None, &ignore("locked")).is_ok());
    ok(fs::set_permissions(
        d.join("locked"),
        fs::Permissions::from_mode(0o600),
    ));

    write(d, "closed/x", "x");
    ok(fs::set_permissions(
        d.join("closed"),
        fs::Permissions::from_mode(0o000),
    ));
    let e = err(context_tar(d, None, &DockerIgnore::default()));
    assert!(matches!(e, ContextError::CantStat { .. }), "{e}");
    assert!(context_tar(d, None, &ignore("closed")).is_ok());
    let ctx = ok(context_tar(d, None, &ignore("closed\n!closed/x")));
    assert_eq!(ctx.warnings().len(), 1);
    ok(fs::set_permissions(
        d.join("closed"),
        fs::Permissions::from_mode(0o700),
    ));
}

#[test]
fn dockerfile_path_rules() {
    let outer = tmp();
    let d = outer.path().join("ctx");
    write(&d, "Dockerfile", "FROM scratch\n");
    write(&d, "sub/Dockerfile", "FROM scratch\n");
    write(&d, "docker/Dockerfile.prod", "FROM scratch\n");
    write(outer.path(), "Dockerfile.outside", "FROM scratch\n");
    let none = DockerIgnore::default();

    let e = err(context_tar(&d, Some("../Dockerfile.outside"), &none));
    assert!(
        matches!(e, ContextError::DockerfileOutsideContext { .. }),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("'../Dockerfile.outside' is outside the build context")
    );
    let e = err(context_tar(&d, Some("sub/../../ctx/../nope"), &none));
    assert!(
        matches!(e, ContextError::DockerfileOutsideContext { .. }),
        "{e}"
    );
    let abs_outside = outer.path().join("Dockerfile.outside");
    let e = err(context_tar(&d, abs_outside.to_str(), &none));
    assert!(
        matches!(e, ContextError::DockerfileOutsideContext { .. }),
        "{e}"
    );

    let abs_inside = d.join("sub/Dockerfile");
    let ctx = ok(context_tar(&d, abs_inside.to_str(), &none));
    assert_eq!(ctx.dockerfile(), Some("sub/Dockerfile"));
    let ctx = ok(context_tar(&d, Some("sub/../Dockerfile"), &none));
    assert_eq!(ctx.dockerfile(), Some("Dockerfile"));
    let ctx = ok(context_tar(&d, Some("./sub/Dockerfile"), &none));
    assert_eq!(ctx.dockerfile(), Some("sub/Dockerfile"));

    let e = err(context_tar(&d, Some("missing/Dockerfile"), &none));
    assert!(
        matches!(&e, ContextError::DockerfileNotFound { path, .. } if path == "missing/Dockerfile")
    );
    assert!(e.to_string().contains("'missing/Dockerfile'"));
    let e = err(context_tar(&d, Some("sub"), &none));
    assert!(matches!(e, ContextError::DockerfileNotAFile { .. }), "{e}");
    let e = err(context_tar(&d, Some(""), &none));
    assert!(matches!(e, ContextError::DockerfileNotFound { .. }), "{e}");

    // Symlinked Dockerfiles: inside → sent under the target's name; outside → refused.
    ok(symlink("docker/Dockerfile.prod", d.join("Dockerfile.link")));
    let ctx = ok(context_tar(&d, Some("Dockerfile.link"), &none));
    assert_eq!(ctx.dockerfile(), Some("docker/Dockerfile.prod"));
    ok(symlink(&abs_outside, d.join("Dockerfile.escape")));
    let e = err(context_tar(&d, Some("Dockerfile.escape"), &none));
    assert!(
        matches!(e, ContextError::DockerfileOutsideContext { .. }),
        "{e}"
    );
    ok(symlink(outer.path(), d.join("up")));
    let e = err(context_tar(&d, Some("up/Dockerfile.outside"), &none));
    assert!(
        matches!(e, ContextError::DockerfileOutsideContext { .. }),
        "{e}"
    );

    // Context itself.
    let e = err(context_tar(&outer.path().join("nope"), None, &none));
    assert!(matches!(e, ContextError::ContextNotFound { .. }), "{e}");
    let e = err(context_tar(&abs_outside, None, &none));
    assert!(
        matches!(e, ContextError::ContextNotADirectory { .. }),
        "{e}"
    );
}

#[test]
fn outside_dockerfile_is_sent_like_the_cli() {
    let dir = tmp();
    let d = dir.path();
    write(d, "app.log", "l");
    write(d, "main.go", "m");
    write(d, ".dockerignore", "*.log\n");
    let rules = ok(load_dockerignore(d, None));
    let mut ctx = ok(context_tar(d, None, &rules));
    let name = ctx.add_outside_dockerfile(Bytes::from_static(b"FROM scratch\n"));
    assert!(name.starts_with(".dockerfile."));
    assert_eq!(name.len(), ".dockerfile.".len() + 16);
    assert_eq!(ctx.dockerfile(), Some(name.as_str()));
    let entries = tar_entries(ctx);
    assert_eq!(names(&entries), [".dockerignore", "main.go", name.as_str()]);
    let df = find(&entries, &name);
    assert_eq!(df.content, b"FROM scratch\n");
    assert_eq!(df.mode, 0o600);
    let amended = String::from_utf8_lossy(&find(&entries, ".dockerignore").content).into_owned();
    assert_eq!(amended, format!("*.log\n\n{name}\n"));
    assert!(ignore(&amended).is_excluded(&name));

    // Without a .dockerignore, one is added.
    let dir = tmp();
    write(dir.path(), "main.go", "m");
    let mut ctx = ok(context_tar(dir.path(), None, &DockerIgnore::default()));
    let name = ctx.add_outside_dockerfile(b"FROM alpine\n".to_vec());
    let entries = tar_entries(ctx);
    assert_eq!(names(&entries), ["main.go", name.as_str(), ".dockerignore"]);
    // The CLI's new file names itself first, so the daemon removes it as well.
    let added = String::from_utf8_lossy(&find(&entries, ".dockerignore").content).into_owned();
    assert_eq!(added, format!(".dockerignore\n{name}\n"));
    assert!(ignore(&added).is_excluded(".dockerignore"));
    assert!(ignore(&added).is_excluded(&name));
}

#[test]
fn large_context_streams_with_bounded_memory() {
    const SIZE: u64 = 200 * 1024 * 1024;
    const CAPACITY: usize = 2;
    let dir = tmp();
    let d = dir.path();
    let file = ok(fs::File::create(d.join("big.bin")));
    ok(file.set_len(SIZE));
    drop(file);
    write(d, "Dockerfile", "FROM scratch\nCOPY big.bin /\n");
    let ctx = ok(context_tar(d, Some("Dockerfile"), &DockerIgnore::default()));
    assert_eq!(ctx.content_size(), SIZE + 28);
    let stream = ctx.into_stream_with_capacity(CAPACITY);
    let handle = stream.handle();
    let rt = ok(tokio::runtime::Builder::new_current_thread().build());
    let (total, chunks, tail) = rt.block_on(async move {
        let mut stream = stream;
        let mut total = 0u64;
        let mut chunks = 0u64;
        let mut tail = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = ok(chunk);
            assert!(chunk.len() <= CHUNK_SIZE);
            if chunks == 0 {
                // The first chunk arrives while most of the file is still unread.
                assert!(!handle.is_finished());
                assert_eq!(&chunk[..10], b"Dockerfile");
            }
            total += chunk.len() as u64;
            chunks += 1;
            // Never more than `CAPACITY` chunks produced ahead of the consumer.
            assert!(handle.bytes_sent() <= total + (CAPACITY * CHUNK_SIZE) as u64);
            tail = chunk.to_vec();
        }
        assert!(handle.is_finished());
        assert_eq!(handle.bytes_sent(), total);
        (total, chunks, tail)
    });
    // 2 headers + Dockerfile padded to 512 + the file + 1024 bytes of end marker.
    assert_eq!(total, 512 + 512 + 512 + SIZE + 1024);
    assert!(chunks >= SIZE / CHUNK_SIZE as u64);
    assert!(tail.len() >= 1024 && tail[tail.len() - 1024..].iter().all(|b| *b == 0));
}

#[test]
fn dropping_the_consumer_stops_the_producer() {
    let dir = tmp();
    let file = ok(fs::File::create(dir.path().join("big.bin")));
    ok(file.set_len(64 * 1024 * 1024));
    drop(file);
    let mut reader =
        ok(context_tar(dir.path(), None, &DockerIgnore::default())).into_reader_with_capacity(1);
    let handle = reader.handle();
    let mut first = [0u8; 512];
    ok(reader.read_exact(&mut first));
    drop(reader);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !handle.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(handle.is_finished());
    assert!(handle.bytes_sent() < 64 * 1024 * 1024);
}

#[test]
fn hard_links_are_kept_as_links() {
    let dir = tmp();
    let d = dir.path();
    write(d, "a.txt", "shared");
    ok(fs::hard_link(d.join("a.txt"), d.join("b.txt")));
    let entries = tar_entries(ok(context_tar(d, None, &DockerIgnore::default())));
    assert_eq!(find(&entries, "a.txt").content, b"shared");
    let b = find(&entries, "b.txt");
    assert_eq!(b.kind, EntryType::Link);
    assert_eq!(b.link.as_deref(), Some(&b"a.txt"[..]));
    // When the first name is excluded, the second is sent as a regular file.
    let entries = tar_entries(ok(context_tar(d, None, &ignore("a.txt"))));
    assert_eq!(find(&entries, "b.txt").kind, EntryType::Regular);
    assert_eq!(find(&entries, "b.txt").content, b"shared");
}

#[test]
fn output_is_deterministic() {
    let dir = tmp();
    let d = dir.path();
    for f in ["z", "a/b/c", "a/a", "m.txt"] {
        write(d, f, f);
    }
    let one = read_all(ok(context_tar(d, None, &DockerIgnore::default())).into_reader());
    let two = read_all(ok(context_tar(d, None, &DockerIgnore::default())).into_reader());
    assert_eq!(one, two);
}

#[test]
fn non_utf8_and_long_names() {
    let dir = tmp();
    let d = dir.path();
    let raw = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
    ok(fs::write(d.join(raw), "x"));
    let long = format!("{}/{}/file.txt", "d".repeat(80), "e".repeat(80));
    write(d, &long, "deep");
    let entries = tar_entries(ok(context_tar(d, None, &DockerIgnore::default())));
    assert!(entries.iter().any(|e| e.path == b"caf\xe9.txt"));
    assert_eq!(find(&entries, &long).content, b"deep");
    let entries = tar_entries(ok(context_tar(d, None, &ignore("caf?.txt"))));
    assert!(entries.iter().all(|e| e.path != b"caf\xe9.txt"));
}

#[test]
fn empty_context_is_an_empty_tar() {
    let dir = tmp();
    let ctx = ok(context_tar(dir.path(), None, &DockerIgnore::default()));
    assert!(ctx.is_empty());
    let bytes = read_all(ctx.into_reader());
    assert_eq!(bytes, vec![0u8; 1024]);
}

#[test]
fn workspace_stream_honours_the_root_dockerignore() {
    // Like `az acr run` uploading its source context.
    let dir = tmp();
    let d = dir.path();
    write(d, ".dockerignore", "*.md\n");
    write(d, "x.md", "x");
    write(d, "keep.txt", "k");
    let entries = parse_tar(&ok(collect_stream(ok(workspace_stream(d)))));
    assert_eq!(names(&entries), [".dockerignore", "keep.txt"]);
}

#[test]
fn load_dockerignore_rules() {
    let dir = tmp();
    let d = dir.path();
    write(d, "build/Dockerfile", "FROM scratch\n");
    write(d, "build/Dockerfile.dockerignore", "*.txt\n");
    write(d, ".dockerignore", "*.md\n");
    let per_dockerfile = ok(load_dockerignore(d, Some("build/Dockerfile")));
    assert!(per_dockerfile.is_excluded("a.txt"));
    assert!(!per_dockerfile.is_excluded("a.md"));
    let root = ok(load_dockerignore(d, Some("Dockerfile")));
    assert!(root.is_excluded("a.md"));
    assert_eq!(
        ignore_file_candidates(Some("build/Dockerfile")),
        ["build/Dockerfile.dockerignore", ".dockerignore"]
    );
    assert_eq!(ignore_file_candidates(None), [".dockerignore"]);

    write(d, ".dockerignore", "ok\n[\n");
    let e = err(load_dockerignore(d, None));
    assert!(matches!(&e, ContextError::InvalidIgnore { source, .. } if source.line == 2));
    assert!(e.to_string().contains(".dockerignore"));

    let outside = tmp();
    write(outside.path(), "ignore", "*\n");
    ok(fs::remove_file(d.join(".dockerignore")));
    ok(symlink(
        outside.path().join("ignore"),
        d.join(".dockerignore"),
    ));
    let e = err(load_dockerignore(d, None));
    assert!(
        matches!(e, ContextError::SymlinkOutsideContext { .. }),
        "{e}"
    );

    let empty = tmp();
    assert!(ok(load_dockerignore(empty.path(), None)).is_empty());
    // A per-Dockerfile candidate outside the context is not looked at.
    let rules = ok(load_dockerignore(&d.join("build"), Some("../Dockerfile")));
    assert!(rules.is_empty());
}

/// A `docker cp`-style archive of `ctx/`.
fn volume_archive() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let dir = |b: &mut tar::Builder<Vec<u8>>, path: &str| {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(EntryType::Directory);
        h.set_mode(0o755);
        h.set_uid(1000);
        h.set_size(0);
        ok(b.append_data(&mut h, path, io::empty()));
    };
    let file = |b: &mut tar::Builder<Vec<u8>>, path: &str, content: &[u8]| {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(EntryType::Regular);
        h.set_mode(0o644);
        h.set_uid(1000);
        h.set_gid(1000);
        h.set_mtime(1_700_000_000);
        h.set_size(content.len() as u64);
        ok(b.append_data(&mut h, path, content));
    };
    let link = |b: &mut tar::Builder<Vec<u8>>, kind: EntryType, path: &str, target: &str| {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(kind);
        h.set_mode(0o777);
        h.set_size(0);
        ok(b.append_link(&mut h, path, target));
    };
    dir(&mut b, "ctx/");
    file(
        &mut b,
        "ctx/.dockerignore",
        b"*.md\n!README.md\nsecret\nDockerfile\n",
    );
    file(&mut b, "ctx/Dockerfile", b"FROM scratch\n");
    file(&mut b, "ctx/README.md", b"readme");
    file(&mut b, "ctx/notes.md", b"notes");
    dir(&mut b, "ctx/secret/");
    file(&mut b, "ctx/secret/key", b"KEY");
    dir(&mut b, "ctx/src/");
    file(&mut b, "ctx/src/a.rs", b"fn a() {}");
    link(&mut b, EntryType::Symlink, "ctx/link", "/etc/passwd");
    link(&mut b, EntryType::Link, "ctx/hard", "ctx/src/a.rs");
    link(
        &mut b,
        EntryType::Link,
        "ctx/hard-to-excluded",
        "ctx/notes.md",
    );
    file(&mut b, "other/x", b"x");
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(EntryType::Fifo);
    h.set_mode(0o644);
    h.set_size(0);
    ok(b.append_data(&mut h, "ctx/pipe", io::empty()));
    ok(b.into_inner())
}

#[test]
fn filter_tar_drops_ignored_entries_and_strips_the_prefix() {
    let input = volume_archive();
    let rules = ignore("*.md\n!README.md\nsecret\nDockerfile\n");
    let stream = filter_tar(io::Cursor::new(input), "ctx", &rules, Some("Dockerfile"));
    let handle = stream.handle();
    let entries = parse_tar(&ok(collect_stream(stream)));
    assert_eq!(
        names(&entries),
        [
            ".dockerignore",
            "Dockerfile",
            "README.md",
            "src/",
            "src/a.rs",
            "link",
            "hard"
        ]
    );
    let readme = find(&entries, "README.md");
    assert_eq!(readme.content, b"readme");
    assert_eq!(
        (readme.uid, readme.gid, readme.mtime),
        (0, 0, 1_700_000_000)
    );
    assert_eq!(
        find(&entries, "link").link.as_deref(),
        Some(&b"/etc/passwd"[..])
    );
    let hard = find(&entries, "hard");
    assert_eq!(hard.kind, EntryType::Link);
    assert_eq!(hard.link.as_deref(), Some(&b"src/a.rs"[..]));
    let warnings = handle.warnings();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings.contains(&ContextWarning::EntrySkipped {
        path: "other/x".to_string(),
        reason: "outside the context directory".to_string(),
    }));
    assert!(warnings.contains(&ContextWarning::SpecialFileSkipped {
        path: "pipe".to_string(),
        kind: "fifo",
    }));
    assert!(warnings.iter().any(
        |w| matches!(w, ContextWarning::EntrySkipped { path, .. } if path == "hard-to-excluded")
    ));
}

#[test]
fn filter_tar_from_an_async_stream_inside_a_runtime() {
    let input = volume_archive();
    let chunks: Vec<io::Result<Bytes>> = input
        .chunks(700)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let rt = ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build());
    let bytes = rt.block_on(async move {
        let mut filter = TarFilter::new(&ignore("*.md\nsecret\n"), None)
            .strip_prefix("ctx/")
            .capacity(1);
        let name = filter.add_outside_dockerfile(Bytes::from_static(b"FROM busybox\n"));
        let mut stream = filter.stream_from(futures_util::stream::iter(chunks));
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&ok(chunk));
        }
        (out, name)
    });
    let (bytes, name) = bytes;
    let entries = parse_tar(&bytes);
    assert_eq!(
        names(&entries),
        [
            ".dockerignore",
            "Dockerfile",
            "src/",
            "src/a.rs",
            "link",
            "hard",
            name.as_str()
        ]
    );
    let amended = find(&entries, ".dockerignore").content.clone();
    assert!(amended.ends_with(format!("\n{name}\n").as_bytes()));
}

#[test]
fn filter_tar_reports_a_broken_input() {
    let mut input = volume_archive();
    input.truncate(1500);
    let mut reader = TarFilter::new(&DockerIgnore::default(), None)
        .strip_prefix("ctx")
        .reader(io::Cursor::new(input));
    let mut out = Vec::new();
    assert!(reader.read_to_end(&mut out).is_err());
}
