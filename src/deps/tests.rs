//! Scanner rules (one test group per rule) and the dependency JSON shape.

use super::*;

fn opts() -> ScanOptions {
    ScanOptions::default()
}

fn build_args(args: &[(&str, Option<&str>)]) -> ScanOptions {
    ScanOptions {
        build_args: args
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
            .collect(),
        ..ScanOptions::default()
    }
}

fn target(t: &str) -> ScanOptions {
    ScanOptions {
        target: Some(t.to_owned()),
        ..ScanOptions::default()
    }
}

fn ok_with(text: &str, o: &ScanOptions) -> Scan {
    scan(text, o).unwrap_or_else(|e| panic!("scan failed: {e:?}\n---\n{text}"))
}

fn ok(text: &str) -> Scan {
    ok_with(text, &opts())
}

fn err_with(text: &str, o: &ScanOptions) -> ScanError {
    match scan(text, o) {
        Ok(s) => panic!("expected an error, got {s:?}\n---\n{text}"),
        Err(e) => e,
    }
}

fn err(text: &str) -> ScanError {
    err_with(text, &opts())
}

fn runtime(s: &Scan) -> Option<&str> {
    s.runtime.as_ref().map(|u| u.name.as_str())
}

fn buildtime(s: &Scan) -> Vec<&str> {
    s.buildtime.iter().map(|u| u.name.as_str()).collect()
}

fn kinds(s: &Scan) -> Vec<WarningKind> {
    s.warnings.iter().map(|w| w.kind).collect()
}

fn at<'t>(text: &'t str, span: &std::ops::Range<usize>) -> &'t str {
    text.get(span.clone()).unwrap_or("<bad span>")
}

// --- 1. BOM and parser directives -------------------------------------------------------------

#[test]
fn utf8_bom_is_skipped_and_spans_stay_in_the_original_text() {
    let text = "\u{feff}FROM node:15-alpine\n";
    let s = ok(text);
    assert_eq!(runtime(&s), Some("node:15-alpine"));
    let span = &s.stages[0].base_span;
    assert_eq!(span.start, 8);
    assert_eq!(at(text, span), "node:15-alpine");
}

#[test]
fn bom_then_escape_directive() {
    let s = ok("\u{feff}# escape=`\nFROM alpine `\n  AS base\nFROM base\n");
    assert_eq!(s.escape, '`');
    assert_eq!(s.stages[0].name.as_deref(), Some("base"));
    assert_eq!(runtime(&s), Some("alpine"));
}

#[test]
fn directives_syntax_escape_check() {
    let s = ok("# syntax=docker/dockerfile:1.7\n#check=skip=all\n# escape=`\nFROM a `\n AS b\n");
    assert_eq!(s.syntax.as_deref(), Some("docker/dockerfile:1.7"));
    assert_eq!(s.escape, '`');
    assert_eq!(s.stages[0].name.as_deref(), Some("b"));
}

#[test]
fn directives_end_at_the_first_other_line() {
    // After a plain comment, `# escape=` is just a comment: `\` still continues lines.
    for prefix in ["# a comment\n", "\n", "# unknown=x\n", "ARG X=1\n"] {
        let s = ok(&format!("{prefix}# escape=`\nFROM alpine \\\n AS base\n"));
        assert_eq!(s.escape, '\\', "{prefix:?}");
        assert_eq!(s.stages[0].name.as_deref(), Some("base"), "{prefix:?}");
    }
}

#[test]
fn bad_directives_are_errors_with_spans() {
    let text = "# escape=`\n# escape=\\\nFROM a\n";
    let e = err(text);
    assert_eq!(e.kind, ScanErrorKind::InvalidDirective);
    assert_eq!(at(text, &e.span), "# escape=\\");
    let e = err("# escape=x\nFROM a\n");
    assert_eq!(e.kind, ScanErrorKind::InvalidDirective);
    assert!(e.message.contains("invalid escape token 'x'"));
}

// --- 2. Line continuations --------------------------------------------------------------------

