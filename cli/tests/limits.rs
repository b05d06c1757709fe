//! Every resource limit, on every engine: the guest is stopped (or its
//! request refused) and the host process stays healthy — it exits with the
//! expected status instead of crashing, hanging or being killed.

mod common;

use std::time::{Duration, Instant};

use common::{ENGINES, Run, run_on, s, write_wasm};

const GUEST: &str = r#"(module
  (memory 1)
  (table 1 funcref)
  (func $spin (export "spin") (loop $l (br $l)))
  (func $tick (result i32) (i32.const 1))
  (func (export "spin_calls") (local i32)
    (loop $l (local.set 0 (i32.add (local.get 0) (call $tick))) (br $l)))
  (func $down (export "recurse") (param i64) (result i64)
    (i64.add (call $down (i64.add (local.get 0) (i64.const 1))) (i64.const 1)))
  (func (export "grow_memory") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "grow_table") (param i32) (result i32)
    (table.grow (ref.null func) (local.get 0)))
  (func (export "quick") (result i32) (i32.const 42))
)"#;

fn run_guest(engine: &str, limits: &[&str], invoke: &[&str]) -> (Run, Duration) {
    let mut tail = vec!["--invoke"];
    tail.extend_from_slice(invoke);
    run_module(engine, GUEST, limits, &tail)
}

/// Runs the module `text` on `engine` with `limits`, then `tail` after the
/// file name; returns what happened and how long it took.
fn run_module(engine: &str, text: &str, limits: &[&str], tail: &[&str]) -> (Run, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "guest.wasm", text);
    let mut args = vec!["run", "--engine", engine];
    args.extend_from_slice(limits);
    args.push(s(&wasm));
    args.extend_from_slice(tail);
    let start = Instant::now();
    let run = wasmtier_watched(&args);
    (run, start.elapsed())
}

/// Runs the binary, killing it (and failing) if it is still running after
/// a minute: a limit that does not stop the guest must not hang the suite.
fn wasmtier_watched(args: &[&str]) -> Run {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasmtier"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the wasmtier binary runs");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("wasmtier {args:?} still ran after a minute; killed it");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap().into()
}

/// The guest trapped with `message` and the process reported it normally.
fn assert_trapped(run: &Run, message: &str, engine: &str) {
    assert_eq!(run.status, Some(134), "{engine}: {}", run.stderr);
    assert!(
        run.stderr.contains(&format!("wasm trap: {message}")),
        "{engine}: {}",
        run.stderr
    );
}

/// A `--timeout` short enough to keep these tests quick and long enough
/// that the guest is running when it fires: the deadline counts from the
/// process's start, and under an emulator (CI runs the aarch64 tests in
/// qemu, two at a time) starting and compiling alone can take longer than
/// the 300 ms used natively.
fn short_timeout() -> (&'static str, Duration) {
    if std::env::var_os("WASMTIER_TEST_EMULATOR").is_some() {
        ("5s", Duration::from_secs(5))
    } else {
        ("300ms", Duration::from_millis(300))
    }
}

#[test]
fn timeout_interrupts_a_tight_loop_and_a_loop_of_calls() {
    let (timeout, limit) = short_timeout();
    for engine in ENGINES {
        for export in ["spin", "spin_calls"] {
            let (run, took) = run_guest(engine, &["--timeout", timeout], &[export]);
            assert_trapped(&run, "interrupted", engine);
            assert!(took >= limit * 5 / 6, "{engine}: {took:?}");
            assert!(took < limit + Duration::from_secs(20), "{engine}: {took:?}");
        }
    }
}

#[test]
fn timeout_interrupts_a_start_function_that_never_returns() {
    let guest = "(module (func $forever (loop $l (br $l))) (start $forever))";
    let (timeout, limit) = short_timeout();
    for engine in ENGINES {
        let (run, took) = run_module(engine, guest, &["--timeout", timeout], &[]);
        assert_trapped(&run, "interrupted", engine);
        assert!(took < limit + Duration::from_secs(20), "{engine}: {took:?}");
    }
}

