//! The one source of randomness: key seeds, secrets, document ids, Automerge actor ids and
//! nonces, from the operating system. Tests may seed it per thread
//! (`seed_this_thread`, in tests) so a simulated schedule replays exactly.

/// `N` random bytes from the operating system (or, in a test thread that seeded it, from
/// that seed). A node cannot work without a random source, so its absence is a fatal error.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    #[cfg(test)]
    if seeded::fill(&mut b) {
        return b;
    }
    getrandom::fill(&mut b).expect("the operating system's random source");
    b
}

/// A seeded sequence (splitmix64) for schedules that must replay from their seed: the
/// simulation's and the nemesis test's. Never for secrets.
#[derive(Debug, Clone)]
pub struct Seeded(pub u64);

impl Seeded {
    /// The next number of the sequence.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (at least 1).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A whole number in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Makes [`bytes`] deterministic on this thread from `seed` (`None`: the OS again).
#[cfg(test)]
pub fn seed_this_thread(seed: Option<u64>) {
    seeded::STATE.with(|s| s.set(seed));
}

#[cfg(test)]
mod seeded {
    use std::cell::Cell;

    thread_local! {
        pub(super) static STATE: Cell<Option<u64>> = const { Cell::new(None) };
    }

    /// splitmix64 over the thread's seed; false if the thread is not seeded.
    pub(super) fn fill(out: &mut [u8]) -> bool {
        STATE.with(|s| {
            let Some(x) = s.get() else {
                return false;
            };
            let mut rng = super::Seeded(x);
            for chunk in out.chunks_mut(8) {
                chunk.copy_from_slice(&rng.next().to_le_bytes()[..chunk.len()]);
            }
            s.set(Some(rng.0));
            true
        })
    }
}
