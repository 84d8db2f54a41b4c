//! The one source of randomness: key seeds, secrets, document ids and nonces from the
//! operating system.

/// `N` random bytes from the operating system. A node cannot work without a random source,
/// so its absence is a fatal error.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the operating system's random source");
    b
}
