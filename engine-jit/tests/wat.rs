//! WAT snippets run on the JIT: results, traps and host calls.

use std::sync::Arc;

use wasmtier_core::{
    Engine, EngineConfig, Features, FuncType, HostFunc, HostItem, InstanceId, LinkError, Store,
    Trap, TrapCode, Val, ValType, ValidatedModule,
};
use wasmtier_engine_jit::JitEngine;

fn engine() -> JitEngine {
    JitEngine::new(EngineConfig {
        features: Features::wasm2(),
        ..EngineConfig::default()
    })
}

fn instantiate(
    engine: &JitEngine,
    store: &mut dyn Store,
    wat: &str,
) -> Result<InstanceId, LinkError> {
    let module = ValidatedModule::from_bytes_or_text(wat.as_bytes(), Features::wasm2())
        .expect("test module is valid");
    let compiled = engine.compile(Arc::new(module))?;
    store.instantiate(&*compiled)
}

/// Instantiates `wat` in a fresh store and calls `export`.
fn run(wat: &str, export: &str, args: &[Val]) -> Result<Vec<Val>, Trap> {
    let engine = engine();
    let mut store = engine.new_store(Box::new(()));
    let id = instantiate(&engine, &mut *store, wat).expect("instantiates");
    store.call(id, export, args).map_err(|e| match e {
        wasmtier_core::CallError::Trap(trap) => trap,
        other => panic!("call failed: {other}"),
    })
}

fn trap_code(result: Result<Vec<Val>, Trap>) -> TrapCode {
    result
        .expect_err("expected a trap")
        .trap_code()
        .expect("a wasm trap")
}

#[test]
fn adds_and_recurses() {
    let wat = r#"(module
        (func $fac (export "fac") (param i64) (result i64)
          (if (result i64) (i64.eqz (local.get 0))
            (then (i64.const 1))
            (else (i64.mul (local.get 0) (call $fac (i64.sub (local.get 0) (i64.const 1))))))))"#;
    assert_eq!(
        run(wat, "fac", &[Val::I64(20)]).unwrap(),
        [Val::I64(2432902008176640000)]
    );
}

#[test]
fn loops_and_branch_tables() {
    let wat = r#"(module
        (func (export "sum") (param i32) (result i32) (local i32)
          (block $done
            (loop $next
              (br_if $done (i32.eqz (local.get 0)))
              (local.set 1 (i32.add (local.get 1) (local.get 0)))
              (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
              (br $next)))
          (local.get 1))
        (func (export "pick") (param i32) (result i32)
          (block (block (block (br_table 0 1 2 (local.get 0)))
            (return (i32.const 10)))
            (return (i32.const 11)))
          (i32.const 12)))"#;
    assert_eq!(run(wat, "sum", &[Val::I32(100)]).unwrap(), [Val::I32(5050)]);
    for (i, want) in [(0, 10), (1, 11), (2, 12), (7, 12)] {
        assert_eq!(run(wat, "pick", &[Val::I32(i)]).unwrap(), [Val::I32(want)]);
    }
}

#[test]
fn multi_value_results() {
    let wat = r#"(module
        (func (export "swap") (param i32 i64 f32 f64) (result f64 f32 i64 i32)
          local.get 3 local.get 2 local.get 1 local.get 0))"#;
    let out = run(
        wat,
        "swap",
        &[Val::I32(1), Val::I64(2), Val::F32(3), Val::F64(4)],
    )
    .unwrap();
    assert_eq!(out, [Val::F64(4), Val::F32(3), Val::I64(2), Val::I32(1)]);
}

