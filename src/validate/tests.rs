//! Tests of the validate stage: every acb rule (positive and negative), defaults, env merge,
//! push normalisation, `when` → needs/deps, and positions.

use super::resources::{check_keyvault_url, decode_base64, is_guid};
use super::validate;
use crate::diag::{Code, Problem};
use crate::model::{Needs, StepKind, Task};
use crate::source::Source;
use crate::syntax;

/// Every problem of parsing and validating `yaml`.
fn problems(yaml: &str) -> Vec<Problem> {
    let src = Source::new("acr-task.yaml", yaml);
    let (file, mut problems) = syntax::parse(&src);
    if let Some(file) = file {
        let (_, more) = validate(&file, &src);
        problems.extend(more);
    }
    problems.into_vec()
}

/// The codes of every problem of `yaml`.
fn codes(yaml: &str) -> Vec<Code> {
    problems(yaml).iter().map(|p| p.code).collect()
}

/// The validated task; panics when there is any problem.
fn task(yaml: &str) -> Task {
    let src = Source::new("acr-task.yaml", yaml);
    let (file, problems) = syntax::parse(&src);
    assert!(problems.is_empty(), "{problems:#?}");
    let (task, problems) = validate(&file.expect("file"), &src);
    assert!(problems.is_empty(), "{problems:#?}");
    task.expect("task")
}

fn at(p: &Problem) -> (usize, usize) {
    let (_, line, col) = p.location().expect("location");
    (line, col)
}

fn label_positions(yaml: &str, p: &Problem) -> Vec<(usize, usize)> {
    let src = Source::new("t", yaml);
    p.labels
        .iter()
        .map(|l| src.line_col(l.span.start))
        .collect()
}

// ---- version

#[test]
fn versions() {
    assert_eq!(task("steps: []").version, "v1.0.0");
    assert_eq!(task("version: ''\nsteps: []").version, "v1.0.0");
    assert_eq!(task("version: ~\n").version, "v1.0.0");
    assert_eq!(task("version: V1.1.0\n").version, "V1.1.0");
    assert_eq!(task("version: 1.0-PREVIEW-1\n").version, "1.0-PREVIEW-1");
    assert_eq!(codes("version: v2.0.0\n"), [Code::Version]);
    assert_eq!(codes("version: 1.1\n"), [Code::Version]);
    let p = &problems("version: v2.0.0\n")[0];
    assert_eq!(at(p), (1, 10));
    assert!(p.is_error(), "acb refuses unknown versions");
    assert!(problems("version: 1.0\nsteps: []\n")[0].is_error());
    assert!(
        p.message
            .contains("invalid version specified: \"v2.0.0\", the current version is \"v1.0.0\"")
    );
}

// ---- step kinds

#[test]
fn step_kind_missing() {
    assert_eq!(codes("steps:\n  - id: a\n"), [Code::StepKindMissing]);
    assert_eq!(codes("steps:\n  - cmd: ''\n"), [Code::StepKindMissing]);
    assert_eq!(codes("steps:\n  - push: []\n"), [Code::StepKindMissing]);
    assert_eq!(codes("steps:\n  - build: ~\n"), [Code::StepKindMissing]);
    assert_eq!(codes("steps:\n  -\n"), [Code::StepKindMissing]);
    let p = &problems("steps:\n  - cmd: x\n  - id: b\n    timeout: 3\n")[0];
    assert!(p.message.contains("step `b`"), "{}", p.message);
    assert_eq!(at(p), (3, 5));
    let p = &problems("steps:\n  - cmd: x\n  - timeout: 3\n")[0];
    assert!(p.message.starts_with("step 2 "), "{}", p.message);
}

