//! Edits inside one function body: grows become helper calls, the
//! parameters of a `block`, `loop` or `if` are spilled to fresh locals and
//! read back just before it, and so is the condition of a `select` that
//! tests for zero.
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

use std::ops::Range;

use wasmparser::{BinaryReader, BlockType, FunctionBody, Operator};
use wasmtier_core::{ValType, ValidatedModule};

use super::{GrowTarget, push_leb, val_type_byte};

const LOCAL_GET: u8 = 0x20;
const LOCAL_SET: u8 = 0x21;

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
}

/// A body read for editing.
pub(super) struct ScannedBody {
    pub defined_func: u32,
    /// The whole body (locals and code), and its locals declarations.
    range: Range<usize>,
    locals: Range<usize>,
    /// Index of the first local added: parameters plus declared locals.
    first_new_local: u64,
    pub events: Vec<Event>,
}

pub(super) fn scan(module: &ValidatedModule, defined_func: u32) -> Result<ScannedBody, String> {
    let error = |e: wasmparser::BinaryReaderError| e.to_string();
    let range = module
        .func_body(defined_func)
        .filter(|r| r.start <= r.end && r.end <= module.bytes().len())
        .ok_or_else(|| format!("no body for defined function {defined_func}"))?;
    let body = FunctionBody::new(BinaryReader::new(
        &module.bytes()[range.clone()],
        range.start,
    ));
    let mut declared = 0u64;
    for group in body.get_locals_reader().map_err(error)? {
        declared += u64::from(group.map_err(error)?.0);
    }
    let mut operators = body.get_operators_reader().map_err(error)?;
    let locals = range.start..operators.original_position();
    let func_type = |index: u32| {
        module
            .types
            .get(index as usize)
            .ok_or_else(|| format!("unknown type {index}"))
    };
    let own_type = module
        .func_type_index(module.num_imported_funcs + defined_func)
        .ok_or("a body without a function")?;
    let first_new_local = func_type(own_type)?.params.len() as u64 + declared;

    let mut events = Vec::new();
    let mut after_zero_test = false;
    while !operators.eof() {
        let (operator, at) = operators.read_with_offset().map_err(error)?;
        let zero_test = after_zero_test;
        after_zero_test = match operator {
            Operator::Nop => after_zero_test,
            Operator::I32Eqz | Operator::I32Eq | Operator::I32Ne => true,
            _ => false,
        };
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

/// The body's new bytes (locals and code, without the size prefix).
pub(super) fn edited(
    module: &ValidatedModule,
    body: &ScannedBody,
    grow_call: &dyn Fn(GrowTarget) -> Vec<u8>,
) -> Result<Vec<u8>, String> {
    let bytes = module.bytes();
    let mut new_locals: Vec<ValType> = Vec::new();
    // One local serves every `select`: it is read right after it is written.
    let mut select_condition = None;
    let mut out = Vec::with_capacity(body.range.len() + 16 * body.events.len());
    let mut copied = body.locals.end;
    let mut code = Vec::new();
    for event in &body.events {
        match event {
            Event::Grow { range, target } => {
                code.extend_from_slice(&bytes[copied..range.start]);
                code.extend_from_slice(&grow_call(*target));
                copied = range.end;
            }
            Event::ParamBlock { at, is_if, params } => {
                code.extend_from_slice(&bytes[copied..*at]);
                copied = *at;
                let first = body.first_new_local + new_locals.len() as u64;
                new_locals.extend_from_slice(params);
                let condition = is_if.then(|| {
                    new_locals.push(ValType::I32);
                    first + params.len() as u64
                });
                if let Some(condition) = condition {
                    local_op(&mut code, LOCAL_SET, condition);
                }
                for i in (0..params.len() as u64).rev() {
                    local_op(&mut code, LOCAL_SET, first + i);
                }
                for i in 0..params.len() as u64 {
                    local_op(&mut code, LOCAL_GET, first + i);
                }
                if let Some(condition) = condition {
                    local_op(&mut code, LOCAL_GET, condition);
                }
            }
            Event::ZeroTestSelect { at } => {
                code.extend_from_slice(&bytes[copied..*at]);
                copied = *at;
                let condition = *select_condition.get_or_insert_with(|| {
                    new_locals.push(ValType::I32);
                    body.first_new_local + new_locals.len() as u64 - 1
                });
                local_op(&mut code, LOCAL_SET, condition);
                local_op(&mut code, LOCAL_GET, condition);
            }
        }
    }
    code.extend_from_slice(&bytes[copied..body.range.end]);

    if new_locals.is_empty() {
        out.extend_from_slice(&bytes[body.locals.clone()]);
    } else {
        let mut reader = BinaryReader::new(&bytes[body.locals.clone()], 0);
        let groups = reader.read_var_u32().map_err(|e| e.to_string())?;
        push_leb(&mut out, u64::from(groups) + new_locals.len() as u64);
        out.extend_from_slice(
            &bytes[body.locals.start + reader.current_position()..body.locals.end],
        );
        for ty in &new_locals {
            out.push(1);
            out.push(val_type_byte(*ty));
        }
    }
    out.extend_from_slice(&code);
    Ok(out)
}

fn local_op(out: &mut Vec<u8>, op: u8, index: u64) {
    out.push(op);
    push_leb(out, index);
}
