//! What one invocation of a run may spend, and the ledger that keeps it
//! inside: outbound calls counted before they are made, so an action that
//! starts can always finish and be journaled.

use super::retry::RetryPolicy;

/// What one invocation may spend before it yields, so a run longer than a
/// Worker invocation continues in the next one.
///
/// An action starts only if what is already spent or promised, plus its own
/// worst case (`retry.max_attempts` calls and the journal batch of its
/// result), plus one spare batch (for what a cancel settles) still fits in
/// `max_calls`. Each journal batch counts [`JOURNAL_BATCH_CALLS`]. So a
/// started action can always finish and be journaled within the budget. An
/// invocation that has started nothing yet may always start one action,
/// so a run progresses even on a budget too small for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Outbound calls this invocation may make: action attempts (retries
    /// included) and journal writes.
    pub max_calls: u32,
    /// No new action starts once this many ms have passed since the
    /// invocation started; actions in flight finish.
    pub wall_ms: u64,
}

impl Budget {
    /// No budget: the run goes until it finishes (or hits `max_run_ms`).
    pub fn unlimited() -> Self {
        Self {
            max_calls: u32::MAX,
            wall_ms: u64::MAX,
        }
    }
}

/// Calls one journal batch may take: its write and the one retry the driver allows.
pub const JOURNAL_BATCH_CALLS: u32 = 2;

/// The worst case of one action: every attempt, and the batch of its result.
pub(crate) fn action_cost(retry: &RetryPolicy) -> u32 {
    retry.max_attempts.max(1).saturating_add(JOURNAL_BATCH_CALLS)
}

/// Calls of one invocation: spent (attempts made, batches written) and
/// promised to the actions in flight.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ledger {
    spent: u32,
    reserved: u32,
}

impl Ledger {
    /// Whether an action costing `cost` fits in `max_calls`, counting a
    /// batch about to be written (`batch_due`) and keeping a spare batch.
    pub fn fits(&self, cost: u32, batch_due: bool, max_calls: u32) -> bool {
        let due = if batch_due { JOURNAL_BATCH_CALLS } else { 0 };
        [self.spent, self.reserved, due, cost, JOURNAL_BATCH_CALLS]
            .into_iter()
            .fold(0u32, u32::saturating_add)
            <= max_calls
    }

    /// An action started: promise it `cost` calls.
    pub fn reserve(&mut self, cost: u32) {
        self.reserved = self.reserved.saturating_add(cost);
    }

    /// An action ended: what was promised to it becomes the attempts it made.
    pub fn land(&mut self, reserved: u32, attempts: u32) {
        self.reserved = self.reserved.saturating_sub(reserved);
        self.spent = self.spent.saturating_add(attempts);
    }

    /// A journal batch went out.
    pub fn batch(&mut self) {
        self.spent = self.spent.saturating_add(JOURNAL_BATCH_CALLS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            backoff_ms: 0,
            max_delay_ms: 0,
        }
    }

    #[test]
    fn an_action_costs_its_attempts_and_a_batch() {
        assert_eq!(action_cost(&policy(1)), 3);
        assert_eq!(action_cost(&policy(0)), 3, "at least one attempt");
        assert_eq!(action_cost(&policy(5)), 7);
    }

    #[test]
    fn a_landed_action_trades_its_promise_for_the_calls_it_made() {
        let mut ledger = Ledger::default();
        ledger.reserve(7);
        assert!(ledger.fits(3, false, 12) && !ledger.fits(3, true, 13));
        ledger.land(7, 2);
        ledger.batch();
        // spent 4, nothing promised: 4 + 3 + a spare 2.
        assert!(ledger.fits(3, false, 9) && !ledger.fits(3, false, 8));
        assert!(Ledger::default().fits(u32::MAX, true, u32::MAX), "saturates");
    }
}
