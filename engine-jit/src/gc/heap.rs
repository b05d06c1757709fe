//! The GC heap: one store's structs and arrays in one reservation, a
//! non-moving mark-sweep collector over them.
//!
//! Objects are addressed by their byte offset from the heap's base (see
//! `object.rs`), which never moves, so generated code reaches a field with
//! one add. The reservation is 4 GiB plus a guard: any offset a reference
//! can hold, plus any field offset, lands inside it, and the part beyond
//! the heap's capacity is inaccessible, so even a damaged reference cannot
//! reach memory outside the heap.
//!
//! Allocation takes a free chunk of the exact size (small objects), the
//! first big enough chunk (large ones), or bumps the end; memory handed out
//! is zeroed. A collection marks from the roots it is given and sweeps the
//! heap in address order, merging dead objects and free chunks into new
//! free chunks (a run that reaches the end lowers the bump pointer).
//! See `RATIONALE.md`, "Garbage collection".

use std::collections::HashMap;

use super::layout::Layout;
use super::object::{Decoded, FIELDS_OFFSET, ObjectHeader, ObjectKind, decode};

/// Offset of the first object: 0 stays null.
const HEAP_START: u32 = 16;
/// Address space reserved per heap: every `u32` offset plus the largest
/// struct (10,000 fields of 16 bytes) stays inside.
const RESERVATION: usize = (4 << 30) + (1 << 20);
/// The most a heap may hold (offsets must fit in a `u32`).
const MAX_CAPACITY: u64 = wasmtier_core::MAX_GC_HEAP;
/// Free chunks up to this size are kept in exact-size lists.
const SMALL_MAX: u32 = 256;
/// A heap collects once it has allocated this much since the last
/// collection, or as much as survived it, whichever is more.
const MIN_TRIGGER: u64 = 1 << 20;

/// Why a heap could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot reserve the GC heap ({size} bytes of address space): {source}")]
pub struct HeapError {
    size: usize,
    source: std::io::Error,
}

pub struct GcHeap {
    base: *mut u8,
    capacity: u32,
    /// End of the allocated part.
    bump: u32,
    /// Free chunks by size / 8, for sizes up to `SMALL_MAX`.
    small: Vec<Vec<u32>>,
    /// Larger free chunks: `(offset, size)`.
    large: Vec<(u32, u32)>,
    /// One bit per 8 bytes: where an object starts (checks references the
    /// host hands in, and roots).
    starts: Vec<u64>,
    allocated_since: u64,
    live_after: u64,
    collections: u64,
}

// SAFETY: the heap's memory is owned by the heap alone; it moves between
// threads with its store, never shared.
unsafe impl Send for GcHeap {}

/// What one collection did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CollectStats {
    pub live_bytes: u64,
    pub freed_bytes: u64,
}

