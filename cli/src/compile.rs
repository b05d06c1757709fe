//! `wasmtier compile`: write an AOT artifact; and how `run` turns a file
//! into compiled code (a `.cwasm` artifact is detected by its magic and,
//! with `--allow-precompiled` only, loaded with no compilation).

use crate::phases::Phases;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use wasmtier_core::{CompiledModule, Engine, EngineConfig, EngineKind, LoadError};

use crate::engines::EngineChoice;
use crate::load_module;

/// `run`'s cache flags, for the aot engine.
#[derive(Debug, Clone, Default)]
#[cfg_attr(not(wasmtier_aot), allow(dead_code))]
pub struct CacheOptions {
    pub dir: Option<PathBuf>,
    pub disabled: bool,
}

wasmtier_engines::with_aot! {
    use anyhow::Context;
    use clap::Args;
    use wasmtier_core::ValidatedModule;
    use wasmtier_engines::aot::{AotEngine, CacheMode, FileIdentity};

    impl CacheOptions {
        /// `--no-cache`, else `--cache-dir`, else the user's cache dir
        /// (no cache when there is none, e.g. without `$HOME`).
        pub fn mode(&self) -> CacheMode {
            match (&self.dir, self.disabled) {
                (_, true) => CacheMode::Off,
                (Some(dir), false) => CacheMode::Dir(dir.clone()),
                (None, false) => wasmtier_aot_default_dir().map_or(CacheMode::Off, CacheMode::Dir),
            }
        }
    }

    fn wasmtier_aot_default_dir() -> Option<PathBuf> {
        wasmtier_engines::aot::default_cache_dir()
    }

    #[derive(Args)]
    pub struct CompileArgs {
        /// The module to compile (`.wasm` or `.wat`).
        file: PathBuf,
        /// Where to write the artifact [default: FILE with extension `.cwasm`].
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Compile for another target, e.g. `aarch64-unknown-linux-gnu`
        /// (baseline CPU features of that target) [default: this host, with
        /// its CPU's features].
        #[arg(long, value_name = "TRIPLE")]
        target: Option<String>,
        /// Meter fuel in the code, for runs with `--fuel`.
        #[arg(long)]
        fuel: bool,
        /// Check for interruption in the code, for runs with `--timeout`.
        #[arg(long)]
        interruptible: bool,
    }

    pub fn compile(args: CompileArgs) -> Result<()> {
        let config = EngineConfig {
            fuel: args.fuel.then_some(u64::MAX),
            timeout: args.interruptible.then_some(std::time::Duration::MAX),
            // What `run` enables, as far as the AOT tier runs it.
            features: wasmtier_core::Features::finished().intersect(wasmtier_engines::aot::FEATURES),
            ..EngineConfig::default()
        };
        let bar = crate::progress::CompileBar::for_stderr();
        let config = EngineConfig {
            progress: bar.as_ref().map(|bar| bar.hook()),
            ..config
        };
        let module = Arc::new(load_module(&args.file, config.features)?);
        let output = args
            .output
            .unwrap_or_else(|| args.file.with_extension("cwasm"));
        AotEngine::new(config)
            .compile_to_file(&module, args.target.as_deref(), &output)
            .with_context(|| format!("cannot compile `{}`", args.file.display()))?;
        Ok(())
    }

    /// Whether `prefix` (a file's first bytes) is an artifact's magic.
    pub fn is_artifact_prefix(prefix: &[u8]) -> bool {
        wasmtier_engines::aot::is_artifact(prefix)
    }

    /// Whether `path` starts with an artifact's magic. Only a regular
    /// file is looked into: reading a pipe's first bytes would take them
    /// from the module read after this (and an artifact is mapped from a
    /// file, never read from a pipe).
    pub fn is_artifact_file(path: &Path) -> bool {
        use std::io::Read;
        if !std::fs::metadata(path).is_ok_and(|meta| meta.is_file()) {
            return false;
        }
        let mut prefix = [0u8; 8];
        std::fs::File::open(path)
            .and_then(|mut f| f.read_exact(&mut prefix))
            .is_ok_and(|()| is_artifact_prefix(&prefix))
    }
}

type Prepared = (Box<dyn Engine>, Arc<dyn CompiledModule>);

/// What became of the cache entry of an `--engine auto` miss.
#[cfg_attr(not(wasmtier_aot), allow(dead_code))]
pub enum Filling {
    /// A background compile is writing it.
    Started,
    /// Another background compile holds the cache: left for a later run.
    Busy,
    /// Not written: no cache, or not a regular file.
    NotStarted,
}

impl Filling {
    /// For `run -v`'s compile phase.
    fn describe(&self) -> &'static str {
        match self {
            Self::Started => "; writing the cache entry in the background",
            Self::Busy => {
                "; another background compile is filling the cache, so this module's entry is left for a later run"
            }
            Self::NotStarted => "",
        }
    }
}

