//! What lazy and tiered compilation add to generated code.
//!
//! - Calls to functions of the module go through the callee's `VMFuncRef`
//!   in the VM context (like imports) instead of a PC-relative call: its
//!   code pointer is null until the function is compiled, and is replaced
//!   by the optimized code when the function tiers up.
//! - Every call through a `VMFuncRef` (also `call_indirect` and
//!   `call_ref`) then tests the code pointer; a null one takes a cold path
//!   into the `lazy_code` builtin, which compiles the function (or waits
//!   for the thread compiling it) and returns its code.
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
    BlockArg, InstBuilder, MemFlagsData, SigRef, Value, condcodes::IntCC, types,
};

use super::{CodeTier, Translator, control::FrameKind, osr_signature};
use crate::vmcontext::{Builtin, offsets};
use wasmtier_core::ValType;

/// Functions with more locals (parameters included) than this have no
/// on-stack-replacement entries: an entry takes every local as an argument.
pub const MAX_OSR_LOCALS: usize = 256;

impl Translator<'_, '_> {
    /// `(signature, code)` for a call to defined function `function_index`
    /// of a lazily compiled module: its current code, compiled first if
    /// need be.
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
        let code = self.compiled_code(funcref, code);
        let sig = self.env.signature(&mut self.b, type_index);
        (sig, code)
    }

    /// `code`, loaded from the `VMFuncRef` at `funcref`, or (when it is
    /// null: not compiled yet) what the `lazy_code` builtin returns. Eager
    /// code never has a null code pointer and skips the test.
    pub(super) fn compiled_code(&mut self, funcref: Value, code: Value) -> Value {
        if !self.env.lazy_calls() {
            return code;
        }
        let compile = self.b.create_block();
        let done = self.b.create_block();
        let resolved = self.b.append_block_param(done, types::I64);
        self.b
            .ins()
            .brif(code, done, &[BlockArg::from(code)], compile, &[]);
        self.b.switch_to_block(compile);
        self.b.seal_block(compile);
        self.b.set_cold_block(compile);
        let compiled = self
            .env
            .call_builtin(&mut self.b, Builtin::LazyCode, &[funcref])
            .expect("lazy_code returns the code");
        self.b.ins().jump(done, &[BlockArg::from(compiled)]);
        self.b.switch_to_block(done);
        self.b.seal_block(done);
        resolved
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
        let address = self.b.ins().iconst(types::I64, counter as i64);
        let flags = MemFlagsData::trusted();
        let count = self.b.ins().load(types::I32, flags, address, 0);
        let left = self.b.ins().iadd_imm_s(count, -1);
        self.b.ins().store(flags, left, address, 0);
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

    /// At the header of loop `loop_index` (which can take an entry): in
    /// baseline code, one step of the tier-up countdown; once it has run
    /// out, polls for the loop's optimized entry and moves there when it
    /// exists. The poll asks for that entry and for the function's
    /// optimized code, and sets the counter to poll again later.
    pub(super) fn count_at_loop_header(&mut self, loop_index: u32) {
        let CodeTier::Baseline {
            tier_up_counter: Some(counter),
        } = self.env.tier
        else {
            return;
        };
        let address = self.b.ins().iconst(types::I64, counter as i64);
        let flags = MemFlagsData::trusted();
        let count = self.b.ins().load(types::I32, flags, address, 0);
        let left = self.b.ins().iadd_imm_s(count, -1);
        self.b.ins().store(flags, left, address, 0);
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

        self.b.switch_to_block(next);
        self.b.seal_block(next);
    }
}