impl GcHeap {
    /// A heap that holds at most `capacity` bytes (capped at
    /// [`MAX_CAPACITY`]).
    pub fn new(capacity: u64) -> Result<Self, HeapError> {
        let page = crate::code_memory::page_size();
        let capacity = capacity.clamp(u64::from(HEAP_START), MAX_CAPACITY);
        let accessible = (capacity as usize).div_ceil(page) * page;
        // SAFETY: a fresh anonymous mapping at an address the kernel picks.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                RESERVATION,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(HeapError {
                size: RESERVATION,
                source: std::io::Error::last_os_error(),
            });
        }
        // SAFETY: the first `accessible` bytes of the reservation just made.
        if unsafe { libc::mprotect(base, accessible, libc::PROT_READ | libc::PROT_WRITE) } != 0 {
            let source = std::io::Error::last_os_error();
            // SAFETY: the reservation made above, referenced nowhere else.
            unsafe { libc::munmap(base, RESERVATION) };
            return Err(HeapError {
                size: accessible,
                source,
            });
        }
        Ok(Self {
            base: base.cast(),
            capacity: capacity as u32,
            bump: HEAP_START,
            small: vec![Vec::new(); (SMALL_MAX / 8 + 1) as usize],
            large: Vec::new(),
            starts: Vec::new(),
            allocated_since: 0,
            live_after: 0,
            collections: 0,
        })
    }

    /// The address offsets are relative to; fixed for the heap's life.
    pub fn base(&self) -> *mut u8 {
        self.base
    }

    pub fn collections(&self) -> u64 {
        self.collections
    }

    /// Whether enough was allocated since the last collection that the
    /// next allocation should collect first.
    pub fn wants_collection(&self) -> bool {
        self.allocated_since >= self.live_after.max(MIN_TRIGGER)
    }

    /// A zeroed object of `layout` with `length` elements (0 for a struct),
    /// its header written; `None` when the heap has no room for it.
    pub fn allocate(&mut self, layout: &Layout, type_index: u32, length: u32) -> Option<u32> {
        let (offset, size) = self.take(layout.object_size(length)?)?;
        // SAFETY: `offset..offset + size` is a chunk inside the accessible
        // part that nothing else uses (just taken from the free lists or
        // the end).
        unsafe {
            let at = self.base.add(offset as usize);
            std::ptr::write_bytes(at, 0, size as usize);
            at.cast::<ObjectHeader>().write(ObjectHeader {
                type_index,
                size,
                kind: layout.kind() as u8,
                mark: 0,
                _pad: 0,
                length,
            });
        }
        self.set_start(offset, true);
        self.allocated_since += u64::from(size);
        Some(offset)
    }

    /// A free chunk of at least `size` bytes: its offset and real size (a
    /// chunk whose rest would be too small to hold a header is taken whole).
    fn take(&mut self, size: u32) -> Option<(u32, u32)> {
        if size <= SMALL_MAX
            && let Some(offset) = self.small[(size / 8) as usize].pop()
        {
            return Some((offset, size));
        }
        if let Some(i) = self.large.iter().position(|&(_, s)| s >= size) {
            let (offset, chunk) = self.large.swap_remove(i);
            let rest = chunk - size;
            if rest < FIELDS_OFFSET {
                return Some((offset, chunk));
            }
            self.free_chunk(offset + size, rest);
            return Some((offset, size));
        }
        let end = self.bump.checked_add(size)?;
        if end > self.capacity {
            return None;
        }
        let offset = self.bump;
        self.bump = end;
        Some((offset, size))
    }

    /// Records `offset..offset + size` as free (header written, listed).
    fn free_chunk(&mut self, offset: u32, size: u32) {
        // SAFETY: the chunk lies inside the allocated part and holds no
        // live object.
        unsafe {
            self.base
                .add(offset as usize)
                .cast::<ObjectHeader>()
                .write(ObjectHeader {
                    type_index: u32::MAX,
                    size,
                    kind: ObjectKind::Free as u8,
                    mark: 0,
                    _pad: 0,
                    length: 0,
                });
        }
        if size <= SMALL_MAX {
            self.small[(size / 8) as usize].push(offset);
        } else {
            self.large.push((offset, size));
        }
    }

    fn set_start(&mut self, offset: u32, on: bool) {
        let bit = (offset / 8) as usize;
        let word = bit / 64;
        if word >= self.starts.len() {
            if !on {
                return;
            }
            self.starts.resize(word + 1, 0);
        }
        if on {
            self.starts[word] |= 1 << (bit % 64);
        } else {
            self.starts[word] &= !(1 << (bit % 64));
        }
    }

    /// Whether a live object (or one not yet found dead) starts at `offset`.
    pub fn is_object(&self, offset: u32) -> bool {
        let bit = (offset / 8) as usize;
        offset.is_multiple_of(8)
            && offset < self.bump
            && self
                .starts
                .get(bit / 64)
                .is_some_and(|w| w & (1 << (bit % 64)) != 0)
    }

    /// The header of the object at `offset` (checked with [`Self::is_object`]).
    pub fn header(&self, offset: u32) -> ObjectHeader {
        debug_assert!(self.is_object(offset));
        // SAFETY: an object start inside the accessible part.
        unsafe { self.base.add(offset as usize).cast::<ObjectHeader>().read() }
    }

    /// Copies `bytes` to `offset` (inside an object the caller checked;
    /// a write past the allocated part is dropped).
    pub fn write(&mut self, offset: u32, bytes: &[u8]) {
        let end = u64::from(offset) + bytes.len() as u64;
        if end > u64::from(self.bump) {
            return;
        }
        // SAFETY: `offset..end` lies inside the allocated part.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.base.add(offset as usize),
                bytes.len(),
            );
        }
    }

    /// Moves `len` bytes from `from` to `to` (ranges inside objects the
    /// caller checked, possibly overlapping).
    pub fn copy_within(&mut self, from: u32, to: u32, len: u32) {
        let end = u64::from(from.max(to)) + u64::from(len);
        if end > u64::from(self.bump) {
            return;
        }
        // SAFETY: both ranges lie inside the allocated part.
        unsafe {
            std::ptr::copy(
                self.base.add(from as usize),
                self.base.add(to as usize),
                len as usize,
            );
        }
    }

    /// The `u64` at `offset` (inside an object the caller checked).
    fn read_u64(&self, offset: u32) -> u64 {
        // SAFETY: inside the accessible part; fields may be unaligned
        // only if the layout put them so, which it never does for 8-byte
        // fields, but read unaligned anyway.
        unsafe {
            self.base
                .add(offset as usize)
                .cast::<u64>()
                .read_unaligned()
        }
    }

    fn set_mark(&mut self, offset: u32, mark: u8) {
        // SAFETY: an object start inside the accessible part.
        unsafe {
            (*self.base.add(offset as usize).cast::<ObjectHeader>()).mark = mark;
        }
    }

    /// Marks everything reachable from `roots` (encoded references; those
    /// that are not objects of this heap are ignored) and frees the rest.
    /// `layouts` must cover the type of every object in the heap.
    pub fn collect(
        &mut self,
        roots: impl IntoIterator<Item = u64>,
        layouts: &HashMap<u32, Layout>,
    ) -> CollectStats {
        let mut stack = Vec::new();
        for root in roots {
            self.mark_ref(root, &mut stack);
        }
        while let Some(offset) = stack.pop() {
            let header = self.header(offset);
            match layouts.get(&header.type_index) {
                Some(Layout::Struct { traced, .. }) => {
                    for &field in traced {
                        let child = self.read_u64(offset + field);
                        self.mark_ref(child, &mut stack);
                    }
                }
                Some(Layout::Array { traced: true, .. }) => {
                    for i in 0..header.length {
                        let child = self.read_u64(offset + FIELDS_OFFSET + 8 * i);
                        self.mark_ref(child, &mut stack);
                    }
                }
                _ => {}
            }
        }
        let stats = self.sweep();
        self.collections += 1;
        self.allocated_since = 0;
        self.live_after = stats.live_bytes;
        stats
    }

    fn mark_ref(&mut self, raw: u64, stack: &mut Vec<u32>) {
        if let Some(Decoded::Object(offset)) = decode(raw)
            && self.is_object(offset)
            && self.header(offset).mark == 0
        {
            self.set_mark(offset, 1);
            stack.push(offset);
        }
    }

    /// Frees every unmarked object, merging neighbouring free space, and
    /// clears the marks.
    fn sweep(&mut self) -> CollectStats {
        for list in &mut self.small {
            list.clear();
        }
        self.large.clear();
        let mut stats = CollectStats::default();
        let mut run: Option<u32> = None;
        let mut at = HEAP_START;
        while at < self.bump {
            let header = self.header_at(at);
            let live = header.kind != ObjectKind::Free as u8 && header.mark != 0;
            if live {
                self.set_mark(at, 0);
                stats.live_bytes += u64::from(header.size);
                if let Some(start) = run.take() {
                    self.free_chunk(start, at - start);
                }
            } else {
                if header.kind != ObjectKind::Free as u8 {
                    self.set_start(at, false);
                    stats.freed_bytes += u64::from(header.size);
                }
                run.get_or_insert(at);
            }
            at += header.size;
        }
        if let Some(start) = run {
            self.bump = start;
        }
        stats
    }

    /// The header at `offset`, object or free chunk (the sweep's walk).
    fn header_at(&self, offset: u32) -> ObjectHeader {
        // SAFETY: the sweep walks chunk by chunk inside the allocated part.
        unsafe { self.base.add(offset as usize).cast::<ObjectHeader>().read() }
    }
}

