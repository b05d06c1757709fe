//! The harness itself: each directive passes when it should and, as much
//! to the point, fails when it should.

use wasmtier_core::{Engine, EngineConfig, Features};
use wasmtier_engine_interp::InterpEngine;
use wasmtier_spec_tests::{FileReport, Kind, run_wast};

fn interp(config: EngineConfig) -> Box<dyn Engine> {
    Box::new(InterpEngine::new(config))
}

fn run(script: &str) -> FileReport {
    run_wast(&interp, "test.wast", script, Features::wasm2())
}

fn passes(script: &str) -> FileReport {
    let report = run(script);
    assert!(report.passed(), "{}", report.failure_list(20));
    report
}

/// The script fails exactly once, with `kind`, and the message has `needle`.
fn fails_once(script: &str, kind: Kind, needle: &str) {
    let report = run(script);
    assert_eq!(report.failures.len(), 1, "{}", report.failure_list(20));
    let failure = &report.failures[0];
    assert_eq!(failure.kind, kind, "{failure}");
    assert!(failure.message.contains(needle), "{failure}");
    assert_eq!(report.tallies.get(kind).failed, 1);
}

const ADD: &str = r#"(module $m
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func (export "nan") (result f32) f32.const nan:0x600000)
  (func (export "cnan") (result f64) f64.const nan)
  (func (export "lanes") (result v128) v128.const i32x4 1 -1 3 0x7fc00000)
  (func $loop (export "loop") call $loop)
  (func (export "null") (result externref) ref.null extern)
  (func (export "ext") (param externref) (result externref) local.get 0)
  (func (export "fref") (result funcref) ref.func $loop)
  (elem declare func $loop)
  (global (export "g") i32 (i32.const 7))
)"#;

#[test]
fn every_kind_of_directive_passes_on_a_correct_engine() {
    let script = format!(
        r#"{ADD}
(assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 3))
(assert_return (invoke $m "add" (i32.const -1) (i32.const 1)) (i32.const 0))
(assert_return (get "g") (i32.const 7))
(assert_return (get $m "g") (i32.const 7))
(assert_return (invoke "nan") (f32.const nan:arithmetic))
(assert_return (invoke "cnan") (f64.const nan:canonical))
(assert_return (invoke "lanes") (v128.const i32x4 1 -1 3 0x7fc00000))
(assert_return (invoke "lanes") (v128.const f32x4 1e-45 nan:arithmetic 4e-45 nan:canonical))
(assert_return (invoke "add" (i32.const 2) (i32.const 2)) (either (i32.const 3) (i32.const 4)))
(assert_return (invoke "null") (ref.null extern))
(assert_return (invoke "ext" (ref.extern 5)) (ref.extern 5))
(assert_return (invoke "ext" (ref.extern 5)) (ref.extern))
(assert_return (invoke "fref") (ref.func))
(invoke "add" (i32.const 0) (i32.const 0))
(assert_trap (invoke "div" (i32.const 1) (i32.const 0)) "integer divide by zero")
(assert_exhaustion (invoke "loop") "call stack exhausted")
(assert_invalid (module (func (result i32))) "type mismatch")
(assert_malformed (module quote "(func i32.bogus)") "unknown operator")
(assert_malformed (module binary "\00asm\02\00\00\00") "unknown binary version")
(register "M" $m)
(module (func (import "M" "add") (param i32 i32) (result i32)))
(assert_unlinkable (module (func (import "M" "nope"))) "unknown import")
(assert_unlinkable (module (func (import "M" "add") (param i32))) "incompatible import type")
(assert_trap (module (memory 0) (data (i32.const 1) "x")) "out of bounds memory access")
(module definition $d (func (export "one") (result i32) i32.const 1))
(module instance $i1 $d)
(assert_return (invoke $i1 "one") (i32.const 1))
"#
    );
    let report = passes(&script);
    let t = &report.tallies;
    assert_eq!(t.get(Kind::AssertReturn).passed, 14);
    assert_eq!(t.get(Kind::AssertTrap).passed, 1);
    assert_eq!(t.get(Kind::AssertExhaustion).passed, 1);
    assert_eq!(t.get(Kind::AssertInvalid).passed, 1);
    assert_eq!(t.get(Kind::AssertMalformedText).passed, 1);
    assert_eq!(t.get(Kind::AssertMalformed).passed, 1);
    assert_eq!(t.get(Kind::AssertUnlinkable).passed, 2);
    assert_eq!(t.get(Kind::AssertUninstantiable).passed, 1);
    assert_eq!(t.get(Kind::Module).passed, 4);
    assert_eq!(t.get(Kind::Register).passed, 1);
    assert_eq!(t.get(Kind::Invoke).passed, 1);
    assert_eq!(t.assertions().passed, 22);
}

