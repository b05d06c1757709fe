//! The single-pass baseline compiler (`--compilation tiered`, `--baseline`):
//! what a user sees of code it compiled, with tier-up off (`--tier-up-after
//! 0`) so that the code runs to the end: results, traps with their
//! backtraces, exceptions thrown through its frames, `--timeout`.
#![cfg(wasmtier_aot)]

mod common;

use common::{s, wasmtier, write_wasm};

/// `run -v` in tiered mode, tiering up after `tier_up_after` (0: never),
/// with `extra` before the file and `tail` after it.
fn tiered_run(
    wasm: &std::path::Path,
    tier_up_after: &str,
    extra: &[&str],
    tail: &[&str],
) -> common::Run {
    let mut args = vec![
        "run",
        "-v",
        "--engine",
        "jit",
        "--compilation",
        "tiered",
        "--tier-up-after",
        tier_up_after,
    ];
    args.extend_from_slice(extra);
    args.push(s(wasm));
    args.extend_from_slice(tail);
    wasmtier(&args)
}

/// `run` in tiered mode, baseline code only, with `extra` before the file.
fn baseline_run(wasm: &std::path::Path, extra: &[&str], tail: &[&str]) -> common::Run {
    tiered_run(wasm, "0", extra, tail)
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

/// Runs `export` with `args` on the eager JIT, the interpreter and
/// single-pass code (which compiles `single_pass` functions), checks the
/// three print the same and exit cleanly, and returns what they print.
fn agree_on_every_tier(
    wasm: &std::path::Path,
    export: &str,
    args: &[&str],
    single_pass: usize,
) -> String {
    let mut invoke = vec!["--invoke", export];
    invoke.extend(args);
    let mut eager_args = vec!["run", "--engine", "jit", s(wasm)];
    eager_args.extend(&invoke);
    let eager = wasmtier(&eager_args);
    assert_eq!(eager.status, Some(0), "{}", eager.stderr);
    let interp_args: Vec<&str> = eager_args
        .iter()
        .map(|&a| if a == "jit" { "interp" } else { a })
        .collect();
    assert_eq!(wasmtier(&interp_args).stdout, eager.stdout);
    let single = baseline_run(wasm, &[], &invoke);
    assert_eq!(single.status, Some(0), "{}", single.stderr);
    assert_eq!(single.stdout, eager.stdout, "arguments {args:?}");
    expect_single_pass(&single.stderr, single_pass);
    eager.stdout
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
      ;; A constant address (its offset folded in) holding a running sum.
      (i32.store offset=2000 (i32.const 40)
        (i32.add (i32.load offset=2000 (i32.const 40)) (i32.mul (local.get $i) (i32.const 3))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i64.add (i64.add (local.get $acc) (global.get $g)) (i64.load32_u (i32.const 2040))))
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

/// Values the compiler leaves unstored until they are read (`local.get`,
/// constants): a local read before it is overwritten keeps the old value,
/// in every position an operand can be in.
const PENDING_VALUES: &str = r#"(module
  (func $mix (param $a i64) (param $b i32) (result i64) (local $t i64) (local $u i32)
    ;; $a read, then overwritten with a constant while the read is on the stack.
    (local.set $t (i64.sub (local.get $a) (block (result i64) (local.set $a (i64.const 0x123456789)) (local.get $a))))
    ;; Tee of the local being read; shifts by counts past the width; a
    ;; 64-bit constant with no 32-bit form; comparisons with immediates.
    (local.set $u (i32.add (local.get $b) (local.tee $b (i32.shl (local.get $b) (i32.const 35)))))
    (local.set $t (i64.xor (local.get $t) (i64.rotr (local.get $a) (i64.const 68))))
    (local.set $t (i64.add (local.get $t) (i64.const 0x7fffffff80000000)))
    (local.set $u (i32.add (local.get $u) (i32.lt_s (local.get $b) (i32.const -5))))
    (local.set $u (i32.add (local.get $u) (i64.ge_u (local.get $a) (i64.const -1))))
    ;; A value that is a local's on one path and a constant on the other.
    (local.set $t (i64.add (local.get $t)
      (if (result i64) (i32.and (local.get $b) (i32.const 4))
        (then (local.get $a)) (else (i64.const -77)))))
    ;; select with pending operands, and a local set to itself.
    (local.set $b (local.get $b))
    (local.set $u (i32.xor (local.get $u) (select (local.get $b) (i32.const 9) (local.get $u))))
    (i64.add (local.get $t) (i64.extend_i32_u (local.get $u))))
  (func (export "run") (param i64 i32) (result i64)
    (call $mix (local.get 0) (local.get 1)))
)"#;

#[test]
fn pending_locals_and_constants_keep_their_values() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "pending.wasm", PENDING_VALUES);
    for args in [["5", "3"], ["-9", "12"], ["81985529216486895", "-1"]] {
        agree_on_every_tier(&wasm, "run", &args, 2);
    }
}

