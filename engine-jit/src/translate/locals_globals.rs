//! Locals, globals, `drop` and `select`.

use cranelift_codegen::ir::{InstBuilder, MemFlagsData};
use wasmparser::Operator;

use super::TranslateError;
use super::{Translator, ir_type};

impl Translator<'_, '_> {
    pub(super) fn locals_globals(&mut self, op: &Operator<'_>) -> Result<bool, TranslateError> {
        match *op {
            Operator::LocalGet { local_index } => {
                let (var, _) = self.locals[local_index as usize];
                let value = self.b.use_var(var);
                self.push(value);
            }
            Operator::LocalSet { local_index } => {
                let value = self.pop();
                let (var, _) = self.locals[local_index as usize];
                self.b.def_var(var, value);
            }
            Operator::LocalTee { local_index } => {
                let value = *self.stack.last().expect("validated: tee operand");
                let (var, _) = self.locals[local_index as usize];
                self.b.def_var(var, value);
            }
            Operator::GlobalGet { global_index } => {
                let ty = self.env.global_type(global_index);
                let address = self.env.global(&mut self.b, global_index);
                let value = self
                    .b
                    .ins()
                    .load(ir_type(ty), MemFlagsData::trusted(), address, 0);
                let value = self.traced(value, ty);
                self.push(value);
            }
            Operator::GlobalSet { global_index } => {
                let value = self.pop();
                let address = self.env.global(&mut self.b, global_index);
                self.b
                    .ins()
                    .store(MemFlagsData::trusted(), value, address, 0);
            }
            Operator::Drop => {
                self.pop();
            }
            Operator::Select => {
                let (a, b, condition) = self.pop3();
                let value = self.b.ins().select(condition, a, b);
                self.push(value);
            }
            Operator::TypedSelect { ty } => {
                let (a, b, condition) = self.pop3();
                let value = self.b.ins().select(condition, a, b);
                let ty = self.env.module().val_type(ty).expect("validated type");
                let value = self.traced(value, ty);
                self.push(value);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