#[test]
fn spectest_host_module_has_the_reference_values() {
    passes(
        r#"(module
  (import "spectest" "print_i32" (func $print (param i32)))
  (import "spectest" "print" (func))
  (import "spectest" "global_i32" (global $i i32))
  (import "spectest" "global_i64" (global $l i64))
  (import "spectest" "global_f32" (global $f f32))
  (import "spectest" "global_f64" (global $d f64))
  (import "spectest" "table" (table 10 20 funcref))
  (import "spectest" "memory" (memory 1 2))
  (func (export "i") (result i32) (call $print (i32.const 1)) global.get $i)
  (func (export "l") (result i64) global.get $l)
  (func (export "f") (result f32) global.get $f)
  (func (export "d") (result f64) global.get $d)
  (func (export "grow") (result i32) (memory.grow (i32.const 1)))
  (func (export "size") (result i32) table.size 0))
(assert_return (invoke "i") (i32.const 666))
(assert_return (invoke "l") (i64.const 666))
(assert_return (invoke "f") (f32.const 666.6))
(assert_return (invoke "d") (f64.const 666.6))
(assert_return (invoke "size") (i32.const 10))
(assert_return (invoke "grow") (i32.const 1))
(assert_return (invoke "grow") (i32.const -1))
(assert_unlinkable (module (import "spectest" "memory" (memory 3))) "incompatible import type")
"#,
    );
}

#[test]
fn spectest_table64_exists_with_memory64() {
    let script = r#"(module (import "spectest" "table64" (table i64 10 20 funcref)))"#;
    let mut features = Features::wasm2();
    features.memory64 = true;
    let report = run_wast(&interp, "t.wast", script, features);
    assert!(report.passed(), "{}", report.failure_list(5));
}