#[test]
fn integer_traps_carry_spec_codes() {
    let wat = r#"(module
        (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
        (func (export "trunc") (param f32) (result i32) (i32.trunc_f32_s (local.get 0)))
        (func (export "unreachable") unreachable))"#;
    assert_eq!(
        trap_code(run(wat, "div", &[Val::I32(1), Val::I32(0)])),
        TrapCode::IntegerDivideByZero
    );
    assert_eq!(
        trap_code(run(wat, "div", &[Val::I32(i32::MIN), Val::I32(-1)])),
        TrapCode::IntegerOverflow
    );
    assert_eq!(
        trap_code(run(wat, "trunc", &[Val::from_f32(f32::NAN)])),
        TrapCode::BadConversionToInteger
    );
    assert_eq!(
        trap_code(run(wat, "trunc", &[Val::from_f32(3e9)])),
        TrapCode::IntegerOverflow
    );
    assert_eq!(
        trap_code(run(wat, "unreachable", &[])),
        TrapCode::Unreachable
    );
}

#[test]
fn memory_accesses_fault_past_the_end_and_grow() {
    let wat = r#"(module (memory 1 3)
        (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
        (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
        (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
        (func (export "size") (result i32) (memory.size)))"#;
    let engine = engine();
    let mut store = engine.new_store(Box::new(()));
    let id = instantiate(&engine, &mut *store, wat).unwrap();
    store
        .call(id, "store", &[Val::I32(65532), Val::I32(7)])
        .unwrap();
    assert_eq!(
        store.call(id, "load", &[Val::I32(65532)]).unwrap(),
        [Val::I32(7)]
    );
    let err = store.call(id, "load", &[Val::I32(65533)]).unwrap_err();
    assert!(
        err.to_string().contains("out of bounds memory access"),
        "{err}"
    );
    assert_eq!(
        store.call(id, "grow", &[Val::I32(1)]).unwrap(),
        [Val::I32(1)]
    );
    assert_eq!(
        store.call(id, "load", &[Val::I32(65533)]).unwrap(),
        [Val::I32(0)]
    );
    assert_eq!(
        store.call(id, "grow", &[Val::I32(5)]).unwrap(),
        [Val::I32(-1)]
    );
    assert_eq!(store.call(id, "size", &[]).unwrap(), [Val::I32(2)]);
}

#[test]
fn call_indirect_checks_null_type_and_bounds() {
    // A table that may grow, and one whose maximum is its minimum (its
    // length a constant in the code, its base hoisted).
    for (table, grown) in [("(table 3 funcref)", 3), ("(table 3 3 funcref)", -1)] {
        let wat = format!(
            r#"(module
            (type $ii (func (param i32) (result i32)))
            {table}
            (elem (i32.const 0) $double $other)
            (func $double (type $ii) (i32.mul (local.get 0) (i32.const 2)))
            (func $other (result i64) (i64.const 1))
            (func (export "call") (param i32 i32) (result i32)
              (call_indirect (type $ii) (local.get 1) (local.get 0)))
            (func (export "grow") (result i32 i32)
              (table.grow (ref.null func) (i32.const 1))
              (table.size)))"#
        );
        let run = |export, args: &[Val]| run(&wat, export, args);
        assert_eq!(
            run("call", &[Val::I32(0), Val::I32(21)]).unwrap(),
            [Val::I32(42)],
            "{table}"
        );
        assert_eq!(
            trap_code(run("call", &[Val::I32(1), Val::I32(0)])),
            TrapCode::IndirectCallTypeMismatch,
            "{table}"
        );
        assert_eq!(
            trap_code(run("call", &[Val::I32(2), Val::I32(0)])),
            TrapCode::IndirectCallToNull,
            "{table}"
        );
        for index in [3, -1] {
            assert_eq!(
                trap_code(run("call", &[Val::I32(index), Val::I32(0)])),
                TrapCode::TableOutOfBounds,
                "{table}[{index}]"
            );
        }
        let size = if grown < 0 { 3 } else { 4 };
        assert_eq!(
            run("grow", &[]).unwrap(),
            [Val::I32(grown), Val::I32(size)],
            "{table}"
        );
    }
}

#[test]
fn runaway_recursion_is_call_stack_exhausted() {
    let wat = r#"(module (func $f (export "f") (call $f)))"#;
    assert_eq!(trap_code(run(wat, "f", &[])), TrapCode::StackOverflow);
    // The thread can run Wasm again afterwards.
    assert_eq!(trap_code(run(wat, "f", &[])), TrapCode::StackOverflow);
}

/// A recursion with small frames that calls, at every level, a leaf whose
/// frame holds `values` loads live across a store (about `8 * values`
/// bytes of spill slots): at the deepest level the leaf runs just above
/// the stack limit.
fn recursion_into_a_big_leaf(values: usize) -> String {
    let loads = (0..values)
        .map(|i| {
            format!(
                "(local.set {i} (i64.load offset={} (i32.const 0)))",
                i * 8 % 60000
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let sum = (1..values)
        .map(|i| format!("(local.get {i}) (i64.add)"))
        .collect::<Vec<_>>()
        .join("\n");
    let locals = vec!["i64"; values].join(" ");
    format!(
        r#"(module (memory 1)
          (func $leaf (result i64) (local {locals})
            {loads}
            (i64.store (i32.const 8) (i64.const 1))
            (local.get 0) {sum})
          (func $deep (export "deep") (param i64) (result i64)
            (drop (call $leaf))
            (call $deep (i64.add (local.get 0) (i64.const 1)))))"#
    )
}

/// Frames larger than the 16 KiB a frame may lie below the stack limit
/// (`MAX_FRAME_BELOW_LIMIT`) are checked before they are allocated, in
/// leaves too, which otherwise have no check. On a thread whose stack
/// leaves less room below the limit than such a frame, the leaf called at
/// the deepest level then traps: unchecked, it would write its spills past
/// the thread's stack into the guard page and crash the process.
#[test]
fn a_leaf_with_a_big_frame_is_checked_on_a_small_stack() {
    let wat = recursion_into_a_big_leaf(8000);
    let result = std::thread::Builder::new()
        .stack_size(192 * 1024)
        .spawn(move || run(&wat, "deep", &[Val::I64(0)]))
        .expect("spawns")
        .join()
        .expect("no panic");
    assert_eq!(trap_code(result), TrapCode::StackOverflow);
}

#[test]
fn traps_have_a_backtrace_with_names() {
    let wat = r#"(module
        (func $inner unreachable)
        (func $outer (export "outer") (call $inner)))"#;
    let trap = run(wat, "outer", &[]).unwrap_err();
    let names: Vec<_> = trap
        .backtrace
        .iter()
        .map(|f| f.name.clone().unwrap_or_default())
        .collect();
    assert_eq!(names, ["inner", "outer"]);
}

#[test]
fn host_functions_see_memory_and_state_and_can_exit() {
    let engine = engine();
    let mut store = engine.new_store(Box::new(0u32));
    let add = HostFunc::new(
        FuncType::new([ValType::I32, ValType::I32], [ValType::I32]),
        |cx, args, results| {
            let (Val::I32(a), Val::I32(b)) = (args[0], args[1]) else {
                unreachable!()
            };
            *cx.state.downcast_mut::<u32>().unwrap() += 1;
            let memory = cx.memory.as_mut().expect("caller exports memory");
            assert!(memory.write(0, &[99]));
            results[0] = Val::I32(a + b);
            Ok(())
        },
    );
    let exit = HostFunc::new(FuncType::new([ValType::I32], []), |_, args, _| {
        let Val::I32(code) = args[0] else {
            unreachable!()
        };
        Err(Trap::exit(code))
    });
    store.define("env", "add", HostItem::Func(add)).unwrap();
    store.define("env", "exit", HostItem::Func(exit)).unwrap();
    let wat = r#"(module
        (import "env" "add" (func $add (param i32 i32) (result i32)))
        (import "env" "exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (func (export "run") (result i32)
          (i32.add (call $add (i32.const 2) (i32.const 3)) (i32.load8_u (i32.const 0))))
        (func (export "quit") (call $exit (i32.const 7)) unreachable))"#;
    let id = instantiate(&engine, &mut *store, wat).unwrap();
    assert_eq!(store.call(id, "run", &[]).unwrap(), [Val::I32(104)]);
    assert_eq!(*store.state_mut().downcast_ref::<u32>().unwrap(), 1);
    let err = store.call(id, "quit", &[]).unwrap_err();
    let wasmtier_core::CallError::Trap(trap) = err else {
        panic!("{err}")
    };
    assert_eq!(trap.exit_status(), Some(7));
}

#[test]
fn segments_that_do_not_fit_trap_at_instantiation() {
    let engine = engine();
    let mut store = engine.new_store(Box::new(()));
    let err = instantiate(
        &engine,
        &mut *store,
        r#"(module (memory 1) (data (i32.const 65535) "ab"))"#,
    )
    .unwrap_err();
    assert!(
        matches!(err, LinkError::Trap(ref t) if t.trap_code() == Some(TrapCode::MemoryOutOfBounds)),
        "{err}"
    );
}

fn run_with(config: EngineConfig, wat: &str, export: &str, args: &[Val]) -> Result<Vec<Val>, Trap> {
    let engine = JitEngine::new(config);
    let mut store = engine.new_store(Box::new(()));
    let id = instantiate(&engine, &mut *store, wat).expect("instantiates");
    store.call(id, export, args).map_err(|e| match e {
        wasmtier_core::CallError::Trap(trap) => trap,
        other => panic!("call failed: {other}"),
    })
}

#[test]
fn fuel_stops_an_endless_loop_but_not_a_short_one() {
    let config = EngineConfig {
        features: Features::wasm2(),
        fuel: Some(10_000),
        ..EngineConfig::default()
    };
    let wat = r#"(module
        (func (export "spin") (loop (br 0)))
        (func (export "count") (param i32) (result i32)
          (loop $l (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br_if $l (local.get 0)))
          (local.get 0)))"#;
    assert_eq!(
        trap_code(run_with(config.clone(), wat, "spin", &[])),
        TrapCode::OutOfFuel
    );
    assert_eq!(
        run_with(config.clone(), wat, "count", &[Val::I32(100)]).unwrap(),
        [Val::I32(0)]
    );
    assert_eq!(
        trap_code(run_with(config, wat, "count", &[Val::I32(100_000)])),
        TrapCode::OutOfFuel
    );
}

