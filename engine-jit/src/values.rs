//! `Val` to and from the raw 16-byte slots trampolines and host calls use.

use wasmtier_core::{AnyRef, FuncRefHandle, RefTop, Val, ValType};

use crate::gc::heap::GcHeap;
use crate::gc::object::{self, Decoded, ObjectKind};

/// A value as generated code stores it in a slot. Struct and array handles
/// are taken as they are: the store checks them against its heap first
/// (`StoreRuntime::to_slot`).
pub fn to_raw(value: &Val) -> u128 {
    match *value {
        Val::I32(v) => u128::from(v as u32),
        Val::I64(v) => u128::from(v as u64),
        Val::F32(bits) => u128::from(bits),
        Val::F64(bits) => u128::from(bits),
        Val::V128(bits) => bits,
        Val::FuncRef(handle) => u128::from(handle.map_or(0, |h| h.0)),
        Val::ExternRef(number) => u128::from(number.map_or(0, object::host)),
        Val::ExnRef(address) => u128::from(address.unwrap_or(0)),
        Val::AnyRef(None) => 0,
        Val::AnyRef(Some(r)) | Val::ExternAny(r) => u128::from(any_to_raw(r)),
    }
}

fn any_to_raw(r: AnyRef) -> u64 {
    match r {
        AnyRef::I31(v) => object::i31(v),
        AnyRef::Host(n) => object::host(n),
        AnyRef::Struct(handle) | AnyRef::Array(handle) => handle,
    }
}

/// The value of type `ty` in a slot; `heap` tells structs from arrays (a
/// reference to an object that is not in it reads as null).
pub fn from_raw(ty: ValType, raw: u128, heap: Option<&GcHeap>) -> Val {
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
            RefTop::Exn => {
                let address = raw as u64;
                Val::ExnRef((address != 0).then_some(address))
            }
            RefTop::Extern => match any_from_raw(raw as u64, heap) {
                None => Val::ExternRef(None),
                Some(AnyRef::Host(n)) => Val::ExternRef(Some(n)),
                Some(other) => Val::ExternAny(other),
            },
            RefTop::Any => Val::AnyRef(any_from_raw(raw as u64, heap)),
        },
    }
}

fn any_from_raw(raw: u64, heap: Option<&GcHeap>) -> Option<AnyRef> {
    Some(match object::decode(raw)? {
        Decoded::I31(v) => AnyRef::I31(v),
        Decoded::Host(n) => AnyRef::Host(n),
        Decoded::Object(offset) => {
            let heap = heap.filter(|h| h.is_object(offset))?;
            let handle = u64::from(offset);
            match heap.header(offset).kind {
                k if k == ObjectKind::Struct as u8 => AnyRef::Struct(handle),
                k if k == ObjectKind::Array as u8 => AnyRef::Array(handle),
                _ => return None,
            }
        }
        Decoded::Invalid => return None,
    })
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
            Val::AnyRef(None),
            Val::AnyRef(Some(AnyRef::I31(0x7fff_ffff))),
            Val::AnyRef(Some(AnyRef::Host(3))),
            Val::ExternAny(AnyRef::I31(5)),
        ] {
            assert_eq!(from_raw(value.ty(), to_raw(&value), None), value);
        }
    }

    #[test]
    fn i32_slots_are_zero_extended() {
        assert_eq!(to_raw(&Val::I32(-1)), 0xffff_ffff);
    }
}
