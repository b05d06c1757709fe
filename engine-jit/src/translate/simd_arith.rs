//! SIMD arithmetic, comparisons, bitwise operators, widening and
//! narrowing, conversions, and the relaxed-SIMD operators (given one of
//! their permitted deterministic behaviours).

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{InstBuilder, Type, Value, types};
use cranelift_frontend::FunctionBuilder;
use wasmparser::Operator;

use super::TranslateError;
use super::Translator;

type Binary = fn(&mut FunctionBuilder, Value, Value) -> Value;
type Unary = fn(&mut FunctionBuilder, Value) -> Value;

use types::{F32X4, F64X2, I8X16, I16X8, I32X4, I64X2};

impl Translator<'_, '_> {
    pub(super) fn simd_arith(&mut self, op: &Operator<'_>) -> Result<bool, TranslateError> {
        use Operator as O;
        if let Some((ty, cc)) = int_compare(op) {
            let b = self.pop_vector(ty);
            let a = self.pop_vector(ty);
            let v = self.b.ins().icmp(cc, a, b);
            self.push_vector(v);
        } else if let Some((ty, cc)) = float_compare(op) {
            let b = self.pop_vector(ty);
            let a = self.pop_vector(ty);
            let v = self.b.ins().fcmp(cc, a, b);
            self.push_vector(v);
        } else if let Some((ty, f)) = binary(op) {
            let b = self.pop_vector(ty);
            let a = self.pop_vector(ty);
            let v = f(&mut self.b, a, b);
            self.push_vector(v);
        } else if let Some((ty, f)) = unary(op) {
            let a = self.pop_vector(ty);
            let v = f(&mut self.b, a);
            self.push_vector(v);
        } else if let Some((ty, f)) = shift(op) {
            let amount = self.pop();
            let a = self.pop_vector(ty);
            let v = f(&mut self.b, a, amount);
            self.push_vector(v);
        } else if let Some((from, to, f)) = convert(op) {
            let a = self.pop_vector(from);
            let v = f(&mut self.b, a);
            let v = self.as_vector(v, to);
            self.push_vector(v);
        } else {
            match *op {
                O::V128AnyTrue => {
                    let a = self.pop();
                    let flag = self.b.ins().vany_true(a);
                    let v = self.bool_to_i32(flag);
                    self.push(v);
                }
                O::I8x16AllTrue | O::I16x8AllTrue | O::I32x4AllTrue | O::I64x2AllTrue => {
                    let ty = lanes_of(op);
                    let a = self.pop_vector(ty);
                    let flag = self.b.ins().vall_true(a);
                    let v = self.bool_to_i32(flag);
                    self.push(v);
                }
                O::I8x16Bitmask | O::I16x8Bitmask | O::I32x4Bitmask | O::I64x2Bitmask => {
                    let ty = lanes_of(op);
                    let a = self.pop_vector(ty);
                    let v = self.b.ins().vhigh_bits(types::I32, a);
                    self.push(v);
                }
                O::V128Bitselect
                | O::I8x16RelaxedLaneselect
                | O::I16x8RelaxedLaneselect
                | O::I32x4RelaxedLaneselect
                | O::I64x2RelaxedLaneselect => {
                    let (a, b, mask) = self.pop3();
                    let v = self.b.ins().bitselect(mask, a, b);
                    self.push(v);
                }
                O::F32x4RelaxedMadd | O::F32x4RelaxedNmadd => self.madd(F32X4, op),
                O::F64x2RelaxedMadd | O::F64x2RelaxedNmadd => self.madd(F64X2, op),
                O::I32x4TruncSatF64x2SZero | O::I32x4RelaxedTruncF64x2SZero => {
                    let a = self.pop_vector(F64X2);
                    let wide = self.b.ins().fcvt_to_sint_sat(I64X2, a);
                    let zero = self.vector_const(I64X2, [0; 16]);
                    let v = self.b.ins().snarrow(wide, zero);
                    self.push_vector(v);
                }
                O::I32x4TruncSatF64x2UZero | O::I32x4RelaxedTruncF64x2UZero => {
                    let a = self.pop_vector(F64X2);
                    let wide = self.b.ins().fcvt_to_uint_sat(I64X2, a);
                    let zero = self.vector_const(I64X2, [0; 16]);
                    let v = self.b.ins().uunarrow(wide, zero);
                    self.push_vector(v);
                }
                O::I16x8RelaxedDotI8x16I7x16S => {
                    let b = self.pop_vector(I8X16);
                    let a = self.pop_vector(I8X16);
                    let v = dot_i8(&mut self.b, a, b);
                    self.push_vector(v);
                }
                O::I32x4RelaxedDotI8x16I7x16AddS => {
                    let c = self.pop_vector(I32X4);
                    let b = self.pop_vector(I8X16);
                    let a = self.pop_vector(I8X16);
                    let dot = dot_i8(&mut self.b, a, b);
                    let low = self.b.ins().swiden_low(dot);
                    let high = self.b.ins().swiden_high(dot);
                    let sums = self.b.ins().iadd_pairwise(low, high);
                    let v = self.b.ins().iadd(sums, c);
                    self.push_vector(v);
                }
                _ => return Ok(false),
            }
        }
        Ok(true)
    }

