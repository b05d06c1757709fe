//! `run --compilation`, `--tier-up-after` and `--engine auto`.
#![cfg(wasmtier_aot)]

mod common;

use std::path::Path;
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
        &["--compilation", "concurrent"],
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
    // Without --engine they choose the jit, whose rules then apply.
    refused(
        &["--tier-up-after", "5"],
        "--tier-up-after needs --compilation tiered",
    );
    // With a cached artifact auto compiles nothing: they would be ignored.
    for flag in [
        &["--compilation", "eager"][..],
        &["--tier-up-after", "5"],
        &["--baseline", "cranelift"],
    ] {
        let mut args = vec!["--engine", "auto"];
        args.extend_from_slice(flag);
        refused(
            &args,
            &format!(
                "{} is a setting of the jit engine, and --engine auto runs a cached artifact",
                flag[0]
            ),
        );
    }
}

#[test]
fn the_jit_settings_without_an_engine_choose_the_jit_not_the_cache() {
    let (_dir, wasm, cache) = fib_and_a_cache();
    for (mode, compiled) in [
        (&["--compilation", "eager"][..], "compile (jit): "),
        (
            &["--compilation", "tiered", "--tier-up-after", "1"],
            "compile (jit): ",
        ),
    ] {
        let mut args = vec!["run", "-v", "--cache-dir", s(&cache)];
        args.extend_from_slice(mode);
        args.extend([s(&wasm), "--invoke", "fib", "20"]);
        let out = wasmtier(&args);
        assert_eq!(out.stdout, "6765\n", "{mode:?}: {}", out.stderr);
        assert!(out.stderr.contains(compiled), "{mode:?}: {}", out.stderr);
    }
    assert!(!cache.exists(), "the jit wrote to the cache");
}

/// A directory with `PROGRAM` as `fib.wasm` and the path of a cache
/// directory in it (not made yet); the directory lives as long as the
/// first value.
fn fib_and_a_cache() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "fib.wasm", PROGRAM);
    let cache = dir.path().join("cache");
    (dir, wasm, cache)
}

/// `run -v --cache-dir CACHE WASM --invoke fib N`.
fn fib_from(wasm: &Path, cache: &Path, n: &str) -> common::Run {
    wasmtier(&[
        "run",
        "-v",
        "--cache-dir",
        s(cache),
        s(wasm),
        "--invoke",
        "fib",
        n,
    ])
}

