//! Which bounds-check strategy a linear memory gets. Decided once per
//! memory; the translator (`translate/bounds_checks.rs`) emits the checks
//! it implies and the runtime (`linear_memory.rs`) allocates to match. It
//! sits below both so neither imports the other for it.

use wasmtier_core::{EngineConfig, MemoryType};

/// 4 GiB: every index of a 32-bit memory.
pub const FOUR_GIB: u64 = 1 << 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryStrategy {
    /// Reserve `FOUR_GIB + guard` bytes of address space up front.
    Reserved { guard: u64 },
    /// Allocate what is accessible; check every access.
    Explicit,
}

impl MemoryStrategy {
    /// The guard after 4 GiB: the largest static offset (`u32::MAX`) plus
    /// the widest access (16 bytes), rounded up to a whole 64 KiB page.
    pub const GUARD: u64 = FOUR_GIB + 0x1_0000;

    pub fn choose(ty: &MemoryType, config: &EngineConfig) -> Self {
        let host_is_64_bit = cfg!(target_pointer_width = "64");
        // A guard page only catches accesses past the length if the length
        // is a multiple of the host's page: not so with tiny custom pages.
        let whole_host_pages = ty.page_size_log2 >= 16;
        if host_is_64_bit && !ty.memory64 && whole_host_pages && !config.low_memory {
            Self::Reserved { guard: Self::GUARD }
        } else {
            Self::Explicit
        }
    }

    /// Bytes of address space a memory with this strategy reserves, if
    /// any.
    pub fn reservation(self) -> Option<u64> {
        match self {
            Self::Reserved { guard } => Some(FOUR_GIB + guard),
            Self::Explicit => None,
        }
    }
}