    /// `a * b + c` (unfused, one of relaxed SIMD's permitted results), or
    /// `-(a * b) + c`.
    fn madd(&mut self, ty: Type, op: &Operator<'_>) {
        let c = self.pop_vector(ty);
        let b = self.pop_vector(ty);
        let a = self.pop_vector(ty);
        let mut product = self.b.ins().fmul(a, b);
        if matches!(
            op,
            Operator::F32x4RelaxedNmadd | Operator::F64x2RelaxedNmadd
        ) {
            product = self.b.ins().fneg(product);
        }
        let v = self.b.ins().fadd(product, c);
        self.push_vector(v);
    }
}

/// Signed 8-bit lanes multiplied and added in pairs to 16-bit lanes.
fn dot_i8(b: &mut FunctionBuilder, x: Value, y: Value) -> Value {
    let (xl, xh) = (b.ins().swiden_low(x), b.ins().swiden_high(x));
    let (yl, yh) = (b.ins().swiden_low(y), b.ins().swiden_high(y));
    let low = b.ins().imul(xl, yl);
    let high = b.ins().imul(xh, yh);
    b.ins().iadd_pairwise(low, high)
}

/// The lane shape an `all_true` / `bitmask` operator inspects.
fn lanes_of(op: &Operator<'_>) -> Type {
    use Operator as O;
    match op {
        O::I8x16AllTrue | O::I8x16Bitmask => I8X16,
        O::I16x8AllTrue | O::I16x8Bitmask => I16X8,
        O::I32x4AllTrue | O::I32x4Bitmask => I32X4,
        _ => I64X2,
    }
}