#[test]
fn step_kind_multiple() {
    assert_eq!(
        codes("steps:\n  - cmd: x\n    build: y\n"),
        [Code::StepKindMultiple]
    );
    let ps = problems("steps:\n  - cmd: x\n    build: y\n    push: [z]\n");
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0].labels.len(), 3);
    // An empty value does not count.
    assert!(matches!(
        &task("steps:\n  - cmd: x\n    build: ''\n    push: []\n").steps[0].kind,
        StepKind::Cmd(c) if c.line == "x" && c.span == (16..17)
    ));
}

// ---- ids

#[test]
fn default_ids() {
    let t = task(
        "steps:\n  - cmd: a\n  - id: named\n    cmd: b\n  - id: ''\n    cmd: c\n  - id: ~\n    cmd: d\n",
    );
    let ids: Vec<_> = t.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["acb_step_0", "named", "acb_step_2", "acb_step_3"]);
    let indices: Vec<_> = t.steps.iter().map(|s| s.index).collect();
    assert_eq!(indices, [0, 1, 2, 3]);
}

#[test]
fn id_rules() {
    assert_eq!(
        codes("steps:\n  - id: 'a b'\n    cmd: x\n"),
        [Code::StepIdSpaces]
    );
    assert_eq!(
        codes("steps:\n  - id: \"a\\tb\"\n    cmd: x\n"),
        [Code::StepIdSpaces]
    );
    assert_eq!(
        codes("steps:\n  - id: acb_root\n    cmd: x\n"),
        [Code::StepIdReserved]
    );
    let yaml = "steps:\n  - id: a\n    cmd: x\n  - id: a\n    cmd: y\n";
    let ps = problems(yaml);
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0].code, Code::StepIdDuplicate);
    assert_eq!(label_positions(yaml, &ps[0]), [(4, 9), (2, 9)]);
    assert_eq!(ps[0].labels[0].text, "defined again here");
    assert_eq!(ps[0].labels[1].text, "first defined here");
    // A written id can collide with a default one.
    assert_eq!(
        codes("steps:\n  - id: acb_step_1\n    cmd: x\n  - cmd: y\n"),
        [Code::StepIdDuplicate]
    );
}

// ---- when

#[test]
fn needs_and_deps() {
    let t = task(
        "steps:\n  - id: a\n    cmd: x\n  - cmd: x\n  - id: d\n    cmd: x\n    when: [acb_step_1, a]\n  - id: e\n    cmd: x\n    when: []\n  - id: f\n    cmd: x\n    when: [acb_root]\n",
    );
    let got: Vec<_> = t
        .steps
        .iter()
        .map(|s| (s.needs.clone(), s.deps.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (Needs::Previous, vec![]),
            (Needs::Previous, vec![0]),
            (Needs::Steps(vec![1, 0]), vec![1, 0]),
            (Needs::Previous, vec![2]),
            (Needs::Start, vec![]),
        ]
    );
}

#[test]
fn when_unknown_suggests_and_lists_earlier_steps() {
    let yaml = "steps:\n  - id: build\n    cmd: x\n  - id: lint-go\n    cmd: x\n  - id: test\n    cmd: x\n    when: [lint]\n";
    let ps = problems(yaml);
    assert_eq!(ps.len(), 1);
    let p = &ps[0];
    assert_eq!(p.code, Code::WhenUnknown);
    assert_eq!(
        p.message,
        "step `test` waits on `lint`, but no step has that id"
    );
    assert_eq!(at(p), (8, 12));
    let help = p.help.as_deref().unwrap_or_default();
    assert!(help.contains("did you mean `lint-go`?"), "{help}");
    assert!(
        help.contains("Steps defined before step `test`: `build`, `lint-go`"),
        "{help}"
    );
    assert!(help.contains("lint does not exist as a vertex"), "{help}");

    let ps = problems("steps:\n  - id: a\n    cmd: x\n    when: [zzz]\n");
    let help = ps[0].help.as_deref().unwrap_or_default();
    assert!(help.contains("No step is defined before"), "{help}");
}

