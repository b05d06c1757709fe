//! Locals, globals and linear memory: slot copies, global storage in the
//! VM context, and accesses to memory 0 through its guard region.

use wasmparser::Operator;

use super::encode::{Mem, R11, RAX, RCX, RDX};
use super::{BuiltinArg, Codegen, Pending, Unsupported, is_numeric, is_wide};
use crate::memory_strategy::MemoryStrategy;
use crate::traps;
use crate::vmcontext::{Builtin, offsets};

impl Codegen<'_> {
    pub(super) fn variables(&mut self, op: &Operator<'_>) -> Result<bool, Unsupported> {
        match *op {
            Operator::LocalGet { local_index } => {
                self.push_pending(Pending::Local(local_index));
            }
            Operator::LocalSet { local_index } | Operator::LocalTee { local_index } => {
                let tee = matches!(op, Operator::LocalTee { .. });
                let top = self.height - 1;
                let value = self.pending[top as usize];
                if value == Pending::Local(local_index) {
                    // The local's own value: nothing changes.
                    self.height -= u32::from(!tee);
                    return Ok(true);
                }
                self.before_local_write(local_index, top);
                let dst = self.local(local_index);
                match value {
                    Pending::Const(bits) => self.store_constant(dst, bits),
                    Pending::Rax => self.a.store(true, dst, RAX),
                    _ => {
                        let src = self.operand(top);
                        self.a.load(true, RAX, src);
                        self.a.store(true, dst, RAX);
                    }
                }
                self.height -= u32::from(!tee);
            }
            Operator::GlobalGet { global_index } => {
                let wide = self.global_address(global_index)?;
                self.push();
                self.a.load(wide, RAX, Mem::at(RCX, 0));
                self.result_in_rax();
            }
            Operator::GlobalSet { global_index } => {
                let wide = self.global_address(global_index)?;
                let src = self.pop();
                self.a.load(true, RAX, src);
                self.a.store(wide, Mem::at(RCX, 0), RAX);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Puts global `index`'s address in rcx; whether it is 64 bits wide.
    pub(super) fn global_address(&mut self, index: u32) -> Result<bool, Unsupported> {
        let imported = self.req.info.module.num_imported_globals();
        let ty = self
            .req
            .info
            .global_types
            .get(index as usize)
            .ok_or(Unsupported)?
            .content;
        if !is_numeric(ty) {
            return Err(Unsupported);
        }
        self.a.load(true, RCX, self.vmctx());
        if index < imported {
            let offset =
                i32::try_from(i64::from(index) * offsets::POINTER_SIZE).map_err(|_| Unsupported)?;
            self.a.load(true, RCX, Mem::at(RCX, offsets::VMCTX_GLOBALS));
            self.a.load(true, RCX, Mem::at(RCX, offset));
        } else {
            let offset = i32::try_from(i64::from(index - imported) * offsets::GLOBAL_SIZE)
                .map_err(|_| Unsupported)?;
            self.a
                .load(true, RCX, Mem::at(RCX, offsets::VMCTX_DEFINED_GLOBALS));
            self.a.lea(RCX, Mem::at(RCX, offset));
        }
        Ok(is_wide(ty))
    }

    /// Puts the host address of an access at `memarg` into a memory
    /// operand: memory 0's base in rcx plus the zero-extended index (popped
    /// into rax) and the static offset; rdx is left alone. Only reserved memories (whose
    /// guard region catches every out-of-bounds access) are supported.
    pub(super) fn address(&mut self, memarg: &wasmparser::MemArg) -> Result<Mem, Unsupported> {
        let reserved = matches!(
            self.req.info.memory_strategies.first(),
            Some(MemoryStrategy::Reserved { .. })
        );
        if memarg.memory != 0 || !reserved {
            return Err(Unsupported);
        }
        // A constant address with its offset is a displacement while the
        // sum stays below 2 GiB (inside the reservation, as every address
        // plus offset is); any other address goes to rax.
        let constant = match self.pending[self.height as usize - 1] {
            Pending::Const(bits) => i32::try_from(u64::from(bits as u32) + memarg.offset).ok(),
            _ => None,
        };
        if constant.is_some() {
            self.height -= 1;
        } else {
            self.pop_to_rax(false);
        }
        self.a.load(true, RCX, self.vmctx());
        self.a
            .load(true, RCX, Mem::at(RCX, offsets::VMCTX_MEMORY0_BASE));
        if let Some(disp) = constant {
            return Ok(Mem::at(RCX, disp));
        }
        match i32::try_from(memarg.offset) {
            Ok(disp) => Ok(Mem::indexed(RCX, RAX, disp)),
            Err(_) => {
                // r11: rdx holds a store's value.
                self.a.mov_imm64(R11, memarg.offset);
                self.a.alu_rr(true, 0x01, RAX, R11);
                Ok(Mem::indexed(RCX, RAX, 0))
            }
        }
    }

    pub(super) fn memory(&mut self, op: &Operator<'_>) -> Result<bool, Unsupported> {
        use Operator as O;
        let oob = traps::HEAP_OUT_OF_BOUNDS.as_raw().get();
        // Loads: (memarg, 64-bit result, bits, signed).
        let load = match *op {
            O::I32Load { memarg } | O::F32Load { memarg } => Some((memarg, false, 32, false)),
            O::I64Load { memarg } | O::F64Load { memarg } => Some((memarg, true, 64, false)),
            O::I32Load8S { memarg } => Some((memarg, false, 8, true)),
            O::I32Load8U { memarg } => Some((memarg, false, 8, false)),
            O::I32Load16S { memarg } => Some((memarg, false, 16, true)),
            O::I32Load16U { memarg } => Some((memarg, false, 16, false)),
            O::I64Load8S { memarg } => Some((memarg, true, 8, true)),
            O::I64Load8U { memarg } => Some((memarg, true, 8, false)),
            O::I64Load16S { memarg } => Some((memarg, true, 16, true)),
            O::I64Load16U { memarg } => Some((memarg, true, 16, false)),
            O::I64Load32S { memarg } => Some((memarg, true, 32, true)),
            O::I64Load32U { memarg } => Some((memarg, true, 32, false)),
            _ => None,
        };
        if let Some((memarg, wide, bits, signed)) = load {
            let mem = self.address(&memarg)?;
            self.a.trap_here(oob);
            match (bits, signed) {
                (64, _) => self.a.load(true, RAX, mem),
                (32, false) => self.a.load(false, RAX, mem),
                (32, true) => self.a.load_sx32(RAX, mem),
                _ => self.a.load_narrow(wide, bits, signed, RAX, mem),
            }
            self.push();
            self.result_in_rax();
            return Ok(true);
        }
        if let Some((memarg, bits)) = store_access(op) {
            // The value goes to rdx (the address then takes rax): moved
            // there when it is the result still in rax, not stored first.
            if self.rax_height() == Some(self.height - 1) {
                self.height -= 1;
                self.a.mov_rr(true, RDX, RAX);
            } else {
                let value = self.pop();
                self.a.load(true, RDX, value);
            }
            let mem = self.address(&memarg)?;
            self.a.trap_here(oob);
            match bits {
                64 => self.a.store(true, mem, RDX),
                32 => self.a.store(false, mem, RDX),
                16 => self.a.store16(mem, RDX),
                _ => self.a.store8(mem, RDX),
            }
            return Ok(true);
        }
        match *op {
            O::MemoryGrow { mem: 0 } if self.memory0_is_32_bit() => {
                let delta = self.pop();
                let args = [BuiltinArg::Imm(0), BuiltinArg::Slot32(delta)];
                self.call_builtin(Builtin::MemoryGrow, &args);
                let dst = self.push();
                self.a.store(true, dst, RAX);
                Ok(true)
            }
            O::MemorySize { mem: 0 } if self.memory0_is_32_bit() => {
                let info = self.req.info;
                let log2 = info.memory_types.first().ok_or(Unsupported)?.page_size_log2;
                self.a.load(true, RAX, self.vmctx());
                self.a
                    .load(true, RAX, Mem::at(RAX, offsets::VMCTX_MEMORIES));
                self.a.load(true, RAX, Mem::at(RAX, 0));
                self.a.load(true, RAX, Mem::at(RAX, offsets::MEMORY_LENGTH));
                self.a.mov_imm32(RCX, log2);
                self.a.shift_cl(true, 5, RAX);
                let dst = self.push();
                self.a.store(true, dst, RAX);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    pub(super) fn memory0_is_32_bit(&self) -> bool {
        self.req
            .info
            .memory_types
            .first()
            .is_some_and(|m| !m.memory64)
    }
}

/// A store's address operand and width in bits; `None` for other
/// operators (so also: whether `op` pops an address and a value).
pub(super) fn store_access(op: &Operator<'_>) -> Option<(wasmparser::MemArg, u8)> {
    use Operator as O;
    match *op {
        O::I32Store { memarg } | O::F32Store { memarg } | O::I64Store32 { memarg } => {
            Some((memarg, 32))
        }
        O::I64Store { memarg } | O::F64Store { memarg } => Some((memarg, 64)),
        O::I32Store8 { memarg } | O::I64Store8 { memarg } => Some((memarg, 8)),
        O::I32Store16 { memarg } | O::I64Store16 { memarg } => Some((memarg, 16)),
        _ => None,
    }
}