/// What `--engine auto` found in the cache: the artifact, or (a miss) the
/// module file's bytes, read once for both.
// Without the aot engine there is no cache to hit.
#[cfg_attr(not(wasmtier_aot), allow(dead_code))]
enum AutoLookup {
    Hit(Prepared),
    Miss(wasmtier_core::input::FileBytes),
}

/// What `run` asked for: the file and how it may be run.
// Without the aot engine nothing reads the artifact and cache choices.
#[cfg_attr(not(wasmtier_aot), allow(dead_code))]
pub struct Request<'a> {
    pub file: &'a Path,
    pub choice: EngineChoice,
    /// Whether `--engine` was given (rather than the default).
    pub explicit: bool,
    /// `--allow-precompiled`.
    pub allow_precompiled: bool,
    /// `--engine auto`: the cache, else the JIT (`choice`, tiered by the
    /// configuration) while the cache entry is written in the background.
    pub auto: bool,
    pub cache: &'a CacheOptions,
}

/// The engine for `run` and the module compiled (or loaded) for it: an
/// artifact is loaded (when allowed), `--engine aot` goes through the cache,
/// anything else is validated and compiled by the chosen engine.
pub fn prepare(
    request: &Request<'_>,
    config: EngineConfig,
    phases: &mut Phases,
) -> Result<Prepared> {
    if is_artifact_file(request.file) {
        return load_artifact(request, config, phases);
    }
    if request.choice.kind() == EngineKind::Aot {
        return through_cache(request, config, phases);
    }
    // `--engine auto` reads the file to look it up in the cache; on a miss
    // the module is loaded from those bytes, not read again (80 MB: 70 ms).
    let input = if request.auto {
        match cached_for_auto(request, &config, phases)? {
            AutoLookup::Hit(prepared) => return Ok(prepared),
            AutoLookup::Miss(input) => Some(input),
        }
    } else {
        None
    };
    let loaded = match input {
        Some(input) => {
            let _spinner =
                crate::progress::Spinner::start(format!("validating {}", request.file.display()));
            crate::module_from_file_bytes(request.file, input, config.features)
        }
        None => load_module(request.file, config.features),
    };
    let module =
        Arc::new(loaded.map_err(|error| explain_missing_proposals(error, request.choice))?);
    phases.mark(format_args!(
        "read and validate ({} bytes, {} functions)",
        module.bytes().len(),
        module.num_defined_funcs()
    ));
    let filling_config = request.auto.then(|| config.clone());
    let engine = request.choice.create(config);
    let compiled = engine.compile(module)?;
    if let Some(config) = filling_config {
        let filling = fill_cache_in_background(request, &config);
        phases.mark(format_args!(
            "compile (auto: no cached artifact, the tiered {} compiles each function on first call{})",
            request.choice,
            filling.describe()
        ));
    } else {
        phases.mark(format_args!("compile ({})", request.choice));
    }
    Ok((engine, compiled))
}

/// A module refused for a proposal the chosen engine does not run: says so,
/// and which engines run it, instead of only "invalid module".
fn explain_missing_proposals(error: anyhow::Error, choice: EngineChoice) -> anyhow::Error {
    let Some(LoadError::NeedsProposals { proposals, .. }) = error.downcast_ref::<LoadError>()
    else {
        return error;
    };
    let engines = wasmtier_engines::running(proposals);
    if engines.contains(&choice.name()) {
        return error;
    }
    let plural = if proposals.len() == 1 { "" } else { "s" };
    let names = proposals.join(", ");
    let missing =
        format!("the {choice} engine does not run the {names} proposal{plural} this module uses");
    if engines.is_empty() {
        return error.context(format!("{missing}, and this build has no engine that does"));
    }
    let hint = engines
        .iter()
        .map(|e| format!("--engine {e}"))
        .collect::<Vec<_>>()
        .join(" or ");
    error.context(format!(
        "{missing}; engines that do: {} (use {hint})",
        engines.join(", ")
    ))
}

