//! Run output in the three modes of SPEC §4: `human` (coloured step prefixes on a terminal),
//! `plain` (`[step] line`, for CI logs) and `json` (one event object per line). Every line goes
//! through secret masking before it is written.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::json;

use crate::engine::LogStream;
use crate::exec::{Reporter, RunSummary, StepResult, StepStatus};
use crate::report::mask;

/// Output modes of `taskrun run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputMode {
    /// Prefixed, coloured lines (default on a terminal).
    Human,
    /// `[step] line` (default otherwise).
    Plain,
    /// One JSON object per event.
    Json,
}

/// Writes run events to a writer (stderr for status, stdout for json).
pub struct RunReporter {
    mode: OutputMode,
    color: bool,
    masked: std::sync::RwLock<Vec<String>>,
    github: bool,
    out: Mutex<Box<dyn Write + Send>>,
    width: usize,
    steps: Mutex<Vec<String>>,
    /// Running steps and when they started, for the live status line (human mode on a
    /// terminal only).
    live: Option<Mutex<Vec<(String, std::time::Instant)>>>,
}

const COLORS: &[&str] = &["36", "35", "33", "32", "34", "96", "95", "93"];

impl RunReporter {
    /// A reporter writing to `out`.
    pub fn new(
        mode: OutputMode,
        color: bool,
        masked: Vec<String>,
        out: Box<dyn Write + Send>,
    ) -> Self {
        Self {
            mode,
            color: color && mode == OutputMode::Human,
            masked: std::sync::RwLock::new(masked),
            github: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
            out: Mutex::new(out),
            width: 0,
            steps: Mutex::new(Vec::new()),
            live: None,
        }
    }

    /// Shows a status line of the running steps and their elapsed time below the log (for a
    /// terminal); redrawn on every event and by [`RunReporter::tick`].
    #[must_use]
    pub fn with_live_status(mut self, on: bool) -> Self {
        self.live = (on && self.mode == OutputMode::Human).then(|| Mutex::new(Vec::new()));
        self
    }

    /// Redraws the live status line (call a few times a second while a run is going).
    pub fn tick(&self) {
        if self.live.is_some() {
            self.write("");
        }
    }

    fn write(&self, text: &str) {
        let masked = self.masked.read().unwrap_or_else(|e| e.into_inner());
        let text = mask(text, &masked);
        drop(masked);
        self.write_masked(&text);
    }

    /// Writes text that is already masked.
    fn write_masked(&self, text: &str) {
        if let Ok(mut out) = self.out.lock() {
            if self.live.is_some() {
                // Clear the status line (if any), write the text, draw the status line again.
                let status = self.status_line().unwrap_or_default();
                let _ = write!(out, "\r\x1b[2K{text}{status}");
            } else {
                let _ = out.write_all(text.as_bytes());
            }
            let _ = out.flush();
        }
    }

    /// The live status line (without newline), when there is one to show.
    fn status_line(&self) -> Option<String> {
        let live = self.live.as_ref()?.lock().ok()?;
        if live.is_empty() {
            return None;
        }
        let parts: Vec<String> = live
            .iter()
            .map(|(id, since)| format!("{id} {}", format_duration(since.elapsed())))
            .collect();
        let mut line = format!("running: {}", parts.join(" · "));
        if line.chars().count() > 110 {
            line = line.chars().take(107).collect::<String>() + "...";
        }
        Some(if self.color {
            format!("\x1b[2m{line}\x1b[0m")
        } else {
            line
        })
    }

    fn set_running(&self, step: &str, running: bool) {
        if let Some(live) = &self.live
            && let Ok(mut l) = live.lock()
        {
            l.retain(|(id, _)| id != step);
            if running {
                l.push((step.to_owned(), std::time::Instant::now()));
            }
        }
    }

    /// Writes one json event. Strings are masked before they are encoded, so a secret with
    /// quotes, backslashes or control characters (escaped in JSON) is masked too, and masking
    /// never breaks the JSON.
    fn event(&self, mut value: serde_json::Value) {
        let masked = self.masked.read().unwrap_or_else(|e| e.into_inner());
        mask_json(&mut value, &masked);
        drop(masked);
        let mut line = serde_json::to_string(&value).unwrap_or_default();
        line.push('\n');
        self.write_masked(&line);
    }

    fn prefix(&self, step: &str) -> String {
        match self.mode {
            OutputMode::Plain | OutputMode::Json => format!("[{step}]"),
            OutputMode::Human => {
                let steps = self.steps.lock().map(|s| s.clone()).unwrap_or_default();
                let width = steps
                    .iter()
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(self.width);
                let idx = steps.iter().position(|s| s == step).unwrap_or(0);
                let padded = format!("{step:<width$}");
                if self.color {
                    format!("\x1b[{}m{padded} |\x1b[0m", COLORS[idx % COLORS.len()])
                } else {
                    format!("{padded} |")
                }
            }
        }
    }

