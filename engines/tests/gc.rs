//! Garbage collection under pressure, on every engine with the GC
//! proposal: programs that allocate far more than their heap holds, keep
//! some objects alive only in Wasm locals and operand stacks (roots the
//! collector finds through stack maps), in globals, tables, arrays and
//! cycles, and check every value they read back. A missed root shows as a
//! wrong sum or a trap; a leak as "allocation failed".

use std::sync::Arc;

use wasmtier_core::{
    Compilation, CompiledModule, Engine, EngineConfig, EngineKind, Features, Store, Trap, TrapCode,
    TrapKind, Val, ValidatedModule,
};
use wasmtier_engines::ENGINES;

const PROGRAM: &str = r#"
(module
  (type $node (struct (field $left (ref null $node)) (field $right (ref null $node))
                      (field $value i32)))
  (type $list (struct (field $head anyref) (field $tail (mut (ref null $list)))))
  (type $refs (array (mut anyref)))
  (type $bytes (array (mut i8)))
  (global $kept (mut (ref null $refs)) (ref.null $refs))
  (table $table 4 anyref)

  ;; A complete tree of `depth`: the left subtree lives only on the operand
  ;; stack while the right one is built (and may trigger a collection).
  (func $make (param $depth i32) (result (ref $node))
    (if (result (ref $node)) (i32.eqz (local.get $depth))
      (then (struct.new $node (ref.null $node) (ref.null $node) (i32.const 1)))
      (else (struct.new $node
        (call $make (i32.sub (local.get $depth) (i32.const 1)))
        (call $make (i32.sub (local.get $depth) (i32.const 1)))
        (local.get $depth)))))

  (func $sum (param $n (ref null $node)) (result i32)
    (if (result i32) (ref.is_null (local.get $n))
      (then (i32.const 0))
      (else (i32.add (struct.get $node $value (local.get $n))
        (i32.add (call $sum (struct.get $node $left (local.get $n)))
                 (call $sum (struct.get $node $right (local.get $n))))))))

  ;; One long-lived tree in a local, one in a table, `iterations`
  ;; short-lived ones; the sum of all their sums.
  (func (export "trees") (param $iterations i32) (param $depth i32) (result i32)
    (local $long (ref null $node)) (local $total i32) (local $i i32)
    (local.set $long (call $make (local.get $depth)))
    (table.set $table (i32.const 1) (call $make (local.get $depth)))
    (loop $again
      (local.set $total (i32.add (local.get $total) (call $sum (call $make (local.get $depth)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (local.get $iterations))))
    (i32.add (local.get $total)
      (i32.add (call $sum (local.get $long))
               (call $sum (ref.cast (ref $node) (table.get $table (i32.const 1)))))))

  ;; Garbage cycles (two lists pointing at each other), and an array of
  ;; references kept in a global whose elements are checked at the end.
  (func (export "cycles") (param $iterations i32) (result i32)
    (local $a (ref null $list)) (local $b (ref null $list)) (local $i i32) (local $sum i32)
    (global.set $kept (array.new $refs (ref.null any) (i32.const 64)))
    (loop $again
      (local.set $a (struct.new $list (ref.i31 (local.get $i)) (ref.null $list)))
      (local.set $b (struct.new $list (array.new $bytes (i32.const 7) (i32.const 100))
                                      (local.get $a)))
      (struct.set $list $tail (local.get $a) (local.get $b))
      (if (i32.eqz (i32.and (local.get $i) (i32.const 1023)))
        (then (array.set $refs (global.get $kept)
                (i32.and (i32.shr_u (local.get $i) (i32.const 10)) (i32.const 63))
                (local.get $b))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (local.get $iterations))))
    ;; Each kept list: its head array's bytes, and the i31 of its tail.
    (local.set $i (i32.const 0))
    (loop $check
      (local.set $b (ref.cast (ref null $list) (array.get $refs (global.get $kept) (local.get $i))))
      (if (i32.eqz (ref.is_null (local.get $b)))
        (then
          (local.set $sum (i32.add (local.get $sum)
            (array.get_u $bytes (ref.cast (ref $bytes) (struct.get $list $head (local.get $b)))
                                (i32.const 99))))
          (local.set $sum (i32.add (local.get $sum)
            (i31.get_u (ref.cast (ref i31)
              (struct.get $list $head (ref.as_non_null (struct.get $list $tail (local.get $b))))))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $check (i32.lt_u (local.get $i) (i32.const 64))))
    (local.get $sum))

  ;; An exception holding a struct, kept as an exnref across collections
  ;; (its payload is a root only through the exception object), then
  ;; rethrown and caught: the struct's field must be intact.
  (tag $boxed (param (ref $node)))
  (func $churn (param $n i32)
    (loop $again
      (drop (call $make (i32.const 6)))
      (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "exceptions") (param $rounds i32) (result i32)
    (local $exn exnref)
    (block $caught (result (ref $node) exnref)
      (try_table (catch_ref $boxed $caught)
        (throw $boxed (struct.new $node (ref.null $node) (ref.null $node) (i32.const 4242))))
      (unreachable))
    (local.set $exn)
    ;; Drop the struct: only the exception holds it now.
    (drop)
    (call $churn (local.get $rounds))
    (struct.get $node $value
      (block $again (result (ref $node))
        (try_table (catch $boxed $again) (throw_ref (local.get $exn)))
        (unreachable))))

  ;; Keeps everything: a list that only grows.
  (func (export "hoard") (param $n i32)
    (local $list (ref null $list)) (local $i i32)
    (loop $again
      (local.set $list (struct.new $list (array.new_default $bytes (i32.const 1000))
                                         (local.get $list)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (local.get $n)))))
)
"#;

/// What `trees(iterations, depth)` returns: every tree sums `2^depth`
/// leaves of 1 plus `k` for each of the `2^(depth-k)` nodes at height `k`.
fn tree_sum(depth: u32) -> i32 {
    let leaves = 1i32 << depth;
    leaves
        + (1..=depth)
            .map(|k| k as i32 * (1 << (depth - k)))
            .sum::<i32>()
}

#[test]
fn an_exception_keeps_its_struct_payload_alive() {
    // 20,000 trees of 127 nodes (40 bytes each): 100 MB through a 1 MiB heap.
    for (name, engine) in gc_engines(1 << 20) {
        let result = call_fresh(engine.as_ref(), "exceptions", &[Val::I32(20_000)]);
        assert_eq!(result.unwrap(), [Val::I32(4242)], "{name}");
    }
}

fn compile(engine: &dyn Engine) -> Arc<dyn CompiledModule> {
    let module = ValidatedModule::from_bytes_or_text(PROGRAM.as_bytes(), Features::finished())
        .expect("the program validates");
    engine.compile(Arc::new(module)).expect("it compiles")
}

/// Every engine with the GC proposal, and the JIT's lazy configurations
/// too (tier-up after one call: baseline and optimized frames mixed).
fn gc_engines(max_gc_heap: u64) -> Vec<(String, Box<dyn Engine>)> {
    let mut all = Vec::new();
    for info in ENGINES.iter().filter(|info| info.features.gc) {
        let mut compilations = vec![Compilation::Eager];
        if info.kind == EngineKind::Jit {
            compilations.push(Compilation::Tiered {
                tier_up_after: Some(1),
                background: false,
            });
            compilations.push(Compilation::Tiered {
                tier_up_after: None,
                background: false,
            });
        }
        for compilation in compilations {
            let engine = info.create(EngineConfig {
                features: Features::finished(),
                max_gc_heap: Some(max_gc_heap),
                compilation,
                ..EngineConfig::default()
            });
            all.push((format!("{} {compilation:?}", info.name()), engine));
        }
    }
    all
}

/// `name(args)` in a fresh store of `engine` with the program instantiated.
fn call_fresh(engine: &dyn Engine, name: &str, args: &[Val]) -> Result<Vec<Val>, Trap> {
    let compiled = compile(engine);
    let mut store = engine.new_store(Box::new(()));
    call(store.as_mut(), compiled.as_ref(), name, args)
}

fn call(
    store: &mut dyn Store,
    compiled: &dyn CompiledModule,
    name: &str,
    args: &[Val],
) -> Result<Vec<Val>, Trap> {
    let instance = store.instantiate(compiled).expect("it instantiates");
    store.call(instance, name, args).map_err(|e| match e {
        wasmtier_core::CallError::Trap(trap) => trap,
        other => panic!("{name}: {other}"),
    })
}

#[test]
fn trees_far_beyond_the_heap_keep_their_values() {
    // A depth-12 tree is 8,191 nodes of 40 bytes (320 KiB): two live ones
    // and one being built fit a 2 MiB heap; 60 more are garbage.
    let (iterations, depth) = (60, 12);
    for (name, engine) in gc_engines(2 << 20) {
        let result = call_fresh(
            engine.as_ref(),
            "trees",
            &[Val::I32(iterations), Val::I32(depth)],
        );
        assert_eq!(
            result.unwrap(),
            [Val::I32((iterations + 2) * tree_sum(depth as u32))],
            "{name}"
        );
    }
}

#[test]
fn cycles_and_arrays_of_references_survive_collections() {
    let iterations = 64 * 1024;
    // Every kept list: byte 7 of its array plus the i31 of its partner,
    // which is the index `i` it was made at (a multiple of 1024).
    let expected: i32 = (0..64).map(|k| 7 + k * 1024).sum();
    for (name, engine) in gc_engines(1 << 20) {
        let result = call_fresh(engine.as_ref(), "cycles", &[Val::I32(iterations)]);
        assert_eq!(result.unwrap(), [Val::I32(expected)], "{name}");
    }
}

#[test]
fn a_full_heap_traps_instead_of_growing() {
    for (name, engine) in gc_engines(1 << 20) {
        let compiled = compile(engine.as_ref());
        let mut store = engine.new_store(Box::new(()));
        let trap = call(
            store.as_mut(),
            compiled.as_ref(),
            "hoard",
            &[Val::I32(100_000)],
        )
        .expect_err("a list of 100 MB cannot fit 1 MiB");
        assert_eq!(
            trap.kind,
            TrapKind::Code(TrapCode::GcHeapExhausted),
            "{name}"
        );
        // The store is still usable: the hoard is garbage once the call is gone.
        let again = call(
            store.as_mut(),
            compiled.as_ref(),
            "cycles",
            &[Val::I32(4096)],
        );
        assert!(again.is_ok(), "{name}: {again:?}");
    }
}
