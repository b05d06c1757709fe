//! Executable memory that grows while code runs in it: the lazy JIT places
//! each function when it is compiled, next to code other threads may be
//! executing.
//!
//! One memory file (`memfd`) is mapped twice: read+execute, where code
//! runs, and read+write, where the compiler writes. Flipping page
//! protections instead would fault a thread running code on the same page
//! as the function being written. Space is reserved up front (pages are
//! only backed when written) and handed out by a bump pointer, so placed
//! code never moves and addresses only grow.

use std::ops::Range;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Mutex;

use crossbeam_utils::CachePadded;

/// Why the arena could not be set up or extended.
#[derive(Debug, thiserror::Error)]
pub enum ArenaError {
    #[error("cannot create the code arena ({what}): {source}")]
    Setup {
        what: &'static str,
        source: std::io::Error,
    },
    #[error("the module's code space ({capacity} bytes) is full")]
    Full { capacity: usize },
}

pub struct CodeArena {
    /// Keeps the memory file alive as long as the mappings.
    _file: OwnedFd,
    exec: *const u8,
    write: *mut u8,
    capacity: usize,
    /// Bytes handed out so far, and how far the memory is backed
    /// ([`POPULATE_CHUNK`]); on its own cache line, since every compiling
    /// thread takes it while the fields above are read.
    used: CachePadded<Mutex<Watermarks>>,
}

#[derive(Default)]
struct Watermarks {
    used: usize,
    populated: usize,
}

/// The arena backs its memory this much at a time, ahead of the bump
/// pointer, with two `madvise` calls (one per view) instead of a page
/// fault for every 4 KiB page in each view: placing 20 MB of baseline code
/// took over 10,000 faults, 17% of a tiered start of 20,000 functions.
const POPULATE_CHUNK: usize = 256 << 10;

// SAFETY: the mappings are plain memory owned by the arena; writes go
// through `place`, which hands out disjoint ranges under `used`'s lock and
// only writes the range it was just handed.
unsafe impl Send for CodeArena {}
// SAFETY: as above.
unsafe impl Sync for CodeArena {}

fn os_error(what: &'static str) -> ArenaError {
    ArenaError::Setup {
        what,
        source: std::io::Error::last_os_error(),
    }
}

impl CodeArena {
    /// Reserves `capacity` bytes (rounded up to pages) of address space.
    pub fn new(capacity: usize) -> Result<Self, ArenaError> {
        let page = crate::code_memory::page_size();
        let capacity = capacity.div_ceil(page).max(1) * page;
        // SAFETY: a NUL-terminated name and valid flags; the result is
        // checked before use.
        let fd = unsafe { libc::memfd_create(c"wasmtier-code".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(os_error("memfd_create"));
        }
        // SAFETY: `fd` is a fresh descriptor owned by nothing else.
        let file = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: plain system call on our own descriptor.
        if unsafe { libc::ftruncate(file.as_raw_fd(), capacity as libc::off_t) } != 0 {
            return Err(os_error("ftruncate"));
        }
        let map = |prot| {
            // SAFETY: a new shared mapping of our own file; nothing else
            // is mapped at an address the kernel chooses.
            let at = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    capacity,
                    prot,
                    libc::MAP_SHARED | libc::MAP_NORESERVE,
                    file.as_raw_fd(),
                    0,
                )
            };
            (at != libc::MAP_FAILED).then_some(at.cast::<u8>())
        };
        let exec = map(libc::PROT_READ | libc::PROT_EXEC).ok_or_else(|| os_error("mmap"))?;
        let Some(write) = map(libc::PROT_READ | libc::PROT_WRITE) else {
            let error = os_error("mmap");
            // SAFETY: the mapping made just above, unused.
            unsafe { libc::munmap(exec.cast(), capacity) };
            return Err(error);
        };
        Ok(Self {
            _file: file,
            exec,
            write,
            capacity,
            used: CachePadded::new(Mutex::new(Watermarks::default())),
        })
    }

    /// Addresses of the executable view: where every placed byte runs.
    pub fn range(&self) -> Range<usize> {
        self.exec as usize..self.exec as usize + self.capacity
    }

    /// Places `len` bytes at the next multiple of `align` (a power of two
    /// up to a page): `fill` writes them, given the buffer and its offset
    /// from the (page-aligned) start of the arena, then they become
    /// visible to instruction fetch. Returns their executable address.
    pub fn place(
        &self,
        len: usize,
        align: usize,
        fill: impl FnOnce(&mut [u8], usize),
    ) -> Result<usize, ArenaError> {
        // Only the reservation is made under the lock: backing the memory
        // and writing the code happen outside it, so a thread placing a
        // function never waits for another's copy or `madvise` (a 256 KiB
        // populate takes about half a millisecond here).
        let (start, end, populate) = {
            let mut marks = self.used.lock().unwrap_or_else(|e| e.into_inner());
            let start = marks.used.next_multiple_of(align);
            let end = start
                .checked_add(len.max(1))
                .filter(|&end| end <= self.capacity)
                .ok_or(ArenaError::Full {
                    capacity: self.capacity,
                })?;
            let populate = (end > marks.populated).then(|| {
                let to = end
                    .next_multiple_of(POPULATE_CHUNK)
                    .max(marks.populated + POPULATE_CHUNK)
                    .min(self.capacity);
                let range = marks.populated..to;
                marks.populated = to;
                range
            });
            marks.used = end;
            (start, end, populate)
        };
        if let Some(range) = populate {
            self.populate(range);
        }
        // SAFETY: `start..end` lies inside the writable view and was
        // reserved above for this call alone: no other placement overlaps
        // it, and no code runs there before its address is returned.
        let bytes = unsafe { std::slice::from_raw_parts_mut(self.write.add(start), end - start) };
        fill(bytes, start);
        // SAFETY: the same bytes through the executable view.
        let code = unsafe { std::slice::from_raw_parts(self.exec.add(start), end - start) };
        crate::arch::flush_icache(code);
        Ok(self.exec as usize + start)
    }

    /// Backs `range` (page-aligned offsets) in both views. Only a hint:
    /// a kernel without `MADV_POPULATE_*` (before Linux 5.14) refuses it,
    /// and then each page faults in on first touch as it would anyway.
    fn populate(&self, range: Range<usize>) {
        for (view, advice) in [
            (self.write, libc::MADV_POPULATE_WRITE),
            (self.exec.cast_mut(), libc::MADV_POPULATE_READ),
        ] {
            // SAFETY: `range` lies inside both mappings (the caller clips
            // it to the capacity); populating changes no contents.
            unsafe { libc::madvise(view.add(range.start).cast(), range.len(), advice) };
        }
    }

    /// The writable view's address of executable address `at` (inside the
    /// arena): for data placed among the code that changes later.
    pub fn writable(&self, at: usize) -> *mut u8 {
        debug_assert!(self.range().contains(&at));
        self.write.wrapping_add(at - self.exec as usize)
    }

    /// Bytes handed out so far (the last ones may still be being written).
    pub fn used(&self) -> usize {
        self.used.lock().unwrap_or_else(|e| e.into_inner()).used
    }

    /// The placed bytes at `range` (executable addresses inside the arena).
    pub fn bytes(&self, range: Range<usize>) -> &[u8] {
        let start = range.start - self.exec as usize;
        let len = range.len().min(self.capacity.saturating_sub(start));
        // SAFETY: inside the executable view, which lives as long as
        // `self`; placed bytes never change.
        unsafe { std::slice::from_raw_parts(self.exec.add(start), len) }
    }
}

