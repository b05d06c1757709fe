//! Reading a module file: whatever the user names, a regular file or not.
//!
//! `std::fs::read` of `/dev/zero`, `/dev/urandom` or an endless pipe never
//! returns and grows without bound. Here the first bytes decide early
//! whether the input can be a module at all (the binary format's magic, an
//! artifact's, or UTF-8 text), and no input may exceed [`MAX_INPUT`].
//! The CLI and the containerd shim read modules through it.
//!
//! A big file is read into an anonymous mapping populated in one call
//! rather than into a vector whose pages fault in one at a time as `read`
//! fills them: page faults are slow on this project's VMs, and reading the
//! benches' 80 MB module took 137–157 ms into a vector, 93–100 ms into a
//! populated mapping (`FileBytes`, `core/RATIONALE.md`).

use std::fs::File;
use std::io::{self, Read};
use std::ops::Deref;
use std::path::{Path, PathBuf};

use memmap2::{MmapMut, MmapOptions};

use crate::shared::SharedBytes;

/// The largest input read: far above real modules (a CPython build is
/// ~100 MB), and it keeps an endless input from taking the host's memory.
pub const MAX_INPUT: u64 = 4 << 30;

/// How much is read before judging whether the input can be a module.
const FIRST_CHUNK: usize = 64 << 10;

/// From this size on, a regular file is read into a populated mapping
/// (`FileBytes`); below it a vector's few hundred page faults cost little.
const MAPPED_FROM: u64 = 1 << 20;

/// The bytes of a module file: a vector, or for a big file an anonymous
/// mapping that was populated before the read (not made read-only after:
/// that `mprotect` took 5 ms of 80 MB, and nothing writes through it).
pub struct FileBytes(Held);

enum Held {
    Heap(Vec<u8>),
    Mapped(MmapMut),
}

impl FileBytes {
    /// The bytes as a vector (a copy when they are mapped).
    pub fn into_vec(self) -> Vec<u8> {
        match self.0 {
            Held::Heap(bytes) => bytes,
            Held::Mapped(map) => map.to_vec(),
        }
    }
}

impl Deref for FileBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.0 {
            Held::Heap(bytes) => bytes,
            Held::Mapped(map) => map,
        }
    }
}

impl std::fmt::Debug for FileBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let held = match self.0 {
            Held::Heap(_) => "heap",
            Held::Mapped(_) => "mapped",
        };
        write!(f, "FileBytes({} bytes, {held})", self.len())
    }
}

impl From<Vec<u8>> for FileBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self(Held::Heap(bytes))
    }
}

impl From<FileBytes> for SharedBytes {
    fn from(bytes: FileBytes) -> Self {
        match bytes.0 {
            Held::Heap(bytes) => bytes.into(),
            Held::Mapped(map) => SharedBytes::new(std::sync::Arc::new(map)),
        }
    }
}

/// Why a module file was not read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("`{}` is {size} bytes, more than the {} GiB wasmtier reads", path.display(), MAX_INPUT >> 30)]
    TooLarge { path: PathBuf, size: u64 },
    #[error("`{}` is more than the {} GiB wasmtier reads", path.display(), MAX_INPUT >> 30)]
    Endless { path: PathBuf },
    #[error(
        "`{}` is not a WebAssembly module: it starts with the bytes {first}, not the binary format's `\\0asm`",
        path.display()
    )]
    Binary { path: PathBuf, first: String },
    #[error(
        "`{}` is not a WebAssembly module: not the binary format (it starts with {first}, not `\\0asm`) and not text (not UTF-8 at byte {at})",
        path.display()
    )]
    NotText {
        path: PathBuf,
        first: String,
        at: usize,
    },
}

/// The whole of `path`, if it can be a module (binary or text) or, where
/// `is_artifact` accepts its first bytes, an artifact; otherwise an error
/// saying why, read no further than needed.
pub fn read_module_file(
    path: &Path,
    is_artifact: impl Fn(&[u8]) -> bool,
) -> Result<FileBytes, InputError> {
    let cannot_read = |source| InputError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(cannot_read)?;
    let size_hint = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map_or(0, |m| m.len());
    if size_hint > MAX_INPUT {
        return Err(InputError::TooLarge {
            path: path.to_path_buf(),
            size: size_hint,
        });
    }
    let mut first = Vec::with_capacity(FIRST_CHUNK);
    (&mut file)
        .take(FIRST_CHUNK as u64)
        .read_to_end(&mut first)
        .map_err(cannot_read)?;
    if !first.starts_with(b"\0asm") && !is_artifact(&first) {
        judge_first_bytes(path, &first)?;
    }
    if size_hint >= MAPPED_FROM {
        // The mapping fits the size the file had when opened; a file that
        // changed since is read into a vector after all.
        if let Some(mapped) = read_mapped(&mut file, &first, size_hint).map_err(cannot_read)? {
            return Ok(mapped);
        }
    }
    let mut bytes = first;
    bytes.reserve((size_hint as usize).saturating_sub(bytes.len()));
    (&mut file)
        .take(MAX_INPUT + 1 - bytes.len() as u64)
        .read_to_end(&mut bytes)
        .map_err(cannot_read)?;
    if bytes.len() as u64 > MAX_INPUT {
        return Err(InputError::Endless {
            path: path.to_path_buf(),
        });
    }
    Ok(bytes.into())
}

