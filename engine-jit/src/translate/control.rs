//! Structured control flow: block, loop, if/else, br, br_if, br_table,
//! br_on_null, br_on_non_null, return, unreachable, and skipping code that
//! cannot execute.

use cranelift_codegen::ir::{Block, BlockArg, InstBuilder, JumpTableData};
use wasmparser::{BlockType, Operator};
use wasmtier_core::ValType;

use super::TranslateError;
use super::{Translator, ir_type};
use crate::traps;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameKind {
    Function,
    Block,
    Loop,
    /// A `try_table`: a block whose calls may land in its catch clauses.
    TryTable,
    /// `else_block` receives the `if`'s parameters; `has_else` once the
    /// `else` was seen; `entry_reachable` whether the `if` itself was.
    If {
        else_block: Block,
        has_else: bool,
        entry_reachable: bool,
    },
}

/// One entry of the control stack.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pub kind: FrameKind,
    /// Where a branch to a loop goes.
    pub header: Option<Block>,
    /// The continuation after `end`; its parameters are the results.
    pub next: Block,
    pub params: Vec<ValType>,
    pub results: Vec<ValType>,
    /// Operand stack height below the frame's parameters.
    pub height: usize,
    /// Whether some reachable branch targets `next`.
    pub exit_branched: bool,
}

impl Frame {
    /// Values a branch to this frame carries.
    fn branch_arity(&self) -> usize {
        match self.kind {
            FrameKind::Loop => self.params.len(),
            _ => self.results.len(),
        }
    }

    pub(super) fn branch_target(&self) -> Block {
        self.header.unwrap_or(self.next)
    }
}

impl Translator<'_, '_> {
    pub(super) fn block_type(&self, ty: BlockType) -> (Vec<ValType>, Vec<ValType>) {
        let module = self.env.module();
        let convert = |t| module.val_type(t).expect("validated value type");
        match ty {
            BlockType::Empty => (vec![], vec![]),
            BlockType::Type(t) => (vec![], vec![convert(t)]),
            BlockType::FuncType(index) => {
                let ft = &self.env.module().types()[index as usize];
                (ft.params.clone(), ft.results.clone())
            }
        }
    }

    pub(super) fn block_with_params(&mut self, types: &[ValType]) -> Block {
        let block = self.b.create_block();
        for ty in types {
            let param = self.b.append_block_param(block, ir_type(*ty));
            self.traced(param, *ty);
        }
        block
    }

    pub(super) fn begin_function(&mut self, results: &[ValType]) {
        let next = self.block_with_params(results);
        self.frames.push(Frame {
            kind: FrameKind::Function,
            header: None,
            next,
            params: vec![],
            results: results.to_vec(),
            height: 0,
            exit_branched: false,
        });
    }

