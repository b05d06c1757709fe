//! The single-pass baseline compiler (`--compilation tiered`, `--baseline`):
//! what a user sees of code it compiled, with tier-up off (`--tier-up-after
//! 0`) so that the code runs to the end: results, traps with their
//! backtraces, exceptions thrown through its frames, `--timeout`.
#![cfg(wasmtier_aot)]

mod common;

use common::{s, wasmtier, write_wasm};

/// `run` in tiered mode, baseline code only, with `extra` before the file.
fn baseline_run(wasm: &std::path::Path, extra: &[&str], tail: &[&str]) -> common::Run {
    let mut args = vec![
        "run",
        "-v",
        "--engine",
        "jit",
        "--compilation",
        "tiered",
        "--tier-up-after",
        "0",
    ];
    args.extend_from_slice(extra);
    args.push(s(wasm));
    args.extend_from_slice(tail);
    wasmtier(&args)
}

/// How many functions `run -v` says the single-pass compiler compiled.
fn single_pass_count(stderr: &str) -> usize {
    let (_, rest) = stderr
        .split_once("compiled baseline (")
        .unwrap_or_else(|| panic!("no tier counts in: {stderr}"));
    rest.split(' ').next().unwrap().parse().unwrap()
}

/// The single-pass compiler exists for x86-64 only; elsewhere every
/// function falls back to Cranelift.
fn expect_single_pass(stderr: &str, on_x86_64: usize) {
    let expected = if cfg!(target_arch = "x86_64") {
        on_x86_64
    } else {
        0
    };
    assert_eq!(single_pass_count(stderr), expected, "{stderr}");
}

const ARITHMETIC: &str = r#"(module
  (memory 1)
  (global $g (mut i64) (i64.const 5))
  (func $mix (param $n i32) (param $x f64) (result i64) (local $i i32) (local $acc i64)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i64.store offset=8 (i32.and (i32.mul (local.get $i) (i32.const 8)) (i32.const 1023))
        (i64.rotl (i64.extend_i32_u (local.get $i)) (i64.const 7)))
      (local.set $acc (i64.add (local.get $acc)
        (i64.add (i64.load offset=8 (i32.and (i32.mul (local.get $i) (i32.const 8)) (i32.const 1023)))
                 (i64.trunc_sat_f64_s (f64.mul (local.get $x) (f64.convert_i32_s (local.get $i)))))))
      (if (i32.eqz (i32.rem_u (local.get $i) (i32.const 3)))
        (then (global.set $g (i64.xor (global.get $g) (local.get $acc))))
        (else (local.set $x (f64.sqrt (f64.abs (local.get $x))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i64.add (local.get $acc) (global.get $g)))
  (func (export "run") (param i32) (result i64)
    (call $mix (local.get 0) (f64.const 1234.5)))
)"#;

#[test]
fn baseline_code_computes_what_optimized_code_does() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "mix.wasm", ARITHMETIC);
    let eager = wasmtier(&[
        "run",
        "--engine",
        "jit",
        s(&wasm),
        "--invoke",
        "run",
        "1000",
    ]);
    assert_eq!(eager.status, Some(0), "{}", eager.stderr);
    let single = baseline_run(&wasm, &[], &["--invoke", "run", "1000"]);
    assert_eq!(single.status, Some(0), "{}", single.stderr);
    assert_eq!(single.stdout, eager.stdout);
    expect_single_pass(&single.stderr, 2);
    let cranelift = baseline_run(
        &wasm,
        &["--baseline", "cranelift"],
        &["--invoke", "run", "1000"],
    );
    assert_eq!(cranelift.stdout, eager.stdout);
    expect_single_pass(&cranelift.stderr, 0);
}

#[test]
fn traps_in_baseline_code_name_every_frame() {
    let program = r#"(module
      (memory 1)
      (func $leaf (param i32) (result i32) (i32.load (local.get 0)))
      (func $divide (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
      (func $mid (param i32) (result i32) (i32.add (call $leaf (local.get 0)) (i32.const 1)))
      (func (export "load") (param i32) (result i32) (call $mid (local.get 0)))
      (func (export "divide") (param i32) (result i32) (call $divide (local.get 0))))"#;
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "trap.wasm", program);
    let out = baseline_run(&wasm, &[], &["--invoke", "load", "70000"]);
    assert_ne!(out.status, Some(0));
    assert!(
        out.stderr.contains("out of bounds memory access"),
        "{}",
        out.stderr
    );
    let leaf = out.stderr.find("0: leaf").expect(&out.stderr);
    let mid = out.stderr.find("1: mid").expect(&out.stderr);
    assert!(leaf < mid, "{}", out.stderr);
    expect_single_pass(&out.stderr, 3);
    let out = baseline_run(&wasm, &[], &["--invoke", "divide", "0"]);
    assert!(
        out.stderr.contains("integer divide by zero"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("0: divide"), "{}", out.stderr);
}

#[test]
fn exceptions_pass_through_baseline_frames() {
    // `$relay` is plain arithmetic and a call (single-pass code); the
    // throw and the catch are in functions Cranelift compiles.
    let program = r#"(module
      (tag $oops (param i32))
      (func $thrower (param i32) (result i32)
        (if (i32.gt_s (local.get 0) (i32.const 10)) (then (throw $oops (local.get 0))))
        (local.get 0))
      (func $relay (param i32) (result i32)
        (i32.mul (call $thrower (i32.add (local.get 0) (i32.const 1))) (i32.const 2)))
      (func (export "catch") (param i32) (result i32)
        (block $caught (result i32)
          (try_table (catch $oops $caught)
            (return (call $relay (local.get 0))))
          (unreachable))
        (i32.const 1000) (i32.add)))"#;
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "throw.wasm", program);
    let fine = baseline_run(&wasm, &[], &["--invoke", "catch", "3"]);
    assert_eq!(fine.stdout.trim(), "8", "{}", fine.stderr);
    let thrown = baseline_run(&wasm, &[], &["--invoke", "catch", "20"]);
    assert_eq!(thrown.stdout.trim(), "1021", "{}", thrown.stderr);
    expect_single_pass(&thrown.stderr, 1);
}

#[test]
fn timeout_stops_a_loop_in_baseline_code() {
    let program = r#"(module
      (func (export "spin") (local $i i32)
        (loop $forever
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $forever))))"#;
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "spin.wasm", program);
    let started = std::time::Instant::now();
    let out = baseline_run(&wasm, &["--timeout", "1s"], &["--invoke", "spin"]);
    assert_ne!(out.status, Some(0));
    assert!(out.stderr.contains("interrupt"), "{}", out.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}
