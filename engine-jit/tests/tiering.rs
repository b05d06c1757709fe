//! Lazy and tiered compilation: what a program sees must not depend on
//! when (or how well) its functions were compiled.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtier_core::{
    CallError, Compilation, CompiledModule, Engine, EngineConfig, Features, Trap, TrapCode, Val,
    ValidatedModule,
};
use wasmtier_engine_jit::JitEngine;
use wasmtier_engine_jit::code_map::{CodeMap, CodeVersion};

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

/// Every compilation: the optimizing ones, and tiered code that never
/// leaves its baseline.
const ALL: [Compilation; 5] = [
    common::OPTIMIZING[0],
    common::OPTIMIZING[1],
    common::OPTIMIZING[2],
    common::OPTIMIZING[3],
    Compilation::Tiered {
        tier_up_after: None,
        background: false,
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
        background: true,
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

/// How many versions of each function's code exist, by function index.
fn versions(module: &dyn CompiledModule) -> std::collections::BTreeMap<u32, usize> {
    let mut count = std::collections::BTreeMap::new();
    for f in CodeMap::of(module).unwrap().functions() {
        *count.entry(f.index).or_insert(0) += 1;
    }
    count
}

const FOREGROUND: Compilation = Compilation::Tiered {
    tier_up_after: Some(1),
    background: false,
};

/// One call of `sum` loops in baseline code until its count runs out, then
/// goes on in optimized code entered at the loop header (on-stack
/// replacement) with every local's value: the parameters, locals of every
/// type (more than the argument registers hold), and values that branches
/// out of the loop carry to enclosing blocks.
const LOOPING: &str = r#"(module
    (func $helper (param i64) (result i64) (i64.mul (local.get 0) (i64.const 3)))
    (func (export "sum") (param $n i32) (param $bias i64) (result i64)
      (local $i i32) (local $acc i64) (local $f f64) (local $g f32)
      (local $v v128) (local $r externref) (local $a i32) (local $b i32)
      (local $c i64) (local $d f64)
      (local.set $f (f64.const 0.5))
      (local.set $g (f32.const 2))
      (local.set $v (i32x4.splat (i32.const 7)))
      (local.set $c (i64.const 11))
      (local.set $d (f64.const 1.25))
      (block $out (result i64)
        (loop $next
          (local.set $acc (i64.add (local.get $acc) (call $helper (i64.extend_i32_u (local.get $i)))))
          (local.set $f (f64.add (local.get $f) (f64.const 1)))
          (local.set $v (i32x4.add (local.get $v) (i32x4.splat (i32.const 1))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $out (i64.add (local.get $acc) (local.get $bias))
                      (i32.ge_u (local.get $i) (local.get $n)))
          (br $next))
        (unreachable))
      (i64.add (i64.trunc_f64_s (local.get $f)))
      (i64.add (i64.extend_i32_u (i32x4.extract_lane 3 (local.get $v))))
      (i64.add (i64.trunc_f32_s (local.get $g)))
      (i64.add (i64.add (local.get $c) (i64.trunc_f64_s (local.get $d))))))"#;

fn looping_sum(n: i64, bias: i64) -> i64 {
    let acc: i64 = (0..n).map(|i| i * 3).sum();
    let f = 0.5 + n as f64;
    acc + bias + f as i64 + (7 + n) + 2 + 11 + 1
}

#[test]
fn a_running_loop_moves_to_optimized_code_with_its_locals() {
    for compilation in ALL {
        let engine = engine(compilation);
        let module = compiled(&engine, LOOPING);
        for n in [1, 2, 5, 1000] {
            assert_eq!(
                call(
                    &engine,
                    &*module,
                    "sum",
                    &[Val::I32(n as i32), Val::I64(-4)]
                )
                .unwrap(),
                [Val::I64(looping_sum(n, -4))],
                "{compilation:?}, n = {n}"
            );
        }
    }
    let engine = engine(FOREGROUND);
    let module = compiled(&engine, LOOPING);
    call(&engine, &*module, "sum", &[Val::I32(3), Val::I64(0)]).unwrap();
    // sum: baseline, optimized, and the entry at its loop.
    assert_eq!(versions(&*module).get(&1), Some(&3));
}

#[test]
fn a_trap_after_the_switch_backtraces_one_frame_per_activation() {
    let wat = r#"(module
        (func $inner (param i32) (result i32)
          (local $i i32)
          (loop $next
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $next (i32.lt_u (local.get $i) (i32.const 100))))
          (i32.div_u (local.get $i) (local.get 0)))
        (func (export "outer") (param i32) (result i32) (call $inner (local.get 0))))"#;
    let engine = engine(FOREGROUND);
    let module = compiled(&engine, wat);
    let trap = call(&engine, &*module, "outer", &[Val::I32(0)]).unwrap_err();
    assert_eq!(trap.trap_code(), Some(TrapCode::IntegerDivideByZero));
    let frames: Vec<u32> = trap.backtrace.iter().map(|f| f.func_index).collect();
    assert_eq!(frames, [0, 1]);
    assert_eq!(
        versions(&*module).get(&0),
        Some(&3),
        "inner moved to its entry"
    );
    assert_eq!(
        call(&engine, &*module, "outer", &[Val::I32(7)]).unwrap(),
        [Val::I32(14)]
    );
}

