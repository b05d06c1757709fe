//! The JIT tier: WebAssembly to Cranelift IR to native code, run in place.
//!
//! The story of a module:
//! 1. [`JitEngine::compile`] translates every function in one pass over its
//!    operators (`translate/`), adds an entry trampoline and a host adapter
//!    per signature (`trampolines.rs`), and lays the code out in one
//!    read+execute mapping (`code_memory.rs`) with a sorted trap table
//!    (`traps.rs`).
//! 2. [`JitStore`] instantiates it: resolves imports by name, builds the
//!    instance's `VMContext` (`vmcontext.rs`, `instance.rs`) over
//!    store-owned memories and tables (`linear_memory.rs`), applies
//!    segments and runs the start function.
//! 3. Calls enter through `signals::call`; traps come back through the
//!    signal handler or `signals::raise` (`signals.rs`), builtins and host
//!    functions are reached through tables in the VM context
//!    (`builtins.rs`), never through addresses in the code.
//!
//! Design decisions are in `RATIONALE.md`.

mod arch;
mod atomics_wait;
mod builtins;
mod call_profile;
pub mod code_map;
mod code_memory;
mod compile;
mod cranelift_contexts;
mod error;
mod exception_table;
mod exceptions;
pub(crate) mod gc;
mod inlined_sites;
mod instance;
mod interrupt;
mod isa;
mod lazy;
mod linear_memory;
mod loop_placement;
mod memory_strategy;
mod module;
mod module_info;
mod relocs;
mod runtime;
mod signals;
mod single_pass;
mod stack_maps;
mod store;
mod trampolines;
mod translate;
mod traps;
mod values;
mod vmcontext;

use std::any::Any;

/// The proposals this engine (and the AOT tier, which shares its code
/// generation) runs: every one the loader knows.
pub const FEATURES: wasmtier_core::Features = wasmtier_core::Features::all();
use std::sync::Arc;

use cranelift_codegen::isa::OwnedTargetIsa;
use wasmtier_core::{
    CompiledModule, Engine, EngineConfig, EngineKind, LinkError, Store, ValidatedModule,
};

pub use store::JitStore;
pub use vmcontext::VM_LAYOUT_VERSION;

/// What the AOT tier builds on: the same instruction-set setup, the same
/// compiler, and the same code-loading path (`CodeMemory`) as the JIT.
pub mod aot {
    use std::sync::Arc;

    use cranelift_codegen::isa::TargetIsa;
    use wasmtier_core::{CompiledModule, EngineConfig, ValidatedModule};

    pub use crate::code_memory::CodeMemoryError;
    pub use crate::code_memory::{CodeMemory, page_size};
    pub use crate::compile::{CodeImage, CodeLayout, CodeTables, host_isa, target_isa};
    pub use crate::error::{CompileError, IsaError, LayoutError, LoadError, ModuleInfoError};
    pub use crate::exception_table::{CallSite, ExceptionTable, HandlerEntry};
    pub use crate::inlined_sites::InlinedSites;
    pub use crate::stack_maps::{StackMapSite, StackMapTable};
    pub use crate::translate::{Proposal, TranslateError};

    use crate::compile::{self, CompiledCode};
    use crate::module::{JitCompiled, JitModule, ModuleCode};
    use crate::module_info::ModuleInfo;

    /// Compiles `module` to position-independent code for `isa`.
    pub fn compile_image(
        isa: &dyn TargetIsa,
        module: &Arc<ValidatedModule>,
        config: &EngineConfig,
    ) -> Result<CodeImage, CompileError> {
        let config = &eager(config);
        let mut info = ModuleInfo::new(module.clone(), config)?;
        info.loop_unrolling = crate::translate::LoopUnrolling::AHEAD_OF_TIME;
        compile::compile_image(isa, &info, config)
    }