#[test]
fn continuations_with_comments_and_blank_lines_inside() {
    let text = "ARG REGISTRY=mcr.microsoft.com\nARG TAG=8.0\nFROM --platform=$BUILDPLATFORM \\\n    # the SDK image\n\n    ${REGISTRY}/dotnet/sdk:${TAG} \\\n    AS build\nRUN dotnet publish \\\n  -c Release\nFROM ${REGISTRY}/dotnet/aspnet:${TAG}\nCOPY --from=build /app /app\n";
    let s = ok(text);
    assert_eq!(runtime(&s), Some("mcr.microsoft.com/dotnet/aspnet:8.0"));
    assert_eq!(buildtime(&s), vec!["mcr.microsoft.com/dotnet/sdk:8.0"]);
    assert_eq!(s.stages[0].name.as_deref(), Some("build"));
    assert_eq!(
        s.stages[0].platform.as_deref(),
        Some(host_platform().as_str())
    );
    assert_eq!(kinds(&s), vec![WarningKind::EmptyContinuationLine]);
    // Spans map back through the joined lines.
    assert_eq!(
        at(text, &s.stages[0].base_span),
        "${REGISTRY}/dotnet/sdk:${TAG}"
    );
    let from = at(text, &s.stages[0].from_span);
    assert!(from.starts_with("FROM --platform"), "{from}");
    assert!(from.ends_with("AS build"), "{from}");
}

#[test]
fn continuation_without_space_joins_words_and_trailing_blanks_after_escape() {
    let s = ok("FROM node:\\\n15 \\  \n AS x\n");
    assert_eq!(runtime(&s), Some("node:15"));
    assert_eq!(s.stages[0].name.as_deref(), Some("x"));
}

#[test]
fn continuation_at_end_of_file() {
    let s = ok("FROM alpine \\");
    assert_eq!(runtime(&s), Some("alpine"));
}

#[test]
fn crlf_line_endings() {
    let text =
        "ARG V=3.20\r\nFROM alpine:$V AS a\r\nFROM busybox \\\r\n  AS b\r\nCOPY --from=a / /\r\n";
    let s = ok(text);
    assert_eq!(runtime(&s), Some("busybox"));
    assert_eq!(buildtime(&s), vec!["alpine:3.20"]);
    assert_eq!(at(text, &s.stages[0].base_span), "alpine:$V");
}

// --- 3. Heredocs ------------------------------------------------------------------------------

#[test]
fn heredoc_bodies_are_not_scanned() {
    let s = ok(
        "FROM alpine\nRUN <<EOF\nFROM evil:1\nARG X=1\nEOF\nCOPY <<-EOT /etc/x\n\tFROM evil:2\n\tEOT\nRUN <<'A' cat - <<\"B\" > /x\nFROM evil:3\nA\nFROM evil:4\nB\nFROM node:1\n",
    );
    assert_eq!(s.stages.len(), 2);
    assert_eq!(runtime(&s), Some("node:1"));
    assert_eq!(buildtime(&s), Vec::<&str>::new());
}

#[test]
fn heredoc_terminator_needs_chomp_for_tabs() {
    // Without `<<-`, a tab-indented terminator does not close the heredoc.
    let e = err("FROM alpine\nRUN <<EOF\nFROM x\n\tEOF\n");
    assert_eq!(e.kind, ScanErrorKind::UnterminatedHeredoc);
    let text = "FROM alpine\nRUN cat <<EOF\nnever closed\n";
    let e = err(text);
    assert_eq!(at(text, &e.span), "<<EOF");
}

#[test]
fn heredoc_with_add_and_markers_that_are_not_heredocs() {
    let s = ok(
        "FROM a\nADD <<EOF /x\nFROM b\nEOF\nRUN echo '<<NOPE'\nRUN cat<<NOPE\nRUN echo a <<< b\nFROM c\n",
    );
    assert_eq!(s.stages.len(), 2);
    assert_eq!(runtime(&s), Some("c"));
}

#[test]
fn heredoc_after_a_continued_instruction() {
    let s = ok(
        "FROM a AS base\nRUN --mount=type=cache,target=/c \\\n    <<EOF\nFROM evil\nEOF\nFROM b\nCOPY --from=\"base\" / /\n",
    );
    assert_eq!(s.stages.len(), 2);
    assert_eq!(s.stages[1].sources[0].from, Base::Stage(0));
}

#[test]
fn json_form_has_no_heredocs() {
    let s = ok("FROM a\nRUN [\"sh\", \"-c\", \"cat <<EOF\"]\nFROM b\n");
    assert_eq!(s.stages.len(), 2);
}

// --- 4. Case-insensitive instructions ---------------------------------------------------------

#[test]
fn instructions_and_as_in_any_case() {
    let s = ok(
        "arg V=1\nfrom golang:$V As Builder\nrun go build\nFrOm alpine aS final\ncopy --from=BUILDER /a /a\n",
    );
    assert_eq!(s.stages[0].name.as_deref(), Some("builder"));
    assert_eq!(runtime(&s), Some("alpine"));
    assert_eq!(buildtime(&s), vec!["golang:1"]);
}

// --- 5. FROM syntax ---------------------------------------------------------------------------

