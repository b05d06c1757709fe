//! Run one module on every engine and compare what each observed.

use std::sync::Arc;

use wasmtier_core::{
    AnyRef, CallError, Compilation, Engine, EngineConfig, ExternKind, Features, FuncRefHandle,
    LinkError, Store, Trap, TrapCode, TrapKind, Val, ValidatedModule,
};

/// The engines under test: every engine of the registry this build has
/// (`wasmtier-engines`). The aot engine sends every module through an
/// artifact file: written, checked, mapped.
pub use wasmtier_engines::ENGINES;

/// The same limits for every engine. Memories and tables are also bounded
/// by the generator; these caps make growth beyond them fail identically.
pub fn engine_config(fuel: Option<u64>) -> EngineConfig {
    EngineConfig {
        features: Features::finished(),
        // Generated modules may allocate without bound: a small heap
        // keeps a run's memory small, and running out traps alike.
        max_gc_heap: Some(16 << 20),
        fuel,
        max_memory: Some(16 << 20),
        max_table_elements: Some(10_000),
        ..EngineConfig::default()
    }
}

/// Something one engine observed.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Instantiate(Result<(), String>),
    Call {
        export: String,
        outcome: Result<Vec<Val>, String>,
        /// Exported globals and (length, hash) of exported memories after
        /// the call, by export name.
        globals: Vec<(String, Val)>,
        memories: Vec<(String, usize, u64)>,
    },
}

/// What one engine observed, in order. `cut` is set when the last step
/// ended on a limit engines count differently (fuel units, stack depth,
/// host memory); that step and anything after it are not compared.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub steps: Vec<Step>,
    pub cut: bool,
}

/// How two engines disagreed.
#[derive(Debug, Clone)]
pub struct Divergence {
    pub engines: (&'static str, &'static str),
    pub step: usize,
    pub left: Option<Step>,
    pub right: Option<Step>,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} and {} diverge at step {}:\n  {}: {:?}\n  {}: {:?}",
            self.engines.0,
            self.engines.1,
            self.step,
            self.engines.0,
            self.left,
            self.engines.1,
            self.right
        )
    }
}

/// What came of one module.
#[derive(Debug)]
pub enum Verdict {
    /// Our loader refused it (the generator made something we do not accept).
    Rejected(String),
    /// Every engine agreed on every compared step.
    Agree {
        steps: usize,
    },
    Diverged(Box<Divergence>),
    /// An engine panicked: a host crash in the making, always a bug.
    Panicked {
        engine: &'static str,
        message: String,
    },
    /// wasmi panicked inside the interpreter, which contained the panic and
    /// reported an internal error (see `engine-interp/src/contain.rs`). The
    /// host is safe, the other tiers ran the module; the bug is upstream's,
    /// so it is counted and kept, not treated as a wasmtier divergence.
    UpstreamPanicContained {
        engine: &'static str,
        message: String,
    },
}

impl Verdict {
    /// A finding: a divergence or a panic.
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Diverged(_) | Self::Panicked { .. })
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Rejected(why) => write!(f, "rejected by the loader: {why}"),
            Self::Agree { steps } => write!(f, "agreed on {steps} steps"),
            Self::Diverged(d) => write!(f, "{d}"),
            Self::Panicked { engine, message } => write!(f, "{engine} panicked: {message}"),
            Self::UpstreamPanicContained { engine, message } => {
                write!(f, "{engine}: contained upstream panic: {message}")
            }
        }
    }
}

