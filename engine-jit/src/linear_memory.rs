//! Linear memories and tables, owned by the store.
//!
//! A `Reserved` memory (see `translate/bounds_checks.rs`) maps its whole
//! reservation inaccessible and makes the first `length` bytes read+write;
//! growing changes protection and never moves the base. An `Explicit`
//! memory is an anonymous mapping of exactly its length that may move when
//! it grows (generated code reloads its base after every call for that
//! strategy). Both are committed lazily by the kernel: a guest asking for a
//! huge minimum gets a mapping error at instantiation, never a host abort
//! from a zero-filled heap allocation.
//!
//! Both kinds ask the kernel for transparent huge pages (`MADV_HUGEPAGE`)
//! unless [`MemoryOptions::huge_pages`] is off, and a reservation starts on a
//! huge-page boundary so that every aligned 2 MiB of the guest's memory can
//! be one TLB entry: random access over a few MiB (the benches' hash table)
//! otherwise spends much of its time in page walks. WAMR does the same.
//!
//! A shared memory (threads proposal) never moves: an `Explicit` one maps
//! its whole maximum up front. It is owned by a [`SharedLinearMemory`],
//! which every store importing it holds, and grows under a lock while
//! other threads run.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtier_core::{MemoryType, TableType};

use crate::memory_strategy::MemoryStrategy;
use crate::vmcontext::{VMMemory, VMTable};

/// The most pages a 32-bit memory can have.
const MAX_PAGES_32: u64 = 1 << 16;

/// What a reservation is aligned to: a transparent huge page with 4 KiB
/// base pages (x86-64, and aarch64 as Linux configures it by default). With
/// other base pages the alignment is merely not enough for a huge page.
const HUGE_PAGE: usize = 2 << 20;

/// Limits and choices every linear memory of an engine shares.
#[derive(Debug, Clone, Copy)]
pub struct MemoryOptions {
    /// Cap on the memory's size in bytes (`EngineConfig::max_memory`).
    pub cap: Option<u64>,
    /// Ask for transparent huge pages (see the module documentation).
    pub huge_pages: bool,
}

impl MemoryOptions {
    pub fn of(config: &wasmtier_core::EngineConfig) -> Self {
        Self {
            cap: config.max_memory,
            huge_pages: !config.no_huge_pages && !config.low_memory,
        }
    }
}

#[repr(C)]
pub struct LinearMemory {
    /// First, so that a `*mut VMMemory` is a `*mut LinearMemory`.
    pub vm: VMMemory,
    pub ty: MemoryType,
    /// How generated code checks accesses to this memory.
    pub strategy: MemoryStrategy,
    /// Pages (of the type's page size) the memory may grow to.
    max_pages: u64,
    storage: Storage,
    /// Serializes growth of a shared memory (threads proposal).
    grow_lock: Mutex<()>,
}

enum Storage {
    Reserved {
        base: *mut u8,
        reserved: usize,
    },
    /// `mapped` is at least one page, so the base is never null even for
    /// an empty memory; only the first `vm.length` bytes are the guest's.
    Mapped {
        base: *mut u8,
        mapped: usize,
    },
}

/// Why a memory or table could not be created (reported as a link error's
/// resource limit).
#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    #[error("memory too large")]
    MemoryTooLarge,
    #[error("memory of {0} pages exceeds the limit")]
    MemoryOverLimit(u64),
    #[error("reservation too large")]
    ReservationTooLarge,
    #[error("cannot reserve {size} bytes for a linear memory: {source}")]
    Reserve { size: usize, source: std::io::Error },
    #[error("cannot map {size} bytes for a linear memory: {source}")]
    Map { size: usize, source: std::io::Error },
    /// `mremap` or `mprotect` refused to grow the accessible part.
    #[error("{0}")]
    Grow(std::io::Error),
    #[error("table of {0} elements is too large")]
    TableTooLarge(u64),
}