    fn status_word(&self, status: StepStatus) -> String {
        let word = status.as_str();
        if !self.color {
            return word.to_owned();
        }
        let code = match status {
            StepStatus::Succeeded => "32",
            StepStatus::Skipped | StepStatus::Cancelled => "33",
            _ => "31",
        };
        format!("\x1b[{code}m{word}\x1b[0m")
    }
}

/// Masks every string of a JSON value (keys are taskrun's own names).
fn mask_json(value: &mut serde_json::Value, masked: &[String]) {
    match value {
        serde_json::Value::String(s) => {
            let m = mask(s, masked);
            if m != *s {
                *s = m;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| mask_json(v, masked)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| mask_json(v, masked)),
        _ => {}
    }
}

/// Sends every event to several reporters (the screen and a run log).
pub struct Tee(pub Vec<std::sync::Arc<dyn Reporter>>);

impl Reporter for Tee {
    fn run_started(&self, run_id: &str, steps: &[String]) {
        self.0.iter().for_each(|r| r.run_started(run_id, steps));
    }
    fn run_message(&self, message: &str) {
        self.0.iter().for_each(|r| r.run_message(message));
    }
    fn step_started(&self, step: &str, attempt: u64) {
        self.0.iter().for_each(|r| r.step_started(step, attempt));
    }
    fn step_line(&self, step: &str, stream: LogStream, line: &str) {
        self.0.iter().for_each(|r| r.step_line(step, stream, line));
    }
    fn step_message(&self, step: &str, message: &str) {
        self.0.iter().for_each(|r| r.step_message(step, message));
    }
    fn step_finished(&self, result: &StepResult) {
        self.0.iter().for_each(|r| r.step_finished(result));
    }
    fn run_finished(&self, summary: &RunSummary) {
        self.0.iter().for_each(|r| r.run_finished(summary));
    }
    fn add_masked(&self, forms: &[String]) {
        self.0.iter().for_each(|r| r.add_masked(forms));
    }
}

/// `12s`, `1m05s`, `0.4s`.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 10.0 {
        format!("{secs:.1}s")
    } else if secs < 60.0 {
        format!("{}s", secs.round() as u64)
    } else {
        let total = secs.round() as u64;
        format!("{}m{:02}s", total / 60, total % 60)
    }
}

impl Reporter for RunReporter {
    fn run_started(&self, run_id: &str, steps: &[String]) {
        if let Ok(mut s) = self.steps.lock() {
            *s = steps.to_vec();
        }
        match self.mode {
            OutputMode::Json => {
                self.event(json!({"event": "run_started", "run_id": run_id, "steps": steps}))
            }
            _ => self.write(&format!(
                "Run ID: {run_id} started ({} step{})\n",
                steps.len(),
                if steps.len() == 1 { "" } else { "s" }
            )),
        }
    }

    fn run_message(&self, message: &str) {
        match self.mode {
            OutputMode::Json => self.event(json!({"event": "message", "message": message})),
            _ => self.write(&format!("{message}\n")),
        }
    }

    fn step_started(&self, step: &str, attempt: u64) {
        self.set_running(step, true);
        match self.mode {
            OutputMode::Json => {
                self.event(json!({"event": "step_started", "step": step, "attempt": attempt}));
            }
            _ => {
                if self.github && attempt == 1 {
                    self.write(&format!("::group::step {step}\n"));
                }
                let what = if attempt > 1 {
                    format!("started (attempt {attempt})")
                } else {
                    "started".to_owned()
                };
                self.write(&format!("{} {what}\n", self.prefix(step)));
            }
        }
    }

    fn step_line(&self, step: &str, stream: LogStream, line: &str) {
        match self.mode {
            OutputMode::Json => self.event(json!({
                "event": "log",
                "step": step,
                "stream": match stream { LogStream::Stdout => "stdout", LogStream::Stderr => "stderr" },
                "line": line,
            })),
            _ => self.write(&format!("{} {line}\n", self.prefix(step))),
        }
    }

    fn step_message(&self, step: &str, message: &str) {
        match self.mode {
            OutputMode::Json => {
                self.event(json!({"event": "step_message", "step": step, "message": message}));
            }
            _ => self.write(&format!("{} {message}\n", self.prefix(step))),
        }
    }

