//! The compilation cache: one artifact per (module, everything that
//! changes its code), written atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::artifact::FORMAT_VERSION;
use crate::error::AotError;
use crate::target::TargetInfo;

/// `$XDG_CACHE_HOME/wasmtier/aot`, else `$HOME/.cache/wasmtier/aot`.
pub fn default_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|d| !d.is_empty())
                .map(|home| PathBuf::from(home).join(".cache"))
        })?;
    Some(base.join("wasmtier").join("aot"))
}

/// The entry name for a module with `source_hash` compiled for `target`
/// with `wasm_features`: a hash over everything that changes the code.
pub fn entry_name(source_hash: &[u8; 32], target: &TargetInfo, wasm_features: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [
        &FORMAT_VERSION.to_le_bytes()[..],
        env!("CARGO_PKG_VERSION").as_bytes(),
        target.triple.as_bytes(),
        target.cpu_features.as_bytes(),
        target.flags.as_bytes(),
        wasm_features.as_bytes(),
        source_hash,
    ] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let hex: String = digest[..20].iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}.cwasm")
}

/// Writes `bytes` to `path` through a temporary file in the same directory
/// and a rename, so readers see either no file, the old one, or the whole
/// new one; concurrent writers of the same entry each rename a complete
/// file of their own.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), AotError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(AotError::io(dir))?;
    let mut temp = tempfile::Builder::new()
        .prefix(".wasmtier-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(AotError::io(dir))?;
    temp.write_all(bytes).map_err(AotError::io(temp.path()))?;
    temp.as_file()
        .sync_data()
        .map_err(AotError::io(temp.path()))?;
    temp.persist(path)
        .map_err(|e| AotError::io(path)(e.error))?;
    Ok(())
}
