//! When step containers are made ahead of their steps: as soon as every step a `cmd` step
//! depends on has *started* (the first steps: while the workspace is being filled), and also
//! when the step is among the next [`LOOKAHEAD`] steps not started yet (so that a chain of
//! short steps keeps a few containers ready). This module decides *when* from the plan and tells
//! the engine ([`Engine::expect_container`]); what is made, and how (created, or started held at
//! the gate), is the engine's: see `engine::ahead`. An engine that does not make containers
//! ahead (the fake of `--dry-run`) ignores the hint. Steps that pull, run detached or need the
//! agent's shell are not announced. The executor waits for every announcement before its
//! cleanup, so a container made for a step that never runs is removed with the rest.

use std::collections::HashSet;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::engine::Engine;
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

/// Tracks which steps to create containers for, and the creations in flight.
pub(crate) struct Precreator {
    /// Dependencies of each step that have not started yet.
    unstarted: Vec<usize>,
    dependants: Vec<Vec<usize>>,
    started: Vec<bool>,
    /// Steps announced and not started yet.
    waiting: HashSet<usize>,
    /// The first step the lookahead has not dealt with yet.
    cursor: usize,
    /// Containers of the first steps (due at once) still being made: the others wait for
    /// them, so that starting containers for later steps does not delay the steps that are due.
    due: Arc<watch::Sender<usize>>,
    creations: JoinSet<()>,
}

impl Precreator {
    pub(crate) fn new(plan: &Plan) -> Self {
        let n = plan.len();
        Self {
            unstarted: (0..n).map(|i| plan.deps(i).len()).collect(),
            dependants: (0..n).map(|i| plan.dependants(i)).collect(),
            started: vec![false; n],
            waiting: HashSet::new(),
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

    /// Step `i` starts: the containers of the steps whose every dependency has now started are
    /// announced.
    pub(crate) fn start<E: Engine>(&mut self, i: usize, task: &Arc<Task>, ctx: &StepContext<E>) {
        self.started[i] = true;
        self.waiting.remove(&i);
        for d in self.dependants[i].clone() {
            self.unstarted[d] = self.unstarted[d].saturating_sub(1);
            if self.unstarted[d] == 0 {
                self.create(d, task, ctx, false);
            }
        }
        self.look_ahead(task, ctx);
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
        if self.started[i] || self.waiting.contains(&i) {
            return Made::Yes;
        }
        if self.waiting.len() >= MAX_WAITING {
            return Made::Full;
        }
        let Some(spec) = step::precreate_spec(ctx, &task.steps[i]) else {
            return Made::NotApplicable;
        };
        // Announced now, before the step can start: its `run` then waits for the container
        // even when making it waits below.
        let announced = ctx.engine.expect_container(&spec);
        let in_flight = Arc::clone(&self.due);
        if due {
            in_flight.send_modify(|n| *n += 1);
        }
        self.creations.spawn(async move {
            if !due {
                let _ = in_flight.subscribe().wait_for(|n| *n == 0).await;
            }
            announced.await;
            if due {
                in_flight.send_modify(|n| *n -= 1);
            }
        });
        self.waiting.insert(i);
        Made::Yes
    }

    /// Waits for every creation, so that the cleanup that follows sees all containers.
    pub(crate) async fn finish(&mut self) {
        self.waiting.clear();
        while self.creations.join_next().await.is_some() {}
    }
}
