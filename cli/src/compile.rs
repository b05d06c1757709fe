//! `wasmtier compile`: write an AOT artifact; and how `run` turns a file
//! into compiled code (a `.cwasm` artifact is detected by its magic and,
//! with `--allow-precompiled` only, loaded with no compilation).

use crate::phases::Phases;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use wasmtier_core::{CompiledModule, Engine, EngineConfig, EngineKind};

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
    use wasmtier_engines::aot::{AotEngine, CacheMode};

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

    /// Whether `path` starts with an artifact's magic.
    pub fn is_artifact_file(path: &Path) -> bool {
        use std::io::Read;
        let mut prefix = [0u8; 8];
        std::fs::File::open(path)
            .and_then(|mut f| f.read_exact(&mut prefix))
            .is_ok_and(|()| wasmtier_engines::aot::is_artifact(&prefix))
    }
}

type Prepared = (Box<dyn Engine>, Arc<dyn CompiledModule>);

/// The engine for `run` and the module compiled (or loaded) for it.
pub fn prepare(
    file: &Path,
    choice: EngineChoice,
    explicit: bool,
    allow_precompiled: bool,
    config: EngineConfig,
    cache: &CacheOptions,
    phases: &mut Phases,
) -> Result<Prepared> {
    let config = match prepare_aot(
        file,
        choice,
        explicit,
        allow_precompiled,
        config,
        cache,
        phases,
    )? {
        Ok(prepared) => return Ok(prepared),
        Err(config) => config,
    };
    let module = Arc::new(load_module(file, config.features)?);
    phases.mark(format_args!(
        "read and validate ({} bytes, {} functions)",
        module.bytes().len(),
        module.num_defined_funcs()
    ));
    let engine = choice.create(config);
    let compiled = engine.compile(module)?;
    phases.mark(format_args!("compile ({choice})"));
    Ok((engine, compiled))
}

wasmtier_engines::with_aot! {
    /// An artifact (by its magic) or `--engine aot`; the config back otherwise.
    fn prepare_aot(
        file: &Path,
        choice: EngineChoice,
        explicit: bool,
        allow_precompiled: bool,
        config: EngineConfig,
        cache: &CacheOptions,
        phases: &mut Phases,
    ) -> Result<Result<Prepared, EngineConfig>> {
        if is_artifact_file(file) {
            // The contents, not the name, make a file native code: running
            // one must be the choice of the person who typed the command.
            if !allow_precompiled {
                anyhow::bail!(
                    "`{}` is a precompiled artifact (native code), not a WebAssembly module; \
                     run it only if you trust where it came from, with --allow-precompiled",
                    file.display()
                );
            }
            if explicit && choice.kind() != EngineKind::Aot {
                anyhow::bail!(
                    "`{}` is a compiled artifact, which runs on the aot engine only (not --engine {choice})",
                    file.display()
                );
            }
            let engine = AotEngine::with_cache(config, CacheMode::Off);
            let compiled = engine
                .load_file(file)
                .with_context(|| format!("cannot load `{}`", file.display()))?;
            phases.mark("load the artifact (checked, mapped)");
            return Ok(Ok((Box::new(engine), compiled)));
        }
        if choice.kind() != EngineKind::Aot {
            return Ok(Err(config));
        }
        let engine = AotEngine::with_cache(config, cache.mode());
        let failed = || format!("failed to load `{}`", file.display());
        let input =
            std::fs::read(file).with_context(|| format!("cannot read `{}`", file.display()))?;
        // The cache is keyed by the binary module, so text is converted
        // first; a hit then needs neither validation nor compilation.
        let binary = ValidatedModule::binary_of(&input).with_context(failed)?;
        if let Some(compiled) = engine.cached(&binary) {
            phases.mark("read, hash and load the cached artifact");
            return Ok(Ok((Box::new(engine), compiled)));
        }
        let spinner = crate::progress::Spinner::start(format!("validating {}", file.display()));
        let module = ValidatedModule::new(&binary, engine.config().features).with_context(failed)?;
        drop(spinner);
        phases.mark("read and validate (cache miss)");
        let compiled = engine.compile(Arc::new(module))?;
        phases.mark("compile and write the cache entry (aot)");
        Ok(Ok((Box::new(engine), compiled)))
    }
}

#[cfg(not(wasmtier_aot))]
fn prepare_aot(
    _file: &Path,
    _choice: EngineChoice,
    _explicit: bool,
    _allow_precompiled: bool,
    config: EngineConfig,
    _cache: &CacheOptions,
    _phases: &mut Phases,
) -> Result<Result<Prepared, EngineConfig>> {
    Ok(Err(config))
}
