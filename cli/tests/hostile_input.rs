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
