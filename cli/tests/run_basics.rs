//! `wasmtier run` and `validate` on plain modules: invoke, traps, limits, errors.

mod common;

use common::{ENGINES, s, wasmtier, write_wasm};

const MATH: &str = r#"(module
  (func (export "add_i32") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "mul_i64") (param i64 i64) (result i64) (i64.mul (local.get 0) (local.get 1)))
  (func (export "half_f32") (param f32) (result f32) (f32.div (local.get 0) (f32.const 2)))
  (func (export "sqrt_f64") (param f64) (result f64) (f64.sqrt (local.get 0)))
  (func (export "pair") (result i32 i64) (i32.const 7) (i64.const -8))
)"#;

#[test]
fn invoke_passes_typed_arguments_and_prints_results() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "math.wasm", MATH);
    for engine in ENGINES {
        let run = |args: &[&str]| {
            let mut full = vec!["run", "--engine", engine, s(&wasm), "--invoke"];
            full.extend_from_slice(args);
            wasmtier(&full)
        };
        let out = run(&["add_i32", "40", "2"]);
        assert_eq!(
            (out.status, out.stdout.as_str()),
            (Some(0), "42\n"),
            "{}",
            out.stderr
        );
        let out = run(&["mul_i64", "-3", "3000000000"]);
        assert_eq!(out.stdout, "-9000000000\n", "{}", out.stderr);
        let out = run(&["half_f32", "3"]);
        assert_eq!(out.stdout, "1.5\n");
        let out = run(&["sqrt_f64", "2"]);
        assert_eq!(out.stdout, "1.4142135623730951\n");
        let out = run(&["pair"]);
        assert_eq!(out.stdout, "7\n-8\n");
    }
}

#[test]
fn verbose_prints_each_phase_with_its_time_and_leaves_stdout_alone() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "math.wasm", MATH);
    for engine in ENGINES {
        let out = wasmtier(&[
            "run",
            "-v",
            "--engine",
            engine,
            s(&wasm),
            "--invoke",
            "add_i32",
            "1",
            "2",
        ]);
        assert_eq!(out.stdout, "3\n", "{engine}: {}", out.stderr);
        // A cached AOT run loads instead of validating and compiling.
        let first = if out.stderr.contains("cached artifact") {
            "wasmtier: read, hash and load the cached artifact: "
        } else {
            "wasmtier: read and validate"
        };
        // The lazy tiers (the jit's default compiles concurrently) end
        // with what each tier compiled, after the run.
        let phases: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| !l.starts_with("wasmtier: tiers: "))
            .collect();
        assert!(
            phases.first().is_some_and(|l| l.starts_with(first)),
            "{engine}: {phases:?}"
        );
        assert!(
            phases
                .iter()
                .any(|l| l.starts_with("wasmtier: instantiate: "))
        );
        assert!(
            phases
                .last()
                .is_some_and(|l| l.starts_with("wasmtier: run: ") && l.ends_with(" ms"))
        );
    }
    let out = wasmtier(&[
        "run",
        "-v",
        "--engine",
        "jit",
        s(&wasm),
        "--invoke",
        "add_i32",
        "1",
        "2",
    ]);
    if out.status == Some(0) {
        assert!(
            out.stderr.contains("wasmtier: compile (jit): "),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn wat_text_runs_directly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.wat");
    std::fs::write(&path, MATH).unwrap();
    let out = wasmtier(&["run", s(&path), "--invoke", "add_i32", "1", "2"]);
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (Some(0), "3\n"),
        "{}",
        out.stderr
    );
}

