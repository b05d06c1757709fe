//! `wasmtier run`: instantiate a module with the capabilities granted on the
//! command line and run its `_start` or an `--invoke`d export.

use crate::phases::Phases;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use wasmtier_core::{
    BaselineCompiler, CallError, Compilation, EngineConfig, EngineKind, Features, LinkError, Store,
    Trap, TrapKind,
};
use wasmtier_wasi::{Preopen, WasiConfig, WasiState};

use crate::engines::{EngineArg, EngineChoice};
use crate::profile::ProfileKind;
use crate::units::{parse_duration, parse_size};
use crate::wasmtime_opts::{self, CodegenOpt, WasiOpt, WasmOpt, merge};
use crate::{TRAP_EXIT_STATUS, values};

#[derive(Args)]
pub struct RunArgs {
    /// Print how long each phase took (read and validate, compile or load,
    /// instantiate, run) to stderr.
    #[arg(short, long)]
    verbose: bool,
    /// Execution tier [default: auto where this build has the jit and aot
    /// engines for the host, otherwise jit where it has that, otherwise
    /// interp; interp with --low-memory; jit with --compilation,
    /// --tier-up-after or --baseline, which are its settings].
    #[arg(long, value_enum)]
    engine: Option<EngineArg>,
    /// Call this export instead of `_start`; the arguments after FILE are its
    /// typed arguments, and its results are printed one per line.
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,
    /// Stop the guest with a trap after this many units of fuel.
    #[arg(long, value_name = "N")]
    fuel: Option<u64>,
    /// Cap on each linear memory (bytes; K, M, G suffixes allowed).
    /// `memory.grow` beyond it returns -1.
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    max_memory: Option<u64>,
    /// Cap on the GC heap, where Wasm 3.0 structs and arrays live (bytes; K,
    /// M, G suffixes allowed; default 1G, at most 4G). An allocation that
    /// does not fit after collecting traps with "allocation failed".
    #[arg(long, value_name = "BYTES", value_parser = crate::units::parse_gc_heap)]
    max_gc_heap: Option<u64>,
    /// Cap on the guest's value stack (bytes; K, M, G suffixes allowed).
    /// Recursion past it traps with "call stack exhausted".
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    max_stack: Option<u64>,
    /// Stop the guest with a trap once this much wall-clock time has passed
    /// (`500ms`, `2s`, `1m`; a bare number is seconds).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// Cap on the number of elements of each table; `table.grow` beyond it
    /// returns -1.
    #[arg(long, value_name = "N")]
    max_table_elements: Option<u64>,
    /// Small-footprint mode for tiny devices (interpreter only): functions
    /// are translated on first call, stacks start small and are capped at
    /// 64 KiB unless --max-stack says otherwise.
    #[arg(long)]
    low_memory: bool,
    /// Back linear memories with base pages only (jit and aot engines). By
    /// default they ask the kernel for transparent huge pages, which makes
    /// random access over megabytes of memory faster but commits memory
    /// 2 MiB at a time; the interpreter never asks for them.
    #[arg(long)]
    no_huge_pages: bool,
    /// When the jit engine compiles: `concurrent` (every function,
    /// optimized, on background threads while the program runs; a call to
    /// one not compiled yet compiles it or waits for it; one of over 4 KiB
    /// of Wasm starts in baseline code and is optimized when hot), `eager` (every
    /// function, optimized, before the program starts), `lazy` (each
    /// function optimized on its first call), or `tiered` (each function
    /// on its first call with a fast baseline compile; hot ones are
    /// optimized on a background thread) [default: concurrent; eager with
    /// --profile perfmap].
    #[arg(long, value_enum, value_name = "WHEN")]
    compilation: Option<CompilationArg>,
    /// With --compilation tiered: optimize a function once its calls plus
    /// loop iterations reach N (0: never optimize) [default: 1000].
    #[arg(long, value_name = "N")]
    tier_up_after: Option<u32>,
    /// With --compilation tiered: which compiler makes the first, baseline
    /// code: `single-pass` (a fast one-pass compiler, for the functions it
    /// supports on x86-64; Cranelift for the rest) or `cranelift`
    /// (Cranelift without optimizations, for every function)
    /// [default: single-pass].
    #[arg(long, value_enum, value_name = "COMPILER")]
    baseline: Option<BaselineArg>,
    /// Most threads a wasi-threads program may have running besides its
    /// main one; spawning more fails with EAGAIN. 0: the program gets no
    /// `wasi::thread-spawn` (wasmtime's `-S threads=n`) [default: 64].
    #[arg(long, value_name = "N")]
    max_threads: Option<u32>,
    /// Grant access to a host directory, seen by the guest as GUEST
    /// (default: the host path). Repeatable.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,
    /// Like --dir, but the guest may only read.
    #[arg(long = "dir-ro", value_name = "HOST[::GUEST]")]
    dirs_read_only: Vec<String>,
    /// Set a guest environment variable; `NAME` alone passes the host's value.
    /// Repeatable. The guest sees no host environment otherwise.
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    envs: Vec<String>,
    /// Pass the whole host environment to the guest.
    #[arg(long)]
    inherit_env: bool,
    /// Where the aot engine and auto keep compiled modules [default:
    /// `$XDG_CACHE_HOME/wasmtier/aot`, else `~/.cache/wasmtier/aot`].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Keep no compiled code: the aot engine compiles afresh, and auto
    /// neither looks in the cache nor writes to it in the background.
    #[arg(long)]
    no_cache: bool,
    /// wasmtime-style limits, repeatable or comma-separated: `fuel=N`,
    /// `max-memory-size=BYTES`, `max-wasm-stack=BYTES`,
    /// `max-table-elements=N`, `timeout=DURATION` (the same as --fuel,
    /// --max-memory, --max-stack, --max-table-elements, --timeout).
    #[arg(short = 'W', value_name = "KEY=VALUE", value_delimiter = ',',
          value_parser = wasmtime_opts::parse_wasm)]
    wasm_options: Vec<WasmOpt>,
    /// wasmtime-style WASI settings: `inherit-env[=y|n]` (--inherit-env).
    #[arg(short = 'S', value_name = "KEY[=VALUE]", value_delimiter = ',',
          value_parser = wasmtime_opts::parse_wasi)]
    wasi_options: Vec<WasiOpt>,
    /// wasmtime-style code-generation settings: `cache[=y|n]` (`cache=n`
    /// is --no-cache).
    #[arg(short = 'C', value_name = "KEY[=VALUE]", value_delimiter = ',',
          value_parser = wasmtime_opts::parse_codegen)]
    codegen_options: Vec<CodegenOpt>,
    /// Tell `perf` the names of the module's functions (jit and aot
    /// engines): `perfmap` writes `/tmp/perf-<pid>.map`; `jitdump` writes
    /// `./jit-<pid>.dump` for `perf inject --jit` (record with `perf record
    /// -k mono`), which also covers code compiled while running
    /// (`--compilation concurrent|lazy|tiered`, `--engine auto`), where
    /// perf does not read the map.
    #[arg(long, value_enum, value_name = "STRATEGY")]
    profile: Option<ProfileKind>,
    /// Run FILE even if it is a precompiled `.cwasm` artifact. An artifact
    /// is native code that runs with this process's rights: only allow
    /// artifacts you made or trust. Without this flag they are refused,
    /// whatever the file is called.
    #[arg(long)]
    allow_precompiled: bool,
    /// The module: `.wasm`, `.wat`, or (with --allow-precompiled) a `.cwasm`
    /// artifact from `wasmtier compile`, detected by its contents.
    file: PathBuf,
    /// Arguments for the program, or for the `--invoke`d function:
    /// everything from the first argument after FILE that is not a wasmtier
    /// option (after `--`, everything).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// `--compilation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum CompilationArg {
    Eager,
    Lazy,
    Concurrent,
    Tiered,
}

