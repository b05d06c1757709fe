//! The one engine-neutral shape of a host function.
//!
//! Each engine adapts it once: the interpreter wraps it in a `wasmi::Func`,
//! the compiled tiers reach it through a trampoline. Host code sees only the
//! calling instance's linear memory as bytes and the store's host state.

use std::any::Any;
use std::cell::UnsafeCell;
use std::fmt;
use std::sync::Arc;

use crate::trap::Trap;
use crate::types::{FuncType, GlobalType, MemoryType, TableType, Val};

/// What a host function can reach while it runs.
pub struct HostContext<'a> {
    /// The caller's exported `memory`, if it has one.
    pub memory: Option<HostMemory<'a>>,
    /// The store's host state (for WASI: the WASI context).
    pub state: &'a mut (dyn Any + Send),
}

/// A guest's linear memory as host code sees it during a call.
pub enum HostMemory<'a> {
    /// Only this call can reach it: an ordinary slice.
    Unshared(&'a mut [u8]),
    /// A shared memory (threads proposal), which other threads may read
    /// and write during the call: host code must copy in and out (wiggle's
    /// `GuestMemory::Shared` does) and never hold a `&[u8]` into it.
    Shared(&'a [UnsafeCell<u8>]),
}

impl HostMemory<'_> {
    /// The same memory, for a shorter borrow.
    pub fn reborrow<'b>(&'b mut self) -> HostMemory<'b> {
        match self {
            Self::Unshared(bytes) => HostMemory::Unshared(bytes),
            Self::Shared(cells) => HostMemory::Shared(cells),
        }
    }

    /// The accessible size in bytes.
    pub fn len(&self) -> usize {
        match self {
            Self::Unshared(bytes) => bytes.len(),
            Self::Shared(cells) => cells.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies `out.len()` bytes at `offset` into `out`; `false` (and no
    /// copy) if they are not all inside the memory.
    pub fn read(&self, offset: usize, out: &mut [u8]) -> bool {
        let Some(end) = offset.checked_add(out.len()).filter(|&e| e <= self.len()) else {
            return false;
        };
        match self {
            Self::Unshared(bytes) => out.copy_from_slice(&bytes[offset..end]),
            // SAFETY: `offset..end` is inside the memory; a byte-wise copy
            // of racing bytes gives some value for each, as Wasm's own
            // unsynchronized reads would.
            Self::Shared(cells) => unsafe {
                std::ptr::copy(
                    cells[offset..end].as_ptr().cast::<u8>(),
                    out.as_mut_ptr(),
                    out.len(),
                )
            },
        }
        true
    }

    /// Copies `data` into the memory at `offset`; `false` (and no copy) if
    /// it does not fit.
    pub fn write(&mut self, offset: usize, data: &[u8]) -> bool {
        let Some(end) = offset.checked_add(data.len()).filter(|&e| e <= self.len()) else {
            return false;
        };
        match self {
            Self::Unshared(bytes) => bytes[offset..end].copy_from_slice(data),
            // SAFETY: as in `read`; the cells allow writes through `&`.
            Self::Shared(cells) => unsafe {
                std::ptr::copy(
                    data.as_ptr(),
                    UnsafeCell::raw_get(cells[offset..end].as_ptr()),
                    data.len(),
                )
            },
        }
        true
    }
}

/// A shared linear memory (threads proposal) as an engine made it: every
/// store that imports it reaches the same bytes, from any thread. The
/// handle is engine-neutral; only the engine that made it can import it.
#[derive(Clone)]
pub struct SharedMemory {
    ty: MemoryType,
    inner: Arc<dyn Any + Send + Sync>,
}

impl SharedMemory {
    /// Wraps an engine's own shared-memory object of type `ty`.
    pub fn new(ty: MemoryType, inner: Arc<dyn Any + Send + Sync>) -> Self {
        Self { ty, inner }
    }

    /// The type it was created with (its minimum is the size at creation).
    pub fn ty(&self) -> MemoryType {
        self.ty
    }

    /// The engine's object, if it is a `T`.
    pub fn downcast<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.inner.clone().downcast::<T>().ok()
    }
}

impl fmt::Debug for SharedMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedMemory")
            .field("ty", &self.ty)
            .finish_non_exhaustive()
    }
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
    /// A fresh, zeroed memory of this type (shared if the type says so).
    Memory(MemoryType),
    /// An existing shared memory, the same bytes in every store that
    /// imports it ([`crate::Engine::new_shared_memory`]).
    SharedMemory(SharedMemory),
}
