//! The single-pass compiler's x86-64 code generator.
//!
//! Every Wasm value lives in the frame: the VM context and the caller's at
//! `rbp - 8` and `rbp - 16`, then one 8-byte slot per local, then one per
//! operand-stack height. An operator loads its operands into scratch
//! registers, computes, and stores its result in the slot of the height it
//! leaves: no register allocation, no liveness, one pass. Branches move
//! the values they carry into the target's slots. Slow code, produced in a
//! fraction of Cranelift's time; a function that runs long tiers up.
//!
//! `local.get` and constants emit nothing when they are pushed
//! ([`Pending`]): the operator that pops them reads the local's slot or
//! stores the constant, so `local.get a; local.get b; i32.add` is two
//! loads instead of six moves. The last integer result stays in rax until
//! an operator that does not take it as an operand would overwrite it.
//! Before a local is written, and at every control instruction (where
//! paths meet, values must be in their slots), pending values are stored.
//!
//! Frames and calls follow Cranelift's `tail` convention, so code of the
//! two compilers calls each other through the same `VMFuncRef`s:
//! arguments after the two VM contexts in rdx, rcx, r8, r9 and xmm0–xmm7,
//! one result in rax or xmm0, no callee-saved register touched (only rax,
//! rcx, rdx, rsi, rdi, r8, r9, r11 and xmm0–xmm2 are used). The frame
//! pointer chain is kept, so backtraces and the exception unwinder walk
//! these frames like any other.

mod calls;
mod control;
mod encode;
mod memory;
mod ops;
mod scratch;
mod stack;

use encode::{Asm, Cond, Label, Mem, R8, R9, RAX, RBP, RCX, RDI, RDX, RSI, RSP};
use wasmparser::Operator;

use rustc_hash::FxHashSet;

use super::{Request, Unsupported};
use crate::call_profile::{CallProfile, MAX_OPTIMIZED_CALLS};
use crate::compile::FunctionCode;
use crate::traps;
use crate::vmcontext::{Builtin, offsets};
use scratch::Scratch;
use stack::Pending;
use wasmtier_core::ValType;

/// Integer argument registers of the `tail` convention after the callee's
/// and the caller's VM context (rdi, rsi).
const INT_ARGS: [u8; 4] = [RDX, RCX, R8, R9];
/// Float argument registers.
const FLOAT_ARGS: u8 = 8;
/// Bytes of frame above the slots: the two saved VM contexts.
const FRAME_HEADER: i32 = 16;

/// Where one argument of a call goes.
#[derive(Debug, Clone, Copy)]
enum ArgLoc {
    Gpr(u8),
    Xmm(u8),
    /// Bytes above the return address.
    Stack(i32),
}

/// Assigns arguments their places in the `tail` convention after the two
/// VM contexts, one at a time: the ones that find no register take 8
/// bytes of stack each, in order.
#[derive(Default)]
struct ArgAssigner {
    ints: usize,
    floats: u8,
    stack: i32,
}

impl ArgAssigner {
    fn next(&mut self, ty: ValType) -> Result<ArgLoc, Unsupported> {
        let register = match ty {
            ValType::I32 | ValType::I64 => {
                self.ints += 1;
                INT_ARGS.get(self.ints - 1).map(|&r| ArgLoc::Gpr(r))
            }
            ValType::F32 | ValType::F64 => {
                self.floats += 1;
                (self.floats <= FLOAT_ARGS).then(|| ArgLoc::Xmm(self.floats - 1))
            }
            _ => return Err(Unsupported),
        };
        Ok(register.unwrap_or_else(|| {
            self.stack += 8;
            ArgLoc::Stack(self.stack - 8)
        }))
    }

    /// The bytes of stack arguments so far, a multiple of 16 (the callee
    /// pops them). At most 256 locals or a few thousand parameters: no
    /// overflow.
    fn stack_bytes(&self) -> i32 {
        (self.stack + 15) & !15
    }
}

