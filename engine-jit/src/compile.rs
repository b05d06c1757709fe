//! Compiling a whole module: every defined function, an entry trampoline
//! and a host adapter per signature, laid out in one buffer with calls
//! between functions patched and every trap site recorded. The finished
//! image goes into a `CodeMemory` here (JIT) or into an artifact file
//! (AOT, which maps it back into a `CodeMemory`).

use std::ops::Range;
use std::sync::Arc;

use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{ExternalName, Function, UserExternalName};
use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::{FinalizedRelocTarget, MachDebugTagPos};
use wasmtier_core::{EngineConfig, U32Rows, ValidatedModule};

use crate::call_profile::{MAX_OPTIMIZED_CALLS, call_profile};
use crate::code_memory::CodeMemory;
use crate::cranelift_contexts;
pub use crate::error::CompileError;
use crate::error::LayoutError;
use crate::exception_table::{self, CallSite, ExceptionTable};
use crate::inlined_sites::InlinedSites;
use crate::isa::baseline_like;
pub use crate::isa::{baseline_isa, host_isa, target_isa};
use crate::loop_placement::HotLoops;
use crate::module_info::ModuleInfo;
use crate::relocs::CallReloc;
use crate::stack_maps::{self, StackMapSite, StackMapTable};
use crate::trampolines::{entry_trampoline, host_adapter};
use crate::translate::{
    CodeTier, INLINED_CALL, INLINED_EXIT_PC, MAX_FRAME_BELOW_LIMIT, RecursionInlining, SelfCalls,
    StackCheck, mark_inlined_body, translate_function,
};
use crate::traps;
use crate::traps::TrapTable;

/// Functions start at multiples of this: a whole fetch line, so a call
/// lands at the start of one (measured: `recursion` 1.26× the cycles with
/// 16-byte alignment on the Zen 5 benchmark machine).
const FUNCTION_ALIGNMENT: usize = 64;

/// A module's code and the tables to run it.
pub struct CompiledCode {
    pub memory: CodeMemory,
    tables: CodeTables,
    traps: TrapTable,
    inlined: InlinedSites,
    exceptions: ExceptionTable,
    stack_maps: StackMapTable,
}

/// Everything about a module's code except the bytes: what an artifact
/// stores next to them. Offsets are relative to the code base.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CodeLayout {
    /// Code range of each defined function.
    pub functions: Vec<Range<u32>>,
    /// Entry trampoline offset per type index.
    pub entry_trampolines: Vec<u32>,
    /// Host adapter offset per type index.
    pub host_adapters: Vec<u32>,
    /// `(offset, raw Cranelift trap code)`, sorted by offset.
    pub traps: Vec<(u32, u8)>,
    /// Trap sites and return addresses inside inlined bodies, sorted.
    pub inlined: Vec<u32>,
    /// Call sites with exception handlers, sorted by return address.
    pub call_sites: Vec<CallSite>,
    /// Call sites where GC references are live, sorted by return address.
    pub stack_maps: Vec<StackMapSite>,
}

impl CodeLayout {
    /// The layout as flat tables, the form code runs with (and artifacts
    /// store).
    pub fn tables(&self) -> CodeTables {
        CodeTables {
            functions: U32Rows::from_rows(self.functions.iter().map(|r| [r.start, r.end])),
            entry_trampolines: U32Rows::from_rows(self.entry_trampolines.iter().map(|&o| [o])),
            host_adapters: U32Rows::from_rows(self.host_adapters.iter().map(|&o| [o])),
            traps: U32Rows::from_rows(self.traps.iter().map(|&(o, code)| [o, code.into()])),
            inlined: InlinedSites::from_offsets(&self.inlined),
            exceptions: ExceptionTable::from_sites(&self.call_sites),
            stack_maps: StackMapTable::from_sites(&self.stack_maps),
        }
    }
}