/// `--baseline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum BaselineArg {
    SinglePass,
    Cranelift,
}

/// How `run` splits its command line, shown after its options in `--help`.
pub const ARGUMENT_RULE: &str = "\
Arguments after FILE:
  wasmtier's own options may come before or after FILE; the guest gets every
  argument from the first one after FILE that is not a wasmtier option:
    wasmtier run app.wasm --dir=. --engine=jit --memdb data.db
  gives the guest `--memdb data.db`. After `--` everything goes to the guest,
  which is needed only for a guest flag that has the name of one of ours
  (`run app.wasm -- --help`, `run app.wasm -- -v`).

Differences from `wasmtime run`:
  wasmtime hands the guest everything after the module; wasmtier reads its
  own options there too, so a guest flag named like one of ours (-v, --help,
  --env, ...) needs `--` before it. --dir HOST[::GUEST], --env NAME[=VALUE]
  and --invoke NAME mean what they mean in wasmtime. Of -W, -S and -C,
  wasmtier has the keys listed with those options and refuses any other.
  The subcommand is not optional: `wasmtier run app.wasm`, not
  `wasmtier app.wasm`.";

fn split_dir(spec: &str, read_only: bool) -> Preopen {
    let (host, guest) = match spec.split_once("::") {
        Some((host, guest)) => (host, guest),
        None => (spec, spec),
    };
    Preopen {
        host: PathBuf::from(host),
        guest: guest.to_string(),
        read_only,
    }
}