/// Where `types` go in the `tail` convention, and the bytes of stack
/// arguments ([`ArgAssigner`]).
fn arg_locations(types: &[ValType]) -> Result<(Vec<ArgLoc>, i32), Unsupported> {
    let mut assigner = ArgAssigner::default();
    let locations = types
        .iter()
        .map(|&ty| assigner.next(ty))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((locations, assigner.stack_bytes()))
}

/// The bytes of stack arguments of `types`, if every one has a place:
/// [`arg_locations`] without the list, for every call site.
fn outgoing_stack(types: &[ValType]) -> Result<i32, Unsupported> {
    let mut assigner = ArgAssigner::default();
    for &ty in types {
        assigner.next(ty)?;
    }
    Ok(assigner.stack_bytes())
}

fn is_numeric(ty: ValType) -> bool {
    matches!(
        ty,
        ValType::I32 | ValType::I64 | ValType::F32 | ValType::F64
    )
}

fn is_wide(ty: ValType) -> bool {
    matches!(ty, ValType::I64 | ValType::F64)
}

/// An argument of a builtin call after the VM context.
#[derive(Debug, Clone, Copy)]
enum BuiltinArg {
    Imm(u32),
    /// A 32-bit slot, zero-extended.
    Slot32(Mem),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Function,
    Block,
    Loop,
    If,
}

pub(super) struct Frame {
    kind: Kind,
    /// Operand-stack height below the block's parameters.
    base: u32,
    params: u32,
    results: u32,
    /// Where `br` to this frame goes: a loop's header, else its end.
    target: Label,
    end: Label,
    /// An `if`'s false edge, until its `else` or `end`.
    else_label: Option<Label>,
    /// Whether some branch goes to `end`, so code after it is reachable.
    branched: bool,
}

pub(super) struct Codegen<'a> {
    a: Asm,
    req: &'a Request<'a>,
    locals: Vec<ValType>,
    height: u32,
    max_height: u32,
    /// Per height below `height`: where its value is (entries above are
    /// stale).
    pending: Vec<Pending>,
    /// The height whose value is in rax, if it still is (see
    /// [`Codegen::rax_height`]).
    in_rax: Option<u32>,
    frames: Vec<Frame>,
    reachable: bool,
    dead_depth: u32,
    loops_seen: u32,
    /// One out-of-line `ud2` per trap code used.
    trap_stubs: Vec<(u8, Label)>,
    /// Offsets of the imm32 fields that hold the frame size, and whether
    /// each wants it negated.
    frame_size_fields: Vec<(usize, bool)>,
    /// Bytes of stack arguments this function pops on return.
    incoming_stack: i32,
    /// Bytes at the bottom of the frame where an on-stack replacement
    /// stages the entry's stack arguments.
    staging: i32,
    /// What `call_profile` finds in the body, counted as the walk goes
    /// (unreachable code included, as there).
    profile: CallProfile,
    seen_callees: FxHashSet<u32>,
    /// The most bytes of stack arguments a call here passes: below the
    /// frame while the call is made, so part of what the entry checks.
    outgoing: i32,
    /// Offsets of the tier-up countdowns' `jcc`s that skip the call out
    /// (see [`Codegen::disable_countdowns`]).
    countdown_branches: Vec<usize>,
}

impl Drop for Codegen<'_> {
    /// The working lists go back to the thread for its next compile,
    /// whether this one finished or declined.
    fn drop(&mut self) {
        use std::mem::take;
        Scratch {
            locals: take(&mut self.locals),
            pending: take(&mut self.pending),
            frames: take(&mut self.frames),
            trap_stubs: take(&mut self.trap_stubs),
            frame_size_fields: take(&mut self.frame_size_fields),
            seen_callees: take(&mut self.seen_callees),
            countdown_branches: take(&mut self.countdown_branches),
            labels: take(&mut self.a.labels),
            fixups: take(&mut self.a.fixups),
        }
        .give_back();
    }
}

