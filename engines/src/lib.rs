//! The execution tiers: the one list of them, and the one place that knows
//! which ones a build has for its host.
//!
//! Everything that offers a choice of engine — the CLI's `--engine`, the
//! spec suite, fuzz-diff, the benchmarks, the embedding API — reads
//! [`ENGINES`]. Adding an engine is: its crate, one entry here (and its
//! feature), and its expectations in the spec harness.
//!
//! The compiled tiers exist only where they run (x86-64 Linux today, named
//! in `build.rs` and `Cargo.toml`). Code elsewhere that uses them directly
//! wraps itself in [`with_jit!`] / [`with_aot!`] (and the `without_`
//! forms), whose definitions are chosen here, so no other crate repeats the
//! host condition.

use wasmtier_core::{Engine, EngineConfig, EngineKind, Features};

#[cfg(not(any(feature = "interp", wasmtier_jit)))]
compile_error!(
    "wasmtier needs at least one engine: enable `interp`, or `jit` on a host the JIT supports"
);

#[cfg(wasmtier_aot)]
pub use wasmtier_engine_aot as aot;
#[cfg(feature = "interp")]
pub use wasmtier_engine_interp as interp;
#[cfg(wasmtier_jit)]
pub use wasmtier_engine_jit as jit;

/// One execution tier of this build.
#[derive(Debug)]
pub struct EngineInfo {
    pub kind: EngineKind,
    /// One line for help texts.
    pub about: &'static str,
    /// Whether `--low-memory` (small stacks, lazy translation) runs on it.
    pub low_memory: bool,
    /// Whether it runs machine code compiled per function, which
    /// profilers (`run --profile`) can name.
    pub native_code: bool,
    /// The proposals it runs: a request is narrowed to these, and a module
    /// that needs another is refused naming the engines that have it.
    pub features: Features,
    create: fn(EngineConfig) -> Box<dyn Engine>,
}

impl EngineInfo {
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// A new engine of this tier. The AOT tier's engine compiles through
    /// temporary files; callers that want its cache use `aot` directly.
    pub fn create(&self, config: EngineConfig) -> Box<dyn Engine> {
        (self.create)(config)
    }
}

/// The engines this build has for its host, interpreter first.
pub static ENGINES: &[EngineInfo] = &[
    #[cfg(feature = "interp")]
    EngineInfo {
        kind: EngineKind::Interp,
        about: "the wasmi-based interpreter: instant start-up, small footprint, runs everywhere",
        low_memory: true,
        native_code: false,
        features: wasmtier_engine_interp::FEATURES,
        create: |config| Box::new(wasmtier_engine_interp::InterpEngine::new(config)),
    },
    #[cfg(wasmtier_jit)]
    EngineInfo {
        kind: EngineKind::Jit,
        about: "the Cranelift JIT: compiles to native code first, then runs at native speed",
        low_memory: false,
        native_code: true,
        features: wasmtier_engine_jit::FEATURES,
        create: |config| Box::new(wasmtier_engine_jit::JitEngine::new(config)),
    },
    #[cfg(wasmtier_aot)]
    EngineInfo {
        kind: EngineKind::Aot,
        about: "ahead of time: the JIT's code, compiled once (cached, or by `wasmtier compile`), then mapped from disk",
        low_memory: false,
        native_code: true,
        features: wasmtier_engine_aot::FEATURES,
        create: |config| Box::new(wasmtier_engine_aot::AotEngine::new(config)),
    },
];

/// The engine used when none is asked for: the JIT where this build has
/// it for the host, the interpreter elsewhere.
pub const DEFAULT: EngineKind = if cfg!(wasmtier_jit) {
    EngineKind::Jit
} else {
    EngineKind::Interp
};

/// The entry for `kind`, if this build has that engine for its host.
pub fn get(kind: EngineKind) -> Option<&'static EngineInfo> {
    ENGINES.iter().find(|e| e.kind == kind)
}

/// The entry named `name` (`interp`, `jit`, `aot`), if this build has it.
pub fn find(name: &str) -> Option<&'static EngineInfo> {
    ENGINES.iter().find(|e| e.name() == name)
}

/// The names of this build's engines that run every proposal in
/// `proposals`, for messages.
pub fn running(proposals: &[&str]) -> Vec<&'static str> {
    ENGINES
        .iter()
        .filter(|e| proposals.iter().all(|p| e.features.is_enabled(p)))
        .map(EngineInfo::name)
        .collect()
}

/// The names of this build's engines, for messages and `--help`.
pub fn names() -> Vec<&'static str> {
    ENGINES.iter().map(EngineInfo::name).collect()
}

/// Items that use the JIT crate directly: kept where the build has it.
#[cfg(wasmtier_jit)]
#[macro_export]
macro_rules! with_jit {
    ($($item:item)*) => { $($item)* };
}
/// Items that use the JIT crate directly: kept where the build has it.
#[cfg(not(wasmtier_jit))]
#[macro_export]
macro_rules! with_jit {
    ($($item:item)*) => {};
}
/// Items for builds without the JIT.
#[cfg(wasmtier_jit)]
#[macro_export]
macro_rules! without_jit {
    ($($item:item)*) => {};
}
/// Items for builds without the JIT.
#[cfg(not(wasmtier_jit))]
#[macro_export]
macro_rules! without_jit {
    ($($item:item)*) => { $($item)* };
}
/// Items that use the AOT crate directly: kept where the build has it.
#[cfg(wasmtier_aot)]
#[macro_export]
macro_rules! with_aot {
    ($($item:item)*) => { $($item)* };
}
/// Items that use the AOT crate directly: kept where the build has it.
#[cfg(not(wasmtier_aot))]
#[macro_export]
macro_rules! with_aot {
    ($($item:item)*) => {};
}
/// Items for builds without the AOT tier.
#[cfg(wasmtier_aot)]
#[macro_export]
macro_rules! without_aot {
    ($($item:item)*) => {};
}
/// Items for builds without the AOT tier.
#[cfg(not(wasmtier_aot))]
#[macro_export]
macro_rules! without_aot {
    ($($item:item)*) => { $($item)* };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_is_found_by_its_kind_and_name_and_the_default_is_one() {
        assert!(!ENGINES.is_empty());
        for engine in ENGINES {
            assert_eq!(get(engine.kind).map(EngineInfo::name), Some(engine.name()));
            assert_eq!(find(engine.name()).map(|e| e.kind), Some(engine.kind));
            assert_eq!(engine.create(EngineConfig::default()).kind(), engine.kind);
        }
        assert!(get(DEFAULT).is_some());
        assert!(find("nope").is_none());
    }
}
