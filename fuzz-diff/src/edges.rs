//! The edges generated modules stay away from (their memories are small,
//! their loops end by themselves, they run without a deadline): huge
//! memories, memories at the 4 GiB boundary, bulk operations under a tiny
//! fuel budget, and endless loops under a deadline. Each case states what
//! every engine must do, and must do it quickly: a case that takes longer
//! than [`CASE_TIME_LIMIT`] (the interpreter's 4 GiB memories:
//! [`WHOLE_MEMORY_LIMIT`]) is a finding too.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtier_core::{
    CallError, EngineConfig, Features, LinkError, TrapCode, TrapKind, Val, ValidatedModule,
};

use crate::diff::{ENGINES, engine_config};

/// Far above what any case needs on any engine; well below "hangs".
pub const CASE_TIME_LIMIT: Duration = Duration::from_secs(20);

/// The interpreter's limit for a case that makes a 4 GiB memory. wasmi
/// 2.0 zero-fills a linear memory when it makes or grows one, so it
/// commits all of it: 13.6–19.4 s for 4 GiB on the 2-core VM CI runs on
/// (within a second of the limit above under load), against 1–8 ms on
/// the compiled tiers, which reserve address space and commit what is
/// touched (engine-interp/RATIONALE.md, "Memory").
pub const WHOLE_MEMORY_LIMIT: Duration = Duration::from_secs(60);

/// What a case's `run` export must end in on every engine.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// Instantiation is refused with an error (never an abort).
    Refused,
    /// `run` returns these results.
    Returns(&'static [Val]),
    /// `run` traps with this code.
    Traps(TrapCode),
}

struct Case {
    name: &'static str,
    wat: &'static str,
    config: fn() -> EngineConfig,
    expect: Expect,
    /// Whether it makes a 4 GiB memory ([`WHOLE_MEMORY_LIMIT`]).
    four_gib_memory: bool,
}

fn unlimited() -> EngineConfig {
    EngineConfig {
        max_memory: None,
        ..engine_config(None)
    }
}

fn tiny_fuel() -> EngineConfig {
    engine_config(Some(1_000))
}

fn short_deadline() -> EngineConfig {
    EngineConfig {
        timeout: Some(Duration::from_millis(100)),
        ..engine_config(None)
    }
}

const CASES: &[Case] = &[
    Case {
        name: "memory64 minimum of 2^31 pages (128 TiB)",
        wat: r#"(module (memory i64 2147483648) (func (export "run")))"#,
        config: unlimited,
        expect: Expect::Refused,
        four_gib_memory: false,
    },
    Case {
        name: "memory64 minimum past the address space",
        wat: r#"(module (memory i64 281474976710656) (func (export "run")))"#,
        config: unlimited,
        expect: Expect::Refused,
        four_gib_memory: false,
    },
    Case {
        name: "a 4 GiB memory, its last byte and one past it",
        wat: r#"(module (memory 65536)
            (func (export "run") (result i32)
              (i32.store8 (i32.const -1) (i32.const 7))
              (i32.load8_u (i32.const -1))))"#,
        config: unlimited,
        expect: Expect::Returns(&[Val::I32(7)]),
        four_gib_memory: true,
    },
    Case {
        name: "a 4 GiB memory read past its end",
        wat: r#"(module (memory 65536)
            (func (export "run") (result i32)
              (i32.load (i32.const -2))))"#,
        config: unlimited,
        expect: Expect::Traps(TrapCode::MemoryOutOfBounds),
        four_gib_memory: true,
    },
    Case {
        name: "growing to 4 GiB and no further",
        wat: r#"(module (memory 1)
            (func (export "run") (result i32 i32)
              (memory.grow (i32.const 65535))
              (memory.grow (i32.const 1))))"#,
        config: unlimited,
        expect: Expect::Returns(&[Val::I32(1), Val::I32(-1)]),
        four_gib_memory: true,
    },
    Case {
        name: "memory.fill loop under a fuel budget of 1,000",
        wat: r#"(module (memory 16)
            (func (export "run")
              (loop $again
                (memory.fill (i32.const 0) (i32.const 1) (i32.const 1048576))
                (br $again))))"#,
        config: tiny_fuel,
        expect: Expect::Traps(TrapCode::OutOfFuel),
        four_gib_memory: false,
    },
    Case {
        name: "memory.copy loop under a fuel budget of 1,000",
        wat: r#"(module (memory 16)
            (func (export "run")
              (loop $again
                (memory.copy (i32.const 0) (i32.const 65536) (i32.const 983040))
                (br $again))))"#,
        config: tiny_fuel,
        expect: Expect::Traps(TrapCode::OutOfFuel),
        four_gib_memory: false,
    },
    Case {
        name: "table.fill loop under a fuel budget of 1,000",
        wat: r#"(module (table 10000 funcref)
            (func (export "run")
              (loop $again
                (table.fill (i32.const 0) (ref.null func) (i32.const 10000))
                (br $again))))"#,
        config: tiny_fuel,
        expect: Expect::Traps(TrapCode::OutOfFuel),
        four_gib_memory: false,
    },
    Case {
        name: "an endless loop under a 100 ms deadline",
        wat: r#"(module (func (export "run") (loop $l (br $l))))"#,
        config: short_deadline,
        expect: Expect::Traps(TrapCode::Interrupted),
        four_gib_memory: false,
    },
    Case {
        name: "endless memory.fill under a 100 ms deadline",
        wat: r#"(module (memory 16)
            (func (export "run")
              (loop $again
                (memory.fill (i32.const 0) (i32.const 1) (i32.const 1048576))
                (br $again))))"#,
        config: short_deadline,
        expect: Expect::Traps(TrapCode::Interrupted),
        four_gib_memory: false,
    },
];

