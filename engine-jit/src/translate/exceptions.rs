//! `try_table`, `throw` and `throw_ref`, and calls that may land in a
//! handler.
//!
//! Inside a `try_table`, every call is a Cranelift `try_call` whose
//! exception table lists the enclosing handlers, innermost first, after
//! the function's `vmctx` as the dynamic context the runtime resolves tag
//! indices through. Each catch clause gets a landing block that receives
//! the exception's address, reads the payload the clause asks for, and
//! branches to the clause's label. `throw` allocates the exception (a
//! builtin), writes its payload, and calls the runtime's throw stub, with a
//! `try_call` too when handlers are in scope, so a throw caught in its own
//! function lands the same way. Outside any `try_table`, calls are plain
//! calls: code that catches nothing pays nothing.

use cranelift_codegen::ir::{
    Block, BlockArg, BlockCall, ExceptionTableData, ExceptionTableItem, ExceptionTag, FuncRef,
    InstBuilder, MemFlagsData, SigRef, Value, types,
};
use wasmparser::{Catch, Operator, TryTable};

use super::control::{Frame, FrameKind};
use super::{TranslateError, Translator, ir_type};
use crate::exceptions::layout;
use crate::traps;
use crate::vmcontext::Builtin;

/// The catch clauses of one open `try_table`.
pub(crate) struct HandlerScope {
    clauses: Vec<Clause>,
}

struct Clause {
    catch: Catch,
    /// Receives the exception's address (the first payload register).
    landing: Block,
    /// Whether some call site lists it (its block is only built then).
    used: bool,
}

/// What a call calls.
pub(super) enum Callee {
    Direct(FuncRef),
    Indirect(SigRef, Value),
}

