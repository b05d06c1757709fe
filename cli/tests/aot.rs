//! The AOT tier through the CLI: `compile`, `inspect`, running `.cwasm`
//! artifacts, the cache, and every kind of bad artifact refused (exit 1,
//! one line) before any of its code runs.

#![cfg(wasmtier_aot)]

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use common::{Run, s, wasi_program, wasmtier, write_wasm};

const HELLO: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello from aot\n")
  (func $main (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 15))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;

fn hello(dir: &Path) -> PathBuf {
    write_wasm(dir, "hello.wasm", HELLO)
}

fn compile(dir: &Path, extra: &[&str]) -> PathBuf {
    let wasm = hello(dir);
    let out = dir.join("hello.cwasm");
    let mut args = vec!["compile", s(&wasm), "-o", s(&out)];
    args.extend_from_slice(extra);
    let run = wasmtier(&args);
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    out
}

/// Refused with status 1, one line of error, and nothing run.
fn assert_refused(run: &Run, needle: &str) {
    assert_eq!(run.status, Some(1), "{}", run.stderr);
    assert_eq!(run.stdout, "", "the artifact ran");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    assert!(
        run.stderr.contains(needle),
        "{needle:?} not in {}",
        run.stderr
    );
}

#[test]
fn compiled_artifacts_run_without_the_wasm() {
    let dir = tempfile::tempdir().unwrap();
    let cwasm = compile(dir.path(), &[]);
    std::fs::remove_file(dir.path().join("hello.wasm")).unwrap();
    let run = wasmtier(&["run", "--allow-precompiled", s(&cwasm)]);
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "hello from aot\n");
    // `auto` runs an artifact as the default (which is auto) does.
    for engine in ["--engine=aot", "--engine=auto"] {
        let run = wasmtier(&["run", "--allow-precompiled", engine, s(&cwasm)]);
        assert_eq!(run.stdout, "hello from aot\n", "{engine}: {}", run.stderr);
    }
    let run = wasmtier(&["run", "--allow-precompiled", "--engine=jit", s(&cwasm)]);
    assert_refused(&run, "runs on the aot engine only");
}

#[test]
fn the_default_output_is_next_to_the_module() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = hello(dir.path());
    let run = wasmtier(&["compile", s(&wasm)]);
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    assert!(dir.path().join("hello.cwasm").exists());
}

#[test]
fn wasi_programs_run_from_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = wasi_program("args_env");
    let cwasm = dir.path().join("args_env.cwasm");
    let run = wasmtier(&["compile", s(&wasm), "-o", s(&cwasm)]);
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    let jit = wasmtier(&["run", "--engine=jit", "--env=A=1", s(&wasm), "x", "y"]);
    let aot = wasmtier(&[
        "run",
        "--allow-precompiled",
        "--env=A=1",
        s(&cwasm),
        "x",
        "y",
    ]);
    assert_eq!(aot.status, Some(0), "{}", aot.stderr);
    // The guest sees the file's name as argv[0], never its host path.
    assert!(!jit.stdout.contains(s(&wasm)), "{}", jit.stdout);
    assert!(jit.stdout.contains("args_env.wasm"), "{}", jit.stdout);
    assert_eq!(
        aot.stdout.replace("args_env.cwasm", "PROGRAM"),
        jit.stdout.replace("args_env.wasm", "PROGRAM")
    );
}

#[test]
fn artifacts_run_only_when_the_user_allows_precompiled_code() {
    let dir = tempfile::tempdir().unwrap();
    let cwasm = compile(dir.path(), &[]);
    // Whatever it is called, an artifact is native code: refused unless
    // allowed, with the way to allow it in the message.
    let disguised = dir.path().join("upload.wasm");
    std::fs::copy(&cwasm, &disguised).unwrap();
    for file in [&cwasm, &disguised] {
        for engine in [None, Some("--engine=aot")] {
            let mut args = vec!["run"];
            args.extend(engine);
            args.push(s(file));
            let run = wasmtier(&args);
            assert_refused(&run, "precompiled artifact");
            assert!(run.stderr.contains("--allow-precompiled"), "{}", run.stderr);
        }
    }
    let run = wasmtier(&["run", "--allow-precompiled", s(&disguised)]);
    assert_eq!(run.stdout, "hello from aot\n", "{}", run.stderr);
}

