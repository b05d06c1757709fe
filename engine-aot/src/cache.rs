//! The compilation cache: one artifact per (module, everything that
//! changes its code), written atomically.
//!
//! The cache holds native code that `run --engine aot` maps executable, so
//! it is trusted only as far as it is protected:
//! - the directory must belong to this user and be writable by nobody
//!   else, and is never reached through a symbolic link;
//! - entries are opened without following links and must belong to this
//!   user;
//! - every entry ends in a seal, a keyed BLAKE3 hash (a MAC) of the
//!   artifact under a per-user key kept in the directory (mode 0600), and
//!   entry names are keyed hashes too: an entry someone else planted, however well formed,
//!   fails the seal and is replaced, never run;
//! - an entry that passed its seal check is recorded (a MAC over its name
//!   and file identity), and a hit on that unchanged file checks its
//!   CRC-32 instead ([`TrustedDir::seal_record`]);
//! - eviction deletes only files this cache wrote (entry name, owner and
//!   seal), with their records.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::artifact::FORMAT_VERSION;
use crate::error::AotError;
use crate::target::TargetInfo;

/// Bytes of the seal after the artifact in every cache entry.
pub const SEAL_LEN: usize = 32;
/// The per-user key's file name inside the cache directory.
const KEY_FILE: &str = "key";
const KEY_LEN: usize = 32;
/// Hex digits of an entry name (before `.cwasm`).
pub(crate) const NAME_DIGITS: usize = 40;
const NAME_CONTEXT: &[u8] = b"wasmtier cache entry name\0";
const SEAL_CONTEXT: &[u8] = b"wasmtier cache entry seal\0";
const RECORD_CONTEXT: &[u8] = b"wasmtier cache entry passed its seal\0";
/// Appended to an entry's name for its record ([`TrustedDir::seal_record`]).
const RECORD_SUFFIX: &str = ".checked";
/// The lock file of [`TrustedDir::try_lock_filling`]; not an entry name,
/// so eviction never deletes it.
const FILL_LOCK_FILE: &str = "fill.lock";

/// Held while a background compile fills the cache (an exclusive `flock`
/// on the cache's lock file).
#[derive(Debug)]
pub struct FillLock(#[allow(dead_code)] File);

/// A cache directory checked to be this user's alone, with its key.
pub struct TrustedDir {
    pub(crate) path: PathBuf,
    key: [u8; KEY_LEN],
}

impl std::fmt::Debug for TrustedDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("TrustedDir")
            .field("path", &self.path)
            .finish()
    }
}

