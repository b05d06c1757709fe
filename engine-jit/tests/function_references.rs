//! Typed function references and Wasm 3.0 types on the JIT, as a caller
//! sees them: results and the spec's trap messages.

use std::sync::Arc;

use wasmtier_core::{
    CallError, Engine, EngineConfig, Features, InstanceId, Trap, TrapCode, Val, ValidatedModule,
};
use wasmtier_engine_jit::JitEngine;

fn features() -> Features {
    Features {
        function_references: true,
        ..Features::wasm2()
    }
}

/// Instantiates each of `wats` in order in one store (each registered
/// under `m0`, `m1`, … for the next to import) and calls `export` of the
/// last.
fn run(wats: &[&str], export: &str, args: &[Val]) -> Result<Vec<Val>, Trap> {
    let engine = JitEngine::new(EngineConfig {
        features: features(),
        ..EngineConfig::default()
    });
    let mut store = engine.new_store(Box::new(()));
    let mut last = InstanceId(0);
    for (i, wat) in wats.iter().enumerate() {
        let module = ValidatedModule::from_bytes_or_text(wat.as_bytes(), features())
            .expect("test module is valid");
        let compiled = engine.compile(Arc::new(module)).expect("compiles");
        last = store.instantiate(&*compiled).expect("instantiates");
        store.register(&format!("m{i}"), last);
    }
    store.call(last, export, args).map_err(|e| match e {
        CallError::Trap(trap) => trap,
        other => panic!("call failed: {other}"),
    })
}

#[test]
fn call_ref_through_a_typed_table_with_an_initializer() {
    let wat = r#"(module
        (type $op (func (param i32) (result i32)))
        (func $double (type $op) (i32.mul (local.get 0) (i32.const 2)))
        (func $square (type $op) (i32.mul (local.get 0) (local.get 0)))
        ;; Every element starts as $double; element 1 is then $square.
        (table $ops 3 (ref $op) (ref.func $double))
        (elem (table $ops) (i32.const 1) (ref $op) (ref.func $square))
        (func (export "apply") (param i32 i32) (result i32)
          (call_ref $op (local.get 1) (table.get $ops (local.get 0))))
        (func (export "apply_null") (result i32)
          (call_ref $op (i32.const 1) (ref.null $op))))"#;
    let apply = |slot, x| run(&[wat], "apply", &[Val::I32(slot), Val::I32(x)]);
    assert_eq!(apply(0, 7).unwrap(), [Val::I32(14)]);
    assert_eq!(apply(1, 7).unwrap(), [Val::I32(49)]);
    assert_eq!(apply(2, 7).unwrap(), [Val::I32(14)]);
    let trap = run(&[wat], "apply_null", &[]).expect_err("a null call_ref traps");
    assert_eq!(trap.trap_code(), Some(TrapCode::NullFunctionReference));
    assert!(
        trap.to_string()
            .starts_with("wasm trap: null function reference")
    );
}

#[test]
fn br_on_null_and_non_null_locals() {
    let wat = r#"(module
        (type $t (func (result i32)))
        (func $seven (type $t) (i32.const 7))
        (elem declare func $seven)
        (func (export "pick") (param i32) (result i32) (local $f (ref $t))
          (block $null
            (local.set $f
              (br_on_null $null
                (select (result (ref null $t))
                  (ref.func $seven) (ref.null $t) (local.get 0))))
            (return (call_ref $t (local.get $f))))
          (i32.const -1)))"#;
    assert_eq!(run(&[wat], "pick", &[Val::I32(1)]).unwrap(), [Val::I32(7)]);
    assert_eq!(run(&[wat], "pick", &[Val::I32(0)]).unwrap(), [Val::I32(-1)]);
}

