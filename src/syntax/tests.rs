//! Tests of the syntax stage: yaml.v2 decoding parity, collected type errors, unknown and
//! duplicate keys, positions, and the JSON Schema.

use super::ast::{File, items};
use super::parse;
use crate::diag::{Code, Problem, Severity};
use crate::source::Source;

fn src(yaml: &str) -> Source {
    Source::new("acr-task.yaml", yaml)
}

fn run(yaml: &str) -> (Option<File>, Vec<Problem>) {
    let (file, problems) = parse(&src(yaml));
    (file, problems.into_vec())
}

fn codes(yaml: &str) -> Vec<Code> {
    run(yaml).1.iter().map(|p| p.code).collect()
}

fn ok(yaml: &str) -> File {
    let (file, problems) = run(yaml);
    assert!(
        problems.iter().all(|p| !p.is_error()),
        "unexpected errors: {problems:#?}"
    );
    file.expect("a file")
}

/// `(line, column)` of a problem's primary label.
fn at(p: &Problem) -> (usize, usize) {
    let (_, line, col) = p.location().expect("a location");
    (line, col)
}

#[test]
fn empty_documents_are_valid_with_zero_steps() {
    for yaml in [
        "",
        "# only a comment\n",
        "\n\n# a\n# b\n",
        "steps:\n",
        "steps: ~\n",
        "steps: []\n",
        "~\n",
        "---\n",
    ] {
        let file = ok(yaml);
        assert!(file.steps.is_empty(), "{yaml:?}");
        assert!(run(yaml).1.is_empty(), "{yaml:?}");
    }
}

#[test]
fn yaml11_booleans() {
    let file = ok(
        "steps:\n  - cmd: x\n    privileged: yes\n    detach: on\n    keep: y\n    pull: off\n    ignoreErrors: n\n    disableWorkingDirectoryOverride: No\n",
    );
    let s = &file.steps[0].value;
    assert_eq!(s.privileged.as_ref().map(|b| b.value), Some(true));
    assert_eq!(s.detach.as_ref().map(|b| b.value), Some(true));
    assert_eq!(s.keep.as_ref().map(|b| b.value), Some(true));
    assert_eq!(s.pull.as_ref().map(|b| b.value), Some(false));
    assert_eq!(s.ignore_errors.as_ref().map(|b| b.value), Some(false));
    assert_eq!(
        s.disable_working_directory_override
            .as_ref()
            .map(|b| b.value),
        Some(false)
    );
}

#[test]
fn quoted_boolean_is_a_type_error() {
    assert_eq!(
        codes("steps:\n  - cmd: x\n    privileged: \"true\"\n"),
        [Code::Type]
    );
    assert_eq!(codes("steps:\n  - cmd: x\n    detach: 1\n"), [Code::Type]);
}

#[test]
fn any_scalar_is_accepted_for_strings() {
    let file = ok(
        "version: 1.0\nsteps:\n  - id: 123\n    cmd: true\n  - id: ~\n    cmd: yes\n  - id: 0x10\n    build: 1.50\n  - id: ''\n    cmd: 0777\n",
    );
    let s = |i: usize| &file.steps[i].value;
    let text = |v: &Option<super::ast::Spanned<String>>| v.as_ref().map(|x| x.value.clone());
    assert_eq!(text(&file.version).as_deref(), Some("1.0"));
    assert_eq!(text(&s(0).id).as_deref(), Some("123"));
    assert_eq!(text(&s(0).cmd).as_deref(), Some("true"));
    assert_eq!(text(&s(1).id).as_deref(), Some(""));
    assert_eq!(text(&s(1).cmd).as_deref(), Some("yes"));
    assert_eq!(text(&s(2).id).as_deref(), Some("0x10"));
    assert_eq!(text(&s(2).build).as_deref(), Some("1.50"));
    assert_eq!(text(&s(3).id).as_deref(), Some(""));
    assert_eq!(text(&s(3).cmd).as_deref(), Some("0777"));
}

