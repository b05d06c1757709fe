//! `--engine`: the registry's engines (`wasmtier-engines`) as a command-line
//! choice. Nothing here lists engines; this build's are whatever the
//! registry has for the host.

use std::sync::OnceLock;

use clap::ValueEnum;
use clap::builder::PossibleValue;
use wasmtier_core::{Engine, EngineConfig, EngineKind};
use wasmtier_engines::EngineInfo;

/// One of this build's engines.
#[derive(Debug, Clone, Copy)]
pub struct EngineChoice(&'static EngineInfo);

impl PartialEq for EngineChoice {
    fn eq(&self, other: &Self) -> bool {
        self.0.kind == other.0.kind
    }
}

impl Eq for EngineChoice {}

impl EngineChoice {
    /// The engine used when `--engine` is not given.
    pub fn default_engine() -> Self {
        Self::of(wasmtier_engines::DEFAULT).expect("the registry has its default engine")
    }

    /// `kind`, if this build has it.
    pub fn of(kind: EngineKind) -> Option<Self> {
        wasmtier_engines::get(kind).map(Self)
    }

    pub fn kind(self) -> EngineKind {
        self.0.kind
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// The proposals this engine runs.
    pub fn features(self) -> wasmtier_core::Features {
        self.0.features
    }

    /// Whether `--low-memory` can run on this engine.
    pub fn supports_low_memory(self) -> bool {
        self.0.low_memory
    }

    /// Whether `run --profile` can name this engine's code for `perf`.
    pub fn supports_profiling(self) -> bool {
        self.0.native_code && cfg!(wasmtier_jit)
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
        self.0.create(config)
    }
}

impl ValueEnum for EngineChoice {
    fn value_variants<'a>() -> &'a [Self] {
        static ALL: OnceLock<Vec<EngineChoice>> = OnceLock::new();
        ALL.get_or_init(|| wasmtier_engines::ENGINES.iter().map(EngineChoice).collect())
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()).help(self.0.about))
    }
}

impl std::fmt::Display for EngineChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `run --engine`: an engine of this build, or `auto` where the build has
/// both compiled tiers: a cached artifact of the module when the cache has
/// a valid one, else the tiered JIT while the cache entry is written in
/// the background.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineArg {
    Auto,
    Engine(EngineChoice),
}

impl EngineArg {
    /// Whether this build can run `--engine auto`.
    pub fn auto_available() -> bool {
        EngineChoice::of(EngineKind::Jit).is_some() && EngineChoice::of(EngineKind::Aot).is_some()
    }
}

impl ValueEnum for EngineArg {
    fn value_variants<'a>() -> &'a [Self] {
        static ALL: OnceLock<Vec<EngineArg>> = OnceLock::new();
        ALL.get_or_init(|| {
            let auto = Self::auto_available().then_some(EngineArg::Auto);
            auto.into_iter()
                .chain(
                    EngineChoice::value_variants()
                        .iter()
                        .map(|e| EngineArg::Engine(*e)),
                )
                .collect()
        })
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        match self {
            Self::Auto => Some(PossibleValue::new("auto").help(
                "a cached artifact if the cache has one for this module, else the tiered jit \
                 (the cache entry is written in the background for the next run)",
            )),
            Self::Engine(engine) => engine.to_possible_value(),
        }
    }
}
