//! Lazy, concurrent and tiered compilation for the JIT
//! (`Compilation::Lazy`, `Concurrent` and `Tiered`): a function is
//! compiled on its first call (concurrent: or by a worker sweeping the
//! module, whichever comes first), placed in the
//! module's [`CodeArena`], and published by storing its address in the
//! code pointer of its `VMFuncRef` in every instance of the module. Until
//! then that pointer is the function's lazy-compile stub, one per function
//! in the arena (`arch::write_lazy_stubs`), which compiles it through
//! `builtins::lazy_compile` and goes on into its code.
//!
//! Tiered: the first compile is the baseline pipeline, with a countdown at
//! entry and loop headers; when it reaches zero the `tier_up` builtin
//! queues the function for the module's tier-up thread, which compiles it
//! with the optimizing pipeline and publishes it the same way. Calls made
//! after that run the optimized code. An activation looping in baseline
//! code polls at its loop headers (`osr_poll` builtin) for an optimized
//! entry at that loop, compiled on the same thread, and tail-calls it
//! (on-stack replacement). Each publication is one pointer store of code
//! that is completely written, so a function is never half-swapped.

mod arena;
mod baseline;
mod call_table;
mod first_call;
mod prefetch;
mod tier_up;

use std::collections::HashMap;
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicI32, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock, mpsc};
use std::time::Instant;

use cranelift_codegen::isa::OwnedTargetIsa;
use wasmtier_core::{Compilation, EngineConfig, U32Rows};

pub use arena::ArenaError;
use arena::CodeArena;
use call_table::CallTable;
use crossbeam_utils::CachePadded;
use prefetch::Prefetch;
use tier_up::{OsrState, TierUpJob};

use crate::arch;
use crate::call_profile::{CallProfile, MAX_OPTIMIZED_CALLS, call_profile};
use crate::code_map::{CodeVersion, CodeWatcher};
use crate::compile::{self, CompileError, FunctionCode};
use crate::error::LayoutError;
use crate::exception_table::ExceptionTable;
use crate::inlined_sites::InlinedSites;
use crate::module_info::ModuleInfo;
use crate::stack_maps::StackMapTable;
use crate::translate::CodeTier;
use crate::traps::TrapTable;
use crate::vmcontext::VMFuncRef;

/// Functions start at multiples of this, as in eager code.
const FUNCTION_ALIGNMENT: usize = 64;

/// Compiling concurrently, a function whose body has more bytes of Wasm
/// than this starts in baseline code and tiers up when hot, as every
/// function does when tiered. Optimizing such a function takes
/// milliseconds (musl's `printf_core`, 9 KB: 14 ms; `dlmalloc`, 7 KB:
/// 6.7 ms), and a C program calls both before its main loop, mostly a
/// few times (`RATIONALE.md`, "Lazy and tiered compilation").
const CONCURRENT_BASELINE_ABOVE: usize = 4096;

/// Compiling on the thread that called needs this much stack left;
/// otherwise a helper thread with its own stack compiles.
const INLINE_COMPILE_STACK: usize = 2 << 20;

/// Whether this thread's stack has room to run the compiler on.
fn room_to_compile() -> bool {
    crate::signals::stack_left() >= INLINE_COMPILE_STACK
}

/// Stack of the threads that compile (tier-up, and the helper above).
const COMPILER_STACK: usize = 16 << 20;

/// The most results a function reached through a lazy-compile stub may
/// have: every supported CPU returns at least this many of each class in
/// registers in the `tail` convention (x86-64 and aarch64: eight), so no
/// call to it passes a hidden return-area pointer.
const MAX_STUB_RESULTS: usize = 4;

// Per-function states.
const NOT_COMPILED: u8 = 0;
const COMPILING: u8 = 1;
/// Baseline code published, counting towards tier-up.
const BASELINE: u8 = 2;
/// Queued for, or being compiled by, the tier-up thread.
const OPTIMIZING: u8 = 3;
/// Final code published (optimized, or baseline that never tiers up).
const FINAL: u8 = 4;

