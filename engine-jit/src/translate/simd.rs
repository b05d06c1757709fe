//! SIMD: `v128` constants, lanes, shuffles and memory accesses. The
//! arithmetic is in `simd_arith.rs`.
//!
//! A `v128` always sits on the operand stack (and in locals, globals and
//! block parameters) as `i8x16`; each operator reinterprets it as the lane
//! type it works on and casts its result back.

use cranelift_codegen::ir::{
    ConstantData, Endianness, InstBuilder, MemFlagsData, Type, Value, types,
};
use wasmparser::{MemArg, Operator};

use super::TranslateError;
use super::Translator;
use super::bounds_checks::heap_flags;

/// Flags for reinterpreting one vector type as another.
pub(super) fn lanes_flags() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

impl Translator<'_, '_> {
    /// `value` reinterpreted as `ty` (a no-op if it already is).
    pub(super) fn as_vector(&mut self, value: Value, ty: Type) -> Value {
        if self.b.func.dfg.value_type(value) == ty {
            value
        } else {
            self.b.ins().bitcast(ty, lanes_flags(), value)
        }
    }

    /// Pops a `v128` as a vector of `ty`.
    pub(super) fn pop_vector(&mut self, ty: Type) -> Value {
        let value = self.pop();
        self.as_vector(value, ty)
    }

    /// Pushes a vector result in the canonical `i8x16` form.
    pub(super) fn push_vector(&mut self, value: Value) {
        let value = self.as_vector(value, types::I8X16);
        self.push(value);
    }

    pub(super) fn vector_const(&mut self, ty: Type, bytes: [u8; 16]) -> Value {
        let constant = self
            .b
            .func
            .dfg
            .constants
            .insert(ConstantData::from(bytes.to_vec()));
        self.b.ins().vconst(ty, constant)
    }

    pub(super) fn simd(&mut self, op: &Operator<'_>) -> Result<bool, TranslateError> {
        use Operator as O;
        use types::{F32X4, F64X2, I8, I8X16, I16, I16X8, I32, I32X4, I64, I64X2};
        match *op {
            O::V128Const { value } => {
                let v = self.vector_const(I8X16, *value.bytes());
                self.push(v);
            }
            O::V128Load { memarg } => {
                let address = self.simd_address(memarg, 16);
                let v = self.b.ins().load(I8X16, heap_flags(), address, 0);
                self.push(v);
            }
            O::V128Store { memarg } => {
                let value = self.pop();
                let address = self.simd_address(memarg, 16);
                self.b.ins().store(heap_flags(), value, address, 0);
            }
            O::V128Load8x8S { memarg } => {
                self.load_extend(memarg, |b, f, a| b.ins().sload8x8(f, a, 0))
            }
            O::V128Load8x8U { memarg } => {
                self.load_extend(memarg, |b, f, a| b.ins().uload8x8(f, a, 0))
            }
            O::V128Load16x4S { memarg } => {
                self.load_extend(memarg, |b, f, a| b.ins().sload16x4(f, a, 0))
            }
            O::V128Load16x4U { memarg } => {
                self.load_extend(memarg, |b, f, a| b.ins().uload16x4(f, a, 0))
            }
            O::V128Load32x2S { memarg } => {
                self.load_extend(memarg, |b, f, a| b.ins().sload32x2(f, a, 0))
            }
            O::V128Load32x2U { memarg } => {
                self.load_extend(memarg, |b, f, a| b.ins().uload32x2(f, a, 0))
            }
            O::V128Load8Splat { memarg } => self.load_splat(memarg, I8, I8X16),
            O::V128Load16Splat { memarg } => self.load_splat(memarg, I16, I16X8),
            O::V128Load32Splat { memarg } => self.load_splat(memarg, I32, I32X4),
            O::V128Load64Splat { memarg } => self.load_splat(memarg, I64, I64X2),
            O::V128Load32Zero { memarg } => self.load_zero(memarg, I32, I32X4),
            O::V128Load64Zero { memarg } => self.load_zero(memarg, I64, I64X2),
            O::V128Load8Lane { memarg, lane } => self.load_lane(memarg, lane, I8, I8X16),
            O::V128Load16Lane { memarg, lane } => self.load_lane(memarg, lane, I16, I16X8),
            O::V128Load32Lane { memarg, lane } => self.load_lane(memarg, lane, I32, I32X4),
            O::V128Load64Lane { memarg, lane } => self.load_lane(memarg, lane, I64, I64X2),
            O::V128Store8Lane { memarg, lane } => self.store_lane(memarg, lane, I8X16),
            O::V128Store16Lane { memarg, lane } => self.store_lane(memarg, lane, I16X8),
            O::V128Store32Lane { memarg, lane } => self.store_lane(memarg, lane, I32X4),
            O::V128Store64Lane { memarg, lane } => self.store_lane(memarg, lane, I64X2),
            O::I8x16Shuffle { lanes } => {
                let (a, b) = self.pop2();
                let mask = self
                    .b
                    .func
                    .dfg
                    .immediates
                    .push(ConstantData::from(lanes.to_vec()));
                let v = self.b.ins().shuffle(a, b, mask);
                self.push(v);
            }
            O::I8x16Swizzle | O::I8x16RelaxedSwizzle => {
                let (a, b) = self.pop2();
                let v = self.b.ins().swizzle(a, b);
                self.push(v);
            }
            O::I8x16Splat => self.splat(I8X16, Some(I8)),
            O::I16x8Splat => self.splat(I16X8, Some(I16)),
            O::I32x4Splat => self.splat(I32X4, None),
            O::I64x2Splat => self.splat(I64X2, None),
            O::F32x4Splat => self.splat(F32X4, None),
            O::F64x2Splat => self.splat(F64X2, None),
            O::I8x16ExtractLaneS { lane } => self.extract_lane(I8X16, lane, Some(true)),
            O::I8x16ExtractLaneU { lane } => self.extract_lane(I8X16, lane, Some(false)),
            O::I16x8ExtractLaneS { lane } => self.extract_lane(I16X8, lane, Some(true)),
            O::I16x8ExtractLaneU { lane } => self.extract_lane(I16X8, lane, Some(false)),
            O::I32x4ExtractLane { lane } => self.extract_lane(I32X4, lane, None),
            O::I64x2ExtractLane { lane } => self.extract_lane(I64X2, lane, None),
            O::F32x4ExtractLane { lane } => self.extract_lane(F32X4, lane, None),
            O::F64x2ExtractLane { lane } => self.extract_lane(F64X2, lane, None),
            O::I8x16ReplaceLane { lane } => self.replace_lane(I8X16, lane, Some(I8)),
            O::I16x8ReplaceLane { lane } => self.replace_lane(I16X8, lane, Some(I16)),
            O::I32x4ReplaceLane { lane } => self.replace_lane(I32X4, lane, None),
            O::I64x2ReplaceLane { lane } => self.replace_lane(I64X2, lane, None),
            O::F32x4ReplaceLane { lane } => self.replace_lane(F32X4, lane, None),
            O::F64x2ReplaceLane { lane } => self.replace_lane(F64X2, lane, None),
            _ => return self.simd_arith(op),
        }
        Ok(true)
    }

