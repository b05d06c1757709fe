//! The threads proposal under real concurrency: several OS threads, each
//! with its own store, instantiate one module that imports the same shared
//! memory and race on it with atomics of every width. Each round checks
//! the totals; a lost update, a torn narrow access or a missed wake-up
//! shows as a wrong value (or a hang, which the wait's timeout bounds).

use std::sync::Arc;

use wasmtier_core::{
    CompiledModule, Engine, EngineConfig, Features, HostItem, InstanceId, MemoryType, SharedMemory,
    Store, Val, ValidatedModule,
};
use wasmtier_engines::ENGINES;

const THREADS: i32 = 4;
const ITERATIONS: i32 = 20_000;
const ROUNDS: usize = 30;

/// Each `work(index)` adds to counters of every width and takes a
/// compare-exchange spin lock around a plain increment; `report` loads the
/// totals atomically.
const RACER: &str = r#"
(module
  (import "host" "memory" (memory 1 1 shared))
  ;; 0: i32 add   8: i64 add   16: i8 add (wraps)   18: i16 sub (wraps)
  ;; 20: i32 xor  24: spin lock  28: plain counter under the lock
  ;; 32: i32 or (bit per thread)  40: i64 cmpxchg counter  48: done
  (func $lock
    (loop $spin
      (br_if $spin (i32.atomic.rmw.cmpxchg (i32.const 24) (i32.const 0) (i32.const 1)))))
  (func $unlock (i32.atomic.store (i32.const 24) (i32.const 0)))
  (func (export "work") (param $index i32) (param $n i32)
    (local $i i32) (local $old i64)
    (loop $again
      (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
      (drop (i64.atomic.rmw.add (i32.const 8) (i64.const 0x100000001)))
      (drop (i32.atomic.rmw8.add_u (i32.const 16) (i32.const 3)))
      (drop (i64.atomic.rmw16.sub_u (i32.const 18) (i64.const 1)))
      (drop (i32.atomic.rmw.xor (i32.const 20) (i32.shl (i32.const 1) (local.get $index))))
      ;; an i64 counter advanced with a compare-exchange loop
      (loop $cas
        (local.set $old (i64.atomic.load (i32.const 40)))
        (br_if $cas (i64.ne (local.get $old)
          (i64.atomic.rmw.cmpxchg (i32.const 40) (local.get $old)
            (i64.add (local.get $old) (i64.const 1))))))
      (call $lock)
      (i32.store (i32.const 28) (i32.add (i32.load (i32.const 28)) (i32.const 1)))
      (call $unlock)
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (local.get $n))))
    (drop (i32.atomic.rmw.or (i32.const 32) (i32.shl (i32.const 1) (local.get $index))))
    (drop (i32.atomic.rmw.add (i32.const 48) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 48) (i32.const -1))))
  (func (export "wait_done") (param $threads i32) (result i32)
    (local $done i32)
    (loop $wait
      (local.set $done (i32.atomic.load (i32.const 48)))
      (if (i32.lt_u (local.get $done) (local.get $threads))
        (then
          ;; five seconds at most per wait: a missed wake-up fails, not hangs
          (if (i32.eq (memory.atomic.wait32 (i32.const 48) (local.get $done) (i64.const 5000000000))
                      (i32.const 2))
            (then (return (i32.const -1))))
          (br $wait))))
    (local.get $done))
  (func (export "i32") (param i32) (result i32) (i32.atomic.load (local.get 0)))
  (func (export "i64") (param i32) (result i64) (i64.atomic.load (local.get 0)))
  (func (export "u8") (param i32) (result i32) (i32.atomic.load8_u (local.get 0)))
  (func (export "u16") (param i32) (result i64) (i64.atomic.load16_u (local.get 0))))
"#;

fn features() -> Features {
    Features::finished()
}

/// One page, shared: the racers' memory.
const ONE_SHARED_PAGE: MemoryType = MemoryType {
    minimum: 1,
    maximum: Some(1),
    memory64: false,
    shared: true,
    page_size_log2: 16,
};

/// A store of its own importing `memory` as `host::memory`, with
/// `compiled` instantiated in it (as wasi-threads makes a thread's store).
fn instantiate(
    engine: &Arc<dyn Engine>,
    compiled: &Arc<dyn CompiledModule>,
    memory: &SharedMemory,
) -> (Box<dyn Store>, InstanceId) {
    let mut store = engine.new_store(Box::new(()));
    store
        .define("host", "memory", HostItem::SharedMemory(memory.clone()))
        .unwrap();
    let instance = store.instantiate(compiled.as_ref()).unwrap();
    (store, instance)
}