/// What one engine did with one case.
#[derive(Debug, PartialEq)]
enum Observed {
    Refused,
    Returns(Vec<Val>),
    Traps(TrapCode),
}

impl Expect {
    fn is(self, seen: &Observed) -> bool {
        match (self, seen) {
            (Self::Refused, Observed::Refused) => true,
            (Self::Returns(want), Observed::Returns(got)) => want == &got[..],
            (Self::Traps(want), Observed::Traps(got)) => want == *got,
            _ => false,
        }
    }
}

fn observe(
    engine: &dyn wasmtier_core::Engine,
    module: &Arc<ValidatedModule>,
) -> Result<Observed, String> {
    let compiled = engine
        .compile(module.clone())
        .map_err(|e| format!("compile: {e}"))?;
    let mut store = engine.new_store(Box::new(()));
    let instance = match store.instantiate(compiled.as_ref()) {
        Ok(instance) => instance,
        // Refused with an error, whatever its wording: not an abort.
        Err(LinkError::ResourceLimit(_) | LinkError::Engine(_)) => return Ok(Observed::Refused),
        Err(err) => return Err(format!("instantiate: {err}")),
    };
    match store.call(instance, "run", &[]) {
        Ok(values) => Ok(Observed::Returns(values)),
        Err(CallError::Trap(trap)) => match trap.kind {
            TrapKind::Code(code) => Ok(Observed::Traps(code)),
            other => Err(format!("trap {other:?}")),
        },
        Err(err) => Err(err.to_string()),
    }
}

fn time_limit(case: &Case, engine: wasmtier_core::EngineKind) -> Duration {
    if case.four_gib_memory && engine == wasmtier_core::EngineKind::Interp {
        WHOLE_MEMORY_LIMIT
    } else {
        CASE_TIME_LIMIT
    }
}

/// Runs every case on every engine; the findings, one line each.
pub fn check_all() -> Vec<String> {
    let mut findings = Vec::new();
    for case in CASES {
        let bytes = wat::parse_str(case.wat).expect("a valid case");
        let module = Arc::new(ValidatedModule::new(&bytes, Features::default()).expect("valid"));
        for spec in ENGINES {
            let started = Instant::now();
            let engine = spec.create((case.config)());
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                observe(engine.as_ref(), &module)
            }));
            let took = started.elapsed();
            let problem = match outcome {
                Err(_) => Some("panicked".to_string()),
                Ok(Err(err)) => Some(err),
                Ok(Ok(seen)) if !case.expect.is(&seen) => {
                    Some(format!("expected {:?}, saw {seen:?}", case.expect))
                }
                Ok(Ok(_)) if took > time_limit(case, spec.kind) => Some(format!("took {took:?}")),
                Ok(Ok(_)) => None,
            };
            if let Some(problem) = problem {
                findings.push(format!("{} on {}: {problem}", case.name, spec.name()));
            }
        }
    }
    findings
}
