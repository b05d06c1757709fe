//! Trap codes in generated code and the per-module table that maps a
//! faulting instruction back to one.

use cranelift_codegen::ir;
use wasmtier_core::{TrapCode, U32Rows};

/// Cranelift's reserved codes cover stack overflow, heap out of bounds,
/// integer overflow, division by zero and bad conversions; the rest of
/// Wasm's traps get user codes.
pub const UNREACHABLE: ir::TrapCode = ir::TrapCode::unwrap_user(1);
pub const TABLE_OUT_OF_BOUNDS: ir::TrapCode = ir::TrapCode::unwrap_user(2);
pub const INDIRECT_CALL_TO_NULL: ir::TrapCode = ir::TrapCode::unwrap_user(3);
pub const BAD_SIGNATURE: ir::TrapCode = ir::TrapCode::unwrap_user(4);
pub const NULL_REFERENCE: ir::TrapCode = ir::TrapCode::unwrap_user(5);
pub const OUT_OF_FUEL: ir::TrapCode = ir::TrapCode::unwrap_user(6);
pub const INTERRUPTED: ir::TrapCode = ir::TrapCode::unwrap_user(7);
pub const NULL_FUNCTION_REFERENCE: ir::TrapCode = ir::TrapCode::unwrap_user(8);
pub const UNALIGNED_ATOMIC: ir::TrapCode = ir::TrapCode::unwrap_user(9);
pub const NULL_STRUCT: ir::TrapCode = ir::TrapCode::unwrap_user(10);
pub const NULL_ARRAY: ir::TrapCode = ir::TrapCode::unwrap_user(11);
pub const NULL_I31: ir::TrapCode = ir::TrapCode::unwrap_user(12);
pub const CAST_FAILURE: ir::TrapCode = ir::TrapCode::unwrap_user(13);
pub const ARRAY_OUT_OF_BOUNDS: ir::TrapCode = ir::TrapCode::unwrap_user(14);
pub const HEAP_OUT_OF_BOUNDS: ir::TrapCode = ir::TrapCode::HEAP_OUT_OF_BOUNDS;

/// Every code generated code may trap with: ours (Cranelift's "user"
/// codes), then Cranelift's own.
const ALL_CODES: [ir::TrapCode; 19] = [
    UNREACHABLE,
    TABLE_OUT_OF_BOUNDS,
    INDIRECT_CALL_TO_NULL,
    BAD_SIGNATURE,
    NULL_REFERENCE,
    OUT_OF_FUEL,
    INTERRUPTED,
    NULL_FUNCTION_REFERENCE,
    UNALIGNED_ATOMIC,
    NULL_STRUCT,
    NULL_ARRAY,
    NULL_I31,
    CAST_FAILURE,
    ARRAY_OUT_OF_BOUNDS,
    ir::TrapCode::STACK_OVERFLOW,
    ir::TrapCode::HEAP_OUT_OF_BOUNDS,
    ir::TrapCode::INTEGER_OVERFLOW,
    ir::TrapCode::INTEGER_DIVISION_BY_ZERO,
    ir::TrapCode::BAD_CONVERSION_TO_INTEGER,
];

/// User codes from here on stand for the codes of `ALL_CODES` in a body
/// inlined into its caller (`translate/recursion.rs`): they only mark trap
/// sites until the function is compiled, and `compile.rs` records the
/// original code with the site.
const INLINED_BASE: u8 = 128;

/// `code` as marked in an inlined body.
pub fn inlined(code: ir::TrapCode) -> ir::TrapCode {
    let position = ALL_CODES
        .iter()
        .position(|&c| c == code)
        .expect("a trap code generated code uses");
    ir::TrapCode::unwrap_user(INLINED_BASE + position as u8)
}

/// The original code of a code marked by [`inlined`]; `None` for any
/// other.
pub fn from_inlined(code: ir::TrapCode) -> Option<ir::TrapCode> {
    let position = code.as_raw().get().checked_sub(INLINED_BASE)?;
    ALL_CODES.get(usize::from(position)).copied()
}

