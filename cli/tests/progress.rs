//! The compile progress bar: drawn on a terminal, never into a pipe or a
//! file. `WASMTIER_PROGRESS_DELAY_MS=0` draws it at once instead of after
//! a second, so a small module shows it.
#![cfg(wasmtier_jit)]

mod common;

use std::process::Command;

use common::{s, write_wasm};

/// 200 small functions and a `_start`.
fn many_functions() -> String {
    let mut text = String::from("(module (func (export \"_start\"))\n");
    for i in 0..200 {
        text.push_str(&format!(
            "(func (param i32) (result i32) local.get 0 i32.const {i} i32.add)\n"
        ));
    }
    text.push(')');
    text
}

#[test]
fn nothing_is_drawn_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "many.wasm", &many_functions());
    for engine in ["jit", "aot"] {
        let out = Command::new(env!("CARGO_BIN_EXE_wasmtier"))
            .args(["run", "--engine", engine, "--no-cache", s(&wasm)])
            .env("WASMTIER_PROGRESS_DELAY_MS", "0")
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{engine}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_terminal_sees_the_count_and_then_the_bar_is_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "many.wasm", &many_functions());
    // `script` gives the command a terminal and copies what it wrote.
    let command = format!(
        "{} run --engine jit --compilation eager {}",
        env!("CARGO_BIN_EXE_wasmtier"),
        s(&wasm)
    );
    let out = match Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("WASMTIER_PROGRESS_DELAY_MS", "0")
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            eprintln!("skipped: cannot run `script` to get a terminal ({e})");
            return;
        }
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let screen = String::from_utf8_lossy(&out.stdout);
    // 201 functions, plus two trampolines for each of the 2 signatures.
    assert!(screen.contains("/205 functions"), "{screen:?}");
    // Cleared: the last thing written erases the line the bar was on.
    let last_bar = screen.rfind("functions").unwrap();
    assert!(screen[last_bar..].contains("\u{1b}[2K"), "{screen:?}");
    // Reading and validating came first, with a spinner, also cleared.
    let spinner = screen
        .find(&format!("reading and validating {}", s(&wasm)))
        .unwrap_or_else(|| panic!("no spinner in {screen:?}"));
    assert!(spinner < screen.find("/205 functions").unwrap());
    assert!(screen[spinner..].contains("\u{1b}[2K"), "{screen:?}");
}

#[test]
fn a_quick_validation_on_a_terminal_draws_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "many.wasm", &many_functions());
    let command = format!("{} validate {}", env!("CARGO_BIN_EXE_wasmtier"), s(&wasm));
    // The default delay of a second: validating this module takes far less.
    let out = match Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_remove("WASMTIER_PROGRESS_DELAY_MS")
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            eprintln!("skipped: cannot run `script` to get a terminal ({e})");
            return;
        }
    };
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(!screen.contains("reading and validating"), "{screen:?}");
    assert!(!screen.contains('\u{1b}'), "{screen:?}");
    assert!(screen.contains(": valid (201 functions"), "{screen:?}");
}
