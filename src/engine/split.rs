//! Which variant a `split` takes: by weight, reproducibly from the step key.

use super::graph::Variant;
use sha2::{Digest, Sha256};

/// The handle of the variant `key` (the split's step key, so the run's id,
/// the node and the loop item) falls on: the key's SHA-256 read as a number
/// in `0..total weight`, each variant owning a share of that range as
/// large as its weight. The same run always takes the same branch; over
/// many runs each branch gets about its weight's share.
pub(crate) fn pick<'v>(variants: &'v [Variant], key: &str) -> &'v str {
    let total: u64 = variants.iter().map(|v| v.weight).sum();
    let digest = Sha256::digest(key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let mut point = u64::from_be_bytes(first) % total.max(1);
    for v in variants {
        if point < v.weight {
            return &v.handle;
        }
        point -= v.weight;
    }
    variants.last().map_or("", |v| v.handle.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variants(weights: &[(&str, u64)]) -> Vec<Variant> {
        weights
            .iter()
            .map(|(h, w)| Variant {
                handle: h.to_string(),
                weight: *w,
            })
            .collect()
    }

    #[test]
    fn the_same_key_always_takes_the_same_variant() {
        let v = variants(&[("a", 50), ("b", 50)]);
        let first = pick(&v, "run-1:ab");
        assert!((0..10).all(|_| pick(&v, "run-1:ab") == first));
    }

    #[test]
    fn shares_follow_the_weights() {
        let v = variants(&[("a", 20), ("b", 80)]);
        let a = (0..10_000)
            .filter(|i| pick(&v, &format!("run-{i}:ab")) == "a")
            .count();
        assert!((1_700..2_300).contains(&a), "{a} of 10000 took the 20% branch");
        let only = variants(&[("x", 1), ("y", 0)]);
        assert!((0..100).all(|i| pick(&only, &i.to_string()) == "x"));
    }
}
