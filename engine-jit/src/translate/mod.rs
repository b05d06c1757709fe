//! Wasm function bodies to Cranelift IR, in one pass over the operators.
//!
//! The walk and the value/control stacks live here; each family of
//! operators is translated in its own file. Only [`func_env::FuncEnv`] knows
//! where things are in the VM context.

mod atomics;
mod bounds_checks;
mod calls;
mod control;
mod conversions;
mod dispatch;
mod exceptions;
mod fuel;
pub(crate) mod func_env;
mod gc;
mod locals_globals;
mod memory;
mod numeric;
mod recursion;
mod simd;
mod simd_arith;
mod stack_check;
mod tables_refs;
mod tiering;
mod unroll;

use cranelift_codegen::ir::{
    self, AbiParam, ArgumentPurpose, Block, BlockArg, Function, InstBuilder, Signature, Type,
    UserFuncName, Value, types,
};
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use wasmparser::{BinaryReader, FunctionBody, Operator};
use wasmtier_core::{FuncType, ValType};

use control::Frame;
use dispatch::Family;
pub use dispatch::Proposal;
use func_env::FuncEnv;
pub(crate) use func_env::INLINED_EXIT_PC;
pub use recursion::RecursionInlining;
pub(crate) use recursion::{INLINED_CALL, SelfCalls, mark_inlined_body};
pub use stack_check::{MAX_FRAME_BELOW_LIMIT, StackCheck};
pub use tiering::{MAX_OSR_LOCALS, count_loops, loops_around};
pub use unroll::LoopUnrolling;

use crate::gc::layout::is_traced_type;
use crate::module_info::ModuleInfo;

/// The calling convention of every Wasm function (and host adapter).
pub const WASM_CALL_CONV: CallConv = CallConv::Tail;

/// Cranelift's type for a Wasm value type. References are pointer-sized.
pub fn ir_type(ty: ValType) -> Type {
    match ty {
        ValType::I32 => types::I32,
        ValType::I64 | ValType::Ref(_) => types::I64,
        ValType::F32 => types::F32,
        ValType::F64 => types::F64,
        ValType::V128 => types::I8X16,
    }
}

/// `(callee_vmctx, caller_vmctx, params…) -> results`.
pub fn wasm_signature(ty: &FuncType) -> Signature {
    let mut sig = Signature::new(WASM_CALL_CONV);
    sig.params
        .push(AbiParam::special(types::I64, ArgumentPurpose::VMContext));
    sig.params.push(AbiParam::new(types::I64));
    sig.params
        .extend(ty.params.iter().map(|t| AbiParam::new(ir_type(*t))));
    sig.returns
        .extend(ty.results.iter().map(|t| AbiParam::new(ir_type(*t))));
    sig
}

/// `(callee_vmctx, caller_vmctx, locals…) -> results`: the entry of a
/// function's optimized code at a loop header (`CodeTier::OsrEntry`),
/// taking the values of every local (parameters first) from the baseline
/// activation it replaces.
pub fn osr_signature(ty: &FuncType, locals: &[ValType]) -> Signature {
    let mut sig = Signature::new(WASM_CALL_CONV);
    sig.params
        .push(AbiParam::special(types::I64, ArgumentPurpose::VMContext));
    sig.params.push(AbiParam::new(types::I64));
    sig.params
        .extend(locals.iter().map(|t| AbiParam::new(ir_type(*t))));
    sig.returns
        .extend(ty.results.iter().map(|t| AbiParam::new(ir_type(*t))));
    sig
}

/// Why a function body could not be translated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    #[error("not a defined function")]
    NotDefined,
    #[error("function body outside the module")]
    BodyOutsideModule,
    #[error("unsupported local type")]
    UnsupportedLocalType,
    /// The body does not decode (validation normally rules this out).
    #[error("{0}")]
    Decode(String),
    /// An operator of a proposal this translator does not implement.
    #[error("unsupported operator {operator} ({} proposal)", proposal.name())]
    UnsupportedProposal {
        proposal: Proposal,
        operator: String,
    },
    /// The dispatch table named a family whose translation does not
    /// handle the operator: a bug in `dispatch.rs` or that family.
    #[error("unsupported operator {0}")]
    Unhandled(String),
    /// An on-stack-replacement entry was asked for a loop that the body
    /// does not have, or that cannot take one.
    #[error("no on-stack-replacement entry at loop {0}")]
    NoOsrEntry(u32),
    /// More distinct memory-access flags than Cranelift can number.
    #[error("too many distinct memory-access flags")]
    TooManyMemFlags,
}