#[test]
fn from_with_platform_flag() {
    // acb reads `--platform=…` as the image name and fails; Docker does not.
    let o = ScanOptions {
        platform: Some("linux/arm/v7".into()),
        ..opts()
    };
    let s = ok_with(
        "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nFROM --platform=linux/amd64 alpine:${TARGETARCH}${TARGETVARIANT}\n",
        &o,
    );
    assert_eq!(
        s.stages[0].platform.as_deref(),
        Some(host_platform().as_str())
    );
    assert_eq!(s.stages[1].platform.as_deref(), Some("linux/amd64"));
    assert_eq!(runtime(&s), Some("alpine:armv7"));
}

#[test]
fn malformed_from_lines_are_errors_with_spans() {
    let text = "FROM\n";
    let e = err(text);
    assert_eq!(e.kind, ScanErrorKind::MalformedFrom);
    assert_eq!(at(text, &e.span), "FROM");
    let text = "FROM node:1 AS x y\n";
    assert_eq!(at(text, &err(text).span), "node:1 AS x y");
    for bad in [
        "FROM a b\n",
        "FROM a as\n",
        "FROM a AS b c\n",
        "FROM a FOR b\n",
    ] {
        let e = err(bad);
        assert_eq!(e.kind, ScanErrorKind::MalformedFrom, "{bad}");
        assert!(!e.span.is_empty(), "{bad}");
        assert!(e.help.is_some());
    }
    let text = "FROM --plat=x a\n";
    let e = err(text);
    assert_eq!(e.kind, ScanErrorKind::BadFlag);
    assert_eq!(at(text, &e.span), "--plat=x");
    let e = err("FROM --platform linux/amd64 a\n");
    assert_eq!(e.kind, ScanErrorKind::BadFlag);
    assert_eq!(e.message, "missing a value on flag: platform");
}

#[test]
fn quoted_image_word() {
    let s = ok("ARG T=1\nFROM \"node:${T}\"\n");
    assert_eq!(runtime(&s), Some("node:1"));
}

// --- 6. Global ARGs ---------------------------------------------------------------------------

#[test]
fn global_args_defaults_overrides_and_order() {
    let text =
        "ARG BASE=node\nARG VERSION=\"15\"\nARG TAG=${VERSION}-alpine\nFROM ${BASE}:${TAG}\n";
    let s = ok(text);
    assert_eq!(runtime(&s), Some("node:15-alpine"));
    let s = ok_with(text, &build_args(&[("VERSION", Some("18"))]));
    assert_eq!(runtime(&s), Some("node:18-alpine"));
    assert!(s.global_args[1].from_build_arg);
    assert_eq!(s.global_args[1].value.as_deref(), Some("18"));
    assert_eq!(at(text, &s.global_args[1].span), "VERSION=\"15\"");
    // A later --build-arg for the same name wins; a pass-through one is ignored.
    let s = ok_with(
        text,
        &build_args(&[("BASE", Some("x")), ("BASE", Some("bun")), ("TAG", None)]),
    );
    assert_eq!(runtime(&s), Some("bun:15-alpine"));
}

#[test]
fn arg_order_matters_and_redeclaration_wins() {
    // B is expanded when declared: A is not known yet.
    let s = ok("ARG B=${A}x\nARG A=1\nARG A=2\nFROM alpine:$A$B\n");
    assert_eq!(runtime(&s), Some("alpine:2x"));
    assert_eq!(kinds(&s), vec![WarningKind::UndefinedVariable]);
}

#[test]
fn several_args_on_one_line() {
    let s = ok("ARG IMG=busybox TAG=1.36\nFROM $IMG:$TAG\n");
    assert_eq!(runtime(&s), Some("busybox:1.36"));
    assert_eq!(s.global_args.len(), 2);
}

#[test]
fn declared_without_default_is_set_but_empty() {
    let s = ok("ARG T\nFROM alpine${T:-:3.20}\n");
    assert_eq!(runtime(&s), Some("alpine:3.20"));
    let s = ok("ARG T\nFROM alpine${T-:3.20}\n");
    assert_eq!(runtime(&s), Some("alpine"));
    assert!(s.warnings.is_empty());
    assert_eq!(s.global_args[0].value, None);
}

#[test]
fn stage_local_args_do_not_reach_later_from_lines() {
    let text = "ARG V=1\nFROM alpine:$V AS a\nARG V=2\nARG LOCAL=x\nFROM busybox:$V$LOCAL\n";
    let s = ok(text);
    assert_eq!(runtime(&s), Some("busybox:1"));
    let w = &s.warnings[0];
    assert_eq!(w.kind, WarningKind::UndefinedVariable);
    assert_eq!(at(text, &w.span), "$LOCAL");
}

