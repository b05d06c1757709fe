//! The store's GC state and the builtins generated code calls for GC
//! instructions that do not fit inline: allocation (which may collect),
//! arrays from segments, copies, and the subtype test of casts.

use wasmtier_core::canon::{self, StorageType};
use wasmtier_core::{Trap, TrapCode, TypeId, ValType};

use super::heap::{CollectStats, GcHeap, Need};
use super::layout::{Layout, Layouts, storage_size};
use super::object::{Decoded, FIELDS_OFFSET, ObjectKind, decode};
use crate::instance::Instance;
use crate::module_info::ModuleInfo;
use crate::runtime::StoreRuntime;
use crate::signals;
use crate::vmcontext::{VMContext, VMGlobal, VMStoreContext, VMTable};

/// The GC heap's capacity when the engine sets none.
pub const DEFAULT_CAPACITY: u64 = 1 << 30;

/// A store's GC state: its heap (made when the first module with struct
/// or array types is instantiated), the layout of every such type, and the
/// roots outside Wasm frames.
#[derive(Default)]
pub(crate) struct GcRuntime {
    pub heap: Option<GcHeap>,
    pub layouts: Layouts,
    /// The heap's capacity (`EngineConfig::max_gc_heap`).
    pub capacity: u64,
    /// Globals whose type may hold an object.
    pub globals: Vec<*const VMGlobal>,
    /// Tables whose elements may be objects.
    pub tables: Vec<*const VMTable>,
    /// Each instance's element segments (values kept for `table.init`,
    /// `array.new_elem`, ...).
    pub segments: Vec<*const Vec<Vec<u64>>>,
}

impl GcRuntime {
    /// Records the layouts of a module's struct and array types, making
    /// the heap if this is the first module that has any.
    pub fn register_module(
        &mut self,
        info: &ModuleInfo,
        vm: &mut VMStoreContext,
    ) -> Result<(), String> {
        let mut any = false;
        for (id, layout) in info.module.type_ids().iter().zip(&info.gc_layouts) {
            if let Some(layout) = layout {
                self.layouts
                    .entry(id.index())
                    .or_insert_with(|| layout.clone());
                any = true;
            }
        }
        if any && self.heap.is_none() {
            let (heap, cursor) = GcHeap::new(self.capacity).map_err(|e| e.to_string())?;
            vm.gc_heap_base = heap.base() as usize;
            vm.gc_starts = heap.starts() as usize;
            vm.gc = cursor;
            self.heap = Some(heap);
        }
        Ok(())
    }

    /// Every reference held outside Wasm frames.
    fn static_roots(&self, out: &mut Vec<u64>) {
        // SAFETY: registered globals, tables and segment lists belong to
        // the store's instances and host items, which live as long as it.
        unsafe {
            for &global in &self.globals {
                out.push((*global).bits() as u64);
            }
            for &table in &self.tables {
                let table = &*table;
                out.extend((0..table.length as usize).map(|i| *table.base.add(i)));
            }
            for &segments in &self.segments {
                for segment in &*segments {
                    out.extend_from_slice(segment);
                }
            }
        }
    }
}

/// Whether a global or table of this type is a root.
pub fn is_root_type(ty: ValType) -> bool {
    super::layout::is_traced_type(ty)
}

/// The store's runtime record behind `vmctx`.
///
/// # Safety
/// `vmctx` must be a live instance's context.
unsafe fn runtime<'a>(vmctx: *mut VMContext) -> &'a mut StoreRuntime {
    // SAFETY: the store context is the first field of the store's runtime
    // record (`StoreRuntime` is `repr(C)`), which outlives its instances.
    unsafe { &mut *(*vmctx).store.cast::<StoreRuntime>() }
}

/// # Safety
/// `vmctx` must be a live instance's context.
unsafe fn instance<'a>(vmctx: *mut VMContext) -> &'a Instance {
    // SAFETY: `instance` points back at the boxed instance owning `vmctx`.
    unsafe { &*(*vmctx).instance.cast::<Instance>() }
}

