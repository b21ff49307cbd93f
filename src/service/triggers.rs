//! The triggers of the local ACR Tasks service, behind `taskrun serve [--interval SECS]
//! [--once]`. Each [`cycle`]:
//! - **base-image update**: every distinct base image recorded by task runs is resolved once
//!   (whatever the number of tasks using it); a tag whose digest changed fires the tasks whose
//!   trigger covers it (`Runtime`: their runtime image; `All`: any), trigger `Image Update`.
//!   A task that never completed a run has no recorded images, so it is never fired. For a
//!   multi-arch tag only the build platform's manifest counts, also when the run recorded
//!   only the index digest (the recorded index's entry for the platform is looked up by digest).
//! - **push by another task**: when a triggered or manual run pushes an image that other tasks
//!   depend on, they fire at once, in the same cycle, without waiting for a poll (as ACR does
//!   for its own registries).
//! - **timer**: each `--schedule` (5-field cron, UTC) fires trigger `Timer` when an occurrence
//!   falls between the last check and now (the first cycle only records the time).
//! - **commit**: a new commit on the context's git branch fires trigger `Commit` (the first cycle
//!   only records the commit): a local repository's branch is read with `git rev-parse`, a git
//!   URL's reference is polled with `git ls-remote` (see `service::commits`).
//!
//! Runs of one task never overlap: they run one after another, and a task is queued once per
//! cycle. A registry that cannot be reached is reported and skipped; it never stops the others.
//!
//! Ctrl-C or SIGTERM stops the loop (exit 130): between cycles at once; during a run, the run is
//! interrupted as any run is (and recorded `Canceled`), and the loop stops after that cycle.

use std::collections::{BTreeSet, VecDeque};
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::run::{TaskRunRequest, record_digest, run_task};
use crate::ops::{ExitStatus, runtime};
use crate::registry::Credentials;
use crate::registry::digest::{Platform, ResolveOptions, Resolver};
use crate::registry::reference::registry_of;
use crate::report::Printer;
use crate::store::{RunTrigger, Store, TaskDef, now};

/// What `serve` asks for.
#[derive(Debug, Clone, Default)]
pub struct ServeRequest {
    /// Time between cycles (at least a second).
    pub interval: Duration,
    /// One cycle, then return.
    pub once: bool,
    /// Registry hosts reached over plain HTTP (besides local ones).
    pub insecure_registries: Vec<String>,
}

/// Runs the trigger loop (one cycle with `once`); returns after one cycle with `once`, on
/// Ctrl-C or SIGTERM, or when the async runtime cannot start.
pub fn serve(store: &Store, request: &ServeRequest, printer: &Printer) -> ExitStatus {
    let Some(runtime) = runtime::new(runtime::Threads::One, printer) else {
        return ExitStatus::Environment;
    };
    // Listened to for the whole loop: a signal that comes during a cycle (its run is interrupted
    // by the run's own handler) is still seen when the cycle ends. Without this, the handler a
    // run installs would swallow every Ctrl-C once the first run is over. `task cancel-run`
    // sends another signal, which only cancels its run.
    let stop = crate::signals::Mark::now();
    let resolver = Resolver::new(ResolveOptions {
        insecure_registries: request.insecure_registries.clone(),
        platform: Platform::host(),
    });
    let credentials = Credentials::load(&[]).unwrap_or_default();
    loop {
        super::reap_orphans(store, printer);
        cycle(store, &runtime, &resolver, &credentials, stop, printer);
        if request.once {
            return ExitStatus::Success;
        }
        let pause = request.interval.max(Duration::from_secs(1));
        let stopped = runtime.block_on(async {
            tokio::select! {
                biased;
                () = stop.wait_stopped() => true,
                () = tokio::time::sleep(pause) => false,
            }
        });
        if stopped {
            printer.status("serve: stopped (Ctrl-C or SIGTERM)");
            return ExitStatus::Interrupted;
        }
    }
}

