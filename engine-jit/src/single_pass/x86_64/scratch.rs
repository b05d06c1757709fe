//! The code generator's working lists, kept per thread between compiles.
//! A compile used about fifteen small vectors and a set, allocated, grown
//! and freed each time: in a tiered start of 20,000 functions, `malloc`
//! and `free` took about a seventh of the CPU time. Each thread now keeps
//! one set, cleared and refilled; only the code and its trap sites, which
//! the compiled function keeps, are allocated per compile.

use rustc_hash::FxHashSet;
use std::cell::Cell;

use super::Frame;
use super::encode::Label;
use super::stack::Pending;
use wasmtier_core::ValType;

#[derive(Default)]
pub(super) struct Scratch {
    pub locals: Vec<ValType>,
    pub pending: Vec<Pending>,
    pub frames: Vec<Frame>,
    pub trap_stubs: Vec<(u8, Label)>,
    pub frame_size_fields: Vec<(usize, bool)>,
    pub seen_callees: FxHashSet<u32>,
    pub countdown_branches: Vec<usize>,
    pub labels: Vec<Option<usize>>,
    pub fixups: Vec<(usize, Label)>,
}

thread_local! {
    static SCRATCH: Cell<Scratch> = Cell::new(Scratch::default());
}

impl Scratch {
    /// This thread's lists, empty (a nested or panicked compile that did
    /// not give them back leaves fresh ones).
    pub fn take() -> Self {
        let mut scratch = SCRATCH.with(Cell::take);
        scratch.locals.clear();
        scratch.pending.clear();
        scratch.frames.clear();
        scratch.trap_stubs.clear();
        scratch.frame_size_fields.clear();
        scratch.seen_callees.clear();
        scratch.countdown_branches.clear();
        scratch.labels.clear();
        scratch.fixups.clear();
        scratch
    }

    /// Keeps the lists (and their capacity) for the thread's next compile.
    pub fn give_back(self) {
        SCRATCH.with(|cell| cell.set(self));
    }
}
