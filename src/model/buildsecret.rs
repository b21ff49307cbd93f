//! `docker build --secret` values, read as the docker CLI in acb's build container reads them.
//!
//! docker/cli 20.10 `parseSecret` (`cli/command/image/build_buildkit.go`) reads the value as one
//! CSV record of `key=value` fields: `type=file|env`, `id=ID`, `src=PATH` or `source=PATH`,
//! `env=VAR` (keys case-insensitive). `type=env` without `env=` takes the `src` as the variable
//! name. BuildKit's store (`session/secrets/secretsprovider/store.go`, the version the CLI
//! vendors) then requires an id (`secret missing ID`), and for a secret with neither a file nor
//! a variable uses the variable named like the id when it is set, else the file named like the
//! id. A later `--secret` with the same id replaces an earlier one. A variable that is not set
//! gives an empty secret; a file is read whole, at most [`MAX_SECRET_SIZE`] bytes.
//!
//! Where those names are looked up (the step's env, its working directory, its volumes) is
//! the caller's business: this module is pure. [`file_place`] says in which volume of the build
//! container an absolute file path is.

use crate::model::buildpath::clean;
use crate::model::value::ValueError;
use crate::model::{Step, VolumeMount};

/// The largest secret file the CLI accepts (BuildKit's `MaxSecretSize`, 500 KiB).
pub const MAX_SECRET_SIZE: usize = 500 * 1024;

/// One `--secret` value as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSpec {
    /// The id `RUN --mount=type=secret,id=…` asks for.
    pub id: String,
    /// `src=`/`source=`: a file path.
    pub file: Option<String>,
    /// `env=`: a variable name.
    pub env: Option<String>,
}

/// Where a secret's value comes from, once the defaults are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// A variable of the docker CLI's environment (the step's env).
    Env(String),
    /// A file, as written (relative to the step's working directory, or absolute).
    File(String),
}

impl SecretSpec {
    /// The source after BuildKit's defaults; `has_env` says whether a variable is set.
    pub fn source(&self, has_env: impl Fn(&str) -> bool) -> SecretSource {
        let env = self.env.as_deref().filter(|e| !e.is_empty());
        let file = self.file.as_deref().filter(|f| !f.is_empty());
        match (env, file) {
            (Some(var), _) => SecretSource::Env(var.to_owned()),
            (None, Some(path)) => SecretSource::File(path.to_owned()),
            (None, None) if has_env(&self.id) => SecretSource::Env(self.id.clone()),
            (None, None) => SecretSource::File(self.id.clone()),
        }
    }
}

/// The docker CLI container's environment in acb: `HOME=/acb/home`, then the step's env.
pub fn cli_env(step: &Step) -> Vec<(String, String)> {
    let mut env = vec![("HOME".to_owned(), "/acb/home".to_owned())];
    for entry in &step.env {
        if let Some((k, v)) = entry.split_once('=') {
            env.push((k.to_owned(), v.to_owned()));
        }
    }
    env
}

/// Where a secret file of the build container is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilePlace {
    /// In the run's workspace volume (`/workspace`); the path relative to its root.
    Workspace(String),
    /// In the volume a step mount names; the mount's volume name and the path relative to it.
    Volume(String, String),
}

/// The volume an absolute, cleaned path `abs` is in: the step's `mounts` shadow `/workspace`
/// (the deepest mount wins), then `/workspace`; `None` outside all of them (the build
/// container's own files, which taskrun does not have).
pub fn file_place(abs: &str, mounts: &[VolumeMount]) -> Option<FilePlace> {
    let mut mounts: Vec<(String, &str)> = mounts
        .iter()
        .map(|m| (clean(&m.mount_path), m.name.as_str()))
        .collect();
    mounts.sort_by_key(|(path, _)| std::cmp::Reverse(path.len()));
    for (path, name) in mounts {
        if let Some(rel) = abs.strip_prefix(&format!("{}/", path.trim_end_matches('/'))) {
            return Some(FilePlace::Volume(name.to_owned(), rel.to_owned()));
        }
    }
    abs.strip_prefix("/workspace/")
        .map(|rel| FilePlace::Workspace(rel.to_owned()))
}

