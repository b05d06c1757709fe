//! The shim's AOT cache: the host directory where compiled modules are
//! kept, so the second container of an image starts from native code.
//!
//! The module runs inside the container, after its rootfs became `/`, so
//! the host directory cannot be reached by path there. The shim process
//! opens it before the container exists; the container's init process is a
//! clone of that process and keeps the descriptor (libcontainer marks
//! inherited descriptors close-on-exec, and nothing is exec'd: runwasi runs
//! the module in that process). Inside, `/proc/self/fd/N` leads back to it.
//! Only the shim's own code sees the descriptor: the guest reaches files
//! through WASI's preopens alone. Entries are sealed with the directory's
//! key as in `wasmtier run`'s cache, so a file planted there is compiled
//! over, never run.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result};
use wasmtier_core::{CompiledModule, Engine, EngineConfig, ValidatedModule};
use wasmtier_engines::aot::{AotEngine, CacheMode, TrustedDir};

/// Where the cache lives on the host unless `WASMTIER_SHIM_CACHE_DIR`
/// (in containerd's environment) says otherwise.
pub const DEFAULT_DIR: &str = "/var/lib/containerd-shim-wasmtier/aot-cache";

static HOST_DIR: OnceLock<Option<File>> = OnceLock::new();

/// Opens the host cache directory (creating it, mode 0700, with its key)
/// while the shim still sees the host's filesystem. A directory that
/// cannot be used leaves the shim without a cache; the aot engine then
/// says why.
pub fn open_host_dir() {
    HOST_DIR.get_or_init(|| {
        let path = std::env::var_os("WASMTIER_SHIM_CACHE_DIR")
            .map_or_else(|| PathBuf::from(DEFAULT_DIR), PathBuf::from);
        // Checks ownership and mode and creates the key now, on the host.
        TrustedDir::open(&path).ok()?;
        File::open(&path).ok()
    });
}

/// The cache directory as the container's process reaches it.
fn dir_in_container() -> Result<PathBuf> {
    let dir = HOST_DIR.get().and_then(Option::as_ref).context(
        "the aot engine needs the shim's cache directory, which could not be opened on the host \
         (WASMTIER_SHIM_CACHE_DIR, default /var/lib/containerd-shim-wasmtier/aot-cache)",
    )?;
    // `/.` makes the path resolve through the descriptor's magic link to
    // the directory itself.
    let path = PathBuf::from(format!("/proc/self/fd/{}/.", dir.as_raw_fd()));
    if !Path::new("/proc/self/fd").is_dir() {
        anyhow::bail!("the aot engine needs /proc in the container to reach the shim's cache");
    }
    Ok(path)
}

/// `binary` compiled ahead of time: the cached artifact when the cache has
/// one for it, else compiled now and written to the cache.
pub fn aot_through_cache(
    config: EngineConfig,
    binary: &[u8],
) -> Result<(Box<dyn Engine>, Arc<dyn CompiledModule>)> {
    let engine = AotEngine::with_cache(config, CacheMode::Dir(dir_in_container()?));
    if let Some(compiled) = engine.cached(binary) {
        return Ok((Box::new(engine), compiled));
    }
    let module = ValidatedModule::new(binary, engine.config().features)
        .context("the container's module is not valid WebAssembly")?;
    let compiled = engine.compile(Arc::new(module))?;
    Ok((Box::new(engine), compiled))
}