impl LinearMemory {
    /// A zeroed memory of `ty.minimum` pages.
    pub fn new(
        ty: MemoryType,
        strategy: MemoryStrategy,
        options: MemoryOptions,
    ) -> Result<Box<Self>, ResourceError> {
        let page = 1u64 << ty.page_size_log2;
        let type_max = if ty.memory64 {
            u64::MAX / page
        } else {
            MAX_PAGES_32 * 65536 / page
        };
        let mut max_pages = ty.maximum.unwrap_or(type_max).min(type_max);
        if let Some(cap) = options.cap {
            max_pages = max_pages.min(cap / page);
        }
        let length = ty
            .minimum
            .checked_mul(page)
            .ok_or(ResourceError::MemoryTooLarge)?;
        if ty.minimum > max_pages {
            return Err(ResourceError::MemoryOverLimit(ty.minimum));
        }
        let storage = match strategy.reservation() {
            Some(reserved) => {
                let reserved =
                    usize::try_from(reserved).map_err(|_| ResourceError::ReservationTooLarge)?;
                let base = reserve(reserved, options.huge_pages)?;
                let memory = Storage::Reserved { base, reserved };
                make_accessible(base, 0, length as usize)?;
                memory
            }
            None => {
                // A shared memory must never move: map all it may become.
                let mapped_pages = if ty.shared { max_pages } else { ty.minimum };
                let bytes = mapped_pages
                    .checked_mul(page)
                    .and_then(|b| usize::try_from(b).ok())
                    .ok_or(ResourceError::MemoryTooLarge)?;
                let mapped = mapping_size(bytes);
                let base = map_zeroed(mapped, options.huge_pages)?;
                Storage::Mapped { base, mapped }
            }
        };
        let mut memory = Box::new(Self {
            vm: VMMemory {
                base: std::ptr::null_mut(),
                length: AtomicU64::new(length),
            },
            ty,
            strategy,
            max_pages,
            storage,
            grow_lock: Mutex::new(()),
        });
        memory.vm.base = memory.base();
        Ok(memory)
    }

    fn base(&mut self) -> *mut u8 {
        match &mut self.storage {
            Storage::Reserved { base, .. } | Storage::Mapped { base, .. } => *base,
        }
    }

    pub fn page_size(&self) -> u64 {
        1 << self.ty.page_size_log2
    }

    /// Accessible bytes now.
    pub fn length(&self) -> u64 {
        self.vm.length.load(Ordering::Acquire)
    }

    pub fn pages(&self) -> u64 {
        self.length() >> self.ty.page_size_log2
    }

    /// Grows by `delta` pages; the old size in pages, or `None` if the
    /// memory cannot grow that far. A shared memory grows through
    /// [`Self::grow_shared`] instead.
    pub fn grow(&mut self, delta: u64) -> Option<u64> {
        debug_assert!(!self.ty.shared);
        let old = self.pages();
        let new_length = self.checked_new_length(old, delta)?;
        let old_length = self.length() as usize;
        match &mut self.storage {
            Storage::Reserved { base, reserved } => {
                if new_length > *reserved {
                    return None;
                }
                make_accessible(*base, old_length, new_length).ok()?;
            }
            Storage::Mapped { base, mapped } => {
                let wanted = mapping_size(new_length);
                if wanted > *mapped {
                    *base = remap(*base, *mapped, wanted).ok()?;
                    *mapped = wanted;
                }
            }
        }
        *self.vm.length.get_mut() = new_length as u64;
        self.vm.base = self.base();
        Some(old)
    }

    /// `grow` for a shared memory, which other threads may be reading and
    /// growing: growth is serialized, the base never moves (its whole
    /// maximum is reserved or mapped), and the new length is published
    /// only once the bytes are accessible.
    pub fn grow_shared(&self, delta: u64) -> Option<u64> {
        let _serialized = self.grow_lock.lock().unwrap_or_else(|e| e.into_inner());
        let old = self.pages();
        let new_length = self.checked_new_length(old, delta)?;
        match self.storage {
            Storage::Reserved { base, reserved } => {
                if new_length > reserved {
                    return None;
                }
                make_accessible(base, self.length() as usize, new_length).ok()?;
            }
            Storage::Mapped { mapped, .. } => {
                if new_length > mapped {
                    return None;
                }
            }
        }
        self.vm.length.store(new_length as u64, Ordering::Release);
        Some(old)
    }

    /// The length after growing `old` pages by `delta`, within the limits.
    fn checked_new_length(&self, old: u64, delta: u64) -> Option<usize> {
        let new = old.checked_add(delta)?;
        if new > self.max_pages {
            return None;
        }
        usize::try_from(new.checked_mul(self.page_size())?).ok()
    }