impl Drop for GcHeap {
    fn drop(&mut self) {
        // SAFETY: unmaps the reservation made in `new`; generated code
        // cannot run once its store (the heap's owner) is dropped.
        unsafe {
            libc::munmap(self.base.cast(), RESERVATION);
        }
    }
}

#[cfg(test)]
mod tests {
    use wasmtier_core::canon::{CompositeType, FieldType, StorageType, SubType, register_group};
    use wasmtier_core::{HeapType, RefType, ValType};

    use super::*;

    /// `(struct (field anyref) (field i64))` and `(array anyref)`.
    fn types() -> (u32, u32, HashMap<u32, Layout>) {
        let anyref = StorageType::Val(ValType::Ref(RefType {
            nullable: true,
            heap: HeapType::Any,
        }));
        let field = |storage| FieldType {
            storage,
            mutable: true,
        };
        let pair = register_group(vec![SubType {
            is_final: true,
            supertype: None,
            composite: CompositeType::Struct(vec![
                field(anyref),
                field(StorageType::Val(ValType::I64)),
            ]),
        }])
        .unwrap();
        let array = register_group(vec![SubType {
            is_final: true,
            supertype: None,
            composite: CompositeType::Array(field(anyref)),
        }])
        .unwrap();
        let layouts = [pair, array]
            .into_iter()
            .map(|id| (id.index(), Layout::of(id).unwrap()))
            .collect();
        (pair.index(), array.index(), layouts)
    }

