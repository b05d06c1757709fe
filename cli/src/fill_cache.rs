//! The background compile of `--engine auto` (the default `run` where the
//! build has the compiled tiers): on a cache miss, `run` starts `wasmtier
//! fill-cache FILE` as a detached process, which writes the module's AOT
//! cache entry so that the next run starts from native code, even if this
//! run ends first.
//!
//! It is a guest of the machine, not part of the program, so it keeps out
//! of the way:
//! - it runs at the lowest CPU priority (nice 19): on a busy machine it
//!   gets what nobody else wants, and the program it was started beside
//!   keeps its cores;
//! - one compiles per cache directory at a time (a lock the kernel drops
//!   when the process ends); a run that finds one busy leaves its module
//!   for a later run, so a script that starts many runs starts one
//!   compile, not many;
//! - only regular files: a pipe or device cannot be read a second time;
//! - it writes atomically into the cache, whose size is capped (least
//!   recently used entries are evicted), and `--no-cache` (`-C cache=n`)
//!   turns all of it off.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use clap::Args;
use wasmtier_core::{Engine, EngineConfig, ValidatedModule};
use wasmtier_engines::aot::{AotEngine, CacheMode, TrustedDir};

use crate::compile::Filling;

/// Starts `wasmtier fill-cache` for `file`, compiled as a run with
/// `config` would look it up (the fuel and interruption checks change the
/// code): not without a usable cache directory, nor for a file that is
/// not a regular one, nor while another fill-cache holds the cache (that
/// one would exit at once).
pub fn start(file: &Path, cache: &CacheMode, config: &EngineConfig) -> Filling {
    let CacheMode::Dir(dir) = cache else {
        return Filling::NotStarted;
    };
    if !std::fs::metadata(file).is_ok_and(|meta| meta.is_file()) {
        return Filling::NotStarted;
    }
    match TrustedDir::open(dir).map(|cache| cache.try_lock_filling()) {
        Ok(Ok(Some(_free))) => {}
        Ok(Ok(None)) => return Filling::Busy,
        Ok(Err(_)) | Err(_) => return Filling::NotStarted,
    }
    let Ok(exe) = std::env::current_exe() else {
        return Filling::NotStarted;
    };
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new(exe);
    command.arg("fill-cache").arg("--cache-dir").arg(dir);
    if config.fuel.is_some() {
        command.arg("--fuel");
    }
    if config.timeout.is_some() {
        command.arg("--interruptible");
    }
    command
        .arg("--")
        .arg(file)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        // Its own process group: a Ctrl-C meant for the program does not
        // stop the cache write (which is atomic either way).
        .process_group(0)
        .spawn()
        .map_or(Filling::NotStarted, |_| Filling::Started)
}

/// `wasmtier fill-cache` (started by `run`): compiles FILE into the AOT
/// cache unless an entry is there already or another fill-cache is
/// compiling.
#[derive(Args)]
pub struct FillCacheArgs {
    #[arg(long, value_name = "DIR")]
    cache_dir: PathBuf,
    /// Meter fuel in the code (the run had `--fuel`).
    #[arg(long)]
    fuel: bool,
    /// Check for interruption in the code (the run had `--timeout`).
    #[arg(long)]
    interruptible: bool,
    file: PathBuf,
}

pub fn fill_cache(args: FillCacheArgs) -> Result<()> {
    lower_priority();
    let engine = AotEngine::with_cache(
        EngineConfig {
            features: wasmtier_core::Features::finished()
                .intersect(wasmtier_engines::aot::FEATURES),
            fuel: args.fuel.then_some(u64::MAX),
            timeout: args.interruptible.then_some(std::time::Duration::MAX),
            ..EngineConfig::default()
        },
        CacheMode::Dir(args.cache_dir),
    );
    // Held until the entry is written (or this process ends).
    let Some(_lock) = engine.try_lock_cache_filling()? else {
        return Ok(());
    };
    let input = crate::input::read_module_file(&args.file)?;
    let binary = ValidatedModule::binary_of(&input)?;
    if engine.cached(&binary).is_some() {
        return Ok(());
    }
    let module = ValidatedModule::new(&binary, engine.config().features)?;
    engine.compile(Arc::new(module))?;
    Ok(())
}

/// Nice 19 for this thread and the compile threads it starts (Linux keeps
/// a nice value per thread; new threads inherit it). Best effort: a
/// failure only leaves the priority as it was.
fn lower_priority() {
    // SAFETY: setpriority reads no memory of ours; `who` 0 is the calling
    // thread, whose priority only this process's scheduling depends on.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 19);
    }
}