/// A [`CodeLayout`] as tables of little-endian `u32`s that can be read in
/// place (from an artifact mapped into memory): nothing per function is
/// decoded or allocated to load them. Entries are checked where they are
/// used (in `CompiledCode`).
#[derive(Debug, Clone, Default)]
pub struct CodeTables {
    /// `[start, end)` of each defined function.
    pub functions: U32Rows<2>,
    /// Entry trampoline offset per type index.
    pub entry_trampolines: U32Rows<1>,
    /// Host adapter offset per type index.
    pub host_adapters: U32Rows<1>,
    /// `[offset, raw Cranelift trap code]`, sorted by offset.
    pub traps: U32Rows<2>,
    /// Where a frame holds two activations (a body inlined into itself).
    pub inlined: InlinedSites,
    /// Call sites with exception handlers and their handlers.
    pub exceptions: ExceptionTable,
    /// Where GC references live at each call site that has any.
    pub stack_maps: StackMapTable,
}

/// A module's finished code: position-independent bytes (calls within the
/// module already patched) and their layout.
pub struct CodeImage {
    pub code: Vec<u8>,
    pub layout: CodeLayout,
}

impl CompiledCode {
    /// Puts `tables` over code already in `memory`. Checks here cost
    /// nothing per function: table sizes against the module, and the
    /// per-type trampolines against the code. Function ranges are checked
    /// as instantiation turns them into pointers ([`Self::function`]);
    /// trap and backtrace lookups are searches whose answers on damaged
    /// tables are wrong, never out of bounds.
    pub fn new(
        memory: CodeMemory,
        tables: CodeTables,
        module: &ValidatedModule,
    ) -> Result<Self, LayoutError> {
        let len = memory.range().len();
        let types = module.types().len();
        if tables.functions.len() != module.num_defined_funcs() as usize
            || tables.entry_trampolines.len() != types
            || tables.host_adapters.len() != types
        {
            return Err(LayoutError::Mismatch);
        }
        let offsets_ok = tables
            .entry_trampolines
            .iter()
            .chain(tables.host_adapters.iter())
            .all(|[offset]| offset == NO_TRAMPOLINE || (offset as usize) < len);
        if !offsets_ok {
            return Err(LayoutError::OutsideCode);
        }
        Ok(Self {
            memory,
            traps: TrapTable::new(tables.traps.clone()),
            inlined: tables.inlined.clone(),
            exceptions: tables.exceptions.clone(),
            stack_maps: tables.stack_maps.clone(),
            tables,
        })
    }

    pub fn num_functions(&self) -> usize {
        self.tables.functions.len()
    }

    /// The code range of defined function `defined`, if it lies inside
    /// the code.
    pub fn function(&self, defined: usize) -> Option<Range<u32>> {
        let [start, end] = self.tables.functions.get(defined)?;
        (start < end && end as usize <= self.memory.range().len()).then_some(start..end)
    }

    /// The defined function whose code contains `offset`.
    pub fn function_at(&self, offset: u32) -> Option<usize> {
        let functions = &self.tables.functions;
        let defined = functions.partition_point(|[_, end]| end <= offset);
        let [start, end] = functions.get(defined)?;
        (start..end).contains(&offset).then_some(defined)
    }

    /// Offset of the entry trampoline for type `type_index` (checked
    /// inside the code by `new`); `None` for a type no function has.
    pub fn entry_trampoline(&self, type_index: usize) -> Option<u32> {
        let [offset] = self.tables.entry_trampolines.get(type_index)?;
        (offset != NO_TRAMPOLINE).then_some(offset)
    }

    /// Offset of the host adapter for type `type_index` (checked inside
    /// the code by `new`); `None` for a type no function has.
    pub fn host_adapter(&self, type_index: usize) -> Option<u32> {
        let [offset] = self.tables.host_adapters.get(type_index)?;
        (offset != NO_TRAMPOLINE).then_some(offset)
    }

    pub fn traps(&self) -> &TrapTable {
        &self.traps
    }

    pub fn inlined(&self) -> &InlinedSites {
        &self.inlined
    }