/// Parses one `--secret` value; the error is the docker CLI's message.
pub fn parse_secret(value: &str) -> Result<SecretSpec, ValueError> {
    let fields = csv_record(value).map_err(|e| format!("failed to parse csv secret: {e}"))?;
    let (mut id, mut file, mut env, mut typ) = (String::new(), None, None, None);
    for field in fields {
        let Some((key, v)) = field.split_once('=') else {
            return Err(format!("invalid field '{field}' must be a key=value pair").into());
        };
        match key.to_ascii_lowercase().as_str() {
            "type" => {
                if v != "file" && v != "env" {
                    return Err(format!("unsupported secret type \"{v}\"").into());
                }
                typ = Some(v.to_owned());
            }
            "id" => id = v.to_owned(),
            "source" | "src" => file = Some(v.to_owned()),
            "env" => env = Some(v.to_owned()),
            other => return Err(format!("unexpected key '{other}' in '{field}'").into()),
        }
    }
    if typ.as_deref() == Some("env") && env.as_deref().is_none_or(str::is_empty) {
        env = file.take();
    }
    if id.is_empty() {
        return Err("secret missing ID".into());
    }
    Ok(SecretSpec { id, file, env })
}

/// Parses every `--secret` value; a later one with the same id replaces the earlier one (the
/// store is a map). Stops at the first error, as the CLI does.
pub fn parse_secrets(values: &[String]) -> Result<Vec<SecretSpec>, ValueError> {
    let mut out: Vec<SecretSpec> = Vec::new();
    for value in values {
        let spec = parse_secret(value)?;
        match out.iter_mut().find(|s| s.id == spec.id) {
            Some(slot) => *slot = spec,
            None => out.push(spec),
        }
    }
    Ok(out)
}

