//! The AOT tier: the JIT's pipeline, with the code written to an artifact
//! file once and mapped back, read+execute, on every later run.
//!
//! - [`AotEngine::compile`] (the [`Engine`] trait) compiles through a
//!   cache directory ([`CacheMode::Dir`]) or a fresh temporary file
//!   ([`CacheMode::Off`]), and always runs the code it maps back from a
//!   file: there is one way AOT code gets loaded.
//! - [`AotEngine::compile_to_file`] writes an artifact for any target
//!   Cranelift knows (`wasmtier compile --target`).
//! - [`AotEngine::load_file`] checks an artifact (`artifact.rs`: magic,
//!   format, length, checksum; then version, target, CPU features, flags,
//!   Wasm features) and only then maps its code executable, through the
//!   JIT's `CodeMemory`.
//!
//! Instances live in the JIT's store. Design decisions are in
//! `RATIONALE.md`.

#![warn(clippy::undocumented_unsafe_blocks)]

pub mod artifact;
mod cache;
mod error;
mod target;

use std::any::Any;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cranelift_codegen::isa::OwnedTargetIsa;
use wasmtier_core::{
    CompiledModule, Engine, EngineConfig, EngineKind, Features, LinkError, SharedBytes, Store,
    ValidatedModule,
};
use wasmtier_engine_jit::JitEngine;
use wasmtier_engine_jit::aot::{self as jit, CodeMemory};

pub use artifact::{Artifact, FORMAT_VERSION, Header, MAGIC, is_artifact};
pub use cache::default_dir as default_cache_dir;
pub use error::AotError;
pub use target::{Mismatch, TargetInfo};

/// Where [`AotEngine::compile`] keeps artifacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheMode {
    /// One entry per module and code-relevant setting, reused across runs.
    Dir(PathBuf),
    /// A temporary file per compilation, deleted once mapped.
    Off,
}

pub struct AotEngine {
    config: EngineConfig,
    cache: CacheMode,
    /// The host's instruction set, and what it means for artifacts.
    host: Result<(OwnedTargetIsa, TargetInfo), String>,
    /// Stores are the JIT's: loaded code runs exactly like fresh code.
    jit: JitEngine,
}

impl AotEngine {
    /// An engine that compiles through temporary artifact files.
    pub fn new(config: EngineConfig) -> Self {
        Self::with_cache(config, CacheMode::Off)
    }

    pub fn with_cache(config: EngineConfig, cache: CacheMode) -> Self {
        let host = jit::host_isa().map(|isa| {
            let info = TargetInfo::of(&*isa, &config);
            (isa, info)
        });
        Self {
            jit: JitEngine::new(config.clone()),
            config,
            cache,
            host,
        }
    }

    /// What this engine's artifacts are compiled for.
    pub fn host_target(&self) -> Result<&TargetInfo, AotError> {
        self.host
            .as_ref()
            .map(|h| &h.1)
            .map_err(|e| AotError::Compile(e.clone()))
    }

    /// The artifact bytes for `module` on `isa`.
    fn artifact_bytes(
        &self,
        isa: &dyn cranelift_codegen::isa::TargetIsa,
        module: &Arc<ValidatedModule>,
    ) -> Result<Vec<u8>, AotError> {
        let image = jit::compile_image(isa, module, &self.config).map_err(AotError::Compile)?;
        let target = TargetInfo::of(isa, &self.config);
        Ok(artifact::write(
            &target,
            &features_list(module.features()),
            module.bytes(),
            module.per_function(),
            &image,
        ))
    }

    /// Compiles `module` for `triple` (the host when `None`) into an
    /// artifact at `out`, written atomically.
    pub fn compile_to_file(
        &self,
        module: &Arc<ValidatedModule>,
        triple: Option<&str>,
        out: &Path,
    ) -> Result<(), AotError> {
        check_features(&self.config, module.features())?;
        let bytes = match triple {
            None => {
                let (isa, _) = self
                    .host
                    .as_ref()
                    .map_err(|e| AotError::Compile(e.clone()))?;
                self.artifact_bytes(&**isa, module)?
            }
            Some(triple) => {
                let isa = jit::target_isa(Some(triple)).map_err(AotError::Compile)?;
                self.artifact_bytes(&*isa, module)?
            }
        };
        cache::write_atomically(out, &bytes)
    }

    /// Checks the artifact at `path` and maps its code: every check runs
    /// before any byte of it becomes executable.
    pub fn load_file(&self, path: &Path) -> Result<Arc<dyn CompiledModule>, AotError> {
        self.load_checked(path, None, None)
    }

    /// On a cache hit for the binary module `bytes`, the compiled module,
    /// without validating or compiling again: the entry was written for
    /// these exact bytes (SHA-256, checked) by this wasmtier version with
    /// this engine's Wasm features, so they were validated then.
    pub fn cached(&self, bytes: &[u8]) -> Option<Arc<dyn CompiledModule>> {
        let CacheMode::Dir(dir) = &self.cache else {
            return None;
        };
        let hash = artifact::source_hash(bytes);
        let features = features_list(self.config.features);
        let name = cache::entry_name(&hash, self.host_target().ok()?, &features);
        self.load_checked(&dir.join(name), None, Some(&hash)).ok()
    }

