//! Direct calls between lazily compiled functions.
//!
//! Baseline code calls the module's functions through their `VMFuncRef`s
//! (load the code pointer, call it), which is what lets a call reach a
//! function that is compiled, or tiers up, later. Optimized code calls
//! them as eager code does, with a PC-relative `call`: the caller's code
//! then has the same shape as eager code. Calling through a loaded
//! pointer instead changed register allocation far from the calls
//! (CoreMark-like's `main`, whose hot loops call nothing, reloaded its
//! spilled memory base twice per iteration instead of once and ran 1.27×
//! the eager JIT's time; `RATIONALE.md`, "Lazy and tiered compilation").
//!
//! Where such a call goes is settled when the caller is placed: the
//! callee's code when it is final (optimized, or never tiering up), since
//! final code never moves; else the callee's *call stub*, which jumps
//! through the callee's entry in a table of current code addresses (its
//! lazy-compile stub until compiled, then its baseline code, then its
//! optimized code), kept in step with the `VMFuncRef`s by
//! `LazyCode::publish`. The table lies in the arena on pages of its own:
//! the stubs address it PC-relatively, and stores to it never share a
//! page with code being executed.
//!
//! Only when every address of the arena is within a direct call's reach
//! of every other (`arch::MAX_DIRECT_CALL_SPAN`: ±2 GiB on x86-64,
//! ±128 MiB on aarch64); a bigger module's optimized code calls through
//! `VMFuncRef`s like baseline code.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::arena::CodeArena;
use crate::arch;
use crate::compile::CompileError;

/// The call stubs and the table they jump through.
pub(super) struct CallTable {
    /// Executable address of the first entry (one code address per defined
    /// function).
    table: usize,
    /// Executable address of the first call stub.
    stubs: usize,
    count: usize,
}

impl CallTable {
    /// Places the table, each entry set to `initial(defined)` (the
    /// function's lazy-compile stub), and the call stubs.
    pub fn new(
        arena: &CodeArena,
        count: u32,
        initial: impl Fn(usize) -> usize,
    ) -> Result<Self, CompileError> {
        let page = crate::code_memory::page_size();
        let len = (count as usize * 8).div_ceil(page).max(1) * page;
        let mut table_offset = 0;
        let table = arena.place(len, page, |bytes, origin| {
            table_offset = origin;
            for (defined, entry) in bytes.chunks_exact_mut(8).enumerate() {
                let code = if defined < count as usize {
                    initial(defined)
                } else {
                    0
                };
                entry.copy_from_slice(&code.to_le_bytes());
            }
        })?;
        let mut written = Ok(());
        let stubs = arena.place(
            (count as usize * arch::CALL_STUB_SIZE).max(1),
            page,
            |bytes, origin| {
                for (defined, stub) in bytes.chunks_exact_mut(arch::CALL_STUB_SIZE).enumerate() {
                    let at = origin + defined * arch::CALL_STUB_SIZE;
                    match arch::call_stub(at, table_offset + 8 * defined) {
                        Ok(code) => stub.copy_from_slice(&code),
                        Err(e) => written = Err(e),
                    }
                }
            },
        )?;
        written?;
        Ok(Self {
            table,
            stubs,
            count: count as usize,
        })
    }

    /// Where a call to defined function `defined` goes when its final code
    /// is not known: its call stub.
    pub fn stub(&self, defined: usize) -> usize {
        self.stubs + defined * arch::CALL_STUB_SIZE
    }

    /// Makes `code` the target of `defined`'s call stub.
    pub fn set(&self, arena: &CodeArena, defined: usize, code: usize) {
        if defined >= self.count {
            return;
        }
        let entry = arena.writable(self.table + defined * 8);
        // SAFETY: an 8-byte aligned entry of the table (page aligned, 8
        // bytes per function), inside the arena's writable view, which
        // lives as long as `arena`; stubs read it concurrently, hence the
        // atomic store.
        unsafe { AtomicUsize::from_ptr(entry.cast::<usize>()).store(code, Ordering::Release) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    extern "C" fn seven() -> u64 {
        7
    }

    extern "C" fn eight() -> u64 {
        8
    }

    /// Calls the code at `address` as a C function returning a `u64`.
    fn call(address: usize) -> u64 {
        // SAFETY: the test's stubs jump to one of the functions above,
        // which have this signature; the stub touches only the scratch
        // register the C convention leaves free at a call's target.
        let function: extern "C" fn() -> u64 = unsafe { std::mem::transmute(address) };
        function()
    }

    #[test]
    fn a_call_stub_goes_where_its_entry_says_and_follows_it_when_set_again() {
        let arena = CodeArena::new(1 << 20).unwrap();
        let initial = [seven as *const () as usize, eight as *const () as usize, 0];
        let table = CallTable::new(&arena, 3, |d| initial[d]).unwrap();
        assert_eq!(call(table.stub(0)), 7);
        assert_eq!(call(table.stub(1)), 8);
        table.set(&arena, 0, eight as *const () as usize);
        table.set(&arena, 2, seven as *const () as usize);
        assert_eq!(call(table.stub(0)), 8);
        assert_eq!(call(table.stub(2)), 7);
        // Beyond the table: ignored.
        table.set(&arena, 3, seven as *const () as usize);
        assert_eq!(call(table.stub(1)), 8);
    }
}