/// Runs `bytes` on every engine that has the proposals it uses, with
/// `fuel`, and compares the traces. Each engine gets the module validated
/// with the default proposals it runs (as `wasmtier run` does); an engine
/// for which that fails cannot run the module and sits this one out.
pub fn check(bytes: &[u8], fuel: Option<u64>) -> Verdict {
    if let Err(err) = ValidatedModule::new(bytes, Features::finished()) {
        return Verdict::Rejected(err.to_string());
    }
    let mut traces: Vec<(&'static str, Trace)> = Vec::new();
    for spec in ENGINES {
        let features = Features::finished().intersect(spec.features);
        let Ok(module) = ValidatedModule::new(bytes, features) else {
            continue;
        };
        let module = Arc::new(module);
        // The JIT runs three times more: concurrently (the CLI's jit
        // default), lazily with tier-up after one call (so baseline and
        // optimized code meet, swapped mid-run), and lazily with baseline
        // code only.
        let mut configurations = vec![(spec.name(), Compilation::Eager)];
        if spec.kind == wasmtier_core::EngineKind::Jit {
            configurations.push(("jit-concurrent", Compilation::Concurrent));
            configurations.push((
                "jit-tiered",
                Compilation::Tiered {
                    tier_up_after: Some(1),
                    background: false,
                },
            ));
            configurations.push((
                "jit-baseline",
                Compilation::Tiered {
                    tier_up_after: None,
                    background: false,
                },
            ));
        }
        for (name, compilation) in configurations {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run(
                    spec.create(EngineConfig {
                        compilation,
                        ..engine_config(fuel)
                    }),
                    &module,
                )
            }));
            match outcome {
                Ok(trace) => traces.push((name, trace)),
                Err(panic) => {
                    let message = wasmtier_core::panic_message(&*panic)
                        .unwrap_or_else(|| "non-string panic".into());
                    return Verdict::Panicked {
                        engine: name,
                        message,
                    };
                }
            }
        }
    }
    // An engine that hit a contained upstream panic leaves the comparison;
    // the others must still agree among themselves.
    let mut upstream_panic = None;
    traces.retain(|(name, trace)| match contained_upstream_panic(trace) {
        Some(message) => {
            upstream_panic.get_or_insert((*name, message));
            false
        }
        None => true,
    });
    let agreement = compare_all(&traces);
    match (agreement, upstream_panic) {
        (Verdict::Agree { .. }, Some((engine, message))) => {
            Verdict::UpstreamPanicContained { engine, message }
        }
        (verdict, _) => verdict,
    }
}

/// The engines whose traces [`check`] compares for `bytes`.
pub fn engines_for(bytes: &[u8]) -> Vec<&'static str> {
    ENGINES
        .iter()
        .filter(|spec| {
            ValidatedModule::new(bytes, Features::finished().intersect(spec.features)).is_ok()
        })
        .map(|spec| spec.name())
        .collect()
}

/// The engines of [`engines_for`] whose compiler refuses `bytes`, with
/// the reason. A refusal is compared like any other outcome (every engine
/// refusing alike agrees), so a replay that means to run a kind of module
/// checks this too.
pub fn compile_refusals(bytes: &[u8]) -> Vec<(&'static str, String)> {
    ENGINES
        .iter()
        .filter_map(|spec| {
            let features = Features::finished().intersect(spec.features);
            let module = Arc::new(ValidatedModule::new(bytes, features).ok()?);
            let engine = spec.create(engine_config(None));
            let err = engine.compile(module).err()?;
            Some((spec.name(), link_error(&err)))
        })
        .collect()
}

