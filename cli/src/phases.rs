//! `run -v`: where the time of a run goes, phase by phase, on stderr.

use std::fmt::Display;
use std::time::Instant;

/// Times consecutive phases; prints nothing unless enabled.
pub struct Phases {
    enabled: bool,
    since: Instant,
}

impl Phases {
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            since: Instant::now(),
        }
    }

    /// Ends the current phase: prints its name and duration, starts the next.
    pub fn mark(&mut self, phase: impl Display) {
        let now = Instant::now();
        if self.enabled {
            let ms = now.duration_since(self.since).as_secs_f64() * 1000.0;
            eprintln!("wasmtier: {phase}: {ms:.3} ms");
        }
        self.since = now;
    }
}