fn untrusted(path: &Path, reason: impl Into<String>) -> AotError {
    AotError::UntrustedCache {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Refuses what another user owns, or what others may write.
fn check_owner_and_mode(
    path: &Path,
    meta: &std::fs::Metadata,
    forbidden: u32,
) -> Result<(), AotError> {
    if meta.uid() != effective_uid() {
        return Err(untrusted(
            path,
            format!(
                "owned by user {}, not by this user ({})",
                meta.uid(),
                effective_uid()
            ),
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & forbidden != 0 {
        return Err(untrusted(
            path,
            format!("its mode {mode:04o} lets other users change it"),
        ));
    }
    Ok(())
}

impl TrustedDir {
    /// Creates `path` (mode 0700) if needed, checks that it is a real
    /// directory of this user that no one else may write, and reads or
    /// creates its key.
    pub fn open(path: &Path) -> Result<Self, AotError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(AotError::io(path))?;
        let meta = std::fs::symlink_metadata(path).map_err(AotError::io(path))?;
        if !meta.is_dir() {
            return Err(untrusted(path, "not a directory (a symbolic link?)"));
        }
        check_owner_and_mode(path, &meta, 0o022)?;
        let key = read_or_create_key(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            key,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The entry name for a module with `source_hash` compiled for
    /// `target` with `wasm_features`: a keyed hash over everything that
    /// changes the code, so names cannot be predicted without the key.
    pub fn entry_name(
        &self,
        source_hash: &[u8; 32],
        target: &TargetInfo,
        wasm_features: &str,
    ) -> String {
        let hex = self.keyed_name(NAME_CONTEXT, target, wasm_features, source_hash);
        format!("{hex}.cwasm")
    }

    /// The hex digits of a name: a keyed hash, for `context`, over what
    /// changes the code (format, version, target, features) and `what`.
    pub(crate) fn keyed_name(
        &self,
        context: &[u8],
        target: &TargetInfo,
        wasm_features: &str,
        what: &[u8],
    ) -> String {
        let mac = self.mac_of(
            context,
            &[
                &FORMAT_VERSION.to_le_bytes()[..],
                env!("CARGO_PKG_VERSION").as_bytes(),
                target.triple.as_bytes(),
                target.cpu_features.as_bytes(),
                target.flags.as_bytes(),
                wasm_features.as_bytes(),
                what,
            ],
        );
        mac.as_bytes()[..NAME_DIGITS / 2]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The MAC, for `context`, of `parts`, each prefixed with its length
    /// so that no two lists of parts hash alike.
    pub(crate) fn mac_of(&self, context: &[u8], parts: &[&[u8]]) -> blake3::Hash {
        let mut mac = self.mac(context);
        for part in parts {
            mac.update(&(part.len() as u64).to_le_bytes());
            mac.update(part);
        }
        mac.finalize()
    }

    /// A keyed BLAKE3 hasher for one purpose: names and seals are domains
    /// of their own, so a name never passes as a seal.
    fn mac(&self, context: &[u8]) -> blake3::Hasher {
        let mut hasher = blake3::Hasher::new_keyed(&self.key);
        hasher.update(context);
        hasher
    }

    fn seal(&self, artifact: &[u8]) -> blake3::Hash {
        let mut mac = self.mac(SEAL_CONTEXT);
        mac.update(artifact);
        mac.finalize()
    }

    /// The artifact part of an entry's bytes, if its seal is ours
    /// (compared in constant time).
    pub fn unseal<'a>(&self, entry: &'a [u8]) -> Option<&'a [u8]> {
        let split = entry.len().checked_sub(SEAL_LEN)?;
        let (artifact, seal) = entry.split_at(split);
        let seal = blake3::Hash::from_bytes(seal.try_into().ok()?);
        (self.seal(artifact) == seal).then_some(artifact)
    }

    /// Opens entry `name` without following a link; it must be a regular
    /// file of this user.
    pub fn open_entry(&self, name: &str) -> Result<(PathBuf, File), AotError> {
        let path = self.path.join(name);
        let untrusted_entry = |reason: String| AotError::UntrustedEntry {
            path: path.clone(),
            reason,
        };
        let file = match File::options()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
        {
            Ok(file) => file,
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(untrusted_entry("a symbolic link".into()));
            }
            Err(e) => return Err(AotError::io(&path)(e)),
        };
        let meta = file.metadata().map_err(AotError::io(&path))?;
        if !meta.is_file() {
            return Err(untrusted_entry("not a regular file".into()));
        }
        check_owner_and_mode(&path, &meta, 0o022).map_err(|e| untrusted_entry(e.to_string()))?;
        Ok((path, file))
    }

    /// The lock that lets one background compile (`wasmtier fill-cache`)
    /// fill this cache at a time: `None` while another process holds it.
    /// It is released when the returned guard drops or its process ends,
    /// however it ends, so a killed compile leaves no stale lock.
    pub fn try_lock_filling(&self) -> Result<Option<FillLock>, AotError> {
        let path = self.path.join(FILL_LOCK_FILE);
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(AotError::io(&path))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(FillLock(file))),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(AotError::io(&path)(e)),
        }
    }

    /// The record that entry `name`, open as `entry`, passed its seal
    /// check as the file it is now: a MAC under the key over the name and
    /// the file's device, inode, size and change time. An entry is only
    /// ever replaced by a rename (a new inode), and any write to it, or to
    /// its times, changes its change time.
    fn record_of(&self, name: &str, entry: &File) -> Option<blake3::Hash> {
        let meta = entry.metadata().ok()?;
        Some(self.mac_of(
            RECORD_CONTEXT,
            &[
                name.as_bytes(),
                &meta.dev().to_le_bytes(),
                &meta.ino().to_le_bytes(),
                &meta.size().to_le_bytes(),
                &meta.ctime().to_le_bytes(),
                &meta.ctime_nsec().to_le_bytes(),
            ],
        ))
    }

    /// The record that entry `name` (open as `entry`) passed its seal
    /// check since it last changed, open, if there is a valid one: a hit
    /// then checks the entry's CRC-32 instead of its seal (a keyed hash
    /// of the whole entry, two thirds of what a hit costs beyond loading
    /// a `.cwasm`). Like an entry, a record is this user's regular file,
    /// never reached through a link.
    pub fn seal_record(&self, name: &str, entry: &File) -> Option<File> {
        let expected = self.record_of(name, entry)?;
        let (file, record) = self.read_small_file(&record_name(name), 32)?;
        // `Hash` compares in constant time.
        (blake3::Hash::from_bytes(record.try_into().ok()?) == expected).then_some(file)
    }

    /// The file `name` in the cache and its `len` bytes, if it is this
    /// user's regular file of that length that no one else may write,
    /// reached without following a link (as entries are).
    pub(crate) fn read_small_file(&self, name: &str, len: usize) -> Option<(File, Vec<u8>)> {
        let path = self.path.join(name);
        let mut file = File::options()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .ok()?;
        let meta = file.metadata().ok()?;
        if !meta.is_file() || meta.len() != len as u64 {
            return None;
        }
        check_owner_and_mode(&path, &meta, 0o022).ok()?;
        let mut bytes = vec![0u8; len];
        file.read_exact(&mut bytes).ok()?;
        Some((file, bytes))
    }

    /// Records that entry `name` (open as `entry`) passed its seal check.
    /// Best effort (the next hit checks the seal again without it):
    /// returns whether the record was written. Not synced to disk: a
    /// record lost in a crash costs one seal check.
    pub fn record_seal_passed(&self, name: &str, entry: &File) -> bool {
        let Some(record) = self.record_of(name, entry) else {
            return false;
        };
        let path = self.path.join(record_name(name));
        write_through_temp(&path, &[record.as_bytes()], false).is_ok()
    }

    /// Writes `artifact` and its seal as entry `name`, atomically.
    pub fn write_entry(&self, name: &str, artifact: &[u8]) -> Result<PathBuf, AotError> {
        let path = self.path.join(name);
        let seal = self.seal(artifact);
        write_atomically(&path, &[artifact, seal.as_bytes()])?;
        Ok(path)
    }

    /// Deletes the least recently used entries (oldest modification time
    /// first; a cache hit refreshes it) until they total at most `limit`
    /// bytes, never deleting `keep`. Only files this cache wrote are
    /// candidates: an entry's name, this user's regular file, and a valid
    /// seal (checked just before deleting). Best effort: an entry that
    /// cannot be read or removed is skipped. Deleting is safe while
    /// another process runs an entry: its mapping outlives the name, and a
    /// process about to open it compiles again.
    pub fn evict(&self, keep: &Path, limit: u64) {
        let Ok(listing) = std::fs::read_dir(&self.path) else {
            return;
        };
        let uid = effective_uid();
        let own_file = |path: &Path| {
            let meta = path.symlink_metadata().ok()?;
            (meta.is_file() && meta.uid() == uid).then_some(meta)
        };
        let names: Vec<String> = listing
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        // A record or file index without its entry is of no use.
        let leads_to = |name: &str| -> Option<String> {
            if let Some(entry) = name.strip_suffix(RECORD_SUFFIX) {
                return Some(entry.to_string());
            }
            let stem = name.strip_suffix(crate::file_index::FILE_INDEX_SUFFIX)?;
            (stem.len() == NAME_DIGITS).then_some(())?;
            let bytes = std::fs::read(self.path.join(name)).ok()?;
            let entry = std::str::from_utf8(bytes.get(..ENTRY_NAME_LEN)?).ok()?;
            Some(entry.to_string())
        };
        for name in &names {
            if let Some(entry) = leads_to(name)
                && is_entry_name(&entry)
                && !self.path.join(&entry).exists()
                && own_file(&self.path.join(name)).is_some()
            {
                let _ = std::fs::remove_file(self.path.join(name));
            }
        }
        let mut entries: Vec<(std::time::SystemTime, u64, String)> = names
            .into_iter()
            .filter_map(|name| {
                is_entry_name(&name).then_some(())?;
                let meta = own_file(&self.path.join(&name))?;
                // A hit refreshes the record's time once the entry has one
                // (the entry's own times are bound by the record).
                let record = own_file(&self.path.join(record_name(&name)));
                let used = record.as_ref().unwrap_or(&meta).modified().ok()?;
                Some((used, meta.len(), name))
            })
            .collect();
        let mut total: u64 = entries.iter().map(|e| e.1).sum();
        entries.sort();
        for (_, len, name) in entries {
            if total <= limit {
                break;
            }
            let path = self.path.join(&name);
            if path == keep {
                continue;
            }
            if !self.is_sealed_entry(&name) {
                // Not this cache's file: neither deleted nor counted.
                total -= len;
                continue;
            }
            if std::fs::remove_file(&path).is_ok() {
                total -= len;
                let _ = std::fs::remove_file(self.path.join(record_name(&name)));
            }
        }
    }

    fn is_sealed_entry(&self, name: &str) -> bool {
        let Ok((_, mut file)) = self.open_entry(name) else {
            return false;
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).is_ok() && self.unseal(&bytes).is_some()
    }
}

/// The name of entry `entry`'s seal record.
fn record_name(entry: &str) -> String {
    format!("{entry}{RECORD_SUFFIX}")
}

/// The length of an entry's name.
pub(crate) const ENTRY_NAME_LEN: usize = NAME_DIGITS + ".cwasm".len();

/// `<40 hex digits>.cwasm`, as [`TrustedDir::entry_name`] makes them.
pub(crate) fn is_entry_name(name: &str) -> bool {
    name.strip_suffix(".cwasm").is_some_and(|stem| {
        stem.len() == NAME_DIGITS && stem.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// The directory's key: read, or made from the system's random source and
/// published without replacing one another process made first.
fn read_or_create_key(dir: &Path) -> Result<[u8; KEY_LEN], AotError> {
    let path = dir.join(KEY_FILE);
    match read_key(&path) {
        Err(AotError::Io { error, .. }) if error.kind() == std::io::ErrorKind::NotFound => {}
        other => return other,
    }
    let mut key = [0u8; KEY_LEN];
    File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut key))
        .map_err(AotError::io("/dev/urandom"))?;
    // tempfile creates the file with mode 0600.
    let mut temp = tempfile::Builder::new()
        .prefix(".wasmtier-key-")
        .tempfile_in(dir)
        .map_err(AotError::io(dir))?;
    temp.write_all(&key).map_err(AotError::io(temp.path()))?;
    temp.as_file()
        .sync_data()
        .map_err(AotError::io(temp.path()))?;
    match temp.persist_noclobber(&path) {
        Ok(_) => Ok(key),
        // Another process won the race: use its key.
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => read_key(&path),
        Err(e) => Err(AotError::io(&path)(e.error)),
    }
}

fn read_key(path: &Path) -> Result<[u8; KEY_LEN], AotError> {
    let mut file = File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(AotError::io(path))?;
    let meta = file.metadata().map_err(AotError::io(path))?;
    if !meta.is_file() {
        return Err(untrusted(path, "the key is not a regular file"));
    }
    check_owner_and_mode(path, &meta, 0o077)?;
    let mut key = [0u8; KEY_LEN];
    let mut rest = Vec::new();
    file.read_exact(&mut key)
        .and_then(|()| file.read_to_end(&mut rest))
        .map_err(AotError::io(path))?;
    if !rest.is_empty() {
        return Err(untrusted(path, "the key file is not 32 bytes long"));
    }
    Ok(key)
}

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

/// Writes `bytes` to `path` through a temporary file in the same directory
/// and a rename, so readers see either no file, the old one, or the whole
/// new one; concurrent writers of the same entry each rename a complete
/// file of their own.
pub fn write_atomically(path: &Path, parts: &[&[u8]]) -> Result<(), AotError> {
    write_through_temp(path, parts, true)
}

/// [`write_atomically`], synced to disk before the rename or not.
pub(crate) fn write_through_temp(path: &Path, parts: &[&[u8]], sync: bool) -> Result<(), AotError> {
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
    for part in parts {
        temp.write_all(part).map_err(AotError::io(temp.path()))?;
    }
    if sync {
        temp.as_file()
            .sync_data()
            .map_err(AotError::io(temp.path()))?;
    }
    temp.persist(path)
        .map_err(|e| AotError::io(path)(e.error))?;
    Ok(())
}

/// The cache directory's size above which the least recently used entries
/// are deleted (after each new entry is written).
pub const SIZE_LIMIT: u64 = 1 << 30;

/// Marks a cache entry as just used, for [`TrustedDir::evict`].
pub fn touch(file: &File) {
    // Best effort: a read-only cache directory still serves hits.
    let _ = file.set_modified(std::time::SystemTime::now());
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::time::{Duration, SystemTime};

    fn set_age(path: &Path, age_secs: u64) {
        let file = File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::now() - Duration::from_secs(age_secs))
            .unwrap();
    }

    /// An entry name made of the byte `n`.
    pub(crate) fn name(n: u8) -> String {
        format!("{}.cwasm", format!("{n:02x}").repeat(NAME_DIGITS / 2))
    }

    #[test]
    fn a_seal_record_holds_for_the_entry_file_it_was_made_for_only() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TrustedDir::open(dir.path()).unwrap();
        let open = |n: u8| File::open(dir.path().join(name(n))).unwrap();
        cache.write_entry(&name(1), &[1u8; 100]).unwrap();
        cache.write_entry(&name(2), &[1u8; 100]).unwrap();
        assert!(cache.seal_record(&name(1), &open(1)).is_none());
        assert!(cache.record_seal_passed(&name(1), &open(1)));
        assert!(cache.seal_record(&name(1), &open(1)).is_some());
        // Another entry, however alike, has its own record.
        assert!(cache.seal_record(&name(2), &open(2)).is_none());
        let record = |n: u8| dir.path().join(record_name(&name(n)));
        std::fs::copy(record(1), record(2)).unwrap();
        assert!(cache.seal_record(&name(2), &open(2)).is_none());
        // A record without the key's MAC.
        std::fs::write(record(2), [0u8; 32]).unwrap();
        assert!(cache.seal_record(&name(2), &open(2)).is_none());
        // Written over in place, same size (after a tick of the clock the
        // change time has), or replaced: no longer the file that passed.
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(dir.path().join(name(1)), [2u8; 100 + SEAL_LEN]).unwrap();
        assert!(cache.seal_record(&name(1), &open(1)).is_none());
        assert!(cache.record_seal_passed(&name(1), &open(1)));
        cache.write_entry(&name(1), &[1u8; 100]).unwrap();
        assert!(cache.seal_record(&name(1), &open(1)).is_none());
        // Eviction deletes a record with its entry, and one left alone.
        assert!(cache.record_seal_passed(&name(1), &open(1)));
        std::fs::remove_file(dir.path().join(name(2))).unwrap();
        cache.evict(&dir.path().join(name(3)), 0);
        assert!(!record(1).exists() && !record(2).exists());
    }

    #[test]
    fn one_filler_at_a_time_holds_the_lock_until_it_drops() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TrustedDir::open(dir.path()).unwrap();
        let first = cache.try_lock_filling().unwrap();
        assert!(first.is_some());
        // Another holder (another open file, as another process has).
        assert!(cache.try_lock_filling().unwrap().is_none());
        drop(first);
        assert!(cache.try_lock_filling().unwrap().is_some());
        // The lock file is not an entry: eviction leaves it.
        let path = cache.write_entry(&name(1), &[0u8; 100]).unwrap();
        cache.evict(&path, 0);
        assert!(dir.path().join(FILL_LOCK_FILE).exists());
    }

    #[test]
    fn eviction_deletes_the_least_recently_used_entries_down_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TrustedDir::open(dir.path()).unwrap();
        for (n, age_secs) in [(1, 300), (2, 200), (3, 100), (4, 400)] {
            let path = cache.write_entry(&name(n), &[0u8; 100]).unwrap();
            set_age(&path, age_secs);
        }
        // Files this cache did not write, however old or named: the user's
        // own artifact, and an entry-named file without our seal.
        for (other, age_secs) in [("app.cwasm".to_string(), 900), (name(5), 800)] {
            std::fs::write(dir.path().join(&other), [0u8; 1000]).unwrap();
            set_age(&dir.path().join(other), age_secs);
        }
        cache.evict(&dir.path().join(name(4)), 250 + 2 * SEAL_LEN as u64);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        // Entry 4 is the oldest but protected; 1 goes, then 2.
        let mut expected = vec![
            "app.cwasm".to_string(),
            name(3),
            name(4),
            name(5),
            KEY_FILE.into(),
        ];
        expected.sort();
        assert_eq!(left, expected);
    }

    #[test]
    fn the_key_is_private_and_kept_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("a/b");
        let first = TrustedDir::open(&cache).unwrap();
        let meta = std::fs::metadata(cache.join(KEY_FILE)).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&cache).unwrap().mode() & 0o777, 0o700);
        let second = TrustedDir::open(&cache).unwrap();
        assert_eq!(first.key, second.key);
        // A key others can read is no key.
        std::fs::set_permissions(cache.join(KEY_FILE), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        let err = TrustedDir::open(&cache).unwrap_err();
        assert!(err.to_string().contains("0644"), "{err}");
    }

    #[test]
    fn directories_others_may_write_or_links_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = TrustedDir::open(&open).unwrap_err();
        assert!(matches!(err, AotError::UntrustedCache { .. }), "{err}");
        assert!(err.to_string().contains("0777"), "{err}");

        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = TrustedDir::open(&link).unwrap_err();
        assert!(err.to_string().contains("not a directory"), "{err}");
    }

    #[test]
    fn entries_are_bound_to_the_key_and_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let ours = TrustedDir::open(&dir.path().join("ours")).unwrap();
        let theirs = TrustedDir::open(&dir.path().join("theirs")).unwrap();
        let artifact = b"artifact bytes".as_slice();
        let path = ours.write_entry(&name(1), artifact).unwrap();
        let entry = std::fs::read(&path).unwrap();
        assert_eq!(ours.unseal(&entry), Some(artifact));
        // Well formed, but sealed under another key, or edited.
        assert_eq!(theirs.unseal(&entry), None);
        let mut edited = entry.clone();
        edited[0] ^= 1;
        assert_eq!(ours.unseal(&edited), None);
        assert_eq!(ours.unseal(&entry[..SEAL_LEN - 1]), None);
        // Names depend on the key too.
        let target = TargetInfo {
            triple: "x86_64-unknown-linux-gnu".into(),
            cpu_features: String::new(),
            flags: String::new(),
        };
        let (a, b) = (
            ours.entry_name(&[7; 32], &target, "wasm2"),
            theirs.entry_name(&[7; 32], &target, "wasm2"),
        );
        assert!(is_entry_name(&a) && is_entry_name(&b) && a != b, "{a} {b}");
        // A link in place of an entry is not followed.
        std::os::unix::fs::symlink(&path, ours.path().join(name(2))).unwrap();
        assert!(ours.open_entry(&name(2)).is_err());
        assert!(ours.open_entry(&name(1)).is_ok());
    }
}