    /// The accessible bytes of an unshared memory.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        debug_assert!(!self.ty.shared);
        let length = *self.vm.length.get_mut() as usize;
        // SAFETY: `base..base + length` is mapped read+write and owned by
        // this memory; `&mut self` makes the borrow exclusive on the Rust
        // side, and no other thread reaches an unshared memory.
        unsafe { std::slice::from_raw_parts_mut(self.vm.base, length) }
    }

    /// The accessible bytes as cells, which other threads may change at
    /// any time: what host code gets of a shared memory.
    pub fn cells(&self) -> &[std::cell::UnsafeCell<u8>] {
        // SAFETY: `base..base + length` is mapped read+write for as long
        // as the memory lives (a shared memory never shrinks or moves);
        // `UnsafeCell` admits the writes of other threads.
        unsafe { std::slice::from_raw_parts(self.vm.base.cast(), self.length() as usize) }
    }
}

/// A shared memory (threads proposal): one `LinearMemory` that every store
/// importing it points at, freed when the last of them lets go.
pub struct SharedLinearMemory {
    memory: std::ptr::NonNull<LinearMemory>,
}

// SAFETY: the memory's own state changes only in `grow_shared`, under its
// lock and through atomics; its bytes are Wasm's shared memory, which any
// thread may access (atomically or racily, as Wasm allows).
unsafe impl Send for SharedLinearMemory {}
// SAFETY: as above.
unsafe impl Sync for SharedLinearMemory {}

impl SharedLinearMemory {
    /// A zeroed shared memory of type `ty` (which says `shared`).
    pub fn new(
        ty: MemoryType,
        strategy: MemoryStrategy,
        options: MemoryOptions,
    ) -> Result<Arc<Self>, ResourceError> {
        debug_assert!(ty.shared);
        let memory = Box::into_raw(LinearMemory::new(ty, strategy, options)?);
        Ok(Arc::new(Self {
            // SAFETY: `Box::into_raw` never returns null.
            memory: unsafe { std::ptr::NonNull::new_unchecked(memory) },
        }))
    }

    /// The memory, as instances and generated code refer to it. Only
    /// shared-memory paths (`grow_shared`, `cells`) may use it once other
    /// threads can see it.
    pub fn as_ptr(&self) -> *mut LinearMemory {
        self.memory.as_ptr()
    }

    /// Its type, as created (the minimum is its size then).
    pub fn ty(&self) -> MemoryType {
        // SAFETY: the memory lives as long as `self`; its type never
        // changes after creation.
        unsafe { (*self.memory.as_ptr()).ty }
    }
}

impl Drop for SharedLinearMemory {
    fn drop(&mut self) {
        // SAFETY: made by `Box::into_raw` in `new`; the last owner is gone,
        // so no store or instance refers to it.
        drop(unsafe { Box::from_raw(self.memory.as_ptr()) });
    }
}

impl Drop for LinearMemory {
    fn drop(&mut self) {
        let (Storage::Reserved {
            base,
            reserved: size,
        }
        | Storage::Mapped { base, mapped: size }) = self.storage;
        // SAFETY: unmaps exactly the mapping made in `new` (or its latest
        // `remap`), which nothing else refers to once the memory is dropped.
        unsafe {
            libc::munmap(base.cast(), size);
        }
    }
}

/// Reserves `size` bytes of inaccessible address space; with `huge_pages`,
/// starting on a huge-page boundary and advised for huge pages (the advice
/// outlives `mprotect`, which only splits the mapping).
fn reserve(size: usize, huge_pages: bool) -> Result<*mut u8, ResourceError> {
    let slack = if huge_pages { HUGE_PAGE } else { 0 };
    let mapped = size
        .checked_add(slack)
        .ok_or(ResourceError::ReservationTooLarge)?;
    // SAFETY: a fresh anonymous mapping at an address the kernel picks.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            mapped,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(ResourceError::Reserve {
            size,
            source: std::io::Error::last_os_error(),
        });
    }
    if !huge_pages {
        return Ok(ptr.cast());
    }
    let start = ptr as usize;
    let head = start.next_multiple_of(HUGE_PAGE) - start;
    let tail = slack - head;
    // SAFETY: both ranges lie inside the mapping just made, outside the
    // `size` bytes kept from `start + head`; nothing refers to them yet.
    unsafe {
        if head > 0 {
            libc::munmap(ptr, head);
        }
        if tail > 0 {
            libc::munmap(ptr.cast::<u8>().add(head + size).cast(), tail);
        }
    }
    // SAFETY: `start + head` begins `size` bytes of the mapping kept above.
    let base = unsafe { ptr.cast::<u8>().add(head) };
    advise_huge_pages(base, size);
    Ok(base)
}

