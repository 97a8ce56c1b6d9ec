//! Fisher-Yates shuffling with the caller's generator. Written out rather than taken from
//! `rand::seq` so the exact sequence of draws (one `random_range(0..=i)` per step, from the end)
//! is ours and stays fixed: checkpoints that store a permutation must replay identically.

use rand::Rng;

/// Shuffles `items` in place, uniformly over all permutations (Fisher-Yates). Public so the
/// trainer's chain exchange draws its permutation with the same fixed sequence of draws.
pub fn fisher_yates<T, R: Rng + ?Sized>(items: &mut [T], rng: &mut R) {
    for i in (1..items.len()).rev() {
        let j = rng.random_range(0..=i);
        items.swap(i, j);
    }
}