/// Comparisons whose result stays in the flags until `br_if`, `if` or
/// `i32.eqz` takes it, and becomes a value before anything else.
const COMPARISONS: &str = r#"(module
  (func $lt (param i32 i32) (result i32) (i32.lt_s (local.get 0) (local.get 1)))
  (func $cmp (param $a i32) (param $b i64) (result i32) (local $r i32)
    ;; br_if on a comparison, carrying a pending constant.
    (local.set $r (block (result i32)
      (i32.const 100)
      (br_if 0 (i32.lt_s (local.get $a) (i32.const 3)))
      (drop) (i32.const 200)))
    ;; if on comparisons; eqz of a comparison, and of eqz of one.
    (if (i64.gt_u (local.get $b) (i64.extend_i32_s (local.get $a)))
      (then (local.set $r (i32.add (local.get $r) (i32.const 1)))))
    (if (i32.eqz (i32.ge_s (local.get $a) (local.get $r)))
      (then (local.set $r (i32.add (local.get $r) (i32.const 10)))))
    (local.set $r (i32.add (local.get $r)
      (i32.eqz (i32.eqz (i32.ne (local.get $a) (i32.const 7))))))
    ;; Comparisons as values: an operand, a block's result, a branch's
    ;; value under a comparison the branch takes, a callee's result.
    (local.set $r (i32.add (local.get $r)
      (i32.mul (i64.le_s (local.get $b) (i64.const -1)) (i32.const 1000))))
    (local.set $r (i32.add (local.get $r) (block (result i32) (i32.eq (local.get $a) (local.get $a)))))
    (local.set $r (i32.add (local.get $r) (block (result i32)
      (br_if 0 (i32.gt_u (local.get $a) (i32.const 2)) (i32.lt_u (local.get $a) (i32.const 50)))
      (drop) (i32.const 5000))))
    (local.set $r (i32.add (local.get $r) (i32.shl (call $lt (local.get $a) (i32.const 6)) (i32.const 4))))
    ;; Float comparisons: a branch on one, eqz of one with a NaN (0 / 0)
    ;; on its left, one as a value.
    (if (f64.lt (f64.convert_i32_s (local.get $a)) (f64.const 4.5))
      (then (local.set $r (i32.add (local.get $r) (i32.const 100000)))))
    (local.set $r (i32.add (local.get $r)
      (i32.mul (i32.eqz (f32.ge (f32.div (f32.convert_i32_s (local.get $a)) (f32.const 0))
                                (f32.const 1)))
               (i32.const 20000))))
    (local.set $r (i32.add (local.get $r) (f64.gt (f64.convert_i64_s (local.get $b)) (f64.const 0))))
    (drop (br_if 0 (local.get $r) (i32.eqz (local.get $a))))
    (i32.sub (local.get $r) (i32.const 1)))
  (func (export "cmp") (param i32 i64) (result i32) (call $cmp (local.get 0) (local.get 1)))
)"#;

#[test]
fn comparisons_branch_on_the_flags_and_stay_values_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "compare.wasm", COMPARISONS);
    // (5, 3): 200, +10 (eqz of 5 >= 200), +1 (eqz of eqz of 5 != 7), +1
    // (5 == 5), +1 (5 > 2, taken as 5 < 50), +16 (5 < 6), +1 (3.0 > 0),
    // -1 = 229. (0, 100) returns early, with 0 / 0 a NaN: +20,000.
    let cases = [
        (["5", "3"], "229"),
        (["2", "-1"], "101128"),
        (["0", "100"], "120130"),
        (["7", "7"], "212"),
        (["60", "-9"], "6212"),
    ];
    for (args, expected) in cases {
        let printed = agree_on_every_tier(&wasm, "cmp", &args, 3);
        assert_eq!(printed, format!("{expected}\n"), "arguments {args:?}");
    }
}

/// Division by constants, which leaves out the checks a constant cannot
/// fail (zero, and -1 for signed division), and keeps them for 0 and -1.
const DIVISION: &str = r#"(module
  (func $mix (param $x i32) (param $y i64) (result i64)
    (i64.add
      (i64.add (i64.extend_i32_s (i32.div_s (local.get $x) (i32.const 7)))
               (i64.extend_i32_s (i32.rem_s (local.get $x) (i32.const -3))))
      (i64.add (i64.div_u (local.get $y) (i64.const 10))
        (i64.add (i64.rem_s (local.get $y) (i64.const 1))
          (i64.add (i64.extend_i32_u (i32.div_u (local.get $x) (i32.const 0x80000001)))
                   (i64.extend_i32_s (i32.div_s (local.get $x) (i32.const -1))))))))
  (func (export "mix") (param i32 i64) (result i64) (call $mix (local.get 0) (local.get 1)))
  (func (export "by_zero") (param i32) (result i32) (i32.rem_u (local.get 0) (i32.const 0)))
)"#;

