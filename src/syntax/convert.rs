//! Node tree → [`ast::File`], decoding every value the way yaml.v2 decodes into acb's structs,
//! and collecting every type error, unknown key and duplicate key on the way.
//!
//! yaml.v2 rules mirrored here: any scalar is accepted for a string (its text as written; `~` is
//! empty), booleans accept YAML 1.1 spellings but not strings, integers accept floats
//! (truncated) but not strings, `~` is the zero value everywhere, a scalar where a list or a
//! mapping is expected is an error. Unknown keys are ignored (with a warning here), duplicate
//! keys keep the last value (with a warning here).

use std::collections::HashMap;

use super::ast::{File, Mount, Network, Secret, SecretFile, Spanned, SpannedList, Step, Volume};
use super::keys::{Section, unknown_key_help};
use super::node::{Kind, Node};
use crate::diag::{Code, Problem, Problems};
use crate::source::Source;

/// What a value should have been, for type errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A string (any scalar).
    Text,
    /// A boolean.
    Flag,
    /// An integer.
    Int,
    /// A list; the Go type acb decodes into.
    List(&'static str),
    /// A mapping; the Go type acb decodes into.
    Object(&'static str),
}

impl Expect {
    fn describe(self) -> &'static str {
        match self {
            Expect::Text => "a string",
            Expect::Flag => "a boolean (`true` or `false`)",
            Expect::Int => "a whole number",
            Expect::List("[]string") => "a list of strings",
            Expect::List("[]int") => "a list of numbers",
            Expect::List(_) => "a list",
            Expect::Object("map[string]string") => "a mapping of file names to base64 content",
            Expect::Object(_) => "a mapping of keys",
        }
    }

    fn go_type(self) -> &'static str {
        match self {
            Expect::Text => "string",
            Expect::Flag => "bool",
            Expect::Int => "int",
            Expect::List(t) | Expect::Object(t) => t,
        }
    }
}

/// Converts nodes to the AST, collecting problems.
pub(crate) struct Converter<'a> {
    src: &'a Source,
    problems: Problems,
}

impl<'a> Converter<'a> {
    /// A converter for nodes parsed from `src`.
    pub fn new(src: &'a Source) -> Self {
        Self {
            src,
            problems: Problems::new(),
        }
    }

    /// The problems found so far.
    pub fn into_problems(self) -> Problems {
        self.problems
    }

    /// How many errors were found so far.
    fn errors(&self) -> usize {
        self.problems.iter().filter(|p| p.is_error()).count()
    }

    /// Converts the document's root node (`None`: empty document).
    pub fn file(&mut self, root: Option<&Node>) -> File {
        let mut file = File::default();
        let Some(root) = root else { return file };
        match &root.kind {
            Kind::Null => return file,
            Kind::Map(_) => {}
            _ => {
                self.push_type_error(
                    root,
                    "the task file".to_owned(),
                    Expect::Object("graph.Task"),
                    "a task file is a mapping with keys such as `version` and `steps`".to_owned(),
                );
                return file;
            }
        }
        let owner = String::new();
        for (key, value) in self.entries(root, Section::Task, "the task") {
            match key.as_str() {
                "version" => file.version = self.text(value, &owner, "version"),
                "stepTimeout" => file.step_timeout = self.int(value, &owner, "stepTimeout"),
                "workingDirectory" => {
                    file.working_directory = self.text(value, &owner, "workingDirectory");
                }
                "env" => file.env = self.text_list(value, &owner, "env"),
                "secrets" => {
                    file.secrets = self.list(
                        value,
                        &owner,
                        "secrets",
                        "[]*secretmgmt.Secret",
                        |c, n, i| c.secret(n, i),
                    );
                }
                "networks" => {
                    file.networks =
                        self.list(value, &owner, "networks", "[]*graph.Network", |c, n, i| {
                            c.network(n, i)
                        });
                }
                "volumes" => {
                    file.volumes =
                        self.list(value, &owner, "volumes", "[]*volume.Volume", |c, n, i| {
                            c.volume(n, i)
                        });
                }
                "alias" => file.alias = Some(value.span.clone()),
                "steps" => file.steps = self.steps(value),
                _ => {}
            }
        }
        file
    }

