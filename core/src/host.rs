//! The one engine-neutral shape of a host function.
//!
//! Each engine adapts it once: the interpreter wraps it in a `wasmi::Func`,
//! the compiled tiers reach it through a trampoline. Host code sees only the
//! calling instance's linear memory as bytes and the store's host state.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use crate::trap::Trap;
use crate::types::{FuncType, GlobalType, MemoryType, TableType, Val};

/// What a host function can reach while it runs.
pub struct HostContext<'a> {
    /// The caller's exported `memory`, if it has one.
    pub memory: Option<&'a mut [u8]>,
    /// The store's host state (for WASI: the WASI context).
    pub state: &'a mut (dyn Any + Send),
}

/// The body of a host function: arguments in, results written to the slice
/// (sized and typed by the function's signature).
pub type HostFn =
    dyn Fn(&mut HostContext<'_>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync;

#[derive(Clone)]
pub struct HostFunc {
    pub ty: FuncType,
    pub func: Arc<HostFn>,
}

impl HostFunc {
    pub fn new(
        ty: FuncType,
        func: impl Fn(&mut HostContext<'_>, &[Val], &mut [Val]) -> Result<(), Trap>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        Self {
            ty,
            func: Arc::new(func),
        }
    }
}

impl fmt::Debug for HostFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostFunc")
            .field("ty", &self.ty)
            .finish_non_exhaustive()
    }
}

/// Something the host defines for modules to import.
#[derive(Debug, Clone)]
pub enum HostItem {
    Func(HostFunc),
    Global {
        ty: GlobalType,
        value: Val,
    },
    /// A fresh table of this type, filled with nulls.
    Table(TableType),
    /// A fresh, zeroed memory of this type.
    Memory(MemoryType),
}