/// One pass over every trigger; runs what fired (and what their pushes fire) before returning.
/// Once Ctrl-C or SIGTERM came (since `stop`), no further run is started.
pub fn cycle(
    store: &Store,
    runtime: &tokio::runtime::Runtime,
    resolver: &Resolver,
    credentials: &Credentials,
    stop: crate::signals::Mark,
    printer: &Printer,
) {
    let tasks = match store.list_tasks() {
        Ok(t) => t,
        Err(e) => {
            printer.status(&format!("serve: cannot list tasks: {e}"));
            return;
        }
    };
    let mut queue: VecDeque<(String, RunTrigger)> = VecDeque::new();
    for (task, trigger) in base_image_updates(store, runtime, resolver, credentials, printer) {
        queue.push_back((task, trigger));
    }
    let time = now();
    for t in &tasks {
        if timer_fired(store, t, time) {
            queue.push_back((t.name.clone(), RunTrigger::Timer));
        }
        if commit_changed(store, t, printer) {
            queue.push_back((t.name.clone(), RunTrigger::Commit));
        }
    }
    if queue.is_empty() {
        // Say what was looked at, so a quiet cycle is not mistaken for a broken one.
        let images = store
            .distinct_tracked_images()
            .map(|i| i.len())
            .unwrap_or_default();
        let timers = tasks.iter().filter(|t| !t.schedules.is_empty()).count();
        let commits = tasks.iter().filter(|t| t.commit_trigger_enabled).count();
        printer.status(&format!(
            "serve: checked {} task(s): {images} base image(s), {timers} timer and {commits} \
             commit trigger(s); nothing changed, nothing to run",
            tasks.len()
        ));
        return;
    }
    let mut done: BTreeSet<String> = BTreeSet::new();
    while let Some((task, trigger)) = queue.pop_front() {
        // Runs never overlap (they are sequential), and a task runs once per cycle.
        if !done.insert(task.clone()) {
            continue;
        }
        if stop.stopped() {
            printer.status(&format!(
                "serve: stopping; task {task} (trigger {trigger}) and what is queued after it \
                 are not run"
            ));
            return;
        }
        printer.status(&format!("serve: running task {task} (trigger {trigger})"));
        let request = TaskRunRequest {
            name: task.clone(),
            output: Some(crate::report::run::OutputMode::Plain),
            ..TaskRunRequest::default()
        };
        let outcome = run_task(store, &request, trigger, printer);
        let Some(summary) = outcome.summary.filter(|s| s.success) else {
            continue;
        };
        // Images this run pushed: record their digests and fire their dependants now.
        for step in &summary.steps {
            for pushed in &step.pushed {
                let Some((image, digest)) = pushed.split_once('@') else {
                    continue;
                };
                let Ok(r) = crate::deps::reference::parse(image) else {
                    continue;
                };
                let previous = store
                    .get_digest(&r.docker_name, None)
                    .ok()
                    .flatten()
                    .map(|d| d.digest);
                record_digest(store, &r.docker_name, digest);
                if previous.as_deref() == Some(digest) {
                    continue;
                }
                for dependant in store.tasks_triggered_by(&r.docker_name).unwrap_or_default() {
                    if dependant != task && has_completed(store, &dependant) {
                        queue.push_back((dependant, RunTrigger::ImageUpdate));
                    }
                }
            }
        }
    }
}

fn has_completed(store: &Store, task: &str) -> bool {
    store.has_completed_run(task).unwrap_or(false)
}

