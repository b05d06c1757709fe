//! An allocator that hands out zeroed memory once an interpreter exists:
//! a second layer, for the binaries.
//!
//! wasmi 2.0.0 keeps its value stack in a `Vec` whose spare capacity it
//! uses without initializing, and a translator bug (RATIONALE.md, "Reads
//! of never-written stack cells") let some guests read a cell that no
//! instruction wrote, seeing whatever the allocator left there: freed host
//! data, such as environment variables the guest was not granted. The
//! block-parameter spill (`rewrite/`) keeps wasmi off that path for every
//! embedder, allocator or not (`tests/stack_cells.rs`). This allocator,
//! installed as a binary's global allocator, also covers a read of that
//! kind from a bug not yet known: it then sees zeros or values of guests
//! run by the same engine, never host data.
//!
//! Zeroing starts when the first [`crate::InterpEngine`] is created, so
//! the JIT and AOT tiers, which do not need it, do not pay for it, and it
//! covers blocks of [`ZEROED_FROM_BYTES`] or more: the engine never lets
//! wasmi start a value stack smaller than that, while the many small
//! blocks wasmi's translator allocates are left alone (zeroing those cost
//! 2 % on the 20,000-function module).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};

static ZERO_NEW_MEMORY: AtomicBool = AtomicBool::new(false);

/// The smallest block zeroed; also the smallest value stack the engine
/// configures (`InterpEngine::new`).
pub(crate) const ZEROED_FROM_BYTES: usize = 1024;

fn zeroing(size: usize) -> bool {
    size >= ZEROED_FROM_BYTES && ZERO_NEW_MEMORY.load(Ordering::Relaxed)
}

/// From now on, memory from [`ZeroingAllocator`] is zeroed.
pub(crate) fn start_zeroing() {
    ZERO_NEW_MEMORY.store(true, Ordering::Relaxed);
}

/// The system allocator, zeroing new memory (and the grown part of
/// reallocated memory) once an interpreter engine exists. Install it with
/// `#[global_allocator]` in binaries that run untrusted guests on the
/// interpreter.
pub struct ZeroingAllocator;

// SAFETY: every method forwards to `System` with the caller's arguments,
// which satisfy `System`'s contract because they satisfy ours; the only
// addition writes zeros inside the block `System` just returned.
unsafe impl GlobalAlloc for ZeroingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract (see the impl).
        unsafe {
            if zeroing(layout.size()) {
                System.alloc_zeroed(layout)
            } else {
                System.alloc(layout)
            }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract (see the impl).
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract (see the impl).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded contract (see the impl). A non-null result is a
        // block of `new_size` bytes whose first `layout.size()` bytes are
        // the old contents, so zeroing from there to `new_size` stays
        // inside it.
        unsafe {
            let grown = System.realloc(ptr, layout, new_size);
            if !grown.is_null() && new_size > layout.size() && zeroing(new_size) {
                grown
                    .add(layout.size())
                    .write_bytes(0, new_size - layout.size());
            }
            grown
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_and_grown_memory_is_zeroed_once_zeroing_starts() {
        start_zeroing();
        let layout = Layout::from_size_align(ZEROED_FROM_BYTES, 8).unwrap();
        // SAFETY: a non-zero-sized layout; each block is written and read
        // within its size and freed once with the layout it has.
        unsafe {
            let block = ZeroingAllocator.alloc(layout);
            assert!(!block.is_null());
            assert!(
                std::slice::from_raw_parts(block, 256)
                    .iter()
                    .all(|&b| b == 0)
            );
            block.write_bytes(0xa5, 256);
            let grown = ZeroingAllocator.realloc(block, layout, 4096);
            assert!(!grown.is_null());
            let bytes = std::slice::from_raw_parts(grown, 4096);
            assert!(bytes[..256].iter().all(|&b| b == 0xa5), "old contents kept");
            assert!(bytes[256..].iter().all(|&b| b == 0), "grown part zeroed");
            ZeroingAllocator.dealloc(grown, Layout::from_size_align(4096, 8).unwrap());
        }
    }
}