#[test]
fn a_wrong_result_fails_and_shows_both_values() {
    let script =
        format!(r#"{ADD}(assert_return (invoke "add" (i32.const 1) (i32.const 1)) (i32.const 3))"#);
    fails_once(
        &script,
        Kind::AssertReturn,
        "expected i32 3 (0x3), got i32 2",
    );
}

#[test]
fn floats_compare_by_bits_and_nan_patterns_are_strict() {
    let zero = "(module (func (export \"z\") (result f32) f32.const -0))";
    fails_once(
        &format!("{zero}(assert_return (invoke \"z\") (f32.const 0))"),
        Kind::AssertReturn,
        "result 0",
    );
    // nan:0x200000 has the quiet bit clear: not arithmetic.
    let snan = "(module (func (export \"n\") (result f32) f32.const nan:0x200000))";
    fails_once(
        &format!("{snan}(assert_return (invoke \"n\") (f32.const nan:arithmetic))"),
        Kind::AssertReturn,
        "nan:arithmetic",
    );
    let payload = "(module (func (export \"n\") (result f32) f32.const nan:0x400001))";
    fails_once(
        &format!("{payload}(assert_return (invoke \"n\") (f32.const nan:canonical))"),
        Kind::AssertReturn,
        "nan:canonical",
    );
}

#[test]
fn v128_lanes_are_checked_in_the_written_shape() {
    let script = format!(r#"{ADD}(assert_return (invoke "lanes") (v128.const i32x4 1 -1 3 0))"#);
    fails_once(&script, Kind::AssertReturn, "i32x4 1 -1 3 0");
}

#[test]
fn either_fails_when_no_case_matches() {
    let script = format!(
        r#"{ADD}(assert_return (invoke "add" (i32.const 2) (i32.const 2)) (either (i32.const 3) (i32.const 5)))"#
    );
    fails_once(&script, Kind::AssertReturn, "either(");
}

#[test]
fn references_are_told_apart() {
    let script = format!(r#"{ADD}(assert_return (invoke "ext" (ref.extern 5)) (ref.extern 6))"#);
    fails_once(&script, Kind::AssertReturn, "got ref.extern 5");
    let script = format!(r#"{ADD}(assert_return (invoke "null") (ref.null func))"#);
    fails_once(&script, Kind::AssertReturn, "got ref.null extern");
}

#[test]
fn a_trap_with_another_message_fails() {
    let script = format!(
        r#"{ADD}(assert_trap (invoke "div" (i32.const 1) (i32.const 0)) "integer overflow")"#
    );
    fails_once(&script, Kind::AssertTrap, "integer divide by zero");
    let script = format!(
        r#"{ADD}(assert_trap (invoke "div" (i32.const 4) (i32.const 2)) "integer divide by zero")"#
    );
    fails_once(&script, Kind::AssertTrap, "got [i32 2");
}

#[test]
fn a_valid_module_under_assert_invalid_fails() {
    fails_once(
        r#"(assert_invalid (module (func)) "type mismatch")"#,
        Kind::AssertInvalid,
        "loader accepted",
    );
}

#[test]
fn malformed_counts_who_rejected_it() {
    let report = passes(
        r#"(assert_malformed (module quote "(module") "unexpected end")
(assert_malformed (module binary "\00asm\01\00\00\00\0a") "unexpected end")"#,
    );
    assert_eq!(report.tallies.get(Kind::AssertMalformedText).passed, 1);
    assert_eq!(report.tallies.get(Kind::AssertMalformed).passed, 1);
    fails_once(
        r#"(assert_malformed (module binary "\00asm\01\00\00\00") "whatever")"#,
        Kind::AssertMalformed,
        "loader accepted",
    );
}

#[test]
fn the_file_feature_set_decides_validity() {
    let script = r#"(module (memory i64 1))"#;
    assert!(!run(script).passed());
    let mut features = Features::wasm2();
    features.memory64 = true;
    assert!(run_wast(&interp, "m.wast", script, features).passed());
}

#[test]
fn uninstantiable_and_unlinkable_are_checked() {
    fails_once(
        r#"(assert_trap (module (memory 1) (data (i32.const 0) "x")) "out of bounds memory access")"#,
        Kind::AssertUninstantiable,
        "module instantiated",
    );
    fails_once(
        r#"(assert_unlinkable (module (func (import "spectest" "print"))) "unknown import")"#,
        Kind::AssertUnlinkable,
        "module instantiated",
    );
    fails_once(
        r#"(assert_unlinkable (module (func (import "nowhere" "f"))) "incompatible import type")"#,
        Kind::AssertUnlinkable,
        "unknown import",
    );
}

#[test]
fn a_failed_module_leaves_no_current_instance() {
    let report = run(r#"(module (func (export "f")))
(module (func (import "nowhere" "f")))
(invoke "f")"#);
    assert_eq!(report.failures.len(), 2, "{}", report.failure_list(5));
    assert_eq!(report.failures[0].kind, Kind::Module);
    assert_eq!(report.failures[1].kind, Kind::Invoke);
}

#[test]
fn failures_name_the_line() {
    let report = run("(module)\n\n(assert_return (invoke \"missing\"))");
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].line, 3);
    assert!(
        report
            .failure_list(5)
            .starts_with("test.wast:3:2: assert_return")
    );
}

#[test]
fn a_script_that_does_not_parse_is_one_failure() {
    let report = run("(module (func)) (assert_return (invoke \"f\"");
    assert_eq!(report.failures.len(), 1, "{}", report.failure_list(5));
    assert_eq!(report.failures[0].kind, Kind::Parse);
}

#[test]
fn unsupported_directives_fail_rather_than_vanish() {
    fails_once(
        r#"(module (func (export "f"))) (assert_suspension (invoke "f") "")"#,
        Kind::Unsupported,
        "assert_suspension",
    );
}

#[test]
fn assert_exception_fails_when_the_call_returns() {
    fails_once(
        r#"(module (func (export "f"))) (assert_exception (invoke "f"))"#,
        Kind::AssertException,
        "expected an uncaught exception, got []",
    );
}
