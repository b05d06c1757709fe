//! One module's machine code in one mapping, made read+execute before
//! anything runs. Fresh code (the JIT) and code mapped from an artifact
//! file (the AOT tier) both end up as a [`CodeMemory`]: the same type, the
//! same publishing step, the same lookups afterwards.

use std::fs::File;

use memmap2::{Mmap, MmapMut, MmapOptions};

/// Page-aligned read+execute memory holding a module's code.
#[derive(Debug)]
pub struct CodeMemory {
    /// Read+execute; at least one page.
    map: Mmap,
    /// Bytes of code at the start of the mapping.
    len: usize,
}

pub fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096)
}

/// Why code could not be mapped or made executable.
#[derive(Debug, thiserror::Error)]
pub enum CodeMemoryError {
    #[error("cannot map {len} bytes for code: {source}")]
    Map { len: usize, source: std::io::Error },
    #[error("code offset {0} is not page-aligned")]
    Unaligned(u64),
    #[error("cannot map code from the artifact: {0}")]
    MapFile(std::io::Error),
    #[error("cannot make code executable: {0}")]
    Protect(std::io::Error),
}

impl CodeMemory {
    /// Copies finished code (relocations already applied) into a fresh
    /// anonymous mapping and makes it read+execute.
    pub fn new(code: &[u8]) -> Result<Self, CodeMemoryError> {
        let mut map =
            MmapMut::map_anon(code.len().max(1)).map_err(|source| CodeMemoryError::Map {
                len: code.len(),
                source,
            })?;
        map[..code.len()].copy_from_slice(code);
        crate::arch::flush_icache(&map[..code.len()]);
        Self::publish(map, code.len())
    }

    /// Maps `len` bytes of code at `offset` (a multiple of the page size)
    /// of `file`, privately (copy-on-write: the file is never modified),
    /// and makes them read+execute without copying.
    ///
    /// The caller has verified the bytes: this makes them executable.
    pub fn map_file(file: &File, offset: u64, len: usize) -> Result<Self, CodeMemoryError> {
        if !offset.is_multiple_of(page_size() as u64) {
            return Err(CodeMemoryError::Unaligned(offset));
        }
        // SAFETY: a private (copy-on-write) mapping: writes would never
        // reach the file, and none are made before it becomes read+execute; and a concurrent truncation of the file
        // can only fault inside generated code (reported as a crash of
        // this process, never as memory unsafety in Rust code), because
        // Rust code only reads the mapping through `base`/`range`.
        let map = unsafe {
            MmapOptions::new()
                .offset(offset)
                .len(len.max(1))
                .map_copy(file)
        }
        .map_err(CodeMemoryError::MapFile)?;
        Self::publish(map, len)
    }

    fn publish(map: MmapMut, len: usize) -> Result<Self, CodeMemoryError> {
        let map = map.make_exec().map_err(CodeMemoryError::Protect)?;
        Ok(Self { map, len })
    }

    /// Address of the first byte of code.
    pub fn base(&self) -> usize {
        self.map.as_ptr() as usize
    }

    /// The address range the code occupies.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.base()..self.base() + self.len
    }

    /// The code bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.map[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_code_is_copied_and_published() {
        let code = [0xc3u8; 16];
        let memory = CodeMemory::new(&code).unwrap();
        assert_eq!(memory.bytes(), &code);
        assert_eq!(memory.range().len(), 16);
        assert!(memory.base().is_multiple_of(page_size()));
    }

    #[test]
    fn file_code_is_mapped_in_place() {
        use std::io::Write;
        let page = page_size();
        let mut file = tempfile_in_target();
        let mut bytes = vec![0u8; page];
        bytes.extend_from_slice(&[0xc3; 32]);
        file.write_all(&bytes).unwrap();
        let memory = CodeMemory::map_file(&file, page as u64, 32).unwrap();
        assert_eq!(memory.bytes(), &[0xc3; 32]);
        assert!(CodeMemory::map_file(&file, 1, 32).is_err());
    }

    fn tempfile_in_target() -> File {
        let path = std::env::temp_dir().join(format!(
            "wasmtier-code-memory-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        file
    }
}