#[test]
fn when_forward_reference_labels_both() {
    let yaml =
        "steps:\n  - id: build\n    cmd: x\n    when: [deploy]\n  - id: deploy\n    cmd: y\n";
    let ps = problems(yaml);
    assert_eq!(ps.len(), 1);
    let p = &ps[0];
    assert_eq!(p.code, Code::WhenForward);
    assert_eq!(label_positions(yaml, p), [(4, 12), (5, 9)]);
    let help = p.help.as_deref().unwrap_or_default();
    assert!(help.contains("ACR resolves `when` in file order; move `deploy` above step `build`"));
    // A misspelt later step is suggested with a note.
    let ps =
        problems("steps:\n  - id: a\n    cmd: x\n    when: [deplyo]\n  - id: deploy\n    cmd: y\n");
    assert_eq!(ps[0].code, Code::WhenUnknown);
    assert!(
        ps[0]
            .help
            .as_deref()
            .unwrap_or_default()
            .contains("did you mean `deploy`? (it is defined after")
    );
}

#[test]
fn when_rules() {
    assert_eq!(
        codes("steps:\n  - id: a\n    cmd: x\n    when: [a]\n"),
        [Code::WhenSelf]
    );
    // A default id can refer to itself too.
    assert_eq!(
        codes("steps:\n  - cmd: x\n    when: [acb_step_0]\n"),
        [Code::WhenSelf]
    );
    assert_eq!(
        codes("steps:\n  - id: a\n    cmd: x\n  - cmd: x\n    when: ['-', a]\n"),
        [Code::WhenDashMixed]
    );
    assert_eq!(
        codes("steps:\n  - id: a\n    cmd: x\n  - cmd: x\n    when: [a, '']\n"),
        [Code::WhenEmpty]
    );
    assert_eq!(
        codes("steps:\n  - id: a\n    cmd: x\n  - cmd: x\n    when: [a, ~]\n"),
        [Code::WhenEmpty]
    );
    let yaml = "steps:\n  - id: a\n    cmd: x\n  - cmd: x\n    when: [a, a]\n";
    let ps = problems(yaml);
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0].code, Code::WhenDuplicate);
    assert!(ps[0].is_error());
    assert!(ps[0].help.as_deref().unwrap_or_default().contains("hang"));
    assert_eq!(label_positions(yaml, &ps[0]), [(5, 15), (5, 12)]);
}

#[test]
fn all_when_problems_are_collected() {
    let yaml = "steps:\n  - id: a\n    cmd: x\n    when: [a, b, c, '', c]\n  - id: b\n    cmd: x\n";
    assert_eq!(
        codes(yaml),
        [
            Code::WhenSelf,
            Code::WhenForward,
            Code::WhenUnknown,
            Code::WhenEmpty,
            Code::WhenDuplicate
        ]
    );
}

// ---- counts and cache

#[test]
fn negative_counts() {
    assert_eq!(
        codes("steps:\n  - cmd: x\n    retries: -1\n    repeat: -2\n"),
        [Code::NegativeCount, Code::NegativeCount]
    );
    let t = task("steps:\n  - cmd: x\n    retries: 2\n    repeat: 0\n");
    assert_eq!((t.steps[0].retries, t.steps[0].repeat), (2, 0));
}

#[test]
fn cache_values() {
    for ok in ["enabled", "Enabled", "DISABLED", "disabled", "''", "~"] {
        task(&format!("steps:\n  - build: .\n    cache: {ok}\n"));
    }
    assert!(task("steps:\n  - build: .\n    cache: ENABLED\n").steps[0].cache);
    assert!(!task("steps:\n  - build: .\n    cache: disabled\n").steps[0].cache);
    assert_eq!(
        codes("steps:\n  - build: .\n    cache: true\n"),
        [Code::CacheValue]
    );
    assert_eq!(
        codes("steps:\n  - build: .\n    cache: on\n"),
        [Code::CacheValue]
    );
}

// ---- defaults

