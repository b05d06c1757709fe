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

/// The cache directory's size above which the least recently used entries
/// are deleted (after each new entry is written).
pub const SIZE_LIMIT: u64 = 1 << 30;

/// Deletes the least recently used `.cwasm` entries of `dir` (oldest
/// modification time first; a cache hit refreshes it) until the entries
/// total at most `limit` bytes, never deleting `keep`. Best effort: an
/// entry that cannot be read or removed is skipped. Deleting is safe while
/// another process runs an entry: its mapping outlives the name, and a
/// process about to open it compiles again.
pub fn evict(dir: &Path, keep: &Path, limit: u64) {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<(std::time::SystemTime, u64, PathBuf)> = listing
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            Some((meta.modified().ok()?, meta.len(), e.path()))
        })
        .collect();
    let mut total: u64 = entries.iter().map(|e| e.1).sum();
    entries.sort();
    for (_, len, path) in entries {
        if total <= limit {
            break;
        }
        if path != keep && std::fs::remove_file(&path).is_ok() {
            total -= len;
        }
    }
}

/// Marks a cache entry as just used, for [`evict`].
pub fn touch(file: &std::fs::File) {
    // Best effort: a read-only cache directory still serves hits.
    let _ = file.set_modified(std::time::SystemTime::now());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    #[test]
    fn eviction_deletes_the_least_recently_used_entries_down_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        for (name, age_secs) in [("old", 300), ("mid", 200), ("new", 100), ("kept", 400)] {
            let path = dir.path().join(format!("{name}.cwasm"));
            std::fs::write(&path, [0u8; 100]).unwrap();
            let file = std::fs::File::options().write(true).open(&path).unwrap();
            file.set_modified(now - Duration::from_secs(age_secs))
                .unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), [0u8; 1000]).unwrap();
        evict(dir.path(), &dir.path().join("kept.cwasm"), 250);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        // "kept" is the oldest but protected; "old" goes, then "mid".
        assert_eq!(left, ["kept.cwasm", "new.cwasm", "notes.txt"]);
    }
}