impl Translator<'_, '_> {
    pub(super) fn exceptions(&mut self, op: &Operator<'_>) -> Result<bool, TranslateError> {
        match op {
            Operator::TryTable { try_table } => self.try_table(try_table),
            Operator::Throw { tag_index } => self.throw(*tag_index),
            Operator::ThrowRef => {
                let exception = self.pop();
                self.throw_exception(exception);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn try_table(&mut self, try_table: &TryTable) {
        let (params, results) = self.block_type(try_table.ty);
        let next = self.block_with_params(&results);
        let height = self.stack.len() - params.len();
        let clauses = try_table
            .catches
            .iter()
            .map(|&catch| {
                let landing = self.b.create_block();
                self.b.append_block_param(landing, types::I64);
                Clause {
                    catch,
                    landing,
                    used: false,
                }
            })
            .collect();
        self.handler_scopes.push(HandlerScope { clauses });
        self.frames.push(Frame {
            kind: FrameKind::TryTable,
            header: None,
            next,
            params,
            results,
            height,
            exit_branched: false,
        });
    }

    /// Builds the landing blocks of the `try_table` that just ended; called
    /// by `end` with the current block filled and the `try_table`'s frame
    /// popped, so clause labels count from the enclosing frames.
    pub(super) fn end_try_table(&mut self) {
        let scope = self
            .handler_scopes
            .pop()
            .expect("validated: a try_table has its handler scope");
        for clause in scope.clauses.into_iter().filter(|c| c.used) {
            self.b.switch_to_block(clause.landing);
            self.b.seal_block(clause.landing);
            let exception = self.b.block_params(clause.landing)[0];
            let (label, values) = match clause.catch {
                Catch::One { tag, label } => {
                    let values = self.payload(tag, exception);
                    self.env
                        .call_builtin(&mut self.b, Builtin::ExnRelease, &[exception]);
                    (label, values)
                }
                Catch::OneRef { tag, label } => {
                    let mut values = self.payload(tag, exception);
                    self.expose(exception);
                    values.push(exception);
                    (label, values)
                }
                Catch::All { label } => {
                    self.env
                        .call_builtin(&mut self.b, Builtin::ExnRelease, &[exception]);
                    (label, Vec::new())
                }
                Catch::AllRef { label } => {
                    self.expose(exception);
                    (label, vec![exception])
                }
            };
            let (target, _) = self.target(label);
            self.jump(target, &values);
        }
    }

    /// The payload of an exception of tag `tag`, read from the object.
    fn payload(&mut self, tag: u32, exception: Value) -> Vec<Value> {
        let params = self.env.module().tag_type(tag).params.clone();
        params
            .iter()
            .enumerate()
            .map(|(i, ty)| {
                let value = self.b.ins().load(
                    ir_type(*ty),
                    MemFlagsData::trusted(),
                    exception,
                    layout::value(i),
                );
                self.traced(value, *ty)
            })
            .collect()
    }

    /// Marks an exception as held by Wasm as an `exnref`, so catching it
    /// again without `_ref` does not free it.
    fn expose(&mut self, exception: Value) {
        let one = self.b.ins().iconst(types::I64, 1);
        self.b
            .ins()
            .store(MemFlagsData::trusted(), one, exception, layout::EXPOSED);
    }

    fn throw(&mut self, tag_index: u32) {
        let arity = self.env.module().tag_type(tag_index).params.len();
        let values = self.popn(arity);
        let tag = self.b.ins().iconst(types::I32, i64::from(tag_index));
        let exception = self
            .env
            .call_builtin(&mut self.b, Builtin::ExnNew, &[tag])
            .expect("exn_new returns the exception");
        for (i, value) in values.into_iter().enumerate() {
            self.b
                .ins()
                .store(MemFlagsData::trusted(), value, exception, layout::value(i));
        }
        self.throw_exception(exception);
    }

    /// Hands `exception` (0 for a null `exnref`, which traps) to the
    /// runtime, which never returns here.
    fn throw_exception(&mut self, exception: Value) {
        let (sig, stub) = self.env.throw_stub(&mut self.b);
        let vmctx = self.env.vmctx;
        self.emit_call(Callee::Indirect(sig, stub), &[vmctx, exception]);
        self.b.ins().trap(traps::UNREACHABLE);
        self.reachable = false;
    }

    /// Calls `callee`, through `try_call` when handlers are in scope, and
    /// returns its results.
    pub(super) fn emit_call(&mut self, callee: Callee, args: &[Value]) -> Vec<Value> {
        if self.handler_scopes.is_empty() {
            let call = match callee {
                Callee::Direct(func) => self.b.ins().call(func, args),
                Callee::Indirect(sig, code) => self.b.ins().call_indirect(sig, code, args),
            };
            return self.b.inst_results(call).to_vec();
        }
        let sig = match callee {
            Callee::Direct(func) => self.b.func.dfg.ext_funcs[func].signature,
            Callee::Indirect(sig, _) => sig,
        };
        let returns: Vec<_> = self.b.func.dfg.signatures[sig]
            .returns
            .iter()
            .map(|r| r.value_type)
            .collect();
        let normal = self.b.create_block();
        for ty in &returns {
            self.b.append_block_param(normal, *ty);
        }
        let results: Vec<BlockArg> = (0..returns.len() as u32)
            .map(BlockArg::TryCallRet)
            .collect();
        let normal_call = self.b.func.dfg.block_call(normal, &results);
        let table = self.exception_table(sig, normal_call);
        match callee {
            Callee::Direct(func) => self.b.ins().try_call(func, args, table),
            Callee::Indirect(_, code) => self.b.ins().try_call_indirect(code, args, table),
        };
        self.b.switch_to_block(normal);
        self.b.seal_block(normal);
        self.b.block_params(normal).to_vec()
    }

    /// The exception table of a call site: the `vmctx` tags are resolved
    /// through, then every enclosing clause, innermost `try_table` first.
    fn exception_table(
        &mut self,
        sig: SigRef,
        normal_call: BlockCall,
    ) -> cranelift_codegen::ir::ExceptionTable {
        let exception = [BlockArg::TryCallExn(0)];
        let mut items = vec![ExceptionTableItem::Context(self.env.vmctx)];
        for scope in self.handler_scopes.iter_mut().rev() {
            for clause in &mut scope.clauses {
                clause.used = true;
                let call = self.b.func.dfg.block_call(clause.landing, &exception);
                items.push(match clause.catch {
                    Catch::One { tag, .. } | Catch::OneRef { tag, .. } => {
                        ExceptionTableItem::Tag(ExceptionTag::from_u32(tag), call)
                    }
                    Catch::All { .. } | Catch::AllRef { .. } => ExceptionTableItem::Default(call),
                });
            }
        }
        self.b
            .func
            .dfg
            .exception_tables
            .push(ExceptionTableData::new(sig, normal_call, items))
    }
}
