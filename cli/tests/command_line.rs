//! How `wasmtier run` splits its command line between itself and the
//! guest, the wasmtime-style `-W`/`-S`/`-C` options, and the completion
//! scripts and man pages generated from the same definitions.

mod common;

use common::{ENGINES, run_on, s, wasi_program, wasmtier, write_wasm};

/// The guest's `argv[1..]`, from the `args_env` program's output.
fn guest_args(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("arg["))
        .filter_map(|rest| rest.split_once("]="))
        .filter(|(index, _)| *index != "0")
        .map(|(_, value)| value.to_string())
        .collect()
}

#[test]
fn an_unknown_flag_after_the_module_goes_to_the_guest() {
    let wasm = wasi_program("args_env");
    for engine in ENGINES {
        let out = run_on(engine, &[s(&wasm), "--memdb", "x.db"]);
        assert_eq!(out.status, Some(0), "{engine}: {}", out.stderr);
        assert_eq!(guest_args(&out.stdout), ["--memdb", "x.db"], "{engine}");
    }
}

#[test]
fn our_options_after_the_module_still_work_until_the_first_guest_argument() {
    let wasm = wasi_program("args_env");
    let dir = tempfile::tempdir().unwrap();
    let out = wasmtier(&[
        "run",
        s(&wasm),
        &format!("--dir={}", s(dir.path())),
        "--engine=interp",
        "--env",
        "GREETING=hi",
        "one",
        "--engine",
        "jit",
        "-v",
    ]);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    // Everything from `one` on is the guest's, even our own flag names.
    assert_eq!(guest_args(&out.stdout), ["one", "--engine", "jit", "-v"]);
    assert!(out.stdout.contains("env:GREETING=hi\n"), "{}", out.stdout);
    // `-v` went to the guest, so wasmtier printed no phases.
    assert!(!out.stderr.contains("wasmtier: "), "{}", out.stderr);
}

#[test]
fn a_flag_of_ours_right_after_the_module_is_ours_and_double_dash_gives_it_to_the_guest() {
    let wasm = wasi_program("args_env");
    let out = wasmtier(&["run", s(&wasm), "-v", "a"]);
    assert!(out.stderr.contains("wasmtier: run: "), "{}", out.stderr);
    assert_eq!(guest_args(&out.stdout), ["a"]);

    let out = wasmtier(&["run", s(&wasm), "--", "-v", "--env", "X=1"]);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_eq!(guest_args(&out.stdout), ["-v", "--env", "X=1"]);
    assert!(out.stdout.contains("env-count=0\n"), "{}", out.stdout);
}

#[test]
fn an_unknown_flag_before_the_module_is_still_an_error() {
    let wasm = wasi_program("args_env");
    let out = wasmtier(&["run", "--memdb", s(&wasm)]);
    assert_eq!(out.status, Some(1));
    assert!(
        out.stderr.contains("unexpected argument '--memdb'"),
        "{}",
        out.stderr
    );
}

#[test]
fn invoke_after_the_module_takes_negative_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(
        dir.path(),
        "add.wasm",
        r#"(module (func (export "add") (param i32 i32) (result i32)
             (i32.add (local.get 0) (local.get 1))))"#,
    );
    let out = wasmtier(&["run", s(&wasm), "--invoke", "add", "-3", "-4"]);
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (Some(0), "-7\n"),
        "{}",
        out.stderr
    );
}

#[test]
fn help_states_the_rule_and_the_differences_from_wasmtime() {
    let out = wasmtier(&["run", "--help"]);
    assert_eq!(out.status, Some(0));
    assert!(
        out.stdout.contains("Arguments after FILE:"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("gives the guest `--memdb data.db`"));
    assert!(out.stdout.contains("Differences from `wasmtime run`:"));
}

const SPIN: &str = r#"(module (func (export "_start") (loop (br 0))))"#;

#[test]
fn wasmtime_style_limits_take_effect_on_every_engine() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "spin.wasm", SPIN);
    for engine in ENGINES {
        let out = run_on(engine, &["-W", "fuel=100000", s(&wasm)]);
        assert_eq!(out.status, Some(134), "{engine}: {}", out.stderr);
        assert!(out.stderr.contains("all fuel consumed"), "{}", out.stderr);

        // Comma-separated, as wasmtime takes them.
        let out = run_on(engine, &["-W", "timeout=200ms,max-wasm-stack=1M", s(&wasm)]);
        assert_eq!(out.status, Some(134), "{engine}: {}", out.stderr);
        assert!(out.stderr.contains("interrupted"), "{}", out.stderr);
    }
}