#[test]
fn defaults() {
    let t = task(
        "stepTimeout: -1\nworkingDirectory: src\nsteps:\n  - cmd: a\n    timeout: 0\n    retryDelay: 0\n    startDelay: -3\n  - cmd: b\n    timeout: 20\n    retryDelay: 90\n    workingDirectory: /abs\n",
    );
    assert_eq!(t.step_timeout, 600);
    assert_eq!(t.working_directory.as_deref(), Some("src"));
    let (a, b) = (&t.steps[0], &t.steps[1]);
    assert_eq!((a.timeout, a.retry_delay, a.start_delay), (600, 5, 0));
    assert_eq!(a.working_directory.as_deref(), Some("src"));
    assert_eq!((b.timeout, b.retry_delay), (20, 90));
    assert_eq!(b.working_directory.as_deref(), Some("/abs"));
    let t = task("stepTimeout: 30\nsteps:\n  - cmd: a\n  - cmd: b\n    timeout: -5\n");
    assert_eq!((t.steps[0].timeout, t.steps[1].timeout), (30, 30));
    assert!(
        task("steps:\n  - cmd: a\n").steps[0]
            .working_directory
            .is_none()
    );
}

#[test]
fn step_fields_are_copied() {
    let t = task(
        "steps:\n  - cmd: a\n    entryPoint: sh\n    user: 1000\n    privileged: yes\n    ports: [80, '8080:80']\n    expose: [80]\n    network: host\n    isolation: hyperv\n    cpus: 2\n    keep: true\n    detach: on\n    retryOnErrors: [timeout]\n    ignoreErrors: y\n    pull: true\n    disableWorkingDirectoryOverride: true\n",
    );
    let s = &t.steps[0];
    assert_eq!(s.entry_point.as_deref(), Some("sh"));
    assert_eq!(s.user.as_deref(), Some("1000"));
    assert!(s.privileged && s.keep && s.detach && s.ignore_errors && s.pull);
    assert!(s.disable_working_directory_override);
    let ports: Vec<String> = s.ports.iter().map(ToString::to_string).collect();
    assert_eq!(ports, ["80/tcp", "8080:80/tcp"]);
    assert_eq!(s.expose, ["80/tcp"]);
    assert_eq!(s.network.as_deref(), Some("host"));
    assert_eq!(s.isolation.as_deref(), Some("hyperv"));
    assert_eq!(s.cpus, Some(2.0));
    assert_eq!(s.retry_on_errors, ["timeout"]);
}

#[test]
fn ports_expose_and_cpus_are_parsed_once_with_positions() {
    let ps = problems(
        "steps:\n  - cmd: a\n    ports: ['8080:80', '70000']\n    expose: [http]\n    cpus: lots\n",
    );
    let codes: Vec<Code> = ps.iter().map(|p| p.code).collect();
    assert_eq!(codes, [Code::StepValue, Code::StepValue, Code::StepValue]);
    assert!(
        ps[0].message.contains("`ports` of step 1"),
        "{}",
        ps[0].message
    );
    assert!(ps.iter().all(|p| p.labels.len() == 1));
}

// ---- push

#[test]
fn push_normalisation() {
    let t = task(
        "steps:\n  - push:\n    - img\n    - img:latest\n    - localhost:5000/x\n    - b@sha256:1\n    - img\n    - reg.io/a/b:v1\n",
    );
    assert_eq!(
        t.steps[0].kind,
        StepKind::Push(vec![
            "img:latest".into(),
            "localhost:5000/x".into(),
            "b@sha256:1".into(),
            "reg.io/a/b:v1".into(),
        ])
    );
}

// ---- env

#[test]
fn env_entries_with_an_unquoted_blank_are_a_warning() {
    let ps = problems("steps:\n  - cmd: x\n    env: ['GREETING=hi there']\n");
    assert_eq!(ps.len(), 1, "{ps:#?}");
    assert!(!ps[0].is_error());
    assert!(ps[0].message.contains("`there`"), "{}", ps[0].message);
    assert!(
        ps[0]
            .help
            .as_deref()
            .unwrap_or_default()
            .contains("GREETING='hi there'"),
        "{:?}",
        ps[0].help
    );
    assert!(problems("steps:\n  - cmd: x\n    env: [\"G='hi there'\", 'H=\"a b\"']\n").is_empty());
}

