//! The embedding API on every engine: typed calls both ways, memory
//! access, and the errors a caller sees for mistakes and traps.

use wasmtier::{Caller, Engine, Error, Module, Store, Trap, TrapCode, Val};

const GUEST: &str = r#"(module
  (import "host" "pair" (func $pair (param f64 i64) (result i64 f64)))
  (import "host" "fail" (func $fail))
  (memory (export "memory") 1 2)
  (global (export "answer") i32 (i32.const 42))
  (func (export "swap") (param f64 i64) (result i64 f64)
    (call $pair (local.get 0) (local.get 1)))
  (func (export "half") (param f32) (result f32) (f32.div (local.get 0) (f32.const 2)))
  (func (export "fail") (call $fail))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "sum") (param i32 i32) (result i32)
    (local $acc i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get 1)))
      (local.set $acc (i32.add (local.get $acc) (i32.load8_u (local.get 0))))
      (local.set 0 (i32.add (local.get 0) (i32.const 1)))
      (local.set 1 (i32.sub (local.get 1) (i32.const 1)))
      (br $next)))
    (local.get $acc)))"#;

fn instantiate(engine: &Engine) -> (Store<Vec<&'static str>>, wasmtier::Instance) {
    let module = Module::new(engine, GUEST).unwrap();
    let mut store = Store::new(engine, Vec::new());
    store
        .func_wrap(
            "host",
            "pair",
            |mut caller: Caller<'_, Vec<&'static str>>, x: f64, n: i64| {
                caller.data_mut().push("pair");
                (n * 2, x + 0.5)
            },
        )
        .unwrap();
    store
        .func_wrap("host", "fail", |_: Caller<'_, Vec<&'static str>>| {
            Err::<(), _>(Trap::host("refused by the host"))
        })
        .unwrap();
    let instance = store.instantiate(&module).unwrap();
    (store, instance)
}

fn engines() -> impl Iterator<Item = Engine> {
    Engine::available()
        .iter()
        .map(|&kind| Engine::new(kind).unwrap())
}

#[test]
fn typed_calls_pass_every_value_type_both_ways() {
    for engine in engines() {
        let (mut store, instance) = instantiate(&engine);
        let swap = instance
            .typed_func::<(f64, i64), (i64, f64), _>(&store, "swap")
            .unwrap();
        assert_eq!(swap.call(&mut store, (1.25, -21)).unwrap(), (-42, 1.75));
        let half = instance.typed_func::<f32, f32, _>(&store, "half").unwrap();
        assert_eq!(half.call(&mut store, 3.0).unwrap(), 1.5);
        assert_eq!(*store.data(), ["pair"]);
        assert_eq!(instance.global(&mut store, "answer").unwrap(), Val::I32(42));
    }
}

#[test]
fn memory_written_by_the_host_is_what_the_guest_reads() {
    for engine in engines() {
        let (mut store, instance) = instantiate(&engine);
        let memory = instance.memory(&mut store, "memory").unwrap();
        assert_eq!(memory.size(&mut store).unwrap(), 65536);
        memory.write(&mut store, 100, &[1, 2, 3, 250]).unwrap();
        let sum = instance
            .typed_func::<(i32, i32), i32, _>(&store, "sum")
            .unwrap();
        assert_eq!(sum.call(&mut store, (100, 4)).unwrap(), 256);
        assert_eq!(memory.read_vec(&mut store, 101, 2).unwrap(), [2, 3]);

        let err = memory.write(&mut store, 65534, &[0; 4]).unwrap_err();
        assert!(
            matches!(err, Error::MemoryOutOfBounds { size: 65536, .. }),
            "{err}"
        );
        let err = memory.read_vec(&mut store, u64::MAX, 1).unwrap_err();
        assert!(matches!(err, Error::MemoryOutOfBounds { .. }), "{err}");
    }
}

#[test]
fn traps_from_the_guest_and_the_host_come_back_as_errors() {
    for engine in engines() {
        let (mut store, instance) = instantiate(&engine);
        let div = instance
            .typed_func::<(i32, i32), i32, _>(&store, "div")
            .unwrap();
        let err = div.call(&mut store, (1, 0)).unwrap_err();
        assert_eq!(
            err.trap().and_then(Trap::trap_code),
            Some(TrapCode::IntegerDivideByZero),
            "{err}"
        );
        // The store is still usable after a trap.
        assert_eq!(div.call(&mut store, (9, 3)).unwrap(), 3);

        let fail = instance.typed_func::<(), (), _>(&store, "fail").unwrap();
        let err = fail.call(&mut store, ()).unwrap_err();
        assert!(err.to_string().contains("refused by the host"), "{err}");
    }
}

#[test]
fn mistakes_are_errors_that_say_what_is_wrong() {
    let engine = Engine::default();
    let (mut store, instance) = instantiate(&engine);
    let err = instance
        .typed_func::<i32, i32, _>(&store, "div")
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "`div` has type (i32, i32) -> (i32), not (i32) -> (i32)"
    );
    let err = instance
        .typed_func::<(), (), _>(&store, "nope")
        .err()
        .unwrap();
    assert_eq!(err.to_string(), "no export named `nope`");
    let err = instance.memory(&mut store, "div").unwrap_err();
    assert!(err.to_string().contains("not a memory"), "{err}");

    // An instance only works with its own store.
    let (mut other, _) = instantiate(&engine);
    assert!(instance.memory(&mut other, "memory").is_err());

    // A module only instantiates in a store of its engine.
    let module = Module::new(&Engine::default(), GUEST).unwrap();
    assert!(store.instantiate(&module).is_err());

    let err = Module::new(&engine, b"\0asm\x01\0\0\0\x05").err().unwrap();
    assert!(matches!(err, Error::Load(_)), "{err}");

    // A missing import names itself.
    let err = Store::new(&engine, ()).instantiate(&Module::new(&engine, GUEST).unwrap());
    assert!(err.err().unwrap().to_string().contains("host::pair"),);
}
