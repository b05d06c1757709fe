//! Calls: direct ones through the callee's `VMFuncRef`, `call_indirect`
//! with the translator's checks, arguments in registers and on the stack
//! in Cranelift's `tail` convention, and the tail call into an optimized
//! entry at a loop header (on-stack replacement).

use super::encode::{Cond, Mem, R10, R11, RAX, RBP, RCX, RDI, RSI, RSP, XMM8};
use super::{
    ArgAssigner, ArgLoc, BuiltinArg, Codegen, Unsupported, arg_locations, is_numeric,
    outgoing_stack,
};
use crate::traps;
use crate::vmcontext::{Builtin, offsets};
use wasmtier_core::ValType;

impl Codegen<'_> {
    /// At a loop header that can take an optimized entry: one step of
    /// the countdown; once run out, polls for the entry and moves there
    /// (a tail call passing every local) when it exists.
    pub(super) fn count_at_loop_header(&mut self, loop_index: u32) -> Result<(), Unsupported> {
        let (locations, entry_stack) = arg_locations(&self.locals)?;
        let counter = self.req.tier_up_counter.expect("checked by the caller");
        self.a.mov_imm64(RAX, counter as u64);
        self.a.alu_mem_imm(false, 5, Mem::at(RAX, 0), 1);
        let next = self.a.label();
        self.countdown_branches.push(self.a.offset());
        self.a.jcc(Cond::Greater, next);
        let args = [
            BuiltinArg::Imm(self.req.func_index()),
            BuiltinArg::Imm(loop_index),
        ];
        self.call_builtin(Builtin::OsrPoll, &args);
        self.a.alu_rr(true, 0x85, RAX, RAX);
        self.a.jcc(Cond::Equal, next);
        self.a.mov_rr(true, R11, RAX);
        self.tail_call_entry(&locations, entry_stack);
        self.a.bind(next);
        Ok(())
    }

    /// Leaves this frame for the entry at r11 as a tail call passing every
    /// local: register arguments loaded, stack arguments (if any) written
    /// where the entry finds them, above a return address moved so that
    /// its `ret` leaves the stack as this function's would have. The
    /// stack arguments go through a staging area at the bottom of the
    /// frame first: their final place overlaps the frame's top (its saved
    /// frame pointer and return address, the VM contexts, locals).
    pub(super) fn tail_call_entry(&mut self, locations: &[ArgLoc], entry_stack: i32) {
        self.staging = self.staging.max(entry_stack);
        for (i, loc) in locations.iter().enumerate() {
            if let ArgLoc::Stack(offset) = *loc {
                let slot = self.local(i as u32);
                self.a.load(true, RAX, slot);
                self.a.store(true, Mem::at(RSP, offset), RAX);
            }
        }
        for (i, loc) in locations.iter().enumerate() {
            let slot = self.local(i as u32);
            match *loc {
                ArgLoc::Gpr(reg) => self.a.load(true, reg, slot),
                ArgLoc::Xmm(x) => self.a.sse_mem(Some(0xf2), 0x10, x, slot),
                ArgLoc::Stack(_) => {}
            }
        }
        self.a.load(true, RDI, self.vmctx());
        self.a.load(true, RSI, self.caller_vmctx());
        if entry_stack == 0 && self.incoming_stack == 0 {
            self.a.mov_rr(true, RSP, RBP);
            self.a.pop_rbp();
            self.a.jmp_reg(R11);
            return;
        }
        // The return address goes to `rbp + 8 + incoming - entry_stack`,
        // the arguments above it; r10 and xmm8 are free in the `tail`
        // convention (neither an argument nor callee-saved).
        let return_slot = 8 + self.incoming_stack - entry_stack;
        self.a.load(true, RAX, Mem::at(RBP, 8));
        self.a.movq_to_xmm(XMM8, RAX);
        self.a.load(true, R10, Mem::at(RBP, 0));
        for loc in locations {
            if let ArgLoc::Stack(offset) = *loc {
                self.a.load(true, RAX, Mem::at(RSP, offset));
                self.a
                    .store(true, Mem::at(RBP, return_slot + 8 + offset), RAX);
            }
        }
        self.a.movq_from_xmm(RAX, XMM8);
        self.a.store(true, Mem::at(RBP, return_slot), RAX);
        self.a.lea(RSP, Mem::at(RBP, return_slot));
        self.a.mov_rr(true, RBP, R10);
        self.a.jmp_reg(R11);
    }

    /// A direct call through the callee's `VMFuncRef` (its code may be a
    /// lazy-compile stub, or an import's).
    pub(super) fn call(&mut self, function_index: u32) -> Result<(), Unsupported> {
        let module = &*self.req.info.module;
        let type_index = module.func_type_index(function_index).ok_or(Unsupported)?;
        let offset = i64::from(function_index) * offsets::FUNCREF_SIZE;
        let offset = i32::try_from(offset).map_err(|_| Unsupported)?;
        self.check_call_type(type_index)?;
        self.count_call(Some(function_index));
        self.a.load(true, R11, self.vmctx());
        self.a.load(true, R11, Mem::at(R11, offsets::VMCTX_FUNCS));
        self.a.lea(R11, Mem::at(R11, offset));
        self.call_funcref_in_r11(type_index)
    }

    /// `call_indirect` through a 32-bit funcref table: the bounds, null and
    /// signature checks of the translator's, with the same traps. Types
    /// that are not final (a subtype may match) are left to Cranelift,
    /// which calls the subtype check.
    pub(super) fn call_indirect(
        &mut self,
        type_index: u32,
        table_index: u32,
    ) -> Result<(), Unsupported> {
        let info = self.req.info;
        let table = info
            .table_types
            .get(table_index as usize)
            .ok_or(Unsupported)?;
        if table.table64 || !info.module.type_is_final(type_index) {
            return Err(Unsupported);
        }
        self.check_call_type(type_index)?;
        self.count_call(None);
        let index = self.pop();
        let table_offset = i32::try_from(i64::from(table_index) * offsets::POINTER_SIZE)
            .map_err(|_| Unsupported)?;
        let type_offset = i32::try_from(i64::from(type_index) * 8).map_err(|_| Unsupported)?;
        self.a.load(false, RAX, index);
        self.a.load(true, RCX, self.vmctx());
        self.a.load(true, RCX, Mem::at(RCX, offsets::VMCTX_TABLES));
        self.a.load(true, RCX, Mem::at(RCX, table_offset));
        self.a
            .alu_mem(true, 0x39, RAX, Mem::at(RCX, offsets::TABLE_LENGTH));
        let out_of_bounds = self.trap_label(traps::TABLE_OUT_OF_BOUNDS);
        self.a.jcc(Cond::AboveEqual, out_of_bounds);
        self.a.load(true, RCX, Mem::at(RCX, offsets::TABLE_BASE));
        self.a.shift_imm(true, 4, RAX, 3);
        self.a.load(true, R11, Mem::indexed(RCX, RAX, 0));
        self.a.alu_rr(true, 0x85, R11, R11);
        let null = self.trap_label(traps::INDIRECT_CALL_TO_NULL);
        self.a.jcc(Cond::Equal, null);
        self.a
            .load(true, RAX, Mem::at(R11, offsets::FUNCREF_TYPE_ID));
        self.a.load(true, RCX, self.vmctx());
        self.a.load(true, RCX, Mem::at(RCX, offsets::VMCTX_SIG_IDS));
        self.a.alu_mem(true, 0x39, RAX, Mem::at(RCX, type_offset));
        let mismatch = self.trap_label(traps::BAD_SIGNATURE);
        self.a.jcc(Cond::NotEqual, mismatch);
        self.call_funcref_in_r11(type_index)
    }

    /// Whether calls of type `type_index` fit this compiler: arguments in
    /// registers, at most one numeric result.
    pub(super) fn check_call_type(&self, type_index: u32) -> Result<(), Unsupported> {
        let ty = self
            .req
            .info
            .module
            .types()
            .get(type_index as usize)
            .ok_or(Unsupported)?;
        if ty.results.len() > 1 || !ty.results.iter().all(|t| is_numeric(*t)) {
            return Err(Unsupported);
        }
        outgoing_stack(&ty.params).map(drop)
    }

    /// Calls the `VMFuncRef` at r11 with the arguments of type
    /// `type_index` from the top of the stack, and pushes its result (an
    /// integer one stays in rax).
    pub(super) fn call_funcref_in_r11(&mut self, type_index: u32) -> Result<(), Unsupported> {
        let ty = &self.req.info.module.types()[type_index as usize];
        let outgoing_stack = outgoing_stack(&ty.params)?;
        let result = ty.results.first().copied();
        let first = self.height - ty.params.len() as u32;
        // The callee pops its stack arguments.
        if outgoing_stack > 0 {
            self.outgoing = self.outgoing.max(outgoing_stack);
            self.a.alu_imm(true, 5, RSP, outgoing_stack);
        }
        let mut assigner = ArgAssigner::default();
        for (height, &param) in (first..).zip(&ty.params) {
            match assigner.next(param)? {
                // rax holds no pending value here (`keeps_rax`: spilled
                // before a call).
                ArgLoc::Gpr(reg) => self.load_operand(reg, height),
                ArgLoc::Xmm(x) => {
                    let slot = self.operand(height);
                    self.a.sse_mem(Some(0xf2), 0x10, x, slot);
                }
                ArgLoc::Stack(offset) => {
                    // rax: not an argument register.
                    self.load_operand(RAX, height);
                    self.a.store(true, Mem::at(RSP, offset), RAX);
                }
            }
        }
        self.height = first;
        self.a.load(true, RSI, self.vmctx());
        self.a.load(true, RDI, Mem::at(R11, offsets::FUNCREF_VMCTX));
        self.a.call_mem(Mem::at(R11, offsets::FUNCREF_CODE));
        match result {
            None => {}
            Some(ValType::F32 | ValType::F64) => {
                let dst = self.push();
                self.a.sse_mem(Some(0xf2), 0x11, 0, dst);
            }
            Some(result) => {
                // An i32 result's upper half is not promised to be zero
                // (Cranelift's code leaves what it has there); a value in
                // rax must have it so.
                if result == ValType::I32 {
                    self.a.mov_rr(false, RAX, RAX);
                }
                self.push();
                self.result_in_rax();
            }
        }
        Ok(())
    }
}