fn int_compare(op: &Operator<'_>) -> Option<(Type, IntCC)> {
    use IntCC::*;
    use Operator as O;
    Some(match op {
        O::I8x16Eq => (I8X16, Equal),
        O::I8x16Ne => (I8X16, NotEqual),
        O::I8x16LtS => (I8X16, SignedLessThan),
        O::I8x16LtU => (I8X16, UnsignedLessThan),
        O::I8x16GtS => (I8X16, SignedGreaterThan),
        O::I8x16GtU => (I8X16, UnsignedGreaterThan),
        O::I8x16LeS => (I8X16, SignedLessThanOrEqual),
        O::I8x16LeU => (I8X16, UnsignedLessThanOrEqual),
        O::I8x16GeS => (I8X16, SignedGreaterThanOrEqual),
        O::I8x16GeU => (I8X16, UnsignedGreaterThanOrEqual),
        O::I16x8Eq => (I16X8, Equal),
        O::I16x8Ne => (I16X8, NotEqual),
        O::I16x8LtS => (I16X8, SignedLessThan),
        O::I16x8LtU => (I16X8, UnsignedLessThan),
        O::I16x8GtS => (I16X8, SignedGreaterThan),
        O::I16x8GtU => (I16X8, UnsignedGreaterThan),
        O::I16x8LeS => (I16X8, SignedLessThanOrEqual),
        O::I16x8LeU => (I16X8, UnsignedLessThanOrEqual),
        O::I16x8GeS => (I16X8, SignedGreaterThanOrEqual),
        O::I16x8GeU => (I16X8, UnsignedGreaterThanOrEqual),
        O::I32x4Eq => (I32X4, Equal),
        O::I32x4Ne => (I32X4, NotEqual),
        O::I32x4LtS => (I32X4, SignedLessThan),
        O::I32x4LtU => (I32X4, UnsignedLessThan),
        O::I32x4GtS => (I32X4, SignedGreaterThan),
        O::I32x4GtU => (I32X4, UnsignedGreaterThan),
        O::I32x4LeS => (I32X4, SignedLessThanOrEqual),
        O::I32x4LeU => (I32X4, UnsignedLessThanOrEqual),
        O::I32x4GeS => (I32X4, SignedGreaterThanOrEqual),
        O::I32x4GeU => (I32X4, UnsignedGreaterThanOrEqual),
        O::I64x2Eq => (I64X2, Equal),
        O::I64x2Ne => (I64X2, NotEqual),
        O::I64x2LtS => (I64X2, SignedLessThan),
        O::I64x2GtS => (I64X2, SignedGreaterThan),
        O::I64x2LeS => (I64X2, SignedLessThanOrEqual),
        O::I64x2GeS => (I64X2, SignedGreaterThanOrEqual),
        _ => return None,
    })
}

fn float_compare(op: &Operator<'_>) -> Option<(Type, FloatCC)> {
    use FloatCC::*;
    use Operator as O;
    Some(match op {
        O::F32x4Eq => (F32X4, Equal),
        O::F32x4Ne => (F32X4, NotEqual),
        O::F32x4Lt => (F32X4, LessThan),
        O::F32x4Gt => (F32X4, GreaterThan),
        O::F32x4Le => (F32X4, LessThanOrEqual),
        O::F32x4Ge => (F32X4, GreaterThanOrEqual),
        O::F64x2Eq => (F64X2, Equal),
        O::F64x2Ne => (F64X2, NotEqual),
        O::F64x2Lt => (F64X2, LessThan),
        O::F64x2Gt => (F64X2, GreaterThan),
        O::F64x2Le => (F64X2, LessThanOrEqual),
        O::F64x2Ge => (F64X2, GreaterThanOrEqual),
        _ => return None,
    })
}

