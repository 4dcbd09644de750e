//! The report an invocation ends with.

use super::RunState;
use crate::engine::result::{NodeResult, NodeStatus, RunOutcome, RunReport, RunStatus};

impl RunState<'_> {
    pub(super) fn report(&mut self, now: u64) -> RunReport {
        let graph = self.graph;
        let mut position = vec![0; graph.nodes.len()];
        for (k, &i) in graph.order.iter().enumerate() {
            position[i] = k;
        }
        // Top-level nodes in order; each loop's item steps right after it.
        let outermost = |mut node: usize| {
            while let Some(p) = graph.nodes[node].parent {
                node = p;
            }
            position[node]
        };
        let mut keyed: Vec<(ReportKey, NodeResult)> = Vec::new();
        for slot in &mut self.slots {
            if let Some(result) = slot.result.take() {
                let path = result.item_path.clone();
                keyed.push(((outermost(slot.node), path, position[slot.node]), result));
            }
        }
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        let results: Vec<NodeResult> = keyed.into_iter().map(|(_, r)| r).collect();
        let waits = self.slots.iter().filter_map(|s| s.waiting.map(|(_, wake)| wake));
        let resume_at_ms = waits.min();
        let outcome = if self.cancelled {
            RunOutcome::Cancelled
        } else if self.frames[0].open == 0 {
            RunOutcome::Finished
        } else if resume_at_ms.is_some() && !self.held_back {
            RunOutcome::Waiting
        } else {
            RunOutcome::Yielded
        };
        let error_count = results.iter().filter(|r| r.status == NodeStatus::Failed).count() as u32;
        // A run cut short failed even if no node did: not every node it
        // should have run ran.
        let success = error_count == 0 && self.stop_reason.is_none();
        RunReport {
            status: if success {
                RunStatus::Succeeded
            } else {
                RunStatus::Failed
            },
            outcome,
            success,
            error_count,
            results,
            started_at_ms: self.started_ms,
            duration_ms: now.saturating_sub(self.started_ms),
            stopped_early: self.stop_reason.is_some(),
            stop_reason: self.stop_reason.take(),
            journal_failures: self.journal_failures,
            resume_at_ms: (outcome == RunOutcome::Waiting).then_some(resume_at_ms).flatten(),
        }
    }
}

/// Where a result goes in a report: its outermost node's position, its
/// item path, its own position.
type ReportKey = (usize, Vec<u32>, usize);
