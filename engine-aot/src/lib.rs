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

pub mod artifact;
mod cache;
mod error;
mod file_index;
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
pub use cache::{FillLock, SEAL_LEN, TrustedDir, default_dir as default_cache_dir};
pub use error::AotError;
pub use file_index::FileIdentity;
pub use target::{Mismatch, TargetInfo};
pub use wasmtier_engine_jit::FEATURES;

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
    /// The cache directory once checked: a run looks a module up by its
    /// file, then by its contents, and may write an entry and an index,
    /// each of which would otherwise check the directory and read its key
    /// again.
    opened: std::sync::OnceLock<TrustedDir>,
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
        let host = jit::host_isa()
            .map(|isa| {
                let info = TargetInfo::of(&*isa, &config);
                (isa, info)
            })
            .map_err(|e| e.to_string());
        Self {
            jit: JitEngine::new(config.clone()),
            config,
            cache,
            opened: std::sync::OnceLock::new(),
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
        let image = jit::compile_image(isa, module, &self.config)?;
        let target = TargetInfo::of(isa, &self.config);
        Ok(artifact::write(
            &target,
            &features_list(module.features()),
            module.bytes(),
            module.per_function(),
            module.type_shapes(),
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
                let isa =
                    jit::target_isa(Some(triple)).map_err(|e| AotError::Compile(e.to_string()))?;
                self.artifact_bytes(&*isa, module)?
            }
        };
        write_output(out, &bytes)
    }

    /// Checks the artifact at `path` and maps its code: every check runs
    /// before any byte of it becomes executable. Running an artifact from
    /// a file is the caller's decision to trust it (`run
    /// --allow-precompiled`); a cache entry's seal, if it has one, is not
    /// checked here (the key is the cache's).
    pub fn load_file(&self, path: &Path) -> Result<Arc<dyn CompiledModule>, AotError> {
        let file = File::open(path).map_err(AotError::io(path))?;
        let bytes = map(&file, path)?;
        let artifact = artifact::without_seal(&bytes);
        self.load_mapped(&file, &artifact, None, None)
    }

    /// The cache directory, checked (see `cache.rs`) on first use, if
    /// this engine has one. A directory that fails the check is checked
    /// again on the next use.
    fn cache_dir(&self) -> Option<Result<&TrustedDir, AotError>> {
        let CacheMode::Dir(path) = &self.cache else {
            return None;
        };
        if let Some(dir) = self.opened.get() {
            return Some(Ok(dir));
        }
        Some(TrustedDir::open(path).map(|dir| self.opened.get_or_init(|| dir)))
    }

    /// The cache's background-compile lock ([`TrustedDir::try_lock_filling`]):
    /// `None` while another process holds it, or without a cache.
    pub fn try_lock_cache_filling(&self) -> Result<Option<FillLock>, AotError> {
        match self.cache_dir() {
            Some(dir) => dir?.try_lock_filling(),
            None => Ok(None),
        }
    }

    /// On a cache hit for the binary module `bytes`, the compiled module,
    /// without validating or compiling again: the entry carries this
    /// cache's seal and embeds exactly these bytes, so this wasmtier
    /// version validated them with this engine's Wasm features when it
    /// wrote the entry.
    pub fn cached(&self, bytes: &[u8]) -> Option<Arc<dyn CompiledModule>> {
        self.cached_entry(bytes).map(|(compiled, _)| compiled)
    }

    /// [`Self::cached`], and the entry's name.
    fn cached_entry(&self, bytes: &[u8]) -> Option<(Arc<dyn CompiledModule>, String)> {
        let dir = self.cache_dir()?.ok()?;
        let hash = artifact::source_hash(bytes);
        let features = features_list(self.config.features);
        let name = dir.entry_name(&hash, self.host_target().ok()?, &features);
        let compiled = self
            .load_entry(dir, &name, Some(Expected::Bytes(bytes)), Some(&hash))
            .ok()?;
        Some((compiled, name))
    }

    /// On a hit for the module file `file`, known by its identity from an
    /// earlier hit ([`Self::cached_remembering`]), the compiled module,
    /// without reading the file: the entry embeds the module.
    pub fn cached_file(&self, file: &FileIdentity) -> Option<Arc<dyn CompiledModule>> {
        let dir = self.cache_dir()?.ok()?;
        let features = features_list(self.config.features);
        let index = dir.file_index_name(file, self.host_target().ok()?, &features);
        let entry = dir.read_file_index(&index, file)?;
        self.load_entry(dir, &entry, None, None).ok()
    }

    /// [`Self::cached`] for `bytes`, read from a module file whose identity
    /// was `file` before the read and is `file` still: on a hit, the file
    /// is indexed by its identity for [`Self::cached_file`] when it last
    /// changed long enough ago that a change since would show.
    pub fn cached_remembering(
        &self,
        bytes: &[u8],
        file: Option<(FileIdentity, FileIdentity)>,
    ) -> Option<Arc<dyn CompiledModule>> {
        let (compiled, entry) = self.cached_entry(bytes)?;
        if let Some((before, after)) = file
            && before == after
            && before.is_settled()
            && let (Some(Ok(dir)), Ok(target)) = (self.cache_dir(), self.host_target())
        {
            let features = features_list(self.config.features);
            let index = dir.file_index_name(&before, target, &features);
            dir.write_file_index(&index, &before, &entry);
        }
        Some(compiled)
    }

    /// Loads cache entry `name` if its seal is this cache's and it was made
    /// from the module `expected` (by its hash in the header and by the
    /// embedded bytes).
    fn load_entry(
        &self,
        dir: &TrustedDir,
        name: &str,
        expected: Option<Expected<'_>>,
        source_hash: Option<&[u8; 32]>,
    ) -> Result<Arc<dyn CompiledModule>, AotError> {
        let (path, file) = dir.open_entry(name)?;
        let bytes = map(&file, &path)?;
        let artifact_len = bytes
            .len()
            .checked_sub(SEAL_LEN)
            .ok_or(AotError::Unsealed)?;
        let artifact = bytes
            .slice(0..artifact_len)
            .expect("the artifact is a prefix of the entry");
        // An entry that passed its seal check and has not changed since
        // gets the CRC-32 a `.cwasm` gets, which still catches damage.
        let record = dir.seal_record(name, &file);
        let parsed = if record.is_some() {
            artifact::parse(&artifact)?
        } else {
            dir.unseal(&bytes).ok_or(AotError::Unsealed)?;
            artifact::parse_sealed(&artifact)?
        };
        let loaded = self.load_parsed(&file, parsed, expected, source_hash)?;
        // A hit: mark the entry used, for eviction; on the record once
        // there is one, since the record binds the entry's times.
        match record {
            Some(record) => cache::touch(&record),
            None => {
                if !dir.record_seal_passed(name, &file) {
                    cache::touch(&file);
                }
            }
        }
        Ok(loaded)
    }

    /// Checks the artifact in `bytes` (mapped from `file`) against this
    /// host and engine, and maps its code. With `expected`, the artifact
    /// must embed that module's exact bytes; with `source`, its header
    /// must name that source hash.
    fn load_mapped(
        &self,
        file: &File,
        bytes: &SharedBytes,
        expected: Option<Expected<'_>>,
        source: Option<&[u8; 32]>,
    ) -> Result<Arc<dyn CompiledModule>, AotError> {
        // The loaded module keeps this mapping: its per-function tables,
        // trap table and data segments are read in place from it.
        self.load_parsed(file, artifact::parse(bytes)?, expected, source)
    }

    /// [`Self::load_mapped`] after parsing (and checking the integrity of)
    /// the artifact.
    fn load_parsed(
        &self,
        file: &File,
        artifact: Artifact,
        expected: Option<Expected<'_>>,
        source: Option<&[u8; 32]>,
    ) -> Result<Arc<dyn CompiledModule>, AotError> {
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
        if let Some(expected) = &expected
            && expected.bytes() != &artifact.wasm[..]
        {
            return Err(AotError::Malformed(
                "the embedded module is not the module being run".into(),
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
        let type_shapes = artifact.type_shapes;
        let module = match expected {
            Some(Expected::Module(module)) => module.clone(),
            // SAFETY: the artifact passed its integrity check (the CRC of a
            // file the user chose to run with --allow-precompiled, or the
            // seal of this cache's own entry, made from these bytes after
            // validating them with these features); its bytes are this
            // build's validated module as far as anything can tell short
            // of validating again, which an artifact exists to avoid.
            _ => Arc::new(
                unsafe {
                    ValidatedModule::from_prevalidated(
                        artifact.wasm,
                        features,
                        artifact.per_function,
                    )
                }
                .map_err(|e| AotError::Malformed(e.to_string()))?,
            ),
        };
        // The code was compiled for this type section's shape (which types
        // are final decides how `call_indirect` checks); a module whose
        // bytes decode to another shape is not the one it was made for.
        if !type_shapes.iter().eq(module.type_shapes().iter().copied()) {
            return Err(AotError::Malformed(
                "the canonical type information does not match the module".into(),
            ));
        }
        let code = header.code.clone();
        let len = usize::try_from(code.end - code.start)
            .map_err(|_| AotError::Malformed("code too large".into()))?;
        let memory = CodeMemory::map_file(file, code.start, len)
            .map_err(|e| AotError::Load(e.to_string()))?;
        jit::load(module, &self.config, memory, artifact.code_tables)
            .map_err(|e| AotError::Load(e.to_string()))
    }

    /// `compile` with a typed error.
    pub fn compile_module(
        &self,
        module: Arc<ValidatedModule>,
    ) -> Result<Arc<dyn CompiledModule>, AotError> {
        check_features(&self.config, module.features())?;
        let (isa, _) = self
            .host
            .as_ref()
            .map_err(|e| AotError::Compile(e.clone()))?;
        match self.cache_dir() {
            Some(dir) => {
                let dir = dir?;
                let source_hash = artifact::source_hash(module.bytes());
                let name = dir.entry_name(
                    &source_hash,
                    self.host_target()?,
                    &features_list(module.features()),
                );
                let expected = || Some(Expected::Module(&module));
                match self.load_entry(dir, &name, expected(), Some(&source_hash)) {
                    Ok(compiled) => return Ok(compiled),
                    // Missing, stale, corrupted or not ours: (re)compile
                    // below and replace it.
                    Err(AotError::Io { error, .. })
                        if error.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) if e.is_stale_artifact() => {}
                    Err(e) => return Err(e),
                }
                let bytes = self.artifact_bytes(&**isa, &module)?;
                let path = dir.write_entry(&name, &bytes)?;
                dir.evict(&path, cache::SIZE_LIMIT);
                self.load_entry(dir, &name, expected(), Some(&source_hash))
            }
            None => {
                let bytes = self.artifact_bytes(&**isa, &module)?;
                let temp = tempfile::Builder::new()
                    .prefix("wasmtier-")
                    .suffix(".cwasm")
                    .tempfile()
                    .map_err(AotError::io(std::env::temp_dir()))?;
                std::fs::write(temp.path(), &bytes).map_err(AotError::io(temp.path()))?;
                // The mapping outlives the file's name. The file is ours
                // (created 0600, just now), read back through the one path
                // AOT code takes.
                let file = temp.reopen().map_err(AotError::io(temp.path()))?;
                let mapped = map(&file, temp.path())?;
                self.load_mapped(&file, &mapped, Some(Expected::Module(&module)), None)
            }
        }
    }
}

/// The module an artifact must embed.
enum Expected<'a> {
    /// Already validated by the caller.
    Module(&'a Arc<ValidatedModule>),
    /// Only its bytes; the module is rebuilt from the artifact's copy of
    /// them after they compare equal.
    Bytes(&'a [u8]),
}

impl Expected<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Self::Module(module) => module.bytes(),
            Self::Bytes(bytes) => bytes,
        }
    }
}