fn binary(op: &Operator<'_>) -> Option<(Type, Binary)> {
    use Operator as O;
    Some(match op {
        O::V128And => (I8X16, |b, x, y| b.ins().band(x, y)),
        O::V128Or => (I8X16, |b, x, y| b.ins().bor(x, y)),
        O::V128Xor => (I8X16, |b, x, y| b.ins().bxor(x, y)),
        O::V128AndNot => (I8X16, |b, x, y| b.ins().band_not(x, y)),
        O::I8x16Add => (I8X16, |b, x, y| b.ins().iadd(x, y)),
        O::I16x8Add => (I16X8, |b, x, y| b.ins().iadd(x, y)),
        O::I32x4Add => (I32X4, |b, x, y| b.ins().iadd(x, y)),
        O::I64x2Add => (I64X2, |b, x, y| b.ins().iadd(x, y)),
        O::I8x16Sub => (I8X16, |b, x, y| b.ins().isub(x, y)),
        O::I16x8Sub => (I16X8, |b, x, y| b.ins().isub(x, y)),
        O::I32x4Sub => (I32X4, |b, x, y| b.ins().isub(x, y)),
        O::I64x2Sub => (I64X2, |b, x, y| b.ins().isub(x, y)),
        O::I16x8Mul => (I16X8, |b, x, y| b.ins().imul(x, y)),
        O::I32x4Mul => (I32X4, |b, x, y| b.ins().imul(x, y)),
        O::I64x2Mul => (I64X2, |b, x, y| b.ins().imul(x, y)),
        O::I8x16AddSatS => (I8X16, |b, x, y| b.ins().sadd_sat(x, y)),
        O::I8x16AddSatU => (I8X16, |b, x, y| b.ins().uadd_sat(x, y)),
        O::I16x8AddSatS => (I16X8, |b, x, y| b.ins().sadd_sat(x, y)),
        O::I16x8AddSatU => (I16X8, |b, x, y| b.ins().uadd_sat(x, y)),
        O::I8x16SubSatS => (I8X16, |b, x, y| b.ins().ssub_sat(x, y)),
        O::I8x16SubSatU => (I8X16, |b, x, y| b.ins().usub_sat(x, y)),
        O::I16x8SubSatS => (I16X8, |b, x, y| b.ins().ssub_sat(x, y)),
        O::I16x8SubSatU => (I16X8, |b, x, y| b.ins().usub_sat(x, y)),
        O::I8x16MinS => (I8X16, |b, x, y| b.ins().smin(x, y)),
        O::I8x16MinU => (I8X16, |b, x, y| b.ins().umin(x, y)),
        O::I8x16MaxS => (I8X16, |b, x, y| b.ins().smax(x, y)),
        O::I8x16MaxU => (I8X16, |b, x, y| b.ins().umax(x, y)),
        O::I16x8MinS => (I16X8, |b, x, y| b.ins().smin(x, y)),
        O::I16x8MinU => (I16X8, |b, x, y| b.ins().umin(x, y)),
        O::I16x8MaxS => (I16X8, |b, x, y| b.ins().smax(x, y)),
        O::I16x8MaxU => (I16X8, |b, x, y| b.ins().umax(x, y)),
        O::I32x4MinS => (I32X4, |b, x, y| b.ins().smin(x, y)),
        O::I32x4MinU => (I32X4, |b, x, y| b.ins().umin(x, y)),
        O::I32x4MaxS => (I32X4, |b, x, y| b.ins().smax(x, y)),
        O::I32x4MaxU => (I32X4, |b, x, y| b.ins().umax(x, y)),
        O::I8x16AvgrU => (I8X16, |b, x, y| b.ins().avg_round(x, y)),
        O::I16x8AvgrU => (I16X8, |b, x, y| b.ins().avg_round(x, y)),
        O::I16x8Q15MulrSatS | O::I16x8RelaxedQ15mulrS => {
            (I16X8, |b, x, y| b.ins().sqmul_round_sat(x, y))
        }
        O::I8x16NarrowI16x8S => (I16X8, |b, x, y| b.ins().snarrow(x, y)),
        O::I8x16NarrowI16x8U => (I16X8, |b, x, y| b.ins().unarrow(x, y)),
        O::I16x8NarrowI32x4S => (I32X4, |b, x, y| b.ins().snarrow(x, y)),
        O::I16x8NarrowI32x4U => (I32X4, |b, x, y| b.ins().unarrow(x, y)),
        O::I16x8ExtMulLowI8x16S => (I8X16, |b, x, y| ext_mul(b, x, y, Half::LowS)),
        O::I16x8ExtMulHighI8x16S => (I8X16, |b, x, y| ext_mul(b, x, y, Half::HighS)),
        O::I16x8ExtMulLowI8x16U => (I8X16, |b, x, y| ext_mul(b, x, y, Half::LowU)),
        O::I16x8ExtMulHighI8x16U => (I8X16, |b, x, y| ext_mul(b, x, y, Half::HighU)),
        O::I32x4ExtMulLowI16x8S => (I16X8, |b, x, y| ext_mul(b, x, y, Half::LowS)),
        O::I32x4ExtMulHighI16x8S => (I16X8, |b, x, y| ext_mul(b, x, y, Half::HighS)),
        O::I32x4ExtMulLowI16x8U => (I16X8, |b, x, y| ext_mul(b, x, y, Half::LowU)),
        O::I32x4ExtMulHighI16x8U => (I16X8, |b, x, y| ext_mul(b, x, y, Half::HighU)),
        O::I64x2ExtMulLowI32x4S => (I32X4, |b, x, y| ext_mul(b, x, y, Half::LowS)),
        O::I64x2ExtMulHighI32x4S => (I32X4, |b, x, y| ext_mul(b, x, y, Half::HighS)),
        O::I64x2ExtMulLowI32x4U => (I32X4, |b, x, y| ext_mul(b, x, y, Half::LowU)),
        O::I64x2ExtMulHighI32x4U => (I32X4, |b, x, y| ext_mul(b, x, y, Half::HighU)),
        O::I32x4DotI16x8S => (I16X8, |b, x, y| {
            let (xl, xh) = (b.ins().swiden_low(x), b.ins().swiden_high(x));
            let (yl, yh) = (b.ins().swiden_low(y), b.ins().swiden_high(y));
            let low = b.ins().imul(xl, yl);
            let high = b.ins().imul(xh, yh);
            b.ins().iadd_pairwise(low, high)
        }),
        O::F32x4Add => (F32X4, |b, x, y| b.ins().fadd(x, y)),
        O::F64x2Add => (F64X2, |b, x, y| b.ins().fadd(x, y)),
        O::F32x4Sub => (F32X4, |b, x, y| b.ins().fsub(x, y)),
        O::F64x2Sub => (F64X2, |b, x, y| b.ins().fsub(x, y)),
        O::F32x4Mul => (F32X4, |b, x, y| b.ins().fmul(x, y)),
        O::F64x2Mul => (F64X2, |b, x, y| b.ins().fmul(x, y)),
        O::F32x4Div => (F32X4, |b, x, y| b.ins().fdiv(x, y)),
        O::F64x2Div => (F64X2, |b, x, y| b.ins().fdiv(x, y)),
        O::F32x4Min | O::F32x4RelaxedMin => (F32X4, |b, x, y| b.ins().fmin(x, y)),
        O::F64x2Min | O::F64x2RelaxedMin => (F64X2, |b, x, y| b.ins().fmin(x, y)),
        O::F32x4Max | O::F32x4RelaxedMax => (F32X4, |b, x, y| b.ins().fmax(x, y)),
        O::F64x2Max | O::F64x2RelaxedMax => (F64X2, |b, x, y| b.ins().fmax(x, y)),
        // pmin(a, b) = b < a ? b : a;  pmax(a, b) = a < b ? b : a
        O::F32x4PMin => (F32X4, |b, x, y| pick(b, FloatCC::LessThan, y, x)),
        O::F64x2PMin => (F64X2, |b, x, y| pick(b, FloatCC::LessThan, y, x)),
        O::F32x4PMax => (F32X4, |b, x, y| pick(b, FloatCC::GreaterThan, y, x)),
        O::F64x2PMax => (F64X2, |b, x, y| pick(b, FloatCC::GreaterThan, y, x)),
        _ => return None,
    })
}

