//! Stage 4, task → plan: the step DAG with acb's `when` rules (no `when` = after the previous
//! step; `["-"]` = at start; a list = after all of them), and its printable forms.
//!
//! Validation guarantees every dependency is an earlier step, so the graph is acyclic by
//! construction; petgraph still checks it (a bug, not bad input, would trip that check).

mod format;

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::model::{Needs, Task};

pub use format::{to_dot, to_json, to_mermaid, to_text};

/// The step graph of a validated task. Node `i` is step `i` of the task.
#[derive(Debug, Clone)]
pub struct Plan {
    graph: DiGraph<PlanStep, ()>,
}

/// What the plan knows of a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanStep {
    /// The step id.
    pub id: String,
    /// `build`, `cmd` or `push`.
    pub kind: &'static str,
    /// One-line summary of what the step does.
    pub summary: String,
    /// Whether it was written with `when: ["-"]`.
    pub at_start: bool,
}

impl Plan {
    /// The plan of a validated task.
    pub fn new(task: &Task) -> Self {
        Self::new_masked(task, &[])
    }

    /// The plan of a validated task, with the `masked` values replaced by `***` in the step
    /// summaries before they are shortened (so no part of a secret is left at the cut), and
    /// credentials written in URLs (`https://user:***@host`) masked.
    pub fn new_masked(task: &Task, masked: &[String]) -> Self {
        let mut graph = DiGraph::with_capacity(task.steps.len(), task.steps.len());
        for step in &task.steps {
            let line = |s: &str| {
                one_line(&crate::context::remote::mask_url(&crate::secrets::mask(
                    s, masked,
                )))
            };
            let summary = match &step.kind {
                crate::model::StepKind::Build(s) => line(s),
                crate::model::StepKind::Cmd(c) => line(c),
                crate::model::StepKind::Push(images) => {
                    crate::secrets::mask(&images.join(" "), masked)
                }
            };
            graph.add_node(PlanStep {
                id: step.id.clone(),
                kind: step.kind.name(),
                summary,
                at_start: step.needs == Needs::Start,
            });
        }
        for step in &task.steps {
            for &dep in &step.deps {
                if dep < step.index && step.index < graph.node_count() {
                    graph.add_edge(NodeIndex::new(dep), NodeIndex::new(step.index), ());
                }
            }
        }
        Self { graph }
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    /// Whether there are no steps.
    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    /// Step `i`.
    pub fn step(&self, i: usize) -> &PlanStep {
        &self.graph[NodeIndex::new(i)]
    }

    /// The steps step `i` waits for, in file order.
    pub fn deps(&self, i: usize) -> Vec<usize> {
        let mut d: Vec<usize> = self
            .graph
            .neighbors_directed(NodeIndex::new(i), Direction::Incoming)
            .map(NodeIndex::index)
            .collect();
        d.sort_unstable();
        d
    }

    /// The steps that wait for step `i`, in file order.
    pub fn dependants(&self, i: usize) -> Vec<usize> {
        let mut d: Vec<usize> = self
            .graph
            .neighbors_directed(NodeIndex::new(i), Direction::Outgoing)
            .map(NodeIndex::index)
            .collect();
        d.sort_unstable();
        d
    }

    /// Every edge `(from, to)`: `to` waits for `from`; sorted.
    pub fn edges(&self) -> Vec<(usize, usize)> {
        let mut e: Vec<(usize, usize)> = self
            .graph
            .raw_edges()
            .iter()
            .map(|e| (e.source().index(), e.target().index()))
            .collect();
        e.sort_unstable();
        e
    }

    /// The wave of each step: 0 for steps that start at once, else one more than the latest
    /// wave among its dependencies. Steps of one wave can run at the same time.
    pub fn waves(&self) -> Vec<usize> {
        let mut wave = vec![0usize; self.len()];
        // Dependencies always precede dependants in file order.
        for i in 0..self.len() {
            wave[i] = self.deps(i).iter().map(|&d| wave[d] + 1).max().unwrap_or(0);
        }
        wave
    }
}

fn one_line(s: &str) -> String {
    let joined = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.chars().count() > 60 {
        let cut: String = joined.chars().take(57).collect();
        format!("{cut}...")
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Step, StepKind};

    pub(crate) fn task(spec: &[(&str, Needs)]) -> Task {
        let mut steps = Vec::new();
        for (i, (id, needs)) in spec.iter().enumerate() {
            let mut s = Step::new(i, (*id).to_owned(), StepKind::Cmd(format!("img{i}").into()));
            s.deps = match needs {
                Needs::Previous => i.checked_sub(1).into_iter().collect(),
                Needs::Start => vec![],
                Needs::Steps(d) => d.clone(),
            };
            s.needs = needs.clone();
            steps.push(s);
        }
        Task {
            steps,
            ..Task::default()
        }
    }

    #[test]
    fn acb_when_rules() {
        // puller at start; C at start; B after C; build-qaz after the step before it.
        let t = task(&[
            ("puller", Needs::Start),
            ("C", Needs::Start),
            ("B", Needs::Steps(vec![1])),
            ("build-qux", Needs::Start),
            ("build-foo", Needs::Steps(vec![3])),
            ("build-qaz", Needs::Previous),
        ]);
        let p = Plan::new(&t);
        assert_eq!(p.edges(), vec![(1, 2), (3, 4), (4, 5)]);
        assert_eq!(p.waves(), vec![0, 0, 1, 0, 1, 2]);
        assert!(!petgraph::algo::is_cyclic_directed(&p.graph));
        assert_eq!(p.dependants(3), vec![4]);
    }

    #[test]
    fn sequential_by_default() {
        let t = task(&[
            ("a", Needs::Previous),
            ("b", Needs::Previous),
            ("c", Needs::Previous),
        ]);
        let p = Plan::new(&t);
        assert_eq!(p.edges(), vec![(0, 1), (1, 2)]);
        assert_eq!(p.waves(), vec![0, 1, 2]);
    }
}