/// Leaves Wasm with `code`.
///
/// # Safety
/// Only from a builtin invoked by generated code, with nothing left to drop.
unsafe fn fail(vmctx: *mut VMContext, code: TrapCode) -> ! {
    // SAFETY: the caller's contract; the store context holds the exit frame
    // generated code recorded before the call.
    unsafe {
        let store = &*(*vmctx).store;
        signals::raise(Trap::code(code), store.last_exit_fp, store.last_exit_pc)
    }
}

/// Collects garbage if the stack walk can see every frame; returns what it
/// did, or `None` if it could not collect.
///
/// # Safety
/// Only from a builtin entered through its GC entry stub (which recorded
/// the call site), inside `signals::call`.
unsafe fn collect(runtime: &mut StoreRuntime) -> Option<CollectStats> {
    let vm = &runtime.vm;
    // SAFETY: the caller's contract: the exit frame and call site are the
    // innermost Wasm frame's, below which we run.
    let slots = unsafe { signals::gc_stack_slots(vm.gc_exit_pc, vm.last_exit_fp) }?;
    // Wasm frames lie between the stack limit (less the frame a leaf may
    // have below it) and the activation's entry (the walk's bound above);
    // a slot below that would come from a damaged stack map.
    let limit = vm
        .stack_limit
        .saturating_sub(signals::MAX_FRAME_BELOW_LIMIT);
    let mut roots: Vec<u64> = slots
        .iter()
        .filter(|&&slot| slot >= limit && slot.is_multiple_of(8))
        // SAFETY: each slot is a live stack slot of a Wasm frame above us.
        .map(|&slot| unsafe { *(slot as *const u64) })
        .collect();
    runtime.gc.static_roots(&mut roots);
    runtime.exceptions.gc_roots(&mut roots);
    let gc = &mut runtime.gc;
    Some(
        gc.heap
            .as_mut()?
            .collect(&mut runtime.vm.gc, roots, &gc.layouts),
    )
}

/// A zeroed object of type `id` (its header written), collecting first
/// when one is due or when the heap is full.
///
/// # Safety
/// As for [`collect`]: only from a builtin entered through its GC stub.
unsafe fn allocate(vmctx: *mut VMContext, id: TypeId, length: u32) -> Result<u32, TrapCode> {
    // SAFETY: the caller's contract.
    let runtime = unsafe { runtime(vmctx) };
    let layout = runtime
        .gc
        .layouts
        .get(&id.index())
        .ok_or(TrapCode::GcHeapExhausted)?;
    let kind = layout.kind();
    let size = layout
        .object_size(length)
        .ok_or(TrapCode::GcHeapExhausted)?;
    // SAFETY: as above.
    let fuel_metered = unsafe { instance(vmctx) }.module.info.fuel;
    if fuel_metered {
        let units = i64::from(size / 64);
        runtime.vm.fuel = runtime.vm.fuel.saturating_sub(units);
        if runtime.vm.fuel < 0 {
            return Err(TrapCode::OutOfFuel);
        }
    }
    // Whether a collection ran, or could not run (then allocation goes on
    // until the heap is full).
    let mut collected = false;
    loop {
        let heap = runtime.gc.heap.as_mut().ok_or(TrapCode::GcHeapExhausted)?;
        let need = match heap.allocate(
            &mut runtime.vm.gc,
            id.index(),
            kind,
            size,
            length,
            !collected,
        ) {
            Ok(offset) => return Ok(offset),
            Err(need) => need,
        };
        if need == Need::Space && collected {
            return Err(TrapCode::GcHeapExhausted);
        }
        // SAFETY: the caller's contract.
        let ran = unsafe { collect(runtime) }.is_some();
        if !ran && need == Need::Space {
            return Err(TrapCode::GcHeapExhausted);
        }
        collected = true;
    }
}