impl<'a> Codegen<'a> {
    pub(super) fn compile(
        req: &'a Request<'a>,
    ) -> Result<(FunctionCode, CallProfile), Unsupported> {
        let module = &*req.info.module;
        let func_index = req.func_index();
        let ty = module.func_type(func_index);
        if ty.results.len() > 1 || !ty.results.iter().all(|t| is_numeric(*t)) {
            return Err(Unsupported);
        }
        let (params, incoming_stack) = arg_locations(&ty.params)?;
        let body = req.body().ok_or(Unsupported)?;
        let scratch = Scratch::take();
        let mut locals = scratch.locals;
        locals.extend_from_slice(&ty.params);
        // About 8 bytes of machine code per byte of body, measured on the
        // benches' programs: one allocation instead of a dozen regrowths.
        let body_len = body.range().len();
        let mut g = Codegen {
            a: Asm::with_capacity(64 + 10 * body_len, scratch.labels, scratch.fixups),
            req,
            locals,
            height: 0,
            max_height: 0,
            pending: scratch.pending,
            in_rax: None,
            frames: scratch.frames,
            reachable: true,
            dead_depth: 0,
            loops_seen: 0,
            trap_stubs: scratch.trap_stubs,
            frame_size_fields: scratch.frame_size_fields,
            incoming_stack,
            staging: 0,
            profile: CallProfile::default(),
            seen_callees: scratch.seen_callees,
            outgoing: 0,
            countdown_branches: scratch.countdown_branches,
        };
        // Locals are read after the lists are taken, so that a function
        // declined here gives them back too (`Drop`).
        for local in body.get_locals_reader().map_err(|_| Unsupported)? {
            let (count, ty) = local.map_err(|_| Unsupported)?;
            let ty = module.val_type(ty).ok_or(Unsupported)?;
            if !is_numeric(ty) || count > 50_000 {
                return Err(Unsupported);
            }
            g.locals.extend(std::iter::repeat_n(ty, count as usize));
        }
        g.prologue(&params);
        let end = g.a.label();
        let results = ty.results.len() as u32;
        g.open_frame(Kind::Function, 0, results, end, end, None);
        let mut reader = body.get_operators_reader().map_err(|_| Unsupported)?;
        while !reader.eof() {
            // Borrowed where `read` left it: moving the `Operator` out of
            // the `Result` copied it with wide loads right after the
            // reader's narrow stores, a store-forwarding stall per
            // operator (a quarter of this loop's samples).
            let read = reader.read();
            let Ok(op) = &read else {
                return Err(Unsupported);
            };
            g.operator(op)?;
        }
        g.finish()
    }

    // --- frame layout ---

    fn local(&self, index: u32) -> Mem {
        Mem::at(RBP, -(FRAME_HEADER + 8 * (index as i32 + 1)))
    }

    fn slot(&self, height: u32) -> Mem {
        Mem::at(
            RBP,
            -(FRAME_HEADER + 8 * (self.locals.len() as i32 + height as i32 + 1)),
        )
    }

    fn vmctx(&self) -> Mem {
        Mem::at(RBP, -8)
    }

    fn caller_vmctx(&self) -> Mem {
        Mem::at(RBP, -16)
    }

    /// Enters a block whose `params` values are on top of the stack.
    fn open_frame(
        &mut self,
        kind: Kind,
        params: u32,
        results: u32,
        target: Label,
        end: Label,
        else_label: Option<Label>,
    ) {
        self.frames.push(Frame {
            kind,
            base: self.height - params,
            params,
            results,
            target,
            end,
            else_label,
            branched: false,
        });
    }

    fn trap_label(&mut self, code: cranelift_codegen::ir::TrapCode) -> Label {
        let raw = code.as_raw().get();
        if let Some(&(_, label)) = self.trap_stubs.iter().find(|(c, _)| *c == raw) {
            return label;
        }
        let label = self.a.label();
        self.trap_stubs.push((raw, label));
        label
    }