/// Lane-wise `cc(first, second) ? first : second`.
fn pick(b: &mut FunctionBuilder, cc: FloatCC, first: Value, second: Value) -> Value {
    let mask = b.ins().fcmp(cc, first, second);
    let ty = b.func.dfg.value_type(first);
    let mask = b.ins().bitcast(ty, super::simd::lanes_flags(), mask);
    b.ins().bitselect(mask, first, second)
}

#[derive(Clone, Copy)]
enum Half {
    LowS,
    HighS,
    LowU,
    HighU,
}

fn widen(b: &mut FunctionBuilder, x: Value, half: Half) -> Value {
    match half {
        Half::LowS => b.ins().swiden_low(x),
        Half::HighS => b.ins().swiden_high(x),
        Half::LowU => b.ins().uwiden_low(x),
        Half::HighU => b.ins().uwiden_high(x),
    }
}

fn ext_mul(b: &mut FunctionBuilder, x: Value, y: Value, half: Half) -> Value {
    let x = widen(b, x, half);
    let y = widen(b, y, half);
    b.ins().imul(x, y)
}

fn unary(op: &Operator<'_>) -> Option<(Type, Unary)> {
    use Operator as O;
    Some(match op {
        O::V128Not => (I8X16, |b, x| b.ins().bnot(x)),
        O::I8x16Abs => (I8X16, |b, x| b.ins().iabs(x)),
        O::I16x8Abs => (I16X8, |b, x| b.ins().iabs(x)),
        O::I32x4Abs => (I32X4, |b, x| b.ins().iabs(x)),
        O::I64x2Abs => (I64X2, |b, x| b.ins().iabs(x)),
        O::I8x16Neg => (I8X16, |b, x| b.ins().ineg(x)),
        O::I16x8Neg => (I16X8, |b, x| b.ins().ineg(x)),
        O::I32x4Neg => (I32X4, |b, x| b.ins().ineg(x)),
        O::I64x2Neg => (I64X2, |b, x| b.ins().ineg(x)),
        O::I8x16Popcnt => (I8X16, |b, x| b.ins().popcnt(x)),
        O::I16x8ExtendLowI8x16S => (I8X16, |b, x| b.ins().swiden_low(x)),
        O::I16x8ExtendHighI8x16S => (I8X16, |b, x| b.ins().swiden_high(x)),
        O::I16x8ExtendLowI8x16U => (I8X16, |b, x| b.ins().uwiden_low(x)),
        O::I16x8ExtendHighI8x16U => (I8X16, |b, x| b.ins().uwiden_high(x)),
        O::I32x4ExtendLowI16x8S => (I16X8, |b, x| b.ins().swiden_low(x)),
        O::I32x4ExtendHighI16x8S => (I16X8, |b, x| b.ins().swiden_high(x)),
        O::I32x4ExtendLowI16x8U => (I16X8, |b, x| b.ins().uwiden_low(x)),
        O::I32x4ExtendHighI16x8U => (I16X8, |b, x| b.ins().uwiden_high(x)),
        O::I64x2ExtendLowI32x4S => (I32X4, |b, x| b.ins().swiden_low(x)),
        O::I64x2ExtendHighI32x4S => (I32X4, |b, x| b.ins().swiden_high(x)),
        O::I64x2ExtendLowI32x4U => (I32X4, |b, x| b.ins().uwiden_low(x)),
        O::I64x2ExtendHighI32x4U => (I32X4, |b, x| b.ins().uwiden_high(x)),
        O::I16x8ExtAddPairwiseI8x16S | O::I32x4ExtAddPairwiseI16x8S => {
            (lanes_for_pairwise(op), |b, x| {
                let (low, high) = (b.ins().swiden_low(x), b.ins().swiden_high(x));
                b.ins().iadd_pairwise(low, high)
            })
        }
        O::I16x8ExtAddPairwiseI8x16U | O::I32x4ExtAddPairwiseI16x8U => {
            (lanes_for_pairwise(op), |b, x| {
                let (low, high) = (b.ins().uwiden_low(x), b.ins().uwiden_high(x));
                b.ins().iadd_pairwise(low, high)
            })
        }
        O::F32x4Abs => (F32X4, |b, x| b.ins().fabs(x)),
        O::F64x2Abs => (F64X2, |b, x| b.ins().fabs(x)),
        O::F32x4Neg => (F32X4, |b, x| b.ins().fneg(x)),
        O::F64x2Neg => (F64X2, |b, x| b.ins().fneg(x)),
        O::F32x4Sqrt => (F32X4, |b, x| b.ins().sqrt(x)),
        O::F64x2Sqrt => (F64X2, |b, x| b.ins().sqrt(x)),
        O::F32x4Ceil => (F32X4, |b, x| b.ins().ceil(x)),
        O::F64x2Ceil => (F64X2, |b, x| b.ins().ceil(x)),
        O::F32x4Floor => (F32X4, |b, x| b.ins().floor(x)),
        O::F64x2Floor => (F64X2, |b, x| b.ins().floor(x)),
        O::F32x4Trunc => (F32X4, |b, x| b.ins().trunc(x)),
        O::F64x2Trunc => (F64X2, |b, x| b.ins().trunc(x)),
        O::F32x4Nearest => (F32X4, |b, x| b.ins().nearest(x)),
        O::F64x2Nearest => (F64X2, |b, x| b.ins().nearest(x)),
        _ => return None,
    })
}