/// `compile -o OUT`: a regular file (or a new name) is replaced
/// atomically; anything else already there (`/dev/null`, `/dev/stdout`, a
/// FIFO) is written into, as `cp` does: a rename would put a plain file in
/// place of the device or pipe.
fn write_output(out: &Path, bytes: &[u8]) -> Result<(), AotError> {
    use std::io::Write as _;
    match std::fs::metadata(out) {
        Ok(meta) if !meta.is_file() && !meta.is_dir() => std::fs::OpenOptions::new()
            .write(true)
            .open(out)
            .and_then(|mut file| file.write_all(bytes))
            .map_err(AotError::io(out)),
        _ => cache::write_atomically(out, &[bytes]),
    }
}

/// Maps `file` (at `path`) read-only, populated up front.
fn map(file: &File, path: &Path) -> Result<SharedBytes, AotError> {
    // SAFETY: a read-only mapping used only for reading. The cache
    // replaces entries by rename, never in place; a file truncated under
    // us by someone else would raise SIGBUS rather than let us read
    // garbage. Populating up front costs one system call instead of a
    // page fault per page during the checks.
    let map =
        unsafe { memmap2::MmapOptions::new().populate().map(file) }.map_err(AotError::io(path))?;
    Ok(SharedBytes::new(Arc::new(map)))
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
        self.compile_module(module).map_err(|e| match e {
            AotError::CompileTimeLimit => LinkError::CompileTimeLimit,
            other => LinkError::Engine(other.to_string()),
        })
    }

    fn new_store(&self, state: Box<dyn Any + Send>) -> Box<dyn Store> {
        self.jit.new_store(state)
    }

    fn new_shared_memory(
        &self,
        ty: wasmtier_core::MemoryType,
    ) -> Result<wasmtier_core::SharedMemory, LinkError> {
        self.jit.new_shared_memory(ty)
    }
}