#[test]
fn env_entries_need_an_equals_sign() {
    assert_eq!(codes("env: [A]\nsteps: []\n"), [Code::EnvEntry]);
    assert_eq!(
        codes("steps:\n  - cmd: x\n    env: [A=1, B]\n"),
        [Code::EnvEntry]
    );
    let ps = problems("env: [A=1, 'B']\nsteps: []\n");
    assert_eq!(at(&ps[0]), (1, 12));
    assert!(
        ps[0]
            .help
            .as_deref()
            .unwrap_or_default()
            .contains("cannot parse task environment variable B correctly")
    );
    task("env: ['A=', '=x', 'B=c=d']\nsteps: []\n");
    let ps = problems("env: [NO_PROXY=a,b]\nsteps: []\n");
    assert_eq!(ps.len(), 1);
    assert!(
        ps[0]
            .help
            .as_deref()
            .unwrap_or_default()
            .contains("quote an entry")
    );
}

#[test]
fn env_merge_step_wins_and_no_comma_split() {
    let t = task(
        "env: ['NO_PROXY=a,b', A=task, C=task]\nsteps:\n  - cmd: x\n    env: [A=step, Z=1]\n  - cmd: y\n",
    );
    assert_eq!(t.env, ["NO_PROXY=a,b", "A=task", "C=task"]);
    assert_eq!(t.steps[0].env, ["A=step", "Z=1", "NO_PROXY=a,b", "C=task"]);
    assert_eq!(t.steps[1].env, ["NO_PROXY=a,b", "A=task", "C=task"]);
}

// ---- volumes and mounts

#[test]
fn volumes_are_decoded() {
    let t = task(
        "volumes:\n  - name: my-vol_1\n    secret:\n      a.txt: aGVsbG8=\n      empty: ''\n      multi: |\n        aGVs\n        bG8=\nsteps:\n  - cmd: x\n    volumeMounts:\n      - name: my-vol_1\n        mountPath: /run/s\n",
    );
    let v = &t.volumes[0];
    assert_eq!(v.name, "my-vol_1");
    assert_eq!(v.files["a.txt"], b"hello");
    assert_eq!(v.files["empty"], b"");
    assert_eq!(v.files["multi"], b"hello");
    assert_eq!(t.steps[0].volume_mounts[0].name, "my-vol_1");
    assert_eq!(t.steps[0].volume_mounts[0].mount_path, "/run/s");
}

#[test]
fn volume_rules() {
    assert_eq!(codes("volumes:\n  - secret: {a: eA==}\n"), [Code::Volume]);
    assert_eq!(
        codes("volumes:\n  - name: 'bad name'\n    secret: {a: eA==}\n"),
        [Code::Volume]
    );
    assert_eq!(
        codes("volumes:\n  - name: v\n    secret: {a: eA==}\n  - name: v\n    secret: {b: eA==}\n"),
        [Code::Volume]
    );
    assert_eq!(codes("volumes:\n  - name: v\n"), [Code::Volume]);
    assert_eq!(
        codes("volumes:\n  - name: v\n    secret: {}\n"),
        [Code::Volume]
    );
    assert_eq!(
        codes("volumes:\n  - name: v\n    secret: ~\n"),
        [Code::Volume]
    );
    assert_eq!(
        codes("volumes:\n  - name: v\n    secret: {'a/b': eA==}\n"),
        [Code::Volume]
    );
    assert_eq!(
        codes("volumes:\n  - name: v\n    secret: {'': eA==}\n"),
        [Code::Volume]
    );
    assert_eq!(
        codes("volumes:\n  - name: v\n    secret: {a: 'not base64!'}\n"),
        [Code::Volume]
    );
}