wasmtier_engines::with_aot! {
    /// A `.cwasm` artifact: loaded with no compilation, when the user allows
    /// precompiled code.
    fn load_artifact(request: &Request<'_>, config: EngineConfig, phases: &mut Phases) -> Result<Prepared> {
        let file = request.file;
        // The contents, not the name, make a file native code: running
        // one must be the choice of the person who typed the command.
        if !request.allow_precompiled {
            anyhow::bail!(
                "`{}` is a precompiled artifact (native code), not a WebAssembly module; \
                 run it only if you trust where it came from, with --allow-precompiled",
                file.display()
            );
        }
        if request.explicit && request.choice.kind() != EngineKind::Aot {
            anyhow::bail!(
                "`{}` is a compiled artifact, which runs on the aot engine only (not --engine {})",
                file.display(),
                request.choice
            );
        }
        let engine = AotEngine::new(config);
        let compiled = engine
            .load_file(file)
            .with_context(|| format!("cannot load `{}`", file.display()))?;
        phases.mark("load the artifact (checked, mapped)");
        Ok((Box::new(engine), compiled))
    }

    /// `--engine auto`: the cached artifact of the module, if the cache
    /// has a valid one for this host and build; else the file's bytes.
    fn cached_for_auto(request: &Request<'_>, config: &EngineConfig, phases: &mut Phases) -> Result<AutoLookup> {
        let engine = AotEngine::with_cache(config.clone(), request.cache.mode());
        match look_up(&engine, request.file)? {
            Lookup::Unchanged(compiled) => {
                phases.mark(UNCHANGED_HIT_PHASE);
                Ok(AutoLookup::Hit((Box::new(engine), compiled)))
            }
            Lookup::Read(_, Some(compiled)) => {
                phases.mark("read, hash and load the cached artifact (auto: aot)");
                Ok(AutoLookup::Hit((Box::new(engine), compiled)))
            }
            Lookup::Read(input, None) => Ok(AutoLookup::Miss(input)),
        }
    }

    /// `run -v`'s phase for a hit on a file known by its identity.
    const UNCHANGED_HIT_PHASE: &str =
        "load the cached artifact (auto: aot; the file is unchanged since an earlier hit, so not read)";

    /// What the cache has for the module file `file`.
    enum Lookup {
        /// Its entry, found by the file's identity from an earlier hit
        /// (device, inode, size and times; the file is not read).
        Unchanged(Arc<dyn CompiledModule>),
        /// The file's bytes, and its entry if the cache has one for them.
        Read(wasmtier_core::input::FileBytes, Option<Arc<dyn CompiledModule>>),
    }

    /// Looks `file` up in `engine`'s cache: by its identity, else by its
    /// contents (a text module by its binary), indexing it by its identity
    /// on a hit for the next run.
    fn look_up(engine: &AotEngine, file: &Path) -> Result<Lookup> {
        let identity = || {
            std::fs::metadata(file)
                .ok()
                .filter(|meta| meta.is_file())
                .map(|meta| FileIdentity::of(&meta))
        };
        let before = identity();
        if let Some(compiled) = before.as_ref().and_then(|id| engine.cached_file(id)) {
            return Ok(Lookup::Unchanged(compiled));
        }
        let input = crate::input::read_module_file(file)?;
        let cached = match ValidatedModule::binary_of(&input) {
            Ok(binary) => engine.cached_remembering(&binary, before.zip(identity())),
            // Not a module: the loader says why.
            Err(_) => None,
        };
        Ok(Lookup::Read(input, cached))
    }

    /// Starts the background compile that fills the cache for the next
    /// run (`crate::fill_cache`).
    fn fill_cache_in_background(request: &Request<'_>, config: &EngineConfig) -> Filling {
        crate::fill_cache::start(request.file, &request.cache.mode(), config)
    }

    /// `--engine aot`: a cache hit needs neither validation nor
    /// compilation; a miss compiles and fills the cache.
    fn through_cache(request: &Request<'_>, config: EngineConfig, phases: &mut Phases) -> Result<Prepared> {
        let file = request.file;
        let engine = AotEngine::with_cache(config, request.cache.mode());
        let failed = || format!("failed to load `{}`", file.display());
        let input = match look_up(&engine, file)? {
            Lookup::Unchanged(compiled) => {
                phases.mark("load the cached artifact (the file is unchanged since an earlier hit, so not read)");
                return Ok((Box::new(engine), compiled));
            }
            Lookup::Read(_, Some(compiled)) => {
                phases.mark("read, hash and load the cached artifact");
                return Ok((Box::new(engine), compiled));
            }
            Lookup::Read(input, None) => input,
        };
        // The cache is keyed by the binary module, so text is converted
        // first.
        let binary = ValidatedModule::binary_of(&input).with_context(failed)?;
        let spinner = crate::progress::Spinner::start(format!("validating {}", file.display()));
        let module = ValidatedModule::new(&binary, engine.config().features).with_context(failed)?;
        drop(spinner);
        phases.mark("read and validate (cache miss)");
        let compiled = engine.compile(Arc::new(module))?;
        phases.mark("compile and write the cache entry (aot)");
        Ok((Box::new(engine), compiled))
    }
}

wasmtier_engines::without_aot! {
    /// Without the AOT tier no file is an artifact: the loader judges it.
    fn is_artifact_file(_: &Path) -> bool {
        false
    }

    pub fn is_artifact_prefix(_: &[u8]) -> bool {
        false
    }

    fn load_artifact(request: &Request<'_>, _: EngineConfig, _: &mut Phases) -> Result<Prepared> {
        anyhow::bail!("`{}`: this build has no aot engine to run artifacts", request.file.display())
    }

    fn through_cache(request: &Request<'_>, _: EngineConfig, _: &mut Phases) -> Result<Prepared> {
        anyhow::bail!("this build has no aot engine (not --engine {})", request.choice)
    }

    // `--engine auto` is only offered with the aot engine.
    fn cached_for_auto(request: &Request<'_>, _: &EngineConfig, _: &mut Phases) -> Result<AutoLookup> {
        Ok(AutoLookup::Miss(crate::input::read_module_file(request.file)?))
    }

    fn fill_cache_in_background(_: &Request<'_>, _: &EngineConfig) -> Filling {
        Filling::NotStarted
    }
}
