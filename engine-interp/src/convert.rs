//! Translations between wasmtier's vocabulary and wasmi's.

use wasmi::{F32, F64, V128};
use wasmtier_core::{
    FuncType, GlobalType, HeapType, MemoryType, RefTop, RefType, TableType, TrapCode, ValType,
};

pub fn val_type(ty: ValType) -> wasmi::ValType {
    match ty {
        ValType::I32 => wasmi::ValType::I32,
        ValType::I64 => wasmi::ValType::I64,
        ValType::F32 => wasmi::ValType::F32,
        ValType::F64 => wasmi::ValType::F64,
        ValType::V128 => wasmi::ValType::V128,
        ValType::Ref(r) if r.heap.top() == RefTop::Func => wasmi::ValType::FuncRef,
        // Never reached for exn or typed references: modules with them are
        // not compiled here (`FEATURES`), and `define` refuses host
        // functions whose types mention exnref.
        ValType::Ref(_) => wasmi::ValType::ExternRef,
    }
}

/// Whether wasmi has a counterpart for every value type of `ty`.
pub fn representable(ty: &FuncType) -> bool {
    !ty.params.iter().chain(&ty.results).any(|t| {
        !matches!(
            t.as_ref(),
            None | Some(RefType {
                nullable: true,
                heap: HeapType::Func | HeapType::Extern
            })
        )
    })
}

pub fn from_val_type(ty: wasmi::ValType) -> ValType {
    match ty {
        wasmi::ValType::I32 => ValType::I32,
        wasmi::ValType::I64 => ValType::I64,
        wasmi::ValType::F32 => ValType::F32,
        wasmi::ValType::F64 => ValType::F64,
        wasmi::ValType::V128 => ValType::V128,
        wasmi::ValType::FuncRef => ValType::FUNCREF,
        wasmi::ValType::ExternRef => ValType::EXTERNREF,
    }
}

pub fn func_type(ty: &FuncType) -> wasmi::FuncType {
    wasmi::FuncType::new(
        ty.params.iter().map(|t| val_type(*t)),
        ty.results.iter().map(|t| val_type(*t)),
    )
}

pub fn from_func_type(ty: &wasmi::FuncType) -> FuncType {
    FuncType::new(
        ty.params().iter().map(|t| from_val_type(*t)),
        ty.results().iter().map(|t| from_val_type(*t)),
    )
}

pub fn mutability(ty: GlobalType) -> wasmi::Mutability {
    if ty.mutable {
        wasmi::Mutability::Var
    } else {
        wasmi::Mutability::Const
    }
}

/// A memory type wasmi refuses (its own limits), with wasmi's reason.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct InvalidMemoryType(#[from] wasmi::errors::MemoryError);

pub fn memory_type(ty: MemoryType) -> Result<wasmi::MemoryType, InvalidMemoryType> {
    let mut builder = wasmi::MemoryType::builder();
    builder
        .memory64(ty.memory64)
        .min(ty.minimum)
        .max(ty.maximum)
        .page_size_log2(ty.page_size_log2 as u8);
    Ok(builder.build()?)
}

pub fn table_type(ty: TableType) -> wasmi::TableType {
    let element = match val_type(ty.element) {
        wasmi::ValType::ExternRef => wasmi::RefType::Extern,
        _ => wasmi::RefType::Func,
    };
    if ty.table64 {
        wasmi::TableType::new64(element, ty.minimum, ty.maximum)
    } else {
        // The loader validated the limits, so 32-bit tables fit in u32.
        wasmi::TableType::new(element, ty.minimum as u32, ty.maximum.map(|m| m as u32))
    }
}

pub fn trap_code(code: wasmi::TrapCode) -> TrapCode {
    use wasmi::TrapCode as W;
    match code {
        W::UnreachableCodeReached => TrapCode::Unreachable,
        W::MemoryOutOfBounds => TrapCode::MemoryOutOfBounds,
        W::TableOutOfBounds => TrapCode::TableOutOfBounds,
        W::IndirectCallToNull => TrapCode::IndirectCallToNull,
        W::IntegerDivisionByZero => TrapCode::IntegerDivideByZero,
        W::IntegerOverflow => TrapCode::IntegerOverflow,
        W::BadConversionToInteger => TrapCode::BadConversionToInteger,
        W::StackOverflow => TrapCode::StackOverflow,
        W::BadSignature => TrapCode::IndirectCallTypeMismatch,
        W::OutOfFuel => TrapCode::OutOfFuel,
        W::GrowthOperationLimited | W::OutOfSystemMemory => TrapCode::OutOfSystemMemory,
    }
}

pub fn f32(bits: u32) -> F32 {
    F32::from_bits(bits)
}

pub fn f64(bits: u64) -> F64 {
    F64::from_bits(bits)
}

pub fn v128(bits: u128) -> V128 {
    V128::from(bits)
}
