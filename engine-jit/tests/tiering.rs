//! Lazy and tiered compilation: what a program sees must not depend on
//! when (or how well) its functions were compiled.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtier_core::{
    CallError, Compilation, CompiledModule, Engine, EngineConfig, Features, Trap, TrapCode, Val,
    ValidatedModule,
};
use wasmtier_engine_jit::JitEngine;
use wasmtier_engine_jit::code_map::CodeMap;

fn compiled(engine: &JitEngine, wat: &str) -> Arc<dyn CompiledModule> {
    let module = ValidatedModule::from_bytes_or_text(wat.as_bytes(), Features::finished())
        .expect("test module is valid");
    engine.compile(Arc::new(module)).expect("compiles")
}

fn engine(compilation: Compilation) -> JitEngine {
    JitEngine::new(EngineConfig {
        features: Features::finished(),
        compilation,
        ..EngineConfig::default()
    })
}

const ALL: [Compilation; 4] = [
    Compilation::Eager,
    Compilation::Lazy,
    Compilation::Tiered {
        tier_up_after: Some(1),
    },
    Compilation::Tiered {
        tier_up_after: None,
    },
];

fn call(
    engine: &JitEngine,
    compiled: &dyn CompiledModule,
    export: &str,
    args: &[Val],
) -> Result<Vec<Val>, Trap> {
    let mut store = engine.new_store(Box::new(()));
    let id = store.instantiate(compiled).expect("instantiates");
    store.call(id, export, args).map_err(|e| match e {
        CallError::Trap(trap) => trap,
        other => panic!("call failed: {other}"),
    })
}

const FIB: &str = r#"(module
    (func $fib (export "fib") (param i32) (result i32)
      (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
        (then (local.get 0))
        (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                       (call $fib (i32.sub (local.get 0) (i32.const 2))))))))"#;

#[test]
fn every_compilation_computes_the_same() {
    for compilation in ALL {
        let engine = engine(compilation);
        let fib = compiled(&engine, FIB);
        assert_eq!(
            call(&engine, &*fib, "fib", &[Val::I32(24)]).unwrap(),
            [Val::I32(46368)],
            "{compilation:?}"
        );
    }
}

#[test]
fn nothing_is_compiled_before_its_first_call() {
    let wat = r#"(module
        (func (export "a") (result i32) (i32.const 1))
        (func (export "b") (result i32) (i32.const 2))
        (func (export "c") (result i32) (call 0)))"#;
    let engine = engine(Compilation::Lazy);
    let module = compiled(&engine, wat);
    let functions = |m: &dyn CompiledModule| {
        let mut indexes: Vec<u32> = CodeMap::of(m)
            .unwrap()
            .functions()
            .iter()
            .map(|f| f.index)
            .collect();
        indexes.sort();
        indexes
    };
    assert_eq!(functions(&*module), Vec::<u32>::new());
    assert_eq!(call(&engine, &*module, "c", &[]).unwrap(), [Val::I32(1)]);
    assert_eq!(functions(&*module), [0, 2], "c, and a, which it calls");
}

#[test]
fn hot_functions_tier_up_and_keep_their_results() {
    let engine = engine(Compilation::Tiered {
        tier_up_after: Some(50),
    });
    let fib = compiled(&engine, FIB);
    let mut store = engine.new_store(Box::new(()));
    let id = store.instantiate(&*fib).expect("instantiates");
    // The first run crosses the count; later calls pick up optimized code
    // once the background thread has it.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert_eq!(
            store.call(id, "fib", &[Val::I32(20)]).unwrap(),
            [Val::I32(6765)]
        );
        let versions = CodeMap::of(&*fib).unwrap().functions().len();
        if versions == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "fib never tiered up");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        store.call(id, "fib", &[Val::I32(20)]).unwrap(),
        [Val::I32(6765)]
    );
}

#[test]
fn traps_in_lazily_compiled_code_name_every_frame() {
    let wat = r#"(module
        (func $inner (export "inner") (param i32) (result i32)
          (i32.div_u (i32.const 1) (local.get 0)))
        (func $middle (param i32) (result i32) (call $inner (local.get 0)))
        (func (export "outer") (param i32) (result i32) (call $middle (local.get 0))))"#;
    for compilation in ALL {
        let engine = engine(compilation);
        let module = compiled(&engine, wat);
        let trap = call(&engine, &*module, "outer", &[Val::I32(0)]).unwrap_err();
        assert_eq!(
            trap.trap_code(),
            Some(TrapCode::IntegerDivideByZero),
            "{compilation:?}"
        );
        let frames: Vec<u32> = trap.backtrace.iter().map(|f| f.func_index).collect();
        assert_eq!(frames, [0, 1, 2], "{compilation:?}");
    }
}

#[test]
fn tables_and_exported_references_reach_uncompiled_functions() {
    let wat = r#"(module
        (type $t (func (result i32)))
        (table 2 funcref)
        (elem (i32.const 0) $seven $eight)
        (func $seven (result i32) (i32.const 7))
        (func $eight (result i32) (i32.const 8))
        (func (export "pick") (param i32) (result i32)
          (call_indirect (type $t) (local.get 0))))"#;
    for compilation in ALL {
        let engine = engine(compilation);
        let module = compiled(&engine, wat);
        assert_eq!(
            call(&engine, &*module, "pick", &[Val::I32(1)]).unwrap(),
            [Val::I32(8)],
            "{compilation:?}"
        );
    }
}

#[test]
fn a_deadline_that_passes_before_a_function_compiles_interrupts_the_call() {
    let engine = JitEngine::new(EngineConfig {
        features: Features::finished(),
        compilation: Compilation::tiered(),
        timeout: Some(Duration::from_millis(500)),
        timeout_start: Some(Instant::now()),
        ..EngineConfig::default()
    });
    // Compiling the trampolines fits in the budget; the first call comes
    // after it.
    let fib = compiled(&engine, FIB);
    std::thread::sleep(Duration::from_millis(600));
    let trap = call(&engine, &*fib, "fib", &[Val::I32(5)]).unwrap_err();
    assert_eq!(trap.trap_code(), Some(TrapCode::Interrupted));
}