struct FunctionSlot {
    /// Address of the function's current code; 0 until first compiled.
    code: AtomicUsize,
    state: AtomicU8,
}

/// One function's (or trampoline's) code in the arena and its tables,
/// relative to `start`.
pub(crate) struct Placed {
    pub start: usize,
    pub end: usize,
    /// Function index (imports first); `None` for trampolines.
    pub func: Option<u32>,
    /// Which of the function's versions this is (unused for trampolines).
    pub version: CodeVersion,
    pub traps: TrapTable,
    pub inlined: InlinedSites,
    pub exceptions: ExceptionTable,
    pub stack_maps: StackMapTable,
}

/// Bytes of a lazy-compile stub table for `functions` functions.
fn stubs_len(functions: usize) -> usize {
    arch::LAZY_STUBS_HEADER + functions * arch::LAZY_STUB_SIZE
}

impl Placed {
    /// What `CodeMap` tells of a placed function.
    pub fn code_of_function(&self) -> crate::code_map::FunctionCode {
        crate::code_map::FunctionCode {
            index: self.func.unwrap_or(u32::MAX),
            address: self.start,
            len: self.end - self.start,
            version: self.version,
        }
    }
}

pub(crate) struct LazyCode {
    arena: CodeArena,
    optimizing: OwnedTargetIsa,
    baseline: OwnedTargetIsa,
    /// First compiles use the baseline pipeline.
    tiered: bool,
    /// First compiles of functions with bodies larger than this use the
    /// baseline pipeline (concurrent compilation).
    baseline_above: Option<usize>,
    /// Baseline code comes from the single-pass compiler where it supports
    /// the function (`single_pass`), else from Cranelift.
    single_pass: bool,
    deadline: Option<Instant>,
    /// Tiered with a tier-up count: baseline code counts down.
    tiers_up: bool,
    /// Tiering up compiles on the tier-up thread (else on the thread that
    /// asked, before it goes on).
    background: bool,
    functions: Box<[FunctionSlot]>,
    /// Tier-up countdowns, one per defined function; baseline code
    /// decrements its own in place (by address).
    counters: Box<[AtomicI32]>,
    /// Everything placed, sorted by address (the start kept beside each,
    /// so a search reads no `Placed`: each is a cache miss).
    placed: CachePadded<RwLock<PlacedList>>,
    /// Per type index, the type whose trampolines serve it
    /// (`compile::trampoline_types`).
    serving: Vec<Option<u32>>,
    /// Per serving type, its entry trampoline and host adapter, 0 until
    /// compiled: each on first use, since a program uses few of them (a
    /// C program: `_start`'s entry and its WASI imports' adapters, of
    /// two for every signature in the module).
    entry_trampolines: Vec<AtomicUsize>,
    host_adapters: Vec<AtomicUsize>,
    /// Held while compiling a trampoline, so each is compiled once.
    trampolines_compiling: Mutex<()>,
    /// The first defined function's `VMFuncRef` of every live instance.
    instances: CachePadded<Mutex<Vec<usize>>>,
    /// Signalled whenever a function's compilation ends and a thread
    /// waits for one (`waiting`, changed under the lock): most compiles
    /// end with nobody waiting, and a wake-up is a system call.
    compiled: CachePadded<(Mutex<()>, Condvar)>,
    waiting: AtomicUsize,
    tier_up: Mutex<Option<mpsc::Sender<TierUpJob>>>,
    /// Optimized entries at loops, by (defined function, loop index).
    osr_entries: Mutex<HashMap<(u32, u32), OsrState>>,
    /// Per defined function that has entries: the code address of each
    /// loop's entry, 0 until compiled, which entries read at the headers
    /// of the loops around theirs (`CodeTier::OsrEntry`). A slice's
    /// address is fixed once created; they live as long as the module.
    entry_slots: Mutex<HashMap<u32, Box<[AtomicUsize]>>>,
    /// What `tier_counts` reports.
    counts: CachePadded<CompileCounts>,
    /// Callees of functions compiled on demand, compiled ahead.
    prefetch: Prefetch,
    /// Told of each function placed from now on (`CodeMap::watch`).
    watcher: CachePadded<Mutex<Option<CodeWatcher>>>,
    /// Where the lazy-compile stubs start (`arch::write_lazy_stubs`): a
    /// function's `VMFuncRef` points at its stub until it is compiled.
    stubs: usize,
    /// Where optimized code's calls go when the callee's final code is not
    /// known; `None` when such calls go through `VMFuncRef`s.
    call_table: Option<CallTable>,
    /// Imported functions, which come first in the function index space.
    imported: u32,
}