/// Resolves each distinct tracked image once and returns the tasks to fire.
fn base_image_updates(
    store: &Store,
    runtime: &tokio::runtime::Runtime,
    resolver: &Resolver,
    credentials: &Credentials,
    printer: &Printer,
) -> Vec<(String, RunTrigger)> {
    let images = store.distinct_tracked_images().unwrap_or_default();
    let mut fired = Vec::new();
    for image in images {
        let auth = credentials.for_registry(registry_of(&image));
        let resolved = match runtime.block_on(resolver.resolve(&image, auth.as_ref())) {
            Ok(r) => r,
            Err(e) => {
                printer.status(&format!("serve: cannot check {image}: {e}"));
                continue;
            }
        };
        let recorded = store.get_digest(&image, None).ok().flatten();
        let changed = match &recorded {
            None => false,
            Some(rec) if rec.digest == resolved.digest => false,
            Some(rec) => match (&rec.platform_digest, &resolved.platform_digest) {
                // A multi-arch tag: only this platform's manifest counts.
                (Some(old), Some(new)) => old != new,
                // A run recorded what the engine pulled (the index digest, with no platform
                // entry): compare this platform's entry of that recorded index.
                (None, Some(new)) => {
                    rec.digest != *new
                        && recorded_platform_digest(runtime, resolver, credentials, &image, rec)
                            .is_none_or(|old| old != *new)
                }
                _ => true,
            },
        };
        // The platform-independent record is the one runs write and this reads; it keeps this
        // platform's entry of an index so that the next cycle compares entries directly.
        let _ = store.record_digest(&crate::store::BaseImageRecord {
            image: image.clone(),
            digest: resolved.digest.clone(),
            platform: None,
            platform_digest: resolved.platform_digest.clone(),
            checked: now(),
        });
        if changed {
            // ACR builds on a fresh agent; here the engine keeps images, so the new base is
            // pulled before the dependants rebuild (otherwise a build without `--pull` would
            // use the engine's stale copy and record the old digest).
            let pulled = runtime.block_on(async {
                let engine = crate::engine::docker::DockerEngine::connect().await?;
                crate::engine::Engine::pull(
                    &engine,
                    &image,
                    auth.as_ref(),
                    std::sync::Arc::new(crate::engine::NullSink),
                )
                .await
            });
            if let Err(e) = pulled {
                printer.status(&format!("serve: cannot pull the new {image}: {e}"));
            }
            for task in store.tasks_triggered_by(&image).unwrap_or_default() {
                if has_completed(store, &task) {
                    printer.status(&format!("serve: {image} changed; firing {task}"));
                    fired.push((task, RunTrigger::ImageUpdate));
                }
            }
        }
    }
    fired
}

/// This platform's manifest digest in the index `rec.digest` that a run recorded for `image`
/// (resolved by digest, `repo@sha256:…`); `None` when it cannot be found (then the tag counts as
/// changed).
fn recorded_platform_digest(
    runtime: &tokio::runtime::Runtime,
    resolver: &Resolver,
    credentials: &Credentials,
    image: &str,
    rec: &crate::store::BaseImageRecord,
) -> Option<String> {
    let name = image.split_once('@').map_or(image, |(n, _)| n);
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let repo = match name[last_slash..].rfind(':') {
        Some(i) => &name[..last_slash + i],
        None => name,
    };
    let pinned = format!("{repo}@{}", rec.digest);
    let auth = credentials.for_registry(registry_of(image));
    runtime
        .block_on(resolver.resolve(&pinned, auth.as_ref()))
        .ok()
        .filter(|r| r.is_index)
        .and_then(|r| r.platform_digest)
}

/// Whether a schedule of the task has an occurrence since the last check (then records now).
fn timer_fired(store: &Store, task: &TaskDef, time: DateTime<Utc>) -> bool {
    let mut fired = false;
    for schedule in &task.schedules {
        let key = format!("timer:{schedule}");
        let last = store
            .get_task_state(&task.name, &key)
            .ok()
            .flatten()
            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|d| d.with_timezone(&Utc));
        let _ = store.set_task_state(&task.name, &key, &time.to_rfc3339());
        let (Some(last), Ok(cron)) = (last, croner::Cron::from_str(schedule)) else {
            continue;
        };
        if let Ok(next) = cron.find_next_occurrence(&last, false)
            && next <= time
        {
            fired = true;
        }
    }
    fired
}

/// Whether the task's git context has a new commit since the last check (then records it).
fn commit_changed(store: &Store, task: &TaskDef, printer: &Printer) -> bool {
    if !task.commit_trigger_enabled || task.context.is_none() {
        return false;
    }
    let head = match super::commits::current_commit(task) {
        Ok(Some(head)) => head,
        Ok(None) => return false,
        Err(e) => {
            printer.status(&format!(
                "serve: cannot check the commit of task {}: {e}",
                task.name
            ));
            return false;
        }
    };
    let last = store.get_task_state(&task.name, "commit").ok().flatten();
    let _ = store.set_task_state(&task.name, "commit", &head);
    last.is_some_and(|l| l != head)
}
