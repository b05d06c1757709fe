//! Reference values and tables: ref.null/is_null/func/as_non_null, table.get/set/
//! size/grow/fill/copy/init and elem.drop.
//!
//! A funcref is a `*const VMFuncRef`, an externref the host's number plus
//! one; 0 is null for both. Element accesses are bounds-checked inline; the
//! operators that resize or copy call builtins.

use cranelift_codegen::ir::{InstBuilder, MemFlagsData, TrapCode, Value, condcodes::IntCC, types};
use wasmparser::Operator;

use super::TranslateError;
use super::Translator;
use crate::traps;
use crate::vmcontext::Builtin;

impl Translator<'_, '_> {
    pub(super) fn tables_refs(&mut self, op: &Operator<'_>) -> Result<bool, TranslateError> {
        use types::{I32, I64};
        match *op {
            Operator::RefNull { .. } => {
                let v = self.b.ins().iconst(I64, 0);
                self.push(v);
            }
            Operator::RefIsNull => {
                let r = self.pop();
                let flag = self.b.ins().icmp_imm_s(IntCC::Equal, r, 0);
                let v = self.bool_to_i32(flag);
                self.push(v);
            }
            Operator::RefAsNonNull => {
                let r = self.pop();
                self.b.ins().trapz(r, traps::NULL_REFERENCE);
                self.push(r);
            }
            Operator::RefFunc { function_index } => {
                let v = self.env.funcref(&mut self.b, function_index);
                self.push(v);
            }
            Operator::TableGet { table } => {
                let index = self.pop();
                let address = self.table_element_address(table, index, traps::TABLE_OUT_OF_BOUNDS);
                let v = self.b.ins().load(I64, MemFlagsData::trusted(), address, 0);
                let v = self.traced(v, self.env.table_type(table).element);
                self.push(v);
            }
            Operator::TableSet { table } => {
                let (index, value) = self.pop2();
                let address = self.table_element_address(table, index, traps::TABLE_OUT_OF_BOUNDS);
                self.b
                    .ins()
                    .store(MemFlagsData::trusted(), value, address, 0);
            }
            Operator::TableSize { table } => {
                let length = self.env.table_length(&mut self.b, table);
                let v = self.table_index_result(table, length);
                self.push(v);
            }
            Operator::TableGrow { table } => {
                let (init, delta) = self.pop2();
                let delta = self.table_index_arg(table, delta);
                let t = self.b.ins().iconst(I32, i64::from(table));
                let old = self
                    .env
                    .call_builtin(&mut self.b, Builtin::TableGrow, &[t, delta, init])
                    .expect("table.grow returns a value");
                let v = self.table_index_result(table, old);
                self.push(v);
            }
            Operator::TableFill { table } => {
                let (dst, value, len) = self.pop3();
                let dst = self.table_index_arg(table, dst);
                let len = self.table_index_arg(table, len);
                let t = self.b.ins().iconst(I32, i64::from(table));
                self.env
                    .call_builtin(&mut self.b, Builtin::TableFill, &[t, dst, value, len]);
            }
            Operator::TableCopy {
                dst_table,
                src_table,
            } => {
                let (dst, src, len) = self.pop3();
                let dst = self.table_index_arg(dst_table, dst);
                let src = self.table_index_arg(src_table, src);
                let len = if self.is_table64(dst_table) && self.is_table64(src_table) {
                    len
                } else {
                    self.b.ins().uextend(I64, len)
                };
                let d = self.b.ins().iconst(I32, i64::from(dst_table));
                let s = self.b.ins().iconst(I32, i64::from(src_table));
                self.env
                    .call_builtin(&mut self.b, Builtin::TableCopy, &[d, s, dst, src, len]);
            }
            Operator::TableInit { elem_index, table } => {
                let (dst, src, len) = self.pop3();
                let dst = self.table_index_arg(table, dst);
                let t = self.b.ins().iconst(I32, i64::from(table));
                let e = self.b.ins().iconst(I32, i64::from(elem_index));
                self.env
                    .call_builtin(&mut self.b, Builtin::TableInit, &[t, e, dst, src, len]);
            }
            Operator::ElemDrop { elem_index } => {
                let e = self.b.ins().iconst(I32, i64::from(elem_index));
                self.env.call_builtin(&mut self.b, Builtin::ElemDrop, &[e]);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn is_table64(&self, table: u32) -> bool {
        self.env.table_type(table).table64
    }

    fn table_index_arg(&mut self, table: u32, value: Value) -> Value {
        if self.is_table64(table) {
            value
        } else {
            self.b.ins().uextend(types::I64, value)
        }
    }

    fn table_index_result(&mut self, table: u32, value: Value) -> Value {
        if self.is_table64(table) {
            value
        } else {
            self.b.ins().ireduce(types::I32, value)
        }
    }

    /// Address of element `index` of `table`, trapping with `trap` when the
    /// index is not below the table's current length.
    pub(super) fn table_element_address(
        &mut self,
        table: u32,
        index: Value,
        trap: TrapCode,
    ) -> Value {
        let index = self.table_index_arg(table, index);
        let length = self.env.table_length(&mut self.b, table);
        let out = self
            .b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, length);
        self.b.ins().trapnz(out, trap);
        self.env.table_element(&mut self.b, table, index)
    }
}
