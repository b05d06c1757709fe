//! Programs with threads (threads proposal + wasi-threads), hand-written in
//! WAT because Debian's wasi-libc has no `wasm32-wasi-threads` build: each
//! checks its own results and runs under `--timeout`, so a deadlock fails
//! the test instead of hanging it.

mod common;

use std::path::PathBuf;

use common::{run_on, s, wasmtier};

fn program(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/wasm-threads")
        .join(format!("{name}.wat"))
}

fn threads_engines() -> Vec<&'static str> {
    wasmtier_engines::running(&["threads"])
}

#[test]
fn four_threads_sum_and_count_under_a_mutex_correctly_many_times() {
    let path = program("parallel_sum");
    for engine in threads_engines() {
        // Racing threads: a lost update or a missed wake-up shows as a
        // wrong total or a timeout in some of the runs.
        for round in 0..15 {
            let out = run_on(engine, &["--timeout", "20s", s(&path)]);
            assert_eq!(
                out.status,
                Some(0),
                "{engine} round {round}: {}{}",
                out.stdout,
                out.stderr
            );
            assert_eq!(out.stdout, "ok\n", "{engine} round {round}");
        }
    }
}

#[test]
fn max_threads_caps_the_running_threads_and_refused_spawns_fail_with_eagain() {
    let path = program("spawn_limit");
    for engine in threads_engines() {
        let free = run_on(engine, &["--timeout", "20s", s(&path)]);
        assert_eq!(free.status, Some(30), "{engine}: {}", free.stderr);
        let capped = run_on(
            engine,
            &["--timeout", "20s", "--max-threads", "2", s(&path)],
        );
        assert_eq!(capped.status, Some(21), "{engine}: {}", capped.stderr);
    }
}

#[test]
fn threads_can_be_turned_off_and_a_spawning_module_is_then_refused() {
    let path = program("spawn_limit");
    for engine in threads_engines() {
        for flags in [&["--max-threads", "0"][..], &["-S", "threads=n"]] {
            let mut args = vec!["run", "--engine", engine];
            args.extend_from_slice(flags);
            args.push(s(&path));
            let out = wasmtier(&args);
            assert_eq!(out.status, Some(1), "{engine} {flags:?}");
            assert!(
                out.stderr.contains("spawns threads") && out.stderr.contains("turned off"),
                "{}",
                out.stderr
            );
        }
    }
    let out = wasmtier(&["run", "-S", "threads=n", "--max-threads", "3", s(&path)]);
    assert!(out.stderr.contains("disagree"), "{}", out.stderr);
}

#[test]
fn a_thread_that_exits_or_traps_ends_the_whole_program() {
    let path = program("thread_ends");
    for engine in threads_engines() {
        let exited = run_on(engine, &["--timeout", "20s", s(&path), "exit"]);
        assert_eq!(exited.status, Some(7), "{engine}: {}", exited.stderr);
        let trapped = run_on(engine, &["--timeout", "20s", s(&path)]);
        assert_eq!(trapped.status, Some(134), "{engine}");
        assert!(
            trapped
                .stderr
                .contains("in a spawned thread: wasm trap: unreachable"),
            "{engine}: {}",
            trapped.stderr
        );
        assert!(
            trapped.stderr.contains("0: fail"),
            "{engine}: {}",
            trapped.stderr
        );
    }
}

#[test]
fn the_timeout_ends_a_wait_that_nothing_will_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_wasm(
        dir.path(),
        "wait.wasm",
        r#"(module (memory 1 1 shared)
             (func (export "_start")
               (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))))"#,
    );
    for engine in threads_engines() {
        let started = std::time::Instant::now();
        let out = run_on(engine, &["--timeout", "500ms", s(&path)]);
        assert_eq!(out.status, Some(134), "{engine}");
        assert!(
            out.stderr.contains("interrupted: time limit exceeded"),
            "{}",
            out.stderr
        );
        assert!(
            started.elapsed().as_secs() < 15,
            "{engine}: the wait outlived its deadline"
        );
    }
}

#[test]
fn waiting_on_an_unshared_memory_traps_and_notify_there_wakes_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_wasm(
        dir.path(),
        "unshared.wasm",
        r#"(module (memory 1 1)
             (func (export "notify") (result i32)
               (memory.atomic.notify (i32.const 0) (i32.const 5)))
             (func (export "wait") (result i32)
               (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 0))))"#,
    );
    for engine in threads_engines() {
        let notify = run_on(engine, &["--invoke", "notify", s(&path)]);
        assert_eq!(notify.stdout, "0\n", "{engine}: {}", notify.stderr);
        let wait = run_on(engine, &["--invoke", "wait", s(&path)]);
        assert_eq!(wait.status, Some(134), "{engine}");
        assert!(
            wait.stderr.contains("atomic wait on non-shared memory"),
            "{}",
            wait.stderr
        );
    }
}

#[test]
fn engines_without_threads_refuse_such_modules_naming_those_that_have_them() {
    let path = program("parallel_sum");
    let with: Vec<&str> = threads_engines();
    for engine in common::ENGINES.into_iter().filter(|e| !with.contains(e)) {
        let out = run_on(engine, &[s(&path)]);
        assert_eq!(out.status, Some(1), "{engine}");
        assert!(
            out.stderr.contains(&format!(
                "the {engine} engine does not run the threads proposal"
            )),
            "{}",
            out.stderr
        );
        for other in &with {
            assert!(out.stderr.contains(other), "{}", out.stderr);
        }
    }
}