/// The Wasm trap a Cranelift trap code stands for.
pub fn to_wasm(code: ir::TrapCode) -> TrapCode {
    match code {
        ir::TrapCode::STACK_OVERFLOW => TrapCode::StackOverflow,
        ir::TrapCode::HEAP_OUT_OF_BOUNDS => TrapCode::MemoryOutOfBounds,
        ir::TrapCode::INTEGER_OVERFLOW => TrapCode::IntegerOverflow,
        ir::TrapCode::INTEGER_DIVISION_BY_ZERO => TrapCode::IntegerDivideByZero,
        ir::TrapCode::BAD_CONVERSION_TO_INTEGER => TrapCode::BadConversionToInteger,
        UNREACHABLE => TrapCode::Unreachable,
        TABLE_OUT_OF_BOUNDS => TrapCode::TableOutOfBounds,
        INDIRECT_CALL_TO_NULL => TrapCode::IndirectCallToNull,
        BAD_SIGNATURE => TrapCode::IndirectCallTypeMismatch,
        NULL_REFERENCE => TrapCode::NullReference,
        OUT_OF_FUEL => TrapCode::OutOfFuel,
        INTERRUPTED => TrapCode::Interrupted,
        NULL_FUNCTION_REFERENCE => TrapCode::NullFunctionReference,
        UNALIGNED_ATOMIC => TrapCode::UnalignedAtomic,
        NULL_STRUCT => TrapCode::NullStructReference,
        NULL_ARRAY => TrapCode::NullArrayReference,
        NULL_I31 => TrapCode::NullI31Reference,
        CAST_FAILURE => TrapCode::CastFailure,
        ARRAY_OUT_OF_BOUNDS => TrapCode::ArrayOutOfBounds,
        // Codes we never emit; report the most generic one.
        _ => TrapCode::Unreachable,
    }
}

/// The Wasm trap for a raw Cranelift trap code (as stored in an artifact),
/// if it is one we emit.
pub fn from_raw(raw: u8) -> Option<TrapCode> {
    let code = ir::TrapCode::from_raw(std::num::NonZeroU8::new(raw)?);
    ALL_CODES.contains(&code).then(|| to_wasm(code))
}

/// `[code offset, raw Cranelift trap code]` for every trapping instruction
/// of a module, sorted by offset: searched in place (it may live in a
/// mapped artifact), never decoded into a new table.
#[derive(Debug, Default, Clone)]
pub struct TrapTable {
    entries: U32Rows<2>,
}

impl TrapTable {
    pub fn new(entries: U32Rows<2>) -> Self {
        Self { entries }
    }

    /// The trap recorded at exactly `offset`: a binary search, so a
    /// damaged (unsorted) table misses sites but reads nothing outside
    /// itself; unknown codes are not trap sites. Called from the signal
    /// handler: it neither allocates nor locks (the table's bytes are a
    /// `Vec` or the artifact's mapping, both alive as long as the module).
    pub fn lookup(&self, offset: u32) -> Option<TrapCode> {
        let [found, raw] = self
            .entries
            .get(self.entries.partition_point(|[o, _]| o < offset))?;
        (found == offset).then(|| from_raw(u8::try_from(raw).ok()?))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_exact_offsets_only() {
        let raw = |code: ir::TrapCode| u32::from(code.as_raw().get());
        let table = TrapTable::new(U32Rows::from_rows([
            [8, raw(HEAP_OUT_OF_BOUNDS)],
            [40, raw(UNREACHABLE)],
            [44, 0],
        ]));
        assert_eq!(table.lookup(8), Some(TrapCode::MemoryOutOfBounds));
        assert_eq!(table.lookup(40), Some(TrapCode::Unreachable));
        assert_eq!(table.lookup(9), None);
        assert_eq!(table.lookup(44), None);
    }

    #[test]
    fn codes_map_to_distinct_wasm_traps() {
        let mapped: std::collections::HashSet<_> = ALL_CODES.iter().map(|c| to_wasm(*c)).collect();
        assert_eq!(mapped.len(), ALL_CODES.len());
    }

    #[test]
    fn inlined_codes_are_distinct_and_come_back() {
        for code in ALL_CODES {
            let marked = inlined(code);
            assert!(!ALL_CODES.contains(&marked), "{code:?}");
            assert_eq!(from_inlined(marked), Some(code));
            assert_eq!(from_inlined(code), None);
        }
    }
}