impl From<wasmparser::BinaryReaderError> for TranslateError {
    fn from(error: wasmparser::BinaryReaderError) -> Self {
        Self::Decode(error.to_string())
    }
}

/// Which code a function is translated to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeTier {
    /// Final code: eager, or a lazily compiled module's optimized code
    /// (whose calls to itself are then direct).
    Optimized,
    /// The tiered JIT's baseline code, counting down the tier-up counter
    /// at this address (at entry and loop headers), if it tiers up.
    Baseline { tier_up_counter: Option<usize> },
    /// Optimized code entered at the header of the function's
    /// `loop_index`th loop (counting every `loop` of the body in order) by
    /// an activation that has been looping there (on-stack replacement);
    /// its signature is [`osr_signature`]. Otherwise the same as
    /// `Optimized`, except that it calls itself through its `VMFuncRef`
    /// like any lazy code, and that at the headers of the loops enclosing
    /// that loop it moves on to their own entries once their slots in the
    /// table at `entry_slots` (one code address per loop, 0 until
    /// compiled) are filled (see `tiering.rs`).
    OsrEntry { loop_index: u32, entry_slots: usize },
}

/// Translates defined function `func_index` into a Cranelift function.
pub fn translate_function(
    module_info: &ModuleInfo,
    func_index: u32,
    builder_context: &mut FunctionBuilderContext,
    frontend: TargetFrontendConfig,
    tier: CodeTier,
    stack_check: StackCheck,
) -> Result<Function, TranslateError> {
    let module = &*module_info.module;
    let ty = module.func_type(func_index);
    let range = module
        .body_of(func_index)
        .ok_or(TranslateError::NotDefined)?;
    let code = module
        .bytes()
        .get(range.clone())
        .ok_or(TranslateError::BodyOutsideModule)?;
    let body = FunctionBody::new(BinaryReader::new(code, range.start));

    // Every local's type, parameters first.
    let mut local_types = ty.params.clone();
    for local in body.get_locals_reader()? {
        let (count, ty) = local?;
        let ty = module
            .val_type(ty)
            .ok_or(TranslateError::UnsupportedLocalType)?;
        local_types.extend(std::iter::repeat_n(ty, count as usize));
    }
    let signature = match tier {
        CodeTier::OsrEntry { .. } => osr_signature(ty, &local_types),
        _ => wasm_signature(ty),
    };
    let mut func = Function::with_name_signature(UserFuncName::user(0, func_index), signature);
    stack_check::declare(&mut func, stack_check);

    let mut b = FunctionBuilder::new(&mut func, builder_context);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let vmctx = b.block_params(entry)[0];
    let caller_vmctx = b.block_params(entry)[1];
    let params: Vec<Value> = b.block_params(entry)[2..].to_vec();

    let mut t = Translator {
        env: FuncEnv::new(module_info, func_index, vmctx, tier),
        b,
        caller_vmctx,
        stack: Vec::new(),
        frames: Vec::new(),
        locals: Vec::new(),
        reachable: true,
        dead_depth: 0,
        pending_fuel: 0,
        handler_scopes: Vec::new(),
        loops_seen: 0,
        osr_entry: None,
        calls: Default::default(),
    };
    t.env.inlined_body = stack_check == StackCheck::InCaller;
    let pending_check = (stack_check == StackCheck::AfterPrologue).then(|| t.check_stack());
    for ty in &local_types {
        let var = t.b.declare_var(ir_type(*ty));
        if is_traced_type(*ty) {
            t.b.declare_var_needs_stack_map(var);
        }
        t.locals.push((var, *ty));
    }
    if let CodeTier::OsrEntry { loop_index, .. } = tier {
        // The entry takes every local and jumps to the loop's header,
        // created now and used when the walk reaches that loop. The walk
        // still translates the function from its start, so that every
        // block around the loop exists; that start is reachable from
        // nowhere and Cranelift drops it.
        for (&(var, _), value) in t.locals.iter().zip(params) {
            t.b.def_var(var, value);
        }
        let header = t.b.create_block();
        t.b.ins().jump(header, &[]);
        t.osr_entry = Some(OsrEntry {
            loop_index,
            header,
            found: false,
            enclosing: tiering::loops_enclosing(body.get_operators_reader()?, loop_index)?,
        });
        let start = t.b.create_block();
        t.b.switch_to_block(start);
        t.b.seal_block(start);
        for i in 0..t.locals.len() {
            let (var, ty) = t.locals[i];
            let zero = t.zero(ty);
            t.b.def_var(var, zero);
        }
    } else {
        // Declared locals start as zero (null for references; validation
        // proves non-nullable ones are set before they are read).
        for i in 0..t.locals.len() {
            let (var, ty) = t.locals[i];
            let value = match params.get(i) {
                Some(&param) => param,
                None => t.zero(ty),
            };
            t.b.def_var(var, value);
        }
    }
    t.begin_function(&ty.results);
    t.check_interrupt();
    t.count_for_tier_up();

    let mut reader = body.get_operators_reader()?;
    // Loops are unrolled in optimized code only: baseline code is
    // compiled for speed of compiling, and an on-stack-replacement entry
    // must find the loop it was asked for. Fuel is charged operator by
    // operator in `operator()`, which an unrolled loop's walk bypasses at
    // the loop's boundaries.
    let unrolling = if tier == CodeTier::Optimized && !module_info.fuel {
        module_info.loop_unrolling.for_body(range.len())
    } else {
        LoopUnrolling::NONE
    };
    while !reader.eof() {
        let op = reader.read()?;
        if let Operator::Loop { blockty } = op
            && t.reachable
            && let Some(copies) = unrolling.copies(&reader)?
        {
            t.unrolled_loop(blockty, &mut reader, copies)?;
            continue;
        }
        t.operator(&op)?;
    }
    if let Some(osr) = &t.osr_entry
        && !osr.found
    {
        return Err(TranslateError::NoOsrEntry(osr.loop_index));
    }
    if let Some(check) = pending_check {
        t.settle_stack_check(check);
    }
    t.b.finalize(frontend);
    Ok(func)
}