/// Asks the kernel to back `[base, base + size)`, a mapping of ours, with
/// transparent huge pages. Advice only: a kernel without them (or with
/// them disabled) leaves the mapping as it was, and so do we.
fn advise_huge_pages(base: *mut u8, size: usize) {
    #[cfg(target_os = "linux")]
    // SAFETY: `MADV_HUGEPAGE` changes how the kernel backs our own mapping,
    // never its contents or protection.
    unsafe {
        libc::madvise(base.cast(), size, libc::MADV_HUGEPAGE);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (base, size);
}

/// The size of a mapping holding `length` bytes: whole pages, at least one.
fn mapping_size(length: usize) -> usize {
    let page = crate::code_memory::page_size();
    length.max(1).div_ceil(page) * page
}

/// Maps `size` (page-multiple) bytes of zeroed read+write memory that the
/// kernel commits only when touched; with `huge_pages`, advised for huge
/// pages when it can hold one (`mremap` keeps the advice).
fn map_zeroed(size: usize, huge_pages: bool) -> Result<*mut u8, ResourceError> {
    // SAFETY: a fresh anonymous mapping at an address the kernel picks.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(ResourceError::Map {
            size,
            source: std::io::Error::last_os_error(),
        });
    }
    if huge_pages && size >= HUGE_PAGE {
        advise_huge_pages(ptr.cast(), size);
    }
    Ok(ptr.cast())
}

/// Grows the mapping at `base` from `old` to `new` bytes, moving it if the
/// kernel must; the added bytes read as zero.
fn remap(base: *mut u8, old: usize, new: usize) -> Result<*mut u8, ResourceError> {
    // SAFETY: `base..base + old` is a mapping of ours (from `map_zeroed` or
    // an earlier `remap`); with MREMAP_MAYMOVE the old range is unmapped
    // only on success, and callers store the returned base.
    let ptr = unsafe { libc::mremap(base.cast(), old, new, libc::MREMAP_MAYMOVE) };
    if ptr == libc::MAP_FAILED {
        return Err(ResourceError::Grow(std::io::Error::last_os_error()));
    }
    Ok(ptr.cast())
}

