//! Inlining a small recursive function into itself, one level deep.
//!
//! Every call a function makes to itself directly gets a copy of the
//! function's body in its place, and the calls inside that copy stay
//! calls: each activation then does the work of two levels of the
//! recursion, and half the calls (prologue, epilogue, stack check, argument
//! moves) are gone. Clang leaves doubly-recursive functions (`fib`,
//! Ackermann, tree walks) as calls, and the call is then most of their
//! cost. The copy is translated without a stack check of its own: it adds
//! no frame, it grows the frame of a function that checks. See
//! `RATIONALE.md`, "Recursive inlining".

use std::borrow::Cow;

use cranelift_codegen::inline::{Inline, InlineCommand};
use cranelift_codegen::ir::{self, DebugTag, ExternalName, Function, UserExternalName};
use wasmparser::Operator;

use super::TranslateError;
use super::dispatch::family_of;
use crate::module_info::ModuleInfo;
use crate::traps;

/// The debug tag on each call of an inlined body: its return address is
/// where the frame holds one more activation (`compile.rs` records it).
pub(crate) const INLINED_CALL: DebugTag = DebugTag::User(1);

/// Which recursive functions are inlined into themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecursionInlining {
    /// Only bodies of at most this many bytes of Wasm.
    pub max_body_bytes: usize,
    /// Only bodies with at most this many calls of themselves (each gets
    /// a copy of the body).
    pub max_self_calls: usize,
}

impl RecursionInlining {
    /// Small bodies only: the copies cost compile time in proportion.
    pub const OPTIMIZED: Self = Self {
        max_body_bytes: 256,
        max_self_calls: 4,
    };

    /// Whether defined function `func_index` of `info`'s module is inlined
    /// into itself: it calls itself directly, within the limits, and its
    /// body is straight computation and calls (no tail call, whose stack
    /// check differs; no exception or GC operator).
    pub(crate) fn applies(
        self,
        info: &ModuleInfo,
        func_index: u32,
    ) -> Result<bool, TranslateError> {
        if self.max_self_calls == 0 {
            return Ok(false);
        }
        let module = &*info.module;
        let Some(body) = func_index
            .checked_sub(module.num_imported_funcs())
            .and_then(|defined| module.func_body_reader(defined))
        else {
            return Ok(false);
        };
        if body.range().len() > self.max_body_bytes {
            return Ok(false);
        }
        let mut reader = body.get_operators_reader()?;
        let mut self_calls = 0usize;
        while !reader.eof() {
            let op = reader.read()?;
            match op {
                Operator::Call { function_index } => {
                    self_calls += usize::from(function_index == func_index);
                }
                Operator::CallIndirect { .. } | Operator::CallRef { .. } => {}
                // Cranelift's division and conversion trap with codes of
                // their own, which an inlined body cannot mark.
                Operator::I32DivS
                | Operator::I32DivU
                | Operator::I32RemS
                | Operator::I32RemU
                | Operator::I64DivS
                | Operator::I64DivU
                | Operator::I64RemS
                | Operator::I64RemU
                | Operator::I32TruncF32S
                | Operator::I32TruncF32U
                | Operator::I32TruncF64S
                | Operator::I32TruncF64U
                | Operator::I64TruncF32S
                | Operator::I64TruncF32U
                | Operator::I64TruncF64S
                | Operator::I64TruncF64U => return Ok(false),
                _ => {
                    let computation = family_of(&op).is_computation();
                    if !computation {
                        return Ok(false);
                    }
                }
            }
        }
        Ok(self_calls > 0 && self_calls <= self.max_self_calls)
    }
}

/// Directs Cranelift's inliner to put `body` (the function translated
/// without its stack check) in place of each direct call to `func_index`
/// in the function being compiled, which is that function.
#[derive(Clone, Copy)]
pub(crate) struct SelfCalls<'a> {
    pub func_index: u32,
    pub body: &'a Function,
}