#[test]
fn integers_follow_yaml_v2() {
    let file = ok(
        "stepTimeout: 010\nsteps:\n  - cmd: x\n    timeout: 1.9\n    retries: ~\n    startDelay: 1_000\n    repeat: -2.5\n",
    );
    assert_eq!(file.step_timeout.as_ref().map(|t| t.value), Some(8));
    let s = &file.steps[0].value;
    assert_eq!(s.timeout.as_ref().map(|t| t.value), Some(1));
    assert_eq!(s.retries.as_ref().map(|t| t.value), Some(0));
    assert_eq!(s.start_delay.as_ref().map(|t| t.value), Some(1000));
    assert_eq!(s.repeat.as_ref().map(|t| t.value), Some(-2));
}

#[test]
fn quoted_integer_is_a_type_error_with_acb_wording() {
    let (_, problems) = run("steps:\n  - cmd: x\n    timeout: \"30\"\n");
    assert_eq!(problems.len(), 1);
    let p = &problems[0];
    assert_eq!(p.code, Code::Type);
    assert_eq!(at(p), (3, 14));
    let help = p.help.as_deref().unwrap_or_default();
    assert!(help.contains("remove the quotes"), "{help}");
    assert!(
        help.contains("cannot unmarshal !!str `30` into int"),
        "{help}"
    );
}

#[test]
fn scalar_where_a_list_is_expected_is_a_type_error() {
    for (yaml, line, col) in [
        ("steps:\n  - push: img\n", 2, 11),
        ("steps:\n  - cmd: x\n    when: x\n", 3, 11),
        ("env: \"A=1\"\nsteps: []\n", 1, 6),
        ("steps:\n  - cmd: x\n    ports: \"80\"\n", 3, 12),
        ("steps:\n  - cmd: x\n    env: A=1\n", 3, 10),
        (
            "steps:\n  - cmd: x\n    volumeMounts: {name: a, mountPath: /a}\n",
            3,
            19,
        ),
    ] {
        let (file, problems) = run(yaml);
        assert!(file.is_some(), "{yaml}");
        assert_eq!(problems.len(), 1, "{yaml}: {problems:#?}");
        assert_eq!(problems[0].code, Code::Type, "{yaml}");
        assert_eq!(at(&problems[0]), (line, col), "{yaml}");
    }
    let (_, problems) = run("steps:\n  - push: img\n");
    let help = problems[0].help.as_deref().unwrap_or_default();
    assert!(help.contains("`push: [img]`"), "{help}");
    assert!(help.contains("into []string"), "{help}");
}

#[test]
fn steps_as_mapping_and_step_as_string_are_type_errors() {
    let (_, problems) = run("steps:\n  build:\n    cmd: x\n");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].code, Code::Type);
    assert!(problems[0].message.contains("`steps` must be a list"));

    let (_, problems) = run("steps:\n  - bash echo hi\n");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].code, Code::Type);
    assert_eq!(at(&problems[0]), (2, 5));
    let help = problems[0].help.as_deref().unwrap_or_default();
    assert!(help.contains("`- cmd: bash echo hi`"), "{help}");

    assert_eq!(codes("- cmd: x\n"), [Code::Type]);
    assert_eq!(codes("just text\n"), [Code::Type]);
}

#[test]
fn type_errors_are_collected_across_steps() {
    let yaml = "steps:\n  - cmd: a\n  - cmd: b\n    ports: \"80\"\n  - cmd: c\n    env: A=1\n    timeout: x\n  - plain\n";
    let (file, problems) = run(yaml);
    assert!(file.is_some());
    let lines: Vec<_> = problems.iter().map(|p| (p.code, at(p).0)).collect();
    assert_eq!(
        lines,
        [
            (Code::Type, 4),
            (Code::Type, 6),
            (Code::Type, 7),
            (Code::Type, 8)
        ]
    );
    assert!(problems[0].message.contains("step 2"));
    assert!(problems[1].message.contains("step 3"));
}