/// The canonical type of the calling module's type `ty`.
///
/// # Safety
/// `vmctx` must be a live instance's context.
unsafe fn type_id(vmctx: *mut VMContext, ty: u32) -> TypeId {
    // SAFETY: the caller's contract.
    unsafe { instance(vmctx) }.module.info.module.type_ids()[ty as usize]
}

/// `struct.new*`, `array.new*` (fields written by generated code).
///
/// # Safety
/// Only called by generated code, through its GC entry stub.
pub(crate) unsafe extern "C" fn gc_alloc(vmctx: *mut VMContext, ty: u32, length: u32) -> u64 {
    // SAFETY: the caller's contract.
    match unsafe { allocate(vmctx, type_id(vmctx, ty), length) } {
        Ok(offset) => u64::from(offset),
        // SAFETY: as above; nothing here needs dropping.
        Err(code) => unsafe { fail(vmctx, code) },
    }
}

/// The element size of array type `id`.
fn element_size(runtime: &StoreRuntime, id: TypeId) -> u32 {
    match runtime.gc.layouts.get(&id.index()) {
        Some(Layout::Array { element_size, .. }) => *element_size,
        _ => 8,
    }
}

/// `array.new_data`.
///
/// # Safety
/// Only called by generated code, through its GC entry stub.
pub(crate) unsafe extern "C" fn gc_array_new_data(
    vmctx: *mut VMContext,
    ty: u32,
    data: u32,
    offset: u32,
    length: u32,
) -> u64 {
    // SAFETY: the caller's contract throughout.
    unsafe {
        let id = type_id(vmctx, ty);
        let size = element_size(runtime(vmctx), id);
        let source = match data_bytes(instance(vmctx), data, offset, length, size) {
            Ok(source) => source,
            Err(code) => fail(vmctx, code),
        };
        let array = match allocate(vmctx, id, length) {
            Ok(array) => array,
            Err(code) => fail(vmctx, code),
        };
        let heap = runtime(vmctx).gc.heap.as_mut().expect("allocated above");
        heap.write(array + FIELDS_OFFSET, source);
        u64::from(array)
    }
}

/// `array.new_elem`.
///
/// # Safety
/// Only called by generated code, through its GC entry stub.
pub(crate) unsafe extern "C" fn gc_array_new_elem(
    vmctx: *mut VMContext,
    ty: u32,
    elem: u32,
    offset: u32,
    length: u32,
) -> u64 {
    // SAFETY: the caller's contract throughout.
    unsafe {
        let id = type_id(vmctx, ty);
        // The segment's values stay rooted while allocating (segments are
        // roots); they are copied out before the heap is borrowed.
        let bytes = match elem_bytes(instance(vmctx), elem, offset, length) {
            Ok(bytes) => bytes,
            Err(code) => fail(vmctx, code),
        };
        let array = match allocate(vmctx, id, length) {
            Ok(array) => array,
            Err(code) => fail(vmctx, code),
        };
        let heap = runtime(vmctx).gc.heap.as_mut().expect("allocated above");
        heap.write(array + FIELDS_OFFSET, &bytes);
        u64::from(array)
    }
}

/// Bytes `offset..` of data segment `data` for `length` elements of `size`
/// bytes, or "out of bounds memory access" (a dropped segment is empty).
fn data_bytes(
    instance: &Instance,
    data: u32,
    offset: u32,
    length: u32,
    size: u32,
) -> Result<&[u8], TrapCode> {
    let segment = instance.data[data as usize].clone();
    let bytes = u64::from(length) * u64::from(size);
    let range =
        sub_range(segment.len(), u64::from(offset), bytes).ok_or(TrapCode::MemoryOutOfBounds)?;
    Ok(&instance.module.info.module.bytes()[segment][range])
}