#[test]
fn low_memory_mode_checks_bounds_explicitly() {
    let config = EngineConfig {
        features: Features::wasm2(),
        low_memory: true,
        ..EngineConfig::default()
    };
    let wat = r#"(module (memory 1)
        (func (export "load") (param i32) (result i64) (i64.load offset=8 (local.get 0)))
        (func (export "grow") (result i32) (memory.grow (i32.const 1))))"#;
    assert_eq!(
        run_with(config.clone(), wat, "load", &[Val::I32(65520)]).unwrap(),
        [Val::I64(0)]
    );
    assert_eq!(
        trap_code(run_with(config.clone(), wat, "load", &[Val::I32(65521)])),
        TrapCode::MemoryOutOfBounds
    );
    assert_eq!(
        trap_code(run_with(config, wat, "load", &[Val::I32(-1)])),
        TrapCode::MemoryOutOfBounds
    );
}

#[test]
fn max_memory_caps_growth() {
    let config = EngineConfig {
        features: Features::wasm2(),
        max_memory: Some(2 * 65536),
        ..EngineConfig::default()
    };
    let wat = r#"(module (memory 1)
        (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;
    assert_eq!(
        run_with(config.clone(), wat, "grow", &[Val::I32(1)]).unwrap(),
        [Val::I32(1)]
    );
    assert_eq!(
        run_with(config, wat, "grow", &[Val::I32(2)]).unwrap(),
        [Val::I32(-1)]
    );
}

#[test]
fn simd_lanes_round_trip() {
    let wat = r#"(module
        (func (export "dot") (param v128 v128) (result i32)
          (i32x4.extract_lane 0 (i32x4.dot_i16x8_s (local.get 0) (local.get 1)))))"#;
    let a = Val::V128(0x0000_0000_0000_0000_0000_0000_0003_0002);
    let b = Val::V128(0x0000_0000_0000_0000_0000_0000_0005_0004);
    assert_eq!(run(wat, "dot", &[a, b]).unwrap(), [Val::I32(2 * 4 + 3 * 5)]);
}