    /// `push rbp; mov rbp, rsp`, the stack check, the frame, parameters
    /// and zeroed locals, then the entry's interrupt check and tier-up
    /// count (as `translate` does).
    fn prologue(&mut self, params: &[ArgLoc]) {
        self.a.push_rbp();
        self.a.mov_rr(true, RBP, RSP);
        self.stack_check();
        // sub rsp, frame
        self.a.alu_imm32(true, 5, RSP, 0);
        self.frame_size_fields.push((self.a.offset() - 4, false));
        self.a.store(true, self.vmctx(), RDI);
        self.a.store(true, self.caller_vmctx(), RSI);
        for (i, loc) in params.iter().enumerate() {
            let slot = self.local(i as u32);
            match *loc {
                ArgLoc::Gpr(reg) => self.a.store(true, slot, reg),
                ArgLoc::Xmm(x) => self.a.sse_mem(Some(0xf2), 0x11, x, slot),
                ArgLoc::Stack(offset) => {
                    self.a.load(true, RAX, Mem::at(RBP, 16 + offset));
                    self.a.store(true, slot, RAX);
                }
            }
        }
        let declared = self.locals.len() - params.len();
        if declared > 0 {
            self.a.alu_rr(false, 0x31, RAX, RAX);
            if declared <= 16 {
                for i in params.len()..self.locals.len() {
                    let slot = self.local(i as u32);
                    self.a.store(true, slot, RAX);
                }
            } else {
                // rep stosq from the lowest local up.
                let lowest = self.local(self.locals.len() as u32 - 1);
                self.a.lea(RDI, lowest);
                self.a.mov_imm32(RCX, declared as u32);
                self.a.rep_stosq();
                self.a.load(true, RDI, self.vmctx());
            }
        }
        self.check_interrupt();
        self.count_for_tier_up();
    }

    /// `lea rax, [rsp - frame]; cmp rax, [rdi + stack_limit]; jb overflow`:
    /// checked before the frame is allocated, so no frame size can step
    /// past the limit (with the stack arguments of its calls counted in).
    fn stack_check(&mut self) {
        self.a.lea(RAX, Mem::patchable(RSP));
        self.frame_size_fields.push((self.a.offset() - 4, true));
        self.a
            .alu_mem(true, 0x39, RAX, Mem::at(RDI, offsets::VMCTX_STACK_LIMIT));
        let overflow = self.trap_label(cranelift_codegen::ir::TrapCode::STACK_OVERFLOW);
        self.a.jcc(Cond::Below, overflow);
    }

    /// Traps with `interrupted` once the store's interrupt counter is set.
    fn check_interrupt(&mut self) {
        if !self.req.info.interrupts {
            return;
        }
        self.a.load(true, RAX, self.vmctx());
        self.a.load(true, RAX, Mem::at(RAX, offsets::VMCTX_STORE));
        self.a
            .load(true, RAX, Mem::at(RAX, offsets::STORE_INTERRUPT));
        self.a.alu_mem_imm(true, 7, Mem::at(RAX, 0), 0);
        let interrupted = self.trap_label(traps::INTERRUPTED);
        self.a.jcc(Cond::NotEqual, interrupted);
    }

    /// One step of the tier-up countdown; asks for the optimized code when
    /// it reaches zero.
    fn count_for_tier_up(&mut self) {
        let Some(counter) = self.req.tier_up_counter else {
            return;
        };
        self.a.mov_imm64(RAX, counter as u64);
        self.a.alu_mem_imm(false, 5, Mem::at(RAX, 0), 1);
        let next = self.a.label();
        self.countdown_branches.push(self.a.offset());
        self.a.jcc(Cond::NotEqual, next);
        let function = BuiltinArg::Imm(self.req.func_index());
        self.call_builtin(Builtin::TierUp, &[function]);
        self.a.bind(next);
    }