fn lanes_for_pairwise(op: &Operator<'_>) -> Type {
    match op {
        Operator::I16x8ExtAddPairwiseI8x16S | Operator::I16x8ExtAddPairwiseI8x16U => I8X16,
        _ => I16X8,
    }
}

/// Shifts take the amount modulo the lane width, as Wasm requires.
fn shift(op: &Operator<'_>) -> Option<(Type, Binary)> {
    use Operator as O;
    Some(match op {
        O::I8x16Shl => (I8X16, |b, x, n| b.ins().ishl(x, n)),
        O::I16x8Shl => (I16X8, |b, x, n| b.ins().ishl(x, n)),
        O::I32x4Shl => (I32X4, |b, x, n| b.ins().ishl(x, n)),
        O::I64x2Shl => (I64X2, |b, x, n| b.ins().ishl(x, n)),
        O::I8x16ShrS => (I8X16, |b, x, n| b.ins().sshr(x, n)),
        O::I16x8ShrS => (I16X8, |b, x, n| b.ins().sshr(x, n)),
        O::I32x4ShrS => (I32X4, |b, x, n| b.ins().sshr(x, n)),
        O::I64x2ShrS => (I64X2, |b, x, n| b.ins().sshr(x, n)),
        O::I8x16ShrU => (I8X16, |b, x, n| b.ins().ushr(x, n)),
        O::I16x8ShrU => (I16X8, |b, x, n| b.ins().ushr(x, n)),
        O::I32x4ShrU => (I32X4, |b, x, n| b.ins().ushr(x, n)),
        O::I64x2ShrU => (I64X2, |b, x, n| b.ins().ushr(x, n)),
        _ => return None,
    })
}