#[test]
fn undeclared_build_arg_is_not_visible_in_from() {
    let e = err_with("FROM $IMAGE\n", &build_args(&[("IMAGE", Some("node"))]));
    assert_eq!(e.kind, ScanErrorKind::EmptyBaseName);
    let s = ok_with(
        "FROM node${SUFFIX}\n",
        &build_args(&[("SUFFIX", Some(":1"))]),
    );
    assert_eq!(runtime(&s), Some("node"));
    assert_eq!(kinds(&s), vec![WarningKind::UndeclaredBuildArg]);
}

#[test]
fn malformed_arg() {
    let e = err("ARG =x\nFROM a\n");
    assert_eq!(e.kind, ScanErrorKind::MalformedArg);
    let e = err("ARG\nFROM a\n");
    assert_eq!(e.kind, ScanErrorKind::MalformedArg);
}

// --- 7. Expansion -----------------------------------------------------------------------------

#[test]
fn expansion_forms_in_from() {
    // acb expands `${VAR:-default}` to nothing; Docker uses the default.
    let cases = [
        ("ARG T\nFROM alpine:${T:-3.20}\n", "alpine:3.20"),
        ("FROM alpine:${NOPE:-3.20}\n", "alpine:3.20"),
        ("ARG T=1\nFROM alpine:${T:-3.20}\n", "alpine:1"),
        ("ARG S=-slim\nFROM debian:12${S:+-slim}\n", "debian:12-slim"),
        ("ARG S\nFROM debian:12${S:+-slim}\n", "debian:12"),
        ("ARG S\nFROM debian:12${S+-slim}\n", "debian:12-slim"),
        ("FROM debian:12${S+-slim}\n", "debian:12"),
        ("FROM debian:${S-12}\n", "debian:12"),
        ("ARG V=1.2.3\nFROM node:${V%.*}\n", "node:1.2"),
        ("ARG R=a.io/x\nFROM ${R}/app:1\n", "a.io/x/app:1"),
        ("ARG R=a.io/x\nFROM $R/app:1\n", "a.io/x/app:1"),
    ];
    for (text, want) in cases {
        let s = ok(text);
        assert_eq!(runtime(&s), Some(want), "{text}");
        assert!(s.warnings.is_empty(), "{text}: {:?}", s.warnings);
    }
}

#[test]
fn escaped_dollar_is_literal() {
    let text = "ARG T=1\nFROM alpine:\\$T\n";
    let e = err(text);
    assert_eq!(e.kind, ScanErrorKind::InvalidReference);
    assert!(e.message.contains("alpine:$T"), "{}", e.message);
    assert_eq!(at(text, &e.span), "alpine:\\$T");
    // With the backtick escape, `\` is an ordinary character and `` `$ `` is the escape.
    let e = err("# escape=`\nARG T=1\nFROM alpine:`$T\n");
    assert!(e.message.contains("alpine:$T"), "{}", e.message);
}

#[test]
fn unknown_variables_expand_to_empty_with_a_warning() {
    let text = "FROM alpine${NOPE}\n";
    let s = ok(text);
    assert_eq!(runtime(&s), Some("alpine"));
    assert_eq!(kinds(&s), vec![WarningKind::UndefinedVariable]);
    assert_eq!(at(text, &s.warnings[0].span), "${NOPE}");
}

#[test]
fn substitution_errors_have_spans() {
    let text = "FROM alpine:${T\n";
    let e = err(text);
    assert_eq!(e.kind, ScanErrorKind::BadSubstitution);
    assert_eq!(at(text, &e.span), "${T");
    let e = err("FROM alpine:${T:?required}\n");
    assert_eq!(e.kind, ScanErrorKind::BadSubstitution);
    assert!(e.message.contains("T: required"), "{}", e.message);
    // Blanks split FROM arguments before expansion, as in Docker.
    let e = err("FROM alpine:${T:?tag required}\n");
    assert_eq!(e.kind, ScanErrorKind::MalformedFrom);
}

/// Found while fuzzing (`fuzz/regressions/dockerfile/arg-doubling`): global ARGs that quadruple
/// their value at every line exhausted memory; a word may expand to at most 16 KiB.
#[test]
fn runaway_arg_expansion_is_an_error() {
    let mut text = String::from("ARG A0=x\n");
    for i in 0..30 {
        text.push_str(&format!(
            "ARG A{}=${{A{i}}}${{A{i}}}${{A{i}}}${{A{i}}}\n",
            i + 1
        ));
    }
    text.push_str("FROM alpine:${A30}\n");
    let e = err(&text);
    assert_eq!(e.kind, ScanErrorKind::BadSubstitution);
    assert!(
        e.message.contains("expands to more than 16 KiB"),
        "{}",
        e.message
    );
    assert_eq!(at(&text, &e.span), "${A7}");
}

