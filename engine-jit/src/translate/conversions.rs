//! Conversions between number types: wraps, extends, truncations (trapping
//! and saturating), float conversions and reinterpretations.
//!
//! Cranelift's trapping `fcvt_to_*int` report a NaN as a bad conversion and
//! an out-of-range value as an integer overflow, as Wasm requires.

use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Type, types};
use wasmparser::Operator;

use super::TranslateError;
use super::Translator;

impl Translator<'_, '_> {
    pub(super) fn conversions(&mut self, op: &Operator<'_>) -> Result<bool, TranslateError> {
        use Operator as O;
        use types::{F32, F64, I32, I64};
        let x = match op {
            O::I32WrapI64
            | O::I64ExtendI32S
            | O::I64ExtendI32U
            | O::I32TruncF32S
            | O::I32TruncF32U
            | O::I32TruncF64S
            | O::I32TruncF64U
            | O::I64TruncF32S
            | O::I64TruncF32U
            | O::I64TruncF64S
            | O::I64TruncF64U
            | O::I32TruncSatF32S
            | O::I32TruncSatF32U
            | O::I32TruncSatF64S
            | O::I32TruncSatF64U
            | O::I64TruncSatF32S
            | O::I64TruncSatF32U
            | O::I64TruncSatF64S
            | O::I64TruncSatF64U
            | O::F32ConvertI32S
            | O::F32ConvertI32U
            | O::F32ConvertI64S
            | O::F32ConvertI64U
            | O::F64ConvertI32S
            | O::F64ConvertI32U
            | O::F64ConvertI64S
            | O::F64ConvertI64U
            | O::F32DemoteF64
            | O::F64PromoteF32
            | O::I32ReinterpretF32
            | O::I64ReinterpretF64
            | O::F32ReinterpretI32
            | O::F64ReinterpretI64 => self.pop(),
            _ => return Ok(false),
        };
        let ins = self.b.ins();
        let reinterpret = |to: Type| (to, MemFlagsData::new());
        let v = match op {
            O::I32WrapI64 => ins.ireduce(I32, x),
            O::I64ExtendI32S => ins.sextend(I64, x),
            O::I64ExtendI32U => ins.uextend(I64, x),
            O::I32TruncF32S | O::I32TruncF64S => ins.fcvt_to_sint(I32, x),
            O::I32TruncF32U | O::I32TruncF64U => ins.fcvt_to_uint(I32, x),
            O::I64TruncF32S | O::I64TruncF64S => ins.fcvt_to_sint(I64, x),
            O::I64TruncF32U | O::I64TruncF64U => ins.fcvt_to_uint(I64, x),
            O::I32TruncSatF32S | O::I32TruncSatF64S => ins.fcvt_to_sint_sat(I32, x),
            O::I32TruncSatF32U | O::I32TruncSatF64U => ins.fcvt_to_uint_sat(I32, x),
            O::I64TruncSatF32S | O::I64TruncSatF64S => ins.fcvt_to_sint_sat(I64, x),
            O::I64TruncSatF32U | O::I64TruncSatF64U => ins.fcvt_to_uint_sat(I64, x),
            O::F32ConvertI32S | O::F32ConvertI64S => ins.fcvt_from_sint(F32, x),
            O::F32ConvertI32U | O::F32ConvertI64U => ins.fcvt_from_uint(F32, x),
            O::F64ConvertI32S | O::F64ConvertI64S => ins.fcvt_from_sint(F64, x),
            O::F64ConvertI32U | O::F64ConvertI64U => ins.fcvt_from_uint(F64, x),
            O::F32DemoteF64 => ins.fdemote(F32, x),
            O::F64PromoteF32 => ins.fpromote(F64, x),
            O::I32ReinterpretF32 => {
                let (to, flags) = reinterpret(I32);
                ins.bitcast(to, flags, x)
            }
            O::I64ReinterpretF64 => {
                let (to, flags) = reinterpret(I64);
                ins.bitcast(to, flags, x)
            }
            O::F32ReinterpretI32 => {
                let (to, flags) = reinterpret(F32);
                ins.bitcast(to, flags, x)
            }
            _ => {
                let (to, flags) = reinterpret(F64);
                ins.bitcast(to, flags, x)
            }
        };
        self.push(v);
        Ok(true)
    }
}
