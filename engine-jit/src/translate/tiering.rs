//! What lazy and tiered compilation add to generated code.
//!
//! - Calls to functions of the module go through the callee's `VMFuncRef`
//!   in the VM context (like imports) instead of a PC-relative call: its
//!   code pointer is the function's lazy-compile stub until the function
//!   is compiled (`arch::lazy_stub_common`: it compiles the function, or
//!   waits for the thread compiling it, and goes on into its code), and is
//!   replaced by the optimized code when the function tiers up. Call
//!   sites test nothing: a stub takes the arguments of any signature.
//! - Baseline code counts down a per-function counter at entry and at
//!   every loop header; reaching zero asks for the optimized version
//!   (`tier_up` builtin), which later calls pick up.
//! - On-stack replacement: at a loop header whose count ran out, baseline
//!   code asks the `osr_poll` builtin for an optimized entry at that loop
//!   and, once there is one, tail-calls it with every local: the
//!   activation goes on in optimized code, its baseline frame gone. A
//!   loop can take such an entry when nothing but locals is live at its
//!   header: the operand stack is empty, the loop has no parameters, no
//!   exception handler's scope is open, and the function has at most
//!   [`MAX_OSR_LOCALS`] locals.

use cranelift_codegen::ir::{
    self, InstBuilder, MemFlagsData, SigRef, Value, condcodes::IntCC, types,
};

use super::{CodeTier, Translator, control::FrameKind, osr_signature};
use crate::module_info::ModuleInfo;
use crate::vmcontext::{Builtin, offsets};
use wasmtier_core::ValType;

/// Functions with more locals (parameters included) than this have no
/// on-stack-replacement entries: an entry takes every local as an argument.
pub const MAX_OSR_LOCALS: usize = 256;

impl Translator<'_, '_> {
    /// `(signature, code)` for a call to defined function `function_index`
    /// of a lazily compiled module: its current code, or its lazy-compile
    /// stub (`arch::lazy_stub_common`), which compiles it and goes on to
    /// it.
    pub(super) fn lazy_callee(&mut self, function_index: u32, type_index: u32) -> (SigRef, Value) {
        let funcref = self.env.funcref(&mut self.b, function_index);
        // Not `readonly`: the code pointer changes when the function is
        // compiled and again when it tiers up.
        let code = self.b.ins().load(
            types::I64,
            MemFlagsData::trusted(),
            funcref,
            offsets::FUNCREF_CODE,
        );
        let sig = self.env.signature(&mut self.b, type_index);
        (sig, code)
    }

    /// In baseline code: one step of the tier-up countdown, asking for the
    /// optimized version when it reaches zero (once: the counter goes on
    /// below zero while this code still runs).
    pub(super) fn count_for_tier_up(&mut self) {
        let super::CodeTier::Baseline {
            tier_up_counter: Some(counter),
        } = self.env.tier
        else {
            return;
        };
        let left = self.count_down(counter);
        let due = self.b.ins().icmp_imm_s(IntCC::Equal, left, 0);
        let request = self.b.create_block();
        let next = self.b.create_block();
        self.b.ins().brif(due, request, &[], next, &[]);
        self.b.switch_to_block(request);
        self.b.seal_block(request);
        self.b.set_cold_block(request);
        let index = self
            .b
            .ins()
            .iconst(types::I32, i64::from(self.env.func_index()));
        self.env
            .call_builtin(&mut self.b, Builtin::TierUp, &[index]);
        self.b.ins().jump(next, &[]);
        self.b.switch_to_block(next);
        self.b.seal_block(next);
    }

    /// One step of the tier-up countdown at `counter`: the count left.
    /// Not atomic: racing threads may lose a step, which only delays the
    /// request.
    fn count_down(&mut self, counter: usize) -> Value {
        let address = self.b.ins().iconst(types::I64, counter as i64);
        let flags = MemFlagsData::trusted();
        let count = self.b.ins().load(types::I32, flags, address, 0);
        let left = self.b.ins().iadd_imm_s(count, -1);
        self.b.ins().store(flags, left, address, 0);
        left
    }

    /// Whether a loop with `params` starting here can take an
    /// on-stack-replacement entry (see the module's comment). The baseline
    /// code and the entry's translation decide alike: the same walk.
    pub(super) fn osr_possible(&self, params: &[ValType]) -> bool {
        let tiers = matches!(
            self.env.tier,
            CodeTier::Baseline {
                tier_up_counter: Some(_)
            } | CodeTier::OsrEntry { .. }
        );
        tiers
            && params.is_empty()
            && self.stack.is_empty()
            && self.locals.len() <= MAX_OSR_LOCALS
            && !self.frames.iter().any(|f| f.kind == FrameKind::TryTable)
    }

    /// Whether code polls for an entry at the header of loop `loop_index`
    /// (one that can take an entry): baseline code at every such loop; an
    /// entry at the loops enclosing its own. Entered at an inner loop, the
    /// optimized code has a second way into the loops around it, which
    /// makes them irreducible: Cranelift's loop analysis no longer sees
    /// them, and they run slower than in the function's optimized code
    /// (sieve's middle loop, measured: 1.26× the eager JIT's run). So the
    /// entries at the enclosing loops are compiled too, and an entry moves
    /// on to the one at the loop around it when it reaches that loop's
    /// header, until it runs in an outermost loop entered at its header,
    /// where every loop inside is natural again.
    pub(super) fn polls_at(&self, loop_index: u32) -> bool {
        match &self.osr_entry {
            Some(entry) => entry.enclosing.contains(&loop_index),
            None => true,
        }
    }