#[test]
fn inspect_prints_the_header_and_functions() {
    let dir = tempfile::tempdir().unwrap();
    let cwasm = compile(dir.path(), &[]);
    let run = wasmtier(&["inspect", s(&cwasm)]);
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    let version = format!(
        "format version:   {}",
        wasmtier_engines::aot::artifact::FORMAT_VERSION
    );
    for needle in [
        version.as_str(),
        &format!("target:           {}", std::env::consts::ARCH),
        "checksum:         crc32",
        "(ok)",
        "functions:        1",
        "main",
        // Nothing recursive to inline.
        "trap sites, 0 sites in inlined recursion)",
    ] {
        assert!(
            run.stdout.contains(needle),
            "{needle:?} not in {}",
            run.stdout
        );
    }
    let wasm = dir.path().join("hello.wasm");
    assert_refused(&wasmtier(&["inspect", s(&wasm)]), "not a wasmtier artifact");
}

#[test]
fn damaged_artifacts_are_refused_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let cwasm = compile(dir.path(), &[]);
    let good = std::fs::read(&cwasm).unwrap();
    let bad = dir.path().join("bad.cwasm");
    // Flipped bytes in the header, the metadata, the embedded module and the code.
    let code_at = good.len() - 64 * 1024;
    for at in [
        9,
        20,
        40,
        60,
        100,
        200,
        code_at,
        code_at + 3,
        good.len() - 1,
    ] {
        let mut bytes = good.clone();
        bytes[at] ^= 0x04;
        std::fs::write(&bad, &bytes).unwrap();
        let run = wasmtier(&["run", "--allow-precompiled", s(&bad)]);
        assert_eq!(run.status, Some(1), "flip at {at}: {}", run.stderr);
        assert_eq!(run.stdout, "", "flip at {at} ran");
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    }
    let mut bytes = good.clone();
    bytes[code_at + 3] ^= 0x04;
    std::fs::write(&bad, &bytes).unwrap();
    assert_refused(
        &wasmtier(&["run", "--allow-precompiled", s(&bad)]),
        "checksum mismatch",
    );
    for len in [12, 31, 4096, good.len() - 1] {
        std::fs::write(&bad, &good[..len]).unwrap();
        assert_refused(
            &wasmtier(&["run", "--allow-precompiled", s(&bad)]),
            "truncated artifact",
        );
    }
}

/// Rewrites the wasmtier version in the header (same length) and fixes the
/// checksum, as another release would have written it.
fn with_version(bytes: &[u8], version: &str) -> Vec<u8> {
    let ours = env!("CARGO_PKG_VERSION");
    assert_eq!(version.len(), ours.len());
    let mut bytes = bytes.to_vec();
    // The first header string: u64 length at 32, the text at 40.
    assert_eq!(&bytes[40..40 + ours.len()], ours.as_bytes());
    bytes[40..40 + ours.len()].copy_from_slice(version.as_bytes());
    let checksum = crc32fast::hash(&bytes[32..]);
    bytes[24..28].copy_from_slice(&checksum.to_le_bytes());
    bytes
}

