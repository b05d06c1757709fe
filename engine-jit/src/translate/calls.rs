//! `call`, `call_indirect`, `call_ref` and their tail-call forms.
//!
//! Every Wasm function takes `(callee_vmctx, caller_vmctx, params…)`.
//! Functions of this module are called directly (a `colocated`, PC-relative
//! call patched when the module's code is laid out), or, when the module is
//! compiled lazily, through their `VMFuncRef` (`tiering.rs`); imported ones through
//! their `VMFuncRef` in the VM context; `call_indirect` through a table
//! element after checking bounds, null and the signature (equal canonical
//! ids, or a declared subtype); `call_ref` through the reference after a
//! null check only (its static type already guarantees the signature).

use cranelift_codegen::ir::{InstBuilder, Value, condcodes::IntCC, types};
use wasmparser::Operator;

use super::TranslateError;
use super::Translator;
use super::exceptions::Callee;
use crate::traps;
use crate::vmcontext::Builtin;

impl Translator<'_, '_> {
    pub(super) fn calls(&mut self, op: &Operator<'_>) -> Result<bool, TranslateError> {
        match *op {
            Operator::Call { .. } | Operator::CallIndirect { .. } | Operator::CallRef { .. } => {
                self.calls.wasm = true
            }
            Operator::ReturnCall { .. }
            | Operator::ReturnCallIndirect { .. }
            | Operator::ReturnCallRef { .. } => self.calls.tail = true,
            _ => return Ok(false),
        }
        match *op {
            Operator::Call { function_index } => self.call(function_index),
            Operator::CallIndirect {
                type_index,
                table_index,
            } => self.call_indirect(type_index, table_index),
            Operator::ReturnCall { function_index } => self.return_call(function_index),
            Operator::ReturnCallIndirect {
                type_index,
                table_index,
            } => self.return_call_indirect(type_index, table_index),
            Operator::CallRef { type_index } => {
                let (sig, code, all) = self.ref_callee(type_index);
                let results = self.emit_call(Callee::Indirect(sig, code), &all);
                self.push_call_results(type_index, results);
            }
            Operator::ReturnCallRef { type_index } => {
                let (sig, code, all) = self.ref_callee(type_index);
                self.b.ins().return_call_indirect(sig, code, &all);
                self.reachable = false;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn call(&mut self, function_index: u32) {
        let module = self.env.module();
        let type_index = module
            .func_type_index(function_index)
            .expect("validated function index");
        let arity = module.types()[type_index as usize].params.len();
        let args = self.popn(arity);
        let vmctx = self.env.vmctx;
        let defined = function_index >= module.num_imported_funcs();
        let results = if defined && self.direct_call(function_index) {
            let callee = self.env.direct_callee(&mut self.b, function_index);
            let mut all = vec![vmctx, vmctx];
            all.extend(args);
            self.emit_call(Callee::Direct(callee), &all)
        } else if defined {
            let (sig, code) = self.lazy_callee(function_index, type_index);
            let mut all = vec![vmctx, vmctx];
            all.extend(args);
            self.emit_call(Callee::Indirect(sig, code), &all)
        } else {
            let funcref = self.env.funcref(&mut self.b, function_index);
            let (code, callee_vmctx, _) = self.env.funcref_fields(&mut self.b, funcref, true);
            let sig = self.env.signature(&mut self.b, type_index);
            let mut all = vec![callee_vmctx, vmctx];
            all.extend(args);
            self.emit_call(Callee::Indirect(sig, code), &all)
        };
        self.push_call_results(type_index, results);
    }

    /// `return_call`: a Cranelift tail call (both sides use the `tail`
    /// convention), so the caller's frame is gone before the callee runs.
    fn return_call(&mut self, function_index: u32) {
        let module = self.env.module();
        let type_index = module
            .func_type_index(function_index)
            .expect("validated function index");
        let arity = module.types()[type_index as usize].params.len();
        let args = self.popn(arity);
        let vmctx = self.env.vmctx;
        let defined = function_index >= module.num_imported_funcs();
        if defined && self.direct_call(function_index) {
            let callee = self.env.direct_callee(&mut self.b, function_index);
            let mut all = vec![vmctx, vmctx];
            all.extend(args);
            self.b.ins().return_call(callee, &all);
        } else if defined {
            let (sig, code) = self.lazy_callee(function_index, type_index);
            let mut all = vec![vmctx, vmctx];
            all.extend(args);
            self.b.ins().return_call_indirect(sig, code, &all);
        } else {
            let funcref = self.env.funcref(&mut self.b, function_index);
            let (code, callee_vmctx, _) = self.env.funcref_fields(&mut self.b, funcref, true);
            let sig = self.env.signature(&mut self.b, type_index);
            let mut all = vec![callee_vmctx, vmctx];
            all.extend(args);
            self.b.ins().return_call_indirect(sig, code, &all);
        }
        self.reachable = false;
    }

    /// Whether a call to defined function `function_index` is a direct,
    /// PC-relative call: always in eagerly compiled modules. In lazy ones,
    /// baseline code calls through `VMFuncRef`s (itself too, so deep
    /// recursion moves to optimized code); optimized code calls directly
    /// when the module's code is within reach (`lazy/call_table.rs` says
    /// where such calls go), and itself always; an on-stack-replacement
    /// entry calls its function through its `VMFuncRef` (a reference to
    /// "itself" is to the entry).
    fn direct_call(&self, function_index: u32) -> bool {
        if !self.env.lazy_calls() {
            return true;
        }
        let own = function_index == self.env.func_index();
        let direct = self.env.lazy_direct_calls();
        match self.env.tier {
            super::CodeTier::Baseline { .. } => false,
            super::CodeTier::Optimized => own || direct,
            super::CodeTier::OsrEntry { .. } => !own && direct,
        }
    }

    fn return_call_indirect(&mut self, type_index: u32, table_index: u32) {
        let (sig, code, all) = self.indirect_callee(type_index, table_index);
        self.b.ins().return_call_indirect(sig, code, &all);
        self.reachable = false;
    }

    /// Pops the table index and arguments of an indirect call, checks the
    /// element, and returns `(signature, code, arguments)`.
    fn indirect_callee(
        &mut self,
        type_index: u32,
        table_index: u32,
    ) -> (cranelift_codegen::ir::SigRef, Value, Vec<Value>) {
        let index = self.pop();
        let funcref = self.table_element_funcref(table_index, index);
        let (code, callee_vmctx, type_id) = self.env.funcref_fields(&mut self.b, funcref, false);
        let expected = self.env.signature_id(&mut self.b, type_index);
        let mismatch = self.b.ins().icmp(IntCC::NotEqual, type_id, expected);
        if self.env.module().type_is_final(type_index) {
            // Nothing declares a final type as supertype: only the very
            // same canonical type fits.
            self.b.ins().trapnz(mismatch, traps::BAD_SIGNATURE);
        } else {
            // Equal ids are the fast path; a different id may still be a
            // declared subtype, which the builtin checks (or traps).
            let slow = self.b.create_block();
            let checked = self.b.create_block();
            self.b.ins().brif(mismatch, slow, &[], checked, &[]);
            self.b.switch_to_block(slow);
            self.b.seal_block(slow);
            self.b.set_cold_block(slow);
            self.env
                .call_builtin(&mut self.b, Builtin::TypeCheck, &[type_id, expected]);
            self.b.ins().jump(checked, &[]);
            self.b.switch_to_block(checked);
            self.b.seal_block(checked);
        }
        let arity = self.env.module().types()[type_index as usize].params.len();
        let args = self.popn(arity);
        let sig = self.env.signature(&mut self.b, type_index);
        let mut all = vec![callee_vmctx, self.env.vmctx];
        all.extend(args);
        (sig, code, all)
    }

    /// Pops the function reference and arguments of `call_ref`, traps on
    /// null, and returns `(signature, code, arguments)`.
    fn ref_callee(
        &mut self,
        type_index: u32,
    ) -> (cranelift_codegen::ir::SigRef, Value, Vec<Value>) {
        let funcref = self.pop();
        self.b.ins().trapz(funcref, traps::NULL_FUNCTION_REFERENCE);
        let (code, callee_vmctx, _) = self.env.funcref_fields(&mut self.b, funcref, false);
        let arity = self.env.module().types()[type_index as usize].params.len();
        let args = self.popn(arity);
        let sig = self.env.signature(&mut self.b, type_index);
        let mut all = vec![callee_vmctx, self.env.vmctx];
        all.extend(args);
        (sig, code, all)
    }

    fn call_indirect(&mut self, type_index: u32, table_index: u32) {
        let (sig, code, all) = self.indirect_callee(type_index, table_index);
        let results = self.emit_call(Callee::Indirect(sig, code), &all);
        self.push_call_results(type_index, results);
    }

    /// The non-null `VMFuncRef` pointer at `index` of a funcref table,
    /// trapping on out-of-bounds and null.
    fn table_element_funcref(&mut self, table_index: u32, index: Value) -> Value {
        let address = self.table_element_address(table_index, index, traps::TABLE_OUT_OF_BOUNDS);
        let element = self.b.ins().load(
            types::I64,
            cranelift_codegen::ir::MemFlagsData::trusted(),
            address,
            0,
        );
        self.b.ins().trapz(element, traps::INDIRECT_CALL_TO_NULL);
        element
    }
}