/// A function of a declared subtype is accepted by `call_indirect` of its
/// supertype, even when the types come from different modules (canonical
/// rec groups), and refused by an unrelated type with the spec's message.
#[test]
fn call_indirect_accepts_declared_subtypes_across_modules() {
    let exporter = r#"(module
        (type $base (sub (func (result i32))))
        (type $derived (sub final $base (func (result i32))))
        (func $f (type $derived) (i32.const 42))
        (table (export "table") 1 funcref)
        (elem (i32.const 0) $f))"#;
    let caller = r#"(module
        (type $base (sub (func (result i32))))
        (type $plain (func (result i32)))
        (import "m0" "table" (table 1 funcref))
        (func (export "as_base") (result i32)
          (call_indirect (type $base) (i32.const 0)))
        (func (export "as_plain") (result i32)
          (call_indirect (type $plain) (i32.const 0))))"#;
    assert_eq!(
        run(&[exporter, caller], "as_base", &[]).unwrap(),
        [Val::I32(42)]
    );
    // Structurally the same signature, but a final type without the
    // supertype: another type, so the call traps.
    let trap = run(&[exporter, caller], "as_plain", &[]).expect_err("mismatch traps");
    assert_eq!(trap.trap_code(), Some(TrapCode::IndirectCallTypeMismatch));
    assert!(
        trap.to_string()
            .starts_with("wasm trap: indirect call type mismatch"),
        "{trap}"
    );
}

#[test]
fn gc_instructions_are_refused_naming_the_proposal() {
    let wat = r#"(module
        (type $s (struct (field i32)))
        (func (export "make") (result (ref $s)) (struct.new $s (i32.const 1))))"#;
    let module = ValidatedModule::from_bytes_or_text(wat.as_bytes(), features())
        .expect("valid with the gc types function references bring");
    let engine = JitEngine::new(EngineConfig {
        features: features(),
        ..EngineConfig::default()
    });
    let err = engine
        .compile(Arc::new(module))
        .err()
        .expect("struct.new is not compiled");
    assert!(err.to_string().contains("(gc proposal)"), "{err}");
}

/// A host passing a function reference where a concrete type is expected
/// is checked against that type: `call_ref` trusts the static type, so a
/// function of another signature must never get through.
#[test]
fn host_references_are_checked_against_concrete_parameter_types() {
    let wat = r#"(module
        (type $a (func (result i32)))
        (type $b (func (param i32) (result i32)))
        (func $fa (type $a) (i32.const 1))
        (elem declare func $fa)
        (func (export "get_a") (result (ref $a)) (ref.func $fa))
        (func (export "call_a") (param (ref $a)) (result i32)
          (call_ref $a (local.get 0)))
        (func (export "call_b") (param (ref $b)) (result i32)
          (call_ref $b (i32.const 5) (local.get 0))))"#;
    let engine = JitEngine::new(EngineConfig {
        features: features(),
        ..EngineConfig::default()
    });
    let mut store = engine.new_store(Box::new(()));
    let module = ValidatedModule::from_bytes_or_text(wat.as_bytes(), features()).unwrap();
    let compiled = engine.compile(Arc::new(module)).unwrap();
    let id = store.instantiate(&*compiled).unwrap();
    let fa = store.call(id, "get_a", &[]).unwrap();
    assert_eq!(store.call(id, "call_a", &fa).unwrap(), [Val::I32(1)]);
    let err = store.call(id, "call_b", &fa).unwrap_err();
    assert!(
        matches!(err, CallError::ArgumentType { index: 0, .. }),
        "{err}"
    );
    // Null where the type is not nullable is refused the same way.
    let err = store.call(id, "call_a", &[Val::FuncRef(None)]).unwrap_err();
    assert!(
        matches!(err, CallError::ArgumentType { index: 0, .. }),
        "{err}"
    );
}

/// A loop whose back edge is a `br_on_non_null` pays for every iteration:
/// fuel is charged before each control transfer, these included. (A
/// deadline stops the loop if that ever regresses, so the test fails
/// instead of hanging.)
#[test]
fn fuel_is_charged_before_br_on_non_null() {
    let wat = r#"(module
        (type $t (func))
        (func $f (type $t))
        (elem declare func $f)
        (func (export "spin")
          (ref.func $f)
          (loop $again (param (ref null $t))
            (br_on_non_null $again))))"#;
    let engine = JitEngine::new(EngineConfig {
        features: features(),
        fuel: Some(100_000),
        timeout: Some(std::time::Duration::from_secs(10)),
        ..EngineConfig::default()
    });
    let mut store = engine.new_store(Box::new(()));
    let module = ValidatedModule::from_bytes_or_text(wat.as_bytes(), features()).unwrap();
    let compiled = engine.compile(Arc::new(module)).unwrap();
    let id = store.instantiate(&*compiled).unwrap();
    let err = store.call(id, "spin", &[]).unwrap_err();
    let CallError::Trap(trap) = err else {
        panic!("{err}")
    };
    assert_eq!(trap.trap_code(), Some(TrapCode::OutOfFuel), "{trap}");
}