#[test]
fn empty_base_name() {
    let text = "ARG IMAGE\nFROM $IMAGE AS x\n";
    let e = err(text);
    assert_eq!(e.kind, ScanErrorKind::EmptyBaseName);
    assert_eq!(e.message, "base name ($IMAGE) should not be blank");
    assert_eq!(at(text, &e.span), "$IMAGE");
}

// --- 8. Automatic platform ARGs ---------------------------------------------------------------

#[test]
fn automatic_platform_args() {
    let o = ScanOptions {
        platform: Some("linux/arm64".into()),
        ..opts()
    };
    let s = ok_with(
        "FROM --platform=$BUILDPLATFORM tonistiigi/xx AS xx\nFROM example.io/base-$TARGETOS-$TARGETARCH:1$TARGETVARIANT\nCOPY --from=xx / /\n",
        &o,
    );
    assert_eq!(runtime(&s), Some("example.io/base-linux-arm64:1"));
    assert_eq!(buildtime(&s), vec!["tonistiigi/xx"]);
    // The default target platform is the host's.
    let s = ok("FROM alpine:$TARGETOS\n");
    assert_eq!(runtime(&s), Some("alpine:linux"));
    let e = err("FROM alpine:$TARGETPLATFORM\n");
    assert_eq!(e.kind, ScanErrorKind::InvalidReference);
}

#[test]
fn several_platforms_use_the_first() {
    let o = ScanOptions {
        platform: Some("linux/amd64,linux/arm64".into()),
        ..opts()
    };
    let s = ok_with("FROM alpine:$TARGETARCH\n", &o);
    assert_eq!(runtime(&s), Some("alpine:amd64"));
    assert_eq!(kinds(&s), vec![WarningKind::MultiplePlatforms]);
}

// --- 9. Stage references and scratch ----------------------------------------------------------

#[test]
fn stage_by_name_is_case_insensitive_and_follows_to_the_origin() {
    let s = ok("FROM node:15-alpine AS Base\nFROM BASE AS build\nFROM build\n");
    assert_eq!(s.stages[1].base, Base::Stage(0));
    assert_eq!(s.stages[2].base, Base::Stage(1));
    assert_eq!(runtime(&s), Some("node:15-alpine"));
    assert!(s.buildtime.is_empty());
}

#[test]
fn from_by_index_is_an_image_as_in_docker() {
    let s = ok("FROM alpine\nFROM 0\n");
    assert_eq!(runtime(&s), Some("0"));
    assert_eq!(buildtime(&s), Vec::<&str>::new());
}

#[test]
fn from_can_only_use_earlier_stages() {
    let s = ok("FROM later AS first\nFROM alpine AS later\nCOPY --from=first / /\n");
    assert!(matches!(s.stages[0].base, Base::Image(_)));
    assert_eq!(kinds(&s), vec![WarningKind::LaterStage]);
}

#[test]
fn scratch_is_not_an_image() {
    let s = ok("FROM golang:1.10-alpine AS build\nFROM scratch\nCOPY --from=build /x /x\n");
    assert_eq!(s.stages[1].base, Base::Scratch);
    assert_eq!(runtime(&s), None);
    assert_eq!(buildtime(&s), vec!["golang:1.10-alpine"]);
    let s = ok("FROM scratch AS base\nFROM base\nCOPY --from=scratch / /\n");
    assert_eq!(runtime(&s), None);
    assert!(s.buildtime.is_empty());
}

#[test]
fn stage_names() {
    let e = err("FROM a AS 1st\n");
    assert_eq!(e.kind, ScanErrorKind::InvalidStageName);
    let e = err("FROM a AS b@d\n");
    assert_eq!(e.kind, ScanErrorKind::InvalidStageName);
    let s = ok("FROM a AS x\nFROM b AS x\nFROM x\n");
    assert_eq!(kinds(&s), vec![WarningKind::DuplicateStageName]);
    assert_eq!(s.stages[2].base, Base::Stage(1));
    let s = ok("FROM a AS context\n");
    assert_eq!(kinds(&s), vec![WarningKind::ReservedStageName]);
}

// --- 10. --target -----------------------------------------------------------------------------

const MULTI: &str = "\
ARG GO=1.22
FROM golang:${GO} AS build
RUN go build -o /app
FROM build AS test
RUN go test ./...
FROM sonarsource/sonar-scanner-cli AS lint
FROM gcr.io/distroless/static AS prod
COPY --from=build /app /app
FROM prod AS debug
COPY --from=busybox:1.36 /bin/busybox /bin/busybox
";

