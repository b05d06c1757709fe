//! What a hostile module or artifact must not get from the host: an abort
//! on a guest-sized allocation, unbounded work under a fuel budget, compile
//! time outside the deadline, an unbounded host stack, a crash of
//! `inspect`, or the host path of the module.

mod common;

use std::time::{Duration, Instant};

use common::{ENGINES, Run, run_on, s, write_wasm};

/// Refused with status 1 and one line of error: no abort, no backtrace.
fn assert_clean_refusal(run: &Run, context: &str) {
    assert_eq!(run.status, Some(1), "{context}: {}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{context}: {}", run.stderr);
    assert!(
        run.stderr.starts_with("error: "),
        "{context}: {}",
        run.stderr
    );
}

#[test]
fn a_huge_memory64_minimum_fails_to_instantiate_instead_of_aborting() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        // 2^31 pages of 64 KiB: 128 TiB.
        (
            "min",
            r#"(module (memory i64 2147483648) (func (export "_start")))"#,
        ),
        // Small, then grown far past what the host has.
        (
            "grow",
            r#"(module (memory i64 1)
                 (func (export "_start")
                   (if (i64.ne (memory.grow (i64.const 2147483648)) (i64.const -1))
                     (then unreachable))))"#,
        ),
    ] {
        let wasm = write_wasm(dir.path(), &format!("{name}.wasm"), text);
        for engine in ENGINES {
            let run = run_on(engine, &[s(&wasm)]);
            let context = format!("{name} on {engine}");
            assert!(
                !run.stderr.contains("memory allocation of"),
                "{context}: {}",
                run.stderr
            );
            if name == "min" {
                assert_clean_refusal(&run, &context);
                assert!(
                    run.stderr.contains("instantiate"),
                    "{context}: {}",
                    run.stderr
                );
            } else {
                // A failed grow is -1, as the spec says.
                assert_eq!(run.status, Some(0), "{context}: {}", run.stderr);
            }
        }
    }
}

/// Fills 1 MiB, then prints a line, forever.
const FILL_AND_PRINT: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 17)
  (data (i32.const 0) "\08\00\00\00\02\00\00\00x\n")
  (func (export "_start")
    (loop $again
      (memory.fill (i32.const 64) (i32.const 0) (i32.const 1048576))
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
      (br $again))))"#;

#[test]
fn fuel_bounds_the_bytes_bulk_operations_move() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "fill.wasm", FILL_AND_PRINT);
    for engine in ENGINES {
        let run = run_on(engine, &["--fuel", "100000", s(&wasm)]);
        assert_eq!(run.status, Some(134), "{engine}: {}", run.stderr);
        assert!(
            run.stderr.contains("all fuel consumed"),
            "{engine}: {}",
            run.stderr
        );
        // At 64 bytes a unit, 100,000 units pay for at most 6.1 MiB: six
        // fills. Charging a fill one unit whatever its length allowed
        // thousands.
        let fills = run.stdout.lines().count();
        assert!(
            fills <= 6,
            "{engine}: {fills} fills of 1 MiB on 100,000 units of fuel"
        );
    }
}