/// Placed code by start address, in address order.
type PlacedList = Vec<(usize, Arc<Placed>)>;

/// How many compiles of each kind, and activations moved into optimized
/// code: counted by every compiling thread.
#[derive(Default)]
struct CompileCounts {
    baseline: AtomicUsize,
    single_pass: AtomicUsize,
    optimized: AtomicUsize,
    replacements: AtomicUsize,
}

/// Address space reserved for a module's code: generous (pages are only
/// backed when written) but bounded, from the size of its function
/// bodies. Baseline code is a few times larger than the wasm; a tiered
/// module holds both versions of its hot functions.
fn arena_capacity(module: &wasmtier_core::ValidatedModule) -> usize {
    let body_bytes: usize = (0..module.num_defined_funcs())
        .filter_map(|d| module.func_body(d))
        .map(|r| r.len())
        .sum();
    body_bytes
        .saturating_mul(32)
        .saturating_add(64 << 20)
        .min(16 << 30)
}

/// Whether optimized code of `module`, compiled lazily, calls the module's
/// functions directly (`call_table.rs`): when its arena is small enough
/// for every call to reach.
pub(crate) fn direct_calls_fit(module: &wasmtier_core::ValidatedModule) -> bool {
    arena_capacity(module) <= arch::MAX_DIRECT_CALL_SPAN
}

impl LazyCode {
    /// Sets up the arena and the stubs; functions wait for their first
    /// call, and trampolines for their first use.
    pub fn new(
        optimizing: OwnedTargetIsa,
        info: &ModuleInfo,
        config: &EngineConfig,
    ) -> Result<Self, CompileError> {
        let (tiered, tier_up_after, background) = match config.compilation {
            Compilation::Tiered {
                tier_up_after,
                background,
            } => (true, tier_up_after, background),
            // Its large functions tier up (`CONCURRENT_BASELINE_ABOVE`).
            Compilation::Concurrent => (false, Some(Compilation::TIER_UP_AFTER), true),
            _ => (false, None, true),
        };
        let defined = info.module.num_defined_funcs() as usize;
        let start = tier_up_after.map_or(0, |n| i32::try_from(n.max(1)).unwrap_or(i32::MAX));
        let mut code = Self {
            arena: CodeArena::new(arena_capacity(&info.module))?,
            optimizing,
            baseline: compile::baseline_isa()?,
            tiered,
            baseline_above: (config.compilation == Compilation::Concurrent)
                .then_some(CONCURRENT_BASELINE_ABOVE),
            single_pass: config.baseline == wasmtier_core::BaselineCompiler::SinglePass,
            // A run's one budget (`timeout_start`, the CLI) bounds
            // compiling too; per-store budgets are the stores' own (their
            // interrupt stops the code), not the module's.
            deadline: config.timeout_start.and(config.deadline()),
            tiers_up: tier_up_after.is_some(),
            background,
            functions: (0..defined)
                .map(|_| FunctionSlot {
                    code: AtomicUsize::new(0),
                    state: AtomicU8::new(NOT_COMPILED),
                })
                .collect(),
            counters: (0..defined).map(|_| AtomicI32::new(start)).collect(),
            placed: CachePadded::new(RwLock::new(Vec::new())),
            serving: compile::trampoline_types(&info.module),
            entry_trampolines: (0..info.module.types().len())
                .map(|_| AtomicUsize::new(0))
                .collect(),
            host_adapters: (0..info.module.types().len())
                .map(|_| AtomicUsize::new(0))
                .collect(),
            trampolines_compiling: Mutex::new(()),
            instances: CachePadded::new(Mutex::new(Vec::new())),
            compiled: CachePadded::new((Mutex::new(()), Condvar::new())),
            waiting: AtomicUsize::new(0),
            tier_up: Mutex::new(None),
            osr_entries: Mutex::new(HashMap::new()),
            entry_slots: Mutex::new(HashMap::new()),
            counts: CachePadded::default(),
            prefetch: Prefetch::default(),
            watcher: CachePadded::new(Mutex::new(None)),
            stubs: 0,
            call_table: None,
            imported: info.module.num_imported_funcs(),
        };
        // One stub per defined function, so that every call site calls
        // through the `VMFuncRef` like an import does, with no test: the
        // first call lands in the stub, which compiles the function.
        let count = u32::try_from(defined).map_err(|_| LayoutError::TooBig)?;
        code.stubs = code
            .arena
            .place(stubs_len(defined), FUNCTION_ALIGNMENT, |bytes, _| {
                arch::write_lazy_stubs(bytes, count)
            })?;
        if info.lazy_direct_calls {
            let table = CallTable::new(&code.arena, count, |d| code.lazy_stub(d))?;
            code.call_table = Some(table);
        }
        Ok(code)
    }

