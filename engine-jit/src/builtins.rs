//! The functions generated code calls through `VMBuiltins`, and the one
//! host trampoline.
//!
//! Each builtin turns its `vmctx` back into the owning [`Instance`], does
//! its work in an inner function that returns `Result`, and only then, with
//! nothing left to drop, leaves through `signals::raise` on failure.

use std::panic::{AssertUnwindSafe, catch_unwind};

use wasmtier_core::{HostContext, HostMemory, Trap, TrapCode, Val, canon};

use crate::atomics_wait::{self, Expected};
use crate::exceptions::MAX_LIVE_EXCEPTIONS;
pub(crate) use crate::exceptions::throw_stub as throw;
use crate::gc::runtime::entry::{gc_alloc, gc_array_new_data, gc_array_new_elem};
use crate::gc::runtime::{gc_array_copy, gc_array_init_data, gc_array_init_elem, gc_is_subtype};
use crate::instance::Instance;
use crate::runtime::{HostFuncRecord, StoreRuntime};
use crate::signals;
use crate::values::from_raw;
use crate::vmcontext::{VMBuiltins, VMContext, VMHostFunc, foreach_builtin};

macro_rules! define_table {
    ($($(#[$doc:meta])* $name:ident $variant:ident($($param:ident: $ty:ident),*) $(-> $ret:ident)?;)*) => {
        /// Each field is the function of the same name below; its type is
        /// the field's, generated from the same list as the signature the
        /// translator calls it with.
        pub static BUILTINS: VMBuiltins = VMBuiltins { $($name,)* };
    };
}
foreach_builtin!(define_table);

/// # Safety
/// `vmctx` must be the context of a live instance, passed by generated code.
unsafe fn instance<'a>(vmctx: *mut VMContext) -> &'a mut Instance {
    // SAFETY: `instance` points back at the boxed instance owning `vmctx`.
    unsafe { &mut *(*vmctx).instance.cast::<Instance>() }
}

/// Leaves Wasm with `code` if `result` failed.
///
/// # Safety
/// Only for builtins invoked by generated code with their own `vmctx`,
/// whose frames hold nothing to drop at this point.
unsafe fn check(vmctx: *mut VMContext, result: Result<(), TrapCode>) {
    if let Err(code) = result {
        // SAFETY: the caller's contract; the store context is live and
        // holds the exit frame generated code recorded before the call.
        unsafe {
            let store = &*(*vmctx).store;
            signals::raise(Trap::code(code), store.last_exit_fp, store.last_exit_pc)
        }
    }
}

/// `start..start + len` within `size`, as a range, or the trap.
fn span(
    start: u64,
    len: u64,
    size: usize,
    trap: TrapCode,
) -> Result<std::ops::Range<usize>, TrapCode> {
    let end = start.checked_add(len).ok_or(trap)?;
    if end > size as u64 {
        return Err(trap);
    }
    Ok(start as usize..end as usize)
}

/// Bytes a bulk operation (`memory.fill/copy/init`) moves per unit of fuel;
/// table operations move 8-byte elements, so one unit per 8 elements. The
/// operator itself costs one unit like any other, in generated code.
const BULK_BYTES_PER_FUEL: u64 = 64;
const BULK_ELEMENTS_PER_FUEL: u64 = BULK_BYTES_PER_FUEL / 8;

/// Charges a bulk operation of `units` units of fuel before it does any
/// work, when the code meters fuel: a `--fuel` budget bounds the bytes a
/// guest can move, not only the number of operators it runs.
///
/// # Safety
/// `vmctx` must be the live context whose instance is `instance`.
unsafe fn charge_bulk(
    vmctx: *mut VMContext,
    instance: &Instance,
    units: u64,
) -> Result<(), TrapCode> {
    if !instance.module.info.fuel || units == 0 {
        return Ok(());
    }
    // SAFETY: the store context outlives every call into its instances,
    // and generated code holds no reference to it during a builtin.
    let store = unsafe { &mut *(*vmctx).store };
    let left = store
        .fuel
        .saturating_sub(i64::try_from(units).unwrap_or(i64::MAX));
    store.fuel = left;
    if left < 0 {
        return Err(TrapCode::OutOfFuel);
    }
    Ok(())
}

unsafe extern "C" fn memory_grow(vmctx: *mut VMContext, memory: u32, delta: u64) -> u64 {
    // SAFETY: generated code passes its own live vmctx.
    let instance = unsafe { instance(vmctx) };
    let memory = instance.memory(memory);
    // SAFETY: a live memory (store-owned, or kept alive by the store's
    // share of a shared one); generated code holds no reference. A shared
    // memory is only ever grown through `&`, under its lock.
    unsafe {
        if (*memory).ty.shared {
            (*memory).grow_shared(delta)
        } else {
            (*memory).grow(delta)
        }
    }
    .unwrap_or(u64::MAX)
}

unsafe extern "C" fn memory_fill(
    vmctx: *mut VMContext,
    memory: u32,
    dst: u64,
    value: u32,
    len: u64,
) {
    // SAFETY: as in `memory_grow`.
    let instance = unsafe { instance(vmctx) };
    // SAFETY: `vmctx` is this instance's own context.
    let result = unsafe { charge_bulk(vmctx, instance, len / BULK_BYTES_PER_FUEL) };
    let memory = instance.memory(memory);
    // SAFETY: a live memory; only raw pointers into its bytes are made, so
    // a shared memory's other threads alias no reference.
    let result = result.and_then(|()| unsafe {
        let (base, length) = ((*memory).vm.base, (*memory).length() as usize);
        span(dst, len, length, TrapCode::MemoryOutOfBounds)
            .map(|range| std::ptr::write_bytes(base.add(range.start), value as u8, range.len()))
    });
    // SAFETY: a builtin called by generated code; nothing left to drop.
    unsafe { check(vmctx, result) };
}

/// `memory.copy` and `table.copy`: `len` elements from `src` in the
/// source buffer to `dst` in the destination buffer, which may be the same
/// buffer with overlapping ranges; the trap if either range is out of
/// bounds (nothing is copied then).
///
/// # Safety
/// Each `(base, len)` must describe a live buffer of `len` elements that
/// nothing else references during the call.
unsafe fn copy_within_bounds<T>(
    (dst_base, dst_len): (*mut T, usize),
    (src_base, src_len): (*mut T, usize),
    [dst, src, len]: [u64; 3],
    trap: TrapCode,
) -> Result<(), TrapCode> {
    let to = span(dst, len, dst_len, trap)?;
    let from = span(src, len, src_len, trap)?;
    // SAFETY: both ranges lie inside their buffers (checked above); only
    // raw pointers are used, so one buffer on both sides aliases no
    // references, and `ptr::copy` allows overlap.
    unsafe { std::ptr::copy(src_base.add(from.start), dst_base.add(to.start), to.len()) };
    Ok(())
}

/// `memory.init` and `table.init`: `len` items of the segment `source`
/// from `src` into `dest` at `dst`, or the trap if either range is out of
/// bounds (the source is checked first, as before; nothing is copied then).
fn init_from<T: Copy>(
    dest: &mut [T],
    source: &[T],
    [dst, src, len]: [u64; 3],
    trap: TrapCode,
) -> Result<(), TrapCode> {
    let from = span(src, len, source.len(), trap)?;
    let to = span(dst, len, dest.len(), trap)?;
    dest[to].copy_from_slice(&source[from]);
    Ok(())
}

unsafe extern "C" fn memory_copy(
    vmctx: *mut VMContext,
    dst_memory: u32,
    src_memory: u32,
    dst: u64,
    src: u64,
    len: u64,
) {
    // SAFETY: as in `memory_grow`.
    let instance = unsafe { instance(vmctx) };
    // SAFETY: `vmctx` is this instance's own context.
    let charged = unsafe { charge_bulk(vmctx, instance, len / BULK_BYTES_PER_FUEL) };
    let (d, s) = (instance.memory(dst_memory), instance.memory(src_memory));
    // SAFETY: both memories are live and their `vm` records describe their
    // accessible bytes.
    let result = charged.and_then(|()| unsafe {
        copy_within_bounds(
            ((*d).vm.base, (*d).length() as usize),
            ((*s).vm.base, (*s).length() as usize),
            [dst, src, len],
            TrapCode::MemoryOutOfBounds,
        )
    });
    // SAFETY: a builtin called by generated code; nothing left to drop.
    unsafe { check(vmctx, result) };
}

unsafe extern "C" fn memory_init(
    vmctx: *mut VMContext,
    memory: u32,
    data: u32,
    dst: u64,
    src: u32,
    len: u32,
) {
    // SAFETY: as in `memory_grow`.
    let instance = unsafe { instance(vmctx) };
    // SAFETY: `vmctx` is this instance's own context.
    let charged = unsafe { charge_bulk(vmctx, instance, u64::from(len) / BULK_BYTES_PER_FUEL) };
    let segment = instance.data[data as usize].clone();
    let module = instance.module.clone();
    let source = &module.info.module.bytes()[segment];
    let memory = instance.memory(memory);
    // SAFETY: a live memory; only a raw pointer into its bytes is made
    // (see `memory_fill`), after both ranges are checked.
    let result = charged.and_then(|()| unsafe {
        let (base, length) = ((*memory).vm.base, (*memory).length() as usize);
        let from = span(
            u64::from(src),
            u64::from(len),
            source.len(),
            TrapCode::MemoryOutOfBounds,
        )?;
        let to = span(dst, u64::from(len), length, TrapCode::MemoryOutOfBounds)?;
        std::ptr::copy_nonoverlapping(source[from].as_ptr(), base.add(to.start), to.len());
        Ok(())
    });
    drop(module);
    // SAFETY: a builtin called by generated code; nothing left to drop.
    unsafe { check(vmctx, result) };
}

unsafe extern "C" fn data_drop(vmctx: *mut VMContext, data: u32) {
    // SAFETY: as in `memory_grow`.
    unsafe { instance(vmctx) }.data[data as usize] = 0..0;
}

unsafe extern "C" fn table_grow(vmctx: *mut VMContext, table: u32, delta: u64, init: u64) -> u64 {
    // SAFETY: as in `memory_grow`; the table is store-owned.
    let table = unsafe { &mut *instance(vmctx).table(table) };
    table.grow(delta, init).unwrap_or(u64::MAX)
}

unsafe extern "C" fn table_fill(vmctx: *mut VMContext, table: u32, dst: u64, value: u64, len: u64) {
    // SAFETY: as in `table_grow`.
    let instance = unsafe { instance(vmctx) };
    // SAFETY: `vmctx` is this instance's own context.
    let charged = unsafe { charge_bulk(vmctx, instance, len / BULK_ELEMENTS_PER_FUEL) };
    // SAFETY: store-owned table; generated code holds no reference.
    let table = unsafe { &mut *instance.table(table) };
    let elements = table.elements_mut();
    let result = charged.and_then(|()| {
        span(dst, len, elements.len(), TrapCode::TableOutOfBounds)
            .map(|range| elements[range].fill(value))
    });
    // SAFETY: a builtin called by generated code; nothing left to drop.
    unsafe { check(vmctx, result) };
}

unsafe extern "C" fn table_copy(
    vmctx: *mut VMContext,
    dst_table: u32,
    src_table: u32,
    dst: u64,
    src: u64,
    len: u64,
) {
    // SAFETY: as in `memory_grow`.
    let instance = unsafe { instance(vmctx) };
    // SAFETY: `vmctx` is this instance's own context.
    let charged = unsafe { charge_bulk(vmctx, instance, len / BULK_ELEMENTS_PER_FUEL) };
    let (d, s) = (instance.table(dst_table), instance.table(src_table));
    // SAFETY: both tables are live and their `vm` records describe their
    // elements.
    let result = charged.and_then(|()| unsafe {
        copy_within_bounds(
            ((*d).vm.base, (*d).vm.length as usize),
            ((*s).vm.base, (*s).vm.length as usize),
            [dst, src, len],
            TrapCode::TableOutOfBounds,
        )
    });
    // SAFETY: a builtin called by generated code; nothing left to drop.
    unsafe { check(vmctx, result) };
}

unsafe extern "C" fn table_init(
    vmctx: *mut VMContext,
    table: u32,
    elem: u32,
    dst: u64,
    src: u32,
    len: u32,
) {
    // SAFETY: as in `memory_grow`.
    let instance = unsafe { instance(vmctx) };
    // SAFETY: `vmctx` is this instance's own context.
    let charged = unsafe { charge_bulk(vmctx, instance, u64::from(len) / BULK_ELEMENTS_PER_FUEL) };
    // SAFETY: store-owned table; the segment is in the instance, disjoint.
    let table = unsafe { &mut *instance.table(table) };
    let source = &instance.elements[elem as usize];
    let elements = table.elements_mut();
    let result = charged.and_then(|()| {
        init_from(
            elements,
            source,
            [dst, u64::from(src), u64::from(len)],
            TrapCode::TableOutOfBounds,
        )
    });
    // SAFETY: a builtin called by generated code; nothing left to drop.
    unsafe { check(vmctx, result) };
}

unsafe extern "C" fn elem_drop(vmctx: *mut VMContext, elem: u32) {
    // SAFETY: as in `memory_grow`.
    unsafe { instance(vmctx) }.elements[elem as usize] = Vec::new();
}

/// `call_indirect` when the element's type is not the expected one: the
/// call goes ahead if it is a declared subtype (the registry walks the
/// supertype chain), else it traps.
unsafe extern "C" fn type_check(vmctx: *mut VMContext, actual: u64, expected: u64) {
    let subtype = match (u32::try_from(actual), u32::try_from(expected)) {
        (Ok(actual), Ok(expected)) => canon::is_subtype_index(actual, expected),
        _ => false,
    };
    let result = if subtype {
        Ok(())
    } else {
        Err(TrapCode::IndirectCallTypeMismatch)
    };
    // SAFETY: a builtin called by generated code; nothing left to drop.
    unsafe { check(vmctx, result) };
}

/// The one way from generated code into a host function.
unsafe extern "C" fn host_call(func: *mut VMHostFunc, caller: *mut VMContext, values: *mut u128) {
    // SAFETY: generated code passes a live host function record, its own
    // vmctx, and a buffer sized for the function's signature.
    let outcome = catch_unwind(AssertUnwindSafe(|| unsafe {
        call_host(func, caller, values)
    }));
    let trap = match outcome {
        Ok(Ok(())) => return,
        Ok(Err(trap)) => trap,
        Err(payload) => {
            let message = wasmtier_core::panic_message(&*payload)
                .unwrap_or_else(|| "host function panicked".into());
            drop(payload);
            Trap::host(message)
        }
    };
    // SAFETY: nothing on this frame needs dropping; `trap` moves out. The
    // host adapter recorded its frame pointer before calling us.
    unsafe {
        let exit_fp = (*(*caller).store).last_exit_fp;
        signals::raise(trap, exit_fp, 0)
    }
}

unsafe fn call_host(
    func: *mut VMHostFunc,
    caller: *mut VMContext,
    values: *mut u128,
) -> Result<(), Trap> {
    // SAFETY: `func` is the `vm` field of a store-owned `HostFuncRecord`.
    let record = unsafe { &*func.cast::<HostFuncRecord>() };
    let ty = &record.func.ty;
    let slots = ty.params.len().max(ty.results.len()).max(1);
    // SAFETY: the host adapter's buffer has `slots` 16-byte slots.
    let values = unsafe { std::slice::from_raw_parts_mut(values, slots) };
    // SAFETY: the caller's store runtime is live; only read here.
    let heap = unsafe { (*(*caller).store.cast::<StoreRuntime>()).gc.heap.as_ref() };
    let args: Vec<Val> = ty
        .params
        .iter()
        .zip(values.iter())
        .map(|(t, raw)| from_raw(*t, *raw, heap))
        .collect();
    let mut results: Vec<Val> = ty.results.iter().map(|t| Val::default_for(*t)).collect();
    // SAFETY: the caller's instance and its store runtime are live; neither
    // is otherwise borrowed while the host function runs.
    let (instance, runtime) = unsafe {
        (
            instance(caller),
            &mut *(*caller).store.cast::<StoreRuntime>(),
        )
    };
    // SAFETY: the exported memory is live and, unless shared, not otherwise
    // borrowed; a shared one is only handed out as cells.
    let memory = instance.exported_memory.map(|m| unsafe {
        if (*m).ty.shared {
            HostMemory::Shared((*m).cells())
        } else {
            HostMemory::Unshared((*m).bytes_mut())
        }
    });
    let mut cx = HostContext {
        memory,
        state: &mut *runtime.state,
    };
    (record.func.func)(&mut cx, &args, &mut results)?;
    for (slot, (value, ty)) in values.iter_mut().zip(results.iter().zip(&ty.results)) {
        *slot = runtime
            .to_slot_typed(value, *ty)
            .ok_or_else(|| Trap::host("host function returned a value of the wrong type"))?;
    }
    Ok(())
}

unsafe extern "C" fn exn_new(vmctx: *mut VMContext, tag: u32) -> u64 {
    // SAFETY: as in `memory_grow`.
    let instance = unsafe { instance(vmctx) };
    let tag = instance.tags[tag as usize];
    // SAFETY: store-owned tags live as long as the store.
    let values = unsafe { (*tag).ty.params.len() };
    // SAFETY: the store context is the first field of the store's runtime
    // record; generated code holds no reference to it during a builtin.
    let runtime = unsafe { &mut *(*vmctx).store.cast::<StoreRuntime>() };
    match runtime.exceptions.allocate(tag, values) {
        Some(address) => address as u64,
        None => {
            let trap = Trap::host(format!(
                "too many live exceptions (the limit is {MAX_LIVE_EXCEPTIONS}): \
                 exceptions caught with catch_ref or catch_all_ref are kept until \
                 the store is dropped"
            ));
            // SAFETY: a builtin called by generated code; nothing left to
            // drop. The store context holds the caller's exit frame.
            unsafe {
                let store = &*(*vmctx).store;
                signals::raise(trap, store.last_exit_fp, store.last_exit_pc)
            }
        }
    }
}

unsafe extern "C" fn exn_release(vmctx: *mut VMContext, exception: u64) {
    // SAFETY: as in `exn_new`.
    let runtime = unsafe { &mut *(*vmctx).store.cast::<StoreRuntime>() };
    runtime.exceptions.release(exception as usize);
}

/// Where a lazy-compile stub (`arch::lazy_stub_common`) asks for the
/// code of defined function `defined` of the instance at `vmctx`, which
/// had not been compiled when the call was made: compiles it (or waits for
/// the thread compiling it) and returns its code. `exit_fp` and `exit_pc`
/// are the calling frame and the call's return address, where the
/// backtrace of a trap (a failed compile) starts.
///
/// # Safety
/// Only for the stub, with a live instance's context.
pub(crate) unsafe extern "C" fn lazy_compile(
    vmctx: *mut VMContext,
    defined: u32,
    exit_fp: usize,
    exit_pc: usize,
) -> usize {
    // SAFETY: the stub passes the callee's context, a live instance's.
    let owner = unsafe { instance(vmctx) };
    match owner.module.ensure_compiled(defined) {
        Ok(code) => code,
        // SAFETY: called (through the stub) by generated code; nothing
        // left to drop. The caller's frame is intact above the stub's.
        Err(e) => unsafe { signals::raise(crate::store::compile_trap(&e), exit_fp, exit_pc) },
    }
}

/// Baseline code of function `function` (of the caller's module) reached
/// its tier-up count.
unsafe extern "C" fn tier_up(vmctx: *mut VMContext, function: u32) {
    // SAFETY: as in `memory_grow`.
    let instance = unsafe { instance(vmctx) };
    let imported = instance.module.info.module.num_imported_funcs();
    if let Some(defined) = function.checked_sub(imported) {
        instance.module.request_tier_up(defined);
    }
}

/// Baseline code of function `function` (of the caller's module) asks
/// for its optimized entry at loop `loop_index`: the entry's address once
/// compiled, else 0 (it keeps running in baseline code and asks again
/// later). Never traps: a failed compile only means no entry.
unsafe extern "C" fn osr_poll(vmctx: *mut VMContext, function: u32, loop_index: u32) -> u64 {
    // SAFETY: as in `memory_grow`.
    let instance = unsafe { instance(vmctx) };
    let imported = instance.module.info.module.num_imported_funcs();
    function.checked_sub(imported).map_or(0, |defined| {
        instance.module.poll_osr(defined, loop_index) as u64
    })
}

unsafe extern "C" fn memory_atomic_wait32(
    vmctx: *mut VMContext,
    memory: u32,
    address: u64,
    expected: u32,
    timeout: u64,
) -> u32 {
    // SAFETY: generated code passes its own live vmctx and a checked,
    // aligned address inside the memory.
    unsafe { wait(vmctx, memory, address, Expected::U32(expected), timeout) }
}

unsafe extern "C" fn memory_atomic_wait64(
    vmctx: *mut VMContext,
    memory: u32,
    address: u64,
    expected: u64,
    timeout: u64,
) -> u32 {
    // SAFETY: as in `memory_atomic_wait32`.
    unsafe { wait(vmctx, memory, address, Expected::U64(expected), timeout) }
}

/// # Safety
/// `vmctx` is the caller's live context; `address` is a checked, aligned
/// native address inside memory `memory` of its instance.
unsafe fn wait(
    vmctx: *mut VMContext,
    memory: u32,
    address: u64,
    expected: Expected,
    timeout: u64,
) -> u32 {
    // SAFETY: the caller's contract.
    let instance = unsafe { instance(vmctx) };
    let memory = instance.memory(memory);
    // SAFETY: a live memory; its type never changes.
    let shared = unsafe { (*memory).ty.shared };
    let outcome = if shared {
        // SAFETY: the store runtime outlives every call into its instances.
        let deadline = unsafe { (*(*vmctx).store.cast::<StoreRuntime>()).deadline };
        let timeout = i64::try_from(timeout)
            .ok()
            .map(|ns| std::time::Duration::from_nanos(ns as u64));
        // SAFETY: the caller's contract: an aligned address in a live
        // shared memory, which stays mapped while this instance lives.
        unsafe { atomics_wait::wait(address as usize, expected, timeout, deadline) }
    } else {
        Err(TrapCode::WaitOnUnsharedMemory)
    };
    let result = outcome.map(|o| o as u32);
    // SAFETY: a builtin called by generated code; nothing left to drop.
    unsafe { check(vmctx, result.map(drop)) };
    result.unwrap_or(0)
}

unsafe extern "C" fn memory_atomic_notify(
    vmctx: *mut VMContext,
    memory: u32,
    address: u64,
    count: u32,
) -> u32 {
    // SAFETY: generated code passes its own live vmctx.
    let instance = unsafe { instance(vmctx) };
    // SAFETY: a live memory; its type never changes.
    let shared = unsafe { (*instance.memory(memory)).ty.shared };
    // An unshared memory has no waiters: nothing can wait on it.
    if shared {
        atomics_wait::notify(address as usize, count)
    } else {
        0
    }
}
