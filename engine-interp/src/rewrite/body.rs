//! Edits inside one function body: grows become helper calls, the
//! parameters of a `block`, `loop` or `if` are spilled to fresh locals and
//! read back just before it, and so is the condition of a `select` that
//! tests for zero, and the value of a store whose address is the same
//! local.
//!
//! Why the spill: wasmi 2.0.0 defers `local.get` (the operand stays a
//! reference to the local) and, on entering a block with parameters, copies
//! the deferred locals below the parameters to fresh slots so the block
//! cannot change them. Its search skips as many *local* operands as the
//! block has parameters rather than the parameters themselves, so when a
//! parameter is not a `local.get` a deferred local below it is not copied.
//! When the block's then-branch (or body) ends unreachably inside a nested
//! block, the code after it reads a slot nothing wrote: a stale value from
//! an earlier call, or whatever the allocator left there (RATIONALE.md,
//! "Reads of never-written stack cells"). Spilling the parameters and
//! reading them back makes every parameter a `local.get`, so the search
//! skips exactly the parameters and copies everything below.
//!
//! Why the `select` spill: wasmi 2.0.0 fuses `i32.eqz` (or `i32.eq`/`i32.ne`
//! with 0) into a following `select` by swapping its operands, and then
//! reads the condition from its integer register, even when the compared
//! value was in a stack slot (a local, say) and never reached the register:
//! `select(a, b, i32.eqz(local.get x))` picked by whatever the register held
//! (RATIONALE.md, "`select` on a zero test"). Storing the test's result in
//! a local and reading it back stops the fusion (wasmi does not fuse an
//! operator whose result is a local), so `select` reads the stored test.
//!
//! Why the store spill: when a store's address and value are the same
//! local (`local.tee x; local.get x; i32.store offset=70000`), both operands
//! resolve to wasmi's integer register, and wasmi 2.0.0 has no encoding for
//! that with an offset above 65535 or a memory other than 0: its translator
//! panics (`unreachable!()`, RATIONALE.md, "Stores of a local to itself").
//! Storing the value in a local first makes it a stack slot.

use std::ops::Range;

use wasm_encoder::{Encode, Function, Instruction};
use wasmparser::{BinaryReader, BlockType, FunctionBody, Operator};
use wasmtier_core::{ValType, ValidatedModule};

use super::GrowTarget;
use super::encode::val_type;
use super::error::RewriteError;

/// Writes the instructions that replace a grow of the given target.
pub(super) type GrowCall<'a> = dyn Fn(GrowTarget, &mut Vec<u8>) + 'a;

/// What a body needs changed.
pub(super) enum Event {
    /// A grow instruction at `range`.
    Grow {
        range: Range<usize>,
        target: GrowTarget,
    },
    /// A `block`, `loop` or `if` taking `params`, starting at `at`.
    ParamBlock {
        at: usize,
        is_if: bool,
        params: Vec<ValType>,
    },
    /// A `select` at `at` right after a zero test.
    ZeroTestSelect { at: usize },
    /// An integer store at `at` whose address and value are the same local,
    /// storing a value of type `value`.
    SameLocalStore { at: usize, value: ValType },
}

/// A body read for editing.
pub(super) struct ScannedBody {
    pub defined_func: u32,
    /// The whole body (locals and code), and its locals declarations.
    range: Range<usize>,
    locals: Range<usize>,
    /// Index of the first local added: parameters plus declared locals.
    first_new_local: u32,
    pub events: Vec<Event>,
}

/// Where defined function `defined_func`'s body (locals and code) is in
/// the module's bytes.
pub(super) fn range(
    module: &ValidatedModule,
    defined_func: u32,
) -> Result<Range<usize>, RewriteError> {
    module
        .func_body(defined_func)
        .filter(|r| r.start <= r.end && r.end <= module.bytes().len())
        .ok_or(RewriteError::MissingBody(defined_func))
}