    fn simd_address(&mut self, memarg: MemArg, size: u32) -> Value {
        let index = self.pop();
        self.heap_address(memarg.memory, index, memarg.offset, size)
    }

    fn load_extend(
        &mut self,
        memarg: MemArg,
        load: fn(&mut cranelift_frontend::FunctionBuilder, MemFlagsData, Value) -> Value,
    ) {
        let address = self.simd_address(memarg, 8);
        let v = load(&mut self.b, heap_flags(), address);
        self.push_vector(v);
    }

    fn load_splat(&mut self, memarg: MemArg, lane: Type, ty: Type) {
        let address = self.simd_address(memarg, lane.bytes());
        let scalar = self.b.ins().load(lane, heap_flags(), address, 0);
        let v = self.b.ins().splat(ty, scalar);
        self.push_vector(v);
    }

    fn load_zero(&mut self, memarg: MemArg, lane: Type, ty: Type) {
        let address = self.simd_address(memarg, lane.bytes());
        let scalar = self.b.ins().load(lane, heap_flags(), address, 0);
        let v = self.b.ins().scalar_to_vector(ty, scalar);
        self.push_vector(v);
    }

    fn load_lane(&mut self, memarg: MemArg, lane: u8, scalar: Type, ty: Type) {
        let vector = self.pop_vector(ty);
        let address = self.simd_address(memarg, scalar.bytes());
        let value = self.b.ins().load(scalar, heap_flags(), address, 0);
        let v = self.b.ins().insertlane(vector, value, lane);
        self.push_vector(v);
    }

    fn store_lane(&mut self, memarg: MemArg, lane: u8, ty: Type) {
        let vector = self.pop_vector(ty);
        let address = self.simd_address(memarg, ty.lane_type().bytes());
        let value = self.b.ins().extractlane(vector, lane);
        self.b.ins().store(heap_flags(), value, address, 0);
    }

    /// `narrow`: the lane type a wider scalar operand is reduced to first.
    fn splat(&mut self, ty: Type, narrow: Option<Type>) {
        let mut scalar = self.pop();
        if let Some(lane) = narrow {
            scalar = self.b.ins().ireduce(lane, scalar);
        }
        let v = self.b.ins().splat(ty, scalar);
        self.push_vector(v);
    }

    /// `signed`: how a narrow lane is widened to `i32`.
    fn extract_lane(&mut self, ty: Type, lane: u8, signed: Option<bool>) {
        let vector = self.pop_vector(ty);
        let mut v = self.b.ins().extractlane(vector, lane);
        match signed {
            Some(true) => v = self.b.ins().sextend(types::I32, v),
            Some(false) => v = self.b.ins().uextend(types::I32, v),
            None => {}
        }
        self.push(v);
    }

    fn replace_lane(&mut self, ty: Type, lane: u8, narrow: Option<Type>) {
        let mut scalar = self.pop();
        let vector = self.pop_vector(ty);
        if let Some(lane_ty) = narrow {
            scalar = self.b.ins().ireduce(lane_ty, scalar);
        }
        let v = self.b.ins().insertlane(vector, scalar, lane);
        self.push_vector(v);
    }
}