impl RunArgs {
    /// Folds the wasmtime-style `-W`/`-S`/`-C` options into wasmtier's own
    /// flags, so that the rest of `run` reads one set of fields.
    fn fold_wasmtime_options(&mut self) -> Result<()> {
        for option in std::mem::take(&mut self.wasm_options) {
            match option {
                WasmOpt::Fuel(n) => merge(&mut self.fuel, n, "--fuel", "-W fuel"),
                WasmOpt::MaxMemorySize(n) => merge(
                    &mut self.max_memory,
                    n,
                    "--max-memory",
                    "-W max-memory-size",
                ),
                WasmOpt::MaxWasmStack(n) => {
                    merge(&mut self.max_stack, n, "--max-stack", "-W max-wasm-stack")
                }
                WasmOpt::MaxTableElements(n) => merge(
                    &mut self.max_table_elements,
                    n,
                    "--max-table-elements",
                    "-W max-table-elements",
                ),
                WasmOpt::Timeout(d) => merge(&mut self.timeout, d, "--timeout", "-W timeout"),
            }
            .map_err(anyhow::Error::msg)?;
        }
        for option in std::mem::take(&mut self.wasi_options) {
            match option {
                WasiOpt::InheritEnv(false) if self.inherit_env => {
                    bail!("-S inherit-env=n and --inherit-env disagree: give one of them")
                }
                WasiOpt::InheritEnv(yes) => self.inherit_env |= yes,
                // wasi-threads is on by default; `threads=n` turns it off.
                WasiOpt::Threads(true) if self.max_threads == Some(0) => {
                    bail!("-S threads=y and --max-threads 0 disagree: give one of them")
                }
                WasiOpt::Threads(true) => {}
                WasiOpt::Threads(false) => {
                    if self.max_threads.is_some_and(|n| n > 0) {
                        bail!("-S threads=n and --max-threads disagree: give one of them");
                    }
                    self.max_threads = Some(0);
                }
            }
        }
        for option in std::mem::take(&mut self.codegen_options) {
            match option {
                CodegenOpt::Cache(true) if self.no_cache => {
                    bail!("-C cache=y and --no-cache disagree: give one of them")
                }
                CodegenOpt::Cache(yes) => self.no_cache |= !yes,
            }
        }
        Ok(())
    }

    /// The engines' settings; `--timeout` counts from `started`, so the time
    /// spent compiling is part of the budget.
    fn engine_config(&self, started: Instant) -> EngineConfig {
        EngineConfig {
            // What `run` enables by default, as far as the engine has it; a
            // module that needs more is refused naming the engines that do.
            features: Features::finished().intersect(self.engine().features()),
            fuel: self.fuel,
            max_memory: self.max_memory,
            max_gc_heap: self.max_gc_heap,
            max_stack: self
                .max_stack
                .map(|b| usize::try_from(b).unwrap_or(usize::MAX)),
            timeout: self.timeout,
            timeout_start: Some(started),
            max_table_elements: self.max_table_elements,
            low_memory: self.low_memory,
            no_huge_pages: self.no_huge_pages,
            progress: None,
            compilation: self.compilation(),
            baseline: match self.baseline {
                None | Some(BaselineArg::SinglePass) => BaselineCompiler::SinglePass,
                Some(BaselineArg::Cranelift) => BaselineCompiler::Cranelift,
            },
        }
    }