    pub fn range(&self) -> Range<usize> {
        self.arena.range()
    }

    pub fn tier_counts(&self) -> wasmtier_core::TierCounts {
        let entries = self.osr_entries.lock().unwrap_or_else(|e| e.into_inner());
        wasmtier_core::TierCounts {
            baseline: self.counts.baseline.load(Ordering::Relaxed),
            single_pass: self.counts.single_pass.load(Ordering::Relaxed),
            optimized: self.counts.optimized.load(Ordering::Relaxed),
            loop_entries: entries
                .values()
                .filter(|s| matches!(s, OsrState::Ready(_)))
                .count(),
            replacements: self.counts.replacements.load(Ordering::Relaxed),
        }
    }

    /// The `kind` trampoline for type `type_index` (`None` if no function
    /// has that type), compiled and placed on first use.
    pub fn trampoline(
        &self,
        info: &ModuleInfo,
        type_index: usize,
        kind: compile::Trampoline,
    ) -> Result<Option<usize>, CompileError> {
        let Some(&Some(serving)) = self.serving.get(type_index) else {
            return Ok(None);
        };
        let slot = match kind {
            compile::Trampoline::Entry => &self.entry_trampolines[serving as usize],
            compile::Trampoline::HostAdapter => &self.host_adapters[serving as usize],
        };
        let placed = || Some(slot.load(Ordering::Acquire)).filter(|&at| at != 0);
        if let Some(at) = placed() {
            return Ok(Some(at));
        }
        let _compiling = self
            .trampolines_compiling
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(at) = placed() {
            return Ok(Some(at));
        }
        let code = compile::compile_trampoline(&*self.optimizing, &info.module, kind, serving)?;
        let at = self.place(None, CodeVersion::Compiled, code)?.start;
        slot.store(at, Ordering::Release);
        Ok(Some(at))
    }

    /// Current code of defined function `defined` (0: not compiled yet).
    pub fn function_code(&self, defined: usize) -> usize {
        self.functions
            .get(defined)
            .map_or(0, |slot| slot.code.load(Ordering::Acquire))
    }

    /// What a call to defined function `defined` should reach: its current
    /// code, or its lazy-compile stub before it has any.
    pub fn callable_code(&self, defined: usize) -> usize {
        match self.function_code(defined) {
            0 => self.lazy_stub(defined),
            code => code,
        }
    }

    /// The lazy-compile stub of defined function `defined`: it starts where
    /// a table of `defined` stubs ends.
    fn lazy_stub(&self, defined: usize) -> usize {
        self.stubs + stubs_len(defined)
    }