#[test]
fn flow_mapping_from_a_template_gets_a_quoting_hint() {
    let (_, problems) = run("steps:\n  - cmd: {{.Run.ID}}\n");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].code, Code::Type);
    assert!(
        problems[0]
            .help
            .as_deref()
            .unwrap_or_default()
            .contains("flow mapping")
    );
}

#[test]
fn merge_keys_apply_and_are_not_reported() {
    let yaml = "defaults: &d\n  privileged: yes\n  timeout: 30\n  bogus: 1\nsteps:\n  - <<: *d\n    cmd: x\n    timeout: 5\n";
    let (file, problems) = run(yaml);
    assert!(problems.is_empty(), "{problems:#?}");
    let s = &file.expect("file").steps[0].value;
    assert_eq!(s.privileged.as_ref().map(|b| b.value), Some(true));
    assert_eq!(s.timeout.as_ref().map(|t| t.value), Some(5));
}

#[test]
fn aliases_to_scalars_and_lists_work() {
    let file = ok("x: &img myimage\ny: &tags [a, b]\nsteps:\n  - cmd: *img\n  - push: *tags\n");
    assert_eq!(
        file.steps[0].value.cmd.as_ref().map(|c| c.value.as_str()),
        Some("myimage")
    );
    assert_eq!(items(&file.steps[1].value.push).len(), 2);
}

#[test]
fn duplicate_keys_warn_and_keep_the_last() {
    let yaml = "steps:\n  - id: a\n    cmd: x\n    id: b\n";
    let (file, problems) = run(yaml);
    assert_eq!(problems.len(), 1);
    let p = &problems[0];
    assert_eq!(p.code, Code::DuplicateKey);
    assert_eq!(p.severity, Severity::Warning);
    assert_eq!(at(p), (4, 5));
    assert_eq!(p.labels.len(), 2);
    let file = file.expect("warnings keep the file");
    assert_eq!(
        file.steps[0].value.id.as_ref().map(|i| i.value.as_str()),
        Some("b")
    );
    assert_eq!(
        codes("version: v1.0.0\nversion: v1.1.0\n"),
        [Code::DuplicateKey]
    );
    assert_eq!(
        codes("volumes:\n  - name: v\n    secret:\n      a: eA==\n      a: eQ==\n"),
        [Code::DuplicateKey]
    );
}

#[test]
fn unknown_keys_warn_with_suggestions() {
    let yaml = "steps:\n  - cmd: x\n    detatch: true\n    volumeMount: []\n    retry: 3\n    totalTimeout: 5\n";
    let (file, problems) = run(yaml);
    assert!(file.is_some());
    assert!(
        problems
            .iter()
            .all(|p| p.code == Code::UnknownKey && !p.is_error())
    );
    let helps: Vec<_> = problems
        .iter()
        .map(|p| p.help.clone().unwrap_or_default())
        .collect();
    assert!(helps[0].contains("did you mean `detach`?"), "{helps:?}");
    assert!(
        helps[1].contains("did you mean `volumeMounts`?"),
        "{helps:?}"
    );
    assert!(helps[2].contains("did you mean `retries`?"), "{helps:?}");
    assert!(helps[3].contains("az acr"), "{helps:?}");
    let (_, secret_problems) = run("steps:\n  - cmd: x\n    secret: s\n");
    assert!(
        secret_problems[0]
            .help
            .as_deref()
            .unwrap_or_default()
            .contains("top level under `secrets:`")
    );
    assert!(problems[0].message.contains("`detatch`"));
    assert_eq!(at(&problems[0]), (3, 5));
    assert_eq!(codes("totalTimeout: 60\nsteps: []\n"), [Code::UnknownKey]);
    let (_, problems) = run("steps:\n  - cmd: x\n    entrypoint: sh\n");
    assert!(
        problems[0]
            .help
            .as_deref()
            .unwrap_or_default()
            .contains("`entryPoint`? Keys are case-sensitive")
    );
}