/// Values `offset..offset + length` of element segment `elem` as the
/// little-endian bytes of array elements, or "out of bounds table access".
fn elem_bytes(
    instance: &Instance,
    elem: u32,
    offset: u32,
    length: u32,
) -> Result<Vec<u8>, TrapCode> {
    let segment = &instance.elements[elem as usize];
    let range = sub_range(segment.len(), u64::from(offset), u64::from(length))
        .ok_or(TrapCode::TableOutOfBounds)?;
    Ok(segment[range]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect())
}

/// `start..start + len` inside `0..size`, or `None`.
fn sub_range(size: usize, start: u64, len: u64) -> Option<std::ops::Range<usize>> {
    let end = start.checked_add(len)?;
    (end <= size as u64).then_some(start as usize..end as usize)
}

/// Byte offset in the heap of elements `index..index + count` of the
/// array at `array`, or the trap.
fn elements(
    heap: &GcHeap,
    array: u64,
    element_size: u32,
    index: u32,
    count: u32,
) -> Result<u32, TrapCode> {
    let Some(Decoded::Object(offset)) = decode(array) else {
        return Err(TrapCode::NullArrayReference);
    };
    if !heap.is_object(offset) || heap.header(offset).kind != ObjectKind::Array as u8 {
        return Err(TrapCode::NullArrayReference);
    }
    let length = heap.header(offset).length;
    sub_range(length as usize, u64::from(index), u64::from(count))
        .ok_or(TrapCode::ArrayOutOfBounds)?;
    Ok(offset + FIELDS_OFFSET + index * element_size)
}

/// `array.copy` (overlapping ranges allowed).
///
/// # Safety
/// Only called by generated code.
pub(crate) unsafe extern "C" fn gc_array_copy(
    vmctx: *mut VMContext,
    element_size: u32,
    dst: u64,
    dst_index: u32,
    src: u64,
    src_index: u32,
    length: u32,
) {
    // SAFETY: the caller's contract.
    let runtime = unsafe { runtime(vmctx) };
    let Some(heap) = runtime.gc.heap.as_mut() else {
        // SAFETY: as above.
        unsafe { fail(vmctx, TrapCode::NullArrayReference) }
    };
    let result = elements(heap, dst, element_size, dst_index, length).and_then(|to| {
        let from = elements(heap, src, element_size, src_index, length)?;
        Ok((to, from))
    });
    match result {
        Ok((to, from)) => heap.copy_within(from, to, length * element_size),
        // SAFETY: as above.
        Err(code) => unsafe { fail(vmctx, code) },
    }
}

/// `array.init_data`.
///
/// # Safety
/// Only called by generated code.
pub(crate) unsafe extern "C" fn gc_array_init_data(
    vmctx: *mut VMContext,
    ty: u32,
    array: u64,
    dst_index: u32,
    data: u32,
    offset: u32,
    length: u32,
) {
    // SAFETY: the caller's contract throughout.
    unsafe {
        let id = type_id(vmctx, ty);
        let runtime = runtime(vmctx);
        let size = element_size(runtime, id);
        let heap = runtime
            .gc
            .heap
            .as_mut()
            .expect("a module with arrays has a heap");
        let to = match elements(heap, array, size, dst_index, length) {
            Ok(to) => to,
            Err(code) => fail(vmctx, code),
        };
        match data_bytes(instance(vmctx), data, offset, length, size) {
            Ok(source) => heap.write(to, source),
            Err(code) => fail(vmctx, code),
        }
    }
}

/// `array.init_elem`.
///
/// # Safety
/// Only called by generated code.
pub(crate) unsafe extern "C" fn gc_array_init_elem(
    vmctx: *mut VMContext,
    array: u64,
    dst_index: u32,
    elem: u32,
    offset: u32,
    length: u32,
) {
    // SAFETY: the caller's contract throughout.
    unsafe {
        let heap = runtime(vmctx)
            .gc
            .heap
            .as_mut()
            .expect("a module with arrays has a heap");
        let to = match elements(heap, array, 8, dst_index, length) {
            Ok(to) => to,
            Err(code) => fail(vmctx, code),
        };
        match elem_bytes(instance(vmctx), elem, offset, length) {
            Ok(bytes) => heap.write(to, &bytes),
            Err(code) => fail(vmctx, code),
        }
    }
}