    fn step_finished(&self, result: &StepResult) {
        self.set_running(&result.id, false);
        match self.mode {
            OutputMode::Json => {
                let mut v = serde_json::to_value(result).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("event".into(), json!("step_finished"));
                }
                self.event(v);
            }
            _ => {
                let mut line = format!(
                    "{} {} after {}",
                    self.prefix(&result.id),
                    self.status_word(result.status),
                    format_duration(result.duration)
                );
                if let Some(code) = result.exit_code.filter(|c| *c != 0) {
                    line.push_str(&format!(" (exit code {code})"));
                }
                if let Some(err) = &result.error
                    && result.status != StepStatus::Skipped
                {
                    line.push_str(&format!(": {err}"));
                }
                line.push('\n');
                self.write(&line);
                if self.github && result.status != StepStatus::Skipped {
                    self.write("::endgroup::\n");
                    if matches!(result.status, StepStatus::Failed | StepStatus::TimedOut) {
                        self.write(&format!(
                            "::error title=step {}::{}\n",
                            result.id,
                            result
                                .error
                                .as_ref()
                                .map_or_else(|| "failed".to_owned(), ToString::to_string)
                        ));
                    }
                }
            }
        }
    }

    fn add_masked(&self, forms: &[String]) {
        let mut masked = self.masked.write().unwrap_or_else(|e| e.into_inner());
        for form in forms {
            if !form.is_empty() && !masked.contains(form) {
                masked.push(form.clone());
            }
        }
    }

    fn run_finished(&self, summary: &RunSummary) {
        if let Some(live) = &self.live
            && let Ok(mut l) = live.lock()
        {
            l.clear();
        }
        if self.mode == OutputMode::Json {
            let mut v = serde_json::to_value(summary).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert("event".into(), json!("run_finished"));
            }
            self.event(v);
            return;
        }
        let width = summary
            .steps
            .iter()
            .map(|s| s.id.chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        let mut out = format!(
            "\n{:<width$}  KIND   STATUS            DURATION  EXIT\n",
            "STEP"
        );
        for s in &summary.steps {
            out.push_str(&format!(
                "{:<width$}  {:<5}  {:<16}  {:>8}  {}\n",
                s.id,
                s.kind,
                s.status.as_str(),
                if s.status == StepStatus::Skipped {
                    "-".to_owned()
                } else {
                    format_duration(s.duration)
                },
                s.exit_code.map_or("-".to_owned(), |c| c.to_string()),
            ));
        }
        for s in &summary.steps {
            for p in &s.pushed {
                out.push_str(&format!("pushed {p}\n"));
            }
        }
        if !summary.dependencies.is_empty() {
            out.push_str("\nDependencies:\n");
            for d in &summary.dependencies {
                let image = d
                    .image
                    .as_ref()
                    .map_or("(untagged image)".to_owned(), |i| i.reference.clone());
                out.push_str(&format!("  {image}\n"));
                let bases = d.runtime_dependency.iter().map(|r| ("runtime", r)).chain(
                    d.buildtime_dependency
                        .iter()
                        .flatten()
                        .map(|r| ("buildtime", r)),
                );
                for (kind, r) in bases {
                    let digest = if r.digest.is_empty() {
                        "(no digest)"
                    } else {
                        &r.digest
                    };
                    out.push_str(&format!("    {kind:<9} {}  {digest}\n", r.reference));
                }
            }
            for w in &summary.dependency_warnings {
                out.push_str(&format!("warning: {w}\n"));
            }
        }
        let took = format_duration_whole(summary.duration);
        if summary.success {
            out.push_str(&format!(
                "Run ID: {} was successful after {took}\n",
                summary.run_id
            ));
        } else {
            out.push_str(&format!(
                "Run ID: {} failed after {took}{}\n",
                summary.run_id,
                summary
                    .error
                    .as_ref()
                    .map(|e| format!(". Error: {e}"))
                    .unwrap_or_default()
            ));
        }
        self.write(&out);
    }
}