#[test]
fn undocumented_acb_keys_are_silent() {
    let yaml = "registry: r\nisbuildtask: true\ndag: x\nsecrets:\n  - id: s\n    aadresourceid: r\n    resolvedvalue: v\nsteps:\n  - cmd: x\n    tags: [a]\n    usesbuildkit: true\n    stepstatus: x\n";
    let (file, problems) = run(yaml);
    assert!(problems.is_empty(), "{problems:#?}");
    let file = file.expect("file");
    assert_eq!(
        items(&file.secrets)[0]
            .value
            .aad_resource_id
            .as_ref()
            .map(|a| a.value.as_str()),
        Some("r")
    );
}

#[test]
fn anchor_holding_keys_are_not_reported() {
    assert!(codes("x-common: &c\n  cmd: a\nsteps:\n  - *c\n").is_empty());
}

#[test]
fn syntax_errors_have_positions_and_help() {
    let (file, problems) = run("steps:\n  - cmd: echo a: b\n");
    assert!(file.is_none());
    assert_eq!(problems.len(), 1);
    let p = &problems[0];
    assert_eq!(p.code, Code::Yaml);
    assert_eq!(at(p).0, 2);
    assert!(p.help.as_deref().unwrap_or_default().contains("quoted"));

    let (_, problems) = run("steps:\n  - cmd: \"abc\n");
    assert_eq!(problems[0].code, Code::Yaml);
    let (_, problems) = run("a:\n\tb: 1\n");
    assert_eq!(problems[0].code, Code::Yaml);
    assert!(
        problems[0]
            .help
            .as_deref()
            .unwrap_or_default()
            .contains("tabs")
    );
    let (_, problems) = run("steps:\n  - cmd: `x`\n");
    assert_eq!(problems[0].code, Code::Yaml);
    assert_eq!(at(&problems[0]), (2, 10));
    assert_eq!(codes("a: *nope\n"), [Code::Yaml]);
}

#[test]
fn only_the_first_document_is_used() {
    let file = ok("steps:\n  - cmd: a\n---\nsteps:\n  - cmd: b\n  - cmd: c\n");
    assert_eq!(file.steps.len(), 1);
}

#[test]
fn spans_cover_values_in_bytes() {
    let yaml = "# é\nsteps:\n  - id: ünï\n    when: [a, \"b\"]\n";
    let source = src(yaml);
    let (file, _) = parse(&source);
    let file = file.expect("file");
    let step = &file.steps[0];
    let id = step.value.id.as_ref().expect("id");
    assert_eq!(&yaml[id.span.clone()], "ünï");
    let when = items(&step.value.when);
    assert_eq!(&yaml[when[0].span.clone()], "a");
    assert_eq!(&yaml[when[1].span.clone()], "\"b\"");
    assert_eq!(source.line_col(when[1].span.start), (4, 15));
    assert!(yaml[step.span.clone()].starts_with("id: ünï"));
    assert!(yaml[step.span.clone()].ends_with("\"b\"]"));
}

#[test]
fn volume_secret_files_keep_names_and_values() {
    let file = ok("volumes:\n  - name: v\n    secret:\n      a.txt: aGk=\n      b: 123\n");
    let vol = &items(&file.volumes)[0].value;
    let files = &vol.secret.as_ref().expect("secret").value;
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].name.value, "a.txt");
    assert_eq!(files[0].value.value, "aGk=");
    assert_eq!(files[1].value.value, "123");
}

#[test]
fn null_steps_and_entries_are_empty_mappings() {
    let file = ok("secrets:\n  -\nsteps:\n  -\n  - cmd: x\n");
    assert_eq!(file.steps.len(), 2);
    assert_eq!(items(&file.secrets).len(), 1);
}

