//! Constants, integer and floating-point arithmetic, comparisons.
//!
//! Cranelift's integer division and remainder trap exactly as Wasm does
//! (zero divisor; `INT_MIN / -1` overflows, `INT_MIN % -1` is 0), shifts and
//! rotates take the amount modulo the width, and `fmin`/`fmax`/`nearest`
//! have Wasm's NaN and signed-zero semantics.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::{InstBuilder, Value, types};
use cranelift_frontend::FunctionBuilder;
use wasmparser::Operator;

use super::TranslateError;
use super::Translator;

type Binary = fn(&mut FunctionBuilder, Value, Value) -> Value;
type Unary = fn(&mut FunctionBuilder, Value) -> Value;

impl Translator<'_, '_> {
    pub(super) fn numeric(&mut self, op: &Operator<'_>) -> Result<bool, TranslateError> {
        use Operator as O;
        match *op {
            O::I32Const { value } => {
                let v = self.b.ins().iconst(types::I32, i64::from(value));
                self.push(v);
            }
            O::I64Const { value } => {
                let v = self.b.ins().iconst(types::I64, value);
                self.push(v);
            }
            O::F32Const { value } => {
                let v = self.b.ins().f32const(Ieee32::with_bits(value.bits()));
                self.push(v);
            }
            O::F64Const { value } => {
                let v = self.b.ins().f64const(Ieee64::with_bits(value.bits()));
                self.push(v);
            }
            O::I64Add128 | O::I64Sub128 => {
                let (a_hi, b_lo, b_hi) = self.pop3();
                let a_lo = self.pop();
                let a = self.b.ins().iconcat(a_lo, a_hi);
                let b = self.b.ins().iconcat(b_lo, b_hi);
                let sum = if matches!(op, O::I64Add128) {
                    self.b.ins().iadd(a, b)
                } else {
                    self.b.ins().isub(a, b)
                };
                let (lo, hi) = self.b.ins().isplit(sum);
                self.push(lo);
                self.push(hi);
            }
            O::I64MulWideS | O::I64MulWideU => {
                let (a, b) = self.pop2();
                let (a, b) = if matches!(op, O::I64MulWideS) {
                    (
                        self.b.ins().sextend(types::I128, a),
                        self.b.ins().sextend(types::I128, b),
                    )
                } else {
                    (
                        self.b.ins().uextend(types::I128, a),
                        self.b.ins().uextend(types::I128, b),
                    )
                };
                let product = self.b.ins().imul(a, b);
                let (lo, hi) = self.b.ins().isplit(product);
                self.push(lo);
                self.push(hi);
            }
            O::I32Eqz | O::I64Eqz => {
                let x = self.pop();
                let flag = self.b.ins().icmp_imm_s(IntCC::Equal, x, 0);
                let v = self.bool_to_i32(flag);
                self.push(v);
            }
            _ => {
                if let Some(cc) = int_compare(op) {
                    let (x, y) = self.pop2();
                    let flag = self.b.ins().icmp(cc, x, y);
                    let v = self.bool_to_i32(flag);
                    self.push(v);
                } else if let Some(cc) = float_compare(op) {
                    let (x, y) = self.pop2();
                    let flag = self.b.ins().fcmp(cc, x, y);
                    let v = self.bool_to_i32(flag);
                    self.push(v);
                } else if let Some(f) = binary(op) {
                    let (x, y) = self.pop2();
                    let v = f(&mut self.b, x, y);
                    self.push(v);
                } else if let Some(f) = unary(op) {
                    let x = self.pop();
                    let v = f(&mut self.b, x);
                    self.push(v);
                } else {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}

fn int_compare(op: &Operator<'_>) -> Option<IntCC> {
    use Operator as O;
    Some(match op {
        O::I32Eq | O::I64Eq => IntCC::Equal,
        O::I32Ne | O::I64Ne => IntCC::NotEqual,
        O::I32LtS | O::I64LtS => IntCC::SignedLessThan,
        O::I32LtU | O::I64LtU => IntCC::UnsignedLessThan,
        O::I32GtS | O::I64GtS => IntCC::SignedGreaterThan,
        O::I32GtU | O::I64GtU => IntCC::UnsignedGreaterThan,
        O::I32LeS | O::I64LeS => IntCC::SignedLessThanOrEqual,
        O::I32LeU | O::I64LeU => IntCC::UnsignedLessThanOrEqual,
        O::I32GeS | O::I64GeS => IntCC::SignedGreaterThanOrEqual,
        O::I32GeU | O::I64GeU => IntCC::UnsignedGreaterThanOrEqual,
        _ => return None,
    })
}

fn float_compare(op: &Operator<'_>) -> Option<FloatCC> {
    use Operator as O;
    Some(match op {
        O::F32Eq | O::F64Eq => FloatCC::Equal,
        O::F32Ne | O::F64Ne => FloatCC::NotEqual,
        O::F32Lt | O::F64Lt => FloatCC::LessThan,
        O::F32Gt | O::F64Gt => FloatCC::GreaterThan,
        O::F32Le | O::F64Le => FloatCC::LessThanOrEqual,
        O::F32Ge | O::F64Ge => FloatCC::GreaterThanOrEqual,
        _ => return None,
    })
}

fn binary(op: &Operator<'_>) -> Option<Binary> {
    use Operator as O;
    Some(match op {
        O::I32Add | O::I64Add => |b, x, y| b.ins().iadd(x, y),
        O::I32Sub | O::I64Sub => |b, x, y| b.ins().isub(x, y),
        O::I32Mul | O::I64Mul => |b, x, y| b.ins().imul(x, y),
        O::I32DivS | O::I64DivS => |b, x, y| b.ins().sdiv(x, y),
        O::I32DivU | O::I64DivU => |b, x, y| b.ins().udiv(x, y),
        O::I32RemS | O::I64RemS => |b, x, y| b.ins().srem(x, y),
        O::I32RemU | O::I64RemU => |b, x, y| b.ins().urem(x, y),
        O::I32And | O::I64And => |b, x, y| b.ins().band(x, y),
        O::I32Or | O::I64Or => |b, x, y| b.ins().bor(x, y),
        O::I32Xor | O::I64Xor => |b, x, y| b.ins().bxor(x, y),
        O::I32Shl | O::I64Shl => |b, x, y| b.ins().ishl(x, y),
        O::I32ShrS | O::I64ShrS => |b, x, y| b.ins().sshr(x, y),
        O::I32ShrU | O::I64ShrU => |b, x, y| b.ins().ushr(x, y),
        O::I32Rotl | O::I64Rotl => |b, x, y| b.ins().rotl(x, y),
        O::I32Rotr | O::I64Rotr => |b, x, y| b.ins().rotr(x, y),
        O::F32Add | O::F64Add => |b, x, y| b.ins().fadd(x, y),
        O::F32Sub | O::F64Sub => |b, x, y| b.ins().fsub(x, y),
        O::F32Mul | O::F64Mul => |b, x, y| b.ins().fmul(x, y),
        O::F32Div | O::F64Div => |b, x, y| b.ins().fdiv(x, y),
        O::F32Min | O::F64Min => |b, x, y| b.ins().fmin(x, y),
        O::F32Max | O::F64Max => |b, x, y| b.ins().fmax(x, y),
        O::F32Copysign | O::F64Copysign => |b, x, y| b.ins().fcopysign(x, y),
        _ => return None,
    })
}

fn unary(op: &Operator<'_>) -> Option<Unary> {
    use Operator as O;
    Some(match op {
        O::I32Clz | O::I64Clz => |b, x| b.ins().clz(x),
        O::I32Ctz | O::I64Ctz => |b, x| b.ins().ctz(x),
        O::I32Popcnt | O::I64Popcnt => |b, x| b.ins().popcnt(x),
        O::F32Abs | O::F64Abs => |b, x| b.ins().fabs(x),
        O::F32Neg | O::F64Neg => |b, x| b.ins().fneg(x),
        O::F32Sqrt | O::F64Sqrt => |b, x| b.ins().sqrt(x),
        O::F32Ceil | O::F64Ceil => |b, x| b.ins().ceil(x),
        O::F32Floor | O::F64Floor => |b, x| b.ins().floor(x),
        O::F32Trunc | O::F64Trunc => |b, x| b.ins().trunc(x),
        O::F32Nearest | O::F64Nearest => |b, x| b.ins().nearest(x),
        O::I32Extend8S => |b, x| extend(b, x, types::I8, types::I32),
        O::I32Extend16S => |b, x| extend(b, x, types::I16, types::I32),
        O::I64Extend8S => |b, x| extend(b, x, types::I8, types::I64),
        O::I64Extend16S => |b, x| extend(b, x, types::I16, types::I64),
        O::I64Extend32S => |b, x| extend(b, x, types::I32, types::I64),
        _ => return None,
    })
}

/// Sign-extends the low `from` bits of `x` back to `to`.
fn extend(b: &mut FunctionBuilder, x: Value, from: types::Type, to: types::Type) -> Value {
    let narrow = b.ins().ireduce(from, x);
    b.ins().sextend(to, narrow)
}