    /// `known` is the module the caller already holds (same bytes, as the
    /// cache key guarantees); otherwise it is rebuilt from the artifact.
    /// With `source`, the artifact must have been made from a module with
    /// that SHA-256.
    fn load_checked(
        &self,
        path: &Path,
        known: Option<&Arc<ValidatedModule>>,
        source: Option<&[u8; 32]>,
    ) -> Result<Arc<dyn CompiledModule>, AotError> {
        let file = File::open(path).map_err(AotError::io(path))?;
        // Populated up front: one system call instead of a page fault per
        // page during the checksum.
        // SAFETY: a read-only mapping used only for reading. The cache
        // replaces entries by rename, never in place; a file truncated
        // under us by someone else would raise SIGBUS rather than let us
        // read garbage.
        let map = unsafe { memmap2::MmapOptions::new().populate().map(&file) }
            .map_err(AotError::io(path))?;
        // The loaded module keeps this mapping: its per-function tables,
        // trap table and data segments are read in place from it.
        let artifact = artifact::parse(&SharedBytes::new(Arc::new(map)))?;
        let header = &artifact.header;
        if header.wasmtier_version != env!("CARGO_PKG_VERSION") {
            return Err(AotError::Version {
                found: header.wasmtier_version.clone(),
            });
        }
        if source.is_some_and(|hash| *hash != header.source_hash) {
            return Err(AotError::Malformed(
                "made from another module than the cache key says".into(),
            ));
        }
        let host = self.host_target()?;
        match header.target.incompatibility(host) {
            None => {}
            Some(Mismatch::Target) => {
                return Err(AotError::Target {
                    found: header.target.triple.clone(),
                    host: host.triple.clone(),
                });
            }
            Some(Mismatch::Cpu(feature)) => return Err(AotError::Cpu { feature }),
            Some(Mismatch::Flags) => return Err(AotError::Flags),
        }
        let features = Features::parse_list(&header.wasm_features)
            .map_err(|_| AotError::FeaturesLacking(header.wasm_features.clone()))?;
        check_features(&self.config, features)?;
        let module = match known {
            Some(module) => module.clone(),
            None => Arc::new(
                ValidatedModule::from_prevalidated(artifact.wasm, features, artifact.per_function)
                    .map_err(|e| AotError::Malformed(e.to_string()))?,
            ),
        };
        let code = header.code.clone();
        let len = usize::try_from(code.end - code.start)
            .map_err(|_| AotError::Malformed("code too large".into()))?;
        let memory = CodeMemory::map_file(&file, code.start, len).map_err(AotError::Load)?;
        let loaded = jit::load(module, &self.config, memory, artifact.code_tables)
            .map_err(AotError::Load)?;
        if source.is_some() {
            // A cache entry (only cache lookups pass the key's hash): mark
            // it used, for eviction.
            cache::touch(&file);
        }
        Ok(loaded)
    }

    /// `compile` with a typed error.
    pub fn compile_module(
        &self,
        module: Arc<ValidatedModule>,
    ) -> Result<Arc<dyn CompiledModule>, AotError> {
        check_features(&self.config, module.features())?;
        match &self.cache {
            CacheMode::Dir(dir) => {
                let source_hash = artifact::source_hash(module.bytes());
                let name = cache::entry_name(
                    &source_hash,
                    self.host_target()?,
                    &features_list(module.features()),
                );
                let path = dir.join(name);
                match self.load_checked(&path, Some(&module), Some(&source_hash)) {
                    Ok(compiled) => return Ok(compiled),
                    // Missing, stale or corrupted: (re)compile below.
                    Err(AotError::Io { source, .. })
                        if source.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) if e.is_stale_artifact() => {}
                    Err(e) => return Err(e),
                }
                let (isa, _) = self
                    .host
                    .as_ref()
                    .map_err(|e| AotError::Compile(e.clone()))?;
                let bytes = self.artifact_bytes(&**isa, &module)?;
                cache::write_atomically(&path, &bytes)?;
                cache::evict(dir, &path, cache::SIZE_LIMIT);
                self.load_checked(&path, Some(&module), Some(&source_hash))
            }
            CacheMode::Off => {
                let (isa, _) = self
                    .host
                    .as_ref()
                    .map_err(|e| AotError::Compile(e.clone()))?;
                let bytes = self.artifact_bytes(&**isa, &module)?;
                let temp = tempfile::Builder::new()
                    .prefix("wasmtier-")
                    .suffix(".cwasm")
                    .tempfile()
                    .map_err(AotError::io(std::env::temp_dir()))?;
                std::fs::write(temp.path(), &bytes).map_err(AotError::io(temp.path()))?;
                // The mapping outlives the file's name.
                self.load_checked(temp.path(), Some(&module), None)
            }
        }
    }
}

/// `features` in `Features::parse_list` syntax.
fn features_list(features: Features) -> String {
    std::iter::once("wasm2")
        .chain(features.enabled_names())
        .collect::<Vec<_>>()
        .join(",")
}

fn check_features(config: &EngineConfig, features: Features) -> Result<(), AotError> {
    let wanted = features.to_wasmparser();
    if config.features.to_wasmparser().contains(wanted) {
        return Ok(());
    }
    let missing: Vec<&str> = features
        .enabled_names()
        .into_iter()
        .filter(|name| !config.features.enabled_names().contains(name))
        .collect();
    Err(AotError::FeaturesDisabled(missing.join(", ")))
}

impl Engine for AotEngine {
    fn kind(&self) -> EngineKind {
        EngineKind::Aot
    }

    fn config(&self) -> &EngineConfig {
        &self.config
    }

    fn compile(&self, module: Arc<ValidatedModule>) -> Result<Arc<dyn CompiledModule>, LinkError> {
        self.compile_module(module)
            .map_err(|e| LinkError::Engine(e.to_string()))
    }

    fn new_store(&self, state: Box<dyn Any + Send>) -> Box<dyn Store> {
        self.jit.new_store(state)
    }
}
