//! The boundary every execution tier implements.
//!
//! The boundary sits at instance level: an engine compiles a
//! [`ValidatedModule`] once, and a [`Store`] owns instances, their memories
//! and the host state. The spec harness, the CLI and the benchmarks drive any
//! tier through these two traits alone.

use std::any::Any;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{CallError, LinkError};
use crate::features::Features;
use crate::host::{HostItem, SharedMemory};
use crate::module::ValidatedModule;
use crate::types::{FuncType, MemoryType, Val};

/// The execution tiers wasmtier knows about. Which ones a build contains is
/// decided by the CLI's cargo features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EngineKind {
    Interp,
    Jit,
    Aot,
}

impl EngineKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Interp => "interp",
            Self::Jit => "jit",
            Self::Aot => "aot",
        }
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for EngineKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "interp" => Ok(Self::Interp),
            "jit" => Ok(Self::Jit),
            "aot" => Ok(Self::Aot),
            other => Err(format!("unknown engine `{other}`")),
        }
    }
}

/// When the compiled tiers compile each function, and with which pipeline.
/// The AOT tier always compiles everything with the optimizing pipeline
/// (an artifact holds finished code); the JIT can defer work to the first
/// call of each function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compilation {
    /// Every function with the optimizing pipeline before anything runs.
    #[default]
    Eager,
    /// Each function with the optimizing pipeline on its first call.
    Lazy,
    /// Every function with the optimizing pipeline, on background threads
    /// while the program runs: a call to a function not compiled yet
    /// compiles it on the calling thread, or waits for the thread that
    /// compiles it. The start no longer waits for code it does not call
    /// yet (a C program's `printf`, say). A large function (over 4 KiB of
    /// Wasm) starts in baseline code and tiers up as in `Tiered` with the
    /// default count: optimizing it takes milliseconds, and most run a
    /// few times.
    Concurrent,
    /// Each function on its first call with a fast baseline compile; a
    /// function whose calls plus loop iterations reach `tier_up_after` is
    /// recompiled with the optimizing pipeline and used from its next call
    /// on, and an activation looping in baseline code moves to optimized
    /// code at a loop header (on-stack replacement). `None`: never tier up.
    Tiered {
        tier_up_after: Option<u32>,
        /// Optimize on a background thread while baseline code goes on
        /// running (what a program wants). `false`: on the thread that
        /// reached the count, before it continues, so the switch happens
        /// at a known point (what tests want).
        background: bool,
    },
}

impl Compilation {
    /// The tiered default: a function called (or looping) this often is
    /// worth optimizing (see `engine-jit/RATIONALE.md`, "Lazy and tiered
    /// compilation").
    pub const TIER_UP_AFTER: u32 = 1000;

    pub fn tiered() -> Self {
        Self::Tiered {
            tier_up_after: Some(Self::TIER_UP_AFTER),
            background: true,
        }
    }
}

/// Which compiler makes the JIT's baseline code (`Compilation::Tiered`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BaselineCompiler {
    /// The single-pass compiler, for every function it supports (on the
    /// CPUs it has a code generator for); Cranelift for the rest.
    #[default]
    SinglePass,
    /// Cranelift without optimizations, for every function.
    Cranelift,
}

/// The largest GC heap an engine can have (`EngineConfig::max_gc_heap`):
/// objects are addressed by 32-bit offsets.
pub const MAX_GC_HEAP: u64 = (4 << 30) - 4096;