/// Waits (bounded) until the background compile has written an entry
/// into `cache`. It runs at nice 19: on a loaded machine (CI runs these
/// tests two at a time, under qemu too) it gets what is left over.
fn wait_for_an_entry(cache: &Path) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while entries(cache) == 0 {
        assert!(Instant::now() < deadline, "no cache entry was written");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether a `run -v` loaded the module's code from the cache.
fn ran_from_the_cache(run: &common::Run) -> bool {
    run.stderr.contains("load the cached artifact (auto: aot")
}

fn entries(cache: &Path) -> usize {
    std::fs::read_dir(cache).map_or(0, |entries| {
        entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
            .count()
    })
}

#[test]
fn auto_runs_the_tiered_jit_then_the_artifact_it_cached() {
    // Asked for, and as the default engine.
    for engine in [&["--engine", "auto"][..], &[]] {
        let (_dir, wasm, cache) = fib_and_a_cache();
        let run = || {
            let mut args = vec!["run", "-v", "--cache-dir", s(&cache)];
            args.extend_from_slice(engine);
            args.extend([s(&wasm), "--invoke", "fib", "20"]);
            wasmtier(&args)
        };
        let first = run();
        assert_eq!(first.stdout, "6765\n", "{engine:?}: {}", first.stderr);
        assert!(
            first
                .stderr
                .contains("compile (auto: no cached artifact, the tiered jit")
                && first
                    .stderr
                    .contains("writing the cache entry in the background"),
            "{engine:?}: {}",
            first.stderr
        );
        wait_for_an_entry(&cache);
        let second = run();
        assert_eq!(second.stdout, "6765\n", "{engine:?}: {}", second.stderr);
        assert!(ran_from_the_cache(&second), "{engine:?}: {}", second.stderr);
    }
}

#[test]
fn an_unchanged_file_is_not_read_again_and_a_changed_one_is() {
    let (_dir, wasm, cache) = fib_and_a_cache();
    // A file indexed by its identity must have last changed some seconds
    // before: a change within the same clock tick could keep its times.
    std::thread::sleep(Duration::from_millis(3100));
    let run = || fib_from(&wasm, &cache, "20");
    let unchanged = "the file is unchanged since an earlier hit, so not read";
    let first = run();
    assert_eq!(first.stdout, "6765\n", "{}", first.stderr);
    wait_for_an_entry(&cache);
    // Found by its contents, then by its identity.
    let second = run();
    assert!(
        ran_from_the_cache(&second) && !second.stderr.contains(unchanged),
        "{}",
        second.stderr
    );
    let third = run();
    assert_eq!(third.stdout, "6765\n", "{}", third.stderr);
    assert!(third.stderr.contains(unchanged), "{}", third.stderr);
    // Written over in place with another program of the same size (the
    // base case `n < 3`): the new program runs, not the cached one.
    let changed = PROGRAM.replacen("(i32.const 2)", "(i32.const 3)", 1);
    let bytes = wat::parse_str(&changed).unwrap();
    assert_eq!(bytes.len() as u64, std::fs::metadata(&wasm).unwrap().len());
    std::fs::write(&wasm, bytes).unwrap();
    let fourth = run();
    assert_eq!(fourth.stdout, "10946\n", "{}", fourth.stderr);
    assert!(!ran_from_the_cache(&fourth), "{}", fourth.stderr);
}

#[test]
fn a_run_with_fuel_caches_code_that_meters_it() {
    let (_dir, wasm, cache) = fib_and_a_cache();
    let run = |fuel: &str| {
        wasmtier(&[
            "run",
            "-v",
            "--cache-dir",
            s(&cache),
            "--fuel",
            fuel,
            s(&wasm),
            "--invoke",
            "fib",
            "20",
        ])
    };
    let first = run("100000000");
    assert_eq!(first.stdout, "6765\n", "{}", first.stderr);
    wait_for_an_entry(&cache);
    let second = run("100000000");
    assert_eq!(second.stdout, "6765\n", "{}", second.stderr);
    assert!(ran_from_the_cache(&second), "{}", second.stderr);
    // The cached code counts fuel: too little of it traps.
    let starved = run("1000");
    assert_eq!(starved.status, Some(134), "{}", starved.stderr);
    assert!(starved.stderr.contains("fuel"), "{}", starved.stderr);
    assert!(ran_from_the_cache(&starved), "{}", starved.stderr);
}

#[test]
fn one_background_compile_fills_a_cache_at_a_time() {
    let (_dir, wasm, cache) = fib_and_a_cache();
    let fill = || wasmtier(&["fill-cache", "--cache-dir", s(&cache), "--", s(&wasm)]);
    // Another compile holds the cache's lock: this one leaves the module
    // for a later run.
    std::fs::create_dir(&cache).unwrap();
    let lock = std::fs::File::create(cache.join("fill.lock")).unwrap();
    lock.try_lock().unwrap();
    let out = fill();
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_eq!(entries(&cache), 0);
    // A run says so, and starts none.
    let run = fib_from(&wasm, &cache, "10");
    assert_eq!(run.stdout, "55\n", "{}", run.stderr);
    assert!(
        run.stderr
            .contains("another background compile is filling the cache, so this module's entry is left for a later run"),
        "{}",
        run.stderr
    );
    drop(lock);
    let out = fill();
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_eq!(entries(&cache), 1);
}

#[test]
fn auto_leaves_what_is_not_a_regular_file_alone() {
    // A module read from a pipe cannot be read again by a background
    // compile; the run itself goes ahead.
    let (_dir, wasm, cache) = fib_and_a_cache();
    let bytes = std::fs::read(&wasm).unwrap();
    let out = common::wasmtier_with_stdin(
        &[
            "run",
            "-v",
            "--cache-dir",
            s(&cache),
            "/dev/stdin",
            "--invoke",
            "fib",
            "10",
        ],
        &bytes,
    );
    assert_eq!(out.stdout, "55\n", "{}", out.stderr);
    assert!(
        out.stderr.contains("compile (auto: no cached artifact")
            && !out.stderr.contains("writing the cache entry"),
        "{}",
        out.stderr
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
        "--compilation",
        "eager",
        s(&wasm),
        "--invoke",
        "spin",
        "5",
    ]);
    assert!(!eager.stderr.contains("tiers:"), "{}", eager.stderr);
}

#[test]
fn the_jit_compiles_concurrently_unless_profiled_with_a_perf_map() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "fib.wasm", PROGRAM);
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "-v", "--engine", "jit"];
        args.extend_from_slice(extra);
        args.extend([s(&wasm), "--invoke", "fib", "20"]);
        let out = wasmtier(&args);
        assert_eq!(
            (out.status, out.stdout.as_str()),
            (Some(0), "6765\n"),
            "{extra:?}: {}",
            out.stderr
        );
        out.stderr
    };
    // Compiled while running: the run reports what it compiled, all of
    // it optimized (no baseline tier).
    for concurrent in [run(&[]), run(&["--compilation", "concurrent"])] {
        assert!(
            concurrent.contains("wasmtier: tiers: 0 functions compiled baseline")
                && concurrent.contains(" optimized;"),
            "{concurrent}"
        );
    }
    // perf reads a perf map only for anonymous code: eager, all at once,
    // with nothing left to report per tier.
    let mapped = run(&["--profile", "perfmap"]);
    assert!(!mapped.contains("tiers:"), "{mapped}");
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