pub(super) fn scan(
    module: &ValidatedModule,
    defined_func: u32,
) -> Result<ScannedBody, RewriteError> {
    let range = range(module, defined_func)?;
    let body = FunctionBody::new(BinaryReader::new(
        &module.bytes()[range.clone()],
        range.start,
    ));
    let mut declared = 0u64;
    for group in body.get_locals_reader()? {
        declared += u64::from(group?.0);
    }
    let mut operators = body.get_operators_reader()?;
    let locals = range.start..operators.original_position();
    let func_type = |index: u32| {
        module
            .types()
            .get(index as usize)
            .ok_or(RewriteError::UnknownType(index))
    };
    let own_type = module
        .func_type_index(module.num_imported_funcs() + defined_func)
        .ok_or(RewriteError::UntypedBody(defined_func))?;
    let first_new_local = u32::try_from(func_type(own_type)?.params.len() as u64 + declared)
        .map_err(|_| RewriteError::TooManyLocals(defined_func))?;

    let mut events = Vec::new();
    let mut after_zero_test = false;
    let mut operands = LocalReads::default();
    while !operators.eof() {
        let (operator, at) = operators.read_with_offset()?;
        let zero_test = after_zero_test;
        if !matches!(operator, Operator::Nop) {
            after_zero_test = matches!(
                operator,
                Operator::I32Eqz | Operator::I32Eq | Operator::I32Ne
            );
        }
        let same_local = operands.top_two_read_the_same_local();
        operands.apply(&operator);
        if let Some((value, memarg)) = integer_store(&operator) {
            // wasmi encodes the offset-16 form on memory 0 without trouble.
            let far = memarg.memory != 0 || memarg.offset > u64::from(u16::MAX);
            if far && same_local {
                events.push(Event::SameLocalStore { at, value });
            }
            continue;
        }
        let (block_type, is_if) = match operator {
            Operator::Select | Operator::TypedSelect { .. } if zero_test => {
                events.push(Event::ZeroTestSelect { at });
                continue;
            }
            Operator::MemoryGrow { mem } => {
                let range = at..operators.original_position();
                events.push(Event::Grow {
                    range,
                    target: GrowTarget::Memory(mem),
                });
                continue;
            }
            Operator::TableGrow { table } => {
                let range = at..operators.original_position();
                events.push(Event::Grow {
                    range,
                    target: GrowTarget::Table(table),
                });
                continue;
            }
            Operator::Block { blockty } | Operator::Loop { blockty } => (blockty, false),
            Operator::If { blockty } => (blockty, true),
            _ => continue,
        };
        if let BlockType::FuncType(index) = block_type {
            let params = &func_type(index)?.params;
            if !params.is_empty() {
                events.push(Event::ParamBlock {
                    at,
                    is_if,
                    params: params.clone(),
                });
            }
        }
    }
    Ok(ScannedBody {
        defined_func,
        range,
        locals,
        first_new_local,
        events,
    })
}