#[test]
fn imported_memory_and_table_are_shared_between_instances() {
    let engine = engine();
    let mut store = engine.new_store(Box::new(()));
    let exporter = instantiate(
        &engine,
        &mut *store,
        r#"(module (memory (export "mem") 1) (table (export "tab") 2 funcref)
            (func $seven (result i32) (i32.const 7)) (elem (i32.const 1) $seven)
            (func (export "peek") (result i32) (i32.load (i32.const 0))))"#,
    )
    .unwrap();
    store.register("a", exporter);
    let importer = instantiate(
        &engine,
        &mut *store,
        r#"(module (import "a" "mem" (memory 1)) (import "a" "tab" (table 2 funcref))
            (type $r (func (result i32)))
            (func (export "poke") (i32.store (i32.const 0) (call_indirect (type $r) (i32.const 1)))))"#,
    )
    .unwrap();
    store.call(importer, "poke", &[]).unwrap();
    assert_eq!(store.call(exporter, "peek", &[]).unwrap(), [Val::I32(7)]);
}

#[test]
fn large_modules_compile_in_parallel_and_link_calls() {
    let mut wat = String::from("(module (func $f0 (result i32) (i32.const 1))\n");
    for i in 1..200 {
        wat.push_str(&format!(
            "(func $f{i} (result i32) (i32.add (call $f{}) (i32.const 1)))\n",
            i - 1
        ));
    }
    wat.push_str("(export \"top\" (func $f199)))");
    assert_eq!(run(&wat, "top", &[]).unwrap(), [Val::I32(200)]);
}

