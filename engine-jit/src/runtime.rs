//! Store-wide data that generated code, builtins and the store all reach:
//! the store's runtime record and the host-function record. Below
//! `builtins`, `instance` and `store`, so those import it and not each
//! other in a circle.

use std::any::Any;

use wasmtier_core::{HostFunc, Val};

use crate::exceptions::ExceptionObjects;
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
    /// Address ranges of the instances' `VMFuncRef` arrays: the only valid
    /// function references of this store.
    pub(crate) func_refs: Vec<std::ops::Range<usize>>,
    /// The store's exception objects (exception handling).
    pub(crate) exceptions: ExceptionObjects,
}

impl StoreRuntime {
    /// `value` in slot form; a function reference that is not one of this
    /// store's becomes null (as in the interpreter), so generated code never
    /// follows a pointer the host made up.
    pub fn to_slot(&self, value: &Val) -> u128 {
        if let Val::FuncRef(Some(handle)) = value {
            let address = handle.0 as usize;
            let known = self.func_refs.iter().any(|r| {
                r.contains(&address) && (address - r.start).is_multiple_of(size_of::<VMFuncRef>())
            });
            if !known {
                return 0;
            }
        }
        // Likewise an exception reference must be one of this store's.
        if let Val::ExnRef(Some(address)) = value
            && !self.exceptions.contains(*address as usize)
        {
            return 0;
        }
        to_raw(value)
    }
}