/// Whole seconds, as ACR prints run durations (`after 12s`).
fn format_duration_whole(d: Duration) -> String {
    let s = d.as_secs_f64().round() as u64;
    if s < 60 {
        format!("{s}s")
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// The engine calls a dry run would make, one per line under a heading.
pub fn dry_run_calls(transcript: &[String]) -> String {
    let mut calls = String::from("\nEngine calls (dry run, nothing was executed):\n");
    for line in transcript {
        calls.push_str("  ");
        calls.push_str(line);
        calls.push('\n');
    }
    calls
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn result(id: &str, status: StepStatus) -> StepResult {
        StepResult {
            id: id.into(),
            kind: "cmd",
            status,
            duration: Duration::from_millis(1500),
            exit_code: Some(0),
            error: None,
            pushed: vec![],
            image_id: None,
            dependencies: Vec::new(),
        }
    }

    #[test]
    fn plain_lines_are_prefixed_and_masked() {
        let buf = Buf::default();
        let r = RunReporter::new(
            OutputMode::Plain,
            false,
            vec!["s3cret".into()],
            Box::new(buf.clone()),
        );
        r.run_started("ca1", &["build".into()]);
        r.step_line("build", LogStream::Stdout, "token=s3cret ok");
        r.step_finished(&result("build", StepStatus::Succeeded));
        r.run_finished(&RunSummary {
            run_id: "ca1".into(),
            success: true,
            interrupted: false,
            timed_out: false,
            duration: Duration::from_secs(12),
            steps: vec![result("build", StepStatus::Succeeded)],
            error: None,
            dependencies: Vec::new(),
            dependency_warnings: Vec::new(),
            end: crate::exec::RunEnd::Succeeded,
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("[build] token=*** ok\n"), "{text}");
        assert!(text.contains("[build] succeeded after 1.5s"), "{text}");
        assert!(
            text.contains("Run ID: ca1 was successful after 12s"),
            "{text}"
        );
        assert!(!text.contains("s3cret"));
    }

    #[test]
    fn json_events_one_per_line() {
        let buf = Buf::default();
        let r = RunReporter::new(OutputMode::Json, false, vec![], Box::new(buf.clone()));
        r.step_line("a", LogStream::Stderr, "x");
        r.step_finished(&result("a", StepStatus::Failed));
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["event"], "log");
        assert_eq!(lines[0]["stream"], "stderr");
        assert_eq!(lines[1]["event"], "step_finished");
        assert_eq!(lines[1]["status"], "failed");
        assert_eq!(lines[1]["duration"], 1.5);
    }

    #[test]
    fn json_masks_values_before_encoding() {
        let buf = Buf::default();
        let secret = "p\"a\\ss\tw\u{1}ord ✓";
        let r = RunReporter::new(
            OutputMode::Json,
            false,
            vec![secret.into(), "step".into()],
            Box::new(buf.clone()),
        );
        r.step_line("a", LogStream::Stdout, &format!("token={secret}!"));
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let event: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        // Keys are never masked, values are, and the line stays JSON.
        assert_eq!(event["line"], "token=***!");
        assert_eq!(event["stream"], "stdout");
        assert!(!text.contains("ord ✓"), "{text}");
    }

    /// A failed step and run whose typed errors carry a secret (an engine message quoting it).
    fn failing_with_secret(secret: &str) -> (StepResult, RunSummary) {
        let error = crate::exec::StepError::Engine(crate::engine::EngineError::Failed {
            operation: "push",
            subject: "reg.local/x:1".into(),
            message: format!("denied for {secret}"),
        });
        let mut step = result("a", StepStatus::Failed);
        step.exit_code = None;
        step.error = Some(error.clone());
        let summary = RunSummary {
            run_id: "ca1".into(),
            success: false,
            interrupted: false,
            timed_out: false,
            duration: Duration::from_secs(3),
            steps: vec![step.clone()],
            error: Some(crate::exec::RunError::StepFailed {
                step: "a".into(),
                error: Box::new(error),
            }),
            dependencies: Vec::new(),
            dependency_warnings: Vec::new(),
            end: crate::exec::RunEnd::StepFailed,
        };
        (step, summary)
    }

    /// What a reporter in `mode`, masking `s3cret`, writes for a step and a run that failed with
    /// an error holding it.
    fn reported_failure(mode: OutputMode) -> String {
        let buf = Buf::default();
        let r = RunReporter::new(mode, false, vec!["s3cret".into()], Box::new(buf.clone()));
        let (step, summary) = failing_with_secret("s3cret");
        r.step_finished(&step);
        r.run_finished(&summary);
        String::from_utf8(buf.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn typed_errors_are_shown_as_their_text_and_masked() {
        let text = reported_failure(OutputMode::Plain);
        assert!(
            text.contains("[a] failed after 1.5s: push `reg.local/x:1` failed: denied for ***\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "Run ID: ca1 failed after 3s. Error: failed to run step ID: a: push \
                 `reg.local/x:1` failed: denied for ***\n"
            ),
            "{text}"
        );
        assert!(!text.contains("s3cret"), "{text}");
    }

    #[test]
    fn typed_errors_are_json_strings_and_masked() {
        let text = reported_failure(OutputMode::Json);
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines[0]["error"],
            "push `reg.local/x:1` failed: denied for ***"
        );
        assert_eq!(
            lines[1]["error"],
            "failed to run step ID: a: push `reg.local/x:1` failed: denied for ***"
        );
        assert_eq!(
            lines[1]["steps"][0]["error"],
            "push `reg.local/x:1` failed: denied for ***"
        );
        assert!(!text.contains("s3cret"), "{text}");
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(Duration::from_millis(400)), "0.4s");
        assert_eq!(format_duration(Duration::from_secs(12)), "12s");
        assert_eq!(format_duration(Duration::from_secs(65)), "1m05s");
    }
}