#[test]
fn max_stack_bounds_recursion_depth() {
    let config = EngineConfig {
        features: Features::wasm2(),
        max_stack: Some(64 * 1024),
        ..EngineConfig::default()
    };
    let wat = r#"(module
        (func $down (export "down") (param i32) (result i32)
          (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
            (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1))))))))"#;
    assert_eq!(
        run_with(config.clone(), wat, "down", &[Val::I32(100)]).unwrap(),
        [Val::I32(100)]
    );
    assert_eq!(
        trap_code(run_with(config, wat, "down", &[Val::I32(100_000)])),
        TrapCode::StackOverflow
    );
}

#[test]
fn reexported_host_functions_work_directly_and_through_tables() {
    let engine = engine();
    let mut store = engine.new_store(Box::new(()));
    let double = HostFunc::new(
        FuncType::new([ValType::I32], [ValType::I32]),
        |_, args, results| {
            let Val::I32(x) = args[0] else { unreachable!() };
            results[0] = Val::I32(x * 2);
            Ok(())
        },
    );
    store
        .define("env", "double", HostItem::Func(double))
        .unwrap();
    let first = instantiate(
        &engine,
        &mut *store,
        r#"(module (import "env" "double" (func $d (param i32) (result i32)))
            (export "double" (func $d))
            (table (export "table") 1 funcref) (elem (i32.const 0) $d))"#,
    )
    .unwrap();
    assert_eq!(
        store.call(first, "double", &[Val::I32(21)]).unwrap(),
        [Val::I32(42)]
    );
    store.register("first", first);
    let second = instantiate(
        &engine,
        &mut *store,
        r#"(module (import "first" "table" (table 1 funcref))
            (type $t (func (param i32) (result i32)))
            (func (export "via_table") (param i32) (result i32)
              (call_indirect (type $t) (local.get 0) (i32.const 0))))"#,
    )
    .unwrap();
    assert_eq!(
        store.call(second, "via_table", &[Val::I32(5)]).unwrap(),
        [Val::I32(10)]
    );
}

