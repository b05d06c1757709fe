//! The threads proposal's operators: atomic loads, stores, read-modify-
//! write and compare-exchange in every width, `atomic.fence`, and
//! `memory.atomic.wait32/64` / `notify` (builtins over `atomics_wait.rs`).
//!
//! Every atomic access traps "unaligned atomic" unless its effective
//! address is a multiple of its size. Memory bases are page-aligned
//! mappings, so the native address has the same low bits as the Wasm
//! effective address and is what gets tested, after the bounds check the
//! memory's strategy needs (a guard-page memory faults on the access
//! itself, so alignment is checked first there).

use cranelift_codegen::ir::{AtomicRmwOp, InstBuilder, Type, Value, types};
use wasmparser::{MemArg, Operator};

use super::TranslateError;
use super::Translator;
use super::bounds_checks::heap_flags;
use crate::traps;
use crate::vmcontext::Builtin;

impl Translator<'_, '_> {
    pub(super) fn atomics(&mut self, op: &Operator<'_>) -> Result<bool, TranslateError> {
        use AtomicRmwOp::{Add, And, Or, Sub, Xchg, Xor};
        use types::{I8, I16, I32, I64};
        match *op {
            Operator::AtomicFence => {
                self.b.ins().fence();
            }
            Operator::I32AtomicLoad { memarg } => self.atomic_load(memarg, I32, I32),
            Operator::I64AtomicLoad { memarg } => self.atomic_load(memarg, I64, I64),
            Operator::I32AtomicLoad8U { memarg } => self.atomic_load(memarg, I32, I8),
            Operator::I32AtomicLoad16U { memarg } => self.atomic_load(memarg, I32, I16),
            Operator::I64AtomicLoad8U { memarg } => self.atomic_load(memarg, I64, I8),
            Operator::I64AtomicLoad16U { memarg } => self.atomic_load(memarg, I64, I16),
            Operator::I64AtomicLoad32U { memarg } => self.atomic_load(memarg, I64, I32),
            Operator::I32AtomicStore { memarg } => self.atomic_store(memarg, I32),
            Operator::I64AtomicStore { memarg } => self.atomic_store(memarg, I64),
            Operator::I32AtomicStore8 { memarg } | Operator::I64AtomicStore8 { memarg } => {
                self.atomic_store(memarg, I8)
            }
            Operator::I32AtomicStore16 { memarg } | Operator::I64AtomicStore16 { memarg } => {
                self.atomic_store(memarg, I16)
            }
            Operator::I64AtomicStore32 { memarg } => self.atomic_store(memarg, I32),

            Operator::I32AtomicRmwAdd { memarg } => self.atomic_rmw(memarg, Add, I32, I32),
            Operator::I64AtomicRmwAdd { memarg } => self.atomic_rmw(memarg, Add, I64, I64),
            Operator::I32AtomicRmw8AddU { memarg } => self.atomic_rmw(memarg, Add, I32, I8),
            Operator::I32AtomicRmw16AddU { memarg } => self.atomic_rmw(memarg, Add, I32, I16),
            Operator::I64AtomicRmw8AddU { memarg } => self.atomic_rmw(memarg, Add, I64, I8),
            Operator::I64AtomicRmw16AddU { memarg } => self.atomic_rmw(memarg, Add, I64, I16),
            Operator::I64AtomicRmw32AddU { memarg } => self.atomic_rmw(memarg, Add, I64, I32),

            Operator::I32AtomicRmwSub { memarg } => self.atomic_rmw(memarg, Sub, I32, I32),
            Operator::I64AtomicRmwSub { memarg } => self.atomic_rmw(memarg, Sub, I64, I64),
            Operator::I32AtomicRmw8SubU { memarg } => self.atomic_rmw(memarg, Sub, I32, I8),
            Operator::I32AtomicRmw16SubU { memarg } => self.atomic_rmw(memarg, Sub, I32, I16),
            Operator::I64AtomicRmw8SubU { memarg } => self.atomic_rmw(memarg, Sub, I64, I8),
            Operator::I64AtomicRmw16SubU { memarg } => self.atomic_rmw(memarg, Sub, I64, I16),
            Operator::I64AtomicRmw32SubU { memarg } => self.atomic_rmw(memarg, Sub, I64, I32),

            Operator::I32AtomicRmwAnd { memarg } => self.atomic_rmw(memarg, And, I32, I32),
            Operator::I64AtomicRmwAnd { memarg } => self.atomic_rmw(memarg, And, I64, I64),
            Operator::I32AtomicRmw8AndU { memarg } => self.atomic_rmw(memarg, And, I32, I8),
            Operator::I32AtomicRmw16AndU { memarg } => self.atomic_rmw(memarg, And, I32, I16),
            Operator::I64AtomicRmw8AndU { memarg } => self.atomic_rmw(memarg, And, I64, I8),
            Operator::I64AtomicRmw16AndU { memarg } => self.atomic_rmw(memarg, And, I64, I16),
            Operator::I64AtomicRmw32AndU { memarg } => self.atomic_rmw(memarg, And, I64, I32),

            Operator::I32AtomicRmwOr { memarg } => self.atomic_rmw(memarg, Or, I32, I32),
            Operator::I64AtomicRmwOr { memarg } => self.atomic_rmw(memarg, Or, I64, I64),
            Operator::I32AtomicRmw8OrU { memarg } => self.atomic_rmw(memarg, Or, I32, I8),
            Operator::I32AtomicRmw16OrU { memarg } => self.atomic_rmw(memarg, Or, I32, I16),
            Operator::I64AtomicRmw8OrU { memarg } => self.atomic_rmw(memarg, Or, I64, I8),
            Operator::I64AtomicRmw16OrU { memarg } => self.atomic_rmw(memarg, Or, I64, I16),
            Operator::I64AtomicRmw32OrU { memarg } => self.atomic_rmw(memarg, Or, I64, I32),

            Operator::I32AtomicRmwXor { memarg } => self.atomic_rmw(memarg, Xor, I32, I32),
            Operator::I64AtomicRmwXor { memarg } => self.atomic_rmw(memarg, Xor, I64, I64),
            Operator::I32AtomicRmw8XorU { memarg } => self.atomic_rmw(memarg, Xor, I32, I8),
            Operator::I32AtomicRmw16XorU { memarg } => self.atomic_rmw(memarg, Xor, I32, I16),
            Operator::I64AtomicRmw8XorU { memarg } => self.atomic_rmw(memarg, Xor, I64, I8),
            Operator::I64AtomicRmw16XorU { memarg } => self.atomic_rmw(memarg, Xor, I64, I16),
            Operator::I64AtomicRmw32XorU { memarg } => self.atomic_rmw(memarg, Xor, I64, I32),

            Operator::I32AtomicRmwXchg { memarg } => self.atomic_rmw(memarg, Xchg, I32, I32),
            Operator::I64AtomicRmwXchg { memarg } => self.atomic_rmw(memarg, Xchg, I64, I64),
            Operator::I32AtomicRmw8XchgU { memarg } => self.atomic_rmw(memarg, Xchg, I32, I8),
            Operator::I32AtomicRmw16XchgU { memarg } => self.atomic_rmw(memarg, Xchg, I32, I16),
            Operator::I64AtomicRmw8XchgU { memarg } => self.atomic_rmw(memarg, Xchg, I64, I8),
            Operator::I64AtomicRmw16XchgU { memarg } => self.atomic_rmw(memarg, Xchg, I64, I16),
            Operator::I64AtomicRmw32XchgU { memarg } => self.atomic_rmw(memarg, Xchg, I64, I32),

            Operator::I32AtomicRmwCmpxchg { memarg } => self.atomic_cmpxchg(memarg, I32, I32),
            Operator::I64AtomicRmwCmpxchg { memarg } => self.atomic_cmpxchg(memarg, I64, I64),
            Operator::I32AtomicRmw8CmpxchgU { memarg } => self.atomic_cmpxchg(memarg, I32, I8),
            Operator::I32AtomicRmw16CmpxchgU { memarg } => self.atomic_cmpxchg(memarg, I32, I16),
            Operator::I64AtomicRmw8CmpxchgU { memarg } => self.atomic_cmpxchg(memarg, I64, I8),
            Operator::I64AtomicRmw16CmpxchgU { memarg } => self.atomic_cmpxchg(memarg, I64, I16),
            Operator::I64AtomicRmw32CmpxchgU { memarg } => self.atomic_cmpxchg(memarg, I64, I32),

            Operator::MemoryAtomicWait32 { memarg } => {
                self.atomic_wait(memarg, I32, Builtin::MemoryAtomicWait32)
            }
            Operator::MemoryAtomicWait64 { memarg } => {
                self.atomic_wait(memarg, I64, Builtin::MemoryAtomicWait64)
            }
            Operator::MemoryAtomicNotify { memarg } => {
                let count = self.pop();
                let address = self.atomic_address(memarg, 4);
                let memory = self.b.ins().iconst(I32, i64::from(memarg.memory));
                let woken = self
                    .env
                    .call_builtin(
                        &mut self.b,
                        Builtin::MemoryAtomicNotify,
                        &[memory, address, count],
                    )
                    .expect("notify returns a count");
                self.push(woken);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Pops the index and returns the checked native address of a
    /// `size`-byte atomic access, trapping if it is misaligned.
    fn atomic_address(&mut self, memarg: MemArg, size: u32) -> Value {
        let index = self.pop();
        let address = self.heap_address(memarg.memory, index, memarg.offset, size);
        if size > 1 {
            let misaligned = self.b.ins().band_imm_u(address, i64::from(size - 1));
            self.b.ins().trapnz(misaligned, traps::UNALIGNED_ATOMIC);
        }
        address
    }

    /// Narrows an operand to the access width `access` of a `ty` operator.
    fn narrow_to_access(&mut self, value: Value, ty: Type, access: Type) -> Value {
        if access == ty {
            value
        } else {
            self.b.ins().ireduce(access, value)
        }
    }

    /// Widens an `access`-wide result to the operator's type, with zeros.
    fn widen_from_access(&mut self, value: Value, ty: Type, access: Type) -> Value {
        if access == ty {
            value
        } else {
            self.b.ins().uextend(ty, value)
        }
    }

    fn atomic_load(&mut self, memarg: MemArg, ty: Type, access: Type) {
        let address = self.atomic_address(memarg, access.bytes());
        let value = self.b.ins().atomic_load(access, heap_flags(), address);
        let value = self.widen_from_access(value, ty, access);
        self.push(value);
    }

    fn atomic_store(&mut self, memarg: MemArg, access: Type) {
        let value = self.pop();
        let address = self.atomic_address(memarg, access.bytes());
        let ty = self.b.func.dfg.value_type(value);
        let value = self.narrow_to_access(value, ty, access);
        self.b.ins().atomic_store(heap_flags(), value, address);
    }

    fn atomic_rmw(&mut self, memarg: MemArg, op: AtomicRmwOp, ty: Type, access: Type) {
        let operand = self.pop();
        let address = self.atomic_address(memarg, access.bytes());
        let operand = self.narrow_to_access(operand, ty, access);
        let old = self
            .b
            .ins()
            .atomic_rmw(access, heap_flags(), op, address, operand);
        let old = self.widen_from_access(old, ty, access);
        self.push(old);
    }

    fn atomic_cmpxchg(&mut self, memarg: MemArg, ty: Type, access: Type) {
        let replacement = self.pop();
        let expected = self.pop();
        let address = self.atomic_address(memarg, access.bytes());
        let expected = self.narrow_to_access(expected, ty, access);
        let replacement = self.narrow_to_access(replacement, ty, access);
        let old = self
            .b
            .ins()
            .atomic_cas(heap_flags(), address, expected, replacement);
        let old = self.widen_from_access(old, ty, access);
        self.push(old);
    }

    fn atomic_wait(&mut self, memarg: MemArg, ty: Type, builtin: Builtin) {
        let timeout = self.pop();
        let expected = self.pop();
        let address = self.atomic_address(memarg, ty.bytes());
        let memory = self.b.ins().iconst(types::I32, i64::from(memarg.memory));
        let outcome = self
            .env
            .call_builtin(&mut self.b, builtin, &[memory, address, expected, timeout])
            .expect("wait returns an outcome");
        self.push(outcome);
    }
}