#[test]
fn timeout_interrupts_a_guest_blocked_in_a_wasi_sleep() {
    // poll_oneoff on one relative monotonic-clock subscription of 30 s.
    let guest = r#"(module
      (import "wasi_snapshot_preview1" "poll_oneoff"
        (func $poll (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "_start")
        (i32.store8 (i32.const 8) (i32.const 0))
        (i32.store (i32.const 16) (i32.const 1))
        (i64.store (i32.const 24) (i64.const 30000000000))
        (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))"#;
    let (timeout, limit) = short_timeout();
    for engine in ENGINES {
        let (run, took) = run_module(engine, guest, &["--timeout", timeout], &[]);
        assert_trapped(&run, "interrupted", engine);
        assert!(took < limit + Duration::from_secs(10), "{engine}: {took:?}");
        // Without a limit the same sleep is honoured (cut short here by
        // sleeping 50 ms instead of 30 s).
        let short = guest.replace("30000000000", "50000000");
        let (run, took) = run_module(engine, &short, &["--timeout", "1m"], &[]);
        assert_eq!(run.status, Some(0), "{engine}: {}", run.stderr);
        assert!(took >= Duration::from_millis(50), "{engine}: {took:?}");
    }
}

#[test]
fn timeout_leaves_a_quick_guest_alone() {
    for engine in ENGINES {
        let (run, _) = run_guest(engine, &["--timeout", "1m"], &["quick"]);
        assert_eq!(
            (run.status, run.stdout.as_str()),
            (Some(0), "42\n"),
            "{engine}: {}",
            run.stderr
        );
    }
}

#[test]
fn fuel_and_timeout_together_stop_at_whichever_comes_first() {
    for engine in ENGINES {
        let (run, _) = run_guest(engine, &["--timeout", "1m", "--fuel", "100000"], &["spin"]);
        assert_trapped(&run, "all fuel consumed", engine);
        let (run, _) = run_guest(
            engine,
            &["--timeout", "200ms", "--fuel", "1000000000000"],
            &["spin"],
        );
        // On a slow host (an emulated one in CI) the deadline can pass
        // while the module is still compiling; either way the budget stops it.
        if !run.stderr.contains("time limit exceeded while compiling") {
            assert_trapped(&run, "interrupted", engine);
        }
        assert_eq!(run.status, Some(134), "{engine}: {}", run.stderr);
        let (run, _) = run_guest(engine, &["--timeout", "1m", "--fuel", "1000"], &["quick"]);
        assert_eq!(run.stdout, "42\n", "{engine}: {}", run.stderr);
    }
}

#[test]
fn fuel_stops_a_loop_of_calls() {
    for engine in ENGINES {
        let (run, _) = run_guest(engine, &["--fuel", "50000"], &["spin_calls"]);
        assert_trapped(&run, "all fuel consumed", engine);
    }
}

#[test]
fn deep_recursion_is_a_trap_with_and_without_max_stack() {
    for engine in ENGINES {
        for limits in [
            &[][..],
            &["--max-stack", "64K"][..],
            &["--max-stack", "4M"][..],
        ] {
            let (run, _) = run_guest(engine, limits, &["recurse", "0"]);
            assert_trapped(&run, "call stack exhausted", engine);
        }
    }
}

#[test]
fn max_memory_refuses_growth_beyond_the_cap() {
    for engine in ENGINES {
        let (run, _) = run_guest(engine, &["--max-memory", "128K"], &["grow_memory", "1"]);
        assert_eq!(run.stdout, "1\n", "{engine}: {}", run.stderr);
        let (run, _) = run_guest(engine, &["--max-memory", "128K"], &["grow_memory", "2"]);
        assert_eq!(run.stdout, "-1\n", "{engine}: {}", run.stderr);
    }
}

#[test]
fn max_table_elements_refuses_growth_beyond_the_cap() {
    for engine in ENGINES {
        let (run, _) = run_guest(
            engine,
            &["--max-table-elements", "100"],
            &["grow_table", "99"],
        );
        assert_eq!(run.stdout, "1\n", "{engine}: {}", run.stderr);
        let (run, _) = run_guest(
            engine,
            &["--max-table-elements", "100"],
            &["grow_table", "100"],
        );
        assert_eq!(run.stdout, "-1\n", "{engine}: {}", run.stderr);
        // Without the flag the spec's limits apply and the growth succeeds.
        let (run, _) = run_guest(engine, &[], &["grow_table", "100"]);
        assert_eq!(run.stdout, "1\n", "{engine}: {}", run.stderr);
    }
}

/// A guest that retries refused grows millions of times: each one returns
/// -1 and the host keeps running. (wasmi 2.0.0's own grow handlers leak a
/// host stack frame each, which overflowed an 8 MiB stack after about
/// 30,000 failures; the interpreter runs grows as host calls instead.
/// Found by fuzz-diff's long run, a loader mutant of seed 1882533542284772;
/// this is the one test of it, through the binary users run.)
#[test]
fn a_guest_retrying_refused_grows_cannot_exhaust_the_host_stack() {
    const RETRIES: &str = r#"(module
      (memory 1 2) (table 1 2 funcref)
      (func (export "retry") (param $n i32) (result i32) (local $failed i32)
        (loop $l
          (local.set $failed (i32.add (local.get $failed)
            (i32.eq (memory.grow (i32.const 2)) (i32.const -1))))
          (local.set $failed (i32.add (local.get $failed)
            (i32.eq (table.grow (ref.null func) (i32.const 2)) (i32.const -1))))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br_if $l (local.get $n)))
        (local.get $failed)))"#;
    for engine in ENGINES {
        let (run, _) = run_module(engine, RETRIES, &[], &["--invoke", "retry", "1000000"]);
        assert_eq!(run.stdout, "2000000\n", "{engine}: {}", run.stderr);
    }
}

