//! Exception handling as a user of any engine sees it: on the engines
//! that run the proposal (the compiled tiers), throws land in the right
//! handler across frames and instances, and what escapes ends the call
//! with an error naming the tag; the others refuse such modules by name.

use std::sync::Arc;

use wasmtier_core::{
    CallError, Engine, EngineConfig, Features, FuncType, HostFunc, HostItem, InstanceId, LinkError,
    Store, Trap, TrapCode, TrapKind, Val, ValType, ValidatedModule,
};
use wasmtier_engines::{ENGINES, EngineInfo};

fn engines_with_exceptions() -> impl Iterator<Item = &'static EngineInfo> {
    ENGINES.iter().filter(|e| e.features.exceptions)
}

struct Session {
    engine: Box<dyn Engine>,
    store: Box<dyn Store>,
}

impl Session {
    fn new(info: &EngineInfo) -> Self {
        let engine = info.create(EngineConfig {
            features: Features::finished(),
            ..EngineConfig::default()
        });
        let store = engine.new_store(Box::new(()));
        Self { engine, store }
    }

    fn instantiate(&mut self, text: &str) -> InstanceId {
        let module = ValidatedModule::from_bytes_or_text(text.as_bytes(), Features::finished())
            .unwrap_or_else(|e| panic!("{e}"));
        let compiled = self.engine.compile(Arc::new(module)).unwrap();
        self.store.instantiate(&*compiled).unwrap()
    }

    fn call(&mut self, instance: InstanceId, name: &str, args: &[Val]) -> Result<Vec<Val>, Trap> {
        self.store.call(instance, name, args).map_err(|e| match e {
            CallError::Trap(trap) => trap,
            other => panic!("{name}: {other}"),
        })
    }
}

fn each_engine(test: impl Fn(&mut Session, &str)) {
    let mut ran = 0;
    for info in engines_with_exceptions() {
        test(&mut Session::new(info), info.name());
        ran += 1;
    }
    assert!(ran > 0 || !cfg!(wasmtier_jit), "no engine ran the test");
}

const THROUGH_FRAMES: &str = r#"(module
  (tag $e (param i32))
  (func $f3 (param i32) (throw $e (i32.add (local.get 0) (i32.const 1))))
  (func $f2 (param i32) (call $f3 (i32.mul (local.get 0) (i32.const 2))) unreachable)
  (func $f1 (param i32) (call $f2 (local.get 0)) unreachable)
  (func (export "catch_payload") (param i32) (result i32)
    (block $caught (result i32)
      (try_table (catch $e $caught) (call $f1 (local.get 0)))
      (i32.const -1)))
  (func (export "catch_all") (param i32) (result i32)
    (block $caught
      (try_table (catch_all $caught) (call $f1 (local.get 0)))
      (return (i32.const -1)))
    (i32.const 7)))"#;

#[test]
fn a_throw_through_several_frames_lands_in_catch_and_catch_all() {
    each_engine(|s, engine| {
        let m = s.instantiate(THROUGH_FRAMES);
        assert_eq!(
            s.call(m, "catch_payload", &[Val::I32(20)]).unwrap(),
            [Val::I32(41)],
            "{engine}"
        );
        assert_eq!(
            s.call(m, "catch_all", &[Val::I32(1)]).unwrap(),
            [Val::I32(7)]
        );
    });
}

#[test]
fn throw_ref_rethrows_the_same_exception_to_an_outer_handler() {
    each_engine(|s, engine| {
        let m = s.instantiate(
            r#"(module
              (tag $e (param i64 f64))
              (func $throw (throw $e (i64.const 5) (f64.const 2.5)))
              (func $rethrow
                (block $h (result exnref)
                  (try_table (catch_all_ref $h) (call $throw))
                  unreachable)
                throw_ref)
              (func (export "outer") (result i64 f64)
                (block $caught (result i64 f64)
                  (try_table (catch $e $caught) (call $rethrow))
                  unreachable))
              (func (export "null") (throw_ref (ref.null exn))))"#,
        );
        assert_eq!(
            s.call(m, "outer", &[]).unwrap(),
            [Val::I64(5), Val::from_f64(2.5)],
            "{engine}"
        );
        let trap = s.call(m, "null", &[]).unwrap_err();
        assert_eq!(trap.trap_code(), Some(TrapCode::NullReference), "{engine}");
    });
}

