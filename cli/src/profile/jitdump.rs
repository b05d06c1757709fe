//! The jitdump format `perf inject --jit` reads (Linux's
//! `tools/perf/Documentation/jitdump-specification.txt`): a header, then
//! one record per function with its name, address and code bytes.
//!
//! perf finds the file through this process's memory map: the file must be
//! mapped executable while `perf record` runs, and the records' timestamps
//! must be on the clock perf samples with (`perf record -k mono`).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use memmap2::{Mmap, MmapOptions};

const MAGIC: u32 = 0x4A69_5444; // "JiTD"
const VERSION: u32 = 1;
const HEADER_SIZE: u32 = 40;
/// The host's ELF machine: `EM_X86_64` or `EM_AARCH64`, the JIT's hosts.
#[cfg(target_arch = "aarch64")]
const ELF_MACHINE: u32 = 183;
#[cfg(not(target_arch = "aarch64"))]
const ELF_MACHINE: u32 = 62;
const JIT_CODE_LOAD: u32 = 0;
/// A record header (id, size, timestamp) plus a code-load record's fixed
/// fields (pid, tid, vma, code address, code size, code index).
const CODE_LOAD_FIXED: usize = 16 + 4 + 4 + 8 + 8 + 8 + 8;

pub struct JitDump {
    out: BufWriter<File>,
    pid: u32,
    /// The executable mapping perf looks for; unmapped on drop.
    _marker: Mmap,
}

impl JitDump {
    /// Creates the file, writes its header and maps it.
    pub fn create(path: &Path, pid: u32) -> io::Result<Self> {
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        let mut out = BufWriter::new(file);
        out.write_all(&MAGIC.to_le_bytes())?;
        out.write_all(&VERSION.to_le_bytes())?;
        out.write_all(&HEADER_SIZE.to_le_bytes())?;
        out.write_all(&ELF_MACHINE.to_le_bytes())?;
        out.write_all(&0u32.to_le_bytes())?;
        out.write_all(&pid.to_le_bytes())?;
        out.write_all(&timestamp().to_le_bytes())?;
        out.write_all(&0u64.to_le_bytes())?;
        out.flush()?;
        let marker = map_marker(out.get_ref())?;
        Ok(Self {
            out,
            pid,
            _marker: marker,
        })
    }

    /// Records the function `name` whose `code` is at `address`; `index`
    /// numbers the record (perf names the code it extracts after it).
    pub fn code_load(
        &mut self,
        name: &str,
        address: usize,
        code: &[u8],
        index: u64,
    ) -> io::Result<()> {
        let size = CODE_LOAD_FIXED + name.len() + 1 + code.len();
        let size = u32::try_from(size).map_err(|_| io::Error::other("function too large"))?;
        let out = &mut self.out;
        out.write_all(&JIT_CODE_LOAD.to_le_bytes())?;
        out.write_all(&size.to_le_bytes())?;
        out.write_all(&timestamp().to_le_bytes())?;
        out.write_all(&self.pid.to_le_bytes())?;
        // The thread that compiled the code (lazy compilation runs on
        // several).
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() } as u32;
        out.write_all(&tid.to_le_bytes())?;
        out.write_all(&(address as u64).to_le_bytes())?;
        out.write_all(&(address as u64).to_le_bytes())?;
        out.write_all(&(code.len() as u64).to_le_bytes())?;
        out.write_all(&index.to_le_bytes())?;
        out.write_all(name.as_bytes())?;
        out.write_all(&[0])?;
        out.write_all(code)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Maps the start of `file` read+execute: the event perf records for this
/// mapping is how `perf inject` finds the file.
fn map_marker(file: &File) -> io::Result<Mmap> {
    // SAFETY: the mapping is never read or run by this process; it exists
    // only so that the kernel reports it to perf. A page past the end of
    // the file is never touched.
    unsafe { MmapOptions::new().len(page_size()).map_exec(file) }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096)
}

/// Nanoseconds on `CLOCK_MONOTONIC`, the clock `perf record -k mono`
/// stamps samples with.
fn timestamp() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    (now.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(now.tv_nsec as u64)
}
