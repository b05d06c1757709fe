//! The interpreter tier: wasmtier's engine boundary over `wasmi`.
//!
//! wasmi keeps its own store, memories and instances; this crate maps our
//! module, host functions, limits and traps onto them once. Modules arrive
//! already validated by `wasmtier-core`, so they are handed to wasmi
//! unchecked (see `RATIONALE.md` for the measured saving).

mod contain;
mod convert;
mod deadline;
mod grow;
mod rewrite;
mod store;
mod zeroing;

use std::any::Any;
use std::sync::Arc;

use wasmtier_core::{
    CompiledModule, Engine, EngineConfig, EngineKind, LinkError, Store, ValidatedModule,
};

pub use store::InterpStore;
pub use zeroing::ZeroingAllocator;

/// The proposals this engine runs: every one the loader knows but
/// exception handling, typed function references, garbage collection and
/// threads, which wasmi does not have.
pub const FEATURES: wasmtier_core::Features = wasmtier_core::Features {
    exceptions: false,
    function_references: false,
    gc: false,
    threads: false,
    ..wasmtier_core::Features::all()
};

/// Value-stack size used in low-memory mode unless `--max-stack` says otherwise.
const LOW_MEMORY_STACK_BYTES: usize = 64 * 1024;

pub struct InterpEngine {
    engine: wasmi::Engine,
    config: EngineConfig,
    /// Shared with every store: after a wasmi panic, this engine is done.
    poison: contain::Poison,
}

impl InterpEngine {
    pub fn new(mut config: EngineConfig) -> Self {
        // A request for proposals wasmi lacks is narrowed to what it runs;
        // modules validated with more are then refused by name (`compile`).
        config.features = config.features.intersect(FEATURES);
        zeroing::start_zeroing();
        let mut wasmi_config = wasmi::Config::default();
        let features = config.features;
        wasmi_config
            .wasm_tail_call(features.tail_call)
            .wasm_extended_const(features.extended_const)
            .wasm_multi_memory(features.multi_memory)
            .wasm_memory64(features.memory64)
            .wasm_custom_page_sizes(features.custom_page_sizes)
            .wasm_wide_arithmetic(features.wide_arithmetic)
            .wasm_simd(true)
            .wasm_relaxed_simd(features.relaxed_simd)
            // A deadline is enforced through fuel slices (see `deadline.rs`).
            .consume_fuel(config.fuel.is_some() || config.timeout.is_some());
        if config.timeout.is_some() {
            // Calls run in fuel slices, and wasmi cannot pause a call that
            // runs out of fuel while translating a function lazily: translate
            // everything up front (see `deadline.rs`).
            wasmi_config.compilation_mode(wasmi::CompilationMode::Eager);
        }
        // No smaller than what the allocator zeroes (`zeroing.rs`); also
        // small, for low-memory mode.
        wasmi_config.set_min_stack_height(zeroing::ZEROED_FROM_BYTES);
        if config.low_memory {
            // Translate a function only when it is first called and keep
            // one cached stack.
            wasmi_config
                .compilation_mode(wasmi::CompilationMode::Lazy)
                .set_max_cached_stacks(1);
        }
        let max_stack = config
            .max_stack
            .or(config.low_memory.then_some(LOW_MEMORY_STACK_BYTES));
        if let Some(bytes) = max_stack {
            wasmi_config.set_max_stack_height(bytes.max(1024));
        }
        Self {
            engine: wasmi::Engine::new(&wasmi_config),
            config,
            poison: contain::Poison::default(),
        }
    }
}

pub(crate) struct InterpModule {
    module: Arc<ValidatedModule>,
    wasmi: wasmi::Module,
    /// What the store does after instantiating the rewritten module.
    hidden: rewrite::Hidden,
}

impl CompiledModule for InterpModule {
    fn module(&self) -> &Arc<ValidatedModule> {
        &self.module
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Engine for InterpEngine {
    fn kind(&self) -> EngineKind {
        EngineKind::Interp
    }

    fn config(&self) -> &EngineConfig {
        &self.config
    }

    fn compile(&self, module: Arc<ValidatedModule>) -> Result<Arc<dyn CompiledModule>, LinkError> {
        // A module validated with typed function references is accepted
        // only if it validates without them (this engine's features).
        self.config.check_features_of(&module)?;
        // Under a deadline a start function is run as a call, so that fuel
        // slices can pause it; grows become host calls and block parameters
        // are spilled, around two wasmi bugs (`rewrite/`).
        let rewritten = rewrite::rewrite(&module, self.config.timeout.is_some()).map_err(|e| {
            LinkError::Engine(format!("preparing the module for the interpreter: {e}"))
        })?;
        let (bytes, hidden) = match rewritten {
            Some(rewritten) => (std::borrow::Cow::Owned(rewritten.bytes), rewritten.hidden),
            None => (
                std::borrow::Cow::Borrowed(module.bytes()),
                Default::default(),
            ),
        };
        // SAFETY: `ValidatedModule` can only be built by the core loader,
        // which validated these bytes with a feature set the check above
        // proved is enabled in this engine. That is wasmi's precondition for
        // skipping its own validation. A rewrite keeps the module valid: it
        // appends function types, one funcref table and exports under
        // unused names, removes the start section, replaces each grow with
        // `i32.const` and a `call_indirect` of the grow's own type, and
        // stores block parameters in new locals of their own types before
        // reading them back (tested in `rewrite/` by validating the result).
        let wasmi = self
            .poison
            .contained(|| unsafe { wasmi::Module::new_unchecked(&self.engine, &bytes) })
            .map_err(|panicked| LinkError::Engine(panicked.to_string()))?
            .map_err(|e| LinkError::Engine(e.to_string()))?;
        Ok(Arc::new(InterpModule {
            module,
            wasmi,
            hidden,
        }))
    }

    fn new_store(&self, state: Box<dyn Any + Send>) -> Box<dyn Store> {
        Box::new(InterpStore::new(
            &self.engine,
            &self.config,
            self.poison.clone(),
            state,
        ))
    }
}
