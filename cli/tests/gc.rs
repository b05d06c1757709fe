//! Garbage collection from the command line: the compiled tiers run struct
//! and array programs within `--max-gc-heap`; a program that keeps more
//! than that traps with one clear message; the interpreter refuses GC
//! modules in one line naming the proposal and the engines that run it.

mod common;

use common::{ENGINES, s, wasmtier, write_wasm};

/// `trees(n, depth)`: builds `n` binary trees of `depth` and sums their
/// values (garbage as soon as summed); `hoard(n)`: a list that keeps
/// every 1 KB array it makes.
const TREES: &str = r#"(module
  (type $node (struct (field (ref null $node)) (field (ref null $node)) (field i32)))
  (type $bytes (array (mut i8)))
  (type $list (struct (field (ref $bytes)) (field (ref null $list))))
  (func $make (param $d i32) (result (ref $node))
    (if (result (ref $node)) (i32.eqz (local.get $d))
      (then (struct.new $node (ref.null $node) (ref.null $node) (i32.const 1)))
      (else (struct.new $node (call $make (i32.sub (local.get $d) (i32.const 1)))
                              (call $make (i32.sub (local.get $d) (i32.const 1)))
                              (local.get $d)))))
  (func $sum (param $n (ref null $node)) (result i32)
    (if (result i32) (ref.is_null (local.get $n)) (then (i32.const 0))
      (else (i32.add (struct.get $node 2 (local.get $n))
        (i32.add (call $sum (struct.get $node 0 (local.get $n)))
                 (call $sum (struct.get $node 1 (local.get $n))))))))
  (func (export "trees") (param $n i32) (param $d i32) (result i32)
    (local $total i32)
    (loop $again
      (local.set $total (i32.add (local.get $total) (call $sum (call $make (local.get $d)))))
      (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $total))
  (func (export "hoard") (param $n i32)
    (local $list (ref null $list))
    (loop $again
      (local.set $list (struct.new $list (array.new_default $bytes (i32.const 1000))
                                         (local.get $list)))
      (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))"#;

#[test]
fn compiled_tiers_collect_within_the_cap_and_the_interpreter_names_what_it_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "trees.wasm", TREES);
    for engine in ENGINES {
        // 50 trees of 2,047 nodes (80 KiB each) in a 512 KiB heap.
        let out = wasmtier(&[
            "run",
            "--engine",
            engine,
            "--max-gc-heap",
            "512K",
            s(&wasm),
            "--invoke",
            "trees",
            "50",
            "10",
        ]);
        if engine == "interp" {
            assert_eq!(out.status, Some(1), "{}", out.stderr);
            assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
            assert!(
                out.stderr
                    .starts_with("error: the interp engine does not run the gc proposal"),
                "{}",
                out.stderr
            );
            continue;
        }
        assert_eq!(out.status, Some(0), "{engine}: {}", out.stderr);
        // Each tree: 1,024 leaves of 1 plus k for each node at height k.
        let tree: i32 = 1024 + (1..=10).map(|k| k * (1 << (10 - k))).sum::<i32>();
        assert_eq!(out.stdout, format!("{}\n", 50 * tree), "{engine}");
    }
}

#[test]
fn keeping_more_than_the_gc_heap_traps_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "trees.wasm", TREES);
    for engine in ENGINES.into_iter().filter(|e| *e != "interp") {
        let out = wasmtier(&[
            "run",
            "--engine",
            engine,
            "--max-gc-heap",
            "256K",
            s(&wasm),
            "--invoke",
            "hoard",
            "10000",
        ]);
        assert_eq!(out.status, Some(134), "{engine}: {}", out.stderr);
        assert!(
            out.stderr
                .starts_with("error: wasm trap: allocation failed: the GC heap is full"),
            "{engine}: {}",
            out.stderr
        );
    }
    let out = wasmtier(&[
        "run",
        "--max-gc-heap",
        "5G",
        s(&wasm),
        "--invoke",
        "hoard",
        "1",
    ]);
    assert_eq!(out.status, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("is more than a GC heap can hold"),
        "{}",
        out.stderr
    );
}
