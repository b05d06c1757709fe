//! `Val` to and from the raw 16-byte slots trampolines and host calls use.

use wasmtier_core::{FuncRefHandle, RefTop, Val, ValType};

/// A value as generated code stores it in a slot.
pub fn to_raw(value: &Val) -> u128 {
    match *value {
        Val::I32(v) => u128::from(v as u32),
        Val::I64(v) => u128::from(v as u64),
        Val::F32(bits) => u128::from(bits),
        Val::F64(bits) => u128::from(bits),
        Val::V128(bits) => bits,
        Val::FuncRef(handle) => u128::from(handle.map_or(0, |h| h.0)),
        Val::ExternRef(payload) => u128::from(payload.map_or(0, |n| u64::from(n) + 1)),
        Val::ExnRef(address) | Val::AnyRef(address) => u128::from(address.unwrap_or(0)),
    }
}

/// The value of type `ty` in a slot.
pub fn from_raw(ty: ValType, raw: u128) -> Val {
    match ty {
        ValType::I32 => Val::I32(raw as u32 as i32),
        ValType::I64 => Val::I64(raw as u64 as i64),
        ValType::F32 => Val::F32(raw as u32),
        ValType::F64 => Val::F64(raw as u64),
        ValType::V128 => Val::V128(raw),
        ValType::Ref(r) => match r.heap.top() {
            RefTop::Func => {
                let ptr = raw as u64;
                Val::FuncRef((ptr != 0).then_some(FuncRefHandle(ptr)))
            }
            RefTop::Extern => {
                let n = raw as u64;
                Val::ExternRef((n != 0).then(|| (n - 1) as u32))
            }
            RefTop::Exn => {
                let address = raw as u64;
                Val::ExnRef((address != 0).then_some(address))
            }
            // No instruction this build runs creates a GC value: such a
            // slot is always null.
            RefTop::Any => Val::AnyRef((raw as u64 != 0).then_some(raw as u64)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_slots() {
        for value in [
            Val::I32(-1),
            Val::I64(i64::MIN),
            Val::F32(0x7fc0_0001),
            Val::F64(0x8000_0000_0000_0000),
            Val::V128(u128::MAX - 7),
            Val::FuncRef(None),
            Val::FuncRef(Some(FuncRefHandle(0x1000))),
            Val::ExternRef(None),
            Val::ExternRef(Some(0)),
            Val::ExternRef(Some(u32::MAX)),
            Val::ExnRef(None),
            Val::ExnRef(Some(0x2000)),
        ] {
            assert_eq!(from_raw(value.ty(), to_raw(&value)), value);
        }
    }

    #[test]
    fn i32_slots_are_zero_extended() {
        assert_eq!(to_raw(&Val::I32(-1)), 0xffff_ffff);
    }
}