/// Limits and choices fixed when an engine is created.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EngineConfig {
    pub features: Features,
    /// Told how compilation advances, on the tiers that compile ahead of
    /// running (for a progress bar); never changes what is compiled.
    pub progress: Option<CompileProgress>,

    /// Units of fuel each store starts with; `None` means unmetered.
    pub fuel: Option<u64>,
    /// Cap on each linear memory, in bytes; growth beyond it fails (-1).
    pub max_memory: Option<u64>,
    /// Cap on each store's GC heap (Wasm 3.0 structs and arrays), in
    /// bytes; an allocation that does not fit even after collecting traps.
    /// `None`: the engine's default (1 GiB on the compiled tiers); at most
    /// [`MAX_GC_HEAP`].
    pub max_gc_heap: Option<u64>,
    /// Cap on the guest's call stack, in bytes of engine stack.
    pub max_stack: Option<usize>,
    /// Wall-clock budget of each store, counted from `timeout_start` (by
    /// default the store's creation): once it has passed, running Wasm stops
    /// with [`TrapCode::Interrupted`]. Like fuel it is per store, not per
    /// call. `None` costs nothing at run time. Compilation on the compiled
    /// tiers stops too once the same deadline has passed
    /// ([`LinkError::CompileTimeLimit`]).
    ///
    /// [`TrapCode::Interrupted`]: crate::TrapCode::Interrupted
    pub timeout: Option<Duration>,
    /// When the `timeout` budget starts: `None` for each store's creation
    /// (and, for compilation, its start). A command-line run sets it to the
    /// run's start, so that compiling counts against the budget as well.
    pub timeout_start: Option<Instant>,
    /// Cap on the number of elements of each table; `table.grow` beyond it
    /// fails (-1), and a module whose tables start larger fails to
    /// instantiate.
    pub max_table_elements: Option<u64>,
    /// Favour a small footprint over speed (lazy translation, small stacks).
    pub low_memory: bool,
    /// Back the compiled tiers' linear memories with base pages only: no
    /// transparent huge pages (which they ask for by default, as they make
    /// random access over megabytes of memory much cheaper, at the price of
    /// committing memory 2 MiB at a time). The interpreter never asks.
    pub no_huge_pages: bool,
    /// When the JIT compiles functions (ignored by the interpreter, which
    /// translates lazily anyway, and by the AOT tier, whose artifacts hold
    /// finished code).
    pub compilation: Compilation,
    /// Which compiler makes baseline code when tiered.
    pub baseline: BaselineCompiler,
}

impl EngineConfig {
    /// The instant the `timeout` runs out, counting from `timeout_start`
    /// or, without one, from now; `None` without a timeout. A timeout too
    /// far away for the clock (`Duration::MAX`, say) ends in about a
    /// century instead of overflowing.
    pub fn deadline(&self) -> Option<Instant> {
        const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
        let timeout = self.timeout?;
        let start = self.timeout_start.unwrap_or_else(Instant::now);
        Some(start.checked_add(timeout.min(CENTURY)).unwrap_or(start))
    }

    /// Refuses a module that needs proposals this configuration does not
    /// enable: an engine must never run code it was not set up to run.
    pub fn check_features_of(&self, module: &ValidatedModule) -> Result<(), LinkError> {
        let wanted = module.features().to_wasmparser();
        if self.features.to_wasmparser().contains(wanted) {
            return Ok(());
        }
        // Validated with more than this engine runs (`Features::default()`
        // on the interpreter, say): fine if the module does not use it,
        // which only validating again with this engine's set can tell.
        // Callers that validate with `Engine::config().features` never
        // pay for this.
        if wasmparser::Validator::new_with_features(self.features.to_wasmparser())
            .validate_all(module.bytes())
            .is_ok()
        {
            return Ok(());
        }
        let missing: Vec<&str> = module
            .features()
            .enabled_names()
            .into_iter()
            .filter(|name| !self.features.is_enabled(name))
            .collect();
        Err(LinkError::Engine(format!(
            "module was validated with the {} proposal{}, which this engine is not \
             configured to run (it runs: {})",
            missing.join(", "),
            if missing.len() == 1 { "" } else { "s" },
            self.features.enabled_names().join(", ")
        )))
    }
}

/// Told after each function (or trampoline) of a module is compiled: how
/// many are done and how many there are in all. Called from compiler
/// threads, with the first number only growing and the last call having
/// both equal. Two configs are equal only if they share the same callback.
#[derive(Clone)]
pub struct CompileProgress(Arc<dyn Fn(usize, usize) + Send + Sync>);

impl CompileProgress {
    pub fn new(report: impl Fn(usize, usize) + Send + Sync + 'static) -> Self {
        Self(Arc::new(report))
    }

    /// Reports `done` of `total` units compiled.
    pub fn report(&self, done: usize, total: usize) {
        (self.0)(done, total)
    }
}

impl PartialEq for CompileProgress {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for CompileProgress {}

impl fmt::Debug for CompileProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CompileProgress(..)")
    }
}

/// An engine's compiled form of a module, ready to instantiate in any store
/// of the engine that made it.
pub trait CompiledModule: Send + Sync {
    fn module(&self) -> &Arc<ValidatedModule>;
    /// For the engine to recover its own type.
    fn as_any(&self) -> &dyn Any;
    /// What the tiers have compiled so far, for a module compiled on first
    /// call (`Compilation::Lazy` or `Tiered`); `None` otherwise.
    fn tier_counts(&self) -> Option<TierCounts> {
        None
    }
}