#[test]
fn an_imported_tag_is_the_exporters_tag_and_no_other() {
    each_engine(|s, engine| {
        let a = s.instantiate(
            r#"(module
              (tag $e (export "e") (param i32))
              (tag $other (export "other") (param i32))
              (func (export "throw_e") (param i32) (throw $e (local.get 0)))
              (func (export "throw_other") (param i32) (throw $other (local.get 0))))"#,
        );
        s.store.register("a", a);
        let b = s.instantiate(
            r#"(module
              (import "a" "e" (tag $e (param i32)))
              (import "a" "throw_e" (func $throw_e (param i32)))
              (import "a" "throw_other" (func $throw_other (param i32)))
              (func (export "catch_e") (param i32) (result i32)
                (block $e (result i32)
                  (block $all
                    (try_table (catch $e $e) (catch_all $all)
                      (if (local.get 0)
                        (then (call $throw_e (i32.const 11)))
                        (else (call $throw_other (i32.const 12))))))
                  (return (i32.const 0)))))"#,
        );
        assert_eq!(
            s.call(b, "catch_e", &[Val::I32(1)]).unwrap(),
            [Val::I32(11)],
            "{engine}"
        );
        // Same type, another tag: only the catch-all takes it.
        assert_eq!(
            s.call(b, "catch_e", &[Val::I32(0)]).unwrap(),
            [Val::I32(0)],
            "{engine}"
        );
    });
}

#[test]
fn an_uncaught_exception_ends_the_call_naming_its_tag() {
    each_engine(|s, engine| {
        let m = s.instantiate(THROUGH_FRAMES);
        let m2 = s.instantiate(
            r#"(module (tag $boom (export "boom"))
                 (func $inner (throw $boom))
                 (func (export "run") (call $inner)))"#,
        );
        let trap = s.call(m2, "run", &[]).unwrap_err();
        assert_eq!(
            trap.kind,
            TrapKind::UncaughtException {
                tag: "`boom`".into()
            },
            "{engine}"
        );
        assert_eq!(
            trap.to_string().lines().next(),
            Some("uncaught wasm exception (tag `boom`)")
        );
        assert!(trap.backtrace.len() >= 2, "{engine}: {trap}");
        // An unexported tag goes by its name-section name.
        let m3 = s.instantiate(r#"(module (tag $quiet) (func (export "run") (throw $quiet)))"#);
        let trap = s.call(m3, "run", &[]).unwrap_err();
        assert_eq!(
            trap.kind,
            TrapKind::UncaughtException {
                tag: "`quiet`".into()
            },
            "{engine}"
        );
        // The store is still usable afterwards.
        assert_eq!(
            s.call(m, "catch_all", &[Val::I32(1)]).unwrap(),
            [Val::I32(7)]
        );
    });
}

#[test]
fn host_calls_inside_a_try_table_return_normally_and_their_traps_are_not_exceptions() {
    each_engine(|s, engine| {
        let ty = FuncType::new([ValType::I32], [ValType::I32]);
        let host = HostFunc::new(ty, |_, args, results| match args[0] {
            Val::I32(0) => Err(Trap::host("the host gave up")),
            Val::I32(n) => {
                results[0] = Val::I32(n * 3);
                Ok(())
            }
            _ => unreachable!("typed by the signature"),
        });
        s.store
            .define("host", "triple", HostItem::Func(host))
            .unwrap();
        let m = s.instantiate(
            r#"(module
              (import "host" "triple" (func $triple (param i32) (result i32)))
              (tag $e (param i32))
              (func (export "run") (param i32) (result i32)
                (block $caught (result i32)
                  (block $all
                    (try_table (catch $e $caught) (catch_all $all)
                      (throw $e (call $triple (local.get 0)))))
                  (i32.const -1))))"#,
        );
        assert_eq!(
            s.call(m, "run", &[Val::I32(4)]).unwrap(),
            [Val::I32(12)],
            "{engine}"
        );
        let trap = s.call(m, "run", &[Val::I32(0)]).unwrap_err();
        assert_eq!(
            trap.kind,
            TrapKind::Host("the host gave up".into()),
            "{engine}"
        );
    });
}

