//! Containers created, and started, ahead of their steps. Creating a container costs an engine
//! round trip of 20–70 ms and starting it 0.25–0.4 s; neither has to wait for the step's
//! dependencies. So a `cmd` step's container is made as soon as every step it depends on has
//! *started* (the first steps: while the workspace is being filled), and also when the step is
//! among the next [`LOOKAHEAD`] steps not started yet (so that a chain of short steps keeps a
//! few containers ready). Where the engine allows it (see `engine::gate`), the container is
//! started too, its process held at the gate, and the step only releases it when it is due;
//! otherwise the step starts it.
//!
//! Nothing changes for the step: it checks, when it starts, that its image tag still names the
//! image the container was created from (an earlier step may have rebuilt it), and creates a new
//! container otherwise. Steps that pull, run detached, need another platform, or whose image is
//! not on the engine yet are created when they start, as before. Every container made here
//! carries the run's labels, and the executor waits for all creations before its cleanup, so
//! one made for a step that never runs is removed with the rest.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;

use crate::engine::{CreatedContainer, Engine};
use crate::exec::step::{self, StepContext};
use crate::model::Task;
use crate::plan::Plan;

/// Containers made ahead and not taken by their steps yet, at most (a wide task with
/// `--max-parallel` would otherwise create every container at once).
const MAX_WAITING: usize = 16;

/// How many of the next steps (in file order, which is a topological order) have their
/// containers made ahead whatever their dependencies. Measured on 2 cores (docs/benchmarks.md):
/// enough to keep the engine starting containers while a chain of short steps runs, few enough
/// not to slow the running steps.
const LOOKAHEAD: usize = 3;

/// Why a step's container was not made.
#[derive(PartialEq, Eq)]
enum Made {
    /// It is being made (or was, or the step has started).
    Yes,
    /// The step has no container to make ahead (not a plain `cmd` step).
    NotApplicable,
    /// [`MAX_WAITING`] are waiting already.
    Full,
}

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
    /// The first step the lookahead has not dealt with yet.
    cursor: usize,
    /// Containers of the first steps (due at once) still being made: the others wait for
    /// them, so that starting containers for later steps does not delay the steps that are due.
    due: Arc<watch::Sender<usize>>,
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
            cursor: 0,
            due: Arc::new(watch::Sender::new(0)),
            creations: JoinSet::new(),
        }
    }

    /// Creates the containers of the steps that depend on nothing.
    pub(crate) fn begin<E: Engine>(&mut self, task: &Arc<Task>, ctx: &StepContext<E>) {
        let first: Vec<usize> = (0..self.unstarted.len())
            .filter(|&i| self.unstarted[i] == 0)
            .collect();
        for i in first {
            self.create(i, task, ctx, true);
        }
        self.look_ahead(task, ctx);
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
                self.create(d, task, ctx, false);
            }
        }
        self.look_ahead(task, ctx);
        Slot::new(mine)
    }

    /// Makes the containers of the next [`LOOKAHEAD`] steps not started yet.
    fn look_ahead<E: Engine>(&mut self, task: &Arc<Task>, ctx: &StepContext<E>) {
        let mut ahead = 0;
        let mut i = self.cursor;
        while ahead < LOOKAHEAD && i < self.started.len() {
            if !self.started[i] {
                match self.create(i, task, ctx, false) {
                    Made::Yes => ahead += 1,
                    Made::NotApplicable => {}
                    Made::Full => break,
                }
            }
            i += 1;
            if ahead == 0 {
                // Everything before `i` has started or needs nothing made.
                self.cursor = i;
            }
        }
    }

    /// Makes step `i`'s container; `due`: the step starts at once (one of the first steps).
    fn create<E: Engine>(
        &mut self,
        i: usize,
        task: &Arc<Task>,
        ctx: &StepContext<E>,
        due: bool,
    ) -> Made {
        if !self.enabled {
            return Made::NotApplicable;
        }
        if self.started[i] || self.waiting.contains_key(&i) {
            return Made::Yes;
        }
        if self.waiting.len() >= MAX_WAITING {
            return Made::Full;
        }
        let Some(spec) = step::precreate_spec(ctx, &task.steps[i]) else {
            return Made::NotApplicable;
        };
        let (tx, rx) = oneshot::channel();
        let engine = ctx.engine.clone();
        let gate = ctx.env.gate.clone();
        let in_flight = Arc::clone(&self.due);
        if due {
            in_flight.send_modify(|n| *n += 1);
        }
        self.creations.spawn(async move {
            if !due {
                let _ = in_flight.subscribe().wait_for(|n| *n == 0).await;
            }
            // A failure here is not reported: the step creates its container itself when it
            // starts, and reports what goes wrong then.
            let created = engine
                .create_container(&spec, gate.as_deref())
                .await
                .ok()
                .flatten();
            if due {
                in_flight.send_modify(|n| *n -= 1);
            }
            let _ = tx.send(created);
        });
        self.waiting.insert(i, rx);
        Made::Yes
    }

    /// Waits for every creation, so that the cleanup that follows sees all containers.
    pub(crate) async fn finish(&mut self) {
        self.waiting.clear();
        while self.creations.join_next().await.is_some() {}
    }
}
