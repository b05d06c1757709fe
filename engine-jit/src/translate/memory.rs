//! Loads, stores, memory.size/grow and the bulk-memory operators.

use cranelift_codegen::ir::{InstBuilder, Type, Value, types};
use wasmparser::{MemArg, Operator};

use super::TranslateError;
use super::Translator;
use super::bounds_checks::heap_flags;
use crate::vmcontext::Builtin;

/// How a load widens its result.
#[derive(Clone, Copy)]
enum Load {
    Plain(Type),
    Signed8(Type),
    Unsigned8(Type),
    Signed16(Type),
    Unsigned16(Type),
    Signed32,
    Unsigned32,
}

impl Load {
    fn size(self) -> u32 {
        match self {
            Self::Plain(ty) => ty.bytes(),
            Self::Signed8(_) | Self::Unsigned8(_) => 1,
            Self::Signed16(_) | Self::Unsigned16(_) => 2,
            Self::Signed32 | Self::Unsigned32 => 4,
        }
    }
}

impl Translator<'_, '_> {
    pub(super) fn memory(&mut self, op: &Operator<'_>) -> Result<bool, TranslateError> {
        use Load::*;
        use types::{F32, F64, I8, I16, I32, I64};
        match *op {
            Operator::I32Load { memarg } => self.load(memarg, Plain(I32)),
            Operator::I64Load { memarg } => self.load(memarg, Plain(I64)),
            Operator::F32Load { memarg } => self.load(memarg, Plain(F32)),
            Operator::F64Load { memarg } => self.load(memarg, Plain(F64)),
            Operator::I32Load8S { memarg } => self.load(memarg, Signed8(I32)),
            Operator::I32Load8U { memarg } => self.load(memarg, Unsigned8(I32)),
            Operator::I32Load16S { memarg } => self.load(memarg, Signed16(I32)),
            Operator::I32Load16U { memarg } => self.load(memarg, Unsigned16(I32)),
            Operator::I64Load8S { memarg } => self.load(memarg, Signed8(I64)),
            Operator::I64Load8U { memarg } => self.load(memarg, Unsigned8(I64)),
            Operator::I64Load16S { memarg } => self.load(memarg, Signed16(I64)),
            Operator::I64Load16U { memarg } => self.load(memarg, Unsigned16(I64)),
            Operator::I64Load32S { memarg } => self.load(memarg, Signed32),
            Operator::I64Load32U { memarg } => self.load(memarg, Unsigned32),
            Operator::I32Store { memarg } | Operator::F32Store { memarg } => {
                self.store(memarg, None, 4)
            }
            Operator::I64Store { memarg } | Operator::F64Store { memarg } => {
                self.store(memarg, None, 8)
            }
            Operator::I32Store8 { memarg } | Operator::I64Store8 { memarg } => {
                self.store(memarg, Some(I8), 1)
            }
            Operator::I32Store16 { memarg } | Operator::I64Store16 { memarg } => {
                self.store(memarg, Some(I16), 2)
            }
            Operator::I64Store32 { memarg } => self.store(memarg, Some(I32), 4),
            Operator::MemorySize { mem } => {
                let length = self.env.memory_length(&mut self.b, mem);
                let shift = self.env.page_size_log2(mem) as i64;
                let pages = self.b.ins().ushr_imm_u(length, shift);
                let pages = self.index_result(mem, pages);
                self.push(pages);
            }
            Operator::MemoryGrow { mem } => {
                let delta = self.pop();
                let delta = self.index_arg(mem, delta);
                let mem_index = self.b.ins().iconst(I32, i64::from(mem));
                let old = self
                    .env
                    .call_builtin(&mut self.b, Builtin::MemoryGrow, &[mem_index, delta])
                    .expect("memory.grow returns a value");
                let old = self.index_result(mem, old);
                self.push(old);
            }
            Operator::MemoryFill { mem } => {
                let (dst, value, len) = self.pop3();
                let dst = self.index_arg(mem, dst);
                let len = self.index_arg(mem, len);
                let mem_index = self.b.ins().iconst(I32, i64::from(mem));
                self.env.call_builtin(
                    &mut self.b,
                    Builtin::MemoryFill,
                    &[mem_index, dst, value, len],
                );
            }
            Operator::MemoryCopy { dst_mem, src_mem } => {
                let (dst, src, len) = self.pop3();
                let dst = self.index_arg(dst_mem, dst);
                let src = self.index_arg(src_mem, src);
                // The length is 64-bit only if both memories are.
                let len = if self.env.is_memory64(dst_mem) && self.env.is_memory64(src_mem) {
                    len
                } else {
                    self.b.ins().uextend(I64, len)
                };
                let d = self.b.ins().iconst(I32, i64::from(dst_mem));
                let s = self.b.ins().iconst(I32, i64::from(src_mem));
                self.env
                    .call_builtin(&mut self.b, Builtin::MemoryCopy, &[d, s, dst, src, len]);
            }
            Operator::MemoryInit { data_index, mem } => {
                let (dst, src, len) = self.pop3();
                let dst = self.index_arg(mem, dst);
                let m = self.b.ins().iconst(I32, i64::from(mem));
                let d = self.b.ins().iconst(I32, i64::from(data_index));
                self.env
                    .call_builtin(&mut self.b, Builtin::MemoryInit, &[m, d, dst, src, len]);
            }
            Operator::DataDrop { data_index } => {
                let d = self.b.ins().iconst(I32, i64::from(data_index));
                self.env.call_builtin(&mut self.b, Builtin::DataDrop, &[d]);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// A memory index operand as the builtins take it (`u64`).
    fn index_arg(&mut self, mem: u32, value: Value) -> Value {
        if self.env.is_memory64(mem) {
            value
        } else {
            self.b.ins().uextend(types::I64, value)
        }
    }

    /// A 64-bit page count or address as the memory's index type.
    fn index_result(&mut self, mem: u32, value: Value) -> Value {
        if self.env.is_memory64(mem) {
            value
        } else {
            self.b.ins().ireduce(types::I32, value)
        }
    }

    fn load(&mut self, memarg: MemArg, kind: Load) {
        let index = self.pop();
        let address = self.heap_address(memarg.memory, index, memarg.offset, kind.size());
        let flags = heap_flags();
        let ins = self.b.ins();
        let value = match kind {
            Load::Plain(ty) => ins.load(ty, flags, address, 0),
            Load::Signed8(ty) => ins.sload8(ty, flags, address, 0),
            Load::Unsigned8(ty) => ins.uload8(ty, flags, address, 0),
            Load::Signed16(ty) => ins.sload16(ty, flags, address, 0),
            Load::Unsigned16(ty) => ins.uload16(ty, flags, address, 0),
            Load::Signed32 => ins.sload32(flags, address, 0),
            Load::Unsigned32 => ins.uload32(flags, address, 0),
        };
        self.push(value);
    }

    /// Stores the top value, narrowed to `narrow` if given.
    fn store(&mut self, memarg: MemArg, narrow: Option<Type>, size: u32) {
        let value = self.pop();
        let index = self.pop();
        let address = self.heap_address(memarg.memory, index, memarg.offset, size);
        let flags = heap_flags();
        let ins = self.b.ins();
        match narrow {
            None => ins.store(flags, value, address, 0),
            Some(types::I8) => ins.istore8(flags, value, address, 0),
            Some(types::I16) => ins.istore16(flags, value, address, 0),
            Some(_) => ins.istore32(flags, value, address, 0),
        };
    }
}
