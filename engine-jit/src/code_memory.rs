//! One module's machine code in one mapping: written while read+write, then
//! switched to read+execute before anything runs. The AOT tier is meant to
//! load its artifacts through this same type.

use std::ptr::NonNull;

/// Page-aligned executable memory holding a module's code.
#[derive(Debug)]
pub struct CodeMemory {
    ptr: NonNull<u8>,
    /// Mapped bytes (a whole number of pages, at least one).
    mapped: usize,
    /// Bytes of code.
    len: usize,
}

// SAFETY: after `publish` the mapping is immutable (read+execute) and owned
// by this value alone; sharing or sending the address is sound.
unsafe impl Send for CodeMemory {}
// SAFETY: as above, `&CodeMemory` only allows reading immutable bytes.
unsafe impl Sync for CodeMemory {}

/// A relocation to apply before publishing: write `target - site + addend`
/// as a 32-bit little-endian value at `site` (x86-64 PC-relative call).
#[derive(Debug, Clone, Copy)]
pub struct PcRel32 {
    pub site: usize,
    pub target: usize,
    pub addend: i64,
}

pub fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096)
}

impl CodeMemory {
    /// Maps `code`, patches `relocs` (offsets into `code`), and makes the
    /// result read+execute.
    pub fn new(code: &[u8], relocs: &[PcRel32]) -> Result<Self, String> {
        let page = page_size();
        let mapped = code.len().max(1).div_ceil(page) * page;
        // SAFETY: an anonymous private mapping at an address of the kernel's
        // choosing touches no existing memory.
        let raw = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                mapped,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if raw == libc::MAP_FAILED {
            return Err(format!(
                "cannot map {mapped} bytes for code: {}",
                std::io::Error::last_os_error()
            ));
        }
        let ptr = NonNull::new(raw.cast::<u8>()).ok_or("mmap returned null")?;
        let memory = Self {
            ptr,
            mapped,
            len: code.len(),
        };
        // SAFETY: the mapping is `mapped >= code.len()` bytes, writable, and
        // exclusively ours until published.
        let bytes = unsafe { std::slice::from_raw_parts_mut(ptr.as_ptr(), mapped) };
        bytes[..code.len()].copy_from_slice(code);
        for reloc in relocs {
            let value = reloc.target as i64 - reloc.site as i64 + reloc.addend;
            let value = i32::try_from(value).map_err(|_| "relocation out of range")?;
            let site = bytes
                .get_mut(reloc.site..reloc.site + 4)
                .ok_or("relocation outside the code")?;
            site.copy_from_slice(&value.to_le_bytes());
        }
        // SAFETY: changes the protection of our own mapping only; no
        // reference into it is used for writing after this point.
        let rc = unsafe { libc::mprotect(raw, mapped, libc::PROT_READ | libc::PROT_EXEC) };
        if rc != 0 {
            return Err(format!(
                "cannot make code executable: {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(memory)
    }

    /// Address of the first byte of code.
    pub fn base(&self) -> usize {
        self.ptr.as_ptr() as usize
    }

    /// The address range the code occupies.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.base()..self.base() + self.len
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `new`; no code in it
        // can be running because every instance using it keeps an `Arc` of
        // the module alive for as long as its store lives.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.mapped);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relocations_are_pc_relative() {
        let code = [0u8; 16];
        let memory = CodeMemory::new(
            &code,
            &[PcRel32 {
                site: 4,
                target: 12,
                addend: -4,
            }],
        )
        .unwrap();
        // SAFETY: the mapping is readable and 16 bytes long.
        let bytes = unsafe { std::slice::from_raw_parts(memory.base() as *const u8, 16) };
        assert_eq!(i32::from_le_bytes(bytes[4..8].try_into().unwrap()), 4);
        assert_eq!(memory.range().len(), 16);
    }
}
