//! The data structures generated code reads and writes at fixed offsets.
//!
//! Everything here is `#[repr(C)]` and its layout is pinned by the tests at
//! the bottom. Only `translate::func_env` turns these offsets into Cranelift
//! IR; the runtime side (`instance`, `builtins`) uses the Rust fields.
//!
//! A VM context is per instance. It holds pointers to arrays that stay put
//! for the instance's whole life (boxed slices that are never resized):
//! entries of those arrays point at store-owned objects, so an imported
//! memory, table or global is the same object the exporter uses.

use std::mem::offset_of;
use std::sync::atomic::AtomicU64;

/// Bumped whenever a layout here (or anything else generated code assumes
/// about the runtime) changes; AOT artifacts record it and are refused by a
/// build with another value.
pub const VM_LAYOUT_VERSION: u32 = 9;

/// State shared by every instance of one store.
#[repr(C)]
#[derive(Debug, Default)]
pub struct VMStoreContext {
    /// Generated code traps with "call stack exhausted" when the stack
    /// pointer would go below this address (`translate::stack_check`;
    /// each instance's context holds a copy).
    pub stack_limit: usize,
    /// Fuel left; generated code traps when it drops below zero (only
    /// code compiled with fuel metering reads it).
    pub fuel: i64,
    /// Frame pointer of the generated frame that last called a builtin or
    /// host function (for backtraces of traps raised there).
    pub last_exit_fp: usize,
    /// Start of the Wasm function that last called a builtin (0 when the
    /// caller was a host adapter).
    pub last_exit_pc: usize,
    /// Address of the store's interrupt counter (an `AtomicU64` the timer
    /// thread bumps when the deadline passes); 0 without a deadline. Code
    /// compiled with interrupt checks traps with "interrupted" when the
    /// counter is not zero.
    pub interrupt: usize,
    /// Base of the store's GC heap (objects are offsets from it); null
    /// until a module with struct or array types is instantiated, then
    /// fixed.
    pub gc_heap_base: usize,
    /// The GC heap's object-start map (one byte per 8 bytes, 1 where an
    /// object starts), which inline allocation writes; fixed like the base.
    pub gc_starts: usize,
    /// The window of zeroed GC heap generated code allocates from inline.
    pub gc: VMGcCursor,
    /// Return address of the last call from generated code to a builtin
    /// that may collect garbage (written by that builtin's entry stub,
    /// `arch::gc_entry`): with `last_exit_fp`, where the collector's walk
    /// of the Wasm frames starts.
    pub gc_exit_pc: usize,
}

/// Where generated code allocates GC objects: it bumps `cursor` (a heap
/// offset) by the object's size while that stays within `end`, and calls
/// the `gc_alloc` builtin otherwise (which refills the window, collecting
/// when due).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct VMGcCursor {
    pub cursor: u64,
    pub end: u64,
}

/// A linear memory as generated code sees it.
#[repr(C)]
#[derive(Debug)]
pub struct VMMemory {
    /// Never changes for a shared memory (threads proposal).
    pub base: *mut u8,
    /// Accessible bytes. Atomic because a shared memory grows while other
    /// threads run code that reads it (plain loads of an aligned `u64`).
    pub length: AtomicU64,
}

/// A table as generated code sees it: `length` 8-byte elements. A funcref
/// element is a `*const VMFuncRef` (0 = null); an externref element is the
/// host's number plus one (0 = null).
#[repr(C)]
#[derive(Debug)]
pub struct VMTable {
    pub base: *mut u64,
    pub length: u64,
}

/// One global's storage, wide enough for a `v128`.
#[repr(C, align(16))]
#[derive(Debug, Clone, Copy, Default)]
pub struct VMGlobal {
    pub bytes: [u8; 16],
}

impl VMGlobal {
    pub fn from_bits(bits: u128) -> Self {
        Self {
            bytes: bits.to_le_bytes(),
        }
    }

    pub fn bits(&self) -> u128 {
        u128::from_le_bytes(self.bytes)
    }
}

