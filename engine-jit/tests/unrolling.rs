//! Unrolled loops (`translate/unroll.rs`) leave after the same iteration,
//! with the same values, as loops run once per iteration: every way out of
//! a loop, taken from every copy of its body, in the JIT's code (two
//! copies) and in ahead-of-time code (four).

use std::sync::Arc;
use std::time::Duration;

use wasmtier_core::{
    CallError, Engine, EngineConfig, Features, InstanceId, Store, Trap, TrapCode, Val,
    ValidatedModule,
};
use wasmtier_engine_jit::JitEngine;
use wasmtier_engine_jit::aot::{CodeMemory, compile_image, host_isa, load};

/// Loops of each shape the translator treats apart; every one takes its
/// trip count `n` as the first parameter.
const LOOPS: &str = r#"(module
    (memory 1)
    ;; do-while, ending `br_if 0; end`: three locals rotate.
    (func (export "rotate") (param $n i32) (result i32)
      (local $a i32) (local $b i32) (local $c i32) (local $t i32)
      (local.set $a (i32.const 1)) (local.set $b (i32.const 2)) (local.set $c (i32.const 3))
      (loop $l
        (local.set $t (i32.add (i32.mul (local.get $a) (i32.const 3)) (local.get $c)))
        (local.set $a (local.get $b)) (local.set $b (local.get $c)) (local.set $c (local.get $t))
        (br_if $l (i32.gt_s (local.tee $n (i32.sub (local.get $n) (i32.const 1))) (i32.const 0))))
      (i32.add (i32.mul (local.get $a) (i32.const 1000000))
               (i32.add (i32.mul (local.get $b) (i32.const 1000)) (local.get $c))))
    ;; while: the exit is a `br_if` out at the top, the back edge a `br`.
    (func (export "while") (param $n i32) (result i32)
      (local $i i32) (local $sum i32)
      (block $out
        (loop $l
          (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $sum (i32.add (local.get $sum) (i32.mul (local.get $i) (local.get $i))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l)))
      (local.get $sum))
    ;; A loop with parameters and results, left by falling through.
    (func (export "params") (param $n i32) (result i32)
      (i32.const 0) (i32.const 1)
      (loop $l (param i32 i32) (result i32 i32)
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (i32.add (i32.mul (i32.const 31) (i32.const 1)))
        (br_if $l (i32.gt_s (local.get $n) (i32.const 0))))
      (i32.xor (i32.shl (i32.const 16))))
    ;; br_table: back to the loop, out of it, or on past it.
    (func (export "table") (param $n i32) (result i32)
      (local $i i32) (local $acc i32)
      (block $done
        (block $skip
          (loop $l
            (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 7)) (local.get $i)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_table $l $skip $done
              (select (i32.const 0)
                      (select (i32.const 1) (i32.const 2) (i32.eq (local.get $n) (i32.const 5)))
                      (i32.lt_u (local.get $i) (local.get $n))))))
        (local.set $acc (i32.sub (i32.const 0) (local.get $acc))))
      (local.get $acc))
    ;; Stores, then a trap in the iteration whose index is the second
    ;; parameter (an access past the memory).
    (func (export "trap_at") (param $n i32) (param $at i32) (result i32)
      (local $i i32)
      (loop $l
        (i32.store
          (select (i32.const 65536) (i32.mul (local.get $i) (i32.const 4))
                  (i32.eq (local.get $i) (local.get $at)))
          (local.get $i))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
      (local.get $i))
    ;; Never ends.
    (func (export "spin") (param i32) (result i32)
      (loop $l (local.set 0 (i32.add (local.get 0) (i32.const 1))) (br $l))
      (unreachable)))"#;

fn rotate(n: i32) -> i32 {
    let (mut a, mut b, mut c) = (1i32, 2i32, 3i32);
    let mut n = n;
    loop {
        let t = a.wrapping_mul(3).wrapping_add(c);
        (a, b, c) = (b, c, t);
        n -= 1;
        if n <= 0 {
            break;
        }
    }
    a.wrapping_mul(1_000_000)
        .wrapping_add(b.wrapping_mul(1000).wrapping_add(c))
}

fn while_(n: i32) -> i32 {
    (0..n).fold(0i32, |sum, i| sum.wrapping_add(i * i))
}