#[test]
fn without_target_only_stages_the_last_needs_count() {
    let s = ok(MULTI);
    assert_eq!(s.target, 4);
    assert_eq!(runtime(&s), Some("gcr.io/distroless/static"));
    assert_eq!(buildtime(&s), vec!["golang:1.22", "busybox:1.36"]);
    let needed: Vec<bool> = s.stages.iter().map(|s| s.needed).collect();
    assert_eq!(needed, vec![true, false, false, true, true]);
}

#[test]
fn target_selects_the_stage_and_what_it_needs() {
    let s = ok_with(MULTI, &target("PROD"));
    assert_eq!(s.target, 3);
    assert_eq!(runtime(&s), Some("gcr.io/distroless/static"));
    assert_eq!(buildtime(&s), vec!["golang:1.22"]);
    let s = ok_with(MULTI, &target("test"));
    assert_eq!(runtime(&s), Some("golang:1.22"));
    assert!(s.buildtime.is_empty());
    let s = ok_with(MULTI, &target("lint"));
    assert_eq!(runtime(&s), Some("sonarsource/sonar-scanner-cli"));
}

#[test]
fn unknown_target_names_it_and_lists_stages() {
    let e = err_with(MULTI, &target("release"));
    assert_eq!(e.kind, ScanErrorKind::UnknownTarget);
    assert_eq!(
        e.message,
        "target stage \"release\" could not be found; the stages are: build, test, lint, prod, debug"
    );
    let e = err_with("FROM a\n", &target("x"));
    assert!(e.message.ends_with("none of the stages has a name"));
}

// --- 11. COPY --from and RUN --mount from= ------------------------------------------------------

#[test]
fn copy_from_image_stage_and_index() {
    let text = "FROM golang AS build\nFROM node AS assets\nFROM alpine\nCOPY --from=build /a /a\nCOPY --chown=1:1 --from=1 /b /b\nCOPY --from=nginx:stable /etc/nginx /etc/nginx\n";
    let s = ok(text);
    let froms: Vec<&Base> = s.stages[2].sources.iter().map(|x| &x.from).collect();
    assert_eq!(froms[0], &Base::Stage(0));
    assert_eq!(froms[1], &Base::Stage(1));
    assert!(matches!(froms[2], Base::Image(u) if u.via == Via::CopyFrom));
    assert_eq!(at(text, &s.stages[2].sources[2].span), "nginx:stable");
    assert_eq!(runtime(&s), Some("alpine"));
    assert_eq!(buildtime(&s), vec!["golang", "node", "nginx:stable"]);
}

#[test]
fn copy_from_later_stage_by_name_or_index() {
    let s = ok(
        "FROM alpine AS a\nCOPY --from=b / /\nCOPY --from=2 / /\nFROM node AS b\nFROM python AS c\nFROM a\n",
    );
    assert_eq!(s.stages[0].sources[0].from, Base::Stage(1));
    assert_eq!(s.stages[0].sources[1].from, Base::Stage(2));
    assert_eq!(runtime(&s), Some("alpine"));
    assert_eq!(buildtime(&s), vec!["node", "python"]);
}

#[test]
fn copy_from_errors() {
    let text = "FROM a\nCOPY --from=3 / /\n";
    let e = err(text);
    assert_eq!(e.kind, ScanErrorKind::InvalidStageIndex);
    assert_eq!(at(text, &e.span), "3");
    let e = err("ARG IMG=x\nFROM a\nCOPY --from=$IMG / /\n");
    assert_eq!(e.kind, ScanErrorKind::VariableInCopyFrom);
    let e = err("FROM a\nCOPY --from / /\n");
    assert_eq!(e.kind, ScanErrorKind::BadFlag);
    let e = err("FROM a\nCOPY --from=Bad/Name / /\n");
    assert_eq!(e.kind, ScanErrorKind::InvalidReference);
}

#[test]
fn add_has_no_from_and_copy_before_from_is_ignored() {
    let s = ok("FROM a\nADD --from=b / /\n");
    assert!(s.stages[0].sources.is_empty());
}

#[test]
fn run_mount_from() {
    let text = "FROM golang AS build\nFROM alpine\nRUN --mount=type=cache,target=/root/.cache,from=img:1 \\\n    --mount=type=bind,from=build,source=/out,target=/in \\\n    --mount=type=cache,target=/x \\\n    --mount=type=tmpfs,target=/t,from=ignored \\\n    --mount=from=other:2 \\\n    --network=none make\n";
    let s = ok(text);
    let sources = &s.stages[1].sources;
    assert_eq!(sources.len(), 3);
    assert!(matches!(&sources[0].from, Base::Image(u) if u.name == "img:1"));
    assert_eq!(at(text, &sources[0].span), "img:1");
    assert_eq!(sources[1].from, Base::Stage(0));
    assert_eq!(buildtime(&s), vec!["golang", "img:1", "other:2"]);
}

