//! Small recursive functions inlined into themselves
//! (`translate/recursion.rs`) compute what they computed before, and a
//! trap inside them still backtraces one frame per activation, wherever
//! the trap is: in the outer body or the inlined copy, at a trapping
//! instruction, in a builtin, or in a function called from either.

mod common;

use std::sync::Arc;

use wasmtier_core::{
    CallError, Compilation, Engine, EngineConfig, Features, Store, Trap, TrapCode, Val,
    ValidatedModule,
};
use wasmtier_engine_jit::JitEngine;
use wasmtier_engine_jit::aot::{CodeMemory, compile_image, host_isa, load};

const RECURSIVE: &str = r#"(module
    (memory 1)
    ;; Two calls of itself.
    (func $fib (export "fib") (param $n i32) (result i32)
      (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
        (then (local.get $n))
        (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                       (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
    ;; Three, one of them nested in another's argument.
    (func $ack (export "ack") (param $m i32) (param $n i32) (result i32)
      (if (result i32) (i32.eqz (local.get $m))
        (then (i32.add (local.get $n) (i32.const 1)))
        (else
          (if (result i32) (i32.eqz (local.get $n))
            (then (call $ack (i32.sub (local.get $m) (i32.const 1)) (i32.const 1)))
            (else (call $ack (i32.sub (local.get $m) (i32.const 1))
                             (call $ack (local.get $m) (i32.sub (local.get $n) (i32.const 1)))))))))
    (func $leaf_trap (unreachable))
    ;; Recurses `n` levels, then traps as `kind` says: 0 unreachable, 1 a
    ;; load past the memory, 2 a `memory.fill` past it (raised in a
    ;; builtin), 3 in a function it calls.
    (func $down (export "down") (param $n i32) (param $kind i32) (result i32)
      (if (i32.eqz (local.get $n))
        (then
          (if (i32.eq (local.get $kind) (i32.const 0)) (then unreachable))
          (if (i32.eq (local.get $kind) (i32.const 1))
            (then (return (i32.load (i32.const 70000)))))
          (if (i32.eq (local.get $kind) (i32.const 2))
            (then (memory.fill (i32.const 65000) (i32.const 0) (i32.const 1000))))
          (call $leaf_trap)
          (return (i32.const 0))))
      (i32.add (i32.const 1)
        (call $down (i32.sub (local.get $n) (i32.const 1)) (local.get $kind))))
    (func $runaway (export "runaway") (param i32) (result i32)
      (i32.add (call $runaway (local.get 0)) (i32.const 1))))"#;

const LEAF_TRAP: u32 = 2;
const DOWN: u32 = 3;
const RUNAWAY: u32 = 4;

fn module() -> Arc<ValidatedModule> {
    let module = ValidatedModule::from_bytes_or_text(RECURSIVE.as_bytes(), Features::finished())
        .expect("test module is valid");
    Arc::new(module)
}

fn config(compilation: Compilation) -> EngineConfig {
    EngineConfig {
        features: Features::finished(),
        compilation,
        ..EngineConfig::default()
    }
}

/// The module in a store of its own per way of compiling it: the JIT's
/// (eager, lazy, concurrent, and tiered straight to optimized code) and
/// `wasmtier compile`'s.
fn every_tier() -> Vec<(String, Box<dyn Store>, wasmtier_core::InstanceId)> {
    let jit = common::OPTIMIZING.into_iter().map(|compilation| {
        let engine = JitEngine::new(config(compilation));
        let compiled = engine.compile(module()).expect("compiles");
        (format!("{compilation:?}"), engine, compiled)
    });
    let aot = {
        let config = config(Compilation::Eager);
        let isa = host_isa().expect("host ISA");
        let image = compile_image(&*isa, &module(), &config).expect("compiles ahead of time");
        let memory = CodeMemory::new(&image.code).expect("maps the code");
        let compiled = load(module(), &config, memory, image.layout.tables()).expect("loads");
        ("aot".to_string(), JitEngine::new(config), compiled)
    };
    jit.chain([aot])
        .map(|(name, engine, compiled)| {
            let mut store = engine.new_store(Box::new(()));
            let instance = store.instantiate(&*compiled).expect("instantiates");
            (name, store, instance)
        })
        .collect()
}

fn call(
    store: &mut dyn Store,
    instance: wasmtier_core::InstanceId,
    export: &str,
    args: &[Val],
) -> Result<Vec<Val>, Trap> {
    store.call(instance, export, args).map_err(|e| match e {
        CallError::Trap(trap) => trap,
        other => panic!("call failed: {other}"),
    })
}

fn fib(n: i32) -> i32 {
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}

fn ack(m: i32, n: i32) -> i32 {
    match (m, n) {
        (0, n) => n + 1,
        (m, 0) => ack(m - 1, 1),
        (m, n) => ack(m - 1, ack(m, n - 1)),
    }
}

#[test]
fn code_compiled_ahead_of_time_has_the_copies() {
    // Every function of the module but `leaf_trap` qualifies; their trap
    // sites and calls inside the copies are recorded.
    let isa = host_isa().expect("host ISA");
    let image = compile_image(&*isa, &module(), &config(Compilation::Eager)).expect("compiles");
    let down = &image.layout.functions[DOWN as usize];
    let inside_down = image
        .layout
        .inlined
        .iter()
        .filter(|&&offset| down.contains(&offset))
        .count();
    // The copy's `unreachable`, load, `memory.fill` call, call of
    // `leaf_trap` and call of `down`: five sites.
    assert!(inside_down >= 5, "{:?}", image.layout.inlined);
    let leaf = &image.layout.functions[LEAF_TRAP as usize];
    assert!(!image.layout.inlined.iter().any(|o| leaf.contains(o)));
}

#[test]
fn inlined_recursion_computes_the_same() {
    for (tier, mut store, instance) in every_tier() {
        for n in 0..=20 {
            let got = call(&mut *store, instance, "fib", &[Val::I32(n)]).unwrap();
            assert_eq!(got, [Val::I32(fib(n))], "{tier} fib({n})");
        }
        for m in 0..=2 {
            for n in 0..=6 {
                let got = call(&mut *store, instance, "ack", &[Val::I32(m), Val::I32(n)]).unwrap();
                assert_eq!(got, [Val::I32(ack(m, n))], "{tier} ack({m}, {n})");
            }
        }
    }
}

#[test]
fn a_trap_at_any_depth_backtraces_every_activation() {
    let codes = [
        TrapCode::Unreachable,
        TrapCode::MemoryOutOfBounds,
        TrapCode::MemoryOutOfBounds,
        TrapCode::Unreachable,
    ];
    for (tier, mut store, instance) in every_tier() {
        for (kind, code) in codes.into_iter().enumerate() {
            // Even depths trap in the outer body, odd ones in the copy.
            for depth in 0..6 {
                let trap = call(
                    &mut *store,
                    instance,
                    "down",
                    &[Val::I32(depth), Val::I32(kind as i32)],
                )
                .expect_err("traps");
                assert_eq!(
                    trap.trap_code(),
                    Some(code),
                    "{tier} kind {kind} depth {depth}"
                );
                let frames: Vec<u32> = trap.backtrace.iter().map(|f| f.func_index).collect();
                let mut expected = vec![DOWN; depth as usize + 1];
                if kind == 3 {
                    expected.insert(0, LEAF_TRAP);
                }
                assert_eq!(frames, expected, "{tier} kind {kind} depth {depth}");
            }
        }
        assert_eq!(
            call(&mut *store, instance, "fib", &[Val::I32(10)]).unwrap(),
            [Val::I32(55)],
            "{tier}: the store is usable after the traps"
        );
    }
}

#[test]
fn endless_inlined_recursion_exhausts_the_stack() {
    for (tier, mut store, instance) in every_tier() {
        let trap = call(&mut *store, instance, "runaway", &[Val::I32(0)]).expect_err("overflows");
        assert_eq!(trap.trap_code(), Some(TrapCode::StackOverflow), "{tier}");
        assert!(
            trap.backtrace.iter().all(|f| f.func_index == RUNAWAY),
            "{tier}: {:?}",
            &trap.backtrace[..3]
        );
    }
}