#[test]
fn wasmtime_style_options_we_do_not_have_are_refused() {
    let wasm = wasi_program("args_env");
    for (flag, value) in [
        ("-W", "epoch-interruption=y"),
        ("-S", "tcp"),
        ("-C", "parallel-compilation=n"),
    ] {
        let out = wasmtier(&["run", flag, value, s(&wasm)]);
        assert_eq!(out.status, Some(1), "{flag} {value}");
        assert!(
            out.stderr.contains("is not a") && out.stderr.contains("option wasmtier has"),
            "{}",
            out.stderr
        );
    }
    let out = wasmtier(&["run", "-W", "fuel=5", "--fuel", "6", s(&wasm)]);
    assert_eq!(out.status, Some(1));
    assert!(out.stderr.contains("disagree"), "{}", out.stderr);
}

#[test]
fn wasi_inherit_env_gives_the_guest_the_host_environment() {
    let wasm = wasi_program("args_env");
    let out = wasmtier(&["run", "-S", "inherit-env", s(&wasm)]);
    let home = std::env::var("HOME").unwrap();
    assert!(
        out.stdout.contains(&format!("HOME={home}\n")),
        "{}",
        out.stdout
    );
    let out = wasmtier(&["run", "-S", "inherit-env=n", s(&wasm)]);
    assert!(out.stdout.contains("env-count=0\n"), "{}", out.stdout);
}

#[cfg(wasmtier_aot)]
#[test]
fn codegen_cache_off_keeps_nothing_in_the_cache_dir() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(
        dir.path(),
        "spin.wasm",
        r#"(module (func (export "_start")))"#,
    );
    let cache = dir.path().join("cache");
    let entries = || {
        std::fs::read_dir(&cache).map_or(0, |dir| {
            dir.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
            })
            .count()
        })
    };
    let base = ["run", "--engine=aot", "--cache-dir", s(&cache)];
    let out = wasmtier(&[&base[..], &["-C", "cache=n", s(&wasm)]].concat());
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_eq!(entries(), 0);
    let out = wasmtier(&[&base[..], &[s(&wasm)]].concat());
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_eq!(entries(), 1);
}

#[test]
fn completion_scripts_cover_subcommands_and_options() {
    let bash = wasmtier(&["completions", "bash"]);
    assert_eq!(bash.status, Some(0), "{}", bash.stderr);
    assert!(bash.stdout.contains("_wasmtier()"), "{}", bash.stdout);
    assert!(bash.stdout.contains("--profile"));
    // The script is valid bash.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("wasmtier.bash");
    std::fs::write(&script, &bash.stdout).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    let zsh = wasmtier(&["completions", "zsh"]);
    assert!(
        zsh.stdout.starts_with("#compdef wasmtier"),
        "{}",
        zsh.stdout
    );
    assert!(zsh.stdout.contains("--engine"));
    let fish = wasmtier(&["completions", "fish"]);
    assert!(
        fish.stdout.contains("complete -c wasmtier") && fish.stdout.contains("completions"),
        "{}",
        fish.stdout
    );

    let bad = wasmtier(&["completions", "tcsh"]);
    assert_eq!(bad.status, Some(1));
    assert!(
        bad.stderr.contains("invalid value 'tcsh'"),
        "{}",
        bad.stderr
    );
}

#[test]
fn man_pages_render_for_the_tool_and_each_subcommand() {
    let page = wasmtier(&["man"]);
    assert_eq!(page.status, Some(0), "{}", page.stderr);
    assert!(page.stdout.contains(".TH wasmtier 1"), "{}", page.stdout);
    assert!(page.stdout.contains("wasmtier\\-run(1)") || page.stdout.contains("run"));

    let run = wasmtier(&["man", "run"]);
    assert!(run.stdout.contains(".TH wasmtier-run 1"), "{}", run.stdout);
    assert!(run.stdout.contains("\\-\\-profile"), "{}", run.stdout);
    assert!(
        run.stdout.contains("Arguments after FILE"),
        "{}",
        run.stdout
    );

    let bad = wasmtier(&["man", "nope"]);
    assert_eq!(bad.status, Some(1));
    assert!(
        bad.stderr.contains("no subcommand `nope`"),
        "{}",
        bad.stderr
    );

    // What a reader sees, where groff is installed.
    if let Ok(out) = render_with_groff(&run.stdout) {
        assert!(out.contains("wasmtier-run"), "{out}");
        assert!(out.contains("--invoke"), "{out}");
    } else {
        eprintln!("skipped rendering the man page: groff is not installed");
    }
}

fn render_with_groff(roff: &str) -> std::io::Result<String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("groff")
        .args(["-man", "-Tutf8", "-P-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    child.stdin.take().unwrap().write_all(roff.as_bytes())?;
    let out = child.wait_with_output()?;
    // groff may still hyphenate or embolden by overstriking: drop that.
    let text = String::from_utf8_lossy(&out.stdout).replace("\u{2010}", "-");
    Ok(text)
}