/// A callable function: its code, the context it expects as its first
/// argument, and its store-wide signature id (checked by `call_indirect`).
///
/// Code follows the Wasm calling convention of this crate:
/// `(callee_vmctx, caller_vmctx, params…) -> results`, Cranelift's `tail`
/// convention.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMFuncRef {
    pub code: *const u8,
    /// A `VMContext` for Wasm functions, a `VMHostFunc` for host functions.
    pub vmctx: *mut u8,
    pub type_id: u64,
}

/// Every builtin generated code calls, in one list: its field in
/// [`VMBuiltins`], its [`Builtin`] name, and its parameters and result.
/// The list generates the `VMBuiltins` struct, the `Builtin` enum with its
/// offsets, the Cranelift signature the translator calls it with
/// (`translate::func_env::builtin_signature`) and the static table that
/// points at the `extern "C"` functions (`builtins::BUILTINS`), so the
/// four cannot disagree: a function whose Rust signature does not match its
/// line here does not compile. Adding a builtin is one line here plus its
/// function in `builtins.rs`.
///
/// Parameter types are the tokens of [`builtin_rust_type`] (`vmctx`,
/// `host_func`, `values`, `u32`, `u64`); at most one result.
macro_rules! foreach_builtin {
    ($m:ident) => {
        $m! {
            /// `(vmctx, memory, delta_pages) -> old_pages or -1`
            memory_grow MemoryGrow(vmctx: vmctx, memory: u32, delta: u64) -> u64;
            /// `(vmctx, memory, dst, byte, len)`; traps when out of bounds.
            memory_fill MemoryFill(vmctx: vmctx, memory: u32, dst: u64, value: u32, len: u64);
            /// `(vmctx, dst_memory, src_memory, dst, src, len)`
            memory_copy MemoryCopy(vmctx: vmctx, dst_memory: u32, src_memory: u32, dst: u64, src: u64, len: u64);
            /// `(vmctx, memory, data, dst, src, len)`
            memory_init MemoryInit(vmctx: vmctx, memory: u32, data: u32, dst: u64, src: u32, len: u32);
            /// `(vmctx, data)`
            data_drop DataDrop(vmctx: vmctx, data: u32);
            /// `(vmctx, table, delta, init) -> old_size or -1`
            table_grow TableGrow(vmctx: vmctx, table: u32, delta: u64, init: u64) -> u64;
            /// `(vmctx, table, dst, value, len)`
            table_fill TableFill(vmctx: vmctx, table: u32, dst: u64, value: u64, len: u64);
            /// `(vmctx, dst_table, src_table, dst, src, len)`
            table_copy TableCopy(vmctx: vmctx, dst_table: u32, src_table: u32, dst: u64, src: u64, len: u64);
            /// `(vmctx, table, elem, dst, src, len)`
            table_init TableInit(vmctx: vmctx, table: u32, elem: u32, dst: u64, src: u32, len: u32);
            /// `(vmctx, elem)`
            elem_drop ElemDrop(vmctx: vmctx, elem: u32);
            /// `(host_func, caller_vmctx, values)`: the one path into host code.
            host_call HostCall(func: host_func, caller: vmctx, values: values);
            /// `(vmctx, tag) -> exception`: a new exception of the instance's
            /// tag `tag`, its payload left for the caller to write.
            exn_new ExnNew(vmctx: vmctx, tag: u32) -> u64;
            /// `(vmctx, exception)`: frees a caught exception unless Wasm
            /// holds it as an `exnref`.
            exn_release ExnRelease(vmctx: vmctx, exception: u64);
            /// `(vmctx, exception)`: throws, never returning. Generated code
            /// calls it with Cranelift's tail convention, whose `try_call`
            /// exceptional edges clobber every register, which is what
            /// resuming in a handler assumes; the stub reads its arguments
            /// from that convention's registers (`arch::throw_stub`).
            throw Throw(vmctx: vmctx, exception: u64);
            /// `(vmctx, actual, expected)`: traps unless canonical type
            /// `actual` is a subtype of `expected` (`call_indirect`'s slow path).
            type_check TypeCheck(vmctx: vmctx, actual: u64, expected: u64);
            /// `(vmctx, function)`: baseline code asks for the optimized
            /// version of function `function` of the caller's module.
            tier_up TierUp(vmctx: vmctx, function: u32);
            /// `(vmctx, memory, address, expected, timeout_ns) -> 0 woken,
            /// 1 not equal, 2 timed out`: `address` is native, bounds- and
            /// alignment-checked by the caller; a negative timeout waits
            /// forever. Traps on an unshared memory.
            memory_atomic_wait32 MemoryAtomicWait32(vmctx: vmctx, memory: u32, address: u64, expected: u32, timeout: u64) -> u32;
            /// As `memory_atomic_wait32`, for a 64-bit value.
            memory_atomic_wait64 MemoryAtomicWait64(vmctx: vmctx, memory: u32, address: u64, expected: u64, timeout: u64) -> u32;
            /// `(vmctx, memory, address, count) -> woken`: wakes up to
            /// `count` waiters on the native `address`.
            memory_atomic_notify MemoryAtomicNotify(vmctx: vmctx, memory: u32, address: u64, count: u32) -> u32;
            /// `(vmctx, type, length) -> reference`: a zeroed struct or
            /// array of the module's type `type` (`length` elements; 0 for
            /// a struct), collecting garbage first if due. Traps when the
            /// GC heap cannot hold it. Called through its entry stub.
            gc_alloc GcAlloc(vmctx: vmctx, ty: u32, length: u32) -> u64;
            /// `(vmctx, type, data, offset, length) -> reference`:
            /// `array.new_data`. Called through its entry stub.
            gc_array_new_data GcArrayNewData(vmctx: vmctx, ty: u32, data: u32, offset: u32, length: u32) -> u64;
            /// `(vmctx, type, elem, offset, length) -> reference`:
            /// `array.new_elem`. Called through its entry stub.
            gc_array_new_elem GcArrayNewElem(vmctx: vmctx, ty: u32, elem: u32, offset: u32, length: u32) -> u64;
            /// `(vmctx, element size, dst, dst_index, src, src_index, length)`:
            /// `array.copy` between non-null arrays (overlap allowed).
            gc_array_copy GcArrayCopy(vmctx: vmctx, element_size: u32, dst: u64, dst_index: u32, src: u64, src_index: u32, length: u32);
            /// `(vmctx, type, array, dst_index, data, offset, length)`:
            /// `array.init_data` of a non-null array.
            gc_array_init_data GcArrayInitData(vmctx: vmctx, ty: u32, array: u64, dst_index: u32, data: u32, offset: u32, length: u32);
            /// `(vmctx, array, dst_index, elem, offset, length)`:
            /// `array.init_elem` of a non-null array.
            gc_array_init_elem GcArrayInitElem(vmctx: vmctx, array: u64, dst_index: u32, elem: u32, offset: u32, length: u32);
            /// `(vmctx, actual, expected) -> 1 if subtype else 0`, on
            /// canonical type ids (casts to types that are not final).
            gc_is_subtype GcIsSubtype(vmctx: vmctx, actual: u32, expected: u32) -> u32;
            /// `(vmctx, function, loop) -> entry or 0`: baseline code of
            /// function `function` has looped at the header of its loop
            /// `loop` until its tier-up count ran out; the optimized entry
            /// there, when one is compiled (on-stack replacement).
            osr_poll OsrPoll(vmctx: vmctx, function: u32, loop_index: u32) -> u64;
        }
    };
}
pub(crate) use foreach_builtin;