    pub fn exceptions(&self) -> &ExceptionTable {
        &self.exceptions
    }

    pub fn stack_maps(&self) -> &StackMapTable {
        &self.stack_maps
    }
}

/// One function's machine code before it is placed.
pub(crate) struct FunctionCode {
    pub bytes: Vec<u8>,
    /// `(offset, raw Cranelift trap code)` relative to the function.
    pub traps: Vec<(u32, u8)>,
    /// Trap sites and return addresses inside inlined bodies, relative to
    /// the function, sorted.
    pub inlined: Vec<u32>,
    /// `(offset, callee function index, addend, kind)` of calls (and of a
    /// function's references to its own address).
    pub calls: Vec<(u32, u32, i64, CallReloc)>,
    /// The inner loops of the function's loop nests.
    hot_loops: HotLoops,
    /// Calls with exception handlers, relative to the function.
    pub call_sites: Vec<CallSite>,
    /// Calls with live GC references, relative to the function.
    pub stack_maps: Vec<StackMapSite>,
}

impl FunctionCode {
    /// Code from the single-pass compiler: no relocations (it addresses
    /// itself PC-relative), exception handlers, stack maps or loop
    /// placement.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(crate) fn single_pass(bytes: Vec<u8>, traps: Vec<(u32, u8)>) -> Self {
        FunctionCode {
            bytes,
            traps,
            inlined: Vec::new(),
            calls: Vec::new(),
            hot_loops: HotLoops::default(),
            call_sites: Vec::new(),
            stack_maps: Vec::new(),
        }
    }

    /// Zero bytes to put before this function's code when it would start
    /// at `start` (a multiple of [`FUNCTION_ALIGNMENT`]), so that its hot
    /// loops land where fetch favours them.
    pub(crate) fn loop_padding(&self, start: usize) -> usize {
        self.hot_loops.padding(start)
    }
}

/// Compiles a translated function (a Wasm function, trampoline or host
/// adapter), in this thread's reused Cranelift context.
fn compile_function(isa: &dyn TargetIsa, func: Function) -> Result<FunctionCode, CompileError> {
    Ok(compile_with_frame(isa, func, None)?.0)
}

/// Bodies longer than this (in bytes of Wasm) get Cranelift's stack check
/// before the frame from the start: their frames are the ones that may
/// pass `MAX_FRAME_BELOW_LIMIT` (the benches' generated `_start`, 20,000
/// calls, compiled twice took 5% more of the whole run), and a check's
/// instructions matter little next to such a body.
const MAX_BODY_FOR_CHECK_AFTER_PROLOGUE: usize = 4096;

/// Translates and compiles Wasm function `index` to `tier`, checking the
/// stack after the prologue unless its body is long or its frame turns
/// out too big for that (`translate::stack_check`): the latter is
/// translated again with Cranelift's check before the frame. Optimized
/// code of a small recursive function has a copy of its body inlined in
/// place of each call to itself (`translate/recursion.rs`).
fn compile_wasm_function(
    isa: &dyn TargetIsa,
    info: &ModuleInfo,
    index: u32,
    tier: CodeTier,
) -> Result<FunctionCode, CompileError> {
    let translate_error = |source| CompileError::Translate {
        func: index,
        source,
    };
    let translate = |check| {
        cranelift_contexts::with_builder(|context| {
            translate_function(info, index, context, isa.frontend_config(), tier, check)
        })
        .map_err(translate_error)
    };
    let long = info
        .module
        .body_of(index)
        .is_some_and(|body| body.len() > MAX_BODY_FOR_CHECK_AFTER_PROLOGUE);
    let inlined_body = if tier == CodeTier::Optimized
        && RecursionInlining::OPTIMIZED
            .applies(info, index)
            .map_err(translate_error)?
    {
        let mut body = translate(StackCheck::InCaller)?;
        mark_inlined_body(&mut body).map_err(translate_error)?;
        Some(body)
    } else {
        None
    };
    let self_calls = inlined_body.as_ref().map(|body| SelfCalls {
        func_index: index,
        body,
    });
    if !long {
        let (code, below_caller) = compile_with_frame(
            isa,
            translate(StackCheck::AfterPrologue)?,
            self_calls.as_ref(),
        )?;
        if below_caller <= MAX_FRAME_BELOW_LIMIT {
            return Ok(code);
        }
    }
    Ok(compile_with_frame(
        isa,
        translate(StackCheck::BeforeFrame)?,
        self_calls.as_ref(),
    )?
    .0)
}