impl Inline for SelfCalls<'_> {
    fn inline(
        &mut self,
        caller: &ir::Function,
        _call_inst: ir::Inst,
        call_opcode: ir::Opcode,
        callee: ir::FuncRef,
        _call_args: &[ir::Value],
    ) -> InlineCommand<'_> {
        let ExternalName::User(name) = caller.dfg.ext_funcs[callee].name else {
            return InlineCommand::KeepCall;
        };
        let UserExternalName { namespace, index } = caller.params.user_named_funcs()[name];
        if call_opcode == ir::Opcode::Call && namespace == 0 && index == self.func_index {
            InlineCommand::Inline {
                callee: Cow::Borrowed(self.body),
                visit_callee: false,
            }
        } else {
            InlineCommand::KeepCall
        }
    }
}

/// Marks `body` (the copy to inline) so that its sites can be told apart
/// once compiled into its caller: each trap code becomes its
/// [`traps::inlined`] form and each call gets [`INLINED_CALL`]. A trap or
/// a return address there is one activation deeper than the frame's
/// function, which is what a backtrace shows (`inlined_sites.rs`).
pub(crate) fn mark_inlined_body(body: &mut Function) -> Result<(), TranslateError> {
    let insts: Vec<ir::Inst> = body
        .layout
        .blocks()
        .flat_map(|block| body.layout.block_insts(block))
        .collect();
    for inst in insts {
        let data = &mut body.dfg.insts[inst];
        if let Some(code) = data.trap_code_mut() {
            *code = traps::inlined(*code);
        }
        if let Some(flags) = data.memflags() {
            let flags_data = body.dfg.mem_flags[flags];
            if let Some(code) = flags_data.trap_code() {
                let marked = body
                    .dfg
                    .mem_flags
                    .insert(flags_data.with_trap_code(Some(traps::inlined(code))))
                    .map_err(|_| TranslateError::TooManyMemFlags)?;
                *body.dfg.insts[inst]
                    .memflags_mut()
                    .expect("a memory access") = marked;
            }
        }
        if body.dfg.insts[inst].opcode().is_call() {
            body.debug_tags.set(inst, [INLINED_CALL]);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use wasmtier_core::{EngineConfig, Features, ValidatedModule};

    use super::RecursionInlining;
    use crate::module_info::ModuleInfo;

    fn applies(text: &str, func_index: u32, setting: RecursionInlining) -> bool {
        let bytes = wat::parse_str(text).unwrap();
        let module = Arc::new(ValidatedModule::new(&bytes, Features::finished()).unwrap());
        let info = ModuleInfo::new(module, &EngineConfig::default()).unwrap();
        setting.applies(&info, func_index).unwrap()
    }

    #[test]
    fn only_small_self_calling_computation_is_inlined() {
        let nops = "(nop)".repeat(300);
        let text = format!(
            r#"(module
            (tag $e)
            (func $other (param i32) (result i32) (local.get 0))
            ;; 1: calls itself twice.
            (func $fib (param i32) (result i32)
              (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
                (then (local.get 0))
                (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                               (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
            ;; 2: calls only another function.
            (func (param i32) (result i32) (call $other (local.get 0)))
            ;; 3: divides (Cranelift's own trap code).
            (func $div (param i32) (result i32)
              (i32.div_u (call $div (local.get 0)) (local.get 0)))
            ;; 4: a tail call of itself.
            (func $tail (param i32) (result i32) (return_call $tail (local.get 0)))
            ;; 5: five calls of itself.
            (func $five (param i32) (result i32)
              (call $five (call $five (call $five (call $five (call $five (local.get 0)))))))
            ;; 6: an exception handler.
            (func $try (param i32) (result i32)
              (block $caught
                (try_table (catch_all $caught) (return (call $try (local.get 0)))))
              (i32.const 0))
            ;; 7: too long.
            (func $long (param i32) (result i32) {nops} (call $long (local.get 0))))"#
        );
        let on = RecursionInlining::OPTIMIZED;
        let decisions: Vec<bool> = (1..=7).map(|f| applies(&text, f, on)).collect();
        assert_eq!(decisions, [true, false, false, false, false, false, false]);
        let off = RecursionInlining {
            max_self_calls: 0,
            ..on
        };
        assert!(!applies(&text, 1, off));
        let roomier = RecursionInlining {
            max_body_bytes: 1024,
            max_self_calls: 5,
        };
        assert!(applies(&text, 5, roomier) && applies(&text, 7, roomier));
    }
}