#[test]
fn deep_recursion_with_handlers_unwinds_and_stack_exhaustion_stays_a_trap() {
    each_engine(|s, engine| {
        let m = s.instantiate(
            r#"(module
              (tag $e (param i32))
              (tag $other)
              (func $down (param i32) (result i32)
                (block $o
                  (try_table (catch $other $o)
                    (if (i32.eqz (local.get 0)) (then (throw $e (i32.const 99))))
                    (return (i32.add (call $down (i32.sub (local.get 0) (i32.const 1)))
                                     (i32.const 1)))))
                (i32.const -1))
              (func (export "down") (param i32) (result i32)
                (block $caught (result i32)
                  (try_table (catch $e $caught) (return (call $down (local.get 0))))
                  unreachable))
              (func $forever (export "forever")
                (block $all (try_table (catch_all $all) (call $forever)))))"#,
        );
        // Past 10,000 frames whose handlers take another tag.
        assert_eq!(
            s.call(m, "down", &[Val::I32(10_000)]).unwrap(),
            [Val::I32(99)],
            "{engine}"
        );
        let trap = s.call(m, "forever", &[]).unwrap_err();
        assert_eq!(trap.trap_code(), Some(TrapCode::StackOverflow), "{engine}");
    });
}

#[test]
fn exceptions_caught_without_a_reference_are_freed() {
    each_engine(|s, engine| {
        let m = s.instantiate(
            r#"(module
              (tag $e (param i32))
              (func $throw (param i32) (throw $e (local.get 0)))
              (func (export "loop") (param i32) (result i32) (local $sum i32)
                (loop $again
                  (block $caught (result i32)
                    (try_table (catch $e $caught) (call $throw (local.get 0)))
                    unreachable)
                  (local.set $sum (i32.add (local.get $sum)))
                  (br_if $again (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
                (local.get $sum)))"#,
        );
        // More throws than the store keeps exceptions alive at once.
        let n = (1 << 20) + 16;
        let sum = (1..=n as i64).sum::<i64>() as i32;
        assert_eq!(
            s.call(m, "loop", &[Val::I32(n)]).unwrap(),
            [Val::I32(sum)],
            "{engine}"
        );
    });
}

#[test]
fn engines_without_the_proposal_refuse_it_by_name() {
    let text = r#"(module (tag $e) (func (export "f") (throw $e)))"#;
    for info in ENGINES.iter().filter(|e| !e.features.exceptions) {
        let engine = info.create(EngineConfig {
            features: Features::finished(),
            ..EngineConfig::default()
        });
        let features = engine.config().features;
        assert!(
            !features.exceptions,
            "{}: narrowed to what it runs",
            info.name()
        );
        let module =
            ValidatedModule::from_bytes_or_text(text.as_bytes(), Features::finished()).unwrap();
        let Err(LinkError::Engine(message)) = engine.compile(Arc::new(module)) else {
            panic!("{}: compiled a module it cannot run", info.name());
        };
        assert!(message.contains("exceptions"), "{message}");
        let error = ValidatedModule::from_bytes_or_text(text.as_bytes(), features).unwrap_err();
        assert!(
            error.to_string().contains("uses the exceptions proposal"),
            "{error}"
        );
    }
}

#[test]
fn fuel_runs_out_in_a_loop_whose_back_edge_is_a_catch() {
    for info in engines_with_exceptions() {
        let engine = info.create(EngineConfig {
            features: Features::finished(),
            fuel: Some(100_000),
            ..EngineConfig::default()
        });
        let mut s = Session {
            store: engine.new_store(Box::new(())),
            engine,
        };
        let m = s.instantiate(
            r#"(module (tag $e)
                 (func (export "spin") (loop $l (try_table (catch_all $l) (throw $e)))))"#,
        );
        let trap = s.call(m, "spin", &[]).unwrap_err();
        assert_eq!(
            trap.trap_code(),
            Some(TrapCode::OutOfFuel),
            "{}",
            info.name()
        );
    }
}