    /// Calls `builtin(vmctx, args…)` in the platform convention, after
    /// recording this frame and function as where a trap inside it
    /// starts its backtrace. The result, if any, is in rax.
    fn call_builtin(&mut self, builtin: Builtin, args: &[BuiltinArg]) {
        self.a.load(true, RDI, self.vmctx());
        self.a.load(true, RCX, Mem::at(RDI, offsets::VMCTX_STORE));
        self.a
            .store(true, Mem::at(RCX, offsets::STORE_LAST_EXIT_FP), RBP);
        self.a.lea_code(RAX, 0);
        self.a
            .store(true, Mem::at(RCX, offsets::STORE_LAST_EXIT_PC), RAX);
        let regs = [RSI, RDX, RCX];
        for (&arg, &reg) in args.iter().zip(&regs) {
            match arg {
                BuiltinArg::Imm(value) => self.a.mov_imm32(reg, value),
                BuiltinArg::Slot32(slot) => self.a.load(false, reg, slot),
            }
        }
        self.a
            .load(true, RAX, Mem::at(RDI, offsets::VMCTX_BUILTINS));
        self.a.call_mem(Mem::at(RAX, builtin.offset()));
    }

    fn epilogue(&mut self) {
        self.a.mov_rr(true, RSP, RBP);
        self.a.pop_rbp();
        self.a.ret(self.incoming_stack as u16);
    }

    /// Moves the function's result (if any) from the top of the stack to
    /// rax or xmm0 and returns.
    fn return_(&mut self) {
        let ty = self.req.info.module.func_type(self.req.func_index());
        if let Some(&result) = ty.results.first() {
            match result {
                ValType::F32 | ValType::F64 => {
                    let top = self.operand(self.height - 1);
                    self.a.sse_mem(Some(0xf2), 0x10, 0, top);
                }
                _ => {
                    self.pop_to_rax(true);
                    self.height += 1;
                }
            }
        }
        self.epilogue();
    }

    fn finish(mut self) -> Result<(FunctionCode, CallProfile), Unsupported> {
        for i in 0..self.trap_stubs.len() {
            let (code, label) = self.trap_stubs[i];
            self.a.bind(label);
            self.a.trap_here(code);
            self.a.ud2();
        }
        let slots = self.locals.len() as i64 + i64::from(self.max_height);
        let frame = (i64::from(FRAME_HEADER) + 8 * slots + i64::from(self.staging) + 15) & !15;
        let frame = u32::try_from(frame).map_err(|_| Unsupported)?;
        let checked = frame.checked_add(self.outgoing as u32).ok_or(Unsupported)?;
        for i in 0..self.frame_size_fields.len() {
            let (at, negated) = self.frame_size_fields[i];
            let value = if negated {
                checked.wrapping_neg()
            } else {
                frame
            };
            self.a.patch_u32(at, value);
        }
        if self.profile.sites > MAX_OPTIMIZED_CALLS {
            self.disable_countdowns();
        }
        let profile = std::mem::take(&mut self.profile);
        let (bytes, traps) = self.a.finish().ok_or(Unsupported)?;
        Ok((FunctionCode::single_pass(bytes, traps), profile))
    }

    /// A function with thousands of calls stays in baseline code for good
    /// (`LazyCode::compile`: the optimizing register allocator would be
    /// quadratic in them), which is only known once its body has been
    /// walked: each countdown's conditional branch around the call out
    /// becomes `nop; jmp` to the same place (six bytes either way), so the
    /// code counts but never asks to tier up. Compiling the function again
    /// without countdowns cost the generated module's `_start` (20,000
    /// calls) 14 ms on the path to its first call.
    fn disable_countdowns(&mut self) {
        for &at in &self.countdown_branches {
            debug_assert_eq!(self.a.code[at], 0x0f, "a jcc with a 32-bit offset");
            self.a.code[at] = 0x90;
            self.a.code[at + 1] = 0xe9;
        }
    }

    fn operator(&mut self, op: &Operator<'_>) -> Result<(), Unsupported> {
        if !self.reachable {
            return self.skip_unreachable(op);
        }
        if self.flags_on_top().is_some()
            && !matches!(
                op,
                Operator::BrIf { .. } | Operator::If { .. } | Operator::I32Eqz
            )
        {
            self.flags_to_rax();
        }
        if let Some(height) = self.rax_height()
            && !self.keeps_rax(op, height)
        {
            self.spill_rax();
        }
        if self.control(op)? || self.variables(op)? || self.memory(op)? || self.numeric(op)? {
            return Ok(());
        }
        Err(Unsupported)
    }
}