#[test]
fn quoted_mount_flag() {
    let s = ok("FROM alpine\nRUN --mount=\"type=bind,from=node:20,target=/n\" true\n");
    assert!(matches!(&s.stages[0].sources[0].from, Base::Image(u) if u.name == "node:20"));
}

#[test]
fn mount_from_does_not_take_an_index() {
    // BuildKit looks mount sources up by name only.
    let s = ok("FROM alpine\nFROM busybox\nRUN --mount=from=0,target=/x true\n");
    assert!(matches!(&s.stages[1].sources[0].from, Base::Image(u) if u.name == "0"));
}

#[test]
fn circular_dependencies() {
    let text = "FROM alpine AS a\nCOPY --from=a / /\n";
    let e = err(text);
    assert_eq!(e.kind, ScanErrorKind::CircularDependency);
    assert_eq!(e.message, "circular dependency detected on stage: a");
    let e = err("FROM alpine AS a\nCOPY --from=b / /\nFROM a AS b\n");
    assert_eq!(e.kind, ScanErrorKind::CircularDependency);
}

// --- 12. Dependencies: runtime, buildtime, de-duplication ---------------------------------------

#[test]
fn buildtime_is_deduplicated_in_first_appearance_order() {
    let s = ok(
        "FROM python:3 AS py\nFROM node AS a\nFROM library/node AS b\nFROM docker.io/library/node:latest AS c\nFROM golang AS d\nCOPY --from=python:3 / /\nFROM alpine\nCOPY --from=a / /\nCOPY --from=b / /\nCOPY --from=c / /\nCOPY --from=d / /\nCOPY --from=py / /\n",
    );
    assert_eq!(runtime(&s), Some("alpine"));
    assert_eq!(buildtime(&s), vec!["python:3", "node", "golang"]);
}

#[test]
fn runtime_image_is_not_repeated_as_buildtime() {
    let s =
        ok("FROM node:20 AS deps\nFROM node:20\nCOPY --from=deps / /\nCOPY --from=node:20 / /\n");
    assert_eq!(runtime(&s), Some("node:20"));
    assert!(s.buildtime.is_empty());
}

#[test]
fn acb_test_dockerfile_with_global_args() {
    // acr-builder's own scanner test Dockerfile, with the ARGs made global as Docker requires.
    let text = "# This dockerfile is just a test resource and is not buildable\nARG runtime_version=\"2.0.6\"\nARG build_image\nARG build_version=2.0\nFROM microsoft/aspnetcore:${runtime_version} AS base\nWORKDIR /app\nEXPOSE 80\n\nFROM base AS secondary\nRUN nothing\n\nFROM microsoft/$build_image:$build_version AS builder\nWORKDIR /src\nRUN dotnet build -c Release -o /app\n\nFROM builder AS publish\nRUN dotnet publish -c Release -o /app\n\nFROM imaginary/cert-generator:1.0\nRUN generate-cert.sh\n\nFROM secondary AS production\nWORKDIR /app\nCOPY --from=publish /app .\nCOPY --from=4 /cert /app\nENTRYPOINT [\"dotnet\", \"Web.dll\"]";
    let s = ok_with(
        text,
        &build_args(&[
            ("build_image", Some("aspnetcore-build")),
            ("build_version", Some("2.0.6")),
        ]),
    );
    assert_eq!(runtime(&s), Some("microsoft/aspnetcore:2.0.6"));
    assert_eq!(
        buildtime(&s),
        vec![
            "microsoft/aspnetcore-build:2.0.6",
            "imaginary/cert-generator:1.0"
        ]
    );
}

#[test]
fn no_from_is_an_error() {
    for text in ["", "# only a comment\n", "ARG X=1\nRUN echo\n", "\u{feff}"] {
        let e = err(text);
        assert_eq!(e.kind, ScanErrorKind::NoFrom, "{text:?}");
        assert_eq!(e.span, 0..0);
    }
}

#[test]
fn uppercase_image_is_an_error_with_span() {
    let text = "FROM alpine AS ok\nFROM MyOrg/App:1\n";
    let e = err(text);
    assert_eq!(e.kind, ScanErrorKind::InvalidReference);
    assert_eq!(at(text, &e.span), "MyOrg/App:1");
    assert!(e.message.contains("must be lowercase"), "{}", e.message);
}