#[test]
fn bad_invoke_arguments_are_user_errors() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "math.wasm", MATH);
    let out = wasmtier(&["run", s(&wasm), "--invoke", "add_i32", "1"]);
    assert_eq!(out.status, Some(1));
    assert!(
        out.stderr.contains("takes 2 argument(s) (i32, i32)"),
        "{}",
        out.stderr
    );
    let out = wasmtier(&["run", s(&wasm), "--invoke", "add_i32", "1", "two"]);
    assert_eq!(out.status, Some(1));
    assert!(
        out.stderr.contains("`two` is not a valid i32"),
        "{}",
        out.stderr
    );
    let out = wasmtier(&["run", s(&wasm), "--invoke", "nope"]);
    assert_eq!(out.status, Some(1));
    assert!(
        out.stderr.contains("no export named `nope`"),
        "{}",
        out.stderr
    );
}

const TRAPS: &str = r#"(module
  (memory 1)
  (func $inner (export "unreachable") unreachable)
  (func $middle (call $inner))
  (func (export "nested") (call $middle))
  (func (export "div") (param i32 i32) (result i32) (i32.div_u (local.get 0) (local.get 1)))
  (func (export "oob") (result i32) (i32.load (i32.const 65536)))
  (func (export "spin") (loop $l (br $l)))
  (func $rec (export "recurse") (call $rec))
)"#;

#[test]
fn traps_exit_134_with_the_spec_message() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "traps.wasm", TRAPS);
    let cases: &[(&[&str], &str)] = &[
        (&["unreachable"], "wasm trap: unreachable"),
        (&["div", "1", "0"], "wasm trap: integer divide by zero"),
        (&["oob"], "wasm trap: out of bounds memory access"),
        (&["recurse"], "wasm trap: call stack exhausted"),
    ];
    for engine in ENGINES {
        for (invoke, message) in cases {
            let mut args = vec!["run", "--engine", engine, s(&wasm), "--invoke"];
            args.extend_from_slice(invoke);
            let out = wasmtier(&args);
            assert_eq!(out.status, Some(134), "{engine} {invoke:?}: {}", out.stderr);
            assert!(
                out.stderr.starts_with(&format!("error: {message}")),
                "{}",
                out.stderr
            );
            assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        }
    }
}

#[test]
fn invalid_module_reports_the_byte_offset() {
    let dir = tempfile::tempdir().unwrap();
    // A function whose body adds an i64 to an i32.
    let wasm = write_wasm(
        dir.path(),
        "bad.wasm",
        "(module (func (result i32) (i32.add (i32.const 1) (i64.const 2))))",
    );
    for sub in [&["validate"][..], &["run"][..]] {
        let mut args = sub.to_vec();
        args.push(s(&wasm));
        let out = wasmtier(&args);
        assert_eq!(out.status, Some(1), "{}", out.stderr);
        assert!(
            out.stderr.contains("invalid module at byte offset 0x"),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("type mismatch"), "{}", out.stderr);
        assert_eq!(
            out.stderr.lines().count(),
            1,
            "one line, no panic: {}",
            out.stderr
        );
    }
}

#[test]
fn truncated_module_reports_the_byte_offset() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = wat::parse_str(MATH).unwrap();
    let path = dir.path().join("cut.wasm");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let out = wasmtier(&["validate", s(&path)]);
    assert_eq!(out.status, Some(1));
    assert!(
        out.stderr.contains("invalid module at byte offset 0x"),
        "{}",
        out.stderr
    );
}

#[test]
fn user_errors_exit_1_with_one_line() {
    let out = wasmtier(&["run", "/no/such/file.wasm"]);
    assert_eq!(out.status, Some(1));
    assert!(
        out.stderr.contains("cannot read `/no/such/file.wasm`"),
        "{}",
        out.stderr
    );
    let out = wasmtier(&["run", "--no-such-flag", "x.wasm"]);
    assert_eq!(out.status, Some(1));
    let out = wasmtier(&["run", "--engine", "warp", "x.wasm"]);
    assert_eq!(out.status, Some(1));
    assert!(
        out.stderr.contains("invalid value 'warp'"),
        "{}",
        out.stderr
    );
    let out = wasmtier(&["run", "--max-memory", "lots", "x.wasm"]);
    assert_eq!(out.status, Some(1));
    assert!(out.stderr.contains("is not a size"), "{}", out.stderr);
}

