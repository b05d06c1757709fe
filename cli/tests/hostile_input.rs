//! Damaged modules through the real binary: `validate` and `run` refuse
//! them with a message naming the byte offset (status 1) or run them
//! (status 0 or a trap's 134), and never panic or die from a signal.

mod common;

use common::{ENGINES, run_on, s, wasmtier};

const MODULE: &str = r#"(module
  (memory (export "memory") 1)
  (global $g (mut i32) (i32.const 3))
  (data (i32.const 16) "some bytes")
  (func (export "_start") (local i32)
    (local.set 0 (i32.load (i32.const 16)))
    (global.set $g (i32.add (global.get $g) (local.get 0)))))"#;

/// A handful of deterministic damages: truncations, bit flips, a huge LEB.
fn mutants(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for cut in [0, 4, 8, 9, 12, bytes.len() / 2, bytes.len() - 1] {
        out.push(bytes[..cut].to_vec());
    }
    for (i, at) in [8, 10, 14, 20, 25, 31, 40, bytes.len() - 3]
        .into_iter()
        .enumerate()
    {
        let mut m = bytes.to_vec();
        m[at] ^= 1 << (i % 8);
        out.push(m);
    }
    let mut m = bytes.to_vec();
    m.splice(9..9, [0xff, 0xff, 0xff, 0xff, 0x0f]);
    out.push(m);
    out
}

#[test]
fn damaged_modules_are_refused_with_an_offset_or_run_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = wat::parse_str(MODULE).unwrap();
    for (index, mutant) in mutants(&bytes).into_iter().enumerate() {
        let path = dir.path().join(format!("m{index}.wasm"));
        std::fs::write(&path, &mutant).unwrap();
        let out = wasmtier(&["validate", s(&path)]);
        match out.status {
            Some(0) => {}
            Some(1) => assert!(
                out.stderr.contains("offset") || mutant.len() < 8,
                "mutant {index}: {}",
                out.stderr
            ),
            other => panic!(
                "mutant {index}: validate exited with {other:?}: {}",
                out.stderr
            ),
        }
        for engine in ENGINES {
            let out = run_on(engine, &[s(&path)]);
            assert!(
                matches!(out.status, Some(0 | 1 | 134)),
                "mutant {index} on {engine}: {:?}: {}",
                out.status,
                out.stderr
            );
        }
    }
}

/// Runs wasmtier with `args`, killing it after `limit`: `None` if it had
/// to be killed.
fn wasmtier_within(args: &[&str], limit: std::time::Duration) -> Option<(i32, String)> {
    use std::io::Read;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wasmtier"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            return Some((status.code().unwrap_or(-1), stderr));
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn endless_inputs_are_refused_from_their_first_bytes() {
    // `std::fs::read` of these never returns; the reader judges the first
    // bytes (neither `\0asm` nor text) and stops.
    for (device, expected) in [
        ("/dev/zero", "starts with the bytes 00 00 00 00"),
        ("/dev/urandom", "is not a WebAssembly module"),
    ] {
        if !std::path::Path::new(device).exists() {
            continue;
        }
        let commands = ["validate", "run", "compile", "wast"];
        // `compile` needs the aot tier, `wast` the wast feature.
        let in_this_build = |c: &&&str| match **c {
            "compile" => common::ENGINES.contains(&"aot"),
            "wast" => cfg!(feature = "wast"),
            _ => true,
        };
        for command in commands.iter().filter(in_this_build) {
            let limit = std::time::Duration::from_secs(20);
            let Some((status, stderr)) = wasmtier_within(&[command, device], limit) else {
                panic!("`wasmtier {command} {device}` still ran after {limit:?}");
            };
            assert_eq!(status, 1, "{command} {device}: {stderr}");
            // /dev/urandom may start with a zero byte: either message names it.
            assert!(
                stderr.contains(expected) || stderr.contains("is not a WebAssembly module"),
                "{command} {device}: {stderr}"
            );
            assert_eq!(stderr.lines().count(), 1, "{command} {device}: {stderr}");
        }
    }
}

#[test]
fn an_artifact_given_where_a_module_belongs_is_named() {
    if !common::ENGINES.contains(&"aot") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("m.wasm");
    std::fs::write(&wasm, wat::parse_str(MODULE).unwrap()).unwrap();
    let artifact = dir.path().join("m.cwasm");
    let out = wasmtier(&["compile", s(&wasm), "-o", s(&artifact)]);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    for command in ["validate", "compile"] {
        let out = wasmtier(&[command, s(&artifact)]);
        assert_eq!(out.status, Some(1), "{}", out.stderr);
        assert!(
            out.stderr.contains("is a precompiled artifact")
                && out.stderr.contains("wasmtier run --allow-precompiled"),
            "{command}: {}",
            out.stderr
        );
    }
}
