//! The GC heap: one store's structs and arrays in one reservation, a
//! non-moving mark-sweep collector over them, and bump allocation through
//! the free runs the last sweep left.
//!
//! Objects are addressed by their byte offset from the heap's base (see
//! `object.rs`), which never moves, so generated code reaches a field with
//! one add. The reservation is 4 GiB plus a guard: any offset a reference
//! can hold, plus any field offset, lands inside it, and the part beyond
//! the heap's capacity is inaccessible, so even a damaged reference cannot
//! reach memory outside the heap.
//!
//! Allocation bumps a cursor through a window of zeroed memory
//! ([`VMGcCursor`], which generated code bumps inline); when the window
//! runs out, [`GcHeap::allocate`] zeroes the next one, from the current
//! free run or the next run big enough, and says when a collection is due.
//! A collection marks from the roots it is given; sweeping is lazy: the
//! allocator sweeps forward in address order as it needs free runs (dead
//! objects and free chunks next to each other make one run), so a pause
//! is the marking (plus whatever of the last sweep the allocator had not
//! reached).
//! See `RATIONALE.md`, "Garbage collection".

use super::layout::{Layout, Layouts};
use super::object::{Decoded, FIELDS_OFFSET, FREE_TYPE, ObjectHeader, ObjectKind, decode};
use crate::vmcontext::VMGcCursor;

/// Offset of the first object: 0 stays null.
const HEAP_START: u32 = 16;
/// Address space reserved per heap: every `u32` offset plus the largest
/// struct (10,000 fields of 16 bytes) stays inside.
const RESERVATION: usize = (4 << 30) + (1 << 20);
/// The most a heap may hold (offsets must fit in a `u32`).
const MAX_CAPACITY: u64 = wasmtier_core::MAX_GC_HEAP;
/// A heap collects once it has allocated this much since the last
/// collection, or twice what survived it, whichever is more: marking costs
/// in proportion to what survives, so each byte allocated pays at most
/// half a byte of marking (see `RATIONALE.md`, "Garbage collection").
const MIN_TRIGGER: u64 = 4 << 20;
const GROWTH: u64 = 2;
/// Bytes zeroed and handed to the inline allocator at a time.
const WINDOW: u64 = 64 << 10;

/// Why a heap could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot reserve the GC heap ({size} bytes of address space): {source}")]
pub struct HeapError {
    size: usize,
    source: std::io::Error,
}

/// Why [`GcHeap::allocate`] did not allocate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Enough was allocated since the last collection: collect, then ask
    /// again.
    Collection,
    /// No free run holds the object.
    Space,
}

pub struct GcHeap {
    base: *mut u8,
    capacity: u32,
    /// One byte per 8 bytes of heap, 1 where an object starts: references
    /// the host hands in are checked against it.
    starts: *mut u8,
    /// End of the free run the cursor is in.
    run_end: u32,
    /// The lazy sweep's position: objects below it have been swept since
    /// the last marking; at and above it (up to `high_water`), marked
    /// objects are live and unmarked ones dead.
    swept: u32,
    /// Whether a marking's sweep is under way (`swept` below the end).
    sweeping: bool,
    /// Everything at or above this offset was never handed out: still zero
    /// from the mapping, and not walked by the sweep.
    high_water: u32,
    /// Where the current window started (bytes before the cursor since
    /// then are counted in `allocated_since` at the next refill).
    window_start: u64,
    allocated_since: u64,
    live_after: u64,
    collections: u64,
}

// SAFETY: the heap's memory is owned by the heap alone; it moves between
// threads with its store, never shared.
unsafe impl Send for GcHeap {}

/// What one collection found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CollectStats {
    /// Bytes of the objects it marked.
    pub live_bytes: u64,
}