#[test]
fn mount_rules() {
    let vols = "volumes:\n  - name: v\n    secret: {a: eA==}\n";
    task(&format!(
        "{vols}steps:\n  - build: .\n    volumeMounts: [{{name: v, mountPath: /a}}]\n"
    ));
    assert_eq!(
        codes(&format!(
            "{vols}steps:\n  - cmd: x\n    volumeMounts: [{{name: v}}]\n"
        )),
        [Code::VolumeMount]
    );
    assert_eq!(
        codes(&format!(
            "{vols}steps:\n  - cmd: x\n    volumeMounts: [{{mountPath: /a}}]\n"
        )),
        [Code::VolumeMount]
    );
    assert_eq!(
        codes(&format!(
            "{vols}steps:\n  - cmd: x\n    volumeMounts: [{{name: v, mountPath: /a}}, {{name: v, mountPath: /a}}]\n"
        )),
        [Code::VolumeMount]
    );
    let ps = problems(&format!(
        "{vols}steps:\n  - cmd: x\n    volumeMounts: [{{name: w, mountPath: /a}}]\n"
    ));
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0].code, Code::VolumeMount);
    assert!(
        ps[0]
            .help
            .as_deref()
            .unwrap_or_default()
            .contains("did you mean `v`?")
    );
    assert_eq!(
        codes(&format!(
            "{vols}steps:\n  - push: [x]\n    volumeMounts: [{{name: v, mountPath: /a}}]\n"
        )),
        [Code::VolumeMount]
    );
}

// ---- secrets

#[test]
fn secret_rules() {
    let kv = "https://myvault.vault.azure.net/secrets/name";
    let guid = "c72b2df0-b9d8-4ac6-9363-7c1eb06c1c86";
    let t = task(&format!(
        "secrets:\n  - id: a\n    keyvault: {kv}\n  - id: b\n    keyvault: {kv}/version\n    clientID: {guid}\n  - id: c\n    aadresourceid: https://management.azure.com\n"
    ));
    assert_eq!(t.secrets.len(), 3);
    assert_eq!(t.secrets[1].client_id.as_deref(), Some(guid));
    assert_eq!(t.secrets[2].keyvault, None);

    assert_eq!(
        codes(&format!("secrets:\n  - keyvault: {kv}\n")),
        [Code::Secret]
    );
    assert_eq!(
        codes(&format!("secrets:\n  - id: 'a b'\n    keyvault: {kv}\n")),
        [Code::Secret]
    );
    assert_eq!(codes("secrets:\n  - id: a\n"), [Code::Secret]);
    let no_id = problems("secrets:\n  - akv: x\n    secretEnv: y\n");
    assert!(
        no_id.iter().any(|p| p.code == Code::Secret && p.is_error()),
        "{no_id:#?}"
    );
    assert_eq!(
        codes(&format!("secrets:\n  - id: a\n    clientID: {guid}\n")),
        [Code::Secret]
    );
    assert_eq!(
        codes(&format!(
            "secrets:\n  - id: a\n    keyvault: {kv}\n    clientID: nope\n"
        )),
        [Code::Secret]
    );
    assert_eq!(
        codes("secrets:\n  - id: a\n    keyvault: http://v.vault.azure.net/secrets/x\n"),
        [Code::Secret]
    );
    assert_eq!(
        codes(&format!(
            "secrets:\n  - id: a\n    keyvault: {kv}\n  - id: a\n    keyvault: {kv}\n"
        )),
        [Code::Secret]
    );
}