/// Reads the rest of `file` (whose first bytes, `first`, are read) into a
/// populated mapping of `size` bytes. `None`, with `first` and the file
/// position as they were, unless the file ends exactly there.
fn read_mapped(file: &mut File, first: &[u8], size: u64) -> io::Result<Option<FileBytes>> {
    let size = usize::try_from(size).map_err(io::Error::other)?;
    if first.len() > size {
        return Ok(None);
    }
    let mut map = MmapOptions::new().len(size).populate().map_anon()?;
    map[..first.len()].copy_from_slice(first);
    let mut filled = first.len();
    while filled < size {
        match file.read(&mut map[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let mut probe = [0u8; 1];
    let more = loop {
        match file.read(&mut probe) {
            Ok(n) => break n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    };
    if filled < size || more > 0 {
        // Shorter or longer than when it was opened: start again from the
        // vector path, at the end of the first chunk.
        use std::io::{Seek, SeekFrom};
        file.seek(SeekFrom::Start(first.len() as u64))?;
        return Ok(None);
    }
    Ok(Some(FileBytes(Held::Mapped(map))))
}

/// Refuses an input whose first bytes (not the binary format's, nor an
/// artifact's) are not UTF-8 text.
fn judge_first_bytes(path: &Path, first: &[u8]) -> Result<(), InputError> {
    let shown = first
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    // Text never starts with NUL; a binary module always does.
    if first.first() == Some(&0) {
        return Err(InputError::Binary {
            path: path.to_path_buf(),
            first: shown,
        });
    }
    if let Err(e) = std::str::from_utf8(first) {
        // A character cut off at the chunk's end is not an error.
        if e.error_len().is_some() {
            return Err(InputError::NotText {
                path: path.to_path_buf(),
                first: shown,
                at: e.valid_up_to(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(bytes: &[u8]) -> Result<(), InputError> {
        judge_first_bytes(Path::new("x"), bytes)
    }

    #[test]
    fn text_passes_and_the_rest_is_named() {
        assert!(judged(b"(module)").is_ok());
        assert!(judged("(module) ;; é".as_bytes()).is_ok());
        // The first chunk may end in the middle of a character.
        assert!(judged(&"é".as_bytes()[..1]).is_ok());
        let zeros = judged(&[0; 16]).unwrap_err().to_string();
        assert!(
            zeros.contains("starts with the bytes 00 00 00 00"),
            "{zeros}"
        );
        let noise = judged(&[0xff, 0xfe, 0x41, 0x42]).unwrap_err().to_string();
        assert!(noise.contains("not UTF-8 at byte 0"), "{noise}");
    }

    #[test]
    fn big_files_read_whole_through_a_mapping() {
        let dir = std::env::temp_dir().join(format!("wasmtier-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for size in [MAPPED_FROM as usize - 1, MAPPED_FROM as usize, 3 << 20] {
            let mut contents = b"\0asm\x01\0\0\0".to_vec();
            contents.extend((0..size - 8).map(|i| (i % 251) as u8));
            let path = dir.join(format!("{size}.wasm"));
            std::fs::write(&path, &contents).unwrap();
            let read = read_module_file(&path, |_| false).unwrap();
            assert_eq!(
                matches!(read.0, Held::Mapped(_)),
                size as u64 >= MAPPED_FROM
            );
            assert!(*read == contents[..], "{size} bytes");
            let shared = SharedBytes::from(read);
            assert!(*shared == contents[..], "{size} bytes, shared");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_that_changed_size_since_it_was_opened_is_read_again() {
        use std::io::Seek;
        let dir = std::env::temp_dir().join(format!("wasmtier-resized-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.wasm");
        std::fs::write(&path, vec![7u8; 2 << 20]).unwrap();
        let mut file = File::open(&path).unwrap();
        let mut first = vec![0; FIRST_CHUNK];
        file.read_exact(&mut first).unwrap();
        // Grown (a byte more than the size it had) or shrunk: no mapping,
        // and the file where the first chunk left it.
        for size in [(2 << 20) - 1, (2 << 20) + 1] {
            assert!(read_mapped(&mut file, &first, size).unwrap().is_none());
            assert_eq!(file.stream_position().unwrap(), FIRST_CHUNK as u64);
        }
        let whole = read_mapped(&mut file, &first, 2 << 20).unwrap().unwrap();
        assert!(whole.iter().all(|&b| b == 7) && whole.len() == 2 << 20);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn endless_and_missing_inputs_are_errors() {
        let zero = read_module_file(Path::new("/dev/zero"), |_| false).unwrap_err();
        assert!(matches!(zero, InputError::Binary { .. }), "{zero}");
        let missing = read_module_file(Path::new("/nonexistent/x.wasm"), |_| false).unwrap_err();
        assert_eq!(missing.to_string(), "cannot read `/nonexistent/x.wasm`");
    }
}
