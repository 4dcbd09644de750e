//! Retry policy as data, and the pure backoff schedule with deterministic jitter.

/// How often and how patiently one action node is retried. Only
/// `ActionError::Retryable` failures (and timeouts) are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, first call included (1 = no retry).
    pub max_attempts: u32,
    /// Base delay before the first retry; doubles for each later retry.
    pub backoff_ms: u64,
    /// Ceiling of one computed delay.
    pub max_delay_ms: u64,
}

impl RetryPolicy {
    /// The delay to wait after failed attempt `attempt` (1-based) before the
    /// next one: `backoff_ms * 2^(attempt-1)`, capped at `max_delay_ms`, then
    /// "equal jitter" (half fixed, half pseudo-random). The random half comes
    /// from a hash of execution id, node id and attempt, so a run's schedule
    /// is reproducible while different runs and nodes spread out.
    pub fn delay_ms(&self, attempt: u32, execution_id: &str, node_id: &str) -> u64 {
        let base = self.base_delay_ms(attempt);
        let half = base / 2;
        let spread = base - half;
        half + seeded_random(execution_id, node_id, attempt) % (spread + 1)
    }

    /// The delay before jitter.
    pub fn base_delay_ms(&self, attempt: u32) -> u64 {
        let exp = attempt.saturating_sub(1).min(32);
        self.backoff_ms.saturating_mul(1u64 << exp).min(self.max_delay_ms)
    }
}

/// FNV-1a over the inputs, finished with SplitMix64 for good low bits.
fn seeded_random(execution_id: &str, node_id: &str, attempt: u32) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = execution_id
        .bytes()
        .chain([0u8])
        .chain(node_id.bytes())
        .chain([0u8])
        .chain(attempt.to_le_bytes());
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 5,
        backoff_ms: 500,
        max_delay_ms: 30_000,
    };

    #[test]
    fn base_delay_doubles_and_caps() {
        assert_eq!(POLICY.base_delay_ms(1), 500);
        assert_eq!(POLICY.base_delay_ms(2), 1000);
        assert_eq!(POLICY.base_delay_ms(4), 4000);
        let slow = RetryPolicy {
            backoff_ms: 20_000,
            ..POLICY
        };
        assert_eq!(slow.base_delay_ms(2), 30_000);
        assert_eq!(slow.base_delay_ms(u32::MAX), 30_000);
    }

    #[test]
    fn jitter_stays_within_half_and_full_base() {
        for attempt in 1..=4 {
            for run in 0..50 {
                let d = POLICY.delay_ms(attempt, &format!("run-{run}"), "n1");
                let base = POLICY.base_delay_ms(attempt);
                assert!(d >= base / 2 && d <= base, "attempt {attempt}: {d}");
            }
        }
    }

    #[test]
    fn jitter_is_deterministic_but_varies_by_seed() {
        let a = POLICY.delay_ms(1, "exec", "node");
        assert_eq!(a, POLICY.delay_ms(1, "exec", "node"));
        let distinct: std::collections::HashSet<u64> = (0..20)
            .map(|i| POLICY.delay_ms(1, "exec", &format!("node-{i}")))
            .collect();
        assert!(distinct.len() > 5, "jitter barely varies: {distinct:?}");
    }
}