/// A fresh anonymous mapping of `size` bytes, inaccessible or read+write.
fn map(size: usize, accessible: bool) -> Result<*mut u8, HeapError> {
    let protection = if accessible {
        libc::PROT_READ | libc::PROT_WRITE
    } else {
        libc::PROT_NONE
    };
    // SAFETY: a fresh anonymous mapping at an address the kernel picks.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size,
            protection,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(HeapError {
            size,
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(ptr.cast())
}

impl GcHeap {
    /// A heap that holds at most `capacity` bytes (capped at
    /// `MAX_GC_HEAP`), and the cursor generated code allocates with.
    pub fn new(capacity: u64) -> Result<(Self, VMGcCursor), HeapError> {
        let page = crate::code_memory::page_size();
        let capacity = capacity.clamp(u64::from(HEAP_START) + 16, MAX_CAPACITY) & !7;
        let accessible = (capacity as usize).div_ceil(page) * page;
        let base = map(RESERVATION, false)?;
        // SAFETY: the first `accessible` bytes of the reservation just made.
        let opened =
            unsafe { libc::mprotect(base.cast(), accessible, libc::PROT_READ | libc::PROT_WRITE) };
        let starts = if opened == 0 {
            map(accessible / 8, true)
        } else {
            Err(HeapError {
                size: accessible,
                source: std::io::Error::last_os_error(),
            })
        };
        let starts = match starts {
            Ok(starts) => starts,
            Err(e) => {
                // SAFETY: the reservation made above, referenced nowhere else.
                unsafe { libc::munmap(base.cast(), RESERVATION) };
                return Err(e);
            }
        };
        let capacity = capacity as u32;
        let heap = Self {
            base,
            capacity,
            starts,
            run_end: capacity,
            swept: HEAP_START,
            sweeping: false,
            high_water: HEAP_START,
            window_start: u64::from(HEAP_START),
            allocated_since: 0,
            live_after: 0,
            collections: 0,
        };
        let cursor = VMGcCursor {
            cursor: u64::from(HEAP_START),
            end: u64::from(HEAP_START),
        };
        Ok((heap, cursor))
    }

    /// The address offsets are relative to; fixed for the heap's life.
    pub fn base(&self) -> *mut u8 {
        self.base
    }

    /// The object-start map (one byte per 8 bytes of heap).
    pub fn starts(&self) -> *mut u8 {
        self.starts
    }

    fn trigger(&self) -> u64 {
        (GROWTH * self.live_after).max(MIN_TRIGGER)
    }

    /// An object of `size` bytes with `header`'s type, kind and length,
    /// zeroed but for its header, from the cursor's window or a new one.
    /// `may_collect`: whether to report a due collection (where none can
    /// run, allocation goes on until the heap is full).
    pub fn allocate(
        &mut self,
        cursor: &mut VMGcCursor,
        type_index: u32,
        kind: ObjectKind,
        size: u32,
        length: u32,
        may_collect: bool,
    ) -> Result<u32, Need> {
        let size64 = u64::from(size);
        loop {
            if cursor.end - cursor.cursor >= size64 {
                let offset = cursor.cursor as u32;
                cursor.cursor += size64;
                self.write_header(offset, type_index, kind, size, length);
                return Ok(offset);
            }
            self.allocated_since += cursor.cursor - self.window_start;
            self.window_start = cursor.cursor;
            if may_collect && self.allocated_since >= self.trigger() {
                cursor.end = cursor.cursor;
                return Err(Need::Collection);
            }
            self.refill(cursor, size64)?;
        }
    }

    /// Gives the cursor a new zeroed window of at least `size` bytes: the
    /// rest of the current run if it is big enough, else the next run the
    /// lazy sweep finds that is (smaller runs it passes stay free until the
    /// next collection).
    fn refill(&mut self, cursor: &mut VMGcCursor, size: u64) -> Result<(), Need> {
        if u64::from(self.run_end) - cursor.cursor < size {
            let (start, end) = self.next_run(size).ok_or(Need::Space)?;
            self.seal(cursor.cursor as u32, self.run_end);
            cursor.cursor = u64::from(start);
            self.run_end = end;
            self.window_start = cursor.cursor;
        }
        let budget = self.trigger().saturating_sub(self.allocated_since);
        let end =
            (cursor.cursor + size.max(WINDOW).min(budget.max(size))).min(u64::from(self.run_end));
        let dirty_end = end.min(u64::from(self.high_water));
        if dirty_end > cursor.cursor {
            // SAFETY: inside the accessible part, free: no object lies in
            // the current run past the cursor.
            unsafe {
                std::ptr::write_bytes(
                    self.base.add(cursor.cursor as usize),
                    0,
                    (dirty_end - cursor.cursor) as usize,
                );
            }
        }
        cursor.end = end;
        self.high_water = self.high_water.max(end as u32);
        Ok(())
    }

    /// Sweeps forward to the next free run of at least `size` bytes; runs
    /// found too small are left as free chunks. After the last object, the
    /// run reaches the capacity. `None`: no run ahead is big enough (the
    /// sweep then stands at the end).
    fn next_run(&mut self, size: u64) -> Option<(u32, u32)> {
        if !self.sweeping {
            return None;
        }
        let mut run: Option<u32> = None;
        while self.swept < self.high_water {
            let at = self.swept;
            let (type_index, chunk) = self.chunk_at(at);
            self.swept = at.saturating_add(chunk.max(8));
            if type_index != FREE_TYPE && self.header(at).mark != 0 {
                self.set_mark(at, 0);
                if let Some(start) = run.take() {
                    if u64::from(at - start) >= size {
                        return Some((start, at));
                    }
                    self.write_free(start, at - start);
                }
            } else {
                if type_index != FREE_TYPE {
                    self.free_object(at, chunk);
                }
                run.get_or_insert(at);
            }
        }
        self.sweeping = false;
        let tail = run.unwrap_or(self.high_water);
        (u64::from(self.capacity - tail) >= size).then_some((tail, self.capacity))
    }

    /// A dead object becomes a free chunk: no longer an object start.
    fn free_object(&mut self, at: u32, size: u32) {
        // SAFETY: inside the start map.
        unsafe { *self.starts.add((at / 8) as usize) = 0 };
        self.write_free(at, size);
    }

    /// The type word and size of the object or free chunk at `at`.
    fn chunk_at(&self, at: u32) -> (u32, u32) {
        // SAFETY: the sweep walks chunk by chunk through the handed-out
        // part, every byte of which is an object or a sealed free chunk.
        unsafe {
            let words = self.base.add(at as usize).cast::<u32>();
            (words.read(), words.add(1).read())
        }
    }

    /// Marks `[from, to)` free, so the sweep can walk over it.
    fn seal(&mut self, from: u32, to: u32) {
        if from < to && from < self.high_water {
            self.write_free(from, to - from);
        }
    }

    fn write_header(
        &mut self,
        offset: u32,
        type_index: u32,
        kind: ObjectKind,
        size: u32,
        length: u32,
    ) {
        // SAFETY: `offset..offset + size` lies in the cursor's window,
        // inside the accessible part; its start byte is inside the map.
        unsafe {
            self.base
                .add(offset as usize)
                .cast::<ObjectHeader>()
                .write(ObjectHeader {
                    type_index,
                    size,
                    kind: kind as u8,
                    mark: 0,
                    _pad: 0,
                    length,
                });
            *self.starts.add((offset / 8) as usize) = 1;
        }
    }

    /// A free chunk's first 8 bytes (enough for the sweep: 8-byte chunks
    /// exist between objects).
    fn write_free(&mut self, offset: u32, size: u32) {
        // SAFETY: the chunk lies inside the accessible part and holds no
        // live object.
        unsafe {
            let at = self.base.add(offset as usize).cast::<u32>();
            at.write(FREE_TYPE);
            at.add(1).write(size);
        }
    }

    /// Whether a live object starts at `offset` (one the lazy sweep has
    /// not reached counts only if the last marking found it live).
    pub fn is_object(&self, offset: u32) -> bool {
        offset.is_multiple_of(8)
            && offset >= HEAP_START
            && offset < self.high_water
            // SAFETY: inside the map (one byte per 8 bytes of capacity).
            && unsafe { *self.starts.add((offset / 8) as usize) } == 1
            && (!self.sweeping || offset < self.swept || self.header_mark(offset))
    }

    fn header_mark(&self, offset: u32) -> bool {
        // SAFETY: an object start inside the accessible part.
        unsafe { (*self.base.add(offset as usize).cast::<ObjectHeader>()).mark != 0 }
    }

    /// The header of the object at `offset` (checked with [`Self::is_object`]).
    pub fn header(&self, offset: u32) -> ObjectHeader {
        debug_assert!(self.is_object(offset));
        // SAFETY: an object start inside the accessible part.
        unsafe { self.base.add(offset as usize).cast::<ObjectHeader>().read() }
    }

    /// Copies `bytes` to `offset` (inside an object the caller checked;
    /// a write past the handed-out part is dropped).
    pub fn write(&mut self, offset: u32, bytes: &[u8]) {
        let end = u64::from(offset) + bytes.len() as u64;
        if end > u64::from(self.high_water) {
            return;
        }
        // SAFETY: `offset..end` lies inside the handed-out part.
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
        if end > u64::from(self.high_water) {
            return;
        }
        // SAFETY: both ranges lie inside the handed-out part.
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
        // SAFETY: inside the accessible part.
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
    /// that are not objects of this heap are ignored); the lazy sweep then
    /// frees the rest as the allocator goes, from the heap's start.
    /// `layouts` must cover the type of every object in the heap.
    pub fn collect(
        &mut self,
        cursor: &mut VMGcCursor,
        roots: impl IntoIterator<Item = u64>,
        layouts: &Layouts,
    ) -> CollectStats {
        // What is left of the current run is free; what the last sweep did
        // not reach is finished first, so that every mark is clear.
        self.seal(cursor.cursor as u32, self.run_end);
        self.finish_sweep();
        let mut stack = Vec::new();
        let mut live = 0u64;
        for root in roots {
            live += self.mark_ref(root, &mut stack);
        }
        while let Some(offset) = stack.pop() {
            let header = self.header(offset);
            match layouts.get(&header.type_index) {
                Some(Layout::Struct { traced, .. }) => {
                    for &field in traced {
                        let child = self.read_u64(offset + field);
                        live += self.mark_ref(child, &mut stack);
                    }
                }
                Some(Layout::Array { traced: true, .. }) => {
                    for i in 0..header.length {
                        let child = self.read_u64(offset + FIELDS_OFFSET + 8 * i);
                        live += self.mark_ref(child, &mut stack);
                    }
                }
                _ => {}
            }
        }
        self.collections += 1;
        self.allocated_since = 0;
        self.live_after = live;
        self.swept = HEAP_START;
        self.sweeping = true;
        // The allocator starts over at the bottom: an empty run there.
        self.run_end = HEAP_START;
        cursor.cursor = u64::from(HEAP_START);
        cursor.end = cursor.cursor;
        self.window_start = cursor.cursor;
        CollectStats { live_bytes: live }
    }

    /// Bytes of the object `raw` refers to if this marks it (0 if it is no
    /// object of this heap or already marked).
    fn mark_ref(&mut self, raw: u64, stack: &mut Vec<u32>) -> u64 {
        let Some(Decoded::Object(offset)) = decode(raw) else {
            return 0;
        };
        if !self.is_object(offset) {
            return 0;
        }
        let header = self.header(offset);
        if header.mark != 0 {
            return 0;
        }
        self.set_mark(offset, 1);
        stack.push(offset);
        u64::from(header.size)
    }

    /// Sweeps what the allocator has not reached: dead objects become free
    /// chunks, live ones lose their mark (the lazy sweep, asked for a run no
    /// heap can hold, goes to the end).
    fn finish_sweep(&mut self) {
        let _ = self.next_run(u64::MAX);
    }
}

impl Drop for GcHeap {
    fn drop(&mut self) {
        let page = crate::code_memory::page_size();
        let map_len = (self.capacity as usize).div_ceil(page) * page / 8;
        // SAFETY: unmaps the reservation and map made in `new`; generated
        // code cannot run once its store (the heap's owner) is dropped.
        unsafe {
            libc::munmap(self.base.cast(), RESERVATION);
            libc::munmap(self.starts.cast(), map_len);
        }
    }
}

#[cfg(test)]
mod tests {
    use wasmtier_core::canon::{CompositeType, FieldType, StorageType, SubType, register_group};
    use wasmtier_core::{HeapType, RefType, ValType};

    use super::*;

    /// `(struct (field anyref) (field i64))` and `(array anyref)`.
    fn types() -> (u32, u32, Layouts) {
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

    struct Fixture {
        heap: GcHeap,
        cursor: VMGcCursor,
        layouts: Layouts,
    }

    impl Fixture {
        fn new(capacity: u64) -> (Self, u32, u32) {
            let (heap, cursor) = GcHeap::new(capacity).unwrap();
            let (pair, array, layouts) = types();
            (
                Self {
                    heap,
                    cursor,
                    layouts,
                },
                pair,
                array,
            )
        }

        fn alloc(&mut self, ty: u32, length: u32) -> Result<u32, Need> {
            let layout = &self.layouts[&ty];
            let size = layout.object_size(length).unwrap();
            self.heap
                .allocate(&mut self.cursor, ty, layout.kind(), size, length, true)
        }

        fn collect(&mut self, roots: &[u32]) -> CollectStats {
            let roots: Vec<u64> = roots.iter().map(|&r| u64::from(r)).collect();
            self.heap.collect(&mut self.cursor, roots, &self.layouts)
        }
    }

    #[test]
    fn unreachable_objects_are_freed_and_reachable_ones_kept() {
        let (mut f, pair, _) = Fixture::new(1 << 20);
        let a = f.alloc(pair, 0).unwrap();
        let b = f.alloc(pair, 0).unwrap();
        let garbage = f.alloc(pair, 0).unwrap();
        // a.0 = b, and a cycle b.0 = a; `garbage` is reachable from nothing.
        write_u64(&f.heap, a + 16, u64::from(b));
        write_u64(&f.heap, b + 16, u64::from(a));
        write_u64(&f.heap, b + 24, 42);
        let stats = f.collect(&[a]);
        assert!(f.heap.is_object(a) && f.heap.is_object(b) && !f.heap.is_object(garbage));
        assert_eq!(stats.live_bytes, 64);
        assert_eq!(f.heap.read_u64(b + 24), 42);
        // The freed object was the last one: allocation resumes there,
        // zeroed.
        let again = f.alloc(pair, 0).unwrap();
        assert_eq!(again, garbage);
        assert_eq!(f.heap.read_u64(again + 24), 0);
        // Nothing rooted: everything goes, and allocation starts over at
        // the bottom.
        f.collect(&[]);
        assert!(!f.heap.is_object(a) && !f.heap.is_object(b));
        assert_eq!(f.alloc(pair, 0), Ok(HEAP_START));
    }

    #[test]
    fn holes_are_reused_and_the_capacity_holds() {
        let (mut f, pair, array) = Fixture::new(4096);
        let objects: Vec<u32> = (0..10).map(|_| f.alloc(pair, 0).unwrap()).collect();
        // Keep every other one: five 32-byte holes.
        let kept: Vec<u32> = objects.iter().copied().step_by(2).collect();
        f.collect(&kept);
        let reused = f.alloc(pair, 0).unwrap();
        assert_eq!(reused, objects[1]);
        // An array bigger than the heap does not fit anywhere (looking
        // for a run that big sweeps to the end: a collection starts over).
        assert_eq!(f.alloc(array, 1000), Err(Need::Space));
        f.collect(&kept);
        let mut count = 0;
        while f.alloc(array, 10).is_ok() {
            count += 1;
        }
        assert!(count > 30 && count < 45, "{count}");
        // Rooted through an array, an object survives.
        f.collect(&kept);
        let list = f.alloc(array, 2).unwrap();
        write_u64(&f.heap, list + 16, u64::from(objects[0]));
        f.collect(&[list]);
        assert!(f.heap.is_object(objects[0]) && f.heap.is_object(list));
        assert!(!f.heap.is_object(objects[2]));
    }

    #[test]
    fn a_collection_is_due_after_four_megabytes_or_twice_the_live_size() {
        let (mut f, pair, _) = Fixture::new(16 << 20);
        let mut allocated = 0u64;
        let need = loop {
            match f.alloc(pair, 0) {
                Ok(_) => allocated += 32,
                Err(need) => break need,
            }
        };
        assert_eq!(need, Need::Collection);
        assert!(
            (MIN_TRIGGER..MIN_TRIGGER + WINDOW).contains(&allocated),
            "{allocated}"
        );
        f.collect(&[]);
        assert!(f.alloc(pair, 0).is_ok() && f.heap.collections == 1);
    }
}