#[test]
fn other_versions_targets_and_settings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cwasm = compile(dir.path(), &[]);
    let good = std::fs::read(&cwasm).unwrap();
    let bad = dir.path().join("bad.cwasm");
    std::fs::write(&bad, with_version(&good, "9.9.9")).unwrap();
    assert_refused(
        &wasmtier(&["run", "--allow-precompiled", s(&bad)]),
        "made by wasmtier 9.9.9",
    );
    let mut format = good.clone();
    format[8] = 77;
    std::fs::write(&bad, format).unwrap();
    assert_refused(
        &wasmtier(&["run", "--allow-precompiled", s(&bad)]),
        "format version 77",
    );

    // Code for the other CPU the compiled tiers run on.
    let (other_arch, other) = if std::env::consts::ARCH == "aarch64" {
        ("x86_64", "x86_64-unknown-linux-gnu")
    } else {
        ("aarch64", "aarch64-unknown-linux-gnu")
    };
    let foreign = compile(dir.path(), &["--target", other]);
    assert_refused(
        &wasmtier(&["run", "--allow-precompiled", s(&foreign)]),
        &format!("compiled for target {other_arch}"),
    );
    let inspect = wasmtier(&["inspect", s(&foreign)]);
    assert!(
        inspect
            .stdout
            .contains(&format!("target:           {other_arch}")),
        "{}",
        inspect.stdout
    );

    let plain = compile(dir.path(), &[]);
    assert_refused(
        &wasmtier(&["run", "--allow-precompiled", "--fuel=100000", s(&plain)]),
        "other code-generation settings",
    );
    let fueled = compile(dir.path(), &["--fuel"]);
    let run = wasmtier(&["run", "--allow-precompiled", "--fuel=100000", s(&fueled)]);
    assert_eq!(run.stdout, "hello from aot\n", "{}", run.stderr);
}

/// A cache directory's entries (not its key).
fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_cache_is_filled_once_reused_and_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = hello(dir.path());
    let cache = dir.path().join("cache");
    let run_aot = || wasmtier(&["run", "--engine=aot", "--cache-dir", s(&cache), s(&wasm)]);
    assert_eq!(run_aot().stdout, "hello from aot\n");
    let filled = entries(&cache);
    assert_eq!(filled.len(), 1, "{filled:?}");
    // Entries are replaced by rename, so a rewrite is a new inode (a hit
    // only refreshes the modification time, for eviction).
    let inode = std::fs::metadata(&filled[0]).unwrap().ino();
    assert_eq!(run_aot().stdout, "hello from aot\n");
    assert_eq!(entries(&cache), filled);
    assert_eq!(
        std::fs::metadata(&filled[0]).unwrap().ino(),
        inode,
        "a valid entry was rewritten"
    );
    // A corrupted entry is replaced, never executed.
    let mut bytes = std::fs::read(&filled[0]).unwrap();
    let at = bytes.len() - 64 * 1024;
    bytes[at] ^= 0xff;
    std::fs::write(&filled[0], &bytes).unwrap();
    assert_eq!(run_aot().stdout, "hello from aot\n");
    assert_eq!(wasmtier(&["inspect", s(&filled[0])]).status, Some(0));
    // Another wasmtier version's entry likewise.
    std::fs::write(&filled[0], with_version(&bytes, "9.9.9")).unwrap();
    assert_eq!(run_aot().stdout, "hello from aot\n");
    assert_eq!(wasmtier(&["inspect", s(&filled[0])]).status, Some(0));

    let other = dir.path().join("unused");
    let run = wasmtier(&[
        "run",
        "--engine=aot",
        "--no-cache",
        "--cache-dir",
        s(&other),
        s(&wasm),
    ]);
    assert_eq!(run.stdout, "hello from aot\n");
    assert!(entries(&other).is_empty());
}