    /// Whether `code` is one of the lazy-compile stubs.
    pub fn is_stub(&self, code: usize) -> bool {
        (self.stubs..self.stubs + stubs_len(self.functions.len())).contains(&code)
    }

    /// The placed code containing `pc`.
    pub fn placed_at(&self, pc: usize) -> Option<Arc<Placed>> {
        let placed = self.placed.read().unwrap_or_else(|e| e.into_inner());
        let after = placed.partition_point(|&(start, _)| start <= pc);
        let (_, last) = placed.get(after.checked_sub(1)?)?;
        (pc < last.end).then(|| last.clone())
    }

    /// Every function placed so far, in address order.
    pub fn placed_functions(&self) -> Vec<Arc<Placed>> {
        let placed = self.placed.read().unwrap_or_else(|e| e.into_inner());
        placed
            .iter()
            .filter(|(_, p)| p.func.is_some())
            .map(|(_, p)| p.clone())
            .collect()
    }

    pub fn bytes(&self, range: Range<usize>) -> &[u8] {
        self.arena.bytes(range)
    }

    /// Calls `watcher` with every function placed so far, then with each
    /// one as it is placed (on the thread that compiled it), for as long as
    /// the module lives.
    pub fn watch(&self, mut watcher: CodeWatcher) {
        // Held across the snapshot, so that no placement falls between it
        // and the watcher's installation (`place` takes it first too).
        let mut slot = self.watcher.lock().unwrap_or_else(|e| e.into_inner());
        for placed in self.placed_functions() {
            watcher(
                placed.code_of_function(),
                self.bytes(placed.start..placed.end),
            );
        }
        *slot = Some(watcher);
    }

    /// Bytes of code placed so far (trampolines and functions).
    pub fn code_size(&self) -> usize {
        self.arena.used()
    }

    /// Starts keeping the code pointers of an instance's `VMFuncRef`s for
    /// the defined functions (`funcs`, one per defined function) up to
    /// date, and fills in what is compiled already.
    ///
    /// # Safety
    /// `funcs` must point at `VMFuncRef`s for every defined function that
    /// stay put until [`Self::unregister`].
    pub unsafe fn register(&self, funcs: *mut VMFuncRef) {
        let mut instances = self.instances.lock().unwrap_or_else(|e| e.into_inner());
        instances.push(funcs as usize);
        for defined in 0..self.functions.len() {
            // SAFETY: the caller's contract; the lock serializes writers.
            unsafe { self.write_code(funcs as usize, defined) };
        }
    }

    pub fn unregister(&self, funcs: *mut VMFuncRef) {
        let mut instances = self.instances.lock().unwrap_or_else(|e| e.into_inner());
        instances.retain(|&f| f != funcs as usize);
    }

    /// Stores function `defined`'s current code into the registered
    /// `VMFuncRef` array at `funcs`.
    ///
    /// # Safety
    /// `funcs` is registered; the `instances` lock is held.
    unsafe fn write_code(&self, funcs: usize, defined: usize) {
        let code = self.functions[defined].code.load(Ordering::Acquire);
        if code == 0 {
            return;
        }
        let record = (funcs as *mut VMFuncRef).wrapping_add(defined);
        // SAFETY: a registered array's record, 8-byte aligned; generated
        // code reads the field concurrently, hence the atomic store.
        unsafe {
            AtomicUsize::from_ptr((&raw mut (*record).code).cast::<usize>())
                .store(code, Ordering::Release)
        };
    }

    /// Makes `code` the current code of `defined`, here and in every
    /// instance.
    fn publish(&self, defined: usize, code: usize) {
        self.functions[defined].code.store(code, Ordering::Release);
        if let Some(table) = &self.call_table {
            table.set(&self.arena, defined, code);
        }
        let instances = self.instances.lock().unwrap_or_else(|e| e.into_inner());
        for &funcs in instances.iter() {
            // SAFETY: registered arrays, under the lock.
            unsafe { self.write_code(funcs, defined) };
        }
    }