    fn write_u64(heap: &GcHeap, offset: u32, value: u64) {
        // SAFETY: a field of a live object of the test's heap.
        unsafe {
            heap.base
                .add(offset as usize)
                .cast::<u64>()
                .write_unaligned(value)
        }
    }

    #[test]
    fn unreachable_objects_are_freed_and_reachable_ones_kept() {
        let (pair, _, layouts) = types();
        let layout = &layouts[&pair];
        let mut heap = GcHeap::new(1 << 20).unwrap();
        let a = heap.allocate(layout, pair, 0).unwrap();
        let b = heap.allocate(layout, pair, 0).unwrap();
        let garbage = heap.allocate(layout, pair, 0).unwrap();
        // a.0 = b, and a cycle b.0 = a; `garbage` is reachable from nothing.
        write_u64(&heap, a + 16, u64::from(b));
        write_u64(&heap, b + 16, u64::from(a));
        write_u64(&heap, b + 24, 42);
        let stats = heap.collect([u64::from(a)], &layouts);
        assert!(heap.is_object(a) && heap.is_object(b) && !heap.is_object(garbage));
        assert_eq!(stats.live_bytes, 64);
        assert_eq!(heap.read_u64(b + 24), 42);
        // The freed object was the last one: the end moved back.
        assert_eq!(heap.bump, garbage);
        // Nothing rooted: everything goes.
        heap.collect([], &layouts);
        assert!(!heap.is_object(a) && heap.bump == HEAP_START);
    }

    #[test]
    fn freed_chunks_are_reused_zeroed_and_the_capacity_holds() {
        let (pair, array, layouts) = types();
        let mut heap = GcHeap::new(4096).unwrap();
        let first = heap.allocate(&layouts[&pair], pair, 0).unwrap();
        let keep = heap.allocate(&layouts[&pair], pair, 0).unwrap();
        write_u64(&heap, first + 24, 7);
        heap.collect([u64::from(keep)], &layouts);
        let again = heap.allocate(&layouts[&pair], pair, 0).unwrap();
        assert_eq!(again, first);
        assert_eq!(heap.read_u64(again + 24), 0);
        // An array bigger than the heap does not fit; nor does filling it.
        assert_eq!(heap.allocate(&layouts[&array], array, 1000), None);
        let mut count = 0;
        while heap.allocate(&layouts[&array], array, 10).is_some() {
            count += 1;
        }
        assert!(count > 30 && count < 50, "{count}");
        // Rooted through an array, an object survives.
        heap.collect([u64::from(keep)], &layouts);
        let list = heap.allocate(&layouts[&array], array, 2).unwrap();
        write_u64(&heap, list + 16, u64::from(keep));
        heap.collect([u64::from(list)], &layouts);
        assert!(heap.is_object(keep) && heap.is_object(list));
    }

    #[test]
    fn a_collection_is_due_after_a_megabyte_or_the_live_size() {
        let (pair, _, layouts) = types();
        let mut heap = GcHeap::new(8 << 20).unwrap();
        assert!(!heap.wants_collection());
        while !heap.wants_collection() {
            heap.allocate(&layouts[&pair], pair, 0).unwrap();
        }
        assert_eq!(heap.allocated_since, MIN_TRIGGER);
        heap.collect([], &layouts);
        assert!(!heap.wants_collection() && heap.collections() == 1);
    }
}