#[test]
fn concurrent_runs_fill_one_entry_safely() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = wasi_program("stdio");
    let cache = dir.path().join("cache");
    let spawned: Vec<_> = (0..6)
        .map(|_| {
            std::process::Command::new(env!("CARGO_BIN_EXE_wasmtier"))
                .args(["run", "--engine=aot", "--cache-dir", s(&cache), s(&wasm)])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<Run> = spawned
        .into_iter()
        .map(|c| c.wait_with_output().unwrap().into())
        .collect();
    for out in &outputs {
        assert_eq!(out.status, outputs[0].status, "{}", out.stderr);
        assert_eq!(out.stdout, outputs[0].stdout);
        assert!(!out.stderr.contains("artifact"), "{}", out.stderr);
    }
    let left = entries(&cache);
    assert_eq!(left.len(), 1, "temporary files left: {left:?}");
    assert_eq!(wasmtier(&["inspect", s(&left[0])]).status, Some(0));
}

#[test]
fn text_modules_share_the_entry_of_their_binary() {
    let dir = tempfile::tempdir().unwrap();
    let wat = dir.path().join("hello.wat");
    std::fs::write(&wat, HELLO).unwrap();
    let wasm = hello(dir.path());
    let cache = dir.path().join("cache");
    let run_aot =
        |file: &Path| wasmtier(&["run", "--engine=aot", "--cache-dir", s(&cache), s(file)]);
    assert_eq!(run_aot(&wat).stdout, "hello from aot\n");
    let filled = entries(&cache);
    assert_eq!(filled.len(), 1, "{filled:?}");
    // Entries are replaced by rename, so a rewrite is a new inode (a hit
    // only refreshes the modification time, for eviction).
    let inode = std::fs::metadata(&filled[0]).unwrap().ino();
    for file in [&wat, &wasm, &wat] {
        assert_eq!(run_aot(file).stdout, "hello from aot\n");
    }
    assert_eq!(entries(&cache), filled);
    assert_eq!(
        std::fs::metadata(&filled[0]).unwrap().ino(),
        inode,
        "a valid entry was rewritten"
    );
    let bad = dir.path().join("bad.wat");
    std::fs::write(&bad, "(module (func (result i32)))").unwrap();
    let run = run_aot(&bad);
    assert_eq!(run.status, Some(1), "{}", run.stderr);
    assert!(run.stderr.contains("failed to load"), "{}", run.stderr);
}

#[test]
fn a_cache_directory_others_may_write_is_refused_with_the_way_out() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let wasm = hello(dir.path());
    let cache = dir.path().join("shared");
    std::fs::create_dir(&cache).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = wasmtier(&["run", "--engine=aot", "--cache-dir", s(&cache), s(&wasm)]);
    assert_eq!(run.status, Some(1), "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("refusing the AOT cache directory"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--no-cache"), "{}", run.stderr);
    assert!(entries(&cache).is_empty());
}

#[test]
fn compiling_into_a_pipe_or_device_writes_into_it_and_leaves_it_there() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let regular = compile(dir.path(), &[]);
    let fifo = dir.path().join("pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: mkfifo is not available");
        return;
    }
    // `compile -o /dev/null` once replaced the null device with a plain
    // file (the output was renamed into place); a FIFO shows the same
    // without touching the machine's /dev.
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let wasm = hello(dir.path());
    let run = wasmtier(&["compile", s(&wasm), "-o", s(&fifo)]);
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    // Checked before joining: a replaced pipe would leave the reader
    // waiting for a writer for ever.
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(kind.is_fifo(), "the pipe was replaced: {kind:?}");
    let through_pipe = reader.join().unwrap();
    assert_eq!(through_pipe, std::fs::read(&regular).unwrap());
}

#[test]
fn a_target_the_compiled_tiers_do_not_run_on_is_refused_naming_those_they_do() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = hello(dir.path());
    for target in ["riscv64gc-unknown-linux-gnu", "x86_64-apple-darwin"] {
        let out = dir.path().join("out.cwasm");
        let run = wasmtier(&["compile", s(&wasm), "--target", target, "-o", s(&out)]);
        assert_refused(&run, &format!("cannot compile for `{target}`"));
        assert!(
            run.stderr
                .contains("x86_64-unknown-linux-gnu and aarch64-unknown-linux-gnu"),
            "{}",
            run.stderr
        );
        assert!(!out.exists());
    }
}