#[test]
fn a_loop_that_cannot_be_entered_is_optimized_from_the_start() {
    // The operand stack below the loop is not a local: a loop inside a
    // handler's scope or with parameters has no entry, so its function is
    // compiled optimized on its first call.
    let wat = r#"(module
        (tag $e)
        (func (export "f") (result i32)
          (local $i i32)
          (block $caught
            (try_table (catch $e $caught)
              (loop $next
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $next (i32.lt_u (local.get $i) (i32.const 10))))))
          (local.get $i))
        (func (export "g") (result i32)
          (local $x i32)
          (i32.const 5)
          (loop $next (param i32) (result i32)
            (local.set $x (i32.sub (i32.const 1)))
            (br_if $next (local.get $x) (local.get $x))))
        )"#;
    let engine = engine(FOREGROUND);
    let module = compiled(&engine, wat);
    assert_eq!(call(&engine, &*module, "f", &[]).unwrap(), [Val::I32(10)]);
    assert_eq!(call(&engine, &*module, "g", &[]).unwrap(), [Val::I32(0)]);
    assert_eq!(versions(&*module).get(&0), Some(&1));
    assert_eq!(versions(&*module).get(&1), Some(&1));
}

/// Entered at an inner loop, optimized code moves on to the entries at the
/// loops around it (each a natural loop again when entered at its header).
#[test]
fn an_entry_at_an_inner_loop_moves_out_to_the_outermost() {
    let wat = r#"(module
      (func (export "main") (result i32) (local $r i32) (local $i i32) (local $j i32) (local $s i32)
        (loop $outer
          (local.set $i (i32.const 0))
          (loop $mid
            (local.set $j (i32.const 0))
            (loop $inner
              (local.set $s (i32.add (local.get $s) (i32.xor (local.get $j) (local.get $i))))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br_if $inner (i32.lt_u (local.get $j) (i32.const 100))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $mid (i32.lt_u (local.get $i) (i32.const 1000))))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (br_if $outer (i32.lt_u (local.get $r) (i32.const 10))))
        (local.get $s)))"#;
    let expected: i32 = (0..10)
        .flat_map(|_| (0..1000).flat_map(|i| (0..100).map(move |j| j ^ i)))
        .fold(0i32, |s, x| s.wrapping_add(x));
    let engine = engine(Compilation::Tiered {
        tier_up_after: Some(50),
        background: false,
    });
    let module = compiled(&engine, wat);
    assert_eq!(
        call(&engine, &*module, "main", &[]).unwrap(),
        [Val::I32(expected)]
    );
    // Baseline, optimized, and the entries at the inner, middle and outer
    // loops: baseline code moved into the first (the middle and outer ones
    // are taken from inside the entries).
    assert_eq!(versions(&*module).get(&0), Some(&5));
    let counts = module.tier_counts().unwrap();
    assert_eq!((counts.loop_entries, counts.replacements), (3, 1));
}

