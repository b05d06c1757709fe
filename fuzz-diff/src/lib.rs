//! Differential testing of wasmtier's tiers, and loader fuzzing.
//!
//! [`generate`] turns a seed into a module with `wasm-smith` (every feature
//! all our engines support, NaNs canonicalized so results may not legally
//! differ, termination guaranteed by a fuel global in the module itself).
//! [`diff`] runs it on each engine of [`diff::ENGINES`] and compares what
//! came out: instantiation, every exported function's results or trap,
//! exported globals and a hash of every exported memory after each call.
//! [`mutate`] damages valid modules for the loader's no-panic tests, and
//! `artifact` damages valid AOT artifacts (refused, or the same behaviour).
//!
//! The same code backs the CI replay (`tests/replay.rs`), the long-run
//! binary (`src/main.rs`) and the cargo-fuzz targets (`fuzz/`).

wasmtier_engines::with_aot! {
    pub mod artifact;
}
pub mod diff;
pub mod edges;
pub mod generate;
pub mod mutate;

/// A small deterministic PRNG (splitmix64), so a seed means the same module
/// on every machine and every run.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}