#[test]
fn digest_pinned_base() {
    let d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let s = ok(&format!("FROM node:20@{d}\n"));
    let rt = s.runtime.as_ref().map(|u| &u.image);
    assert_eq!(rt.and_then(|i| i.pinned_digest()), Some(d));
}

// --- 13. Windows Dockerfile -------------------------------------------------------------------

#[test]
fn backtick_escape_windows_dockerfile() {
    let text = "# escape=`\r\n\r\nFROM mcr.microsoft.com/dotnet/framework/sdk:4.8 `\r\n    AS build\r\nWORKDIR C:\\src\r\nRUN powershell -Command `\r\n    $ErrorActionPreference = 'Stop'; `\r\n    # a comment inside the continuation\r\n    Write-Host C:\\path\\\r\nCOPY . C:\\src\\\r\nFROM mcr.microsoft.com/dotnet/framework/aspnet:4.8-windowsservercore-ltsc2022\r\nCOPY --from=build C:\\src\\bin C:\\inetpub\\wwwroot\r\n";
    let s = ok(text);
    assert_eq!(s.escape, '`');
    assert_eq!(s.stages.len(), 2);
    assert_eq!(
        runtime(&s),
        Some("mcr.microsoft.com/dotnet/framework/aspnet:4.8-windowsservercore-ltsc2022")
    );
    assert_eq!(
        buildtime(&s),
        vec!["mcr.microsoft.com/dotnet/framework/sdk:4.8"]
    );
}

// --- JSON shape -------------------------------------------------------------------------------

#[test]
fn dependency_json_matches_acb_exactly() {
    let text = "ARG GO=1.10\nFROM golang:${GO}-alpine AS build\nRUN go build\nFROM node:15-alpine\nCOPY --from=build /app /app\nCOPY --from=library/golang:1.10-alpine /x /x\n";
    let s = ok(text);
    let mut deps = dependencies_for_build(
        &s,
        &["myregistry.azurecr.io/hello-world:cf4".to_owned()],
        "68cdf2a3",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // The caller fills digests in after the build.
    for d in &mut deps {
        if let Some(i) = d.image.as_mut() {
            i.digest = "sha256:aa".into();
        }
        if let Some(r) = d.runtime_dependency.as_mut() {
            r.digest = "sha256:bb".into();
        }
        for b in d.buildtime_dependency.iter_mut().flatten() {
            b.digest = "sha256:cc".into();
        }
    }
    let json = serde_json::to_string(&deps).unwrap_or_default();
    assert_eq!(
        json,
        concat!(
            r#"[{"image":{"registry":"myregistry.azurecr.io","repository":"hello-world","tag":"cf4","digest":"sha256:aa","reference":"myregistry.azurecr.io/hello-world:cf4"},"#,
            r#""runtime-dependency":{"registry":"registry.hub.docker.com","repository":"library/node","tag":"15-alpine","digest":"sha256:bb","reference":"node:15-alpine"},"#,
            r#""buildtime-dependency":[{"registry":"registry.hub.docker.com","repository":"library/golang","tag":"1.10-alpine","digest":"sha256:cc","reference":"golang:1.10-alpine"}],"#,
            r#""git":{"git-head-revision":"68cdf2a3"}}]"#
        )
    );
    let back: Vec<Dependencies> = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, deps);
}

#[test]
fn dependency_json_untagged_scratch_and_no_buildtime() {
    let s = ok("FROM scratch\nCOPY app /\n");
    let deps = dependencies_for_build(&s, &[], "").unwrap_or_else(|e| panic!("{e}"));
    let json = serde_json::to_string(&deps).unwrap_or_default();
    assert_eq!(
        json,
        r#"[{"image":null,"runtime-dependency":null,"buildtime-dependency":null,"git":{"git-head-revision":""}}]"#
    );
}

#[test]
fn one_entry_per_tag_and_bad_tags_fail() {
    let s = ok("FROM library/node\nFROM busybox\nCOPY --from=0 / /\n");
    let tags = ["a.io/x:1".to_owned(), "x".to_owned()];
    let deps = dependencies_for_build(&s, &tags, "abc").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(deps.len(), 2);
    assert_eq!(
        deps[1].image.as_ref().map(|i| i.reference.as_str()),
        Some("x:latest")
    );
    // acb drops `library/` from build-time references.
    let bt = deps[0].buildtime_dependency.as_deref().unwrap_or_default();
    assert_eq!(bt[0].reference, "node:latest");
    assert_eq!(bt[0].docker_name, "docker.io/library/node:latest");
    let e = dependencies_for_build(&s, &["Bad:1".to_owned()], "").err();
    assert_eq!(e.map(|e| e.kind), Some(RefErrorKind::Uppercase));
}
