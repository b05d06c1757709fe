//! The execution tiers this build contains: the one place that names them.

use clap::ValueEnum;
use wasmtier_core::{Engine, EngineConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineChoice {
    /// The wasmi-based interpreter: instant start-up, runs everywhere.
    #[cfg(feature = "interp")]
    Interp,
}

impl EngineChoice {
    /// The engine used when `--engine` is not given.
    pub const DEFAULT: EngineChoice = EngineChoice::Interp;

    pub fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "interp")]
            Self::Interp => "interp",
        }
    }

    /// Whether `--low-memory` can run on this engine: compiled tiers need
    /// code memory and, on 64-bit hosts, large virtual reservations.
    pub fn supports_low_memory(self) -> bool {
        match self {
            #[cfg(feature = "interp")]
            Self::Interp => true,
        }
    }

    pub fn create(self, config: EngineConfig) -> Box<dyn Engine> {
        match self {
            #[cfg(feature = "interp")]
            Self::Interp => Box::new(wasmtier_engine_interp::InterpEngine::new(config)),
        }
    }
}