impl Drop for CodeArena {
    fn drop(&mut self) {
        // SAFETY: both mappings were made by `new` and nothing refers to
        // them once the module owning the arena is gone.
        unsafe {
            libc::munmap(self.exec.cast_mut().cast(), self.capacity);
            libc::munmap(self.write.cast(), self.capacity);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placed_bytes_appear_in_the_executable_view_in_address_order() {
        let arena = CodeArena::new(1 << 20).unwrap();
        let a = arena
            .place(3, 64, |b, _| b.copy_from_slice(&[1, 2, 3]))
            .unwrap();
        let b = arena
            .place(5, 64, |b, at| {
                assert_eq!(at % 64, 0);
                b.fill(9)
            })
            .unwrap();
        assert_eq!(a, arena.range().start);
        assert_eq!(b, a + 64);
        assert_eq!(arena.bytes(a..a + 3), [1, 2, 3]);
        assert_eq!(arena.bytes(b..b + 5), [9; 5]);
    }

    /// Threads placing at once (each writing outside the lock) get
    /// disjoint ranges, across populate chunks, and keep what they wrote.
    #[test]
    fn concurrent_placements_get_disjoint_ranges() {
        let arena = CodeArena::new(8 << 20).unwrap();
        let placed: Vec<Vec<(usize, u8)>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..4u8)
                .map(|t| {
                    let arena = &arena;
                    scope.spawn(move || {
                        (0..500)
                            .map(|i| {
                                let len = 1000 + (i * 37 + usize::from(t) * 11) % 3000;
                                let at = arena.place(len, 64, |b, _| b.fill(t + 1)).unwrap();
                                (at, t + 1)
                            })
                            .collect()
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        let mut all: Vec<(usize, u8)> = placed.into_iter().flatten().collect();
        all.sort_unstable();
        for pair in all.windows(2) {
            let ((a, fill), (b, _)) = (pair[0], pair[1]);
            assert!(arena.bytes(a..b).iter().take(1000).all(|&x| x == fill));
        }
        assert!(arena.used() > 4 * 500 * 1000);
    }

    #[test]
    fn a_full_arena_refuses_instead_of_overflowing() {
        let arena = CodeArena::new(4096).unwrap();
        arena.place(4000, 64, |_, _| {}).unwrap();
        assert!(matches!(
            arena.place(200, 64, |_, _| {}),
            Err(ArenaError::Full { .. })
        ));
    }
}