#[test]
fn keyvault_urls() {
    for ok in [
        "https://v.vault.azure.net/secrets/name",
        "https://v.vault.azure.net/secrets/name/",
        "HTTPS://V.vault.azure.net/Secrets/Name/abc123",
        "https://v.vault.usgovcloudapi.net/secrets/n?x=1",
    ] {
        assert_eq!(check_keyvault_url(ok), Ok(()), "{ok}");
    }
    for bad in [
        "v.vault.azure.net/secrets/name",
        "http://v.vault.azure.net/secrets/name",
        "https://vault/secrets/name",
        "https://v.vault.azure.net/keys/name",
        "https://v.vault.azure.net/secrets",
        "https://v.vault.azure.net/secrets/a/b/c",
        "https://v.vault.azure.net",
    ] {
        assert!(check_keyvault_url(bad).is_err(), "{bad}");
    }
}

#[test]
fn keyvault_url_errors_keep_their_wording() {
    for (url, why) in [
        (
            "v.vault.azure.net/secrets/name",
            "it has no `https://` scheme",
        ),
        (
            "http://v.vault.azure.net/secrets/name",
            "the scheme is `http`, not `https`",
        ),
        (
            "https://vault/secrets/name",
            "the host `vault` is not a vault host such as `<vault>.vault.azure.net`",
        ),
        (
            "https://v.vault.azure.net/secrets/a/b/c",
            "the path must be `/secrets/<name>` or `/secrets/<name>/<version>` (acb: Bad number of \
             URL segments: 5)",
        ),
        (
            "https://v.vault.azure.net/keys/name",
            "expected the `secrets` collection, found `keys`",
        ),
        (
            "https://v.vault.azure.net/secrets//x",
            "the secret name is empty",
        ),
    ] {
        assert_eq!(
            check_keyvault_url(url).unwrap_err().to_string(),
            why,
            "{url}"
        );
    }
}

#[test]
fn guids() {
    for ok in [
        "c72b2df0-b9d8-4ac6-9363-7c1eb06c1c86",
        "C72B2DF0-B9D8-4AC6-9363-7C1EB06C1C86",
        "{c72b2df0-b9d8-4ac6-9363-7c1eb06c1c86}",
        "urn:uuid:c72b2df0-b9d8-4ac6-9363-7c1eb06c1c86",
        "c72b2df0b9d84ac693637c1eb06c1c86",
    ] {
        assert!(is_guid(ok), "{ok}");
    }
    for bad in [
        "",
        "test",
        "c72b2df0-b9d8-4ac6-9363-7c1eb06c1c8",
        "c72b2df0xb9d8-4ac6-9363-7c1eb06c1c86",
        "g72b2df0-b9d8-4ac6-9363-7c1eb06c1c86",
    ] {
        assert!(!is_guid(bad), "{bad}");
    }
}

#[test]
fn base64_like_go() {
    assert_eq!(decode_base64("aGVsbG8="), Some(b"hello".to_vec()));
    assert_eq!(decode_base64("aGVs\r\nbG8="), Some(b"hello".to_vec()));
    assert_eq!(decode_base64(""), Some(Vec::new()));
    assert_eq!(decode_base64("aGVsbG8"), None);
    assert_eq!(decode_base64("a b="), None);
    // Go's StdEncoding tolerates non-zero trailing bits.
    assert_eq!(decode_base64("aGk="), Some(b"hi".to_vec()));
    assert_eq!(decode_base64("aGl="), Some(b"hi".to_vec()));
}

// ---- networks

#[test]
fn network_rules() {
    let t = task(
        "networks:\n  - name: n1\n    driver: overlay\n    ipv6: yes\n    skipCreation: true\n    isDefault: on\n  - name: n2\n",
    );
    assert_eq!(t.networks.len(), 2);
    let n = &t.networks[0];
    assert_eq!(n.driver.as_deref(), Some("overlay"));
    assert!(n.ipv6 && n.skip_creation && n.is_default);
    assert_eq!(t.networks[1].driver, None);
    assert_eq!(codes("networks:\n  - driver: bridge\n"), [Code::Network]);
    assert_eq!(codes("networks:\n  - name: ''\n"), [Code::Network]);
    assert_eq!(
        codes("networks:\n  - name: n\n  - name: n\n"),
        [Code::Network]
    );
}

