//! Everything that can go wrong compiling, writing or loading an artifact.
//! Each message is one line and says what to do where there is something
//! to do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AotError {
    #[error("not a wasmtier artifact (no `\\0wtier` magic)")]
    NotArtifact,
    #[error("truncated artifact: {found} of {expected} bytes")]
    Truncated { expected: u64, found: u64 },
    #[error("artifact checksum mismatch: the file is corrupted")]
    Checksum,
    #[error(
        "artifact has format version {found}, made by another wasmtier version (this one reads format {supported}); recompile it"
    )]
    FormatVersion { found: u32, supported: u32 },
    #[error(
        "artifact was made by wasmtier {found}, this is wasmtier {}; recompile it",
        env!("CARGO_PKG_VERSION")
    )]
    Version { found: String },
    #[error("artifact was compiled for target {found}, but this host is {host}")]
    Target { found: String, host: String },
    #[error("artifact needs CPU feature `{feature}`, which this host's CPU lacks")]
    Cpu { feature: String },
    #[error(
        "artifact was compiled with other code-generation settings (Cranelift flags, fuel, timeout or low-memory) than this run uses; recompile it with the same options"
    )]
    Flags,
    #[error("artifact uses Wasm features this build lacks: {0}")]
    FeaturesLacking(String),
    #[error("artifact uses Wasm features not enabled for this run: {0}")]
    FeaturesDisabled(String),
    #[error("malformed artifact: {0}")]
    Malformed(String),
    // The I/O error is part of the message, not a `source`: a report
    // that prints the chain would say it twice.
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "refusing the AOT cache directory {}: {reason}; fix it, or choose another with --cache-dir (or --no-cache)",
        path.display()
    )]
    UntrustedCache { path: PathBuf, reason: String },
    /// A cache entry that is not a plain file of this user: replaced.
    #[error("cache entry {} is not trusted: {reason}", path.display())]
    UntrustedEntry { path: PathBuf, reason: String },
    #[error("cache entry is not sealed by this cache (written by someone else, or damaged)")]
    Unsealed,
    #[error("compilation failed: {0}")]
    Compile(String),
    #[error("time limit exceeded while compiling")]
    CompileTimeLimit,
    #[error("cannot load the artifact's code: {0}")]
    Load(String),
}

impl From<wasmtier_engine_jit::aot::CompileError> for AotError {
    fn from(error: wasmtier_engine_jit::aot::CompileError) -> Self {
        use wasmtier_engine_jit::aot::CompileError;
        match error {
            CompileError::TimeLimit => Self::CompileTimeLimit,
            other => Self::Compile(other.to_string()),
        }
    }
}

impl AotError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |error| Self::Io { path, error }
    }

    /// Whether the file itself is unusable (as opposed to the system):
    /// a cache entry failing this way is replaced.
    pub fn is_stale_artifact(&self) -> bool {
        !matches!(
            self,
            Self::Io { .. }
                | Self::Compile(_)
                | Self::CompileTimeLimit
                | Self::UntrustedCache { .. }
        )
    }
}
