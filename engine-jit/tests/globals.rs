//! Globals read, written, exported and imported in every compilation,
//! by instances with few and with many globals of their own (1 to 30, the
//! C stack pointer alone to a generated module's worth), in optimized code
//! and in baseline code.

mod common;

use std::sync::Arc;

use wasmtier_core::{
    Compilation, Engine, EngineConfig, Features, InstanceId, Store, Val, ValidatedModule,
};
use wasmtier_engine_jit::JitEngine;

/// Every compilation, plus baseline code that never tiers up (the
/// single-pass compiler reads globals its own way).
fn compilations() -> Vec<Compilation> {
    let mut all = common::OPTIMIZING.to_vec();
    all.push(Compilation::Tiered {
        tier_up_after: None,
        background: false,
    });
    all
}

/// A module importing `base.counter` (global 0) and defining `defined`
/// globals: `shared` (exported, mutable i64, 7) first, then a mix of i32,
/// i64 and f64 globals whose initial values are 1, 2, 3, ...
fn module_with(defined: usize) -> String {
    let mut wat = String::from(
        r#"(module
        (import "base" "counter" (global $counter (mut i32)))
        (global $shared (export "shared") (mut i64) (i64.const 7))
"#,
    );
    let mut sum = String::from("(f64.convert_i64_s (global.get $shared))");
    let mut bump =
        String::from("(global.set $shared (i64.add (global.get $shared) (i64.const 10)))");
    for k in 1..defined {
        // The global's type, and how `sum` turns its value into an f64.
        let (ty, to_f64) = match k % 3 {
            0 => ("i64", "f64.convert_i64_s"),
            1 => ("f64", ""),
            _ => ("i32", "f64.convert_i32_s"),
        };
        wat.push_str(&format!(
            "        (global $g{k} (mut {ty}) ({ty}.const {k}))\n"
        ));
        let get = format!("(global.get $g{k})");
        let value = if to_f64.is_empty() {
            get.clone()
        } else {
            format!("({to_f64} {get})")
        };
        sum = format!("(f64.add {sum} {value})");
        bump.push_str(&format!(
            " (global.set $g{k} ({ty}.add {get} ({ty}.const 10)))"
        ));
    }
    wat.push_str(&format!(
        r#"        (func (export "sum") (result f64) {sum})
        (func (export "bump") {bump})
        (func (export "shared_value") (result i64) (global.get $shared))
        (func (export "count") (result i32)
          (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
          (global.get $counter)))"#
    ));
    wat
}

/// A module that writes another instance's exported global.
const WRITER: &str = r#"(module
    (import "m" "shared" (global $shared (mut i64)))
    (func (export "set") (param i64) (global.set $shared (local.get 0))))"#;

const BASE: &str = r#"(module (global (export "counter") (mut i32) (i32.const 40)))"#;

fn instantiate(engine: &JitEngine, store: &mut dyn Store, wat: &str) -> InstanceId {
    let module = ValidatedModule::from_bytes_or_text(wat.as_bytes(), Features::wasm2())
        .expect("test module is valid");
    let compiled = engine.compile(Arc::new(module)).expect("compiles");
    store.instantiate(&*compiled).expect("instantiates")
}

fn call(store: &mut dyn Store, id: InstanceId, export: &str, args: &[Val]) -> Vec<Val> {
    store
        .call(id, export, args)
        .unwrap_or_else(|e| panic!("{export}: {e}"))
}

#[test]
fn globals_read_write_export_and_import_in_every_compilation() {
    for compilation in compilations() {
        for defined in [1, 7, 8, 9, 30] {
            let what = format!("{defined} globals, {compilation:?}");
            let engine = JitEngine::new(EngineConfig {
                features: Features::wasm2(),
                compilation,
                ..EngineConfig::default()
            });
            let mut store = engine.new_store(Box::new(()));
            let base = instantiate(&engine, &mut *store, BASE);
            store.register("base", base);
            let m = instantiate(&engine, &mut *store, &module_with(defined));
            store.register("m", m);
            let writer = instantiate(&engine, &mut *store, WRITER);

            // 7 + 1 + 2 + ... + (defined - 1)
            let initial = 7.0 + (defined * (defined - 1) / 2) as f64;
            assert_eq!(
                call(&mut *store, m, "sum", &[]),
                [Val::F64(initial.to_bits())],
                "{what}"
            );
            call(&mut *store, m, "bump", &[]);
            let bumped = initial + 10.0 * defined as f64;
            assert_eq!(
                call(&mut *store, m, "sum", &[]),
                [Val::F64(bumped.to_bits())],
                "{what}"
            );

            // Written by another instance, seen by its owner and the host.
            call(&mut *store, writer, "set", &[Val::I64(1000)]);
            assert_eq!(
                call(&mut *store, m, "shared_value", &[]),
                [Val::I64(1000)],
                "{what}"
            );
            assert_eq!(store.global(m, "shared").unwrap(), Val::I64(1000), "{what}");

            // An imported global is written where its owner keeps it.
            assert_eq!(call(&mut *store, m, "count", &[]), [Val::I32(41)], "{what}");
            assert_eq!(call(&mut *store, m, "count", &[]), [Val::I32(42)], "{what}");
            assert_eq!(
                store.global(base, "counter").unwrap(),
                Val::I32(42),
                "{what}"
            );
        }
    }
}
