//! `docs/cli-reference.md` is generated from the clap definition; this keeps it in sync.
//! Regenerate with `UPDATE_CLI_REFERENCE=1 cargo test --test cli_reference`.

use std::path::Path;

/// One test (not two) so that setting an environment variable races with no other thread.
#[test]
fn cli_reference_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cli-reference.md");
    let generated = taskrun::cli::reference::cli_reference();

    // The output must not depend on the environment: `[env: …]` values stay hidden.
    // SAFETY: this binary runs no other test thread that touches the environment.
    unsafe { std::env::set_var("TASKRUN_REGISTRY", "leak.example.com") };
    let with_env = taskrun::cli::reference::cli_reference();
    assert!(
        !with_env.contains("leak.example.com"),
        "an env value leaked"
    );
    assert_eq!(
        with_env, generated,
        "the reference depends on TASKRUN_REGISTRY"
    );

    if std::env::var_os("UPDATE_CLI_REFERENCE").is_some() {
        std::fs::write(&path, &generated).expect("write docs/cli-reference.md");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/cli-reference.md is out of date with the CLI definition; regenerate it with\n\
         \n    UPDATE_CLI_REFERENCE=1 cargo test --test cli_reference\n"
    );
}