#[test]
fn bad_input_never_panics() {
    for yaml in [
        "{",
        "[",
        "steps: [",
        ": :",
        "? [a]\n: b\n",
        "steps:\n  - ? [a]\n    : b\n",
        "\u{feff}steps: []\n",
        "steps:\n  - cmd: x\n    timeout: 1e400\n",
        "steps:\n  - cmd: x\n    timeout: .nan\n",
        "steps:\n  - cmd: x\n    timeout: 99999999999999999999999\n",
        "a: &a [*a]\n",
        &"[".repeat(200),
        "steps:\n  - cmd: \u{0}\n",
    ] {
        let _ = run(yaml);
    }
}

mod schema {
    use serde_json::{Value, json};

    use super::super::schema;

    fn validator() -> jsonschema::Validator {
        jsonschema::validator_for(&schema()).expect("a valid schema")
    }

    fn to_json(yaml: &str) -> Value {
        serde_saphyr::from_str::<Value>(yaml).expect("yaml")
    }

    #[test]
    fn metadata() {
        let s = schema();
        assert_eq!(s["title"], json!("ACR Tasks task file (acr-task.yaml)"));
        assert_eq!(
            s["$schema"],
            json!("https://json-schema.org/draft/2020-12/schema")
        );
        let step = &s["$defs"]["Step"]["properties"];
        for key in [
            "id",
            "cmd",
            "build",
            "push",
            "when",
            "workingDirectory",
            "disableWorkingDirectoryOverride",
            "entryPoint",
            "ignoreErrors",
            "retryDelay",
            "retryOnErrors",
            "startDelay",
            "volumeMounts",
            "cmdDownloadRetries",
            "cmdDownloadRetryDelay",
            "exitedWith",
            "exitedWithout",
        ] {
            let description = step[key]["description"].as_str().unwrap_or_default();
            assert!(!description.is_empty(), "{key} has no description");
            assert!(!description.contains('\n'), "{key}: {description}");
        }
        assert!(s["properties"]["stepTimeout"]["description"].is_string());
    }

    #[test]
    fn accepts_what_acb_accepts() {
        let v = validator();
        for yaml in [
            "steps: []",
            "version: v1.1.0\nstepTimeout: 1.5\nenv: [A=1]\nsteps:\n  - id: 123\n    cmd: bash echo\n    privileged: yes\n    detach: on\n    timeout: 30\n    when: ['-']\n    ports: [8080]\n    cache: Enabled\n  - build: -t x .\n    unknownKey: 1\n  - push: [x]\n",
            "secrets:\n  - id: s\n    keyvault: https://v.vault.azure.net/secrets/x\n    clientID: c72b2df0-b9d8-4ac6-9363-7c1eb06c1c86\nnetworks:\n  - name: n\n    ipv6: true\n    skipCreation: false\n    isDefault: yes\nvolumes:\n  - name: v\n    secret:\n      a.txt: aGk=\nsteps:\n  - cmd: x\n    volumeMounts:\n      - name: v\n        mountPath: /v\n",
            "alias:\n  values:\n    repo: r\nsteps:\n  - cmd: x\n",
            "steps:\n  - cmd: ''\n    build: .\n    push: []\n  - cmd: 123\n",
        ] {
            let doc = to_json(yaml);
            assert!(v.is_valid(&doc), "{yaml}");
        }
    }

    #[test]
    fn rejects_shape_errors() {
        let v = validator();
        for yaml in [
            "steps:\n  a:\n    cmd: x\n",
            "steps:\n  - bash echo\n",
            "steps:\n  - id: a\n",
            "steps:\n  - cmd: x\n    push: [y]\n",
            "steps:\n  - push: img\n",
            "steps:\n  - cmd: x\n    when: a\n",
            "env: A=1\n",
            "steps:\n  - cmd: x\n    ports: '80'\n",
            "steps:\n  - cmd: x\n    timeout: '30'\n",
            "steps:\n  - cmd: x\n    cache: maybe\n",
            "steps:\n  - cmd: x\n    retries: -1\n",
            "steps:\n  - cmd: ''\n",
            "steps:\n  - cmd: ~\n",
            "steps:\n  - push: []\n",
        ] {
            let doc = to_json(yaml);
            assert!(!v.is_valid(&doc), "{yaml}");
        }
    }
}