#[test]
fn compiling_counts_against_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let functions: String = (0..4000)
        .map(|i| {
            format!(
                "(func (param i32) (result i32) \
                 (i32.mul (i32.add (local.get 0) (i32.const {i})) (i32.const 3)))"
            )
        })
        .collect();
    let text = format!(r#"(module {functions} (func (export "_start")))"#);
    let wasm = write_wasm(dir.path(), "big.wasm", &text);
    for engine in ["jit", "aot"].into_iter().filter(|e| ENGINES.contains(e)) {
        // The jit compiles concurrently by default: before the run only
        // when eager.
        let eager: &[&str] = if engine == "jit" {
            &["--compilation", "eager"]
        } else {
            &[]
        };
        let with = |timeout: &'static str| {
            let mut args = vec!["--no-cache", "--timeout", timeout];
            args.extend_from_slice(eager);
            args.push(s(&wasm));
            run_on(engine, &args)
        };
        let run = with("1ms");
        assert_eq!(run.status, Some(134), "{engine}: {}", run.stderr);
        assert!(
            run.stderr.contains("time limit exceeded while compiling"),
            "{engine}: {}",
            run.stderr
        );
        // The same module runs when the budget allows compiling it.
        let run = with("1m");
        assert_eq!(run.status, Some(0), "{engine}: {}", run.stderr);
    }
    // Compiled while running, the budget still bounds it: a `_start`
    // that calls every function stops with the time limit, compiling or
    // running.
    if ENGINES.contains(&"jit") {
        let calls: String = (0..4000)
            .map(|i| format!("(drop (call {i} (i32.const 1)))"))
            .collect();
        let text = format!(r#"(module {functions} (func (export "_start") {calls}))"#);
        let wasm = write_wasm(dir.path(), "calls.wasm", &text);
        let run = run_on("jit", &["--timeout", "1ms", s(&wasm)]);
        assert_eq!(run.status, Some(134), "{}", run.stderr);
        assert!(run.stderr.contains("time limit exceeded"), "{}", run.stderr);
    }
}

#[test]
fn deep_recursion_traps_even_under_an_unlimited_host_stack() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(
        dir.path(),
        "down.wasm",
        r#"(module (func $down (export "down") (param i64) (result i64)
             (i64.add (call $down (i64.add (local.get 0) (i64.const 1))) (i64.const 1))))"#,
    );
    for engine in ENGINES {
        let started = Instant::now();
        // `ulimit -s unlimited` makes the main thread's reported stack reach
        // the next mapping; the default cap must hold regardless.
        let out = std::process::Command::new("sh")
            .args([
                "-c",
                r#"ulimit -s unlimited && exec "$0" run --engine "$1" --invoke down "$2" 0"#,
                env!("CARGO_BIN_EXE_wasmtier"),
                engine,
                s(&wasm),
            ])
            .output()
            .unwrap();
        let run = Run::from(out);
        assert_eq!(run.status, Some(134), "{engine}: {}", run.stderr);
        assert!(
            run.stderr.contains("call stack exhausted"),
            "{engine}: {}",
            run.stderr
        );
        assert!(started.elapsed() < Duration::from_secs(60), "{engine}");
    }
}

#[cfg(wasmtier_aot)]
#[test]
fn inspect_reports_a_crafted_artifact_instead_of_panicking() {
    let dir = tempfile::tempdir().unwrap();
    // An import of type 1: its type index byte follows `01 6d 01 66 00`.
    let wasm = write_wasm(
        dir.path(),
        "import.wasm",
        r#"(module (type (func)) (type (func (param i32)))
             (import "m" "f" (func (type 1))) (func (export "g")))"#,
    );
    let cwasm = dir.path().join("import.cwasm");
    let wasmtier = common::wasmtier;
    let run = wasmtier(&["compile", s(&wasm), "-o", s(&cwasm)]);
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    let mut bytes = std::fs::read(&cwasm).unwrap();
    let import = [0x01, 0x6d, 0x01, 0x66, 0x00, 0x01];
    let at = bytes
        .windows(import.len())
        .position(|w| w == import)
        .expect("the embedded module's import");
    // Type 9 does not exist; then the checksum is made to fit, as someone
    // editing the file on purpose would.
    bytes[at + 5] = 9;
    let checksum = crc32fast::hash(&bytes[32..]);
    bytes[24..28].copy_from_slice(&checksum.to_le_bytes());
    std::fs::write(&cwasm, &bytes).unwrap();

    let run = wasmtier(&["inspect", s(&cwasm)]);
    assert_eq!(run.status, Some(1), "{}", run.stderr);
    assert!(run.stdout.contains("INVALID"), "{}", run.stdout);
    assert!(
        run.stderr.contains("embedded module is invalid"),
        "{}",
        run.stderr
    );
    let run = wasmtier(&["run", "--allow-precompiled", s(&cwasm)]);
    assert_clean_refusal(&run, "run");
}
