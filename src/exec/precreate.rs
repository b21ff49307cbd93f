//! Containers created ahead of their steps. Creating a container costs an engine round trip
//! of 20–70 ms; starting it is the only work that has to wait for the step's dependencies. So a
//! `cmd` step's container is created as soon as every step it depends on has *started* (the
//! first steps: while the workspace is being filled), and the step starts it when it is due.
//!
//! Nothing changes for the step: it checks, when it starts, that its image tag still names the
//! image the container was created from (an earlier step may have rebuilt it), and creates a new
//! container otherwise. Steps that pull, run detached, need another platform, or whose image is
//! not on the engine yet are created when they start, as before. Every container made here
//! carries the run's labels, and the executor waits for all creations before its cleanup, so
//! one made for a step that never runs is removed with the rest.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;
use tokio::task::JoinSet;

use crate::engine::{CreatedContainer, Engine};
use crate::exec::step::{self, StepContext};
use crate::model::Task;
use crate::plan::Plan;

/// Created-but-unstarted containers at most (a wide task with `--max-parallel` would otherwise
/// create every container at once).
const MAX_WAITING: usize = 16;

/// The container created for a step, handed to the step when it starts.
pub(crate) type Precreated = oneshot::Receiver<Option<CreatedContainer>>;

/// What a step task holds: its pre-created container, if one is being made.
#[derive(Default)]
pub(crate) struct Slot(Mutex<Option<Precreated>>);

impl Slot {
    pub(crate) fn new(rx: Option<Precreated>) -> Self {
        Self(Mutex::new(rx))
    }

    /// The pre-created container (once; later calls get `None`).
    pub(crate) async fn take(&self) -> Option<CreatedContainer> {
        let rx = self.0.lock().ok()?.take()?;
        rx.await.ok().flatten()
    }
}

/// Tracks which steps to create containers for, and the creations in flight.
pub(crate) struct Precreator {
    enabled: bool,
    /// Dependencies of each step that have not started yet.
    unstarted: Vec<usize>,
    dependants: Vec<Vec<usize>>,
    started: Vec<bool>,
    waiting: HashMap<usize, Precreated>,
    creations: JoinSet<()>,
}

impl Precreator {
    pub(crate) fn new(plan: &Plan, enabled: bool) -> Self {
        let n = plan.len();
        Self {
            enabled,
            unstarted: (0..n).map(|i| plan.deps(i).len()).collect(),
            dependants: (0..n).map(|i| plan.dependants(i)).collect(),
            started: vec![false; n],
            waiting: HashMap::new(),
            creations: JoinSet::new(),
        }
    }

    /// Creates the containers of the steps that depend on nothing.
    pub(crate) fn begin<E: Engine>(&mut self, task: &Arc<Task>, ctx: &StepContext<E>) {
        let first: Vec<usize> = (0..self.unstarted.len())
            .filter(|&i| self.unstarted[i] == 0)
            .collect();
        for i in first {
            self.create(i, task, ctx);
        }
    }

    /// Step `i` starts: returns its container (if one is being made), and creates those of the
    /// steps whose every dependency has now started.
    pub(crate) fn start<E: Engine>(
        &mut self,
        i: usize,
        task: &Arc<Task>,
        ctx: &StepContext<E>,
    ) -> Slot {
        self.started[i] = true;
        let mine = self.waiting.remove(&i);
        for d in self.dependants[i].clone() {
            self.unstarted[d] = self.unstarted[d].saturating_sub(1);
            if self.unstarted[d] == 0 {
                self.create(d, task, ctx);
            }
        }
        Slot::new(mine)
    }

    fn create<E: Engine>(&mut self, i: usize, task: &Arc<Task>, ctx: &StepContext<E>) {
        if !self.enabled
            || self.started[i]
            || self.waiting.contains_key(&i)
            || self.waiting.len() >= MAX_WAITING
        {
            return;
        }
        let Some(spec) = step::precreate_spec(ctx, &task.steps[i]) else {
            return;
        };
        let (tx, rx) = oneshot::channel();
        let engine = ctx.engine.clone();
        self.creations.spawn(async move {
            // A failure here is not reported: the step creates its container itself when it
            // starts, and reports what goes wrong then.
            let created = engine.create_container(&spec).await.ok().flatten();
            let _ = tx.send(created);
        });
        self.waiting.insert(i, rx);
    }

    /// Waits for every creation, so that the cleanup that follows sees all containers.
    pub(crate) async fn finish(&mut self) {
        self.waiting.clear();
        while self.creations.join_next().await.is_some() {}
    }
}
