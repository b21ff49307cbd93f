//! The ready queue: a step becomes ready the moment its last dependency finishes (cargo's
//! `DependencyQueue`), not when a whole "stage" finishes. Decrement-and-test is one operation,
//! so a step can never be started twice (acb's double-start race), and duplicate `when` entries
//! were removed by validation (acb hangs on them).

use crate::plan::Plan;

/// Tracks which steps can start.
#[derive(Debug, Clone)]
pub struct ReadyQueue {
    /// Remaining unfinished dependencies per step.
    pending: Vec<usize>,
    /// Dependants per step.
    dependants: Vec<Vec<usize>>,
    /// Steps ready to start, in file order.
    ready: Vec<usize>,
    /// Steps never to start (a dependency failed).
    blocked: Vec<bool>,
    started: Vec<bool>,
}

impl ReadyQueue {
    /// A queue for `plan`; steps without dependencies are ready at once.
    pub fn new(plan: &Plan) -> Self {
        let n = plan.len();
        let pending: Vec<usize> = (0..n).map(|i| plan.deps(i).len()).collect();
        let dependants = (0..n).map(|i| plan.dependants(i)).collect();
        let ready = (0..n).filter(|&i| pending[i] == 0).collect();
        Self {
            pending,
            dependants,
            ready,
            blocked: vec![false; n],
            started: vec![false; n],
        }
    }

    /// Takes the next ready step (lowest file position first).
    pub fn pop(&mut self) -> Option<usize> {
        if self.ready.is_empty() {
            return None;
        }
        let i = self.ready.remove(0);
        self.started[i] = true;
        Some(i)
    }

    /// Marks `step` finished successfully; its dependants whose last dependency this was become
    /// ready. Returns them.
    pub fn finish(&mut self, step: usize) -> Vec<usize> {
        let mut newly = Vec::new();
        for &d in &self.dependants[step] {
            self.pending[d] = self.pending[d].saturating_sub(1);
            if self.pending[d] == 0 && !self.blocked[d] && !self.started[d] {
                newly.push(d);
            }
        }
        self.ready.extend(&newly);
        self.ready.sort_unstable();
        self.ready.dedup();
        newly
    }

    /// Marks `step` failed: every transitive dependant is blocked and never becomes ready.
    /// Returns the blocked steps in file order.
    pub fn fail(&mut self, step: usize) -> Vec<usize> {
        let mut stack = vec![step];
        let mut out = Vec::new();
        while let Some(s) = stack.pop() {
            for &d in &self.dependants[s] {
                if !self.blocked[d] {
                    self.blocked[d] = true;
                    out.push(d);
                    stack.push(d);
                }
            }
        }
        self.ready.retain(|r| !self.blocked[*r]);
        out.sort_unstable();
        out
    }

    /// Steps never started, in file order.
    pub fn not_started(&self) -> Vec<usize> {
        (0..self.started.len())
            .filter(|&i| !self.started[i])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Needs, Step, StepKind, Task};

    fn plan(deps: &[&[usize]]) -> Plan {
        let steps = deps
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let mut s = Step::new(i, format!("s{i}"), StepKind::Cmd("x".into()));
                s.deps = d.to_vec();
                s.needs = Needs::Steps(d.to_vec());
                s
            })
            .collect();
        Plan::new(&Task {
            steps,
            ..Task::default()
        })
    }

    #[test]
    fn diamond_starts_join_once_after_both() {
        let mut q = ReadyQueue::new(&plan(&[&[], &[0], &[0], &[1, 2]]));
        assert_eq!(q.pop(), Some(0));
        assert_eq!(q.pop(), None);
        assert_eq!(q.finish(0), vec![1, 2]);
        assert_eq!(q.pop(), Some(1));
        assert_eq!(q.pop(), Some(2));
        assert!(q.finish(1).is_empty());
        assert_eq!(q.finish(2), vec![3]);
        assert_eq!(q.pop(), Some(3));
        assert!(q.not_started().is_empty());
    }

    #[test]
    fn failure_blocks_transitive_dependants() {
        let mut q = ReadyQueue::new(&plan(&[&[], &[0], &[1], &[]]));
        assert_eq!(q.pop(), Some(0));
        assert_eq!(q.pop(), Some(3));
        assert_eq!(q.fail(0), vec![1, 2]);
        assert_eq!(q.pop(), None);
        assert_eq!(q.not_started(), vec![1, 2]);
    }
}
