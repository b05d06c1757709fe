use wasmtier_core::{TrapKind, Val};
use wasmtier_wasi::{MODULE, WasiState};

use crate::common::{Guest, instantiate_with_state, quiet};

#[test]
fn proc_exit_is_an_exit_trap_with_the_status() {
    let mut guest = Guest::new(&["proc_exit"], &quiet());
    let trap = guest.trap("proc_exit", &[Val::I32(7)]);
    assert_eq!(trap.exit_status(), Some(7));

    let mut guest = Guest::new(&["proc_exit"], &quiet());
    assert_eq!(
        guest.trap("proc_exit", &[Val::I32(0)]).exit_status(),
        Some(0)
    );
}

#[test]
fn proc_exit_from_a_start_function_stops_instantiation() {
    let wat = format!(
        r#"(module
            (import "{MODULE}" "proc_exit" (func $exit (param i32)))
            (memory (export "memory") 1)
            (func $start i32.const 3 call $exit unreachable)
            (start $start))"#
    );
    let engine = wasmtier_engine_interp::InterpEngine::new(Default::default());
    let bytes = wat::parse_str(&wat).unwrap();
    let module = wasmtier_core::ValidatedModule::new(&bytes, Default::default()).unwrap();
    let compiled = wasmtier_core::Engine::compile(&engine, std::sync::Arc::new(module)).unwrap();
    let mut store =
        wasmtier_core::Engine::new_store(&engine, Box::new(WasiState::new(&quiet()).unwrap()));
    wasmtier_wasi::define_imports(store.as_mut()).unwrap();
    match store.instantiate(compiled.as_ref()) {
        Err(wasmtier_core::LinkError::Trap(trap)) => assert_eq!(trap.exit_status(), Some(3)),
        other => panic!("expected an exit, got {other:?}"),
    }
}

#[test]
fn out_of_range_exit_status_is_a_host_error() {
    let mut guest = Guest::new(&["proc_exit"], &quiet());
    let trap = guest.trap("proc_exit", &[Val::I32(200)]);
    match trap.kind {
        TrapKind::Host(message) => {
            assert!(
                message.starts_with("wasi_snapshot_preview1::proc_exit: "),
                "{message}"
            );
            assert!(message.contains("exit status"), "{message}");
        }
        other => panic!("expected a host error, got {other:?}"),
    }
}

#[test]
fn proc_raise_is_unsupported() {
    let mut guest = Guest::new(&["proc_raise"], &quiet());
    let enotsup = 58;
    assert_eq!(guest.errno("proc_raise", &[9]), enotsup);
}

#[test]
fn module_without_memory_traps() {
    let wat = format!(
        r#"(module
            (import "{MODULE}" "fd_close" (func $close (param i32) (result i32)))
            (func (export "close") (result i32) i32.const 1 call $close))"#
    );
    let state = WasiState::new(&quiet()).unwrap();
    let mut guest = instantiate_with_state(&wat, Box::new(state));
    let trap = guest.trap("close", &[]);
    assert_eq!(
        trap.kind,
        TrapKind::Host("WASI function called by a module that exports no memory".into())
    );
}

#[test]
fn store_without_wasi_state_traps() {
    let wat = crate::common::wat_for(&["sched_yield"], "");
    let mut guest = instantiate_with_state(&wat, Box::new(()));
    let trap = guest.trap("sched_yield", &[]);
    match trap.kind {
        TrapKind::Host(message) => assert!(message.contains("not a WasiState"), "{message}"),
        other => panic!("expected a host error, got {other:?}"),
    }
}

#[test]
fn every_function_links_and_answers() {
    let names: Vec<&str> = wasmtier_wasi::functions().map(|(name, _)| name).collect();
    let mut guest = Guest::new(&names, &quiet());
    // Corners wasmtime-wasi does not implement answer with an errno.
    let ebadf = 8;
    assert_eq!(guest.errno("sock_shutdown", &[3, 0]), ebadf);
    assert_eq!(guest.errno("fd_close", &[99]), ebadf);
    assert_eq!(guest.errno("sched_yield", &[]), 0);
}
