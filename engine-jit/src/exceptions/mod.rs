//! Wasm exceptions at run time: tags, exception objects, and the search
//! for the handler a throw lands in.
//!
//! Generated code calls every function that may throw from inside a
//! `try_table` with Cranelift's `try_call`, whose exception table records,
//! per call site, the handlers in scope (tag or catch-all, innermost first)
//! and where the caller's `vmctx` was saved (tags are module indices,
//! resolved through that instance). A throw enters the runtime through
//! the architecture's throw stub, which hands over the thrower's return
//! address and frame pointer. [`throw_from_wasm`] then walks the chain of
//! frame pointers (every Wasm frame keeps one) up to the innermost entry
//! into Wasm, and either resumes at the first matching handler with the
//! frame's stack and frame pointers restored and the exception in the
//! first payload register, or ends the call as an uncaught exception.
//! Nothing is paid on paths that do not throw: a `try_call` is a call.
//!
//! Design and measurements: `RATIONALE.md`, "Exceptions".

use std::collections::HashMap;

use wasmtier_core::{FuncType, Trap, TrapCode, TypeId};

use crate::runtime::StoreRuntime;
use crate::signals;
use crate::vmcontext::VMContext;

use crate::arch;

pub use arch::throw_stub;

/// A tag instance. Its address is its identity: an imported tag is the
/// exporter's object, so both modules' handlers match it.
#[derive(Debug)]
pub struct Tag {
    pub ty: FuncType,
    /// Its canonical type: imports of a tag match by it.
    pub id: TypeId,
    /// How messages name it: an export or import name, else its index.
    pub name: String,
}

/// The layout of an exception object: 16-byte slots, the first a header
/// (the tag's address in its low 8 bytes, then a word that is non-zero
/// once the object has been handed to Wasm as an `exnref`), then one slot
/// per payload value in the slot format of the values buffers.
pub mod layout {
    pub const EXPOSED: i32 = 8;
    /// Offset of payload value `index`.
    pub const fn value(index: usize) -> i32 {
        (16 + 16 * index) as i32
    }
}

/// The most exception objects one store keeps alive. An exception caught
/// by `catch`/`catch_all` is freed at once; one handed to Wasm as an
/// `exnref` (`catch_ref`, `catch_all_ref`) lives until the store is dropped,
/// since nothing here can tell when Wasm lets go of it.
pub const MAX_LIVE_EXCEPTIONS: usize = 1 << 20;

/// A store's exception objects, owned here and handed to generated code
/// as addresses.
#[derive(Default)]
pub struct ExceptionObjects {
    live: HashMap<usize, Box<[u128]>>,
}

impl ExceptionObjects {
    /// A fresh exception of `tag` with room for its payload, or `None` at
    /// the store's limit.
    pub fn allocate(&mut self, tag: *const Tag, values: usize) -> Option<usize> {
        if self.live.len() >= MAX_LIVE_EXCEPTIONS {
            return None;
        }
        let mut object = vec![0u128; 1 + values].into_boxed_slice();
        object[0] = tag as usize as u128;
        let address = object.as_ptr() as usize;
        self.live.insert(address, object);
        Some(address)
    }

    /// Whether `address` is a live exception of this store (host-supplied
    /// references are checked against this before code sees them).
    pub fn contains(&self, address: usize) -> bool {
        self.live.contains_key(&address)
    }

    /// The tag of live exception `address`.
    pub fn tag_of(&self, address: usize) -> Option<*const Tag> {
        let header = *self.live.get(&address)?.first()?;
        Some(header as u64 as usize as *const Tag)
    }

    /// Adds the payload values of every live exception that may be GC
    /// objects (roots of the collector).
    pub fn gc_roots(&self, out: &mut Vec<u64>) {
        for object in self.live.values() {
            let tag = object[0] as u64 as usize as *const Tag;
            // SAFETY: an exception's tag lives as long as the store.
            let params = unsafe { &(*tag).ty.params };
            for (ty, value) in params.iter().zip(&object[1..]) {
                if crate::gc::layout::is_traced_type(*ty) {
                    out.push(*value as u64);
                }
            }
        }
    }

    /// Frees exception `address` unless Wasm holds it as an `exnref`.
    pub fn release(&mut self, address: usize) {
        let exposed = self
            .live
            .get(&address)
            .and_then(|object| object.first())
            .is_some_and(|header| (header >> 64) != 0);
        if !exposed {
            self.live.remove(&address);
        }
    }
}

/// The runtime half of `throw` and `throw_ref`: called by the throw stub
/// with the thrower's `vmctx`, the exception's address (0 for a null
/// `exnref`), and the return address and frame pointer of the throwing
/// Wasm frame.
///
/// # Safety
/// Only reached from the throw stub called by generated code, inside
/// `signals::call`. Its frames hold nothing that needs dropping when it
/// leaves, by resuming in a handler or unwinding to the entry.
pub unsafe extern "C" fn throw_from_wasm(
    vmctx: *mut VMContext,
    exception: u64,
    pc: usize,
    fp: usize,
) -> ! {
    let exception = exception as usize;
    // SAFETY: generated code passes its own live vmctx, whose store
    // context is the first field of the store's runtime record.
    let tag = unsafe {
        let runtime = &*(*vmctx).store.cast::<StoreRuntime>();
        runtime.exceptions.tag_of(exception)
    };
    let Some(tag) = tag else {
        // SAFETY: as above; nothing on this frame needs dropping.
        unsafe { signals::raise(Trap::code(TrapCode::NullReference), fp, pc) }
    };
    // SAFETY: the frames from `fp` up to the entry are live Wasm (or
    // trampoline) frames on this thread; the search reads saved frame
    // pointers and return addresses only below the activation's top.
    let found = unsafe { signals::find_handler(pc, fp, tag) };
    match found {
        Some(handler) => {
            // SAFETY: `handler` is a landing pad of a frame above us, found
            // in the exception tables of the code that frame runs.
            unsafe { arch::resume(handler, exception) }
        }
        None => {
            // SAFETY: tags live as long as the store.
            let name = unsafe { (*tag).name.clone() };
            // SAFETY: as above.
            unsafe { signals::raise(Trap::uncaught_exception(name), fp, pc) }
        }
    }
}

/// Where a handler resumes: its landing pad and the frame to resume in
/// (see `arch::resume`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handler {
    pub pc: usize,
    pub sp: usize,
    pub fp: usize,
}