/// The Rust type of a builtin parameter token of [`foreach_builtin`].
macro_rules! builtin_rust_type {
    (vmctx) => { *mut $crate::vmcontext::VMContext };
    (host_func) => { *mut $crate::vmcontext::VMHostFunc };
    (values) => { *mut u128 };
    (u32) => { u32 };
    (u64) => { u64 };
}

macro_rules! define_builtins {
    ($(
        $(#[$doc:meta])*
        $name:ident $variant:ident($($param:ident: $ty:ident),*) $(-> $ret:ident)?;
    )*) => {
        /// The builtin functions generated code calls, in a fixed table
        /// reached through every VM context. All use the platform's C
        /// calling convention.
        #[repr(C)]
        pub struct VMBuiltins {
            $(
                $(#[$doc])*
                pub $name: unsafe extern "C" fn($(builtin_rust_type!($ty)),*) $(-> builtin_rust_type!($ret))?,
            )*
        }

        /// A builtin, named for the translator.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Builtin {
            $($variant,)*
        }

        impl Builtin {
            /// Every builtin, in table order.
            #[cfg(test)]
            pub const ALL: &[Builtin] = &[$(Builtin::$variant,)*];

            /// Offset of its function pointer in [`VMBuiltins`].
            pub const fn offset(self) -> i32 {
                (match self {
                    $(Self::$variant => offset_of!(VMBuiltins, $name),)*
                }) as i32
            }
        }
    };
}
foreach_builtin!(define_builtins);

/// What a host function's `VMFuncRef::vmctx` points at.
#[repr(C)]
#[derive(Debug)]
pub struct VMHostFunc {
    /// Index of the function in the store's host-function list.
    pub index: u64,
}

/// One instance's context: the first argument of every Wasm function.
#[repr(C)]
#[derive(Debug)]
pub struct VMContext {
    pub store: *mut VMStoreContext,
    pub builtins: *const VMBuiltins,
    /// Every function of the module, imports first.
    pub funcs: *const VMFuncRef,
    /// Every memory, imports first.
    pub memories: *const *mut VMMemory,
    pub tables: *const *mut VMTable,
    pub globals: *const *mut VMGlobal,
    /// Store-wide signature id of each type index.
    pub sig_ids: *const u64,
    /// This instance's own globals, contiguous: one load fewer than going
    /// through `globals` (C's stack pointer is read in most prologues).
    pub defined_globals: *mut VMGlobal,
    /// Base of memory 0 when it is a reservation (its base never moves);
    /// null otherwise. Saves two dependent loads in every function that
    /// touches memory.
    pub memory0_base: *mut u8,
    /// The runtime instance that owns this context (opaque to generated code).
    pub instance: *mut u8,
    /// The store's `stack_limit`, copied into every instance of the store
    /// at each entry into Wasm: the stack check in every function that
    /// calls is then one load from the context it already has.
    pub stack_limit: usize,
}

/// Byte offsets generated code uses, in one place.
pub mod offsets {
    use super::*;

    pub const STORE_FUEL: i32 = offset_of!(VMStoreContext, fuel) as i32;
    pub const STORE_LAST_EXIT_FP: i32 = offset_of!(VMStoreContext, last_exit_fp) as i32;
    pub const STORE_LAST_EXIT_PC: i32 = offset_of!(VMStoreContext, last_exit_pc) as i32;
    pub const STORE_INTERRUPT: i32 = offset_of!(VMStoreContext, interrupt) as i32;
    pub const STORE_GC_HEAP_BASE: i32 = offset_of!(VMStoreContext, gc_heap_base) as i32;
    pub const STORE_GC_EXIT_PC: i32 = offset_of!(VMStoreContext, gc_exit_pc) as i32;
    pub const STORE_GC_STARTS: i32 = offset_of!(VMStoreContext, gc_starts) as i32;
    pub const STORE_GC_CURSOR: i32 =
        (offset_of!(VMStoreContext, gc) + offset_of!(VMGcCursor, cursor)) as i32;
    pub const STORE_GC_END: i32 =
        (offset_of!(VMStoreContext, gc) + offset_of!(VMGcCursor, end)) as i32;

    pub const VMCTX_STORE: i32 = offset_of!(VMContext, store) as i32;
    pub const VMCTX_BUILTINS: i32 = offset_of!(VMContext, builtins) as i32;
    pub const VMCTX_FUNCS: i32 = offset_of!(VMContext, funcs) as i32;
    pub const VMCTX_MEMORIES: i32 = offset_of!(VMContext, memories) as i32;
    pub const VMCTX_TABLES: i32 = offset_of!(VMContext, tables) as i32;
    pub const VMCTX_GLOBALS: i32 = offset_of!(VMContext, globals) as i32;
    pub const VMCTX_SIG_IDS: i32 = offset_of!(VMContext, sig_ids) as i32;
    pub const VMCTX_DEFINED_GLOBALS: i32 = offset_of!(VMContext, defined_globals) as i32;
    pub const VMCTX_MEMORY0_BASE: i32 = offset_of!(VMContext, memory0_base) as i32;
    pub const VMCTX_STACK_LIMIT: i32 = offset_of!(VMContext, stack_limit) as i32;

    pub const MEMORY_BASE: i32 = offset_of!(VMMemory, base) as i32;
    pub const MEMORY_LENGTH: i32 = offset_of!(VMMemory, length) as i32;
    pub const TABLE_BASE: i32 = offset_of!(VMTable, base) as i32;
    pub const TABLE_LENGTH: i32 = offset_of!(VMTable, length) as i32;

    pub const FUNCREF_CODE: i32 = offset_of!(VMFuncRef, code) as i32;
    pub const FUNCREF_VMCTX: i32 = offset_of!(VMFuncRef, vmctx) as i32;
    pub const FUNCREF_TYPE_ID: i32 = offset_of!(VMFuncRef, type_id) as i32;
    pub const FUNCREF_SIZE: i64 = size_of::<VMFuncRef>() as i64;

    pub const POINTER_SIZE: i64 = 8;
    pub const GLOBAL_SIZE: i64 = size_of::<VMGlobal>() as i64;
    pub const TABLE_ELEMENT_SIZE: i64 = 8;
    /// Bytes per slot of the values buffer of trampolines and host calls.
    pub const VALUE_SLOT_SIZE: i64 = 16;
}

#[cfg(test)]
mod tests {
    use super::offsets::*;
    use super::*;

    #[test]
    fn vmcontext_layout_is_pinned() {
        assert_eq!(VMCTX_STORE, 0);
        assert_eq!(VMCTX_BUILTINS, 8);
        assert_eq!(VMCTX_FUNCS, 16);
        assert_eq!(VMCTX_MEMORIES, 24);
        assert_eq!(VMCTX_TABLES, 32);
        assert_eq!(VMCTX_GLOBALS, 40);
        assert_eq!(VMCTX_SIG_IDS, 48);
        assert_eq!(VMCTX_DEFINED_GLOBALS, 56);
        assert_eq!(VMCTX_MEMORY0_BASE, 64);
        assert_eq!(offset_of!(VMContext, instance), 72);
        assert_eq!(VMCTX_STACK_LIMIT, 80);
        assert_eq!(size_of::<VMContext>(), 88);
    }

    #[test]
    fn store_context_layout_is_pinned() {
        assert_eq!(offset_of!(VMStoreContext, stack_limit), 0);
        assert_eq!(STORE_FUEL, 8);
        assert_eq!((STORE_LAST_EXIT_FP, STORE_LAST_EXIT_PC), (16, 24));
        assert_eq!(STORE_INTERRUPT, 32);
        assert_eq!((STORE_GC_HEAP_BASE, STORE_GC_STARTS), (40, 48));
        assert_eq!(
            (STORE_GC_CURSOR, STORE_GC_END, STORE_GC_EXIT_PC),
            (56, 64, 72)
        );
        assert_eq!(size_of::<VMStoreContext>(), 80);
    }

    #[test]
    fn memory_table_and_funcref_layouts_are_pinned() {
        assert_eq!((MEMORY_BASE, MEMORY_LENGTH), (0, 8));
        assert_eq!((TABLE_BASE, TABLE_LENGTH), (0, 8));
        assert_eq!((FUNCREF_CODE, FUNCREF_VMCTX, FUNCREF_TYPE_ID), (0, 8, 16));
        assert_eq!(FUNCREF_SIZE, 24);
        assert_eq!(size_of::<VMGlobal>(), 16);
        assert_eq!(align_of::<VMGlobal>(), 16);
    }

    #[test]
    fn builtins_are_consecutive_pointers() {
        assert_eq!(Builtin::MemoryGrow.offset(), 0);
        assert_eq!(Builtin::HostCall.offset(), 80);
        assert_eq!(Builtin::Throw.offset(), 104);
        assert_eq!(Builtin::TypeCheck.offset(), 112);
        assert_eq!(Builtin::TierUp.offset(), 120);
        assert_eq!(Builtin::MemoryAtomicNotify.offset(), 144);
        assert_eq!(Builtin::GcAlloc.offset(), 152);
        assert_eq!(size_of::<VMBuiltins>(), 216);
        for (i, builtin) in Builtin::ALL.iter().enumerate() {
            assert_eq!(builtin.offset() as usize, i * size_of::<usize>());
        }
    }
}