/// `(input lanes, output lanes, conversion)`.
fn convert(op: &Operator<'_>) -> Option<(Type, Type, Unary)> {
    use Operator as O;
    Some(match op {
        O::I32x4TruncSatF32x4S | O::I32x4RelaxedTruncF32x4S => {
            (F32X4, I32X4, |b, x| b.ins().fcvt_to_sint_sat(I32X4, x))
        }
        O::I32x4TruncSatF32x4U | O::I32x4RelaxedTruncF32x4U => {
            (F32X4, I32X4, |b, x| b.ins().fcvt_to_uint_sat(I32X4, x))
        }
        O::F32x4ConvertI32x4S => (I32X4, F32X4, |b, x| b.ins().fcvt_from_sint(F32X4, x)),
        O::F32x4ConvertI32x4U => (I32X4, F32X4, |b, x| b.ins().fcvt_from_uint(F32X4, x)),
        O::F64x2ConvertLowI32x4S => (I32X4, F64X2, |b, x| {
            let wide = b.ins().swiden_low(x);
            b.ins().fcvt_from_sint(F64X2, wide)
        }),
        O::F64x2ConvertLowI32x4U => (I32X4, F64X2, |b, x| {
            let wide = b.ins().uwiden_low(x);
            b.ins().fcvt_from_uint(F64X2, wide)
        }),
        O::F32x4DemoteF64x2Zero => (F64X2, F32X4, |b, x| b.ins().fvdemote(x)),
        O::F64x2PromoteLowF32x4 => (F32X4, F64X2, |b, x| b.ins().fvpromote_low(x)),
        _ => return None,
    })
}
