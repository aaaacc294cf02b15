//! The compat suite's one pseudo-random generator (xorshift64*, no dependency), for the random
//! parts of the corpora sent to PHP.
//!
//! Every generator starts from a fixed seed written in its test, so a run repeats the last one.
//! `PHPSESS_TEST_SEED=<u64>` (decimal or `0x` hex) mixes another run seed into every generator to
//! explore other corpora; a test that fails on random input names the run seed that reproduces it
//! (through [`SeedReport`], or [`seed_note`] in its message). The core crate's unit tests have
//! their own copy (`crates/phpsess/src/test_rng.rs`): the harness is not one of its dependencies.

/// The environment variable holding the run seed.
pub const SEED_VAR: &str = "PHPSESS_TEST_SEED";

/// The run seed: `$PHPSESS_TEST_SEED`, or 0 (the committed corpora). Panics on a malformed value
/// rather than silently running the default corpus.
pub fn run_seed() -> u64 {
    let Ok(text) = std::env::var(SEED_VAR) else {
        return 0;
    };
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(&hex.replace('_', ""), 16),
        None => text.replace('_', "").parse(),
    };
    parsed.unwrap_or_else(|e| panic!("{SEED_VAR}={text:?} is not a u64: {e}"))
}

/// "random inputs from PHPSESS_TEST_SEED=…", for failure messages.
pub fn seed_note() -> String {
    match run_seed() {
        0 => format!(
            "random inputs from the committed seeds ({SEED_VAR} unset); \
             {SEED_VAR}=<u64> explores others"
        ),
        seed => format!("random inputs from {SEED_VAR}={seed:#x}: set it again to reproduce"),
    }
}

/// Prints [`seed_note`] to stderr when dropped while the test panics: `let _seed =
/// SeedReport;` at the top of a test whose inputs are random.
pub struct SeedReport;

impl Drop for SeedReport {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", seed_note());
        }
    }
}

/// xorshift64*: enough spread for corpora, the same sequence for the same seeds.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from the test's fixed `seed`, mixed with the [`run_seed`].
    pub fn new(seed: u64) -> Rng {
        let state = seed ^ run_seed().wrapping_mul(0x9E37_79B9_7F4A_7C15);
        // xorshift stays at 0 forever.
        Rng(if state == 0 { seed | 1 } else { state })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with `percent` % probability.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    /// One of `items` (not empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}