#[test]
fn runaway_recursion_on_a_small_thread_stack_traps_cleanly() {
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let wat = r#"(module (func $f (export "f") (param i64) (call $f (local.get 0))))"#;
            trap_code(run(wat, "f", &[Val::I64(0)]))
        })
        .unwrap();
    assert_eq!(handle.join().unwrap(), TrapCode::StackOverflow);
}

#[test]
#[ignore = "timing only: cargo test --release -- --ignored --nocapture"]
fn fib_timing() {
    let wat = r#"(module (func $fib (export "fib") (param i32) (result i32)
        (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
          (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                         (call $fib (i32.sub (local.get 0) (i32.const 2))))))))"#;
    let start = std::time::Instant::now();
    assert_eq!(
        run(wat, "fib", &[Val::I32(32)]).unwrap(),
        [Val::I32(2178309)]
    );
    println!("fib(32) compiled and ran in {:?}", start.elapsed());
}

#[test]
fn traps_raised_in_builtins_and_host_functions_have_backtraces() {
    let engine = engine();
    let mut store = engine.new_store(Box::new(()));
    let fail = HostFunc::new(FuncType::new([], []), |_, _, _| Err(Trap::host("boom")));
    store.define("env", "fail", HostItem::Func(fail)).unwrap();
    let wat = r#"(module (import "env" "fail" (func $fail)) (memory 1)
        (func $fill (memory.fill (i32.const 65535) (i32.const 0) (i32.const 2)))
        (func $host (call $fail))
        (func (export "fill") (call $fill))
        (func (export "host") (call $host)))"#;
    let id = instantiate(&engine, &mut *store, wat).unwrap();
    let names = |export: &str, store: &mut dyn Store| -> (String, Vec<String>) {
        let wasmtier_core::CallError::Trap(trap) = store.call(id, export, &[]).unwrap_err() else {
            panic!("expected a trap")
        };
        let names = trap.backtrace.iter().map(|f| f.to_string()).collect();
        (trap.to_string(), names)
    };
    let (message, frames) = names("fill", &mut *store);
    assert!(message.contains("out of bounds memory access"), "{message}");
    assert_eq!(frames, ["fill (func 1)", "<func 3>"]);
    let (message, frames) = names("host", &mut *store);
    assert!(message.contains("boom"), "{message}");
    assert_eq!(frames, ["host (func 2)", "<func 4>"]);
}

#[test]
fn function_references_round_trip_and_foreign_handles_are_null() {
    let wat = r#"(module
        (func $f (result i32) (i32.const 5))
        (elem declare func $f)
        (func (export "get") (result funcref) (ref.func $f))
        (func (export "is_null") (param funcref) (result i32) (ref.is_null (local.get 0))))"#;
    let engine = engine();
    let mut store = engine.new_store(Box::new(()));
    let id = instantiate(&engine, &mut *store, wat).unwrap();
    let [reference] = store.call(id, "get", &[]).unwrap()[..] else {
        panic!()
    };
    assert!(matches!(reference, Val::FuncRef(Some(_))));
    assert_eq!(
        store.call(id, "is_null", &[reference]).unwrap(),
        [Val::I32(0)]
    );
    let bogus = Val::FuncRef(Some(wasmtier_core::FuncRefHandle(0xdead_beef)));
    assert_eq!(store.call(id, "is_null", &[bogus]).unwrap(), [Val::I32(1)]);
}