    /// A module ready to instantiate in a [`crate::JitStore`] from code
    /// already in `memory` (for example mapped from an artifact) and its
    /// layout tables (for example read in place from the same artifact),
    /// which are checked against the code and the module.
    pub fn load(
        module: Arc<ValidatedModule>,
        config: &EngineConfig,
        memory: CodeMemory,
        tables: CodeTables,
    ) -> Result<Arc<dyn CompiledModule>, LoadError> {
        let info = ModuleInfo::new(module.clone(), &eager(config))?;
        let code = CompiledCode::new(memory, tables, &module)?;
        Ok(Arc::new(JitCompiled {
            module,
            inner: Arc::new(JitModule {
                info,
                code: ModuleCode::Eager(code),
            }),
        }))
    }

    /// An artifact holds finished code: whatever the configuration says
    /// about when the JIT compiles, the AOT tier compiles everything.
    fn eager(config: &EngineConfig) -> EngineConfig {
        EngineConfig {
            compilation: wasmtier_core::Compilation::Eager,
            ..config.clone()
        }
    }
}

use module::{JitCompiled, JitModule, ModuleCode};

pub struct JitEngine {
    config: EngineConfig,
    isa: Result<OwnedTargetIsa, error::IsaError>,
}

impl JitEngine {
    pub fn new(config: EngineConfig) -> Self {
        Self {
            config,
            isa: compile::host_isa(),
        }
    }
}

impl Engine for JitEngine {
    fn kind(&self) -> EngineKind {
        EngineKind::Jit
    }

    fn config(&self) -> &EngineConfig {
        &self.config
    }

    fn compile(&self, module: Arc<ValidatedModule>) -> Result<Arc<dyn CompiledModule>, LinkError> {
        self.config.check_features_of(&module)?;
        let isa = self
            .isa
            .as_ref()
            .map_err(|e| LinkError::Engine(e.to_string()))?;
        let to_link_error = |e| match e {
            compile::CompileError::TimeLimit => LinkError::CompileTimeLimit,
            other => LinkError::Engine(other.to_string()),
        };
        let inner = if self.config.compilation == wasmtier_core::Compilation::Eager {
            let (info, code) =
                compile::compile_module(&**isa, &module, &self.config).map_err(to_link_error)?;
            JitModule {
                info,
                code: ModuleCode::Eager(code),
            }
        } else {
            let info = module_info::ModuleInfo::new(module.clone(), &self.config)
                .map_err(|e| to_link_error(e.into()))?;
            let lazy =
                lazy::LazyCode::new(isa.clone(), &info, &self.config).map_err(to_link_error)?;
            let inner = Arc::new(JitModule {
                info,
                code: ModuleCode::Lazy(lazy),
            });
            inner
                .compile_multi_result_functions()
                .map_err(to_link_error)?;
            if self.config.compilation == wasmtier_core::Compilation::Concurrent {
                inner.compile_all_in_background();
            }
            return Ok(Arc::new(JitCompiled { module, inner }));
        };
        Ok(Arc::new(JitCompiled {
            module,
            inner: Arc::new(inner),
        }))
    }

    fn new_store(&self, state: Box<dyn Any + Send>) -> Box<dyn Store> {
        Box::new(JitStore::new(&self.config, state))
    }

    fn new_shared_memory(
        &self,
        ty: wasmtier_core::MemoryType,
    ) -> Result<wasmtier_core::SharedMemory, LinkError> {
        if !ty.shared {
            return Err(LinkError::Engine(
                "a shared memory needs a memory type that says `shared`".into(),
            ));
        }
        let strategy = memory_strategy::MemoryStrategy::choose(&ty, &self.config);
        let memory = linear_memory::SharedLinearMemory::new(
            ty,
            strategy,
            linear_memory::MemoryOptions::of(&self.config),
        )
        .map_err(|e| LinkError::ResourceLimit(e.to_string()))?;
        Ok(wasmtier_core::SharedMemory::new(ty, memory))
    }
}