    fn steps(&mut self, node: &Node) -> Vec<Spanned<Step>> {
        match &node.kind {
            Kind::Null => Vec::new(),
            Kind::Seq(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, n)| self.step(n, i))
                .collect(),
            Kind::Map(_) => {
                self.push_type_error(
                    node,
                    "`steps`".to_owned(),
                    Expect::List("[]*graph.Step"),
                    "`steps` is a list: start each step with `- `, e.g. `steps:` then \
                     `  - cmd: bash echo hi` on the next line"
                        .to_owned(),
                );
                Vec::new()
            }
            _ => {
                self.type_error(
                    node,
                    "`steps`".to_owned(),
                    "steps",
                    Expect::List("[]*graph.Step"),
                );
                Vec::new()
            }
        }
    }

    fn step(&mut self, node: &Node, index: usize) -> Option<Spanned<Step>> {
        let mut step = Step::default();
        match &node.kind {
            Kind::Null => return Some(Spanned::new(step, node.span.clone())),
            Kind::Map(_) => {}
            Kind::Str(_) | Kind::Bool(_) | Kind::Int(_) | Kind::Float(_) => {
                let text = node.scalar_text(self.src).unwrap_or_default();
                self.push_type_error(
                    node,
                    format!("step {}", index + 1),
                    Expect::Object("graph.Step"),
                    format!(
                        "each step is a mapping such as `- cmd: bash echo hi`; `- {text}` is a \
                         plain string (did you mean `- cmd: {text}`?)"
                    ),
                );
                // Kept (empty) so that later steps keep their positions and default ids.
                step.kind_mistyped = true;
                return Some(Spanned::new(step, node.span.clone()));
            }
            Kind::Seq(_) => {
                self.type_error(
                    node,
                    format!("step {}", index + 1),
                    "",
                    Expect::Object("graph.Step"),
                );
                step.kind_mistyped = true;
                return Some(Spanned::new(step, node.span.clone()));
            }
        }
        let owner = self.owner_name(node, "id", "step", index);
        for (key, value) in self.entries(node, Section::Step, &owner) {
            let k = key.as_str();
            let errors_before = self.errors();
            match k {
                "id" => step.id = self.text(value, &owner, k),
                "cmd" => step.cmd = self.text(value, &owner, k),
                "build" => step.build = self.text(value, &owner, k),
                "push" => step.push = self.text_list(value, &owner, k),
                "when" => step.when = self.text_list(value, &owner, k),
                "workingDirectory" => step.working_directory = self.text(value, &owner, k),
                "disableWorkingDirectoryOverride" => {
                    step.disable_working_directory_override = self.flag(value, &owner, k);
                }
                "entryPoint" => step.entry_point = self.text(value, &owner, k),
                "env" => step.env = self.text_list(value, &owner, k),
                "expose" => step.expose = self.text_list(value, &owner, k),
                "ports" => step.ports = self.text_list(value, &owner, k),
                "network" => step.network = self.text(value, &owner, k),
                "isolation" => step.isolation = self.text(value, &owner, k),
                "user" => step.user = self.text(value, &owner, k),
                "privileged" => step.privileged = self.flag(value, &owner, k),
                "cpus" => step.cpus = self.text(value, &owner, k),
                "keep" => step.keep = self.flag(value, &owner, k),
                "detach" => step.detach = self.flag(value, &owner, k),
                "timeout" => step.timeout = self.int(value, &owner, k),
                "startDelay" => step.start_delay = self.int(value, &owner, k),
                "retries" => step.retries = self.int(value, &owner, k),
                "retryDelay" => step.retry_delay = self.int(value, &owner, k),
                "retryOnErrors" => step.retry_on_errors = self.text_list(value, &owner, k),
                "repeat" => step.repeat = self.int(value, &owner, k),
                "ignoreErrors" => step.ignore_errors = self.flag(value, &owner, k),
                "pull" => step.pull = self.flag(value, &owner, k),
                "cmdDownloadRetries" => step.cmd_download_retries = self.int(value, &owner, k),
                "cmdDownloadRetryDelay" => {
                    step.cmd_download_retry_delay = self.int(value, &owner, k);
                }
                "volumeMounts" => {
                    let mount_owner = owner.clone();
                    step.volume_mounts =
                        self.list(value, &owner, k, "[]*volume.Mount", move |c, n, i| {
                            c.mount(n, i, &mount_owner)
                        });
                }
                "cache" => step.cache = self.text(value, &owner, k),
                "exitedWith" => step.exited_with = self.int_list(value, &owner, k),
                "exitedWithout" => step.exited_without = self.int_list(value, &owner, k),
                _ => {}
            }
            if matches!(k, "cmd" | "build" | "push") && self.errors() > errors_before {
                step.kind_mistyped = true;
            }
        }
        Some(Spanned::new(step, node.span.clone()))
    }

    fn secret(&mut self, node: &Node, index: usize) -> Option<Spanned<Secret>> {
        let mut secret = Secret::default();
        if !self.object(node, index, "secret", "secretmgmt.Secret") {
            return None;
        }
        let owner = self.owner_name(node, "id", "secret", index);
        for (key, value) in self.entries(node, Section::Secret, &owner) {
            match key.as_str() {
                "id" => secret.id = self.text(value, &owner, "id"),
                "keyvault" => secret.keyvault = self.text(value, &owner, "keyvault"),
                "clientID" => secret.client_id = self.text(value, &owner, "clientID"),
                _ => {}
            }
        }
        // The undocumented `aadresourceid` is silent, but it matters to validation.
        if let Kind::Map(entries) = &node.kind {
            for (k, v) in entries {
                if k.scalar_text(self.src).as_deref() == Some("aadresourceid") {
                    secret.aad_resource_id = self.text(v, &owner, "aadresourceid");
                }
            }
        }
        Some(Spanned::new(secret, node.span.clone()))
    }

    fn network(&mut self, node: &Node, index: usize) -> Option<Spanned<Network>> {
        let mut network = Network::default();
        if !self.object(node, index, "network", "graph.Network") {
            return None;
        }
        let owner = self.owner_name(node, "name", "network", index);
        for (key, value) in self.entries(node, Section::Network, &owner) {
            let k = key.as_str();
            match k {
                "name" => network.name = self.text(value, &owner, k),
                "driver" => network.driver = self.text(value, &owner, k),
                "ipv6" => network.ipv6 = self.flag(value, &owner, k),
                "skipCreation" => network.skip_creation = self.flag(value, &owner, k),
                "isDefault" => network.is_default = self.flag(value, &owner, k),
                _ => {}
            }
        }
        Some(Spanned::new(network, node.span.clone()))
    }

    fn volume(&mut self, node: &Node, index: usize) -> Option<Spanned<Volume>> {
        let mut volume = Volume::default();
        if !self.object(node, index, "volume", "volume.Volume") {
            return None;
        }
        let owner = self.owner_name(node, "name", "volume", index);
        for (key, value) in self.entries(node, Section::Volume, &owner) {
            match key.as_str() {
                "name" => volume.name = self.text(value, &owner, "name"),
                "secret" => volume.secret = self.secret_files(value, &owner),
                _ => {}
            }
        }
        Some(Spanned::new(volume, node.span.clone()))
    }

    fn secret_files(&mut self, node: &Node, owner: &str) -> Option<Spanned<Vec<SecretFile>>> {
        let entries = match &node.kind {
            Kind::Null => return Some(Spanned::new(Vec::new(), node.span.clone())),
            Kind::Map(entries) => entries,
            _ => {
                self.type_error(
                    node,
                    field(owner, "secret"),
                    "secret",
                    Expect::Object("map[string]string"),
                );
                return None;
            }
        };
        let mut files: Vec<SecretFile> = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (k, v) in entries {
            let Some(name) = self.text(k, owner, "secret") else {
                continue;
            };
            let Some(value) = self.text(v, owner, &name.value) else {
                continue;
            };
            match seen.get(&name.value) {
                Some(&i) => {
                    if let Some(first) = files.get(i) {
                        self.duplicate_key(&name.value, &first.name.span, &k.span, owner);
                    }
                    if let Some(slot) = files.get_mut(i) {
                        *slot = SecretFile { name, value };
                    }
                }
                None => {
                    seen.insert(name.value.clone(), files.len());
                    files.push(SecretFile { name, value });
                }
            }
        }
        Some(Spanned::new(files, node.span.clone()))
    }

    fn mount(&mut self, node: &Node, index: usize, step: &str) -> Option<Spanned<Mount>> {
        let mut mount = Mount::default();
        if !self.object(node, index, "volume mount", "volume.Mount") {
            return None;
        }
        let owner = format!("volume mount {} of {step}", index + 1);
        for (key, value) in self.entries(node, Section::Mount, &owner) {
            match key.as_str() {
                "name" => mount.name = self.text(value, &owner, "name"),
                "mountPath" => mount.mount_path = self.text(value, &owner, "mountPath"),
                _ => {}
            }
        }
        Some(Spanned::new(mount, node.span.clone()))
    }

    /// Checks that a list item is a mapping (or null, treated as an empty mapping).
    fn object(&mut self, node: &Node, index: usize, what: &str, go_type: &'static str) -> bool {
        match node.kind {
            Kind::Map(_) | Kind::Null => true,
            _ => {
                self.type_error(
                    node,
                    format!("{what} {}", index + 1),
                    "",
                    Expect::Object(go_type),
                );
                false
            }
        }
    }

    /// "step `build`", or "step 3" when the mapping has no usable `name_key`.
    fn owner_name(&self, node: &Node, name_key: &str, what: &str, index: usize) -> String {
        let mut name = None;
        if let Kind::Map(entries) = &node.kind {
            for (k, v) in entries {
                if k.scalar_text(self.src).as_deref() == Some(name_key)
                    && let Some(text) = v.scalar_text(self.src)
                {
                    name = Some(text);
                }
            }
        }
        match name {
            // One name per step in every stage's messages.
            _ if what == "step" => crate::model::step_label(index, name.as_deref().unwrap_or("")),
            Some(n) if !n.is_empty() => format!("{what} `{n}`"),
            _ => format!("{what} {}", index + 1),
        }
    }

    /// The entries of a mapping with known keys, in order; warns about unknown and duplicate
    /// keys. Undocumented keys acb accepts are dropped silently.
    fn entries<'n>(
        &mut self,
        node: &'n Node,
        section: Section,
        owner: &str,
    ) -> Vec<(String, &'n Node)> {
        let Kind::Map(pairs) = &node.kind else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut seen: HashMap<String, std::ops::Range<usize>> = HashMap::new();
        for (k, v) in pairs {
            let Some(key) = k.scalar_text(self.src) else {
                if !k.borrowed {
                    self.problems.push(
                        Problem::warning(
                            Code::UnknownKey,
                            format!("{owner} has a key that is not a plain name; acb ignores it"),
                        )
                        .with_label(k.span.clone(), "complex key")
                        .with_help("keys are plain names such as `cmd` or `when`; quote a key that starts with `[` or `{`")
                        .in_source(self.src),
                    );
                }
                continue;
            };
            if section.is_known(&key) {
                if !k.borrowed {
                    if let Some(first) = seen.get(&key) {
                        let first = first.clone();
                        self.duplicate_key(&key, &first, &k.span, owner);
                    }
                    seen.insert(key.clone(), k.span.clone());
                }
                out.push((key, v));
            } else if section.is_silent(&key) || k.borrowed || self.holds_anchor(k, v) {
                continue;
            } else {
                let in_owner = if owner == "the task" {
                    "at the top level".to_owned()
                } else {
                    format!("in {owner}")
                };
                self.problems.push(
                    Problem::warning(
                        Code::UnknownKey,
                        format!("unknown key `{key}` {in_owner}; acb ignores it"),
                    )
                    .with_label(k.span.clone(), "unknown key")
                    .with_help(unknown_key_help(section, &key))
                    .in_source(self.src),
                );
            }
        }
        out
    }

    /// Whether an unknown key only holds an anchored value (`x-defaults: &d …`), a common way to
    /// keep reusable YAML; such keys are not reported.
    fn holds_anchor(&self, key: &Node, value: &Node) -> bool {
        let between = self
            .src
            .text
            .get(key.span.end..value.defined.start.max(key.span.end))
            .unwrap_or_default();
        between
            .split('#')
            .next()
            .is_some_and(|before_comment| before_comment.contains('&'))
    }

    fn duplicate_key(
        &mut self,
        key: &str,
        first: &std::ops::Range<usize>,
        again: &std::ops::Range<usize>,
        owner: &str,
    ) {
        let (line, _) = self.src.line_col(again.start);
        let where_ = if owner == "the task" {
            "at the top level".to_owned()
        } else {
            format!("in {owner}")
        };
        self.problems.push(
            Problem::warning(
                Code::DuplicateKey,
                format!("key `{key}` appears twice {where_}; the last one wins, as in acb"),
            )
            .with_label(again.clone(), "defined again here (this value is used)")
            .with_label(first.clone(), "first defined here (ignored)")
            .with_help(format!(
                "remove one of them; the value on line {line} is the one ACR uses"
            ))
            .in_source(self.src),
        );
    }

    fn text(&mut self, node: &Node, owner: &str, key: &str) -> Option<Spanned<String>> {
        match node.scalar_text(self.src) {
            Some(text) => Some(Spanned::new(text, node.span.clone())),
            None => {
                self.type_error(node, field(owner, key), key, Expect::Text);
                None
            }
        }
    }

    fn flag(&mut self, node: &Node, owner: &str, key: &str) -> Option<Spanned<bool>> {
        match node.kind {
            Kind::Bool(b) => Some(Spanned::new(b, node.span.clone())),
            Kind::Null => Some(Spanned::new(false, node.span.clone())),
            _ => {
                self.type_error(node, field(owner, key), key, Expect::Flag);
                None
            }
        }
    }

    fn int(&mut self, node: &Node, owner: &str, key: &str) -> Option<Spanned<i64>> {
        let value = match node.kind {
            Kind::Int(i) => i64::try_from(i).ok(),
            // yaml.v2 truncates a float decoded into an int when it fits.
            #[allow(clippy::cast_possible_truncation)]
            Kind::Float(f) if f.is_finite() && f.trunc().abs() < 9.2e18 => Some(f.trunc() as i64),
            Kind::Null => Some(0),
            _ => None,
        };
        match value {
            Some(v) => Some(Spanned::new(v, node.span.clone())),
            None => {
                self.type_error(node, field(owner, key), key, Expect::Int);
                None
            }
        }
    }

    fn text_list(&mut self, node: &Node, owner: &str, key: &str) -> Option<SpannedList<String>> {
        let item_owner = owner.to_owned();
        let item_key = key.to_owned();
        self.list(node, owner, key, "[]string", move |c, n, i| {
            c.text(n, &item_owner, &format!("{item_key}[{i}]"))
        })
    }

    fn int_list(&mut self, node: &Node, owner: &str, key: &str) -> Option<SpannedList<i64>> {
        let item_owner = owner.to_owned();
        let item_key = key.to_owned();
        self.list(node, owner, key, "[]int", move |c, n, i| {
            c.int(n, &item_owner, &format!("{item_key}[{i}]"))
        })
    }

    /// A list whose items are converted by `item`; items that fail are dropped (their error is
    /// recorded). `~` is an empty list.
    fn list<T>(
        &mut self,
        node: &Node,
        owner: &str,
        key: &str,
        go_type: &'static str,
        mut item: impl FnMut(&mut Self, &Node, usize) -> Option<Spanned<T>>,
    ) -> Option<SpannedList<T>> {
        match &node.kind {
            Kind::Seq(items) => {
                let values = items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, n)| item(self, n, i))
                    .collect();
                Some(Spanned::new(values, node.span.clone()))
            }
            Kind::Null => Some(Spanned::new(Vec::new(), node.span.clone())),
            _ => {
                self.type_error(node, field(owner, key), key, Expect::List(go_type));
                None
            }
        }
    }

    fn type_error(&mut self, node: &Node, subject: String, key: &str, expect: Expect) {
        let help = self.type_help(node, key, expect);
        self.push_type_error(node, subject, expect, help);
    }

    fn push_type_error(&mut self, node: &Node, subject: String, expect: Expect, help: String) {
        let value = self.shown_value(node);
        let acb = match &value {
            Some(v) => format!(
                "cannot unmarshal {} `{v}` into {}",
                node.yaml_tag(),
                expect.go_type()
            ),
            None => format!(
                "cannot unmarshal {} into {}",
                node.yaml_tag(),
                expect.go_type()
            ),
        };
        let label = format!("{} here", node.describe());
        self.problems.push(
            Problem::error(
                Code::Type,
                format!(
                    "{subject} must be {}, but it is {}",
                    expect.describe(),
                    node.describe()
                ),
            )
            .with_label(node.span.clone(), label)
            .with_help(format!("{help} (acb: {acb})"))
            .in_source(self.src),
        );
    }

    /// A short rendering of a scalar for messages.
    fn shown_value(&self, node: &Node) -> Option<String> {
        let text = node.scalar_text(self.src)?;
        let mut shown: String = text.chars().take(40).collect();
        if text.chars().count() > 40 {
            shown.push('…');
        }
        Some(shown.replace('\n', "\\n"))
    }

    fn type_help(&self, node: &Node, key: &str, expect: Expect) -> String {
        let key = key.split('[').next().unwrap_or(key);
        let written = self.src.text.get(node.span.clone()).unwrap_or_default();
        match (expect, &node.kind) {
            (Expect::List(_), Kind::Str(_) | Kind::Int(_) | Kind::Float(_) | Kind::Bool(_)) => {
                let item = if written.is_empty() { "…" } else { written };
                format!(
                    "write a list, e.g. `{key}: [{item}]`, or one `- item` per line under `{key}:`"
                )
            }
            (Expect::List(_), Kind::Map(_)) => format!(
                "`{key}` is a list: start each entry with `- ` (a `key: value` line without `- ` \
                 makes a mapping)"
            ),
            (Expect::Text, Kind::Map(_)) if written.starts_with('{') => format!(
                "a plain value starting with `{{` is a YAML flow mapping (a rendered template \
                 can produce one); quote the whole value: `{key}: \"…\"`"
            ),
            (Expect::Text, Kind::Map(_)) => format!(
                "a string was expected; a `key: value` pair inside a plain value starts a \
                 mapping, so quote the whole value (`{key}: \"…\"`) or fix the indentation"
            ),
            (Expect::Text, Kind::Seq(_)) => format!(
                "`{key}` takes one string; a value starting with `[` or `- ` is a list, quote it \
                 if it is meant as text"
            ),
            (Expect::Int, Kind::Str(s)) if s.trim().parse::<f64>().is_ok() => format!(
                "remove the quotes: `{key}: {}`; acb reads `{key}` as a number",
                s.trim()
            ),
            (Expect::Int, _) => format!("`{key}` takes a whole number, e.g. `{key}: 30`"),
            (Expect::Flag, _) => format!(
                "use `{key}: true` or `{key}: false` without quotes (YAML 1.1 `yes`/`no`/`on`/`off` \
                 also work)"
            ),
            (Expect::Object(_), _) => {
                "write this entry as a mapping of keys (`name: value` lines)".to_owned()
            }
            (Expect::List(_), _) | (Expect::Text, _) => {
                format!("fix the value of `{key}`")
            }
        }
    }
}

/// "`key` of step `x`", or "`key`" at the top level.
fn field(owner: &str, key: &str) -> String {
    if owner.is_empty() {
        format!("`{key}`")
    } else {
        format!("`{key}` of {owner}")
    }
}
