//! The `spectest` host module every spec script may import from.
//!
//! It matches the reference interpreter's: `print*` functions that do
//! nothing here, four immutable globals holding 666 / 666.6, a funcref
//! table of 10..20 elements (and its 64-bit twin), and a memory of 1..2
//! pages (and its shared twin, where the engine runs threads). One store gets one copy, shared by every module that imports it.

use wasmtier_core::{
    Features, FuncType, GlobalType, HostFunc, HostItem, LinkError, MemoryType, Store, TableType,
    Val, ValType,
};

const MODULE: &str = "spectest";

/// Defines `spectest` in `store`. `table64` is only defined where the
/// engine can hold it (memory64 enables 64-bit tables).
pub fn define(store: &mut dyn Store, features: Features) -> Result<(), LinkError> {
    use ValType::{F32, F64, I32, I64};
    let prints: [(&str, &[ValType]); 7] = [
        ("print", &[]),
        ("print_i32", &[I32]),
        ("print_i64", &[I64]),
        ("print_f32", &[F32]),
        ("print_f64", &[F64]),
        ("print_i32_f32", &[I32, F32]),
        ("print_f64_f64", &[F64, F64]),
    ];
    for (name, params) in prints {
        let func = HostFunc::new(FuncType::new(params.iter().copied(), []), |_, _, _| Ok(()));
        store.define(MODULE, name, HostItem::Func(func))?;
    }

    let globals = [
        ("global_i32", Val::I32(666)),
        ("global_i64", Val::I64(666)),
        ("global_f32", Val::from_f32(666.6)),
        ("global_f64", Val::from_f64(666.6)),
    ];
    for (name, value) in globals {
        let ty = GlobalType {
            content: value.ty(),
            mutable: false,
        };
        store.define(MODULE, name, HostItem::Global { ty, value })?;
    }

    let table = |table64| TableType {
        element: ValType::FUNCREF,
        minimum: 10,
        maximum: Some(20),
        table64,
    };
    store.define(MODULE, "table", HostItem::Table(table(false)))?;
    if features.memory64 {
        store.define(MODULE, "table64", HostItem::Table(table(true)))?;
    }

    let memory = MemoryType {
        minimum: 1,
        maximum: Some(2),
        memory64: false,
        shared: false,
        page_size_log2: 16,
    };
    store.define(MODULE, "memory", HostItem::Memory(memory))?;
    if features.threads {
        let shared = MemoryType {
            shared: true,
            ..memory
        };
        store.define(MODULE, "shared_memory", HostItem::Memory(shared))?;
    }
    Ok(())
}
