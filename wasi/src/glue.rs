//! The one adapter between wasmtier's host-function shape and wiggle's
//! generated preview1 functions: values in, errno out, exits and failures as
//! traps. Every one of the 46 imports goes through [`invoke`].

use wasmtier_core::{HostContext, HostMemory, Trap, TrapCode, Val, ValType};
use wasmtime_wasi::I32Exit;
use wiggle::GuestMemory;

use crate::state::{DeadlinePassed, WasiState};

/// A Wasm parameter type of a preview1 function (`i32` or `i64`).
pub(crate) trait Param: Sized {
    const TYPE: ValType;
    fn from_val(val: &Val) -> Option<Self>;
}

impl Param for i32 {
    const TYPE: ValType = ValType::I32;
    fn from_val(val: &Val) -> Option<Self> {
        match *val {
            Val::I32(v) => Some(v),
            _ => None,
        }
    }
}

impl Param for i64 {
    const TYPE: ValType = ValType::I64;
    fn from_val(val: &Val) -> Option<Self> {
        match *val {
            Val::I64(v) => Some(v),
            _ => None,
        }
    }
}

/// What a preview1 function returns to Wasm: an `i32` errno, or nothing
/// (`proc_exit`).
pub(crate) trait Results {
    const TYPES: &'static [ValType];
    fn store(self, out: &mut [Val]);
}

impl Results for i32 {
    const TYPES: &'static [ValType] = &[ValType::I32];
    fn store(self, out: &mut [Val]) {
        out[0] = Val::I32(self);
    }
}

impl Results for () {
    const TYPES: &'static [ValType] = &[];
    fn store(self, _: &mut [Val]) {}
}

pub(crate) fn bad_arguments(name: &str) -> Trap {
    Trap::host(format!(
        "wasi_snapshot_preview1::{name} called with arguments of the wrong types"
    ))
}

/// Finds the WASI state and the caller's memory, runs `call`, and stores its
/// result or turns its error into a trap.
pub(crate) fn invoke<R: Results>(
    name: &str,
    cx: &mut HostContext<'_>,
    results: &mut [Val],
    call: impl FnOnce(&mut WasiState, &mut GuestMemory<'_>) -> wiggle::error::Result<R>,
) -> Result<(), Trap> {
    let Some(state) = cx.state.downcast_mut::<WasiState>() else {
        return Err(Trap::host(
            "WASI function called, but the store's host state is not a WasiState",
        ));
    };
    let mut memory = match cx.memory.as_mut() {
        Some(HostMemory::Unshared(bytes)) => GuestMemory::Unshared(bytes),
        // wiggle copies in and out of a shared memory, never holding a
        // slice another thread could write under it.
        Some(HostMemory::Shared(cells)) => GuestMemory::Shared(cells),
        None => {
            return Err(Trap::host(
                "WASI function called by a module that exports no memory",
            ));
        }
    };
    match call(state, &mut memory) {
        Ok(value) => {
            value.store(results);
            Ok(())
        }
        Err(error) if error.downcast_ref::<DeadlinePassed>().is_some() => {
            Err(Trap::code(TrapCode::Interrupted))
        }
        Err(error) => Err(match error.downcast_ref::<I32Exit>() {
            Some(&I32Exit(status)) => Trap::exit(status),
            None => Trap::host(format!("wasi_snapshot_preview1::{name}: {error:#}")),
        }),
    }
}