fn params(n: i32) -> i32 {
    let (x, mut y) = (0i32, 1i32);
    let mut n = n;
    loop {
        n -= 1;
        y = y.wrapping_add(31);
        if n <= 0 {
            break;
        }
    }
    x ^ (y << 16)
}

fn table(n: i32) -> i32 {
    let (mut i, mut acc) = (0i32, 0i32);
    loop {
        acc = acc.wrapping_mul(7).wrapping_add(i);
        i += 1;
        if i < n {
            continue;
        }
        return if n == 5 { -acc } else { acc };
    }
}

/// What a loop export computes from its trip count.
type Reference = fn(i32) -> i32;

/// With `timeout`, code checks for interrupts (at the first copy's header
/// only, in an unrolled loop).
fn config(timeout: Option<Duration>) -> EngineConfig {
    EngineConfig {
        features: Features::finished(),
        timeout,
        ..EngineConfig::default()
    }
}

fn module() -> Arc<ValidatedModule> {
    let module = ValidatedModule::from_bytes_or_text(LOOPS.as_bytes(), Features::finished())
        .expect("test module is valid");
    Arc::new(module)
}

/// An instance of the module as the JIT compiles it, and one as `wasmtier
/// compile` does, each in its own store: one per tier, reused across calls
/// (under qemu, each instance's memory reservation costs a quarter second).
fn both_tiers(timeout: Option<Duration>) -> Vec<(&'static str, Tier)> {
    let config = config(timeout);
    let engine = JitEngine::new(config.clone());
    let jit = engine.compile(module()).expect("compiles");
    let isa = host_isa().expect("host ISA");
    let image = compile_image(&*isa, &module(), &config).expect("compiles ahead of time");
    let memory = CodeMemory::new(&image.code).expect("maps the code");
    let aot = load(module(), &config, memory, image.layout.tables()).expect("loads");
    [("jit", jit), ("aot", aot)]
        .into_iter()
        .map(|(name, compiled)| {
            let mut store = engine.new_store(Box::new(()));
            let instance = store.instantiate(&*compiled).expect("instantiates");
            (name, Tier { store, instance })
        })
        .collect()
}

struct Tier {
    store: Box<dyn Store>,
    instance: InstanceId,
}

impl Tier {
    fn call(&mut self, export: &str, args: &[Val]) -> Result<Vec<Val>, Trap> {
        self.store
            .call(self.instance, export, args)
            .map_err(|e| match e {
                CallError::Trap(trap) => trap,
                other => panic!("call failed: {other}"),
            })
    }
}

#[test]
fn every_trip_count_leaves_with_the_values_of_a_loop_run_once_per_iteration() {
    let reference: [(&str, Reference); 4] = [
        ("rotate", rotate),
        ("while", while_),
        ("params", params),
        ("table", table),
    ];
    for (tier, mut code) in both_tiers(None) {
        for (export, expected) in reference {
            // 0 to 12 iterations end in every copy of four, at least
            // three times each.
            for n in 0..=12 {
                let got = code
                    .call(export, &[Val::I32(n)])
                    .unwrap_or_else(|trap| panic!("{tier} {export}({n}) trapped: {trap}"));
                assert_eq!(got, [Val::I32(expected(n))], "{tier} {export}({n})");
            }
        }
    }
}

#[test]
fn a_trap_in_any_copy_is_the_same_trap() {
    for (tier, mut code) in both_tiers(None) {
        for at in 0..9 {
            let trap = code
                .call("trap_at", &[Val::I32(20), Val::I32(at)])
                .expect_err("the access past the memory traps");
            assert_eq!(
                trap.trap_code(),
                Some(TrapCode::MemoryOutOfBounds),
                "{tier}, iteration {at}"
            );
        }
        assert_eq!(
            code.call("trap_at", &[Val::I32(9), Val::I32(9)]).unwrap(),
            [Val::I32(9)],
            "{tier}: the loop ends before the trapping iteration"
        );
    }
}

#[test]
fn an_unrolled_endless_loop_is_still_interrupted() {
    for (tier, mut code) in both_tiers(Some(Duration::from_millis(300))) {
        let trap = code.call("spin", &[Val::I32(0)]).expect_err("interrupted");
        assert_eq!(trap.trap_code(), Some(TrapCode::Interrupted), "{tier}");
    }
}
