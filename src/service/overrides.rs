//! One run of a named task: the task's stored file, context, values file, `--set` and
//! `--set-secret`, with the flags of `taskrun task run` over them for that run only, as
//! `az acr task run -f/--context/--values/--set/--set-secret` does. Nothing of the overrides is
//! stored: `--set-secret` values given to `task run` live in memory for the run (and are masked
//! in its output and stored log like every `--set-secret` value).

use std::path::{Path, PathBuf};

use crate::store::TaskDef;

/// The `task run` flags that override a task's stored settings for one run. `Debug` never
/// shows the values of `set_secret`.
#[derive(Clone, Default)]
pub struct RunOverrides {
    /// `-f`: another task file (relative to the run's context first, else to the current
    /// directory, as `taskrun run -f`).
    pub file: Option<PathBuf>,
    /// `-c/--context DIR[#BRANCH]`: another context.
    pub context: Option<String>,
    /// `--values FILE`: another values file (relative to the current directory).
    pub values: Option<PathBuf>,
    /// `--set K=V`, applied after the task's own (a key given here wins).
    pub set: Vec<(String, String)>,
    /// `--set-secret K=V`, applied after the task's own (a key given here wins).
    pub set_secret: Vec<(String, String)>,
}

impl std::fmt::Debug for RunOverrides {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOverrides")
            .field("file", &self.file)
            .field("context", &self.context)
            .field("values", &self.values)
            .field("set", &self.set)
            .field(
                "set_secret",
                &self.set_secret.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// What one run of a task uses, stored settings and overrides merged.
#[derive(Clone, PartialEq, Eq)]
pub struct RunInputs {
    /// The task file.
    pub file: String,
    /// The context seeded into `/workspace`: a directory, or a remote context the run
    /// fetches (git URL, tarball URL, `oci://…`).
    pub context_dir: String,
    /// The git branch of a `DIR#BRANCH` context.
    pub branch: Option<String>,
    /// The values file.
    pub values_file: Option<String>,
    /// `--set` flags, `K=V`, stored ones first.
    pub set: Vec<String>,
    /// `--set-secret` flags, `K=V`, stored ones first.
    pub set_secret: Vec<String>,
}

impl RunInputs {
    /// The inputs of a run of `def` with `overrides` over its stored settings.
    pub fn new(def: &TaskDef, overrides: &RunOverrides) -> Self {
        // A remote context (git URL, tarball, OCI) is kept whole: the run fetches it, and its
        // `#ref:folder` is no `#BRANCH`.
        let context = overrides.context.as_deref().map(|c| {
            if super::is_remote_context(c) {
                return (c.to_owned(), None);
            }
            let (dir, branch) = split_context(c);
            let dir = super::absolute(Path::new(dir));
            (dir, branch.map(str::to_owned))
        });
        let stored = def.context.as_deref().map(|c| {
            if super::is_remote_context(c) {
                return (c.to_owned(), None);
            }
            let (dir, branch) = split_context(c);
            (dir.to_owned(), branch.map(str::to_owned))
        });
        let context = context.or(stored);
        let remote = context
            .as_ref()
            .is_some_and(|(c, _)| super::is_remote_context(c));
        let file = match &overrides.file {
            None => def.file.clone(),
            Some(f) if f.is_absolute() => f.display().to_string(),
            // Looked up in the fetched context first when the run starts.
            Some(f) if remote => f.display().to_string(),
            Some(f) => context
                .as_ref()
                .map(|(dir, _)| Path::new(dir).join(f))
                .filter(|p| p.is_file())
                .map_or_else(|| super::absolute(f), |p| p.display().to_string()),
        };
        let (context_dir, branch) = context.unwrap_or_else(|| {
            let dir = Path::new(&file)
                .parent()
                .map_or(".".to_owned(), |p| p.display().to_string());
            (dir, None)
        });
        let joined = |stored: &[(String, String)], given: &[(String, String)]| {
            stored
                .iter()
                .chain(given)
                .map(|(k, v)| format!("{k}={v}"))
                .collect()
        };
        Self {
            file,
            context_dir,
            branch,
            values_file: overrides
                .values
                .as_deref()
                .map(super::absolute)
                .or_else(|| def.values_file.clone()),
            set: joined(&def.set, &overrides.set),
            set_secret: joined(&def.set_secret, &overrides.set_secret),
        }
    }
}

/// `DIR#BRANCH` → (`DIR`, `BRANCH`).
fn split_context(c: &str) -> (&str, Option<&str>) {
    c.split_once('#')
        .map_or((c, None), |(dir, branch)| (dir, Some(branch)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def() -> TaskDef {
        let mut d = TaskDef::new("t", "/src/t/acr-task.yaml", Some("/src/t#main".to_owned()));
        d.values_file = Some("/src/t/values.yaml".to_owned());
        d.set = vec![("a".into(), "1".into()), ("b".into(), "2".into())];
        d.set_secret = vec![("s".into(), "stored".into())];
        d
    }

    fn pair(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    #[test]
    fn without_overrides_the_stored_settings_are_used() {
        let i = RunInputs::new(&def(), &RunOverrides::default());
        assert_eq!(i.file, "/src/t/acr-task.yaml");
        assert_eq!(i.context_dir, "/src/t");
        assert_eq!(i.branch.as_deref(), Some("main"));
        assert_eq!(i.values_file.as_deref(), Some("/src/t/values.yaml"));
        assert_eq!(i.set, ["a=1", "b=2"]);
        assert_eq!(i.set_secret, ["s=stored"]);
    }

    #[test]
    fn overrides_win_for_the_run() {
        let o = RunOverrides {
            file: Some("/other/acr-task.yaml".into()),
            context: Some("/other#dev".into()),
            values: Some("/other/v.yaml".into()),
            set: vec![pair("b", "3")],
            set_secret: vec![pair("s", "given")],
        };
        let i = RunInputs::new(&def(), &o);
        assert_eq!(i.file, "/other/acr-task.yaml");
        assert_eq!(i.context_dir, "/other");
        assert_eq!(i.branch.as_deref(), Some("dev"));
        assert_eq!(i.values_file.as_deref(), Some("/other/v.yaml"));
        // Later wins when the values are applied.
        assert_eq!(i.set, ["a=1", "b=2", "b=3"]);
        assert_eq!(i.set_secret, ["s=stored", "s=given"]);
    }

    #[test]
    fn a_relative_file_is_found_in_the_context_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("other.yaml"), "steps: []\n").expect("write");
        let ctx = dir.path().display().to_string();
        let o = RunOverrides {
            file: Some("other.yaml".into()),
            context: Some(ctx.clone()),
            ..RunOverrides::default()
        };
        let i = RunInputs::new(&def(), &o);
        assert_eq!(i.file, dir.path().join("other.yaml").display().to_string());
        assert_eq!(i.branch, None);
        // Not in the context: against the current directory.
        let o = RunOverrides {
            file: Some("missing.yaml".into()),
            ..o
        };
        let i = RunInputs::new(&def(), &o);
        assert_eq!(i.file, super::super::absolute(Path::new("missing.yaml")));
    }

    #[test]
    fn without_any_context_the_file_s_directory_is_the_context() {
        let mut d = def();
        d.context = None;
        let o = RunOverrides {
            file: Some("/elsewhere/x.yaml".into()),
            ..RunOverrides::default()
        };
        let i = RunInputs::new(&d, &o);
        assert_eq!(i.context_dir, "/elsewhere");
        assert_eq!(i.branch, None);
    }

    #[test]
    fn remote_contexts_are_kept_whole_and_the_file_is_relative_to_them() {
        let mut d = def();
        d.context = Some("git://127.0.0.1:9418/r.git#main:app".to_owned());
        d.file = "acr-task.yaml".to_owned();
        let i = RunInputs::new(&d, &RunOverrides::default());
        assert_eq!(i.context_dir, "git://127.0.0.1:9418/r.git#main:app");
        assert_eq!(i.branch, None);
        assert_eq!(i.file, "acr-task.yaml");
        let o = RunOverrides {
            file: Some("other.yaml".into()),
            context: Some("oci://127.0.0.1:5000/ctx:1".into()),
            ..RunOverrides::default()
        };
        let i = RunInputs::new(&d, &o);
        assert_eq!(i.context_dir, "oci://127.0.0.1:5000/ctx:1");
        assert_eq!(i.file, "other.yaml");
    }

    #[test]
    fn debug_never_shows_secret_values() {
        let o = RunOverrides {
            set_secret: vec![pair("token", "hunter2-very-secret")],
            ..RunOverrides::default()
        };
        let shown = format!("{o:?}");
        assert!(
            shown.contains("token") && !shown.contains("hunter2"),
            "{shown}"
        );
    }
}