/// The state of one function's translation.
pub(crate) struct Translator<'a, 'f> {
    pub b: FunctionBuilder<'f>,
    pub env: FuncEnv<'a>,
    /// The Wasm operand stack.
    pub stack: Vec<Value>,
    pub frames: Vec<Frame>,
    pub locals: Vec<(Variable, ValType)>,
    /// Whether the current position can execute.
    pub reachable: bool,
    /// Blocks opened inside unreachable code, not yet closed.
    pub dead_depth: u32,
    /// Fuel used by operators translated since the last charge.
    pub pending_fuel: i64,
    /// The catch clauses of the open `try_table`s, outermost first.
    pub handler_scopes: Vec<exceptions::HandlerScope>,
    /// The function's second parameter (the caller's VM context).
    pub caller_vmctx: Value,
    /// `loop`s translated so far: a loop's index for on-stack replacement.
    pub loops_seen: u32,
    /// In an `OsrEntry` translation: the loop the code is entered at.
    pub osr_entry: Option<OsrEntry>,
    /// What calls the body made, for its stack check.
    calls: stack_check::CallsMade,
}

/// The loop an on-stack-replacement entry jumps to.
pub(crate) struct OsrEntry {
    pub loop_index: u32,
    /// Its header, created before the walk reaches the loop.
    pub header: Block,
    /// Whether the walk reached it.
    pub found: bool,
    /// The loops around it, outermost first.
    pub enclosing: Vec<u32>,
}