/// Compiles `func`, returning its code and how many bytes of stack its
/// frame takes below its caller's SP.
fn compile_with_frame(
    isa: &dyn TargetIsa,
    func: Function,
    self_calls: Option<&SelfCalls<'_>>,
) -> Result<(FunctionCode, usize), CompileError> {
    let name = func.name.to_string();
    cranelift_contexts::with_codegen(|context| {
        context.func = func;
        if let Some(self_calls) = self_calls {
            context
                .inline(*self_calls)
                .map_err(|e| CompileError::Codegen {
                    name: name.clone(),
                    message: format!("{e:?}"),
                })?;
        }
        context
            .compile(isa, &mut ControlPlane::default())
            .map_err(|e| CompileError::Codegen {
                name: name.clone(),
                message: format!("{:?}", e.inner),
            })?;
        let compiled = context.compiled_code().expect("compiled just now");
        // The saved frame pointer and return address, and the frame (an
        // unknown frame counts as too big).
        let frame = 2 * size_of::<u64>()
            + compiled
                .buffer
                .frame_layout()
                .map_or(usize::MAX / 2, |layout| layout.frame_to_fp_offset as usize);
        let mut code = finish_code(name, compiled, &context.func)?;
        if self_calls.is_some() {
            // Where the inlined body's builtin calls record their exit.
            code.inlined.insert(0, INLINED_EXIT_PC);
            code.inlined.dedup();
        }
        Ok((code, frame))
    })
}

/// Takes what the runtime needs out of Cranelift's output for `func`.
fn finish_code(
    name: String,
    compiled: &cranelift_codegen::CompiledCode,
    func: &Function,
) -> Result<FunctionCode, CompileError> {
    let mut inlined = Vec::new();
    let traps = compiled
        .buffer
        .traps()
        .iter()
        .map(|trap| {
            let code = match traps::from_inlined(trap.code) {
                Some(original) => {
                    inlined.push(trap.offset);
                    original
                }
                None => trap.code,
            };
            (trap.offset, code.as_raw().get())
        })
        .collect();
    inlined.extend(
        compiled
            .buffer
            .debug_tags()
            .filter(|list| list.pos == MachDebugTagPos::Post && list.tags.contains(&INLINED_CALL))
            .map(|list| list.offset),
    );
    inlined.sort_unstable();
    inlined.dedup();
    let call_sites = exception_table::call_sites(&name, &compiled.buffer)?;
    let stack_maps = stack_maps::sites(&name, &compiled.buffer)?;
    let relocs = compiled.buffer.relocs().to_vec();
    let bytes = compiled.code_buffer().to_vec();
    let hot_loops = HotLoops::find(&compiled.bb_starts, &compiled.bb_edges, bytes.len() as u32);
    let mut calls = Vec::new();
    for reloc in relocs {
        let Some(kind) = CallReloc::of(reloc.kind) else {
            return Err(CompileError::Relocation {
                name,
                what: format!("{:?}", reloc.kind),
            });
        };
        let FinalizedRelocTarget::ExternalName(ExternalName::User(r)) = reloc.target else {
            return Err(CompileError::Relocation {
                name,
                what: format!("target {:?}", reloc.target),
            });
        };
        let UserExternalName { index, .. } = func.params.user_named_funcs()[r];
        calls.push((reloc.offset, index, reloc.addend, kind));
    }
    Ok(FunctionCode {
        bytes,
        traps,
        inlined,
        calls,
        hot_loops,
        call_sites,
        stack_maps,
    })
}

