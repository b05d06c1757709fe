//! A generated module with thousands of distinct functions (several MB of
//! code), for compile throughput and artifact load time.

use std::fmt::Write;

/// `functions` functions mixing integer and float arithmetic, branches,
/// loops, memory traffic and calls; `_start` calls every `call_every`th
/// one once (1: each) and exits 0.
pub fn generate(functions: usize, call_every: usize) -> String {
    let mut out = String::from("(module\n");
    out.push_str("  (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (param i32)))\n");
    out.push_str("  (memory (export \"memory\") 1)\n  (global $acc (mut i64) (i64.const 0))\n");
    for i in 0..functions {
        let callee = if i == 0 {
            String::new()
        } else {
            format!("(drop (call $f{} (local.get 0)))", i - 1)
        };
        // Only every 64th function calls its predecessor, so `_start` stays cheap.
        let callee = if i % 64 == 1 { callee } else { String::new() };
        writeln!(
            out,
            r#"  (func $f{i} (param i64) (result i64) (local $j i32) (local $x f64)
    (local.set $x (f64.convert_i64_s (local.get 0)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $j) (i32.const {bound})))
      (local.set $x (f64.add (f64.mul (local.get $x) (f64.const 1.0001)) (f64.const {i}.5)))
      (i32.store offset={off} (i32.and (local.get $j) (i32.const 1023))
        (i32.xor (i32.wrap_i64 (local.get 0)) (i32.mul (local.get $j) (i32.const {mul}))))
      (local.set 0 (i64.add (i64.rotl (local.get 0) (i64.const {rot})) (i64.load (i32.const {off}))))
      (if (i64.eqz (i64.rem_u (local.get 0) (i64.const {modulo})))
        (then (global.set $acc (i64.add (global.get $acc) (local.get 0))))
        (else (local.set $x (f64.sqrt (f64.abs (local.get $x))))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $next)))
    {callee}
    (i64.add (local.get 0) (i64.trunc_sat_f64_s (local.get $x))))"#,
            bound = 3 + i % 5,
            off = (i * 8) % 4096,
            mul = 2 * i + 1,
            rot = 1 + i % 63,
            modulo = 3 + i % 17,
        )
        .expect("writing to a String cannot fail");
    }
    out.push_str("  (func (export \"_start\") (local $sum i64)\n");
    for i in (0..functions).step_by(call_every.max(1)) {
        writeln!(
            out,
            "    (local.set $sum (i64.add (local.get $sum) (call $f{i} (i64.const {i}))))"
        )
        .unwrap();
    }
    out.push_str("    (global.set $acc (i64.add (global.get $acc) (local.get $sum)))\n    (call $exit (i32.const 0)))\n)\n");
    out
}
