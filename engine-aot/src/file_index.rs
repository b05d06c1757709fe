//! Module-file indexes: from a module file's identity (device, inode,
//! size, times) to its cache entry, so a run of a file unchanged since an
//! earlier hit loads the entry without reading the file (see
//! `RATIONALE.md`, "A module file unchanged since a hit is not read").

use std::os::unix::fs::MetadataExt;

use crate::cache::{ENTRY_NAME_LEN, TrustedDir, is_entry_name, write_through_temp};
use crate::target::TargetInfo;

const FILE_INDEX_CONTEXT: &[u8] = b"wasmtier cache module file\0";
/// The suffix of a module file's index ([`TrustedDir::file_index_name`]).
pub(crate) const FILE_INDEX_SUFFIX: &str = ".file";
/// How long ago a module file must have last changed for its identity to
/// stand for its contents: a file changed within the filesystem's clock
/// tick of an earlier change can keep its change time.
const SETTLED_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

/// A module file as `stat` sees it: device, inode, size, and the
/// modification and change times (the change time moves on any write and
/// cannot be set back by its owner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileIdentity([i64; 7]);

impl FileIdentity {
    pub fn of(meta: &std::fs::Metadata) -> Self {
        Self([
            meta.dev() as i64,
            meta.ino() as i64,
            meta.size() as i64,
            meta.mtime(),
            meta.mtime_nsec(),
            meta.ctime(),
            meta.ctime_nsec(),
        ])
    }

    /// Whether the file last changed at least two seconds ago, so
    /// that any later change gets another change time.
    pub fn is_settled(&self) -> bool {
        let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) else {
            return false;
        };
        let settled = now.as_secs() as i64 - SETTLED_AFTER.as_secs() as i64;
        // Seconds and nanoseconds of the later of the two times.
        let [.., mtime, mtime_ns, ctime, ctime_ns] = self.0;
        (mtime, mtime_ns).max((ctime, ctime_ns)).0 < settled
    }

    fn bytes(&self) -> [u8; 56] {
        let mut bytes = [0u8; 56];
        for (chunk, value) in bytes.chunks_exact_mut(8).zip(self.0) {
            chunk.copy_from_slice(&value.to_le_bytes());
        }
        bytes
    }
}

impl TrustedDir {
    /// The name of the index that leads from a module file, by its
    /// identity, to its entry for `target` and `wasm_features`: keyed like
    /// entry names.
    pub fn file_index_name(
        &self,
        file: &FileIdentity,
        target: &TargetInfo,
        wasm_features: &str,
    ) -> String {
        let hex = self.keyed_name(FILE_INDEX_CONTEXT, target, wasm_features, &file.bytes());
        format!("{hex}{FILE_INDEX_SUFFIX}")
    }

    /// The entry the index `index` leads to from the module file `file`:
    /// the entry's name, then a MAC under the key over the file's
    /// identity and that name, so an index is neither forged nor moved to
    /// another file.
    pub fn read_file_index(&self, index: &str, file: &FileIdentity) -> Option<String> {
        let (_, bytes) = self.read_small_file(index, ENTRY_NAME_LEN + 32)?;
        let (name, mac) = bytes.split_at(ENTRY_NAME_LEN);
        let name = std::str::from_utf8(name)
            .ok()
            .filter(|n| is_entry_name(n))?;
        let mac = blake3::Hash::from_bytes(mac.try_into().ok()?);
        (mac == self.file_index_mac(file, name)).then(|| name.to_string())
    }

    /// Writes the index `index` from the module file `file` to entry
    /// `entry`. Best effort, not synced: without it a hit reads the file.
    pub fn write_file_index(&self, index: &str, file: &FileIdentity, entry: &str) {
        if entry.len() != ENTRY_NAME_LEN {
            return;
        }
        let mac = self.file_index_mac(file, entry);
        let _ = write_through_temp(
            &self.path.join(index),
            &[entry.as_bytes(), mac.as_bytes()],
            false,
        );
    }

    fn file_index_mac(&self, file: &FileIdentity, entry: &str) -> blake3::Hash {
        self.mac_of(FILE_INDEX_CONTEXT, &[&file.bytes(), entry.as_bytes()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::tests::name;
    use std::time::Duration;

    #[test]
    fn a_file_index_leads_from_that_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TrustedDir::open(dir.path()).unwrap();
        let target = TargetInfo {
            triple: "x86_64-unknown-linux-gnu".into(),
            cpu_features: String::new(),
            flags: String::new(),
        };
        let module = dir.path().join("app.wasm");
        std::fs::write(&module, b"\0asm").unwrap();
        let file = FileIdentity::of(&std::fs::metadata(&module).unwrap());
        // Just written: a change in the same clock tick could keep its times.
        assert!(!file.is_settled());
        let index = cache.file_index_name(&file, &target, "simd");
        assert_ne!(index, cache.file_index_name(&file, &target, "simd,threads"));
        assert!(cache.read_file_index(&index, &file).is_none());
        cache.write_file_index(&index, &file, &name(1));
        assert_eq!(cache.read_file_index(&index, &file), Some(name(1)));
        // Another file (here: the same one written again) finds nothing,
        // even through a copy of the index under its own name.
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&module, b"\0asm").unwrap();
        let changed = FileIdentity::of(&std::fs::metadata(&module).unwrap());
        assert_ne!(changed, file);
        let other = cache.file_index_name(&changed, &target, "simd");
        std::fs::copy(dir.path().join(&index), dir.path().join(&other)).unwrap();
        assert!(cache.read_file_index(&other, &changed).is_none());
        // Nor does a damaged index.
        let mut bytes = std::fs::read(dir.path().join(&index)).unwrap();
        bytes[3] ^= 1;
        std::fs::write(dir.path().join(&index), bytes).unwrap();
        assert!(cache.read_file_index(&index, &file).is_none());
        // Eviction deletes an index whose entry is gone.
        cache.write_file_index(&index, &file, &name(1));
        cache.evict(&dir.path().join(name(2)), 0);
        assert!(!dir.path().join(&index).exists());
        // Times two seconds and more in the past are settled.
        let old = FileIdentity([1, 2, 3, 1_000_000_000, 0, 1_000_000_000, 5]);
        assert!(old.is_settled());
    }
}