fn compare_all(traces: &[(&'static str, Trace)]) -> Verdict {
    let Some((first_name, first)) = traces.first() else {
        return Verdict::Agree { steps: 0 };
    };
    let mut compared = first.steps.len();
    for (name, other) in &traces[1..] {
        match compare(first, other) {
            Ok(steps) => compared = compared.min(steps),
            Err(step) => {
                return Verdict::Diverged(Box::new(Divergence {
                    engines: (first_name, name),
                    step,
                    left: first.steps.get(step).cloned(),
                    right: other.steps.get(step).cloned(),
                }));
            }
        }
    }
    Verdict::Agree { steps: compared }
}

/// The message the interpreter gives when it contained a panic in wasmi.
const CONTAINED_WASMI_PANIC: &str = "internal interpreter error (wasmi panicked";

fn contained_upstream_panic(trace: &Trace) -> Option<String> {
    trace.steps.iter().find_map(|step| {
        let error = match step {
            Step::Instantiate(Err(error)) => error,
            Step::Call {
                outcome: Err(error),
                ..
            } => error,
            _ => return None,
        };
        error.contains(CONTAINED_WASMI_PANIC).then(|| error.clone())
    })
}

/// The number of steps compared, or the first step that differs. A cut
/// step (and anything after it) is not compared.
fn compare(a: &Trace, b: &Trace) -> Result<usize, usize> {
    let end = |t: &Trace| {
        if t.cut {
            t.steps.len().saturating_sub(1)
        } else {
            usize::MAX
        }
    };
    let limit = end(a).min(end(b));
    let len = if limit == usize::MAX {
        a.steps.len().max(b.steps.len())
    } else {
        limit
    };
    match (0..len).find(|&i| a.steps.get(i) != b.steps.get(i)) {
        Some(i) => Err(i),
        None => Ok(len),
    }
}

/// Instantiates and calls every exported function with default arguments,
/// recording each observation.
pub fn run(engine: Box<dyn Engine>, module: &Arc<ValidatedModule>) -> Trace {
    match engine.compile(module.clone()) {
        Ok(compiled) => run_compiled(engine.as_ref(), compiled.as_ref()),
        Err(err) => Trace {
            steps: vec![Step::Instantiate(Err(link_error(&err)))],
            cut: false,
        },
    }
}

/// [`run`] for a module `engine` already compiled (or loaded).
pub fn run_compiled(engine: &dyn Engine, compiled: &dyn wasmtier_core::CompiledModule) -> Trace {
    let module = compiled.module();
    let mut trace = Trace::default();
    let mut store = engine.new_store(Box::new(()));
    let instance = match store.instantiate(compiled) {
        Ok(instance) => instance,
        Err(err) => {
            trace.cut = matches!(&err, LinkError::Trap(t) if engine_dependent(t));
            trace.steps.push(Step::Instantiate(Err(link_error(&err))));
            return trace;
        }
    };
    trace.steps.push(Step::Instantiate(Ok(())));
    for export in module
        .exports()
        .iter()
        .filter(|e| e.kind == ExternKind::Func)
    {
        let ty = module.func_type(export.index);
        let args: Vec<Val> = ty.params.iter().map(|t| Val::default_for(*t)).collect();
        let outcome = store.call(instance, &export.name, &args);
        let cut = matches!(&outcome, Err(CallError::Trap(t)) if engine_dependent(t));
        let outcome = outcome
            .map(|values| values.iter().map(normalize).collect())
            .map_err(|err| call_error(&err));
        let (globals, memories) = snapshot(store.as_mut(), module, instance);
        trace.steps.push(Step::Call {
            export: export.name.clone(),
            outcome,
            globals,
            memories,
        });
        if cut {
            trace.cut = true;
            break;
        }
    }
    trace
}

type Snapshot = (Vec<(String, Val)>, Vec<(String, usize, u64)>);

fn snapshot(
    store: &mut dyn Store,
    module: &ValidatedModule,
    instance: wasmtier_core::InstanceId,
) -> Snapshot {
    let mut globals = Vec::new();
    let mut memories = Vec::new();
    for export in module.exports() {
        match export.kind {
            ExternKind::Global => {
                if let Ok(value) = store.global(instance, &export.name) {
                    globals.push((export.name.clone(), normalize(&value)));
                }
            }
            ExternKind::Memory => {
                let data = store
                    .memory_data(instance, &export.name)
                    .unwrap_or_default();
                memories.push((export.name.clone(), data.len(), hash(&data)));
            }
            _ => {}
        }
    }
    (globals, memories)
}

/// Traps whose moment depends on how an engine counts: fuel units, stack
/// frame sizes, host memory.
fn engine_dependent(trap: &Trap) -> bool {
    matches!(
        trap.trap_code(),
        Some(TrapCode::OutOfFuel | TrapCode::StackOverflow | TrapCode::OutOfSystemMemory)
    )
}

/// References are engine-specific handles: compare null-ness only. A
/// typed function reference (`(ref $t)`, `(ref null func)`, ...) comes out
/// as a `FuncRef` like a plain `funcref`.
fn normalize(value: &Val) -> Val {
    match value {
        Val::FuncRef(Some(_)) => Val::FuncRef(Some(FuncRefHandle(0))),
        // Exception identity is the store's address of the object.
        Val::ExnRef(Some(_)) => Val::ExnRef(Some(0)),
        // A struct's or array's identity is its place in the store's heap;
        // the kind, an i31's value and a host number are comparable.
        Val::AnyRef(Some(r)) => Val::AnyRef(Some(normalize_any(*r))),
        Val::ExternAny(r) => Val::ExternAny(normalize_any(*r)),
        other => *other,
    }
}

fn normalize_any(r: AnyRef) -> AnyRef {
    match r {
        AnyRef::Struct(_) => AnyRef::Struct(0),
        AnyRef::Array(_) => AnyRef::Array(0),
        other => other,
    }
}

fn trap_text(trap: &Trap) -> String {
    match &trap.kind {
        TrapKind::Code(code) => format!("trap: {code}"),
        TrapKind::Exit(status) => format!("exit {status}"),
        TrapKind::Host(message) => format!("host: {message}"),
        TrapKind::UncaughtException { tag } => format!("uncaught exception {tag}"),
    }
}

fn call_error(err: &CallError) -> String {
    match err {
        CallError::Trap(trap) => trap_text(trap),
        other => other.to_string(),
    }
}

fn link_error(err: &LinkError) -> String {
    match err {
        LinkError::Trap(trap) => format!("instantiation {}", trap_text(trap)),
        // The wording of a refused limit is the engine's own; that it was
        // refused is what must agree.
        LinkError::ResourceLimit(_) => "resource limit".into(),
        other => other.to_string(),
    }
}

/// FNV-1a over the bytes: stable across runs and machines.
fn hash(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(value: i32) -> Step {
        Step::Call {
            export: "f".into(),
            outcome: Ok(vec![Val::I32(value)]),
            globals: vec![],
            memories: vec![],
        }
    }

    fn trace(steps: Vec<Step>, cut: bool) -> Trace {
        Trace { steps, cut }
    }

    #[test]
    fn a_different_result_is_a_divergence_at_its_step() {
        let a = trace(vec![Step::Instantiate(Ok(())), call(1), call(2)], false);
        let b = trace(vec![Step::Instantiate(Ok(())), call(1), call(3)], false);
        assert_eq!(compare(&a, &b), Err(2));
        assert_eq!(compare(&a, &a), Ok(3));
    }

    #[test]
    fn a_cut_trace_is_compared_up_to_the_cut_step_only() {
        let a = trace(vec![Step::Instantiate(Ok(())), call(1), call(2)], true);
        let b = trace(
            vec![Step::Instantiate(Ok(())), call(1), call(9), call(4)],
            false,
        );
        assert_eq!(compare(&a, &b), Ok(2));
        let c = trace(vec![Step::Instantiate(Ok(())), call(5)], false);
        assert_eq!(compare(&a, &c), Err(1));
        let d = trace(vec![Step::Instantiate(Ok(()))], false);
        assert_eq!(compare(&a, &d), Err(1));
    }

    #[test]
    fn function_references_compare_by_nullness() {
        let a = normalize(&Val::FuncRef(Some(FuncRefHandle(17))));
        let b = normalize(&Val::FuncRef(Some(FuncRefHandle(99))));
        assert_eq!(a, b);
        assert_ne!(a, normalize(&Val::FuncRef(None)));
        let a = normalize(&Val::ExnRef(Some(0x7f00_1000)));
        assert_eq!(a, normalize(&Val::ExnRef(Some(0x7f00_2000))));
        assert_ne!(a, normalize(&Val::ExnRef(None)));
        let a = normalize(&Val::AnyRef(Some(AnyRef::Struct(8))));
        assert_eq!(a, normalize(&Val::AnyRef(Some(AnyRef::Struct(16)))));
        assert_ne!(a, normalize(&Val::AnyRef(Some(AnyRef::Array(8)))));
        assert_ne!(a, normalize(&Val::AnyRef(None)));
        let i31 = |v| normalize(&Val::AnyRef(Some(AnyRef::I31(v))));
        assert_ne!(i31(1), i31(2));
    }
}