#[test]
fn division_by_constants_keeps_the_checks_a_constant_can_fail() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "divide.wasm", DIVISION);
    for args in [
        ["100", "12345"],
        ["-50", "-7"],
        ["-2147483647", "9223372036854775807"],
    ] {
        agree_on_every_tier(&wasm, "mix", &args, 2);
    }
    // i32::MIN / -1 overflows; x % 0 divides by zero.
    let out = baseline_run(&wasm, &[], &["--invoke", "mix", "-2147483648", "1"]);
    assert!(out.stderr.contains("integer overflow"), "{}", out.stderr);
    let out = baseline_run(&wasm, &[], &["--invoke", "by_zero", "5"]);
    assert!(
        out.stderr.contains("integer divide by zero"),
        "{}",
        out.stderr
    );
    expect_single_pass(&out.stderr, 1);
}

const CALLS: &str = r#"(module
  ;; Compiled by Cranelift (single-pass code has no SIMD): the i32 it
  ;; returns may leave the upper half of rax set.
  (func $wide (param $x i64) (result i32)
    (i32.wrap_i64 (i64x2.extract_lane 0 (i64x2.splat (local.get $x)))))
  (func $mix (param $a i32) (param $b i64) (param $c i32) (param $d i64) (result i64)
    (i64.add (i64.mul (i64.extend_i32_s (local.get $a)) (local.get $b))
             (i64.xor (i64.extend_i32_u (local.get $c)) (local.get $d))))
  (func $narrow (param $a i32) (param $b i32) (result i32)
    (i32.sub (local.get $a) (local.get $b)))
  (func (export "calls") (param $n i64) (result i64) (local $acc i64) (local $k i32)
    ;; Constants straight into argument registers, negative and wide.
    (local.set $acc (call $mix (i32.const -7) (i64.const 0x123456789abcdef) (i32.const -1) (i64.const -2)))
    ;; Results left in rax, as either operand.
    (local.set $acc (i64.add (local.get $acc) (call $mix (i32.const 3) (local.get $n) (i32.const 5) (local.get $acc))))
    (local.set $acc (i64.mul (call $mix (i32.const 1) (i64.const 2) (i32.const 3) (i64.const 4)) (local.get $acc)))
    (local.set $acc (i64.sub (local.get $acc) (call $mix (i32.const 2) (i64.const 3) (i32.const 4) (i64.const 5))))
    (local.set $k (i32.and (call $narrow (i32.const 100) (i32.wrap_i64 (local.get $n))) (i32.const 0xff0f)))
    (local.set $k (i32.or (local.get $k) (call $narrow (i32.const 7) (i32.const 9))))
    (local.set $k (i32.xor (call $narrow (i32.const -5) (i32.const 3)) (local.get $k)))
    ;; Zero-extending an i32 result of Cranelift code.
    (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (call $wide (i64.const 0x123456789abcdef0)))))
    (i64.add (local.get $acc) (i64.extend_i32_u (local.get $k)))))"#;

#[test]
fn call_arguments_and_results_skip_the_stack() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "calls.wasm", CALLS);
    // Worked out with Python's integers, wrapped as Wasm wraps them.
    for (n, expected) in [
        ("1000", "8116567317718887684"),
        ("-3", "8116567317718860604"),
    ] {
        let out = agree_on_every_tier(&wasm, "calls", &[n], 3);
        assert_eq!(out.trim(), expected, "calls {n}");
    }
}