/// One record of Go's `encoding/csv` (comma separator, RFC 4180 quotes, no lazy quotes).
fn csv_record(text: &str) -> Result<Vec<String>, &'static str> {
    if text.is_empty() {
        return Err("EOF");
    }
    let mut fields = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err("extraneous or missing \" in quoted-field"),
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => fields.push(field),
                Some(_) => return Err("extraneous or missing \" in quoted-field"),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => {
                        fields.push(field);
                        break;
                    }
                    Some('"') => return Err("bare \" in non-quoted-field"),
                    Some(c) => field.push(c),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: &str, file: Option<&str>, env: Option<&str>) -> SecretSpec {
        SecretSpec {
            id: id.into(),
            file: file.map(Into::into),
            env: env.map(Into::into),
        }
    }

    #[test]
    fn fields_follow_the_docker_cli() {
        assert_eq!(
            parse_secret("id=tok,src=dir/tok.txt").unwrap(),
            spec("tok", Some("dir/tok.txt"), None)
        );
        assert_eq!(
            parse_secret("ID=tok,Source=/run/x").unwrap(),
            spec("tok", Some("/run/x"), None)
        );
        assert_eq!(
            parse_secret("id=tok,env=TOKEN").unwrap(),
            spec("tok", None, Some("TOKEN"))
        );
        // `type=env` takes the src as the variable name.
        assert_eq!(
            parse_secret("id=tok,type=env,src=TOKEN").unwrap(),
            spec("tok", None, Some("TOKEN"))
        );
        assert_eq!(
            parse_secret("type=file,id=tok,src=f").unwrap(),
            spec("tok", Some("f"), None)
        );
        assert_eq!(parse_secret("id=tok").unwrap(), spec("tok", None, None));
        // Quoted CSV fields may hold commas.
        assert_eq!(
            parse_secret("id=tok,\"src=a,b\"").unwrap(),
            spec("tok", Some("a,b"), None)
        );
        assert_eq!(
            parse_secret("\"id=a\"\"b\"").unwrap(),
            spec("a\"b", None, None)
        );
    }

    #[test]
    fn bad_values_get_the_clis_messages() {
        for (value, message) in [
            ("", "failed to parse csv secret: EOF"),
            ("id", "invalid field 'id' must be a key=value pair"),
            ("id=a,type=ssh", "unsupported secret type \"ssh\""),
            ("id=a,mode=0400", "unexpected key 'mode' in 'mode=0400'"),
            ("src=file", "secret missing ID"),
            ("id=", "secret missing ID"),
            (
                "id=a,src=x\"y",
                "failed to parse csv secret: bare \" in non-quoted-field",
            ),
            (
                "\"id=a",
                "failed to parse csv secret: extraneous or missing \" in quoted-field",
            ),
            (
                "\"id=a\"x",
                "failed to parse csv secret: extraneous or missing \" in quoted-field",
            ),
        ] {
            assert_eq!(parse_secret(value), Err(message.into()), "{value}");
        }
    }

    #[test]
    fn the_source_defaults_to_the_variable_then_the_file_named_like_the_id() {
        let set = |v: &str| v == "tok";
        assert_eq!(
            spec("tok", None, None).source(set),
            SecretSource::Env("tok".into())
        );
        assert_eq!(
            spec("tok", None, None).source(|_| false),
            SecretSource::File("tok".into())
        );
        assert_eq!(
            spec("tok", Some("f"), Some("V")).source(set),
            SecretSource::Env("V".into())
        );
        assert_eq!(
            spec("tok", Some("f"), Some("")).source(set),
            SecretSource::File("f".into())
        );
    }

    #[test]
    fn the_cli_env_is_home_then_the_step_env() {
        let mut step = Step::new(0, "b".into(), crate::model::StepKind::Build(".".into()));
        step.env = vec!["A=1".into(), "HOME=/h".into(), "B".into()];
        assert_eq!(
            cli_env(&step),
            [
                ("HOME".to_owned(), "/acb/home".to_owned()),
                ("A".to_owned(), "1".to_owned()),
                ("HOME".to_owned(), "/h".to_owned()),
            ]
        );
    }

    #[test]
    fn files_are_placed_in_the_deepest_mount_then_the_workspace() {
        let mounts = [
            VolumeMount {
                name: "outer".into(),
                mount_path: "/run/s".into(),
            },
            VolumeMount {
                name: "inner".into(),
                mount_path: "/run/s/deep/".into(),
            },
            VolumeMount {
                name: "shadow".into(),
                mount_path: "/workspace/creds".into(),
            },
        ];
        assert_eq!(
            file_place("/run/s/deep/a", &mounts),
            Some(FilePlace::Volume("inner".into(), "a".into()))
        );
        assert_eq!(
            file_place("/run/s/a/b", &mounts),
            Some(FilePlace::Volume("outer".into(), "a/b".into()))
        );
        assert_eq!(
            file_place("/workspace/creds/t", &mounts),
            Some(FilePlace::Volume("shadow".into(), "t".into()))
        );
        assert_eq!(
            file_place("/workspace/x/t", &mounts),
            Some(FilePlace::Workspace("x/t".into()))
        );
        assert_eq!(file_place("/workspace", &mounts), None);
        assert_eq!(file_place("/run/s", &mounts), None);
        assert_eq!(file_place("/etc/passwd", &mounts), None);
    }

    #[test]
    fn a_later_secret_replaces_an_earlier_one() {
        let values = [
            "id=a,src=1".to_owned(),
            "id=b,env=B".into(),
            "id=a,src=2".into(),
        ];
        assert_eq!(
            parse_secrets(&values).unwrap(),
            [spec("a", Some("2"), None), spec("b", None, Some("B"))]
        );
        assert!(parse_secrets(&["id=a".into(), "bad".into()]).is_err());
    }
}
