//! The text of `taskrun task …` output: a task definition, the task list and the run list,
//! as tables or JSON. `--set-secret` values are never shown (`KEY=***`).

use crate::store::{RunRecord, TaskDef};

/// Table or JSON output of `task` commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum TableFormat {
    /// A table.
    #[default]
    Table,
    /// JSON, for scripts.
    Json,
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}

fn task_json(t: &TaskDef) -> serde_json::Value {
    serde_json::json!({
        "name": t.name,
        "file": t.file,
        "context": t.context.as_deref().map(crate::context::remote::mask_url),
        "valuesFile": t.values_file,
        "set": t.set.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
        "setSecret": t.set_secret.iter().map(|(k, _)| format!("{k}=***")).collect::<Vec<_>>(),
        "registry": t.registry,
        "baseImageTriggerEnabled": t.base_image_trigger_enabled,
        "baseImageTriggerType": t.base_image_trigger_type.to_string(),
        "schedules": t.schedules,
        "commitTriggerEnabled": t.commit_trigger_enabled,
        "timeout": t.timeout_secs,
        "created": t.created.to_rfc3339(),
        "updated": t.updated.to_rfc3339(),
    })
}

/// One task definition (`task create`, `update`, `show`): `key value` lines, or JSON.
pub fn task(t: &TaskDef, format: TableFormat) -> String {
    let v = task_json(t);
    if format == TableFormat::Json {
        return pretty(&v);
    }
    let mut out = String::new();
    if let Some(o) = v.as_object() {
        for (k, val) in o {
            let shown = match val {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "-".to_owned(),
                other => other.to_string(),
            };
            out.push_str(&format!("{k:<24} {shown}\n"));
        }
    }
    out
}

/// The task list (`task list`).
pub fn task_list(tasks: &[TaskDef], format: TableFormat) -> String {
    if format == TableFormat::Json {
        return pretty(&serde_json::Value::Array(
            tasks.iter().map(task_json).collect(),
        ));
    }
    let mut out = format!(
        "{:<24} {:<8} {:<12} {:<9} {}\n",
        "NAME", "TRIGGER", "BASE IMAGE", "TIMEOUT", "FILE"
    );
    for t in tasks {
        out.push_str(&format!(
            "{:<24} {:<8} {:<12} {:<9} {}\n",
            t.name,
            if t.commit_trigger_enabled {
                "Commit"
            } else {
                "-"
            },
            if t.base_image_trigger_enabled {
                t.base_image_trigger_type.to_string()
            } else {
                "-".to_owned()
            },
            t.timeout_secs,
            t.file
        ));
    }
    out
}

/// The run list (`task list-runs`), as `az acr task list-runs` shows it.
pub fn run_list(runs: &[RunRecord], format: TableFormat) -> String {
    if format == TableFormat::Json {
        return pretty(&serde_json::Value::Array(
            runs.iter()
                .map(|r| {
                    serde_json::json!({
                        "runId": r.id,
                        "task": r.task,
                        "platform": r.platform,
                        "status": r.status.to_string(),
                        "trigger": r.trigger.to_string(),
                        "started": r.started.to_rfc3339(),
                        "finished": r.finished.map(|f| f.to_rfc3339()),
                        "duration": r.duration().map(|d| d.num_seconds()),
                    })
                })
                .collect(),
        ));
    }
    let row = |cells: [&str; 7]| {
        format!(
            "{:<8} {:<20} {:<10} {:<10} {:<13} {:<22} {}\n",
            cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6]
        )
    };
    let mut out = row([
        "RUN ID", "TASK", "PLATFORM", "STATUS", "TRIGGER", "STARTED", "DURATION",
    ]);
    out.push_str(&row([
        &"-".repeat(8),
        &"-".repeat(20),
        &"-".repeat(10),
        &"-".repeat(10),
        &"-".repeat(13),
        &"-".repeat(22),
        &"-".repeat(10),
    ]));
    for r in runs {
        let duration = r.duration().map_or(String::new(), |d| {
            let s = d.num_seconds();
            format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
        });
        out.push_str(&row([
            &r.id,
            r.task.as_deref().unwrap_or(""),
            &r.platform,
            &r.status.to_string(),
            &r.trigger.to_string(),
            &r.started.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            &duration,
        ]));
    }
    out
}