#[test]
fn a_function_with_thousands_of_calls_stays_in_baseline_code() {
    // More calls than the optimizing pipeline takes (1,000), in a loop
    // that would otherwise move into optimized code.
    let calls = "(local.set $acc (call $leaf (local.get $acc)))\n".repeat(1100);
    let program = format!(
        r#"(module
      (func $leaf (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
      (func (export "many") (param $n i32) (result i32) (local $acc i32)
        (loop $again
          {calls}
          (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (local.get $acc)))"#
    );
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "many.wasm", &program);
    let out = tiered_run(&wasm, "10", &[], &["--invoke", "many", "20000"]);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "22000000\n");
    expect_single_pass(&out.stderr, 2);
    assert!(
        out.stderr.contains(" 0 optimized loop entries"),
        "{}",
        out.stderr
    );
}

#[test]
fn traps_in_baseline_code_name_every_frame() {
    let program = r#"(module
      (memory 1)
      (func $leaf (param i32) (result i32) (i32.load (local.get 0)))
      (func $divide (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
      (func (export "far") (result i32) (i32.load offset=8 (i32.const 65530)))
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
    // A constant address past the end of memory.
    let out = baseline_run(&wasm, &[], &["--invoke", "far"]);
    assert!(
        out.stderr.contains("out of bounds memory access"),
        "{}",
        out.stderr
    );
    expect_single_pass(&out.stderr, 1);
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

/// Ten integer and ten float parameters: six of each beyond the
/// registers, on the stack both ways (Cranelift calling single-pass code
/// and back), and a loop in a function with that many locals, which moves
/// into optimized code with most of them as stack arguments.
const MANY_ARGUMENTS: &str = r#"(module
  (func $weigh (param $a i64) (param $b i32) (param $c i64) (param $d i32) (param $e i64)
               (param $f i32) (param $g i64) (param $h i32) (param $i i64) (param $j i32)
               (param $x0 f64) (param $x1 f32) (param $x2 f64) (param $x3 f32) (param $x4 f64)
               (param $x5 f32) (param $x6 f64) (param $x7 f32) (param $x8 f64) (param $x9 f32)
               (result i64)
    (i64.add
      (i64.add (i64.add (local.get $a) (i64.extend_i32_s (local.get $b)))
               (i64.add (i64.mul (local.get $c) (i64.const 3)) (i64.extend_i32_u (local.get $d))))
      (i64.add
        (i64.add (i64.mul (local.get $e) (i64.const 5)) (i64.extend_i32_s (local.get $f)))
        (i64.add
          (i64.add (i64.mul (local.get $g) (i64.const 7)) (i64.extend_i32_s (local.get $h)))
          (i64.add
            (i64.add (i64.mul (local.get $i) (i64.const 11)) (i64.extend_i32_s (local.get $j)))
            (i64.trunc_f64_s
              (f64.add
                (f64.add (f64.add (local.get $x0) (f64.promote_f32 (local.get $x1)))
                         (f64.add (local.get $x2) (f64.promote_f32 (local.get $x3))))
                (f64.add
                  (f64.add (local.get $x4) (f64.promote_f32 (local.get $x5)))
                  (f64.add
                    (f64.add (local.get $x6) (f64.promote_f32 (local.get $x7)))
                    (f64.mul (local.get $x8) (f64.promote_f32 (local.get $x9))))))))))))
  (func $spin (export "spin") (param $n i32) (result i64)
    (local $i i32) (local $acc i64) (local $k1 i64) (local $k2 i64) (local $k3 i64)
    (local $k4 i64) (local $k5 i64) (local $y0 f64) (local $y1 f64) (local $y2 f64)
    (local $y3 f64) (local $y4 f64) (local $y5 f64) (local $y6 f64) (local $y7 f64) (local $y8 f64)
    (local.set $k1 (i64.const 1)) (local.set $k2 (i64.const 2)) (local.set $k3 (i64.const 3))
    (local.set $k4 (i64.const 4)) (local.set $k5 (i64.const 5)) (local.set $y8 (f64.const 0.5))
    (loop $next
      (local.set $acc (i64.add (local.get $acc)
        (call $weigh (local.get $k1) (local.get $i) (local.get $k2) (local.get $i) (local.get $k3)
                     (i32.const -7) (local.get $k4) (local.get $i) (local.get $k5) (i32.const 9)
                     (local.get $y8) (f32.const 1.5) (f64.const 2.25) (f32.const -0.5) (local.get $y0)
                     (f32.const 4) (f64.const 8) (f32.const 0.25) (f64.const 3) (f32.const 2))))
      (local.set $y0 (f64.add (local.get $y0) (f64.const 0.125)))
      (local.set $k5 (i64.xor (local.get $k5) (i64.extend_i32_u (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
    (i64.add (local.get $acc)
      (i64.add (local.get $k5) (i64.trunc_f64_s (f64.add (local.get $y0) (local.get $y7)))))))"#;

#[test]
fn stack_arguments_and_many_locals_agree_with_optimized_code() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "many.wasm", MANY_ARGUMENTS);
    let count = "2000000";
    let eager = wasmtier(&[
        "run",
        "--engine",
        "jit",
        s(&wasm),
        "--invoke",
        "spin",
        count,
    ]);
    assert_eq!(eager.status, Some(0), "{}", eager.stderr);
    let single = baseline_run(&wasm, &[], &["--invoke", "spin", count]);
    assert_eq!(single.stdout, eager.stdout, "{}", single.stderr);
    expect_single_pass(&single.stderr, 2);
    // Tier-up after 100: `spin`'s one activation moves into the optimized
    // entry at its loop (its 16 locals as arguments, most on the stack),
    // from single-pass code.
    let tiered = tiered_run(&wasm, "100", &[], &["--invoke", "spin", count]);
    assert_eq!(tiered.stdout, eager.stdout, "{}", tiered.stderr);
    expect_single_pass(&tiered.stderr, 2);
    assert!(
        tiered.stderr.contains(" 1 activations moved into them"),
        "{}",
        tiered.stderr
    );
}