fn run_round(engine: &Arc<dyn Engine>, compiled: &Arc<dyn CompiledModule>) {
    let memory: SharedMemory = engine.new_shared_memory(ONE_SHARED_PAGE).unwrap();
    let workers: Vec<_> = (0..THREADS)
        .map(|index| {
            let (engine, compiled, memory) = (engine.clone(), compiled.clone(), memory.clone());
            std::thread::spawn(move || {
                let (mut store, instance) = instantiate(&engine, &compiled, &memory);
                store
                    .call(instance, "work", &[Val::I32(index), Val::I32(ITERATIONS)])
                    .unwrap();
            })
        })
        .collect();
    let (mut main, instance) = instantiate(engine, compiled, &memory);
    let done = main
        .call(instance, "wait_done", &[Val::I32(THREADS)])
        .unwrap();
    assert_eq!(done, [Val::I32(THREADS)], "a worker's notify was missed");
    for worker in workers {
        worker.join().unwrap();
    }
    let mut load = |export: &str, at: i32| main.call(instance, export, &[Val::I32(at)]).unwrap()[0];
    let total = (THREADS * ITERATIONS) as i64;
    assert_eq!(load("i32", 0), Val::I32(total as i32));
    assert_eq!(load("i64", 8), Val::I64(total * 0x1_0000_0001));
    assert_eq!(load("u8", 16), Val::I32((total * 3 % 256) as i32));
    assert_eq!(load("u16", 18), Val::I64((65536 - total % 65536) % 65536));
    // Each thread flips its own bit ITERATIONS (even) times.
    assert_eq!(load("i32", 20), Val::I32(0));
    assert_eq!(
        load("i32", 28),
        Val::I32(total as i32),
        "the spin lock let an update through"
    );
    assert_eq!(load("i32", 32), Val::I32((1 << THREADS) - 1));
    assert_eq!(load("i64", 40), Val::I64(total));
    // The neighbours of the narrow counters were never touched.
    assert_eq!(load("u8", 17), Val::I32(0));
    assert_eq!(load("u16", 22), Val::I64(0));
}

#[test]
fn racing_threads_keep_every_atomic_total_exact() {
    let module =
        Arc::new(ValidatedModule::from_bytes_or_text(RACER.as_bytes(), features()).unwrap());
    for info in ENGINES.iter().filter(|e| e.features.threads) {
        let engine: Arc<dyn Engine> = Arc::from(info.create(EngineConfig {
            features: features(),
            ..EngineConfig::default()
        }));
        let compiled = engine.compile(module.clone()).unwrap();
        for _ in 0..ROUNDS {
            run_round(&engine, &compiled);
        }
    }
}

#[test]
fn engines_without_threads_refuse_shared_memories() {
    for info in ENGINES.iter().filter(|e| !e.features.threads) {
        let engine = info.create(EngineConfig::default());
        let err = engine.new_shared_memory(ONE_SHARED_PAGE).unwrap_err();
        assert!(err.to_string().contains("threads proposal"), "{err}");
    }
}

#[test]
fn an_exported_shared_memory_is_the_same_bytes_in_a_store_on_another_thread() {
    let owner_text = r#"(module (memory (export "shared") 1 2 shared)
        (func (export "get") (param i32) (result i32) (i32.atomic.load (local.get 0)))
        (func (export "grow") (result i32) (memory.grow (i32.const 1))))"#;
    let user_text = r#"(module (import "owner" "shared" (memory 1 2 shared))
        (func (export "put") (param i32 i32) (i32.atomic.store (local.get 0) (local.get 1)))
        (func (export "size") (result i32) (memory.size)))"#;
    let load = |text: &str| {
        Arc::new(ValidatedModule::from_bytes_or_text(text.as_bytes(), features()).unwrap())
    };
    let (owner_module, user_module) = (load(owner_text), load(user_text));
    for info in ENGINES.iter().filter(|e| e.features.threads) {
        let engine: Arc<dyn Engine> = Arc::from(info.create(EngineConfig {
            features: features(),
            ..EngineConfig::default()
        }));
        let mut owner = engine.new_store(Box::new(()));
        let owner_instance = owner
            .instantiate(&*engine.compile(owner_module.clone()).unwrap())
            .unwrap();
        let memory = owner.shared_memory(owner_instance, "shared").unwrap();
        let user = engine.compile(user_module.clone()).unwrap();
        let (engine_for_thread, user_for_thread) = (engine.clone(), user.clone());
        let size_seen = std::thread::spawn(move || {
            let mut store = engine_for_thread.new_store(Box::new(()));
            store
                .define("owner", "shared", HostItem::SharedMemory(memory))
                .unwrap();
            let instance = store.instantiate(user_for_thread.as_ref()).unwrap();
            store
                .call(instance, "put", &[Val::I32(64), Val::I32(4242)])
                .unwrap();
            store.call(instance, "size", &[]).unwrap()
        })
        .join()
        .unwrap();
        assert_eq!(size_seen, [Val::I32(1)], "{}", info.name());
        assert_eq!(
            owner.call(owner_instance, "get", &[Val::I32(64)]).unwrap(),
            [Val::I32(4242)]
        );
        // Growth in one store is seen by the others (the base never moves).
        assert_eq!(
            owner.call(owner_instance, "grow", &[]).unwrap(),
            [Val::I32(1)]
        );
        let err = owner.shared_memory(owner_instance, "get").unwrap_err();
        assert!(err.to_string().contains("shared memory"), "{err}");
    }
}