/// Modules with at least this many functions and trampolines are
/// compiled on several threads.
const PARALLEL_THRESHOLD: usize = 8;

/// Translates and compiles defined function `defined` alone (the lazy
/// JIT's unit of work), to `tier`.
pub(crate) fn compile_defined(
    isa: &dyn TargetIsa,
    info: &ModuleInfo,
    defined: u32,
    tier: CodeTier,
) -> Result<FunctionCode, CompileError> {
    let index = info.module.num_imported_funcs() + defined;
    compile_wasm_function(isa, info, index, tier)
}

/// The two trampolines of a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trampoline {
    /// Host → Wasm: `Store::call` enters a function of the type.
    Entry,
    /// Wasm → host: a host function imported with the type.
    HostAdapter,
}

/// Compiles the `kind` trampoline of type `t` (the lazy JIT compiles each
/// on first use; eager code compiles them all as jobs).
pub(crate) fn compile_trampoline(
    isa: &dyn TargetIsa,
    module: &ValidatedModule,
    kind: Trampoline,
    t: u32,
) -> Result<FunctionCode, CompileError> {
    let build = match kind {
        Trampoline::Entry => entry_trampoline as TrampolineBuilder,
        Trampoline::HostAdapter => host_adapter as TrampolineBuilder,
    };
    let frontend = isa.frontend_config();
    let func = cranelift_contexts::with_builder(|context| {
        Ok::<_, CompileError>(build(&module.types()[t as usize], t, context, frontend))
    })?;
    compile_function(isa, func)
}

/// What builds a trampoline's Cranelift function.
type TrampolineBuilder = fn(
    &wasmtier_core::FuncType,
    u32,
    &mut cranelift_frontend::FunctionBuilderContext,
    cranelift_codegen::isa::TargetFrontendConfig,
) -> Function;

/// One unit of compilation: a defined function, or one of the two
/// trampolines of a type.
#[derive(Debug, Clone, Copy)]
enum Job {
    Defined(u32),
    EntryTrampoline(u32),
    HostAdapter(u32),
}

impl Job {
    /// Every job of a module, in layout order: defined functions, then an
    /// entry trampoline and a host adapter per signature that some
    /// function has (`serving`, from [`trampoline_types`]).
    fn all(module: &ValidatedModule, serving: &[Option<u32>]) -> Vec<Job> {
        let defined = (0..module.num_defined_funcs()).map(Job::Defined);
        let trampolines = (0..serving.len() as u32)
            .filter(|&t| serving[t as usize] == Some(t))
            .flat_map(|t| [Job::EntryTrampoline(t), Job::HostAdapter(t)]);
        defined.chain(trampolines).collect()
    }
}

/// In the layout's per-type tables: this type has no trampoline (no
/// function of the module has it, so nothing can call through one).
pub const NO_TRAMPOLINE: u32 = u32::MAX;

/// For each type index, the type whose trampolines serve it: the first
/// type with the same signature that some function (imported or defined)
/// has, or `None` when no function has it. Trampolines are then compiled
/// once per signature in use, so compile work is bounded by the functions
/// of a module, not by how many types it declares (a million identical or
/// unused types cost nothing).
pub(crate) fn trampoline_types(module: &ValidatedModule) -> Vec<Option<u32>> {
    let mut used = vec![false; module.types().len()];
    let mut func = 0;
    while let Some(type_index) = module.func_type_index(func) {
        if let Some(slot) = used.get_mut(type_index as usize) {
            *slot = true;
        }
        func += 1;
    }
    let mut first = std::collections::HashMap::new();
    module
        .types()
        .iter()
        .zip(0u32..)
        .map(|(ty, t)| used[t as usize].then(|| *first.entry(ty).or_insert(t)))
        .collect()
}