    /// At the header of loop `loop_index` (which can take an entry): in
    /// baseline code, one step of the tier-up countdown; once it has run
    /// out, polls for the loop's optimized entry and moves there when it
    /// exists. The poll asks for that entry and for the function's
    /// optimized code, and sets the counter to poll again later.
    pub(super) fn count_at_loop_header(&mut self, loop_index: u32) {
        if let CodeTier::OsrEntry { entry_slots, .. } = self.env.tier {
            return self.move_to_entry_when_compiled(entry_slots, loop_index);
        }
        let CodeTier::Baseline {
            tier_up_counter: Some(counter),
        } = self.env.tier
        else {
            return;
        };
        let left = self.count_down(counter);
        let due = self
            .b
            .ins()
            .icmp_imm_s(IntCC::SignedLessThanOrEqual, left, 0);
        let poll = self.b.create_block();
        let enter = self.b.create_block();
        let next = self.b.create_block();
        self.b.ins().brif(due, poll, &[], next, &[]);

        self.b.switch_to_block(poll);
        self.b.seal_block(poll);
        self.b.set_cold_block(poll);
        let function = self
            .b
            .ins()
            .iconst(types::I32, i64::from(self.env.func_index()));
        let index = self.b.ins().iconst(types::I32, i64::from(loop_index));
        let code = self
            .env
            .call_builtin(&mut self.b, Builtin::OsrPoll, &[function, index])
            .expect("osr_poll returns the entry");
        self.b.ins().brif(code, enter, &[], next, &[]);

        self.enter_optimized(enter, code);
        self.b.switch_to_block(next);
        self.b.seal_block(next);
    }

    /// In an entry's code, at the header of loop `loop_index` around the
    /// loop it was entered at: one load and test of that loop's slot, and
    /// a move into its entry once compiled (asked for with this entry).
    /// Such headers run once per pass of the loops inside, so the test
    /// costs little, and no count delays the move.
    fn move_to_entry_when_compiled(&mut self, entry_slots: usize, loop_index: u32) {
        let slot = entry_slots + loop_index as usize * size_of::<usize>();
        let address = self.b.ins().iconst(types::I64, slot as i64);
        let code = self
            .b
            .ins()
            .load(types::I64, MemFlagsData::trusted(), address, 0);
        let enter = self.b.create_block();
        let next = self.b.create_block();
        self.b.ins().brif(code, enter, &[], next, &[]);
        self.enter_optimized(enter, code);
        self.b.switch_to_block(next);
        self.b.seal_block(next);
    }

    /// Fills `enter` (a cold block) with the tail call of the optimized
    /// entry at `code`, passing every local.
    fn enter_optimized(&mut self, enter: ir::Block, code: Value) {
        self.b.switch_to_block(enter);
        self.b.seal_block(enter);
        self.b.set_cold_block(enter);
        let types: Vec<ValType> = self.locals.iter().map(|&(_, ty)| ty).collect();
        let ty = self.env.module().func_type(self.env.func_index());
        let sig = self.b.import_signature(osr_signature(ty, &types));
        let mut args = vec![self.env.vmctx, self.caller_vmctx];
        for i in 0..self.locals.len() {
            let var = self.locals[i].0;
            args.push(self.b.use_var(var));
        }
        self.b.ins().return_call_indirect(sig, code, &args);
        self.calls.tail = true;
    }
}

/// The loops around loop `loop_index` of defined function `defined`,
/// outermost first; none if the body does not decode.
pub fn loops_around(info: &ModuleInfo, defined: u32, loop_index: u32) -> Vec<u32> {
    body_operators(info, defined)
        .and_then(|reader| loops_enclosing(reader, loop_index).ok())
        .unwrap_or_default()
}

/// How many `loop`s the body of defined function `defined` has.
pub fn count_loops(info: &ModuleInfo, defined: u32) -> usize {
    let Some(mut reader) = body_operators(info, defined) else {
        return 0;
    };
    let mut loops = 0;
    while !reader.eof() {
        match reader.read() {
            Ok(wasmparser::Operator::Loop { .. }) => loops += 1,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    loops
}

fn body_operators(info: &ModuleInfo, defined: u32) -> Option<wasmparser::OperatorsReader<'_>> {
    let body = info.module.func_body_reader(defined)?;
    body.get_operators_reader().ok()
}

/// The indexes of the loops around loop `target` of a body, outermost
/// first (loops counted in order, as the translator counts them).
pub(super) fn loops_enclosing(
    mut reader: wasmparser::OperatorsReader<'_>,
    target: u32,
) -> Result<Vec<u32>, super::TranslateError> {
    use wasmparser::Operator;
    // Open blocks: the loop index of each loop, `None` for other blocks.
    let mut open: Vec<Option<u32>> = Vec::new();
    let mut loops = 0;
    while !reader.eof() {
        match reader.read()? {
            Operator::Loop { .. } => {
                if loops == target {
                    return Ok(open.into_iter().flatten().collect());
                }
                open.push(Some(loops));
                loops += 1;
            }
            Operator::Block { .. }
            | Operator::If { .. }
            | Operator::TryTable { .. }
            | Operator::Try { .. } => open.push(None),
            Operator::End | Operator::Delegate { .. } => {
                open.pop();
            }
            _ => {}
        }
    }
    Err(super::TranslateError::NoOsrEntry(target))
}