/// The body with its events edited: the declared locals, then one new
/// local per added one, then the code with the changes spliced in.
pub(super) fn edited(
    module: &ValidatedModule,
    body: &ScannedBody,
    grow_call: &GrowCall<'_>,
) -> Result<Function, RewriteError> {
    let bytes = module.bytes();
    let mut new_locals: Vec<ValType> = Vec::new();
    // One local serves every `select`, and one per type every store: each
    // is read right after it is written.
    let mut select_condition = None;
    let (mut store_value_i32, mut store_value_i64) = (None, None);
    // The code is built apart from the locals, which are known only at
    // the end; copied stretches and instructions from wasm-encoder.
    let mut code = Vec::with_capacity(body.range.len() + 16 * body.events.len());
    let mut copied = body.locals.end;
    for event in &body.events {
        match event {
            Event::Grow { range, target } => {
                code.extend_from_slice(&bytes[copied..range.start]);
                grow_call(*target, &mut code);
                copied = range.end;
            }
            Event::ParamBlock { at, is_if, params } => {
                code.extend_from_slice(&bytes[copied..*at]);
                copied = *at;
                let first = body.first_new_local + new_locals.len() as u32;
                new_locals.extend_from_slice(params);
                let condition = is_if.then(|| {
                    new_locals.push(ValType::I32);
                    first + params.len() as u32
                });
                if let Some(condition) = condition {
                    Instruction::LocalSet(condition).encode(&mut code);
                }
                for i in (0..params.len() as u32).rev() {
                    Instruction::LocalSet(first + i).encode(&mut code);
                }
                for i in 0..params.len() as u32 {
                    Instruction::LocalGet(first + i).encode(&mut code);
                }
                if let Some(condition) = condition {
                    Instruction::LocalGet(condition).encode(&mut code);
                }
            }
            Event::SameLocalStore { at, value } => {
                code.extend_from_slice(&bytes[copied..*at]);
                copied = *at;
                let slot = match value {
                    ValType::I64 => &mut store_value_i64,
                    _ => &mut store_value_i32,
                };
                let local = *slot.get_or_insert_with(|| {
                    new_locals.push(*value);
                    body.first_new_local + new_locals.len() as u32 - 1
                });
                Instruction::LocalSet(local).encode(&mut code);
                Instruction::LocalGet(local).encode(&mut code);
            }
            Event::ZeroTestSelect { at } => {
                code.extend_from_slice(&bytes[copied..*at]);
                copied = *at;
                let condition = *select_condition.get_or_insert_with(|| {
                    new_locals.push(ValType::I32);
                    body.first_new_local + new_locals.len() as u32 - 1
                });
                Instruction::LocalSet(condition).encode(&mut code);
                Instruction::LocalGet(condition).encode(&mut code);
            }
        }
    }
    code.extend_from_slice(&bytes[copied..body.range.end]);

    // The declared locals as they were, then one group per new local.
    let declared = BinaryReader::new(&bytes[body.locals.clone()], body.locals.start);
    let mut locals = Vec::new();
    for group in FunctionBody::new(declared).get_locals_reader()? {
        let (count, ty) = group?;
        locals.push((count, wasm_encoder::ValType::try_from(ty)?));
    }
    locals.extend(new_locals.iter().map(|ty| (1, val_type(*ty))));
    let mut function = Function::new(locals);
    function.raw(code);
    Ok(function)
}

/// For each operand on the stack, the local it is a plain read of, as far
/// as a few common instructions show; any other instruction forgets
/// everything, which can only miss a store, never invent one.
#[derive(Default)]
struct LocalReads {
    operands: Vec<Option<u32>>,
}

impl LocalReads {
    fn top_two_read_the_same_local(&self) -> bool {
        match self.operands[..] {
            [.., Some(address), Some(value)] => address == value,
            _ => false,
        }
    }

    fn pop(&mut self, count: usize) {
        let len = self.operands.len().saturating_sub(count);
        self.operands.truncate(len);
    }

    /// A write to `local`: earlier reads of it no longer hold its value.
    fn written(&mut self, local: u32) {
        for operand in &mut self.operands {
            if *operand == Some(local) {
                *operand = None;
            }
        }
    }

    fn apply(&mut self, operator: &Operator<'_>) {
        match *operator {
            Operator::LocalGet { local_index } => self.operands.push(Some(local_index)),
            Operator::LocalTee { local_index } => {
                self.pop(1);
                self.written(local_index);
                self.operands.push(Some(local_index));
            }
            Operator::LocalSet { local_index } => {
                self.pop(1);
                self.written(local_index);
            }
            Operator::I32Const { .. }
            | Operator::I64Const { .. }
            | Operator::F32Const { .. }
            | Operator::F64Const { .. }
            | Operator::V128Const { .. }
            | Operator::GlobalGet { .. }
            | Operator::RefNull { .. }
            | Operator::RefFunc { .. }
            | Operator::MemorySize { .. } => self.operands.push(None),
            Operator::Drop | Operator::GlobalSet { .. } => self.pop(1),
            Operator::Nop | Operator::DataDrop { .. } | Operator::ElemDrop { .. } => {}
            _ if integer_store(operator).is_some() => self.pop(2),
            _ => self.operands.clear(),
        }
    }
}

/// The value type and memory argument of an integer store.
fn integer_store(operator: &Operator<'_>) -> Option<(ValType, wasmparser::MemArg)> {
    match *operator {
        Operator::I32Store { memarg }
        | Operator::I32Store8 { memarg }
        | Operator::I32Store16 { memarg } => Some((ValType::I32, memarg)),
        Operator::I64Store { memarg }
        | Operator::I64Store8 { memarg }
        | Operator::I64Store16 { memarg }
        | Operator::I64Store32 { memarg } => Some((ValType::I64, memarg)),
        _ => None,
    }
}
