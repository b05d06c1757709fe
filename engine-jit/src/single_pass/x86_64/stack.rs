//! The operand stack of the single-pass compiler: which heights hold
//! their value in their slot and which are pending ([`Pending`]: a local
//! not yet copied, a constant not yet stored, a result still in rax), and
//! the moves that store them when an operator, a local write or a control
//! instruction needs them in place.

use wasmparser::Operator;

use super::encode::{Cond, Label, Mem, RAX, RCX};
use super::{Codegen, memory, ops};

/// What an operand-stack height holds until it is stored in its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pending {
    /// The value is in the height's slot.
    Slot,
    /// The current value of a local, not yet copied: read from the
    /// local's slot, and stored before the local is written.
    Local(u32),
    /// A constant's bits, not yet stored.
    Const(u64),
    /// An integer result in rax, not yet stored; an i32 with its upper
    /// half zero (as every 32-bit x86 operation leaves it). At most one
    /// height is `Rax` (`Codegen::in_rax`).
    Rax,
    /// An i32 comparison's result, only in the flags: 1 when the
    /// condition holds. Only ever the top value, and only until the next
    /// operator: `br_if`, `if` and `i32.eqz` take it from the flags; before
    /// any other operator it becomes a value in rax
    /// ([`Codegen::flags_to_rax`]).
    Flags(Cond),
}

/// Where a popped condition is (see [`Codegen::pop_condition`]).
#[derive(Debug, Clone, Copy)]
pub(super) enum Condition {
    Slot(Mem),
    Rax,
    Flags(Cond),
}