#[test]
fn validate_accepts_a_good_module() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "math.wasm", MATH);
    let out = wasmtier(&["validate", s(&wasm)]);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert!(
        out.stdout
            .contains("valid (5 functions, 0 imports, 5 exports)"),
        "{}",
        out.stdout
    );
}

#[cfg(feature = "interp")]
#[test]
fn low_memory_mode_runs_programs_and_caps_the_stack() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "traps.wasm", TRAPS);
    let math = write_wasm(dir.path(), "math.wasm", MATH);
    let out = wasmtier(&[
        "run",
        "--low-memory",
        s(&math),
        "--invoke",
        "add_i32",
        "2",
        "3",
    ]);
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (Some(0), "5\n"),
        "{}",
        out.stderr
    );
    let out = wasmtier(&["run", "--low-memory", s(&wasm), "--invoke", "recurse"]);
    assert_eq!(out.status, Some(134), "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("error: wasm trap: call stack exhausted"),
        "{}",
        out.stderr
    );
}

#[cfg(wasmtier_jit)]
#[test]
fn low_memory_mode_refuses_the_jit() {
    let dir = tempfile::tempdir().unwrap();
    let math = write_wasm(dir.path(), "math.wasm", MATH);
    let out = wasmtier(&[
        "run",
        "--low-memory",
        "--engine",
        "jit",
        s(&math),
        "--invoke",
        "add_i32",
        "2",
        "3",
    ]);
    assert_eq!(out.status, Some(1));
    assert!(
        out.stderr
            .contains("--low-memory runs on the interpreter only"),
        "{}",
        out.stderr
    );
}

#[test]
fn help_names_the_default_engine() {
    let out = wasmtier(&["run", "--help"]);
    assert_eq!(out.status, Some(0));
    assert!(
        out.stdout
            .contains("default: auto where this build has the jit and aot engines"),
        "{}",
        out.stdout
    );
}

/// A program whose `_start` throws an exception nothing catches.
const UNCAUGHT: &str = r#"(module
  (tag $oops (export "oops") (param i32))
  (func $fail (throw $oops (i32.const 3)))
  (func (export "_start") (call $fail)))"#;

#[test]
fn an_uncaught_exception_at_start_is_reported_like_a_trap_naming_the_tag() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "uncaught.wasm", UNCAUGHT);
    for engine in engines_running_exceptions() {
        let out = wasmtier(&["run", "--engine", engine, s(&wasm)]);
        assert_eq!(out.status, Some(134), "{engine}: {}", out.stderr);
        assert!(
            out.stderr
                .starts_with("error: uncaught wasm exception (tag `oops`)\nwasm backtrace:"),
            "{engine}: {}",
            out.stderr
        );
    }
}

fn engines_running_exceptions() -> Vec<&'static str> {
    wasmtier_engines::running(&["exceptions"])
}

#[test]
fn the_interpreter_refuses_exceptions_naming_the_proposal_and_the_engines_that_run_it() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "uncaught.wasm", UNCAUGHT);
    for extra in [&[][..], &["--low-memory"][..]] {
        let mut args = vec!["run", "--engine", "interp"];
        args.extend_from_slice(extra);
        args.push(s(&wasm));
        let out = wasmtier(&args);
        assert_eq!(out.status, Some(1), "{}", out.stderr);
        let first = out.stderr.lines().next().unwrap_or_default();
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        let others = engines_running_exceptions();
        let expected = if others.is_empty() {
            "error: the interp engine does not run the exceptions proposal this module uses, \
             and this build has no engine that does"
                .to_string()
        } else {
            format!(
                "error: the interp engine does not run the exceptions proposal this module \
                 uses; engines that do: {}",
                others.join(", ")
            )
        };
        assert!(first.starts_with(&expected), "{first}");
        assert!(!first.contains("invalid module"), "{first}");
    }
}
