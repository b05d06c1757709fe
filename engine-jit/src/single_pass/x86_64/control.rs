//! Control flow: blocks, loops and `if`s as frames with labels, branches
//! that move the values they carry into their target's slots, code after
//! an unconditional branch skipped (its calls and loops still counted for
//! the profile), and the call profile's counts.

use wasmparser::{BlockType, Operator};

use super::encode::{Cond, R11, RAX, RCX};
use super::{Codegen, Kind, Unsupported, is_numeric};
use crate::traps;

impl Codegen<'_> {
    fn block_type(&self, ty: BlockType) -> Result<(u32, u32), Unsupported> {
        let module = &*self.req.info.module;
        match ty {
            BlockType::Empty => Ok((0, 0)),
            BlockType::Type(t) => {
                let t = module.val_type(t).ok_or(Unsupported)?;
                if is_numeric(t) {
                    Ok((0, 1))
                } else {
                    Err(Unsupported)
                }
            }
            BlockType::FuncType(index) => {
                let ft = module.types().get(index as usize).ok_or(Unsupported)?;
                if !ft.params.iter().chain(&ft.results).all(|t| is_numeric(*t)) {
                    return Err(Unsupported);
                }
                Ok((ft.params.len() as u32, ft.results.len() as u32))
            }
        }
    }

    /// Copies the top `count` values to the slots from `base` up.
    fn move_values(&mut self, count: u32, base: u32) {
        let from = self.height - count;
        if from == base {
            return;
        }
        for i in 0..count {
            let src = self.slot(from + i);
            let dst = self.slot(base + i);
            self.a.load(true, RAX, src);
            self.a.store(true, dst, RAX);
        }
    }

    /// A branch to the frame `depth` levels out: its values moved into
    /// place and a jump (a return for the function's frame).
    fn branch(&mut self, depth: u32) {
        let index = self.frames.len() - 1 - depth as usize;
        let frame = &self.frames[index];
        let (kind, base, target) = (frame.kind, frame.base, frame.target);
        let count = if kind == Kind::Loop {
            frame.params
        } else {
            frame.results
        };
        if kind == Kind::Function {
            return self.return_();
        }
        self.move_values(count, base);
        if kind != Kind::Loop {
            self.frames[index].branched = true;
        }
        self.a.jmp(target);
    }

    /// Counts a call site (and a direct callee among the module's own
    /// functions) for the profile.
    pub(super) fn count_call(&mut self, function_index: Option<u32>) {
        self.profile.sites += 1;
        let imported = self.req.info.module.num_imported_funcs();
        if let Some(callee) = function_index.and_then(|f| f.checked_sub(imported))
            && self.seen_callees.insert(callee)
        {
            self.profile.callees.push(callee);
        }
    }

    /// Notes a loop for the profile: one with parameters, or in a function
    /// with too many locals, cannot take an optimized entry.
    fn count_loop(&mut self, blockty: BlockType) {
        self.profile.loops = true;
        let has_params = match blockty {
            BlockType::FuncType(t) => self
                .req
                .info
                .module
                .types()
                .get(t as usize)
                .is_none_or(|ty| !ty.params.is_empty()),
            _ => false,
        };
        if has_params || self.locals.len() > super::super::MAX_OSR_LOCALS {
            self.profile.osr_blocked = true;
        }
    }

    pub(super) fn skip_unreachable(&mut self, op: &Operator<'_>) -> Result<(), Unsupported> {
        match *op {
            Operator::Call { function_index } | Operator::ReturnCall { function_index } => {
                self.count_call(Some(function_index));
            }
            Operator::CallIndirect { .. }
            | Operator::CallRef { .. }
            | Operator::ReturnCallIndirect { .. }
            | Operator::ReturnCallRef { .. } => self.count_call(None),
            _ => {}
        }
        match op {
            Operator::Loop { blockty } => {
                self.count_loop(*blockty);
                self.loops_seen += 1;
                self.dead_depth += 1;
            }
            Operator::Block { .. } | Operator::If { .. } => self.dead_depth += 1,
            Operator::TryTable { .. } | Operator::Try { .. } => return Err(Unsupported),
            Operator::Else if self.dead_depth == 0 => self.else_(),
            Operator::End if self.dead_depth == 0 => self.end(),
            Operator::End => self.dead_depth -= 1,
            _ => {}
        }
        Ok(())
    }

    fn else_(&mut self) {
        if self.reachable {
            self.flush();
        }
        let frame = self.frames.last_mut().expect("validated: else in an if");
        if self.reachable {
            frame.branched = true;
            let end = frame.end;
            self.a.jmp(end);
        }
        let frame = self.frames.last_mut().expect("validated: else in an if");
        if let Some(label) = frame.else_label.take() {
            self.a.bind(label);
        }
        let frame = self.frames.last().expect("validated");
        let base = frame.base;
        self.height = base + frame.params;
        self.joined_in_slots(base);
        self.reachable = true;
    }

    fn end(&mut self) {
        // The function's end returns: its result is read where it is.
        let returns = self.frames.last().is_some_and(|f| f.kind == Kind::Function);
        if self.reachable && !returns {
            self.flush();
        }
        let frame = self.frames.pop().expect("validated: end closes a frame");
        if let Some(label) = frame.else_label {
            // An `if` without `else`: its false edge carries the
            // parameters through as results (the same slots).
            self.a.bind(label);
            self.reachable = true;
        }
        self.height = frame.base + frame.results;
        if !returns {
            self.joined_in_slots(frame.base);
        }
        if frame.kind == Kind::Function {
            if self.reachable || frame.branched {
                self.a.bind(frame.end);
                self.return_();
            }
            self.reachable = false;
            return;
        }
        self.a.bind(frame.end);
        self.reachable = self.reachable || frame.branched;
    }

    pub(super) fn control(&mut self, op: &Operator<'_>) -> Result<bool, Unsupported> {
        match *op {
            Operator::Nop => {}
            Operator::Unreachable => {
                let trap = self.trap_label(traps::UNREACHABLE);
                self.a.jmp(trap);
                self.reachable = false;
            }
            Operator::Block { blockty } => {
                self.flush();
                let (params, results) = self.block_type(blockty)?;
                let end = self.a.label();
                self.open_frame(Kind::Block, params, results, end, end, None);
            }
            Operator::Loop { blockty } => {
                self.flush();
                self.count_loop(blockty);
                let (params, results) = self.block_type(blockty)?;
                let loop_index = self.loops_seen;
                self.loops_seen += 1;
                let header = self.a.label();
                let end = self.a.label();
                self.a.bind(header);
                self.check_interrupt();
                // As `translate/tiering.rs` decides: a loop whose header has
                // nothing but locals live can move into optimized code.
                let osr_possible = self.req.tier_up_counter.is_some()
                    && params == 0
                    && self.height == 0
                    && self.locals.len() <= super::super::MAX_OSR_LOCALS;
                if osr_possible {
                    self.count_at_loop_header(loop_index)?;
                } else {
                    self.count_for_tier_up();
                }
                self.open_frame(Kind::Loop, params, results, header, end, None);
            }
            Operator::If { blockty } => {
                let (params, results) = self.block_type(blockty)?;
                if params > 0 {
                    // The false edge would need the parameters the true
                    // branch overwrote.
                    return Err(Unsupported);
                }
                let cond = self.pop_condition();
                self.flush();
                let else_label = self.a.label();
                self.jump_unless(cond, else_label);
                let end = self.a.label();
                self.open_frame(Kind::If, params, results, end, end, Some(else_label));
            }
            Operator::Else => self.else_(),
            Operator::End => self.end(),
            Operator::Br { relative_depth } => {
                self.flush();
                self.branch(relative_depth);
                self.reachable = false;
            }
            Operator::BrIf { relative_depth } => {
                let cond = self.pop_condition();
                self.flush();
                let skip = self.a.label();
                self.jump_unless(cond, skip);
                self.branch(relative_depth);
                self.a.bind(skip);
            }
            Operator::BrTable { ref targets } => {
                let index = self.pop();
                self.flush();
                self.a.load(false, RAX, index);
                // Moves clobber rax: the index goes to r11.
                self.a.mov_rr(false, R11, RAX);
                for (case, depth) in targets.targets().enumerate() {
                    let depth = depth.map_err(|_| Unsupported)?;
                    let case = i32::try_from(case).map_err(|_| Unsupported)?;
                    self.a.alu_imm(false, 7, R11, case);
                    let next = self.a.label();
                    self.a.jcc(Cond::NotEqual, next);
                    self.branch(depth);
                    self.a.bind(next);
                }
                self.branch(targets.default());
                self.reachable = false;
            }
            Operator::Return => {
                self.return_();
                self.reachable = false;
            }
            Operator::Call { function_index } => self.call(function_index)?,
            Operator::CallIndirect {
                type_index,
                table_index,
            } => self.call_indirect(type_index, table_index)?,
            // Nothing to read: a pending value is never stored.
            Operator::Drop => self.height -= 1,
            Operator::Select => {
                let cond = self.pop();
                let b = self.pop();
                let a = self.pop();
                let dst = self.push();
                self.a.load(true, RAX, a);
                self.a.load(true, RCX, b);
                self.a.alu_mem_imm(false, 7, cond, 0);
                self.a.cmov(Cond::Equal, RAX, RCX);
                self.a.store(true, dst, RAX);
            }
            Operator::TypedSelect { ty } => {
                let ty = self.req.info.module.val_type(ty).ok_or(Unsupported)?;
                if !is_numeric(ty) {
                    return Err(Unsupported);
                }
                return self.control(&Operator::Select);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
