//! The interpreter tier: wasmtier's engine boundary over `wasmi`.
//!
//! wasmi keeps its own store, memories and instances; this crate maps our
//! module, host functions, limits and traps onto them once. Modules arrive
//! already validated by `wasmtier-core`, so they are handed to wasmi
//! unchecked (see `RATIONALE.md` for the measured saving).

mod contain;
mod convert;
mod deadline;
mod start;
mod store;

use std::any::Any;
use std::sync::Arc;

use wasmtier_core::{
    CompiledModule, Engine, EngineConfig, EngineKind, LinkError, Store, ValidatedModule,
};

pub use store::InterpStore;

/// Value-stack size used in low-memory mode unless `--max-stack` says otherwise.
const LOW_MEMORY_STACK_BYTES: usize = 64 * 1024;

pub struct InterpEngine {
    engine: wasmi::Engine,
    config: EngineConfig,
    /// Shared with every store: after a wasmi panic, this engine is done.
    poison: contain::Poison,
}

impl InterpEngine {
    pub fn new(config: EngineConfig) -> Self {
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
        if config.low_memory {
            // Translate a function only when it is first called, keep one
            // cached stack, and start the value stack small.
            wasmi_config
                .compilation_mode(wasmi::CompilationMode::Lazy)
                .set_max_cached_stacks(1)
                .set_min_stack_height(1024);
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
    /// The start function was moved to an export (`start::HIDDEN_START_EXPORT`)
    /// for the store to call after instantiation.
    deferred_start: bool,
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
        self.config.check_features_of(&module)?;
        // SAFETY: `ValidatedModule` can only be built by the core loader,
        // which validated these exact bytes with a feature set the check above
        // proved is enabled in this engine. That is wasmi's precondition for
        // skipping its own validation.
        //
        // Under a deadline a start function is run as a call (`start.rs`):
        // the rewritten bytes differ from the validated ones only by a
        // removed start section and one more export of an existing
        // function under an unused name, which keeps the module valid.
        let deferred = match (self.config.timeout, module.start) {
            (Some(_), Some(start)) => start::defer_start(module.bytes(), start),
            _ => None,
        };
        let bytes = deferred.as_deref().unwrap_or(module.bytes());
        let wasmi = self
            .poison
            .contained(|| unsafe { wasmi::Module::new_unchecked(&self.engine, bytes) })
            .map_err(LinkError::Engine)?
            .map_err(|e| LinkError::Engine(e.to_string()))?;
        Ok(Arc::new(InterpModule {
            module,
            wasmi,
            deferred_start: deferred.is_some(),
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