impl Translator<'_, '_> {
    fn operator(&mut self, op: &Operator<'_>) -> Result<(), TranslateError> {
        if !self.reachable {
            return self.skip_unreachable(op);
        }
        self.consume_fuel(op);
        let handled = match dispatch::family_of(op) {
            Family::Control => self.control(op)?,
            Family::LocalsGlobals => self.locals_globals(op)?,
            Family::Memory => self.memory(op)?,
            Family::Numeric => self.numeric(op)?,
            Family::Conversions => self.conversions(op)?,
            Family::Calls => self.calls(op)?,
            Family::TablesRefs => self.tables_refs(op)?,
            Family::Simd => self.simd(op)?,
            Family::Exceptions => self.exceptions(op)?,
            Family::Atomics => self.atomics(op)?,
            Family::Gc if self.env.module().features().gc => self.gc(op)?,
            Family::Gc => {
                return Err(TranslateError::UnsupportedProposal {
                    proposal: Proposal::Gc,
                    operator: format!("{op:?}"),
                });
            }
            Family::Unsupported(proposal) => {
                return Err(TranslateError::UnsupportedProposal {
                    proposal,
                    operator: format!("{op:?}"),
                });
            }
        };
        if handled {
            Ok(())
        } else {
            Err(TranslateError::Unhandled(format!("{op:?}")))
        }
    }

    pub fn push(&mut self, value: Value) {
        self.stack.push(value);
    }

    /// `value`, declared to Cranelift as a GC root if values of `ty` may be
    /// objects: live across a call, it is kept in a stack slot that the
    /// call site's stack map lists.
    pub fn traced(&mut self, value: Value, ty: ValType) -> Value {
        if is_traced_type(ty) {
            self.b.declare_value_needs_stack_map(value);
        }
        value
    }

    /// Pushes the results of a call of type `type_index`.
    pub fn push_call_results(&mut self, type_index: u32, results: Vec<Value>) {
        let types = self.env.module().types()[type_index as usize]
            .results
            .clone();
        for (value, ty) in results.into_iter().zip(types) {
            let value = self.traced(value, ty);
            self.push(value);
        }
    }

    pub fn pop(&mut self) -> Value {
        self.stack
            .pop()
            .expect("validated: operand stack underflow")
    }

    pub fn pop2(&mut self) -> (Value, Value) {
        let b = self.pop();
        let a = self.pop();
        (a, b)
    }

    pub fn pop3(&mut self) -> (Value, Value, Value) {
        let c = self.pop();
        let (a, b) = self.pop2();
        (a, b, c)
    }

    pub fn popn(&mut self, n: usize) -> Vec<Value> {
        let at = self.stack.len() - n;
        self.stack.split_off(at)
    }

    pub fn peekn(&self, n: usize) -> &[Value] {
        &self.stack[self.stack.len() - n..]
    }

    /// The zero value (null for references) of `ty`.
    pub fn zero(&mut self, ty: ValType) -> Value {
        match ty {
            ValType::I32 => self.b.ins().iconst(types::I32, 0),
            ValType::I64 | ValType::Ref(_) => self.b.ins().iconst(types::I64, 0),
            ValType::F32 => self.b.ins().f32const(0.0),
            ValType::F64 => self.b.ins().f64const(0.0),
            ValType::V128 => {
                let zero = self.b.ins().iconst(types::I64, 0);
                let wide = self.b.ins().splat(types::I64X2, zero);
                self.b.ins().bitcast(
                    types::I8X16,
                    ir::MemFlagsData::new().with_endianness(ir::Endianness::Little),
                    wide,
                )
            }
        }
    }

    /// Jumps to `block` passing `args`.
    pub fn jump(&mut self, block: Block, args: &[Value]) {
        let args: Vec<BlockArg> = args.iter().map(|v| BlockArg::from(*v)).collect();
        self.b.ins().jump(block, &args);
    }

    /// A boolean (`i8` 0/1) widened to an `i32` Wasm result.
    pub fn bool_to_i32(&mut self, flag: Value) -> Value {
        self.b.ins().uextend(types::I32, flag)
    }
}
