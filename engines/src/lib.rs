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

use wasmtier_core::{Engine, EngineConfig, EngineKind, Features, ValidatedModule};

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
    /// Proposals the loader knows that this engine does not run: its
    /// modules are validated without them.
    pub lacks: Features,
    create: fn(EngineConfig) -> Box<dyn Engine>,
}

/// No proposal missing.
const LACKS_NOTHING: Features = Features::wasm2();

impl EngineInfo {
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// `wanted` without the proposals this engine does not run: what to
    /// validate its modules with.
    pub fn features(&self, wanted: Features) -> Features {
        wanted.without(self.lacks)
    }

    /// For a module (binary or text) that failed to load with
    /// [`features(wanted)`](Self::features): the one-line reason when it
    /// is valid with a proposal of `wanted` this engine lacks, naming the
    /// proposal and the engines of this build that run it.
    pub fn refusal(&self, input: &[u8], wanted: Features) -> Option<String> {
        let binary = ValidatedModule::binary_of(input).ok()?;
        let proposal = ValidatedModule::proposal_needed(&binary, self.features(wanted), wanted)?;
        let lacking = Features::parse_list(proposal).ok()?;
        let others: Vec<String> = ENGINES
            .iter()
            .filter(|e| e.lacks.without(lacking) == e.lacks)
            .map(|e| format!("--engine {}", e.name()))
            .collect();
        let run_it = if others.is_empty() {
            "no engine of this build runs it".to_string()
        } else {
            format!("run it with {}", others.join(" or "))
        };
        Some(format!(
            "the module uses the {proposal} proposal, which the {} engine does not run; {run_it}",
            self.name()
        ))
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
        // wasmi has no typed function references (nor Wasm 3.0 types).
        lacks: Features {
            function_references: true,
            ..LACKS_NOTHING
        },
        create: |config| Box::new(wasmtier_engine_interp::InterpEngine::new(config)),
    },
    #[cfg(wasmtier_jit)]
    EngineInfo {
        kind: EngineKind::Jit,
        about: "the Cranelift JIT: compiles to native code first, then runs at native speed",
        low_memory: false,
        native_code: true,
        lacks: LACKS_NOTHING,
        create: |config| Box::new(wasmtier_engine_jit::JitEngine::new(config)),
    },
    #[cfg(wasmtier_aot)]
    EngineInfo {
        kind: EngineKind::Aot,
        about: "ahead of time: the JIT's code, compiled once (cached, or by `wasmtier compile`), then mapped from disk",
        low_memory: false,
        native_code: true,
        lacks: LACKS_NOTHING,
        create: |config| Box::new(wasmtier_engine_aot::AotEngine::new(config)),
    },
];

/// `wanted` without what any engine of this build lacks: the features a
/// module must be validated with to run on every engine (differential
/// testing compares them all).
pub fn common_features(wanted: Features) -> Features {
    ENGINES.iter().fold(wanted, |f, e| e.features(f))
}

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