    /// `--compilation` and `--tier-up-after` as the engines' setting.
    fn compilation(&self) -> Compilation {
        match self.effective_compilation() {
            None | Some(CompilationArg::Eager) => Compilation::Eager,
            Some(CompilationArg::Lazy) => Compilation::Lazy,
            Some(CompilationArg::Concurrent) => Compilation::Concurrent,
            Some(CompilationArg::Tiered) => Compilation::Tiered {
                tier_up_after: match self.tier_up_after {
                    Some(0) => None,
                    Some(n) => Some(n),
                    None => Some(Compilation::TIER_UP_AFTER),
                },
                background: true,
            },
        }
    }

    /// `--compilation`, or the default for the engine: tiered for
    /// `--engine auto`; for the jit, concurrent (its fastest start: the
    /// program runs while code it has not reached yet compiles), but
    /// eager with `--profile perfmap`, since perf reads that map only for
    /// anonymous memory and code compiled while running lives in a
    /// `memfd` mapping.
    fn effective_compilation(&self) -> Option<CompilationArg> {
        match self.compilation {
            None if self.is_auto() => Some(CompilationArg::Tiered),
            None if self.profile == Some(ProfileKind::Perfmap) => Some(CompilationArg::Eager),
            None => Some(CompilationArg::Concurrent),
            other => other,
        }
    }

    /// Refuses `--compilation`, `--tier-up-after` and `--baseline` where
    /// they would change nothing.
    fn check_compilation(&self, engine: EngineChoice) -> Result<()> {
        if self.engine == Some(EngineArg::Auto) && !self.low_memory {
            let flag = if self.compilation.is_some() {
                Some("--compilation")
            } else if self.tier_up_after.is_some() {
                Some("--tier-up-after")
            } else if self.baseline.is_some() {
                Some("--baseline")
            } else {
                None
            };
            if let Some(flag) = flag {
                bail!(
                    "{flag} is a setting of the jit engine, and --engine auto runs a cached \
                     artifact when it has one, compiling nothing; use --engine jit \
                     (or leave out --engine: {flag} then chooses the jit)"
                );
            }
        }
        if self.tier_up_after.is_some()
            && self.effective_compilation() != Some(CompilationArg::Tiered)
        {
            bail!("--tier-up-after needs --compilation tiered");
        }
        if self.baseline.is_some() && self.effective_compilation() != Some(CompilationArg::Tiered) {
            bail!("--baseline needs --compilation tiered");
        }
        if self.compilation.is_some() && engine.kind() != EngineKind::Jit {
            bail!(
                "--compilation chooses when the jit engine compiles; the {engine} engine {}",
                if engine.kind() == EngineKind::Aot {
                    "always runs code compiled before the program starts"
                } else {
                    "translates each function on its first call anyway"
                }
            );
        }
        Ok(())
    }

    fn wasi_config(&self, started: Instant) -> Result<WasiConfig> {
        let mut env = Vec::new();
        if self.inherit_env {
            env.extend(std::env::vars());
        }
        for spec in &self.envs {
            match spec.split_once('=') {
                Some((name, value)) => env.push((name.to_string(), value.to_string())),
                None => {
                    let value = std::env::var(spec).with_context(|| {
                        format!("--env {spec}: not set in the host environment")
                    })?;
                    env.push((spec.clone(), value));
                }
            }
        }
        let preopens = self
            .dirs
            .iter()
            .map(|d| split_dir(d, false))
            .chain(self.dirs_read_only.iter().map(|d| split_dir(d, true)))
            .collect();
        // The guest learns the program's name, not where it lives on the
        // host (as wasmtime does).
        let program = self
            .file
            .file_name()
            .unwrap_or(self.file.as_os_str())
            .to_string_lossy()
            .into_owned();
        let args = if self.invoke.is_some() {
            vec![program]
        } else {
            std::iter::once(program)
                .chain(self.args.iter().cloned())
                .collect()
        };
        Ok(WasiConfig {
            args,
            env,
            preopens,
            inherit_stdio: true,
            // The engines' deadline: one budget for compiling, running Wasm
            // and waiting in WASI calls.
            deadline: self.engine_config(started).deadline(),
        })
    }
}

impl RunArgs {
    /// `--max-threads`, or its default.
    fn max_threads(&self) -> u32 {
        self.max_threads
            .unwrap_or(wasmtier_wasi::DEFAULT_MAX_THREADS)
    }

