//! A program from a real toolchain that uses Wasm 3.0 exception handling:
//! Rust with `panic = "unwind"`, built by
//! `tests/rust-guests/panic-unwind/build.sh` (Debian's Rust 1.96, whose
//! LLVM emits `try_table`/`throw`/`throw_ref`). Its panics unwind through
//! frames with destructors and are caught, on every engine that runs the
//! proposal; the others refuse it by name.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::{s, wasmtier};

/// The guest, built once per test binary.
fn guest() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("panic-unwind.wasm");
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rust-guests/panic-unwind/build.sh");
        // One cargo target directory for the guest whichever target these
        // tests are built for (the host's, or a cross target's under
        // qemu): the wasm is the same, so only the first run builds it.
        let guest_target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/rust-guests");
        let status = Command::new(&script)
            .arg(&out)
            .arg(&guest_target)
            .status()
            .expect("the guest's build script runs");
        assert!(status.success(), "{} failed", script.display());
        out
    })
}

const CAUGHT: &str = "unwound level3
unwound level2
caught: boom at depth 3
unwound any
caught i32 payload: Some(42)
inner caught: true
outer caught: resumed
";

#[test]
fn rust_panics_unwind_and_are_caught_on_every_engine_with_exceptions() {
    for engine in wasmtier_engines::running(&["exceptions"]) {
        let out = wasmtier(&["run", "--engine", engine, s(guest())]);
        assert_eq!(out.status, Some(0), "{engine}: {}", out.stderr);
        assert_eq!(out.stdout, format!("{CAUGHT}done\n"), "{engine}");
    }
}

#[test]
fn an_uncaught_rust_panic_exits_as_rust_does_and_one_leaving_the_module_is_reported() {
    for engine in wasmtier_engines::running(&["exceptions"]) {
        // Rust's runtime catches a panic leaving `main`, prints it and
        // exits with 101, after running `main`'s destructors.
        let out = wasmtier(&["run", "--engine", engine, s(guest()), "uncaught"]);
        assert_eq!(out.status, Some(101), "{engine}: {}", out.stderr);
        assert_eq!(out.stdout, format!("{CAUGHT}unwound main\n"), "{engine}");
        assert!(out.stderr.contains("uncaught panic"), "{}", out.stderr);
        // Called directly, `boom`'s panic leaves the module as a Wasm
        // exception of LLVM's tag (defined, unexported, and unnamed: the
        // linker writes no tag names).
        let out = wasmtier(&["run", "--engine", engine, "--invoke", "boom", s(guest())]);
        assert_eq!(out.status, Some(134), "{engine}: {}", out.stderr);
        assert!(
            out.stderr
                .contains("error: uncaught wasm exception (tag 0)\nwasm backtrace:"),
            "{engine}: {}",
            out.stderr
        );
    }
}

#[test]
fn the_interpreter_refuses_the_program_by_proposal() {
    if wasmtier_engines::find("interp").is_none() {
        return;
    }
    let out = wasmtier(&["run", "--engine", "interp", s(guest())]);
    assert_eq!(out.status, Some(1), "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("error: the interp engine does not run the exceptions proposal"),
        "{}",
        out.stderr
    );
}
