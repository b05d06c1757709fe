//! Every bounds-check decision for linear-memory accesses, in one file.
//!
//! Two strategies:
//! - `Reserved`: a 32-bit memory lives in a reservation of 4 GiB plus a
//!   guard of 4 GiB + 64 KiB, all inaccessible beyond the current length.
//!   Any `u32` index plus any `u32` offset plus the access size (at most 16)
//!   lands inside the reservation, so no check is emitted: an access past the length faults
//!   on an inaccessible page and the signal handler turns the fault into
//!   "out of bounds memory access" (the load/store carries that trap code).
//! - `Explicit`: compare `index + offset + size` with the current length
//!   before the access. Used for 64-bit memories, memories whose page size
//!   is smaller than the host's (custom page sizes), and whenever a big
//!   reservation is not wanted (low-memory mode).
//!
//! Which strategy a memory gets is decided by [`MemoryStrategy::choose`]
//! (`memory_strategy.rs`, below both the translator and the runtime); the
//! runtime (`linear_memory.rs`) only implements what that says.

use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Value, condcodes::IntCC, types};

use super::Translator;
use crate::memory_strategy::MemoryStrategy;
use crate::traps;

/// The flags of a checked (or guarded) heap access: may trap with "out of
/// bounds memory access", little-endian.
pub fn heap_flags() -> MemFlagsData {
    MemFlagsData::new()
        .with_endianness(cranelift_codegen::ir::Endianness::Little)
        .with_trap_code(Some(traps::HEAP_OUT_OF_BOUNDS))
}

impl Translator<'_, '_> {
    /// The native address of an access of `size` bytes at `index + offset`
    /// in memory `memory`, trapping first if the strategy needs a check.
    pub(super) fn heap_address(
        &mut self,
        memory: u32,
        index: Value,
        offset: u64,
        size: u32,
    ) -> Value {
        let index = if self.env.is_memory64(memory) {
            index
        } else {
            self.b.ins().uextend(types::I64, index)
        };
        match self.env.memory_strategy(memory) {
            MemoryStrategy::Reserved { guard } => {
                // index < 2^32 and offset + size <= guard: inside the
                // reservation whatever the values.
                debug_assert!(offset + u64::from(size) <= guard);
                let base = self.env.memory_base(&mut self.b, memory);
                let address = self.b.ins().iadd(base, index);
                if offset == 0 {
                    address
                } else {
                    self.b.ins().iadd_imm_s(address, offset as i64)
                }
            }
            MemoryStrategy::Explicit => {
                // end = index + offset + size, trapping on overflow too.
                let extent = offset.saturating_add(u64::from(size));
                let extent = self.b.ins().iconst(types::I64, extent as i64);
                let end = self
                    .b
                    .ins()
                    .uadd_overflow_trap(index, extent, traps::HEAP_OUT_OF_BOUNDS);
                let length = self.env.memory_length(&mut self.b, memory);
                let out = self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, length);
                self.b.ins().trapnz(out, traps::HEAP_OUT_OF_BOUNDS);
                let base = self.env.memory_base(&mut self.b, memory);
                let address = self.b.ins().iadd(base, index);
                if offset == 0 {
                    address
                } else {
                    self.b.ins().iadd_imm_s(address, offset as i64)
                }
            }
        }
    }
}
