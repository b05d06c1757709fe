//! The execution tiers this build contains: the one place that names them.

use clap::ValueEnum;
use wasmtier_core::{Engine, EngineConfig};

#[cfg(not(any(feature = "interp", feature = "jit")))]
compile_error!("wasmtier needs at least one engine: enable the `interp` or `jit` feature");

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineChoice {
    /// The wasmi-based interpreter: instant start-up, small footprint, runs everywhere.
    #[cfg(feature = "interp")]
    Interp,
    /// The Cranelift JIT: compiles to native code first, then runs at native speed.
    #[cfg(all(feature = "jit", target_arch = "x86_64", target_os = "linux"))]
    Jit,
    /// Ahead of time: the JIT's code, compiled once (cached, or by `wasmtier compile`), then mapped from disk.
    #[cfg(all(feature = "aot", target_arch = "x86_64", target_os = "linux"))]
    Aot,
}

impl EngineChoice {
    /// The engine used when `--engine` is not given: the JIT where this
    /// build has it for the host, the interpreter elsewhere.
    #[cfg(all(feature = "jit", target_arch = "x86_64", target_os = "linux"))]
    pub const DEFAULT: EngineChoice = EngineChoice::Jit;
    #[cfg(not(all(feature = "jit", target_arch = "x86_64", target_os = "linux")))]
    pub const DEFAULT: EngineChoice = EngineChoice::Interp;

    pub fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "interp")]
            Self::Interp => "interp",
            #[cfg(all(feature = "jit", target_arch = "x86_64", target_os = "linux"))]
            Self::Jit => "jit",
            #[cfg(all(feature = "aot", target_arch = "x86_64", target_os = "linux"))]
            Self::Aot => "aot",
        }
    }

    /// Whether `--low-memory` can run on this engine: compiled tiers need
    /// code memory and, on 64-bit hosts, large virtual reservations.
    pub fn supports_low_memory(self) -> bool {
        match self {
            #[cfg(feature = "interp")]
            Self::Interp => true,
            #[cfg(all(feature = "jit", target_arch = "x86_64", target_os = "linux"))]
            Self::Jit => false,
            #[cfg(all(feature = "aot", target_arch = "x86_64", target_os = "linux"))]
            Self::Aot => false,
        }
    }

    /// Whether `run --profile` can name this engine's code for `perf`:
    /// only tiers that run machine code compiled per function.
    pub fn supports_profiling(self) -> bool {
        match self {
            #[cfg(feature = "interp")]
            Self::Interp => false,
            #[cfg(all(feature = "jit", target_arch = "x86_64", target_os = "linux"))]
            Self::Jit => true,
            // The code map comes from the JIT crate the AOT tier loads into.
            #[cfg(all(feature = "aot", target_arch = "x86_64", target_os = "linux"))]
            Self::Aot => cfg!(feature = "jit"),
        }
    }

    /// The engines of this build that `run --profile` supports, for messages.
    pub fn profiling_engines() -> Vec<&'static str> {
        Self::value_variants()
            .iter()
            .filter(|e| e.supports_profiling())
            .map(|e| e.name())
            .collect()
    }

    pub fn create(self, config: EngineConfig) -> Box<dyn Engine> {
        match self {
            #[cfg(feature = "interp")]
            Self::Interp => Box::new(wasmtier_engine_interp::InterpEngine::new(config)),
            #[cfg(all(feature = "jit", target_arch = "x86_64", target_os = "linux"))]
            Self::Jit => Box::new(wasmtier_engine_jit::JitEngine::new(config)),
            #[cfg(all(feature = "aot", target_arch = "x86_64", target_os = "linux"))]
            Self::Aot => Box::new(wasmtier_engine_aot::AotEngine::with_cache(
                config,
                crate::compile::CacheOptions::default().mode(),
            )),
        }
    }
}

impl std::fmt::Display for EngineChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
