//! Numeric operators: constants, integer and float arithmetic,
//! comparisons and conversions, each from its operands' slots to its
//! result's slot.

use cranelift_codegen::ir::TrapCode;
use wasmparser::Operator;

use super::encode::{Cond, Mem, RAX, RCX, RDX};
use super::{Codegen, Pending, Unsupported};

/// An integer ALU operation: `op rax, [b]` (through rcx for shifts and
/// division).
#[derive(Clone, Copy)]
enum IntOp {
    /// The `r/m op= reg` opcode (`add` 0x01, `sub` 0x29, ...); with bit 1
    /// set it is the `reg op= r/m` form.
    Alu(u8),
    Mul,
    Shift(u8),
    Compare(Cond),
    Div {
        signed: bool,
        rem: bool,
    },
}

/// A float operation on xmm0 and the second operand.
#[derive(Clone, Copy)]
enum FloatOp {
    Arith(u8),
    Compare(FloatCmp),
    /// Wasm's min (`false`) or max: NaN if either is, and -0 below +0.
    MinMax(bool),
}

#[derive(Clone, Copy)]
enum FloatCmp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

fn has(feature: &str) -> bool {
    match feature {
        "lzcnt" => std::is_x86_feature_detected!("lzcnt"),
        "bmi1" => std::is_x86_feature_detected!("bmi1"),
        "popcnt" => std::is_x86_feature_detected!("popcnt"),
        _ => std::is_x86_feature_detected!("sse4.1"),
    }
}