    /// Whether this run is `--engine auto`: asked for, or the default
    /// where the build has it. `--low-memory` means the interpreter, and
    /// the jit's own settings (`--compilation`, `--tier-up-after`,
    /// `--baseline`) without `--engine` mean the jit.
    fn is_auto(&self) -> bool {
        if self.low_memory {
            return false;
        }
        match self.engine {
            Some(EngineArg::Auto) => true,
            Some(EngineArg::Engine(_)) => false,
            None => EngineArg::auto_available() && !self.sets_the_jit_compilation(),
        }
    }

    fn sets_the_jit_compilation(&self) -> bool {
        self.compilation.is_some() || self.tier_up_after.is_some() || self.baseline.is_some()
    }

    /// The engine asked for, or the default for this mode.
    fn engine(&self) -> EngineChoice {
        match self.engine {
            Some(EngineArg::Engine(engine)) => engine,
            Some(EngineArg::Auto) if self.low_memory => {
                EngineChoice::of(EngineKind::Interp).unwrap_or_else(EngineChoice::default_engine)
            }
            Some(EngineArg::Auto) => {
                EngineChoice::of(EngineKind::Jit).expect("auto is offered only with the jit")
            }
            None if self.low_memory => {
                EngineChoice::of(EngineKind::Interp).unwrap_or_else(EngineChoice::default_engine)
            }
            None if self.is_auto() => {
                EngineChoice::of(EngineKind::Jit).expect("auto is offered only with the jit")
            }
            None => EngineChoice::default_engine(),
        }
    }
}