impl Codegen<'_> {
    /// The slot a new value goes to.
    pub(super) fn push(&mut self) -> Mem {
        let slot = self.slot(self.height);
        self.push_pending(Pending::Slot);
        slot
    }

    /// Pushes a value that is not in its slot yet.
    pub(super) fn push_pending(&mut self, value: Pending) {
        let height = self.height as usize;
        if self.pending.len() <= height {
            self.pending.resize(height + 1, Pending::Slot);
        }
        self.pending[height] = value;
        self.height += 1;
        self.max_height = self.max_height.max(self.height);
    }

    /// Where the top value can be read. Uses no register, so an operator
    /// may pop operands after loading others.
    pub(super) fn pop(&mut self) -> Mem {
        self.height -= 1;
        self.operand(self.height)
    }

    /// Where the value at `height` can be read: its slot (a pending
    /// constant is stored there first, without a register) or the slot of
    /// the local it is pending from.
    pub(super) fn operand(&mut self, height: u32) -> Mem {
        let slot = self.slot(height);
        match self.pending[height as usize] {
            Pending::Slot => slot,
            Pending::Local(index) => self.local(index),
            Pending::Const(bits) => {
                self.store_constant(slot, bits);
                self.pending[height as usize] = Pending::Slot;
                slot
            }
            Pending::Rax => {
                self.a.store(true, slot, RAX);
                self.pending[height as usize] = Pending::Slot;
                slot
            }
            Pending::Flags(_) => {
                self.materialize(height);
                slot
            }
        }
    }

    /// Loads the 64 bits of the value at `height` into `reg`: a pending
    /// constant as an immediate and a value pending in rax by a move,
    /// neither stored.
    pub(super) fn load_operand(&mut self, reg: u8, height: u32) {
        match self.pending[height as usize] {
            Pending::Const(bits) => self.a.mov_imm64(reg, bits),
            Pending::Rax => self.a.mov_rr(true, reg, RAX),
            _ => {
                let slot = self.operand(height);
                self.a.load(true, reg, slot);
            }
        }
    }

    /// The height whose value is in rax: `in_rax` unless that height has
    /// been popped or reused since.
    pub(super) fn rax_height(&self) -> Option<u32> {
        self.in_rax
            .filter(|&h| h < self.height && self.pending[h as usize] == Pending::Rax)
    }

    /// The top value's result is in rax (an i32 zero-extended), not
    /// stored.
    pub(super) fn result_in_rax(&mut self) {
        let top = self.height - 1;
        self.pending[top as usize] = Pending::Rax;
        self.in_rax = Some(top);
    }

    /// Pops the top value into rax (an i32 zero-extended).
    pub(super) fn pop_to_rax(&mut self, wide: bool) {
        if self.rax_height() == Some(self.height - 1) {
            self.height -= 1;
        } else {
            let value = self.pop();
            self.a.load(wide, RAX, value);
        }
    }

    /// Pops a condition: in the flags, in rax, or where to read it.
    pub(super) fn pop_condition(&mut self) -> Condition {
        let top = self.height - 1;
        if let Pending::Flags(cond) = self.pending[top as usize] {
            self.height -= 1;
            Condition::Flags(cond)
        } else if self.rax_height() == Some(top) {
            self.height -= 1;
            Condition::Rax
        } else {
            Condition::Slot(self.pop())
        }
    }

    /// Jumps to `target` when `condition` is 0. Between `pop_condition`
    /// and this, only moves may be emitted (`flush`): they keep the flags.
    pub(super) fn jump_unless(&mut self, condition: Condition, target: Label) {
        let cond = match condition {
            Condition::Slot(at) => {
                self.a.alu_mem_imm(false, 7, at, 0);
                Cond::Equal
            }
            Condition::Rax => {
                self.a.alu_rr(false, 0x85, RAX, RAX);
                Cond::Equal
            }
            Condition::Flags(cond) => cond.negate(),
        };
        self.a.jcc(cond, target);
    }

    /// Leaves the comparison result on top in the flags, not stored.
    pub(super) fn result_in_flags(&mut self, cond: Cond) {
        let top = self.height - 1;
        self.pending[top as usize] = Pending::Flags(cond);
    }

    /// The condition on top of the stack, if it is in the flags.
    pub(super) fn flags_on_top(&self) -> Option<Cond> {
        let top = self.height.checked_sub(1)?;
        match self.pending[top as usize] {
            Pending::Flags(cond) => Some(cond),
            _ => None,
        }
    }

    /// The comparison result in the flags becomes 0 or 1 in rax, before
    /// an operator that does not take it from the flags (`setcc` and
    /// `movzx`, as the comparison would have emitted).
    pub(super) fn flags_to_rax(&mut self) {
        if let Some(cond) = self.flags_on_top() {
            self.a.set_eax(cond);
            self.result_in_rax();
        }
    }

    /// Stores the value in rax, if one is pending, before code that
    /// overwrites rax without taking it.
    pub(super) fn spill_rax(&mut self) {
        if let Some(height) = self.rax_height() {
            self.materialize(height);
        }
    }

    /// Whether `op` can run with the value in rax at `height` left there:
    /// it emits no code, or it pops that value (before emitting anything
    /// that overwrites rax, as every operator here pops first).
    pub(super) fn keeps_rax(&self, op: &Operator<'_>, height: u32) -> bool {
        use Operator as O;
        let depth = self.height - 1 - height;
        match op {
            O::LocalGet { .. }
            | O::I32Const { .. }
            | O::I64Const { .. }
            | O::F32Const { .. }
            | O::F64Const { .. }
            | O::Nop
            | O::Drop
            | O::I64ReinterpretF64
            | O::F32ReinterpretI32
            | O::I32ReinterpretF32
            | O::F64ReinterpretI64 => true,
            O::Block { .. }
            | O::Loop { .. }
            | O::Else
            | O::End
            | O::Br { .. }
            | O::BrTable { .. }
            | O::Return
            | O::Call { .. }
            | O::CallIndirect { .. }
            | O::Unreachable
            | O::Select
            | O::TypedSelect { .. }
            | O::GlobalGet { .. }
            | O::MemorySize { .. }
            | O::MemoryGrow { .. } => false,
            O::F32Copysign | O::F64Copysign => depth <= 1,
            _ if ops::is_binary(op) || memory::store_access(op).is_some() => depth <= 1,
            // The rest pop one operand: locals, globals and conditions,
            // unary operators and conversions, loads.
            _ => depth == 0,
        }
    }

    /// The 64 bits of a constant into `slot`, without a register.
    pub(super) fn store_constant(&mut self, slot: Mem, bits: u64) {
        match i32::try_from(bits as i64) {
            Ok(value) => self.a.store_imm(true, slot, value),
            Err(_) => {
                self.a.store_imm(false, slot, bits as u32 as i32);
                let high = Mem::at(slot.base, slot.disp + 4);
                self.a.store_imm(false, high, (bits >> 32) as u32 as i32);
            }
        }
    }

    /// Stores the value at `height` in its slot if it is pending (uses
    /// rcx, leaving a value in rax there).
    pub(super) fn materialize(&mut self, height: u32) {
        let slot = self.slot(height);
        match self.pending[height as usize] {
            Pending::Slot => return,
            Pending::Local(index) => {
                let local = self.local(index);
                self.a.load(true, RCX, local);
                self.a.store(true, slot, RCX);
            }
            Pending::Const(bits) => self.store_constant(slot, bits),
            Pending::Rax => self.a.store(true, slot, RAX),
            Pending::Flags(cond) => {
                // Only the top, and turned into rax before any operator
                // that does not branch on it: no other value is in rax.
                debug_assert_eq!(height + 1, self.height, "flags only on top");
                self.a.set_eax(cond);
                self.a.store(true, slot, RAX);
            }
        }
        self.pending[height as usize] = Pending::Slot;
    }

    /// Stores every pending value below `height`: before control flow
    /// joins or leaves, where the other paths have theirs in slots.
    pub(super) fn flush(&mut self) {
        for height in 0..self.height {
            self.materialize(height);
        }
    }

    /// Stores the pending copies of local `index` below `below` (height):
    /// the local is about to change.
    pub(super) fn before_local_write(&mut self, index: u32, below: u32) {
        for height in 0..below {
            if self.pending[height as usize] == Pending::Local(index) {
                self.materialize(height);
            }
        }
    }

    /// After a join: the values from `from` to the height are in their
    /// slots, where every path into the join left them.
    pub(super) fn joined_in_slots(&mut self, from: u32) {
        let to = self.height as usize;
        if self.pending.len() < to {
            self.pending.resize(to, Pending::Slot);
        }
        for value in &mut self.pending[(from as usize).min(to)..to] {
            *value = Pending::Slot;
        }
    }
}
