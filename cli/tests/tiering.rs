//! `run --compilation`, `--tier-up-after` and `--engine auto`.
#![cfg(wasmtier_aot)]

mod common;

use std::time::{Duration, Instant};

use common::{s, wasmtier, write_wasm};

const PROGRAM: &str = r#"(module
  (func $fib (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func (export "fib") (param i32) (result i32) (call $fib (local.get 0)))
)"#;

#[test]
fn every_compilation_mode_gives_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "fib.wasm", PROGRAM);
    for mode in [
        &["--compilation", "eager"][..],
        &["--compilation", "lazy"],
        &["--compilation", "tiered"],
        &["--compilation", "tiered", "--tier-up-after", "1"],
        &["--compilation", "tiered", "--tier-up-after", "0"],
    ] {
        let mut args = vec!["run", "--engine", "jit"];
        args.extend_from_slice(mode);
        args.extend([s(&wasm), "--invoke", "fib", "25"]);
        let out = wasmtier(&args);
        assert_eq!(
            (out.status, out.stdout.as_str()),
            (Some(0), "75025\n"),
            "{mode:?}: {}",
            out.stderr
        );
    }
}

#[test]
fn compilation_flags_are_refused_where_they_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "fib.wasm", PROGRAM);
    let refused = |args: &[&str], message: &str| {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        all.extend([s(&wasm), "--invoke", "fib", "5"]);
        let out = wasmtier(&all);
        assert_eq!(out.status, Some(1), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(message), "{args:?}: {}", out.stderr);
    };
    refused(
        &["--engine", "interp", "--compilation", "lazy"],
        "--compilation chooses when the jit engine compiles; the interp engine translates",
    );
    refused(
        &["--engine", "aot", "--compilation", "tiered"],
        "the aot engine always runs code compiled before the program starts",
    );
    refused(
        &["--engine", "jit", "--tier-up-after", "5"],
        "--tier-up-after needs --compilation tiered",
    );
    refused(
        &["--engine", "jit", "--baseline", "cranelift"],
        "--baseline needs --compilation tiered",
    );
}

#[test]
fn auto_runs_the_tiered_jit_then_the_artifact_it_cached() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "fib.wasm", PROGRAM);
    let cache = dir.path().join("cache");
    let run = || {
        wasmtier(&[
            "run",
            "-v",
            "--engine",
            "auto",
            "--cache-dir",
            s(&cache),
            s(&wasm),
            "--invoke",
            "fib",
            "20",
        ])
    };
    let first = run();
    assert_eq!(first.stdout, "6765\n", "{}", first.stderr);
    assert!(
        first
            .stderr
            .contains("compile (auto: no cached artifact, the tiered jit")
            && first
                .stderr
                .contains("writing the cache entry in the background"),
        "{}",
        first.stderr
    );
    // The background process writes the entry; wait for it (bounded).
    let deadline = Instant::now() + Duration::from_secs(60);
    let cached = || {
        std::fs::read_dir(&cache).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        })
    };
    while !cached() {
        assert!(Instant::now() < deadline, "no cache entry was written");
        std::thread::sleep(Duration::from_millis(50));
    }
    let second = run();
    assert_eq!(second.stdout, "6765\n", "{}", second.stderr);
    assert!(
        second
            .stderr
            .contains("load the cached artifact (auto: aot)"),
        "{}",
        second.stderr
    );
}

#[test]
fn auto_without_a_cache_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "fib.wasm", PROGRAM);
    let out = wasmtier(&[
        "run",
        "-v",
        "--engine",
        "auto",
        "--no-cache",
        s(&wasm),
        "--invoke",
        "fib",
        "10",
    ]);
    assert_eq!(out.stdout, "55\n", "{}", out.stderr);
    assert!(
        out.stderr.contains("compile (auto: no cached artifact"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("writing the cache entry"),
        "{}",
        out.stderr
    );
}

#[test]
fn auto_with_low_memory_is_the_interpreter() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "fib.wasm", PROGRAM);
    let out = wasmtier(&[
        "run",
        "-v",
        "--engine",
        "auto",
        "--low-memory",
        s(&wasm),
        "--invoke",
        "fib",
        "10",
    ]);
    assert_eq!(out.stdout, "55\n", "{}", out.stderr);
    assert!(out.stderr.contains("compile (interp)"), "{}", out.stderr);
}

#[test]
fn verbose_runs_say_what_each_tier_compiled() {
    // One call that loops 20 million times: it starts in baseline code
    // and moves into the optimized entry at its loop while it runs.
    let program = r#"(module
      (func (export "spin") (param $n i32) (result i32) (local $i i32) (local $s i32)
        (loop $next
          (local.set $s (i32.add (local.get $s) (i32.xor (local.get $i) (i32.const 7))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
        (local.get $s)))"#;
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "spin.wasm", program);
    let out = wasmtier(&[
        "run",
        "-v",
        "--engine",
        "jit",
        "--compilation",
        "tiered",
        s(&wasm),
        "--invoke",
        "spin",
        "20000000",
    ]);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    // The function's own optimized code is compiled after the entry, and
    // may still be compiling when the run ends.
    for said in [
        if cfg!(target_arch = "x86_64") {
            "wasmtier: tiers: 1 functions compiled baseline (1 by the single-pass compiler), "
        } else {
            "wasmtier: tiers: 1 functions compiled baseline (0 by the single-pass compiler), "
        },
        "; 1 optimized loop entries, 1 activations moved into them (on-stack replacement)",
    ] {
        assert!(out.stderr.contains(said), "{}", out.stderr);
    }
    let eager = wasmtier(&[
        "run",
        "-v",
        "--engine",
        "jit",
        s(&wasm),
        "--invoke",
        "spin",
        "5",
    ]);
    assert!(!eager.stderr.contains("tiers:"), "{}", eager.stderr);
}

#[test]
fn functions_with_results_in_memory_compile_lazily() {
    // Ten results do not fit in return registers: callers pass a hidden
    // return-area pointer first, where a lazy-compile stub expects the VM
    // context (fuzz-diff seed 15225 crashed there before such functions
    // were compiled up front).
    let results = "i64 ".repeat(10);
    let values: String = (1..=10).map(|i| format!("(i64.const {i}) ")).collect();
    let sum = "(i64.add) ".repeat(9);
    let program = format!(
        r#"(module
          (func $many (result {results}) {values})
          (func (export "sum") (result i64) (call $many) {sum}))"#
    );
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "many.wasm", &program);
    for mode in ["eager", "lazy", "tiered"] {
        let out = wasmtier(&[
            "run",
            "--engine",
            "jit",
            "--compilation",
            mode,
            s(&wasm),
            "--invoke",
            "sum",
        ]);
        assert_eq!(out.status, Some(0), "{mode}: {}", out.stderr);
        assert_eq!(out.stdout.trim(), "55", "{mode}");
    }
}