/// Optimized code calls the module's functions directly: a callee's final
/// code when it has some, else its call stub, which follows the callee
/// from its lazy-compile stub to its baseline and optimized code. Here
/// the caller is optimized before either callee is called.
#[test]
fn optimized_code_reaches_each_version_of_callees_compiled_after_it() {
    let wat = r#"(module
        (func $quotient (param i32) (result i32) (i32.div_u (i32.const 100) (local.get 0)))
        (func $square (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
        (func (export "caller") (param $n i32) (param $go i32) (result i32)
          (if (result i32) (local.get $go)
            (then (i32.add (call $quotient (local.get $n))
                           (i32.mul (call $square (local.get $n)) (i32.const 1000))))
            (else (i32.const -1)))))"#;
    let engine = engine(Compilation::Tiered {
        tier_up_after: Some(3),
        background: false,
    });
    let module = compiled(&engine, wat);
    let mut store = engine.new_store(Box::new(()));
    let id = store.instantiate(&*module).expect("instantiates");
    let mut caller = |n: i32, go: i32| store.call(id, "caller", &[Val::I32(n), Val::I32(go)]);
    for _ in 0..3 {
        assert_eq!(caller(5, 0).unwrap(), [Val::I32(-1)]);
    }
    // The callees may have baseline code by now (compiled ahead, as
    // likely next), but nothing final: the caller's calls go through
    // their call stubs.
    let before = versions(&*module);
    assert_eq!(before.get(&2), Some(&2), "the caller is optimized");
    assert!(before.get(&0).is_none_or(|&n| n == 1), "{before:?}");
    assert!(before.get(&1).is_none_or(|&n| n == 1), "{before:?}");
    for n in 1..=6 {
        assert_eq!(caller(n, 1).unwrap(), [Val::I32(100 / n + n * n * 1000)]);
    }
    assert_eq!(versions(&*module), [(0, 2), (1, 2), (2, 2)].into());
    let trap = match caller(0, 1) {
        Err(CallError::Trap(trap)) => trap,
        other => panic!("expected a trap, got {other:?}"),
    };
    assert_eq!(trap.trap_code(), Some(TrapCode::IntegerDivideByZero));
    let frames: Vec<u32> = trap.backtrace.iter().map(|f| f.func_index).collect();
    assert_eq!(frames, [0, 2]);
}

/// A function with a body of `straight` additions before a loop of `n`
/// iterations (its parameter): compiled concurrently, one of over 4 KiB
/// starts in baseline code.
fn large_function(straight: usize) -> String {
    let mut body = String::new();
    for k in 0..straight {
        body.push_str(&format!(
            "(local.set $acc (i32.add (local.get $acc) (i32.xor (local.get $n) (i32.const {k}))))\n"
        ));
    }
    format!(
        r#"(module
    (func (export "small") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
    (func (export "large") (param $n i32) (result i32) (local $acc i32) (local $i i32)
      {body}
      (block $done
        (br_if $done (i32.eqz (local.get $n)))
        (loop $next
          (local.set $acc (i32.add (local.get $acc) (i32.mul (local.get $i) (i32.const 3))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $next (i32.lt_u (local.get $i) (local.get $n)))))
      (local.get $acc)))"#
    )
}

fn large_result(straight: usize, n: i32) -> i32 {
    let straight = (0..straight as i32).fold(0i32, |acc, k| acc.wrapping_add(n ^ k));
    (0..n).fold(straight, |acc, i| acc.wrapping_add(i.wrapping_mul(3)))
}

/// Waits until `module` has a version of function `index` that `wanted`
/// accepts.
fn wait_for_version(
    module: &dyn CompiledModule,
    index: u32,
    what: &str,
    wanted: impl Fn(CodeVersion) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !CodeMap::of(module)
        .unwrap()
        .functions()
        .iter()
        .any(|f| f.index == index && wanted(f.version))
    {
        assert!(Instant::now() < deadline, "function {index}: no {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn compiled_concurrently_a_large_function_starts_in_baseline_code_and_tiers_up_when_hot() {
    const STRAIGHT: usize = 600;
    let engine = engine(Compilation::Concurrent);
    let module = compiled(&engine, &large_function(STRAIGHT));
    let mut store = engine.new_store(Box::new(()));
    let id = store.instantiate(&*module).expect("instantiates");
    let mut large = |n: i32| store.call(id, "large", &[Val::I32(n)]).unwrap();
    assert_eq!(large(3), [Val::I32(large_result(STRAIGHT, 3))]);
    let code = CodeMap::of(&*module).unwrap().functions();
    let version_of = |index| code.iter().find(|f| f.index == index).map(|f| f.version);
    assert_eq!(version_of(1), Some(CodeVersion::Baseline), "large");
    // The background sweep compiles the small one, optimized.
    wait_for_version(&*module, 0, "code", |_| true);
    let small = CodeMap::of(&*module).unwrap().functions();
    assert_eq!(
        small.iter().find(|f| f.index == 0).map(|f| f.version),
        Some(CodeVersion::Compiled),
        "small"
    );
    // Called often, it is optimized in the background; the results stay.
    let deadline = Instant::now() + Duration::from_secs(30);
    while versions(&*module).get(&1) == Some(&1) {
        assert_eq!(large(5), [Val::I32(large_result(STRAIGHT, 5))]);
        assert!(Instant::now() < deadline, "large never tiered up");
    }
    wait_for_version(&*module, 1, "optimized code", |v| {
        v == CodeVersion::Optimized
    });
    assert_eq!(large(7), [Val::I32(large_result(STRAIGHT, 7))]);

    // In a fresh module, one call looping long asks for an entry at its
    // loop, and ends with the same result.
    let module = compiled(&engine, &large_function(STRAIGHT));
    let mut store = engine.new_store(Box::new(()));
    let id = store.instantiate(&*module).expect("instantiates");
    let n = 2_000_000;
    assert_eq!(
        store.call(id, "large", &[Val::I32(n)]).unwrap(),
        [Val::I32(large_result(STRAIGHT, n))]
    );
    wait_for_version(&*module, 1, "loop entry", |v| {
        matches!(v, CodeVersion::LoopEntry { .. })
    });
}