/// Translates and compiles every job, returning the code in job order.
/// Threads take the next job from a shared counter, so one large function
/// does not leave the other threads idle.
fn compile_jobs(
    isa: &dyn TargetIsa,
    info: &ModuleInfo,
    config: &EngineConfig,
    jobs: &[Job],
) -> Result<Vec<FunctionCode>, CompileError> {
    let module = &info.module;
    // Compilation counts against `--timeout`: a module too big to compile
    // in the budget stops here instead of running on for minutes.
    let deadline = config.deadline();
    // Counted and reported under one lock, so that the reports a watcher
    // sees only grow and the last one is `jobs.len()`; a lock per compiled
    // function costs nothing next to compiling it.
    let done = std::sync::Mutex::new(0usize);
    let report = || {
        if let Some(progress) = &config.progress {
            let mut done = done.lock().unwrap_or_else(|e| e.into_inner());
            *done += 1;
            progress.report(*done, jobs.len());
        }
    };
    // Functions with thousands of calls get the baseline pipeline
    // (`call_profile::MAX_OPTIMIZED_CALLS`), for the same target.
    let baseline = std::sync::OnceLock::new();
    let one = |job: Job| -> Result<FunctionCode, CompileError> {
        if deadline.is_some_and(|at| std::time::Instant::now() >= at) {
            return Err(CompileError::TimeLimit);
        }
        let mut isa = isa;
        if let Job::Defined(defined) = job
            && call_profile(info, defined).sites > MAX_OPTIMIZED_CALLS
        {
            let baseline = baseline.get_or_init(|| baseline_like(isa));
            isa = match baseline {
                Ok(baseline) => &**baseline,
                Err(e) => return Err(e.clone().into()),
            };
        }
        let code = match job {
            Job::Defined(defined) => {
                let index = module.num_imported_funcs() + defined;
                compile_wasm_function(isa, info, index, CodeTier::Optimized)?
            }
            Job::EntryTrampoline(t) => compile_trampoline(isa, module, Trampoline::Entry, t)?,
            Job::HostAdapter(t) => compile_trampoline(isa, module, Trampoline::HostAdapter, t)?,
        };
        report();
        Ok(code)
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if config.low_memory || jobs.len() < PARALLEL_THRESHOLD || threads == 1 {
        return jobs.iter().map(|&job| one(job)).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<Option<Result<FunctionCode, CompileError>>> =
        jobs.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.min(jobs.len()))
            .map(|_| {
                let (one, next) = (&one, &next);
                scope.spawn(move || {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&job) = jobs.get(i) else { break done };
                        done.push((i, one(job)));
                    }
                })
            })
            .collect();
        for worker in workers {
            for (i, result) in worker.join().expect("compiler thread panicked") {
                results[i] = Some(result);
            }
        }
    });
    results
        .into_iter()
        .map(|r| r.expect("every job compiled"))
        .collect()
}

/// Functions placed one after another in one buffer.
#[derive(Default)]
struct Layout {
    code: Vec<u8>,
    /// `(site, callee function index, addend, kind)`.
    relocs: Vec<(usize, u32, i64, CallReloc)>,
    traps: Vec<(u32, u8)>,
    inlined: Vec<u32>,
    call_sites: Vec<CallSite>,
    stack_maps: Vec<StackMapSite>,
}

impl Layout {
    fn place(&mut self, function: FunctionCode) -> Result<Range<u32>, LayoutError> {
        while !self.code.len().is_multiple_of(FUNCTION_ALIGNMENT) {
            self.code.push(0);
        }
        let padding = function.loop_padding(self.code.len());
        self.code.resize(self.code.len() + padding, 0);
        let start = self.code.len();
        let base = u32::try_from(start).map_err(|_| LayoutError::TooBig)?;
        self.code.extend_from_slice(&function.bytes);
        let end = u32::try_from(self.code.len()).map_err(|_| LayoutError::TooBig)?;
        self.traps.extend(
            function
                .traps
                .iter()
                .map(|&(offset, code)| (base + offset, code)),
        );
        self.inlined
            .extend(function.inlined.iter().map(|offset| base + offset));
        self.call_sites
            .extend(function.call_sites.iter().map(|site| site.placed_at(base)));
        self.stack_maps
            .extend(function.stack_maps.iter().map(|site| site.placed_at(base)));
        self.relocs.extend(
            function
                .calls
                .iter()
                .map(|&(offset, callee, addend, kind)| {
                    (start + offset as usize, callee, addend, kind)
                }),
        );
        Ok(base..end)
    }
}

