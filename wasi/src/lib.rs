//! wasmtier's one WASI preview1 layer, shared by every engine.
//!
//! The 46 `wasi_snapshot_preview1` functions are wasmtime-wasi's own, called
//! as the free functions wiggle generates for them, with the guest's linear
//! memory handed over as a byte slice; no wasmtime store or linker is
//! involved. Each is exposed as an engine-neutral [`HostFunc`], so an engine
//! needs nothing WASI-specific: put a [`WasiState`] in the store as its host
//! state and call [`define_imports`]. See `RATIONALE.md` for the sharp edges.
//!
//! [`HostFunc`]: wasmtier_core::HostFunc

mod config;
mod glue;
mod imports;
mod state;
mod threads;

use wasmtier_core::{HostItem, LinkError, Store};

pub use config::{Preopen, WasiConfig};
pub use imports::functions;
pub use state::{HOSTCALL_FUEL, WasiError, WasiState};
pub use threads::{
    DEFAULT_MAX_THREADS, THREAD_SPAWN, THREAD_START, THREADS_MODULE, ThreadEnd, ThreadsConfig,
    define_thread_spawn, spawns_threads,
};

/// The import module name of WASI preview1.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// Whether imports from `module` are WASI's to satisfy.
pub fn is_wasi_import(module: &str) -> bool {
    module == MODULE
}

/// Defines all 46 preview1 functions in `store`. Calls find their state by
/// downcasting the store's host state to [`WasiState`].
pub fn define_imports(store: &mut dyn Store) -> Result<(), LinkError> {
    for (name, func) in functions() {
        store.define(MODULE, name, HostItem::Func(func.clone()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_only_preview1() {
        assert!(is_wasi_import("wasi_snapshot_preview1"));
        assert!(!is_wasi_import("wasi_unstable"));
        assert!(!is_wasi_import("env"));
    }
}