    /// Where a call (or address reference) from code of function `func`
    /// to function `callee` goes: `None` for the code's own start, else
    /// the executable address of the callee's final code or call stub.
    fn call_target(&self, func: Option<u32>, callee: u32) -> Result<Option<usize>, LayoutError> {
        if Some(callee) == func {
            return Ok(None);
        }
        let (Some(table), Some(defined)) = (&self.call_table, callee.checked_sub(self.imported))
        else {
            return Err(LayoutError::CallToImport);
        };
        let slot = self
            .functions
            .get(defined as usize)
            .ok_or(LayoutError::CallToImport)?;
        // The state first: tier-up publishes its code before it stores
        // `FINAL`, so after reading `FINAL` the code is the final one; a
        // first compile stores `FINAL` before publishing, so its code may
        // still read 0 here (then the stub serves).
        let state = slot.state.load(Ordering::Acquire);
        let code = slot.code.load(Ordering::Acquire);
        Ok(Some(if state == FINAL && code != 0 {
            code
        } else {
            table.stub(defined as usize)
        }))
    }

    /// Copies compiled code into the arena and records its tables.
    fn place(
        &self,
        func: Option<u32>,
        version: CodeVersion,
        code: FunctionCode,
    ) -> Result<Arc<Placed>, CompileError> {
        // Lazy code refers to itself (a builtin call records the function's
        // own address) and, in optimized code, calls the module's other
        // functions directly: to their final code, or through their call
        // stubs (`call_table.rs`).
        let targets = code
            .calls
            .iter()
            .map(|&(_, callee, _, _)| self.call_target(func, callee))
            .collect::<Result<Vec<_>, _>>()?;
        // Hot loops are placed against fetch lines as in eager code
        // (`compile.rs`, `Layout::place`): the arena hands out 64-byte
        // aligned space, so the padding is the one for a start at 0.
        let padding = code.loop_padding(0);
        let arena_start = self.arena.range().start;
        let mut relocated = Ok(());
        let start = self.arena.place(
            padding + code.bytes.len(),
            FUNCTION_ALIGNMENT,
            |bytes, origin| {
                let (pad, bytes) = bytes.split_at_mut(padding);
                pad.fill(0);
                bytes.copy_from_slice(&code.bytes);
                let here = origin + padding;
                for (&(site, _, addend, kind), &target) in code.calls.iter().zip(&targets) {
                    // Targets are executable addresses; `apply_at` works in
                    // offsets from the arena's start.
                    let target = target.map_or(here, |at| at - arena_start);
                    let addend = addend + target as i64 - here as i64;
                    if relocated.is_ok() {
                        relocated = kind.apply_at(bytes, site as usize, 0, addend, here);
                    }
                }
            },
        )? + padding;
        relocated?;
        let placed = Arc::new(Placed {
            start,
            end: start + code.bytes.len(),
            func,
            version,
            traps: TrapTable::new(U32Rows::from_rows(
                code.traps.iter().map(|&(o, c)| [o, u32::from(c)]),
            )),
            inlined: InlinedSites::from_offsets(&code.inlined),
            exceptions: ExceptionTable::from_sites(&code.call_sites),
            stack_maps: StackMapTable::from_sites(&code.stack_maps),
        });
        let mut watcher = self.watcher.lock().unwrap_or_else(|e| e.into_inner());
        {
            let mut all = self.placed.write().unwrap_or_else(|e| e.into_inner());
            // Space is handed out in address order, so code is nearly
            // always placed after everything before it, or just before the
            // last (two threads writing at once). The starts are kept in
            // the list: a search that read each `Arc`, a cache miss each,
            // was 6% of a tiered start of 20,000 functions.
            if all.last().is_none_or(|&(last, _)| last < start) {
                all.push((start, placed.clone()));
            } else {
                let at = all.partition_point(|&(other, _)| other < start);
                all.insert(at, (start, placed.clone()));
            }
        }
        if let Some(watch) = watcher.as_mut()
            && placed.func.is_some()
        {
            watch(
                placed.code_of_function(),
                self.bytes(placed.start..placed.end),
            );
        }
        Ok(placed)
    }

