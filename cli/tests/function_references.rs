//! Typed function references from the command line: the compiled tiers
//! run them; the interpreter refuses them in one line naming the proposal
//! and the engines that run it.

mod common;

use common::{ENGINES, s, wasmtier, write_wasm};

const CALL_REF: &str = r#"(module
  (type $op (func (param i32) (result i32)))
  (func $inc (type $op) (i32.add (local.get 0) (i32.const 1)))
  (table $ops 1 (ref $op) (ref.func $inc))
  (func (export "main") (param i32) (result i32)
    (call_ref $op (local.get 0) (table.get $ops (i32.const 0)))))"#;

#[test]
fn compiled_tiers_run_call_ref_and_the_interpreter_names_what_it_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "call_ref.wasm", CALL_REF);
    for engine in ENGINES {
        let out = wasmtier(&[
            "run",
            "--engine",
            engine,
            s(&wasm),
            "--invoke",
            "main",
            "41",
        ]);
        if engine == "interp" {
            assert_eq!(out.status, Some(1), "{}", out.stderr);
            assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
            assert!(
                out.stderr.starts_with(
                    "error: the interp engine does not run the function-references proposal \
                     this module uses"
                ),
                "{}",
                out.stderr
            );
            // An interpreter-only build has nowhere else to send the user.
            let elsewhere = if ENGINES.contains(&"jit") {
                "; engines that do: jit"
            } else {
                ", and this build has no engine that does"
            };
            assert!(out.stderr.contains(elsewhere), "{}", out.stderr);
            assert!(!out.stderr.contains("invalid module"), "{}", out.stderr);
        } else {
            assert_eq!(out.status, Some(0), "{engine}: {}", out.stderr);
            assert_eq!(out.stdout, "42\n", "{engine}");
        }
    }
}