impl Codegen<'_> {
    pub(super) fn numeric(&mut self, op: &Operator<'_>) -> Result<bool, Unsupported> {
        use Operator as O;
        match *op {
            O::I32Const { value } => self.constant(u64::from(value as u32)),
            O::I64Const { value } => self.constant(value as u64),
            O::F32Const { value } => self.constant(u64::from(value.bits())),
            O::F64Const { value } => self.constant(value.bits()),
            // Reinterpretation and wrapping change no bits a reader looks
            // at: an i32 or f32 reader reads the slot's low half.
            // An i32 in rax has its upper half zero.
            O::I32WrapI64 if self.rax_height() == Some(self.height - 1) => {
                self.a.mov_rr(false, RAX, RAX);
            }
            O::I32WrapI64
            | O::I32ReinterpretF32
            | O::I64ReinterpretF64
            | O::F32ReinterpretI32
            | O::F64ReinterpretI64 => {}
            _ => {
                if let Some((wide, op)) = int_binary(op) {
                    self.int_binary(wide, op);
                } else if let Some((double, op)) = float_binary(op) {
                    self.float_binary(double, op);
                } else {
                    return self.unary(op);
                }
            }
        }
        Ok(true)
    }

    fn constant(&mut self, bits: u64) {
        self.push_pending(super::Pending::Const(bits));
    }

    fn int_binary(&mut self, wide: bool, op: IntOp) {
        if self.int_binary_immediate(wide, op) {
            return;
        }
        // A constant divisor goes straight into rcx, and the checks it
        // cannot fail are left out.
        let top = self.height as usize - 1;
        if let (IntOp::Div { signed, rem }, Pending::Const(bits)) = (op, self.pending[top]) {
            let divisor = if wide { bits } else { u64::from(bits as u32) };
            self.height -= 1;
            self.pop_to_rax(wide);
            self.push();
            self.a.mov_imm64(RCX, divisor);
            self.divide(wide, signed, rem, Some(divisor));
            return self.result_in_rax();
        }
        // A commutative operation whose right operand is in rax (a call's
        // result, say) takes the left one from memory.
        let commutative = matches!(op, IntOp::Alu(0x01 | 0x21 | 0x09 | 0x31) | IntOp::Mul);
        let b = if commutative && self.rax_height() == Some(self.height - 1) {
            self.height -= 1;
            self.pop()
        } else {
            let b = self.pop();
            self.pop_to_rax(wide);
            b
        };
        self.push();
        match op {
            IntOp::Alu(opcode) => self.a.alu_mem(wide, opcode, RAX, b),
            IntOp::Mul => self.a.imul_mem(wide, RAX, b),
            IntOp::Shift(ext) => {
                self.a.load(wide, RCX, b);
                self.a.shift_cl(wide, ext, RAX);
            }
            IntOp::Compare(cond) => {
                self.a.alu_mem(wide, 0x39, RAX, b);
                return self.result_in_flags(cond);
            }
            IntOp::Div { signed, rem } => {
                self.a.load(wide, RCX, b);
                self.divide(wide, signed, rem, None);
            }
        }
        self.result_in_rax();
    }

    /// `op rax, imm` when the right operand is a pending constant that
    /// fits an immediate and `op` has an immediate form; whether it did.
    fn int_binary_immediate(&mut self, wide: bool, op: IntOp) -> bool {
        let top = self.height as usize - 1;
        let Pending::Const(bits) = self.pending[top] else {
            return false;
        };
        // A 32-bit operation reads the low half; a 64-bit one sign-extends
        // its immediate.
        let imm = if wide {
            i32::try_from(bits as i64).ok()
        } else {
            Some(bits as u32 as i32)
        };
        let Some(imm) = imm else { return false };
        if matches!(op, IntOp::Div { .. }) {
            return false;
        }
        self.height -= 1;
        self.pop_to_rax(wide);
        self.push();
        match op {
            // The 0x81 group's extension is the ALU opcode's bits 3–5.
            IntOp::Alu(opcode) => self.a.alu_imm(wide, opcode >> 3, RAX, imm),
            // x86 masks the count as Wasm does.
            IntOp::Shift(ext) => {
                self.a
                    .shift_imm(wide, ext, RAX, imm as u8 & if wide { 63 } else { 31 })
            }
            IntOp::Compare(cond) => {
                self.a.alu_imm(wide, 7, RAX, imm);
                self.result_in_flags(cond);
                return true;
            }
            IntOp::Mul => self.a.imul_imm(wide, RAX, RAX, imm),
            IntOp::Div { .. } => unreachable!("no immediate form, refused above"),
        }
        self.result_in_rax();
        true
    }

    /// rax = rax / rcx (or the remainder), with Wasm's traps.
    /// `divisor`: the divisor's bits when it is a constant (zero-extended
    /// for 32 bits), so that the checks it cannot fail are left out.
    fn divide(&mut self, wide: bool, signed: bool, rem: bool, divisor: Option<u64>) {
        if divisor.is_none_or(|d| d == 0) {
            self.a.alu_rr(wide, 0x85, RCX, RCX);
            let by_zero = self.trap_label(TrapCode::INTEGER_DIVISION_BY_ZERO);
            self.a.jcc(Cond::Equal, by_zero);
        }
        let minus_one = if wide { u64::MAX } else { u64::from(u32::MAX) };
        let done = self.a.label();
        if signed && divisor.is_some_and(|d| d != minus_one) {
            self.a.sign_extend_ax(wide);
            self.a.unary(wide, 7, RCX);
        } else if signed {
            // x86 faults on MIN / -1: division overflows (a trap in Wasm),
            // the remainder is 0.
            let divide = self.a.label();
            self.a.alu_imm(wide, 7, RCX, -1);
            self.a.jcc(Cond::NotEqual, divide);
            if rem {
                self.a.alu_rr(false, 0x31, RAX, RAX);
                self.a.jmp(done);
            } else {
                if wide {
                    self.a.mov_imm64(RDX, i64::MIN as u64);
                    self.a.alu_rr(true, 0x39, RAX, RDX);
                } else {
                    self.a.alu_imm(false, 7, RAX, i32::MIN);
                }
                let overflow = self.trap_label(TrapCode::INTEGER_OVERFLOW);
                self.a.jcc(Cond::Equal, overflow);
            }
            self.a.bind(divide);
            self.a.sign_extend_ax(wide);
            self.a.unary(wide, 7, RCX);
        } else {
            self.a.alu_rr(false, 0x31, RDX, RDX);
            self.a.unary(wide, 6, RCX);
        }
        if rem {
            self.a.mov_rr(true, RAX, RDX);
        }
        self.a.bind(done);
    }

    /// Loads a float slot into xmm register `x` (`movss`/`movsd`).
    fn load_float(&mut self, double: bool, x: u8, slot: Mem) {
        let prefix = if double { 0xf2 } else { 0xf3 };
        self.a.sse_mem(Some(prefix), 0x10, x, slot);
    }

    fn store_float(&mut self, double: bool, slot: Mem, x: u8) {
        let prefix = if double { 0xf2 } else { 0xf3 };
        self.a.sse_mem(Some(prefix), 0x11, x, slot);
    }

    /// `ucomiss`/`ucomisd x, y`.
    fn ucomis(&mut self, double: bool, x: u8, y: u8) {
        let prefix = double.then_some(0x66);
        self.a.sse_rr(prefix, false, 0x2e, x, y);
    }

    fn float_binary(&mut self, double: bool, op: FloatOp) {
        let b = self.pop();
        let a = self.pop();
        let dst = self.push();
        self.load_float(double, 0, a);
        self.load_float(double, 1, b);
        match op {
            FloatOp::Arith(opcode) => {
                let prefix = if double { 0xf2 } else { 0xf3 };
                self.a.sse_rr(Some(prefix), false, opcode, 0, 1);
                self.store_float(double, dst, 0);
            }
            FloatOp::MinMax(max) => {
                // `minsd`/`maxsd` return the second operand for NaN and for
                // equal operands (±0): those cases go apart. Equal: OR the
                // bits for min (-0 wins), AND them for max (+0 wins).
                // Unordered: add, which returns a quiet NaN.
                let prefix = if double { 0xf2 } else { 0xf3 };
                let (nan, ordered, done) = (self.a.label(), self.a.label(), self.a.label());
                self.ucomis(double, 0, 1);
                self.a.jcc(Cond::Parity, nan);
                self.a.jcc(Cond::NotEqual, ordered);
                let bits_prefix = double.then_some(0x66);
                let bits_op = if max { 0x54 } else { 0x56 };
                self.a.sse_rr(bits_prefix, false, bits_op, 0, 1);
                self.a.jmp(done);
                self.a.bind(nan);
                self.a.sse_rr(Some(prefix), false, 0x58, 0, 1);
                self.a.jmp(done);
                self.a.bind(ordered);
                self.a
                    .sse_rr(Some(prefix), false, if max { 0x5f } else { 0x5d }, 0, 1);
                self.a.bind(done);
                self.store_float(double, dst, 0);
            }
            FloatOp::Compare(cmp) => {
                // Unordered (a NaN) sets ZF, PF and CF: `above` and
                // `above or equal` are false for it, and their negations,
                // on which a branch jumps, true. Equality also needs no
                // parity: two flags, combined in rax.
                let ordered = match cmp {
                    FloatCmp::Gt => Some((0, 1, Cond::Above)),
                    FloatCmp::Ge => Some((0, 1, Cond::AboveEqual)),
                    FloatCmp::Lt => Some((1, 0, Cond::Above)),
                    FloatCmp::Le => Some((1, 0, Cond::AboveEqual)),
                    FloatCmp::Eq | FloatCmp::Ne => None,
                };
                if let Some((x, y, cond)) = ordered {
                    self.ucomis(double, x, y);
                    return self.result_in_flags(cond);
                }
                self.ucomis(double, 0, 1);
                if let FloatCmp::Eq = cmp {
                    self.a.set_eax(Cond::Equal);
                    self.a.set_cl(Cond::NoParity);
                    self.a.extend_rr(false, 8, false, RCX, RCX);
                    self.a.alu_rr(false, 0x21, RAX, RCX);
                } else {
                    self.a.set_eax(Cond::NotEqual);
                    self.a.set_cl(Cond::Parity);
                    self.a.extend_rr(false, 8, false, RCX, RCX);
                    self.a.alu_rr(false, 0x09, RAX, RCX);
                }
                self.a.store(true, dst, RAX);
            }
        }
    }

    fn unary(&mut self, op: &Operator<'_>) -> Result<bool, Unsupported> {
        use Operator as O;
        match *op {
            // `i32.eqz` of a comparison is the opposite comparison.
            O::I32Eqz if let Some(cond) = self.flags_on_top() => {
                self.result_in_flags(cond.negate());
            }
            O::I32Eqz | O::I64Eqz => {
                let wide = matches!(op, O::I64Eqz);
                self.pop_to_rax(wide);
                self.push();
                self.a.alu_rr(wide, 0x85, RAX, RAX);
                self.result_in_flags(Cond::Equal);
            }
            O::I32Clz | O::I64Clz | O::I32Ctz | O::I64Ctz | O::I32Popcnt | O::I64Popcnt => {
                let wide = matches!(op, O::I64Clz | O::I64Ctz | O::I64Popcnt);
                let (opcode, feature) = match op {
                    O::I32Clz | O::I64Clz => (0xbd, "lzcnt"),
                    O::I32Ctz | O::I64Ctz => (0xbc, "bmi1"),
                    _ => (0xb8, "popcnt"),
                };
                if !has(feature) {
                    return Err(Unsupported);
                }
                self.pop_to_rax(wide);
                self.push();
                self.a.bit_count(wide, opcode, RAX, RAX);
                self.result_in_rax();
            }
            O::I32Extend8S | O::I32Extend16S | O::I64Extend8S | O::I64Extend16S => {
                let wide = matches!(op, O::I64Extend8S | O::I64Extend16S);
                let bits = if matches!(op, O::I32Extend8S | O::I64Extend8S) {
                    8
                } else {
                    16
                };
                self.pop_to_rax(false);
                self.push();
                self.a.extend_rr(wide, bits, true, RAX, RAX);
                self.result_in_rax();
            }
            O::I64Extend32S | O::I64ExtendI32S => {
                let src = self.pop();
                let dst = self.push();
                self.a.load_sx32(RAX, src);
                self.a.store(true, dst, RAX);
            }
            O::I64ExtendI32U => {
                // An i32 in rax is zero-extended already.
                self.pop_to_rax(false);
                self.push();
                self.result_in_rax();
            }
            O::F32Abs | O::F32Neg | O::F64Abs | O::F64Neg => {
                let double = matches!(op, O::F64Abs | O::F64Neg);
                let abs = matches!(op, O::F32Abs | O::F64Abs);
                let src = self.pop();
                let dst = self.push();
                self.a.load(double, RAX, src);
                let sign = if double { 1u64 << 63 } else { 1 << 31 };
                let mask = if abs { !sign } else { sign };
                let mask = if double { mask } else { mask & 0xffff_ffff };
                self.a.mov_imm64(RCX, mask);
                self.a
                    .alu_rr(double, if abs { 0x21 } else { 0x31 }, RAX, RCX);
                self.a.store(true, dst, RAX);
            }
            O::F32Copysign | O::F64Copysign => {
                let double = matches!(op, O::F64Copysign);
                let b = self.pop();
                let a = self.pop();
                let dst = self.push();
                let sign = if double { 1u64 << 63 } else { 1 << 31 };
                self.a.load(double, RAX, a);
                self.a.load(double, RCX, b);
                self.a.mov_imm64(RDX, !sign);
                self.a.alu_rr(true, 0x21, RAX, RDX);
                self.a.mov_imm64(RDX, sign);
                self.a.alu_rr(true, 0x21, RCX, RDX);
                self.a.alu_rr(true, 0x09, RAX, RCX);
                self.a.store(true, dst, RAX);
            }
            O::F32Sqrt | O::F64Sqrt => {
                let double = matches!(op, O::F64Sqrt);
                let prefix = if double { 0xf2 } else { 0xf3 };
                let src = self.pop();
                let dst = self.push();
                self.a.sse_mem(Some(prefix), 0x51, 0, src);
                self.store_float(double, dst, 0);
            }
            O::F32Ceil
            | O::F32Floor
            | O::F32Trunc
            | O::F32Nearest
            | O::F64Ceil
            | O::F64Floor
            | O::F64Trunc
            | O::F64Nearest => {
                if !has("sse4.1") {
                    return Err(Unsupported);
                }
                let double = matches!(op, O::F64Ceil | O::F64Floor | O::F64Trunc | O::F64Nearest);
                let mode = match op {
                    O::F32Nearest | O::F64Nearest => 0,
                    O::F32Floor | O::F64Floor => 1,
                    O::F32Ceil | O::F64Ceil => 2,
                    _ => 3,
                };
                let src = self.pop();
                let dst = self.push();
                self.load_float(double, 0, src);
                // Bit 3: no precision exception.
                self.a.round(double, 0, 0, mode | 8);
                self.store_float(double, dst, 0);
            }
            O::F32ConvertI32S
            | O::F32ConvertI64S
            | O::F64ConvertI32S
            | O::F64ConvertI64S
            | O::F32ConvertI32U
            | O::F64ConvertI32U => {
                let double = matches!(
                    op,
                    O::F64ConvertI32S | O::F64ConvertI64S | O::F64ConvertI32U
                );
                let src = self.pop();
                let dst = self.push();
                let i64_source = matches!(op, O::F32ConvertI64S | O::F64ConvertI64S);
                let signed_i32 = matches!(op, O::F32ConvertI32S | O::F64ConvertI32S);
                // An unsigned i32 is loaded zero-extended and converted as
                // the (non-negative) i64 it then is.
                self.a.load(i64_source, RAX, src);
                let prefix = if double { 0xf2 } else { 0xf3 };
                self.a.sse_rr(Some(prefix), !signed_i32, 0x2a, 0, RAX);
                self.store_float(double, dst, 0);
            }
            O::F32DemoteF64 | O::F64PromoteF32 => {
                let to_double = matches!(op, O::F64PromoteF32);
                let src = self.pop();
                let dst = self.push();
                self.load_float(!to_double, 0, src);
                let prefix = if to_double { 0xf3 } else { 0xf2 };
                self.a.sse_rr(Some(prefix), false, 0x5a, 0, 0);
                self.store_float(to_double, dst, 0);
            }
            O::I32TruncF32U => self.truncate_unsigned(false, false, false),
            O::I32TruncF64U => self.truncate_unsigned(true, false, false),
            O::I64TruncF32U => self.truncate_unsigned(false, true, false),
            O::I64TruncF64U => self.truncate_unsigned(true, true, false),
            O::I32TruncSatF32U => self.truncate_unsigned(false, false, true),
            O::I32TruncSatF64U => self.truncate_unsigned(true, false, true),
            O::I64TruncSatF32U => self.truncate_unsigned(false, true, true),
            O::I64TruncSatF64U => self.truncate_unsigned(true, true, true),
            O::F32ConvertI64U => self.convert_u64(false),
            O::F64ConvertI64U => self.convert_u64(true),
            O::I32TruncF32S => self.truncate(false, false, false),
            O::I32TruncF64S => self.truncate(true, false, false),
            O::I64TruncF32S => self.truncate(false, true, false),
            O::I64TruncF64S => self.truncate(true, true, false),
            O::I32TruncSatF32S => self.truncate(false, false, true),
            O::I32TruncSatF64S => self.truncate(true, false, true),
            O::I64TruncSatF32S => self.truncate(false, true, true),
            O::I64TruncSatF64S => self.truncate(true, true, true),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Puts the float `value` (f64 bits when `double`, else f32 bits) in
    /// xmm1 (through rcx).
    fn float_constant_xmm1(&mut self, double: bool, value: f64) {
        let bits = if double {
            value.to_bits()
        } else {
            u64::from((value as f32).to_bits())
        };
        self.a.mov_imm64(RCX, bits);
        self.a.movq_to_xmm(1, RCX);
    }

    /// Float to unsigned integer (i64 when `wide`), trapping or
    /// saturating: NaN, `x <= -1` and `x >= 2^bits` are the special cases;
    /// an i64 at or above 2^63 is converted less 2^63, then the top bit set.
    fn truncate_unsigned(&mut self, double: bool, wide: bool, saturating: bool) {
        let src = self.pop();
        let dst = self.push();
        self.load_float(double, 0, src);
        let prefix = if double { 0xf2 } else { 0xf3 };
        let (nan, too_small, too_big, done) = (
            self.a.label(),
            self.a.label(),
            self.a.label(),
            self.a.label(),
        );
        self.ucomis(double, 0, 0);
        self.a.jcc(Cond::Parity, nan);
        self.float_constant_xmm1(double, -1.0);
        self.ucomis(double, 0, 1);
        self.a.jcc(Cond::BelowEqual, too_small);
        let limit = if wide {
            18446744073709551616.0
        } else {
            4294967296.0
        };
        self.float_constant_xmm1(double, limit);
        self.ucomis(double, 0, 1);
        self.a.jcc(Cond::AboveEqual, too_big);
        if wide {
            let high = self.a.label();
            self.float_constant_xmm1(double, 9223372036854775808.0);
            self.ucomis(double, 0, 1);
            self.a.jcc(Cond::AboveEqual, high);
            self.a.sse_rr(Some(prefix), true, 0x2c, RAX, 0);
            self.a.jmp(done);
            self.a.bind(high);
            self.a.sse_rr(Some(prefix), false, 0x5c, 0, 1);
            self.a.sse_rr(Some(prefix), true, 0x2c, RAX, 0);
            self.a.mov_imm64(RCX, 1 << 63);
            self.a.alu_rr(true, 0x31, RAX, RCX);
        } else {
            // Below 2^32: exact in a 64-bit conversion.
            self.a.sse_rr(Some(prefix), true, 0x2c, RAX, 0);
        }
        self.a.jmp(done);
        for (label, saturated) in [(nan, 0), (too_small, 0), (too_big, u64::MAX)] {
            self.a.bind(label);
            if saturating {
                let value = if wide {
                    saturated
                } else {
                    saturated & 0xffff_ffff
                };
                self.a.mov_imm64(RAX, value);
                self.a.jmp(done);
            } else {
                let code = if label == nan {
                    TrapCode::BAD_CONVERSION_TO_INTEGER
                } else {
                    TrapCode::INTEGER_OVERFLOW
                };
                let trap = self.trap_label(code);
                self.a.jmp(trap);
            }
        }
        self.a.bind(done);
        self.a.store(true, dst, RAX);
    }

    /// Unsigned i64 to float: a value with the top bit set is halved
    /// (keeping its lowest bit, so rounding stays right), converted, and
    /// doubled.
    fn convert_u64(&mut self, double: bool) {
        let src = self.pop();
        let dst = self.push();
        let prefix = if double { 0xf2 } else { 0xf3 };
        let (high, done) = (self.a.label(), self.a.label());
        self.a.load(true, RAX, src);
        self.a.alu_rr(true, 0x85, RAX, RAX);
        self.a.jcc(Cond::Sign, high);
        self.a.sse_rr(Some(prefix), true, 0x2a, 0, RAX);
        self.a.jmp(done);
        self.a.bind(high);
        self.a.mov_rr(true, RCX, RAX);
        self.a.shift_imm(true, 5, RCX, 1);
        self.a.alu_imm(false, 4, RAX, 1);
        self.a.alu_rr(true, 0x09, RCX, RAX);
        self.a.sse_rr(Some(prefix), true, 0x2a, 0, RCX);
        self.a.sse_rr(Some(prefix), false, 0x58, 0, 0);
        self.a.bind(done);
        self.store_float(double, dst, 0);
    }

    /// Float (f64 when `double`) to signed integer (i64 when `wide`),
    /// trapping or saturating as Wasm says. `cvtt*2si` returns the
    /// integer minimum for NaN and for anything out of range; only then
    /// are the cases told apart.
    fn truncate(&mut self, double: bool, wide: bool, saturating: bool) {
        let src = self.pop();
        let dst = self.push();
        self.load_float(double, 0, src);
        let prefix = if double { 0xf2 } else { 0xf3 };
        self.a.sse_rr(Some(prefix), wide, 0x2c, RAX, 0);
        if wide {
            self.a.mov_imm64(RCX, i64::MIN as u64);
            self.a.alu_rr(true, 0x39, RAX, RCX);
        } else {
            self.a.alu_imm(false, 7, RAX, i32::MIN);
        }
        let done = self.a.label();
        self.a.jcc(Cond::NotEqual, done);
        let nan = self.a.label();
        let too_big = self.a.label();
        let too_small = self.a.label();
        self.ucomis(double, 0, 0);
        self.a.jcc(Cond::Parity, nan);
        // A true minimum comes from a negative value.
        self.a.alu_rr(false, 0x31, RCX, RCX);
        self.a.movq_to_xmm(1, RCX);
        self.ucomis(double, 0, 1);
        self.a.jcc(Cond::AboveEqual, too_big);
        // The smallest value that truncates to the minimum: f64 has
        // -2^31 - 1 exactly (anything above it truncates to -2^31); f32
        // and the 64-bit minimum have -2^n itself as the bound.
        let (bound, cond) = match (double, wide) {
            (true, false) => ((-2147483649.0f64).to_bits(), Cond::BelowEqual),
            (true, true) => ((i64::MIN as f64).to_bits(), Cond::Below),
            (false, false) => (u64::from((i32::MIN as f32).to_bits()), Cond::Below),
            (false, true) => (u64::from((i64::MIN as f32).to_bits()), Cond::Below),
        };
        self.a.mov_imm64(RCX, bound);
        self.a.movq_to_xmm(1, RCX);
        self.ucomis(double, 0, 1);
        self.a.jcc(cond, too_small);
        self.a.jmp(done);
        self.a.bind(nan);
        if saturating {
            self.a.alu_rr(false, 0x31, RAX, RAX);
            self.a.jmp(done);
        } else {
            let trap = self.trap_label(TrapCode::BAD_CONVERSION_TO_INTEGER);
            self.a.jmp(trap);
        }
        self.a.bind(too_big);
        if saturating {
            if wide {
                self.a.mov_imm64(RAX, i64::MAX as u64);
            } else {
                self.a.mov_imm32(RAX, i32::MAX as u32);
            }
            self.a.jmp(done);
        } else {
            let trap = self.trap_label(TrapCode::INTEGER_OVERFLOW);
            self.a.jmp(trap);
        }
        self.a.bind(too_small);
        if saturating {
            // rax already holds the minimum.
            self.a.jmp(done);
        } else {
            let trap = self.trap_label(TrapCode::INTEGER_OVERFLOW);
            self.a.jmp(trap);
        }
        self.a.bind(done);
        self.a.store(true, dst, RAX);
    }
}

/// A `match` on `$op` giving `(64-bit, operation)` for pairs of
/// operators that are the same operation at the two widths, each pair
/// listed once.
macro_rules! by_width {
    ($op:expr, $($narrow:ident, $wide:ident => $operation:expr;)*) => {
        match *$op {
            $(
                Operator::$narrow => Some((false, $operation)),
                Operator::$wide => Some((true, $operation)),
            )*
            _ => None,
        }
    };
}

fn int_binary(op: &Operator<'_>) -> Option<(bool, IntOp)> {
    let div = |signed, rem| IntOp::Div { signed, rem };
    by_width!(op,
        I32Add, I64Add => IntOp::Alu(0x01);
        I32Sub, I64Sub => IntOp::Alu(0x29);
        I32And, I64And => IntOp::Alu(0x21);
        I32Or, I64Or => IntOp::Alu(0x09);
        I32Xor, I64Xor => IntOp::Alu(0x31);
        I32Mul, I64Mul => IntOp::Mul;
        I32Shl, I64Shl => IntOp::Shift(4);
        I32ShrU, I64ShrU => IntOp::Shift(5);
        I32ShrS, I64ShrS => IntOp::Shift(7);
        I32Rotl, I64Rotl => IntOp::Shift(0);
        I32Rotr, I64Rotr => IntOp::Shift(1);
        I32DivS, I64DivS => div(true, false);
        I32DivU, I64DivU => div(false, false);
        I32RemS, I64RemS => div(true, true);
        I32RemU, I64RemU => div(false, true);
        I32Eq, I64Eq => IntOp::Compare(Cond::Equal);
        I32Ne, I64Ne => IntOp::Compare(Cond::NotEqual);
        I32LtS, I64LtS => IntOp::Compare(Cond::Less);
        I32LtU, I64LtU => IntOp::Compare(Cond::Below);
        I32GtS, I64GtS => IntOp::Compare(Cond::Greater);
        I32GtU, I64GtU => IntOp::Compare(Cond::Above);
        I32LeS, I64LeS => IntOp::Compare(Cond::LessEqual);
        I32LeU, I64LeU => IntOp::Compare(Cond::BelowEqual);
        I32GeS, I64GeS => IntOp::Compare(Cond::GreaterEqual);
        I32GeU, I64GeU => IntOp::Compare(Cond::AboveEqual);
    )
}

/// Whether `op` is a two-operand arithmetic or comparison operator.
pub(super) fn is_binary(op: &Operator<'_>) -> bool {
    int_binary(op).is_some() || float_binary(op).is_some()
}

fn float_binary(op: &Operator<'_>) -> Option<(bool, FloatOp)> {
    by_width!(op,
        F32Add, F64Add => FloatOp::Arith(0x58);
        F32Sub, F64Sub => FloatOp::Arith(0x5c);
        F32Mul, F64Mul => FloatOp::Arith(0x59);
        F32Div, F64Div => FloatOp::Arith(0x5e);
        F32Min, F64Min => FloatOp::MinMax(false);
        F32Max, F64Max => FloatOp::MinMax(true);
        F32Eq, F64Eq => FloatOp::Compare(FloatCmp::Eq);
        F32Ne, F64Ne => FloatOp::Compare(FloatCmp::Ne);
        F32Lt, F64Lt => FloatOp::Compare(FloatCmp::Lt);
        F32Gt, F64Gt => FloatOp::Compare(FloatCmp::Gt);
        F32Le, F64Le => FloatOp::Compare(FloatCmp::Le);
        F32Ge, F64Ge => FloatOp::Compare(FloatCmp::Ge);
    )
}
