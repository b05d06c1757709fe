//! A compiled module as the JIT and AOT tiers hand it out. Its own file so
//! the store, instances and the code map use it without importing the
//! crate root (which imports them).

use std::any::Any;
use std::sync::Arc;

use wasmtier_core::{CompiledModule, ValidatedModule};

use crate::compile::CompiledCode;
use crate::module_info::ModuleInfo;

/// A compiled module: metadata plus code.
pub(crate) struct JitModule {
    pub info: ModuleInfo,
    pub code: CompiledCode,
}

impl JitModule {
    /// The function whose code contains `offset` (relative to the code
    /// base), if it is a Wasm function.
    pub fn func_at(&self, offset: u32) -> Option<u32> {
        let defined = self.code.function_at(offset)?;
        Some(self.info.module.num_imported_funcs() + defined as u32)
    }
}

pub(crate) struct JitCompiled {
    pub module: Arc<ValidatedModule>,
    pub inner: Arc<JitModule>,
}

impl CompiledModule for JitCompiled {
    fn module(&self) -> &Arc<ValidatedModule> {
        &self.module
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
