//! How a Wasm function checks for stack overflow (RATIONALE, "Stack
//! overflow").
//!
//! Cranelift's own check (`Function::stack_limit`) runs in the prologue
//! before the frame is allocated: two dependent loads of the limit, an add
//! of the frame size, a compare and a branch in every function that calls
//! or has a frame. Ours runs after the prologue and compares SP itself with
//! the copy of the limit in the callee's VM context (a compare with a
//! memory operand and a branch), and only in functions that call Wasm. A
//! frame may then lie below the limit before its function traps, or for as
//! long as a leaf runs; that is safe because such frames are at most
//! [`MAX_FRAME_BELOW_LIMIT`] bytes (checked after compiling, `compile.rs`)
//! and the limit always leaves more than that above the end of the
//! thread's stack (`signals::stack_limit`).

use cranelift_codegen::ir::{self, Function, Inst, InstBuilder, condcodes::IntCC, types};

use super::Translator;
use super::func_env;

pub use crate::signals::MAX_FRAME_BELOW_LIMIT;

/// Where a function's stack check runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackCheck {
    /// After the prologue, in functions that call Wasm without tail calls;
    /// none in the others (a tail call's prologue may first grow the
    /// caller's argument area, which this cannot see, so those get
    /// `BeforeFrame`).
    AfterPrologue,
    /// Cranelift's check of SP minus the frame before allocating it: for a
    /// long body (`compile.rs`), or a function whose frame turned out
    /// larger than [`MAX_FRAME_BELOW_LIMIT`].
    BeforeFrame,
    /// None: the body is a copy inlined into a function that checks (see
    /// `recursion.rs`); it adds no frame of its own.
    InCaller,
}

/// The instructions of a function's check, to take out again when the
/// function turns out not to need it.
pub(super) struct PendingCheck {
    insts: Vec<Inst>,
}

impl Translator<'_, '_> {
    /// Emits the check after the prologue at the current point (the entry
    /// block's start): SP below the store's limit traps with "call stack
    /// exhausted".
    pub(super) fn check_stack(&mut self) -> PendingCheck {
        let block = self.b.current_block().expect("in the entry block");
        let before = self.b.func.layout.last_inst(block);
        let limit = self.env.stack_limit(&mut self.b);
        let sp = self.b.ins().get_stack_pointer(types::I64);
        let below = self.b.ins().icmp(IntCC::UnsignedLessThan, sp, limit);
        let trap = self.b.ins().trapnz(below, ir::TrapCode::STACK_OVERFLOW);
        let layout = &self.b.func.layout;
        let mut insts = vec![trap];
        while let Some(inst) = layout.prev_inst(*insts.last().expect("not empty"))
            && Some(inst) != before
        {
            insts.push(inst);
        }
        PendingCheck { insts }
    }

    /// Settles the check once the body is translated: kept in a function
    /// that calls Wasm, dropped from a leaf, and moved into the prologue
    /// (Cranelift's check) in a function with tail calls.
    pub(super) fn settle_stack_check(&mut self, check: PendingCheck) {
        if self.calls.wasm && !self.calls.tail {
            return;
        }
        for inst in check.insts {
            self.b.func.layout.remove_inst(inst);
        }
        if self.calls.tail {
            func_env::declare_stack_limit(self.b.func);
        }
    }
}

/// The kinds of call a body made, as translated.
#[derive(Debug, Default)]
pub(super) struct CallsMade {
    /// Any call of a Wasm function (or of a host function, which may call
    /// back into Wasm).
    pub wasm: bool,
    /// A tail call (`return_call*`, or a move into optimized code).
    pub tail: bool,
}

/// Sets up `func` for `check` before its body is built.
pub(super) fn declare(func: &mut Function, check: StackCheck) {
    if check == StackCheck::BeforeFrame {
        func_env::declare_stack_limit(func);
    }
}