    /// Whether the first compile of `defined` is baseline code: every
    /// function's when tiered, a large one's when concurrent.
    fn starts_in_baseline(&self, info: &ModuleInfo, defined: u32) -> bool {
        self.tiered
            || self.baseline_above.is_some_and(|limit| {
                info.module
                    .func_body(defined)
                    .is_some_and(|body| body.len() > limit)
            })
    }

    /// Compiles and places `defined`, with the optimizing pipeline or
    /// (first compiles when tiered or large, and huge functions) the
    /// baseline one,
    /// catching a compiler panic as an error. Returns the code's address,
    /// the function's calls, and whether the code counts towards tier-up.
    fn compile(
        &self,
        info: &ModuleInfo,
        defined: u32,
        optimized: bool,
    ) -> Result<(usize, CallProfile, bool), CompileError> {
        if self.deadline.is_some_and(|at| Instant::now() >= at) {
            return Err(CompileError::TimeLimit);
        }
        // - A function with thousands of calls (an initializer, a
        //   generated dispatcher) makes the optimizing register allocator
        //   quadratic (each call's cold path is a block): baseline, for good.
        // - Tiered, a function starts in baseline code, and tiers up by
        //   calls, or by loop iterations through on-stack replacement. One
        //   whose loops cannot all take an optimized entry is optimized on
        //   its first call: an activation of it would never leave the
        //   code it started in, and one call may run the whole program
        //   (measured in `RATIONALE.md`).
        let starts_in_baseline = self.starts_in_baseline(info, defined);
        if starts_in_baseline
            && self.single_pass
            && !optimized
            && let Some(done) = self.compile_single_pass(info, defined)
        {
            return done;
        }
        let profile = call_profile(info, defined);
        let huge = profile.sites > MAX_OPTIMIZED_CALLS;
        let first_optimized = !starts_in_baseline || (self.tiers_up && profile.osr_blocked);
        let (isa, tier) = if huge {
            (
                &self.baseline,
                CodeTier::Baseline {
                    tier_up_counter: None,
                },
            )
        } else if optimized || first_optimized {
            (&self.optimizing, CodeTier::Optimized)
        } else {
            let tier_up_counter = self
                .tiers_up
                .then(|| self.counters[defined as usize].as_ptr() as usize);
            (&self.baseline, CodeTier::Baseline { tier_up_counter })
        };
        let counting = matches!(
            tier,
            CodeTier::Baseline {
                tier_up_counter: Some(_)
            }
        );
        // Lazily compiled (not tiered), a huge function's baseline code.
        let single_pass = match tier {
            CodeTier::Baseline { tier_up_counter } if self.single_pass && !starts_in_baseline => {
                baseline::single_pass_code(info, defined, tier_up_counter).map(|(code, _)| code)
            }
            _ => None,
        };
        if single_pass.is_some() {
            self.counts.single_pass.fetch_add(1, Ordering::Relaxed);
        }
        let code = catch_unwind(AssertUnwindSafe(|| match single_pass {
            Some(code) => Ok(code),
            None => compile::compile_defined(&**isa, info, defined, tier),
        }))
        .unwrap_or_else(|payload| {
            Err(CompileError::CompilerPanicked {
                func: info.module.num_imported_funcs() + defined,
                message: wasmtier_core::panic_message(&*payload).unwrap_or_default(),
            })
        })?;
        let func = info.module.num_imported_funcs() + defined;
        let version = match tier {
            CodeTier::Baseline { .. } => CodeVersion::Baseline,
            _ if starts_in_baseline => CodeVersion::Optimized,
            _ => CodeVersion::Compiled,
        };
        let start = self.place(Some(func), version, code)?.start;
        let compiles = match tier {
            CodeTier::Baseline { .. } => &self.counts.baseline,
            _ => &self.counts.optimized,
        };
        compiles.fetch_add(1, Ordering::Relaxed);
        Ok((start, profile, counting))
    }
}