// ---- everything at once

#[test]
fn all_problems_are_collected_in_file_order() {
    let yaml = "version: v9\nenv: [X]\nsteps:\n  - id: a b\n    cmd: x\n    retries: -1\n  - cmd: y\n    build: z\n  - id: c\n    cmd: x\n    when: [nope]\n    cache: sometimes\n";
    assert_eq!(
        codes(yaml),
        [
            Code::Version,
            Code::EnvEntry,
            Code::NegativeCount,
            Code::StepIdSpaces,
            Code::StepKindMultiple,
            Code::WhenUnknown,
            Code::CacheValue,
        ]
    );
}

#[test]
fn warnings_do_not_block_the_task() {
    let src = Source::new("t", "steps:\n  - cmd: x\n    detatch: true\n");
    let (file, problems) = syntax::parse(&src);
    assert_eq!(
        problems.iter().map(|p| p.code).collect::<Vec<_>>(),
        [Code::UnknownKey]
    );
    let (task, problems) = validate(&file.expect("file"), &src);
    assert!(problems.is_empty());
    assert!(task.is_some());
}

#[test]
fn every_problem_has_a_label_and_help() {
    let yaml = "version: x\nenv: [X]\nsecrets:\n  - keyvault: k\nnetworks:\n  - driver: d\nvolumes:\n  - name: 'a b'\nsteps:\n  - id: acb_root\n    cmd: x\n    when: ['-', a, '']\n    retries: -1\n    cache: x\n    volumeMounts: [{name: q}]\n  - {}\n";
    let ps = problems(yaml);
    assert!(ps.len() >= 10, "{ps:#?}");
    for p in &ps {
        assert!(!p.labels.is_empty(), "{p:#?}");
        assert!(p.help.is_some(), "{p:#?}");
        assert!(p.source.is_some(), "{p:#?}");
        // Unknown versions and secrets without an id are errors, as in acb.
        assert!(p.is_error(), "{p:#?}");
    }
}

#[test]
fn a_type_error_does_not_hide_other_problems() {
    // The mistyped `timeout` is treated as absent; everything else is still checked.
    let yaml = "steps:\n  - id: a\n    cmd: alpine echo 'hi\n    timeout: abc\n  - id: a\n    cmd: alpine echo\n    when: [nope]\n";
    assert_eq!(
        codes(yaml),
        [
            Code::Type,
            Code::CmdShell,
            Code::StepIdDuplicate,
            Code::WhenUnknown
        ]
    );
    // A mistyped `cmd` and a step that is not a mapping are reported once (no "has none of
    // `cmd`, `build` or `push`"), and later steps keep their positions and default ids.
    let yaml = "steps:\n  - cmd: [x]\n  - bash echo\n  - cmd: y\n    when: [acb_step_1]\n  - id: acb_step_1\n    cmd: z\n";
    let found = problems(yaml);
    let codes: Vec<Code> = found.iter().map(|p| p.code).collect();
    assert_eq!(codes, [Code::Type, Code::Type, Code::StepIdDuplicate]);
}

#[test]
fn a_step_has_one_name_in_every_message() {
    // No id: `step N`; an id: step `id`; a step whose id is its default id: `step N` too.
    let found = problems(
        "steps:\n  - cmd: alpine echo 'a\n  - id: acb_step_1\n    cmd: alpine echo 'b\n  - id: web\n    cmd: alpine echo 'c\n    timeout: soon\n",
    );
    let messages: Vec<&str> = found.iter().map(|p| p.message.as_str()).collect();
    assert!(
        messages[0].starts_with("`timeout` of step `web`"),
        "{messages:?}"
    );
    assert!(messages[1].starts_with("step 1:"), "{messages:?}");
    assert!(messages[2].starts_with("step 2:"), "{messages:?}");
    assert!(messages[3].starts_with("step `web`:"), "{messages:?}");
}