/// How much of a lazily compiled module's code each tier produced
/// (`run -v` prints it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TierCounts {
    /// Functions compiled with the baseline pipeline.
    pub baseline: usize,
    /// How many of those the single-pass compiler compiled (the rest:
    /// Cranelift without optimizations).
    pub single_pass: usize,
    /// Functions compiled with the optimizing pipeline: on first call, or
    /// when they tiered up.
    pub optimized: usize,
    /// Optimized entries at loop headers compiled (on-stack replacement).
    pub loop_entries: usize,
    /// Times a running activation moved from baseline code into one.
    pub replacements: usize,
}

/// An execution tier.
pub trait Engine: Send + Sync {
    fn kind(&self) -> EngineKind;
    fn config(&self) -> &EngineConfig;
    /// Prepares a validated module for instantiation (translation, codegen).
    fn compile(&self, module: Arc<ValidatedModule>) -> Result<Arc<dyn CompiledModule>, LinkError>;
    /// A fresh store holding `state`, which host functions receive.
    fn new_store(&self, state: Box<dyn Any + Send>) -> Box<dyn Store>;
    /// A zeroed shared memory of type `ty` (which must say `shared`), for
    /// stores of this engine on any thread to import
    /// ([`HostItem::SharedMemory`]). Engines without the threads proposal
    /// refuse.
    fn new_shared_memory(&self, ty: MemoryType) -> Result<SharedMemory, LinkError> {
        let _ = ty;
        Err(LinkError::Engine(format!(
            "the {} engine has no shared memories (threads proposal)",
            self.kind()
        )))
    }
}

/// Names an instance within its store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InstanceId(pub usize);

/// Owns instances and everything they reach.
pub trait Store {
    /// Makes `item` importable as `module::name`.
    fn define(&mut self, module: &str, name: &str, item: HostItem) -> Result<(), LinkError>;
    /// Resolves imports by name (host definitions, then registered
    /// instances: [`crate::Linker`], shared by every engine), initializes,
    /// and runs the start function.
    fn instantiate(&mut self, module: &dyn CompiledModule) -> Result<InstanceId, LinkError>;
    /// Makes every export of `instance` importable under module name `name`.
    fn register(&mut self, name: &str, instance: InstanceId);
    /// The signature of an exported function.
    fn func_type(&self, instance: InstanceId, export: &str) -> Result<FuncType, CallError>;
    fn call(
        &mut self,
        instance: InstanceId,
        export: &str,
        args: &[Val],
    ) -> Result<Vec<Val>, CallError>;
    /// The current value of an exported global.
    fn global(&mut self, instance: InstanceId, export: &str) -> Result<Val, CallError>;
    /// A copy of the current contents of an exported memory (for tools and
    /// the differential tests), through [`Store::with_memory`].
    fn memory_data(&mut self, instance: InstanceId, export: &str) -> Result<Vec<u8>, CallError> {
        let mut copy = Vec::new();
        self.with_memory(instance, export, &mut |bytes| copy = bytes.to_vec())?;
        Ok(copy)
    }
    /// Runs `access` on the contents of an exported memory, which it may
    /// read and change in place (the embedding API's memory reads and
    /// writes). Engines that cannot show it report the export as missing.
    fn with_memory(
        &mut self,
        instance: InstanceId,
        export: &str,
        access: &mut dyn FnMut(&mut [u8]),
    ) -> Result<(), CallError> {
        let _ = (instance, access);
        Err(CallError::NoSuchExport(export.to_string()))
    }
    /// An exported shared memory (threads proposal), for stores on other
    /// threads to import ([`HostItem::SharedMemory`]). Engines without
    /// shared memories report the export as missing.
    fn shared_memory(
        &mut self,
        instance: InstanceId,
        export: &str,
    ) -> Result<SharedMemory, CallError> {
        let _ = instance;
        Err(CallError::NoSuchExport(export.to_string()))
    }
    fn state_mut(&mut self) -> &mut (dyn Any + Send);
}

/// Checks `args` against `ty` before a call.
pub fn check_arguments(name: &str, ty: &FuncType, args: &[Val]) -> Result<(), CallError> {
    if ty.params.len() != args.len() {
        return Err(CallError::ArgumentCount {
            name: name.to_string(),
            expected: ty.params.len(),
            got: args.len(),
        });
    }
    for (index, (expected, arg)) in ty.params.iter().zip(args).enumerate() {
        if !arg.matches(*expected) {
            return Err(CallError::ArgumentType {
                name: name.to_string(),
                index,
                expected: *expected,
                got: arg.ty(),
            });
        }
    }
    Ok(())
}