/// Compiles `module` into position-independent code and its layout.
pub fn compile_image(
    isa: &dyn TargetIsa,
    info: &ModuleInfo,
    config: &EngineConfig,
) -> Result<CodeImage, CompileError> {
    let module = &info.module;
    let mut layout = Layout::default();
    let mut functions = Vec::with_capacity(module.num_defined_funcs() as usize);
    let mut entry_trampolines = vec![NO_TRAMPOLINE; module.types().len()];
    let mut host_adapters = vec![NO_TRAMPOLINE; module.types().len()];
    let serving = trampoline_types(module);
    let jobs = Job::all(module, &serving);
    for (job, code) in jobs.iter().zip(compile_jobs(isa, info, config, &jobs)?) {
        let range = layout.place(code)?;
        match *job {
            Job::Defined(_) => functions.push(range),
            Job::EntryTrampoline(t) => entry_trampolines[t as usize] = range.start,
            Job::HostAdapter(t) => host_adapters[t as usize] = range.start,
        }
    }
    // Types that share a signature share its trampolines.
    for (t, serving) in serving.iter().enumerate() {
        if let Some(serving) = *serving {
            entry_trampolines[t] = entry_trampolines[serving as usize];
            host_adapters[t] = host_adapters[serving as usize];
        }
    }
    for &(site, func, addend, kind) in &layout.relocs {
        let defined = func
            .checked_sub(module.num_imported_funcs())
            .ok_or(LayoutError::CallToImport)?;
        let target = functions[defined as usize].start as usize;
        kind.apply(&mut layout.code, site, target, addend)?;
    }
    let mut traps = layout.traps;
    traps.sort_unstable_by_key(|t| t.0);
    Ok(CodeImage {
        code: layout.code,
        layout: CodeLayout {
            functions,
            entry_trampolines,
            host_adapters,
            traps,
            // Functions are placed in order, each one's sites in order.
            inlined: layout.inlined,
            call_sites: layout.call_sites,
            stack_maps: layout.stack_maps,
        },
    })
}

pub fn compile_module(
    isa: &dyn TargetIsa,
    module: &Arc<ValidatedModule>,
    config: &EngineConfig,
) -> Result<(ModuleInfo, CompiledCode), CompileError> {
    let info = ModuleInfo::new(module.clone(), config)?;
    let image = compile_image(isa, &info, config)?;
    let memory = CodeMemory::new(&image.code)?;
    let code = CompiledCode::new(memory, image.layout.tables(), module)?;
    Ok((info, code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trampolines_are_compiled_once_per_signature_in_use() {
        // 10,000 types: copies of two signatures, one of them never used.
        let types: String = (0..10_000)
            .map(|i| match i % 2 {
                0 => "(type (func (param i32) (result i32)))",
                _ => "(type (func (param f64)))",
            })
            .collect();
        let text = format!(
            r#"(module {types}
                 (import "m" "f" (func (type 2)))
                 (func (type 0) (local.get 0)) (func (type 4) (local.get 0)))"#
        );
        let bytes = wat::parse_str(&text).unwrap();
        let module = ValidatedModule::new(&bytes, wasmtier_core::Features::default()).unwrap();
        let serving = trampoline_types(&module);
        assert_eq!(serving[0], Some(0));
        assert_eq!(serving[2], Some(0), "equal signatures share");
        assert_eq!(serving[4], Some(0));
        assert_eq!(serving[1], None, "no function has it");
        assert_eq!(serving[6], None, "no function has it");
        // Two defined functions, one trampoline pair.
        assert_eq!(Job::all(&module, &serving).len(), 2 + 2);
    }
}