#[test]
fn a_table_larger_than_the_cap_fails_to_instantiate() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(
        dir.path(),
        "big.wasm",
        r#"(module (table 1000 funcref) (func (export "_start")))"#,
    );
    for engine in ENGINES {
        let out = run_on(engine, &["--max-table-elements", "10", s(&wasm)]);
        assert_eq!(out.status, Some(1), "{engine}: {}", out.stderr);
        assert!(
            out.stderr.contains("instantiate"),
            "{engine}: {}",
            out.stderr
        );
    }
}

/// A function declaring more locals than the loader allows is refused
/// before any engine sees it, with the offset of the function body.
#[test]
fn a_locals_bomb_is_refused_by_the_loader() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("bomb.wasm");
    #[rustfmt::skip]
    let bytes = [
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: () -> ()
        0x03, 0x02, 0x01, 0x00,             // function section: one function
        0x0a, 0x09, 0x01, 0x07,             // code section: one 7-byte body
        0x01, 0x80, 0x92, 0xf4, 0x01, 0x7f, // 4,000,000 locals of i32
        0x0b,
    ];
    std::fs::write(&wasm, bytes).unwrap();
    for engine in ENGINES {
        let out = run_on(engine, &[s(&wasm)]);
        assert_eq!(out.status, Some(1), "{engine}: {}", out.stderr);
        assert!(
            out.stderr.contains("over 50000 locals"),
            "{engine}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("byte offset 0x"),
            "{engine}: {}",
            out.stderr
        );
    }
}

/// Regression: with `--timeout` the interpreter runs calls in fuel slices,
/// and wasmi charged lazy translation of a function's first call to the
/// slice, failing the call ("all fuel consumed") when a slice ran out
/// there. Found by timing a benchmark with `--timeout`. Many fresh, large
/// functions, called between busy loops, make some first call straddle a
/// slice boundary.
#[test]
fn timeout_does_not_fail_first_calls_that_straddle_a_fuel_slice() {
    let body: String = "(drop (i32.add (local.get 0) (i32.const 1)))\n".repeat(400);
    let mut text = String::from("(module\n");
    for i in 0..150 {
        text.push_str(&format!("(func $f{i} (param i32) {body})\n"));
    }
    text.push_str("(func $spin (local i32) (loop $l (br_if $l (i32.lt_u (local.tee 0 (i32.add (local.get 0) (i32.const 1))) (i32.const 3000)))))\n");
    text.push_str("(func (export \"main\") (result i32)\n");
    for i in 0..150 {
        text.push_str(&format!("(call $spin) (call $f{i} (i32.const {i}))\n"));
    }
    text.push_str("(i32.const 7)))");
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "fresh.wasm", &text);
    for engine in ENGINES {
        for limits in [
            &["--timeout", "1m"][..],
            &["--timeout", "1m", "--fuel", "1000000000"][..],
        ] {
            let mut args = vec!["run", "--engine", engine];
            args.extend_from_slice(limits);
            args.extend_from_slice(&[s(&wasm), "--invoke", "main"]);
            let out = wasmtier_watched(&args);
            assert_eq!(
                (out.status, out.stdout.as_str()),
                (Some(0), "7\n"),
                "{engine} {limits:?}: {}",
                out.stderr
            );
        }
    }
}