/// `ref.test`/`ref.cast`'s slow path: whether canonical type `actual` is
/// `expected` or declares it as a supertype.
///
/// # Safety
/// Only called by generated code.
pub(crate) unsafe extern "C" fn gc_is_subtype(
    _vmctx: *mut VMContext,
    actual: u32,
    expected: u32,
) -> u32 {
    u32::from(canon::is_subtype_index(actual, expected))
}

/// An object made by a constant expression at instantiation (no
/// collection can run then: the values being built are nowhere else).
/// `values` are the fields, or the elements of an array (one value is
/// repeated `length` times, as `array.new` does).
pub fn new_object(
    runtime: &mut StoreRuntime,
    id: TypeId,
    values: &[u128],
    length: u32,
) -> Result<u64, TrapCode> {
    let gc = &mut runtime.gc;
    let (Some(heap), Some(layout)) = (gc.heap.as_mut(), gc.layouts.get(&id.index())) else {
        return Err(TrapCode::GcHeapExhausted);
    };
    let size = layout
        .object_size(length)
        .ok_or(TrapCode::GcHeapExhausted)?;
    let offset = heap
        .allocate(
            &mut runtime.vm.gc,
            id.index(),
            layout.kind(),
            size,
            length,
            false,
        )
        .map_err(|_| TrapCode::GcHeapExhausted)?;
    match layout {
        Layout::Struct { fields, .. } => {
            for (field, value) in fields.iter().zip(values) {
                heap.write(offset + field.offset, &field_bytes(field.storage, *value));
            }
        }
        Layout::Array {
            element,
            element_size,
            ..
        } => {
            for i in 0..length {
                let value = if values.len() == 1 {
                    values[0]
                } else {
                    values.get(i as usize).copied().unwrap_or(0)
                };
                let at = offset + FIELDS_OFFSET + i * element_size;
                heap.write(at, &field_bytes(*element, value));
            }
        }
    }
    Ok(u64::from(offset))
}

/// The little-endian bytes a field of `storage` holds for slot `value`.
fn field_bytes(storage: StorageType, value: u128) -> Vec<u8> {
    value.to_le_bytes()[..storage_size(storage) as usize].to_vec()
}

/// The entry stubs generated code calls for the builtins that may collect:
/// each records its call site for the collector's frame walk, then
/// continues in the builtin (`arch::gc_entry_body`).
pub(crate) mod entry {
    use crate::vmcontext::VMContext;

    /// # Safety
    /// Only called by generated code, as `gc_alloc`.
    #[unsafe(naked)]
    pub(crate) unsafe extern "C" fn gc_alloc(vmctx: *mut VMContext, ty: u32, length: u32) -> u64 {
        crate::arch::gc_entry_body!(super::gc_alloc)
    }

    /// # Safety
    /// Only called by generated code, as `gc_array_new_data`.
    #[unsafe(naked)]
    pub(crate) unsafe extern "C" fn gc_array_new_data(
        vmctx: *mut VMContext,
        ty: u32,
        data: u32,
        offset: u32,
        length: u32,
    ) -> u64 {
        crate::arch::gc_entry_body!(super::gc_array_new_data)
    }

    /// # Safety
    /// Only called by generated code, as `gc_array_new_elem`.
    #[unsafe(naked)]
    pub(crate) unsafe extern "C" fn gc_array_new_elem(
        vmctx: *mut VMContext,
        ty: u32,
        elem: u32,
        offset: u32,
        length: u32,
    ) -> u64 {
        crate::arch::gc_entry_body!(super::gc_array_new_elem)
    }
}
