//! `wasmtier wast`: per-file counts and a failing exit status on any failure.

#![cfg(feature = "wast")]

mod common;

use common::{ENGINES, s, wasmtier};

const PASSING: &str = r#"
(module
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1))))
(assert_return (invoke "div" (i32.const 7) (i32.const 2)) (i32.const 3))
(assert_trap (invoke "div" (i32.const 1) (i32.const 0)) "integer divide by zero")
(assert_invalid (module (func (result i32) (i64.const 1))) "type mismatch")
"#;

const FAILING: &str = r#"
(module (func (export "one") (result i32) (i32.const 1)))
(assert_return (invoke "one") (i32.const 2))
"#;

#[test]
fn prints_counts_per_file_and_fails_on_any_failure() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.wast");
    let bad = dir.path().join("bad.wast");
    std::fs::write(&good, PASSING).unwrap();
    std::fs::write(&bad, FAILING).unwrap();
    for engine in ENGINES {
        let out = wasmtier(&["wast", "--engine", engine, s(&good)]);
        assert_eq!(out.status, Some(0), "{}{}", out.stdout, out.stderr);
        assert!(
            out.stdout.contains("4 passed, 0 failed (assertions 3/3;"),
            "{}",
            out.stdout
        );

        let out = wasmtier(&["wast", "--engine", engine, s(&good), s(&bad)]);
        assert_eq!(out.status, Some(1), "{}", out.stdout);
        assert!(
            out.stdout.contains("bad.wast: 1 passed, 1 failed"),
            "{}",
            out.stdout
        );
        assert!(out.stdout.contains("expected i32 2"), "{}", out.stdout);
    }
}

#[test]
fn proposals_need_their_feature_flag() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("tail.wast");
    std::fs::write(
        &script,
        r#"(module (func $f (export "f") (result i32) (return_call $g)) (func $g (result i32) (i32.const 5)))
           (assert_return (invoke "f") (i32.const 5))"#,
    )
    .unwrap();
    let out = wasmtier(&["wast", s(&script)]);
    assert_eq!(out.status, Some(1), "{}", out.stdout);
    let out = wasmtier(&["wast", "--features", "tail-call", s(&script)]);
    assert_eq!(out.status, Some(0), "{}", out.stdout);
    let out = wasmtier(&["wast", "--features", "warp", s(&script)]);
    assert_eq!(out.status, Some(1));
    assert!(
        out.stderr.contains("unknown feature `warp`"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_proposal_the_engine_lacks_is_refused_naming_the_engines_that_run_it() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("atomic.wast");
    std::fs::write(
        &script,
        r#"(module (memory 1 1 shared)
             (func (export "add") (result i32) (i32.atomic.rmw.add (i32.const 0) (i32.const 2))))
           (assert_return (invoke "add") (i32.const 0))
           (assert_return (invoke "add") (i32.const 2))"#,
    )
    .unwrap();
    let with = wasmtier_engines::running(&["threads"]);
    for engine in ENGINES {
        let out = wasmtier(&[
            "wast",
            "--engine",
            engine,
            "--features",
            "threads",
            s(&script),
        ]);
        if with.contains(&engine) {
            assert_eq!(
                out.status,
                Some(0),
                "{engine}: {}{}",
                out.stdout,
                out.stderr
            );
        } else {
            assert_eq!(out.status, Some(1), "{engine}");
            assert!(
                out.stderr
                    .contains(&format!("the {engine} engine does not run threads")),
                "{}",
                out.stderr
            );
            for other in &with {
                assert!(out.stderr.contains(other), "{}", out.stderr);
            }
        }
    }
}
