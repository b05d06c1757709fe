//! Real WASI programs (C, built with clang for wasm32-wasi) through the CLI,
//! on every engine.

mod common;

use common::{ENGINES, run_on, s, wasi_program, wasmtier, wasmtier_with_stdin};

#[test]
fn arguments_reach_the_guest_with_the_file_name_as_argv0() {
    let wasm = wasi_program("args_env");
    for engine in ENGINES {
        let out = run_on(engine, &[s(&wasm), "--", "one", "-two", "three four"]);
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        // The file's name only: the guest does not learn host paths.
        let expected = format!(
            "arg[0]={}\narg[1]=one\narg[2]=-two\narg[3]=three four\n",
            wasm.file_name().unwrap().to_str().unwrap()
        );
        assert!(out.stdout.starts_with(&expected), "{}", out.stdout);
    }
}

#[test]
fn the_guest_sees_no_host_environment_unless_granted() {
    let wasm = wasi_program("args_env");
    for engine in ENGINES {
        let out = run_on(engine, &[s(&wasm)]);
        assert!(out.stdout.contains("env-count=0\n"), "{}", out.stdout);
        assert!(out.stdout.contains("HOME=(unset)"), "{}", out.stdout);

        let out = run_on(
            engine,
            &["--env", "GREETING=hi there", "--env", "HOME", s(&wasm)],
        );
        assert!(
            out.stdout.contains("env:GREETING=hi there\n"),
            "{}",
            out.stdout
        );
        let home = std::env::var("HOME").unwrap();
        assert!(
            out.stdout.contains(&format!("HOME={home}\n")),
            "{}",
            out.stdout
        );
        assert!(out.stdout.contains("env-count=2\n"), "{}", out.stdout);

        // Cargo sets CARGO_PKG_NAME for this test, and the child inherits it.
        let out = run_on(engine, &["--inherit-env", s(&wasm)]);
        assert!(
            out.stdout.contains("env:CARGO_PKG_NAME=wasmtier-cli\n"),
            "{}",
            out.stdout
        );
        assert!(
            out.stdout.contains(&format!("HOME={home}\n")),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn env_naming_an_unset_host_variable_is_an_error() {
    let wasm = wasi_program("args_env");
    let out = wasmtier(&["run", "--env", "WASMTIER_SURELY_UNSET_VAR", s(&wasm)]);
    assert_eq!(out.status, Some(1));
    assert!(
        out.stderr.contains("WASMTIER_SURELY_UNSET_VAR"),
        "{}",
        out.stderr
    );
}

#[test]
fn clocks_sleep_and_random_work() {
    let wasm = wasi_program("clocks_random");
    for engine in ENGINES {
        let out = run_on(engine, &[s(&wasm)]);
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        assert_eq!(
            out.stdout,
            "ok realtime\nok resolution\nok sleep bounded\nok random\n"
        );
    }
}

#[test]
fn stdin_stdout_and_stderr_are_inherited() {
    let wasm = wasi_program("stdio");
    for engine in ENGINES {
        let out = wasmtier_with_stdin(&["run", "--engine", engine, s(&wasm)], b"quiet words\n");
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        assert_eq!(out.stdout, "QUIET WORDS\n");
        assert_eq!(out.stderr, "read 12 bytes\n");
    }
}

#[test]
fn proc_exit_becomes_the_exit_status() {
    let wasm = wasi_program("exit_code");
    for engine in ENGINES {
        for code in ["0", "3", "42"] {
            let out = run_on(engine, &[s(&wasm), code]);
            assert_eq!(out.status, Some(code.parse().unwrap()), "{}", out.stderr);
            assert_eq!(out.stderr, "");
        }
    }
}

#[test]
fn file_system_operations_in_a_preopened_directory() {
    let wasm = wasi_program("fs");
    for engine in ENGINES {
        let dir = tempfile::tempdir().unwrap();
        let grant = format!("{}::/work", s(dir.path()));
        let out = run_on(engine, &["--dir", &grant, s(&wasm), "/work"]);
        assert_eq!(
            out.status,
            Some(0),
            "{engine}: {}\n{}",
            out.stdout,
            out.stderr
        );
        assert!(out.stdout.ends_with("done\n"), "{}", out.stdout);
        assert!(!out.stdout.contains("FAIL"), "{}", out.stdout);
        // The effects are real, on the host.
        assert_eq!(
            std::fs::read_to_string(dir.path().join("b.txt")).unwrap(),
            "hello!"
        );
        assert!(!dir.path().join("a.txt").exists());
        assert!(!dir.path().join("sub").exists());
    }
}

#[test]
fn dir_defaults_the_guest_name_to_the_host_path() {
    let wasm = wasi_program("fs");
    let dir = tempfile::tempdir().unwrap();
    let out = wasmtier(&["run", "--dir", s(dir.path()), s(&wasm), s(dir.path())]);
    assert_eq!(out.status, Some(0), "{}\n{}", out.stdout, out.stderr);
}

#[test]
fn a_missing_preopen_is_a_clear_error() {
    let wasm = wasi_program("fs");
    let out = wasmtier(&["run", "--dir", "/no/such/dir", s(&wasm)]);
    assert_eq!(out.status, Some(1));
    assert!(out.stderr.contains("/no/such/dir"), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
}

#[test]
fn a_reactor_is_initialized_before_invoke() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = common::write_wasm(
        dir.path(),
        "reactor.wasm",
        r#"(module
             (global $g (mut i32) (i32.const 0))
             (memory (export "memory") 1)
             (func (export "_initialize") (global.set $g (i32.const 5)))
             (func (export "get") (result i32) (global.get $g)))"#,
    );
    for engine in ENGINES {
        let out = run_on(engine, &[s(&wasm), "--invoke", "get"]);
        assert_eq!(
            (out.status, out.stdout.as_str()),
            (Some(0), "5\n"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn an_import_nobody_provides_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = common::write_wasm(
        dir.path(),
        "sock.wasm",
        r#"(module
             (import "wasi_snapshot_preview1" "sock_open" (func (param i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (func (export "_start")))"#,
    );
    for engine in ENGINES {
        let out = run_on(engine, &[s(&wasm)]);
        assert_eq!(out.status, Some(1), "{}", out.stderr);
        assert!(
            out.stderr
                .contains("unknown import `wasi_snapshot_preview1::sock_open`"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn a_wasi_module_without_memory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = common::write_wasm(
        dir.path(),
        "nomem.wasm",
        r#"(module
             (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
             (func (export "_start")))"#,
    );
    let out = wasmtier(&["run", s(&wasm)]);
    assert_eq!(out.status, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("exports no memory"), "{}", out.stderr);
}

#[test]
fn the_hello_example_prints_its_greeting() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/hello.wat");
    for engine in ENGINES {
        let out = run_on(engine, &[example]);
        assert_eq!(
            (out.status, out.stdout.as_str()),
            (Some(0), "Hello from wasmtier!\n"),
            "{}",
            out.stderr
        );
    }
}