    pub(super) fn control(&mut self, op: &Operator<'_>) -> Result<bool, TranslateError> {
        match *op {
            Operator::Nop => {}
            Operator::Unreachable => {
                self.b.ins().trap(traps::UNREACHABLE);
                self.reachable = false;
            }
            Operator::Block { blockty } => {
                let (params, results) = self.block_type(blockty);
                let next = self.block_with_params(&results);
                let height = self.stack.len() - params.len();
                self.frames.push(Frame {
                    kind: FrameKind::Block,
                    header: None,
                    next,
                    params,
                    results,
                    height,
                    exit_branched: false,
                });
            }
            Operator::Loop { blockty } => {
                let (params, results) = self.block_type(blockty);
                let loop_index = self.loops_seen;
                self.loops_seen += 1;
                let osr = self.osr_possible(&params);
                let header = match &mut self.osr_entry {
                    Some(entry) if entry.loop_index == loop_index && osr => {
                        entry.found = true;
                        entry.header
                    }
                    _ => self.block_with_params(&params),
                };
                let next = self.block_with_params(&results);
                let args = self.popn(params.len());
                self.jump(header, &args);
                self.b.switch_to_block(header);
                // The loop's parameters, before the poll's reads of every
                // local give the (unsealed) header parameters of its own.
                let loop_params = self.b.block_params(header).to_vec();
                self.check_interrupt();
                if osr && self.polls_at(loop_index) {
                    self.count_at_loop_header(loop_index);
                } else {
                    self.count_for_tier_up();
                }
                let height = self.stack.len();
                self.stack.extend_from_slice(&loop_params);
                self.frames.push(Frame {
                    kind: FrameKind::Loop,
                    header: Some(header),
                    next,
                    params,
                    results,
                    height,
                    exit_branched: false,
                });
            }
            Operator::If { blockty } => {
                let (params, results) = self.block_type(blockty);
                let condition = self.pop();
                let then_block = self.b.create_block();
                let else_block = self.block_with_params(&params);
                let next = self.block_with_params(&results);
                let args: Vec<BlockArg> = self
                    .peekn(params.len())
                    .iter()
                    .map(|v| (*v).into())
                    .collect();
                self.b
                    .ins()
                    .brif(condition, then_block, &[], else_block, &args);
                self.b.switch_to_block(then_block);
                self.b.seal_block(then_block);
                let height = self.stack.len() - params.len();
                self.frames.push(Frame {
                    kind: FrameKind::If {
                        else_block,
                        has_else: false,
                        entry_reachable: true,
                    },
                    header: None,
                    next,
                    params,
                    results,
                    height,
                    exit_branched: false,
                });
            }
            Operator::Else => self.else_(),
            Operator::End => self.end(),
            Operator::Br { relative_depth } => {
                self.br(relative_depth);
                self.reachable = false;
            }
            Operator::BrIf { relative_depth } => {
                let condition = self.pop();
                let (target, arity) = self.target(relative_depth);
                let args: Vec<BlockArg> = self.peekn(arity).iter().map(|v| (*v).into()).collect();
                let fallthrough = self.b.create_block();
                self.b
                    .ins()
                    .brif(condition, target, &args, fallthrough, &[]);
                self.b.switch_to_block(fallthrough);
                self.b.seal_block(fallthrough);
            }
            Operator::BrTable { ref targets } => {
                let index = self.pop();
                let default = targets.default();
                let depths: Vec<u32> = targets
                    .targets()
                    .collect::<Result<_, _>>()
                    .map_err(TranslateError::from)?;
                let (_, arity) = self.target(default);
                let args: Vec<BlockArg> = self.peekn(arity).iter().map(|v| (*v).into()).collect();
                let mut calls = Vec::with_capacity(depths.len());
                for depth in depths {
                    let (block, _) = self.target(depth);
                    calls.push(self.b.func.dfg.block_call(block, &args));
                }
                let (default_block, _) = self.target(default);
                let default_call = self.b.func.dfg.block_call(default_block, &args);
                let table = self
                    .b
                    .create_jump_table(JumpTableData::new(default_call, &calls));
                self.b.ins().br_table(index, table);
                self.reachable = false;
            }
            Operator::BrOnNull { relative_depth } => {
                // Null: branch with the values below the reference; else
                // go on with the (now non-null) reference.
                let reference = self.pop();
                let (target, arity) = self.target(relative_depth);
                let args: Vec<BlockArg> = self.peekn(arity).iter().map(|v| (*v).into()).collect();
                let fallthrough = self.b.create_block();
                self.b
                    .ins()
                    .brif(reference, fallthrough, &[], target, &args);
                self.b.switch_to_block(fallthrough);
                self.b.seal_block(fallthrough);
                self.push(reference);
            }
            Operator::BrOnNonNull { relative_depth } => {
                // Non-null: branch with the reference as the last value;
                // else go on without it.
                let reference = self.pop();
                let (target, arity) = self.target(relative_depth);
                let mut args: Vec<BlockArg> =
                    self.peekn(arity - 1).iter().map(|v| (*v).into()).collect();
                args.push(reference.into());
                let fallthrough = self.b.create_block();
                self.b
                    .ins()
                    .brif(reference, target, &args, fallthrough, &[]);
                self.b.switch_to_block(fallthrough);
                self.b.seal_block(fallthrough);
            }
            Operator::Return => {
                let depth = self.frames.len() as u32 - 1;
                self.br(depth);
                self.reachable = false;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The block a branch of `depth` goes to and how many values it takes;
    /// marks the frame's exit as reachable.
    pub(super) fn target(&mut self, depth: u32) -> (Block, usize) {
        let index = self.frames.len() - 1 - depth as usize;
        let frame = &mut self.frames[index];
        if frame.kind != FrameKind::Loop {
            frame.exit_branched = true;
        }
        (frame.branch_target(), frame.branch_arity())
    }

    fn br(&mut self, depth: u32) {
        let (target, arity) = self.target(depth);
        let args = self.peekn(arity).to_vec();
        self.jump(target, &args);
    }

    fn else_(&mut self) {
        let frame = self.frames.last_mut().expect("validated: else inside if");
        let FrameKind::If {
            else_block,
            ref mut has_else,
            entry_reachable,
        } = frame.kind
        else {
            unreachable!("validated: else inside if")
        };
        *has_else = true;
        let (next, results, height) = (frame.next, frame.results.len(), frame.height);
        if self.reachable {
            self.frames.last_mut().expect("frame").exit_branched = true;
            let args = self.popn(results);
            self.jump(next, &args);
        }
        self.stack.truncate(height);
        self.b.switch_to_block(else_block);
        self.b.seal_block(else_block);
        let params = self.b.block_params(else_block).to_vec();
        self.stack.extend(params);
        self.reachable = entry_reachable;
    }

    fn end(&mut self) {
        let frame = self.frames.pop().expect("validated: end closes a frame");
        let mut exit_reachable = frame.exit_branched;
        if self.reachable {
            let args = self.popn(frame.results.len());
            self.jump(frame.next, &args);
            exit_reachable = true;
        }
        if let FrameKind::If {
            else_block,
            has_else: false,
            entry_reachable,
        } = frame.kind
        {
            // No `else`: the false branch passes the parameters through.
            self.b.switch_to_block(else_block);
            self.b.seal_block(else_block);
            let params = self.b.block_params(else_block).to_vec();
            if entry_reachable {
                self.jump(frame.next, &params);
                exit_reachable = true;
            } else {
                self.b.ins().trap(traps::UNREACHABLE);
            }
        }
        if frame.kind == FrameKind::TryTable {
            self.end_try_table();
        }
        if let Some(header) = frame.header {
            self.b.seal_block(header);
        }
        self.stack.truncate(frame.height);
        self.b.switch_to_block(frame.next);
        self.b.seal_block(frame.next);
        if frame.kind == FrameKind::Function {
            if exit_reachable {
                let results = self.b.block_params(frame.next).to_vec();
                self.b.ins().return_(&results);
            } else {
                self.b.ins().trap(traps::UNREACHABLE);
            }
            self.reachable = false;
            return;
        }
        self.go_on_after(frame.next, exit_reachable);
    }

    /// In a block's continuation `next` (current and sealed): its results
    /// on the stack when something reaches it (`exit_reachable`).
    pub(super) fn go_on_after(&mut self, next: Block, exit_reachable: bool) {
        if exit_reachable {
            let results = self.b.block_params(next).to_vec();
            self.stack.extend(results);
            self.reachable = true;
        } else {
            // Nothing reaches the continuation; it still needs a terminator.
            self.b.ins().trap(traps::UNREACHABLE);
            self.reachable = false;
        }
    }

    /// While unreachable, only the nesting of blocks matters.
    /// (Loops are counted here too: a loop's index is its position among
    /// all of the body's loops, reachable or not.)
    pub(super) fn skip_unreachable(&mut self, op: &Operator<'_>) -> Result<(), TranslateError> {
        match op {
            Operator::Loop { .. } => {
                self.loops_seen += 1;
                self.dead_depth += 1;
            }
            Operator::Block { .. } | Operator::If { .. } | Operator::TryTable { .. } => {
                self.dead_depth += 1;
            }
            Operator::Else if self.dead_depth == 0 => self.else_(),
            Operator::End if self.dead_depth == 0 => self.end(),
            Operator::End => self.dead_depth -= 1,
            _ => {}
        }
        Ok(())
    }
}
