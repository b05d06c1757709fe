//! Store-wide data that generated code, builtins and the store all reach:
//! the store's runtime record and the host-function record. Below
//! `builtins`, `instance` and `store`, so those import it and not each
//! other in a circle.

use std::any::Any;

use wasmtier_core::{AnyRef, HeapType, HostFunc, Val, ValType, canon};

use crate::exceptions::ExceptionObjects;
use crate::gc::object::ObjectKind;
use crate::gc::runtime::GcRuntime;
use crate::values::to_raw;
use crate::vmcontext::{VMFuncRef, VMHostFunc, VMStoreContext};

/// A host function as the store keeps it: `VMHostFunc` first, so the
/// pointer in a `VMFuncRef` leads here.
#[repr(C)]
pub struct HostFuncRecord {
    pub vm: VMHostFunc,
    pub func: HostFunc,
}

/// Store-wide runtime data reached from generated code and builtins.
/// `VMStoreContext` first: a `*mut VMStoreContext` is a `*mut StoreRuntime`.
#[repr(C)]
pub struct StoreRuntime {
    pub vm: VMStoreContext,
    pub state: Box<dyn Any + Send>,
    /// The instances' `VMFuncRef` arrays: the only valid function
    /// references of this store.
    pub(crate) func_refs: Vec<FuncRefArray>,
    /// The store's exception objects (exception handling).
    pub(crate) exceptions: ExceptionObjects,
    /// The GC heap and its roots outside Wasm frames.
    pub(crate) gc: GcRuntime,
    /// When the store's `--timeout` runs out: a thread blocked in
    /// `memory.atomic.wait` traps then, as running code would.
    pub(crate) deadline: Option<std::time::Instant>,
}

/// Where an instance's `VMFuncRef` array is, and the type id of each entry
/// (fixed at instantiation), so that a host's reference can be checked
/// against a concrete type without reading through it.
pub(crate) struct FuncRefArray {
    pub range: std::ops::Range<usize>,
    pub type_ids: Box<[u64]>,
}

impl FuncRefArray {
    /// The index of the entry at `address`, if it is one of this array's.
    fn entry(&self, address: usize) -> Option<usize> {
        let offset = address.checked_sub(self.range.start)?;
        (self.range.contains(&address) && offset.is_multiple_of(size_of::<VMFuncRef>()))
            .then(|| offset / size_of::<VMFuncRef>())
    }
}

impl StoreRuntime {
    /// `value` in slot form; a reference that is not one of this store's
    /// (a function, an exception, a struct or array) becomes null (as in
    /// the interpreter), so generated code never follows a pointer the
    /// host made up.
    pub fn to_slot(&self, value: &Val) -> u128 {
        if let Val::FuncRef(Some(handle)) = value {
            let address = handle.0 as usize;
            let known = self.func_refs.iter().any(|r| r.entry(address).is_some());
            if !known {
                return 0;
            }
        }
        if let Val::AnyRef(Some(r)) | Val::ExternAny(r) = value
            && self.object_of(r).is_none()
            && matches!(r, AnyRef::Struct(_) | AnyRef::Array(_))
        {
            return 0;
        }
        // Likewise an exception reference must be one of this store's.
        if let Val::ExnRef(Some(address)) = value
            && !self.exceptions.contains(*address as usize)
        {
            return 0;
        }
        to_raw(value)
    }

    /// The live object a host's struct or array handle names in this
    /// store's heap, with its canonical type: `None` for any other value,
    /// and for a handle that is no live object of the kind it claims.
    fn object_of(&self, r: &AnyRef) -> Option<(u32, u32)> {
        let (handle, kind) = match *r {
            AnyRef::Struct(h) => (h, ObjectKind::Struct),
            AnyRef::Array(h) => (h, ObjectKind::Array),
            _ => return None,
        };
        let heap = self.gc.heap.as_ref()?;
        let offset = u32::try_from(handle).ok()?;
        if !heap.is_object(offset) {
            return None;
        }
        let header = heap.header(offset);
        (header.kind == kind as u8).then_some((offset, header.type_index))
    }

    /// `value` in slot form where a `ty` is expected, or `None` if it is
    /// not one: the wrong kind, null for a non-nullable type (a reference
    /// the store does not know counts as null), or a function of a type
    /// that is not a subtype of the expected concrete type (`call_ref`
    /// trusts the static type: a wrong one would call with the wrong
    /// signature).
    pub fn to_slot_typed(&self, value: &Val, ty: ValType) -> Option<u128> {
        if !value.matches(ty) {
            return None;
        }
        let slot = self.to_slot(value);
        let ValType::Ref(r) = ty else {
            return Some(slot);
        };
        if slot == 0 {
            return r.nullable.then_some(slot);
        }
        if let (Val::AnyRef(Some(any)) | Val::ExternAny(any), HeapType::Concrete(expected)) =
            (value, r.heap)
        {
            let (_, actual) = self.object_of(any)?;
            return canon::is_subtype_index(actual, expected.index()).then_some(slot);
        }
        if let (Val::FuncRef(_), HeapType::Concrete(expected)) = (value, r.heap) {
            let address = slot as usize;
            let actual = self
                .func_refs
                .iter()
                .find_map(|r| Some(r.type_ids[r.entry(address)?]))?;
            let fits = u32::try_from(actual)
                .is_ok_and(|actual| canon::is_subtype_index(actual, expected.index()));
            return fits.then_some(slot);
        }
        Some(slot)
    }
}