/// Makes `[from, to)` of the reservation at `base` read+write (a
/// `mprotect` of pages no thread can have been using yet).
fn make_accessible(base: *mut u8, from: usize, to: usize) -> Result<(), ResourceError> {
    if to <= from {
        return Ok(());
    }
    let page = crate::code_memory::page_size();
    let start = from / page * page;
    let end = to.div_ceil(page) * page;
    // SAFETY: `[start, end)` lies inside the reservation (callers check
    // `to <= reserved`, which is page-aligned), so only our mapping changes.
    let rc = unsafe {
        libc::mprotect(
            base.add(start).cast(),
            end - start,
            libc::PROT_READ | libc::PROT_WRITE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(ResourceError::Grow(std::io::Error::last_os_error()))
    }
}

/// Most elements a table may have, whatever its type says.
const MAX_TABLE_ELEMENTS: u64 = 10_000_000;

#[repr(C)]
pub struct Table {
    /// First, so that a `*mut VMTable` is a `*mut Table`.
    pub vm: VMTable,
    pub ty: TableType,
    elements: Vec<u64>,
    /// Most elements this table may reach: the type's maximum, the
    /// engine's `max_table_elements` and our own cap, whichever is least.
    limit: u64,
}

impl Table {
    pub fn new(
        ty: TableType,
        init: u64,
        max_elements: Option<u64>,
    ) -> Result<Box<Self>, ResourceError> {
        let index_limit = if ty.table64 {
            u64::MAX
        } else {
            u32::MAX as u64
        };
        let limit = ty
            .maximum
            .unwrap_or(u64::MAX)
            .min(MAX_TABLE_ELEMENTS)
            .min(max_elements.unwrap_or(u64::MAX))
            .min(index_limit);
        if ty.minimum > MAX_TABLE_ELEMENTS.min(max_elements.unwrap_or(u64::MAX)) {
            return Err(ResourceError::TableTooLarge(ty.minimum));
        }
        let mut table = Box::new(Self {
            vm: VMTable {
                base: std::ptr::null_mut(),
                length: 0,
            },
            ty,
            elements: vec![init; ty.minimum as usize],
            limit,
        });
        table.sync();
        Ok(table)
    }

    fn sync(&mut self) {
        self.vm.base = self.elements.as_mut_ptr();
        self.vm.length = self.elements.len() as u64;
    }

    pub fn elements_mut(&mut self) -> &mut [u64] {
        &mut self.elements
    }

    /// Grows by `delta` elements set to `init`; the old size, or `None`.
    pub fn grow(&mut self, delta: u64, init: u64) -> Option<u64> {
        let old = self.elements.len() as u64;
        let new = old.checked_add(delta)?;
        if new > self.limit {
            return None;
        }
        self.elements.try_reserve(delta as usize).ok()?;
        self.elements.resize(new as usize, init);
        self.sync();
        Some(old)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// Whether the kernel's view of our mappings can be read: not under
    /// qemu-user (the cross tests), which neither passes `madvise` on nor
    /// shows the host's flags for guest addresses.
    fn kernel_flags_visible() -> bool {
        let emulated = std::env::var_os("WASMTIER_TEST_EMULATOR").is_some();
        if emulated {
            eprintln!("not checked: the kernel's page flags, under an emulator");
        }
        !emulated
    }

    /// Whether the mapping that holds `address` asks for huge pages: "hg"
    /// (`MADV_HUGEPAGE`) among its `VmFlags` in /proc/self/smaps.
    fn asks_for_huge_pages(address: *const u8) -> bool {
        vm_flags_at(address).iter().any(|flag| flag == "hg")
    }

    /// The kernel's flags (`VmFlags` in /proc/self/smaps) of the mapping
    /// that holds `address`.
    fn vm_flags_at(address: *const u8) -> Vec<String> {
        let address = address as usize;
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut inside = false;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ')
                && let Some((start, end)) = range.split_once('-')
                && let (Ok(start), Ok(end)) = (
                    usize::from_str_radix(start, 16),
                    usize::from_str_radix(end, 16),
                )
            {
                inside = (start..end).contains(&address);
            } else if inside && let Some(flags) = line.strip_prefix("VmFlags:") {
                return flags.split_whitespace().map(str::to_owned).collect();
            }
        }
        panic!("no mapping holds {address:#x}");
    }

    /// 4 MiB, growable to 64 MiB.
    fn four_mib() -> MemoryType {
        MemoryType {
            minimum: 64,
            maximum: Some(1024),
            memory64: false,
            shared: false,
            page_size_log2: 16,
        }
    }

    fn reserved() -> MemoryStrategy {
        MemoryStrategy::Reserved {
            guard: MemoryStrategy::GUARD,
        }
    }

    fn options(huge_pages: bool) -> MemoryOptions {
        MemoryOptions {
            cap: None,
            huge_pages,
        }
    }

    #[test]
    fn a_reserved_memory_starts_on_a_huge_page_and_asks_for_huge_pages() {
        let mut memory = LinearMemory::new(four_mib(), reserved(), options(true)).unwrap();
        assert_eq!(memory.vm.base as usize % HUGE_PAGE, 0);
        // Growing makes more of the reservation accessible; the advice
        // covers it too.
        assert_eq!(memory.grow(64), Some(64));
        let grown = memory.bytes_mut();
        grown[grown.len() - 1] = 1;
        let last: *const u8 = &grown[grown.len() - 1];
        if kernel_flags_visible() {
            assert!(asks_for_huge_pages(memory.vm.base));
            assert!(asks_for_huge_pages(last));
        }
    }

    #[test]
    fn without_huge_pages_no_memory_asks_for_them() {
        for strategy in [reserved(), MemoryStrategy::Explicit] {
            let memory = LinearMemory::new(four_mib(), strategy, options(false)).unwrap();
            if kernel_flags_visible() {
                assert!(!asks_for_huge_pages(memory.vm.base), "{strategy:?}");
            }
        }
    }

    #[test]
    fn an_explicit_memory_keeps_the_advice_when_it_moves() {
        let mut memory =
            LinearMemory::new(four_mib(), MemoryStrategy::Explicit, options(true)).unwrap();
        let visible = kernel_flags_visible();
        let asked_before = visible && asks_for_huge_pages(memory.vm.base);
        assert_eq!(memory.grow(512), Some(64));
        if visible {
            assert!(asked_before);
            assert!(asks_for_huge_pages(memory.vm.base));
        }
    }

    #[test]
    fn the_engine_config_chooses_huge_pages() {
        let default = wasmtier_core::EngineConfig::default();
        assert!(MemoryOptions::of(&default).huge_pages);
        let off = wasmtier_core::EngineConfig {
            no_huge_pages: true,
            ..Default::default()
        };
        assert!(!MemoryOptions::of(&off).huge_pages);
        let low_memory = wasmtier_core::EngineConfig {
            low_memory: true,
            ..Default::default()
        };
        assert!(!MemoryOptions::of(&low_memory).huge_pages);
    }
}