pub fn run(mut args: RunArgs) -> Result<ExitCode> {
    let started = Instant::now();
    args.fold_wasmtime_options()?;
    let engine_choice = args.engine();
    if args.low_memory && !engine_choice.supports_low_memory() {
        bail!(
            "--low-memory runs on the interpreter only; use --engine interp (not --engine {engine_choice})"
        );
    }
    if let Some(kind) = args.profile
        && !engine_choice.supports_profiling()
    {
        let engines = EngineChoice::profiling_engines();
        if engines.is_empty() {
            bail!("--profile={kind:?} needs a compiled tier, and this build has none");
        }
        bail!(
            "--profile needs machine code to name, which the {engine_choice} engine does not make; \
             use --engine {}",
            engines.join(" or --engine ")
        );
    }
    args.check_compilation(engine_choice)?;
    let mut config = args.engine_config(started);
    let bar = crate::progress::CompileBar::for_stderr();
    config.progress = bar.as_ref().map(|bar| bar.hook());
    let cache = crate::compile::CacheOptions {
        dir: args.cache_dir.clone(),
        disabled: args.no_cache,
    };
    let mut phases = Phases::new(args.verbose);
    let request = crate::compile::Request {
        file: &args.file,
        choice: engine_choice,
        // `--engine auto` runs an artifact like the default does.
        explicit: matches!(args.engine, Some(EngineArg::Engine(_))),
        auto: args.is_auto(),
        allow_precompiled: args.allow_precompiled,
        cache: &cache,
    };
    let prepared = crate::compile::prepare(&request, config, &mut phases);
    drop(bar);
    let (engine, compiled) = match prepared {
        Ok(prepared) => prepared,
        // `--timeout` ends a run in compilation like one in Wasm code.
        Err(err) if matches!(err.downcast_ref(), Some(LinkError::CompileTimeLimit)) => {
            eprintln!("error: {}", LinkError::CompileTimeLimit);
            return Ok(ExitCode::from(TRAP_EXIT_STATUS));
        }
        Err(err) => return Err(err),
    };
    // Kept until the guest is done: perf must see the jitdump mapping.
    let profile = match args.profile {
        Some(kind) => {
            let profile = crate::profile::record(kind, compiled.as_ref())?;
            let later = if profile.lazy {
                "; the others as they are compiled"
            } else {
                ""
            };
            phases.mark(format_args!(
                "write the profile map ({} functions, code at {:#x}..{:#x}, {}{later})",
                profile.functions,
                profile.code.start,
                profile.code.end,
                profile.path.display()
            ));
            Some(profile)
        }
        None => None,
    };
    let module = compiled.module().clone();
    let mut wasi = WasiState::new(&args.wasi_config(started)?)?;
    let uses_wasi = module.imports_from(wasmtier_wasi::MODULE);
    if uses_wasi && module.export("memory").is_none() {
        bail!("the module imports WASI functions but exports no memory named `memory`");
    }
    let engine: Arc<dyn wasmtier_core::Engine> = Arc::from(engine);
    let shared_memory = crate::threads::imported_memory(engine.as_ref(), &module)?;
    let spawns = wasmtier_wasi::spawns_threads(&module);
    if spawns && args.max_threads() == 0 {
        bail!(
            "the module spawns threads (it imports `wasi::thread-spawn`), which --max-threads 0 \
             or -S threads=n turned off"
        );
    }
    if spawns {
        crate::threads::enable_spawning(
            &mut wasi,
            engine.clone(),
            compiled.clone(),
            shared_memory.as_ref(),
            args.max_threads(),
            args.engine_config(started).max_stack,
        )?;
    }
    let mut store = engine.new_store(Box::new(wasi));
    if uses_wasi {
        wasmtier_wasi::define_imports(store.as_mut())?;
    }
    if spawns {
        wasmtier_wasi::define_thread_spawn(store.as_mut())?;
    }
    if let Some(memory) = &shared_memory {
        memory.define(store.as_mut())?;
    }
    phases.mark("set up WASI and the store");
    let instance = match store.instantiate(compiled.as_ref()) {
        Ok(instance) => instance,
        Err(LinkError::Trap(trap)) => return Ok(report_trap(&trap)),
        Err(err) => return Err(err).context("failed to instantiate the module"),
    };
    phases.mark("instantiate");
    let call = |store: &mut dyn Store, name: &str, call_args: &[wasmtier_core::Val]| {
        store.call(instance, name, call_args)
    };
    let outcome = match &args.invoke {
        Some(name) => {
            if module.export("_initialize").is_some()
                && let Err(err) = call(store.as_mut(), "_initialize", &[])
            {
                return finish(err);
            }
            let ty = store.func_type(instance, name)?;
            let call_args = values::parse_args(name, &ty, &args.args)?;
            call(store.as_mut(), name, &call_args).map(|results| {
                for value in results {
                    println!("{value}");
                }
            })
        }
        None if module.export("_start").is_some() => call(store.as_mut(), "_start", &[]).map(drop),
        None => Ok(()),
    };
    phases.mark("run");
    if args.verbose
        && let Some(tiers) = compiled.tier_counts()
    {
        eprintln!(
            "wasmtier: tiers: {} functions compiled baseline ({} by the single-pass compiler), \
             {} optimized; {} optimized loop entries, {} activations moved into them (on-stack \
             replacement)",
            tiers.baseline,
            tiers.single_pass,
            tiers.optimized,
            tiers.loop_entries,
            tiers.replacements
        );
    }
    if args.verbose
        && let Some(profile) = profile.as_ref().filter(|p| p.lazy)
    {
        eprintln!(
            "wasmtier: profile: {} function versions written to {}",
            profile.written(),
            profile.path.display()
        );
    }
    // The process ends when this returns. Tearing down what the run built
    // (a lazily compiled module's thousands of functions and their tables,
    // the code arena, linear memories) is work the kernel does at exit
    // anyway: unmapping and freeing took about 5% of the generated
    // 20,000-function module's tiered start. Nothing in them still has
    // to reach the outside: guest output went straight to its
    // descriptors, and a profile flushes each record as it is written
    // (and is dropped as usual).
    std::mem::forget(store);
    std::mem::forget(compiled);
    std::mem::forget(module);
    std::mem::forget(engine);
    match outcome {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(err) => finish(err),
    }
}

fn finish(err: CallError) -> Result<ExitCode> {
    match err {
        CallError::Trap(trap) => Ok(report_trap(&trap)),
        other => Err(other.into()),
    }
}

/// A guest exit becomes our exit status; a trap is reported with status 134.
fn report_trap(trap: &Trap) -> ExitCode {
    match trap.kind {
        TrapKind::Exit(status) => ExitCode::from(status as u8),
        _ => {
            eprintln!("error: {trap}");
            if trap.backtrace.is_empty() {
                eprintln!("note: this engine records no wasm backtrace");
            }
            ExitCode::from(TRAP_EXIT_STATUS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_specs_split_host_and_guest() {
        let p = split_dir("/tmp/data::/data", false);
        assert_eq!(
            (p.host.to_str(), p.guest.as_str()),
            (Some("/tmp/data"), "/data")
        );
        let p = split_dir(".", true);
        assert_eq!(
            (p.host.to_str(), p.guest.as_str(), p.read_only),
            (Some("."), ".", true)
        );
    }
}
