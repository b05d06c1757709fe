//! Which file translates each operator, decided by one exhaustive table.
//!
//! `Operator` is `#[non_exhaustive]`, so a `match` on it cannot be checked
//! for completeness. Instead `family_of` is generated from wasmparser's own
//! operator list (`for_each_operator!`), and every operator in that list
//! must hit an arm of `family!`: one arm per proposal this translator does
//! not implement (its operators are refused with the proposal's name), one
//! line per operator otherwise. An operator a wasmparser upgrade adds has
//! no line here and the crate does not compile, instead of the operator
//! failing at run time.

use wasmparser::Operator;

/// The file (`translate/<family>.rs`) whose function translates an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Family {
    Control,
    LocalsGlobals,
    Memory,
    Numeric,
    Conversions,
    Calls,
    TablesRefs,
    /// `simd.rs`, which hands arithmetic on to `simd_arith.rs`.
    Simd,
    /// `exceptions.rs`: `try_table`, `throw`, `throw_ref`.
    Exceptions,
    /// `atomics.rs`: the threads proposal.
    Atomics,
    /// `gc.rs`: the GC proposal (refused unless the module's features
    /// include it).
    Gc,
    Unsupported(Proposal),
}

impl Family {
    /// Straight computation: control flow, locals and globals, memory,
    /// arithmetic, conversions, SIMD. No call, table, reference,
    /// exception, atomic or GC operator: what loop unrolling copies and
    /// recursive inlining inlines (besides the calls it is about).
    pub(super) fn is_computation(self) -> bool {
        matches!(
            self,
            Family::Control
                | Family::LocalsGlobals
                | Family::Memory
                | Family::Numeric
                | Family::Conversions
                | Family::Simd
        )
    }
}

/// A proposal whose operators this translator refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proposal {
    SharedEverythingThreads,
    Gc,
    LegacyExceptions,
    StackSwitching,
    MemoryControl,
}

impl Proposal {
    /// wasmparser's name for the proposal.
    pub fn name(self) -> &'static str {
        match self {
            Self::SharedEverythingThreads => "shared_everything_threads",
            Self::Gc => "gc",
            Self::LegacyExceptions => "legacy_exceptions",
            Self::StackSwitching => "stack_switching",
            Self::MemoryControl => "memory_control",
        }
    }
}

// One line per arm keeps the table readable (rustfmt would triple it).
#[rustfmt::skip]
macro_rules! family {
    // A whole proposal in one file.
    (@threads $op:ident) => { Family::Atomics };
    (@gc $op:ident) => { Family::Gc };
    // Proposals not implemented: every operator of each is refused, named.
    // Validation with the engine's features normally rejects them first.
    (@shared_everything_threads $op:ident) => { Family::Unsupported(Proposal::SharedEverythingThreads) };
    (@legacy_exceptions $op:ident) => { Family::Unsupported(Proposal::LegacyExceptions) };
    (@stack_switching $op:ident) => { Family::Unsupported(Proposal::StackSwitching) };
    (@memory_control $op:ident) => { Family::Unsupported(Proposal::MemoryControl) };
    // Implemented proposals: each operator with the file that translates it.
    // exceptions
    (@exceptions TryTable) => { Family::Exceptions };
    (@exceptions Throw) => { Family::Exceptions };
    (@exceptions ThrowRef) => { Family::Exceptions };
    // function_references
    (@function_references CallRef) => { Family::Calls };
    (@function_references ReturnCallRef) => { Family::Calls };
    (@function_references RefAsNonNull) => { Family::TablesRefs };
    (@function_references BrOnNull) => { Family::Control };
    (@function_references BrOnNonNull) => { Family::Control };
    // mvp
    (@mvp Unreachable) => { Family::Control };
    (@mvp Nop) => { Family::Control };
    (@mvp Block) => { Family::Control };
    (@mvp Loop) => { Family::Control };
    (@mvp If) => { Family::Control };
    (@mvp Else) => { Family::Control };
    (@mvp End) => { Family::Control };
    (@mvp Br) => { Family::Control };
    (@mvp BrIf) => { Family::Control };
    (@mvp BrTable) => { Family::Control };
    (@mvp Return) => { Family::Control };
    (@mvp Call) => { Family::Calls };
    (@mvp CallIndirect) => { Family::Calls };
    (@mvp Drop) => { Family::LocalsGlobals };
    (@mvp Select) => { Family::LocalsGlobals };
    (@mvp LocalGet) => { Family::LocalsGlobals };
    (@mvp LocalSet) => { Family::LocalsGlobals };
    (@mvp LocalTee) => { Family::LocalsGlobals };
    (@mvp GlobalGet) => { Family::LocalsGlobals };
    (@mvp GlobalSet) => { Family::LocalsGlobals };
    (@mvp I32Load) => { Family::Memory };
    (@mvp I64Load) => { Family::Memory };
    (@mvp F32Load) => { Family::Memory };
    (@mvp F64Load) => { Family::Memory };
    (@mvp I32Load8S) => { Family::Memory };
    (@mvp I32Load8U) => { Family::Memory };
    (@mvp I32Load16S) => { Family::Memory };
    (@mvp I32Load16U) => { Family::Memory };
    (@mvp I64Load8S) => { Family::Memory };
    (@mvp I64Load8U) => { Family::Memory };
    (@mvp I64Load16S) => { Family::Memory };
    (@mvp I64Load16U) => { Family::Memory };
    (@mvp I64Load32S) => { Family::Memory };
    (@mvp I64Load32U) => { Family::Memory };
    (@mvp I32Store) => { Family::Memory };
    (@mvp I64Store) => { Family::Memory };
    (@mvp F32Store) => { Family::Memory };
    (@mvp F64Store) => { Family::Memory };
    (@mvp I32Store8) => { Family::Memory };
    (@mvp I32Store16) => { Family::Memory };
    (@mvp I64Store8) => { Family::Memory };
    (@mvp I64Store16) => { Family::Memory };
    (@mvp I64Store32) => { Family::Memory };
    (@mvp MemorySize) => { Family::Memory };
    (@mvp MemoryGrow) => { Family::Memory };
    (@mvp I32Const) => { Family::Numeric };
    (@mvp I64Const) => { Family::Numeric };
    (@mvp F32Const) => { Family::Numeric };
    (@mvp F64Const) => { Family::Numeric };
    (@mvp I32Eqz) => { Family::Numeric };
    (@mvp I32Eq) => { Family::Numeric };
    (@mvp I32Ne) => { Family::Numeric };
    (@mvp I32LtS) => { Family::Numeric };
    (@mvp I32LtU) => { Family::Numeric };
    (@mvp I32GtS) => { Family::Numeric };
    (@mvp I32GtU) => { Family::Numeric };
    (@mvp I32LeS) => { Family::Numeric };
    (@mvp I32LeU) => { Family::Numeric };
    (@mvp I32GeS) => { Family::Numeric };
    (@mvp I32GeU) => { Family::Numeric };
    (@mvp I64Eqz) => { Family::Numeric };
    (@mvp I64Eq) => { Family::Numeric };
    (@mvp I64Ne) => { Family::Numeric };
    (@mvp I64LtS) => { Family::Numeric };
    (@mvp I64LtU) => { Family::Numeric };
    (@mvp I64GtS) => { Family::Numeric };
    (@mvp I64GtU) => { Family::Numeric };
    (@mvp I64LeS) => { Family::Numeric };
    (@mvp I64LeU) => { Family::Numeric };
    (@mvp I64GeS) => { Family::Numeric };
    (@mvp I64GeU) => { Family::Numeric };
    (@mvp F32Eq) => { Family::Numeric };
    (@mvp F32Ne) => { Family::Numeric };
    (@mvp F32Lt) => { Family::Numeric };
    (@mvp F32Gt) => { Family::Numeric };
    (@mvp F32Le) => { Family::Numeric };
    (@mvp F32Ge) => { Family::Numeric };
    (@mvp F64Eq) => { Family::Numeric };
    (@mvp F64Ne) => { Family::Numeric };
    (@mvp F64Lt) => { Family::Numeric };
    (@mvp F64Gt) => { Family::Numeric };
    (@mvp F64Le) => { Family::Numeric };
    (@mvp F64Ge) => { Family::Numeric };
    (@mvp I32Clz) => { Family::Numeric };
    (@mvp I32Ctz) => { Family::Numeric };
    (@mvp I32Popcnt) => { Family::Numeric };
    (@mvp I32Add) => { Family::Numeric };
    (@mvp I32Sub) => { Family::Numeric };
    (@mvp I32Mul) => { Family::Numeric };
    (@mvp I32DivS) => { Family::Numeric };
    (@mvp I32DivU) => { Family::Numeric };
    (@mvp I32RemS) => { Family::Numeric };
    (@mvp I32RemU) => { Family::Numeric };
    (@mvp I32And) => { Family::Numeric };
    (@mvp I32Or) => { Family::Numeric };
    (@mvp I32Xor) => { Family::Numeric };
    (@mvp I32Shl) => { Family::Numeric };
    (@mvp I32ShrS) => { Family::Numeric };
    (@mvp I32ShrU) => { Family::Numeric };
    (@mvp I32Rotl) => { Family::Numeric };
    (@mvp I32Rotr) => { Family::Numeric };
    (@mvp I64Clz) => { Family::Numeric };
    (@mvp I64Ctz) => { Family::Numeric };
    (@mvp I64Popcnt) => { Family::Numeric };
    (@mvp I64Add) => { Family::Numeric };
    (@mvp I64Sub) => { Family::Numeric };
    (@mvp I64Mul) => { Family::Numeric };
    (@mvp I64DivS) => { Family::Numeric };
    (@mvp I64DivU) => { Family::Numeric };
    (@mvp I64RemS) => { Family::Numeric };
    (@mvp I64RemU) => { Family::Numeric };
    (@mvp I64And) => { Family::Numeric };
    (@mvp I64Or) => { Family::Numeric };
    (@mvp I64Xor) => { Family::Numeric };
    (@mvp I64Shl) => { Family::Numeric };
    (@mvp I64ShrS) => { Family::Numeric };
    (@mvp I64ShrU) => { Family::Numeric };
    (@mvp I64Rotl) => { Family::Numeric };
    (@mvp I64Rotr) => { Family::Numeric };
    (@mvp F32Abs) => { Family::Numeric };
    (@mvp F32Neg) => { Family::Numeric };
    (@mvp F32Ceil) => { Family::Numeric };
    (@mvp F32Floor) => { Family::Numeric };
    (@mvp F32Trunc) => { Family::Numeric };
    (@mvp F32Nearest) => { Family::Numeric };
    (@mvp F32Sqrt) => { Family::Numeric };
    (@mvp F32Add) => { Family::Numeric };
    (@mvp F32Sub) => { Family::Numeric };
    (@mvp F32Mul) => { Family::Numeric };
    (@mvp F32Div) => { Family::Numeric };
    (@mvp F32Min) => { Family::Numeric };
    (@mvp F32Max) => { Family::Numeric };
    (@mvp F32Copysign) => { Family::Numeric };
    (@mvp F64Abs) => { Family::Numeric };
    (@mvp F64Neg) => { Family::Numeric };
    (@mvp F64Ceil) => { Family::Numeric };
    (@mvp F64Floor) => { Family::Numeric };
    (@mvp F64Trunc) => { Family::Numeric };
    (@mvp F64Nearest) => { Family::Numeric };
    (@mvp F64Sqrt) => { Family::Numeric };
    (@mvp F64Add) => { Family::Numeric };
    (@mvp F64Sub) => { Family::Numeric };
    (@mvp F64Mul) => { Family::Numeric };
    (@mvp F64Div) => { Family::Numeric };
    (@mvp F64Min) => { Family::Numeric };
    (@mvp F64Max) => { Family::Numeric };
    (@mvp F64Copysign) => { Family::Numeric };
    (@mvp I32WrapI64) => { Family::Conversions };
    (@mvp I32TruncF32S) => { Family::Conversions };
    (@mvp I32TruncF32U) => { Family::Conversions };
    (@mvp I32TruncF64S) => { Family::Conversions };
    (@mvp I32TruncF64U) => { Family::Conversions };
    (@mvp I64ExtendI32S) => { Family::Conversions };
    (@mvp I64ExtendI32U) => { Family::Conversions };
    (@mvp I64TruncF32S) => { Family::Conversions };
    (@mvp I64TruncF32U) => { Family::Conversions };
    (@mvp I64TruncF64S) => { Family::Conversions };
    (@mvp I64TruncF64U) => { Family::Conversions };
    (@mvp F32ConvertI32S) => { Family::Conversions };
    (@mvp F32ConvertI32U) => { Family::Conversions };
    (@mvp F32ConvertI64S) => { Family::Conversions };
    (@mvp F32ConvertI64U) => { Family::Conversions };
    (@mvp F32DemoteF64) => { Family::Conversions };
    (@mvp F64ConvertI32S) => { Family::Conversions };
    (@mvp F64ConvertI32U) => { Family::Conversions };
    (@mvp F64ConvertI64S) => { Family::Conversions };
    (@mvp F64ConvertI64U) => { Family::Conversions };
    (@mvp F64PromoteF32) => { Family::Conversions };
    (@mvp I32ReinterpretF32) => { Family::Conversions };
    (@mvp I64ReinterpretF64) => { Family::Conversions };
    (@mvp F32ReinterpretI32) => { Family::Conversions };
    (@mvp F64ReinterpretI64) => { Family::Conversions };
    // sign_extension
    (@sign_extension I32Extend8S) => { Family::Numeric };
    (@sign_extension I32Extend16S) => { Family::Numeric };
    (@sign_extension I64Extend8S) => { Family::Numeric };
    (@sign_extension I64Extend16S) => { Family::Numeric };
    (@sign_extension I64Extend32S) => { Family::Numeric };
    // saturating_float_to_int
    (@saturating_float_to_int I32TruncSatF32S) => { Family::Conversions };
    (@saturating_float_to_int I32TruncSatF32U) => { Family::Conversions };
    (@saturating_float_to_int I32TruncSatF64S) => { Family::Conversions };
    (@saturating_float_to_int I32TruncSatF64U) => { Family::Conversions };
    (@saturating_float_to_int I64TruncSatF32S) => { Family::Conversions };
    (@saturating_float_to_int I64TruncSatF32U) => { Family::Conversions };
    (@saturating_float_to_int I64TruncSatF64S) => { Family::Conversions };
    (@saturating_float_to_int I64TruncSatF64U) => { Family::Conversions };
    // bulk_memory
    (@bulk_memory MemoryInit) => { Family::Memory };
    (@bulk_memory DataDrop) => { Family::Memory };
    (@bulk_memory MemoryCopy) => { Family::Memory };
    (@bulk_memory MemoryFill) => { Family::Memory };
    (@bulk_memory TableInit) => { Family::TablesRefs };
    (@bulk_memory ElemDrop) => { Family::TablesRefs };
    (@bulk_memory TableCopy) => { Family::TablesRefs };
    // reference_types
    (@reference_types TypedSelect) => { Family::LocalsGlobals };
    (@reference_types RefNull) => { Family::TablesRefs };
    (@reference_types RefIsNull) => { Family::TablesRefs };
    (@reference_types RefFunc) => { Family::TablesRefs };
    (@reference_types TableFill) => { Family::TablesRefs };
    (@reference_types TableGet) => { Family::TablesRefs };
    (@reference_types TableSet) => { Family::TablesRefs };
    (@reference_types TableGrow) => { Family::TablesRefs };
    (@reference_types TableSize) => { Family::TablesRefs };
    // tail_call
    (@tail_call ReturnCall) => { Family::Calls };
    (@tail_call ReturnCallIndirect) => { Family::Calls };
    // simd
    (@simd V128Load) => { Family::Simd };
    (@simd V128Load8x8S) => { Family::Simd };
    (@simd V128Load8x8U) => { Family::Simd };
    (@simd V128Load16x4S) => { Family::Simd };
    (@simd V128Load16x4U) => { Family::Simd };
    (@simd V128Load32x2S) => { Family::Simd };
    (@simd V128Load32x2U) => { Family::Simd };
    (@simd V128Load8Splat) => { Family::Simd };
    (@simd V128Load16Splat) => { Family::Simd };
    (@simd V128Load32Splat) => { Family::Simd };
    (@simd V128Load64Splat) => { Family::Simd };
    (@simd V128Load32Zero) => { Family::Simd };
    (@simd V128Load64Zero) => { Family::Simd };
    (@simd V128Store) => { Family::Simd };
    (@simd V128Load8Lane) => { Family::Simd };
    (@simd V128Load16Lane) => { Family::Simd };
    (@simd V128Load32Lane) => { Family::Simd };
    (@simd V128Load64Lane) => { Family::Simd };
    (@simd V128Store8Lane) => { Family::Simd };
    (@simd V128Store16Lane) => { Family::Simd };
    (@simd V128Store32Lane) => { Family::Simd };
    (@simd V128Store64Lane) => { Family::Simd };
    (@simd V128Const) => { Family::Simd };
    (@simd I8x16Shuffle) => { Family::Simd };
    (@simd I8x16ExtractLaneS) => { Family::Simd };
    (@simd I8x16ExtractLaneU) => { Family::Simd };
    (@simd I8x16ReplaceLane) => { Family::Simd };
    (@simd I16x8ExtractLaneS) => { Family::Simd };
    (@simd I16x8ExtractLaneU) => { Family::Simd };
    (@simd I16x8ReplaceLane) => { Family::Simd };
    (@simd I32x4ExtractLane) => { Family::Simd };
    (@simd I32x4ReplaceLane) => { Family::Simd };
    (@simd I64x2ExtractLane) => { Family::Simd };
    (@simd I64x2ReplaceLane) => { Family::Simd };
    (@simd F32x4ExtractLane) => { Family::Simd };
    (@simd F32x4ReplaceLane) => { Family::Simd };
    (@simd F64x2ExtractLane) => { Family::Simd };
    (@simd F64x2ReplaceLane) => { Family::Simd };
    (@simd I8x16Swizzle) => { Family::Simd };
    (@simd I8x16Splat) => { Family::Simd };
    (@simd I16x8Splat) => { Family::Simd };
    (@simd I32x4Splat) => { Family::Simd };
    (@simd I64x2Splat) => { Family::Simd };
    (@simd F32x4Splat) => { Family::Simd };
    (@simd F64x2Splat) => { Family::Simd };
    (@simd I8x16Eq) => { Family::Simd };
    (@simd I8x16Ne) => { Family::Simd };
    (@simd I8x16LtS) => { Family::Simd };
    (@simd I8x16LtU) => { Family::Simd };
    (@simd I8x16GtS) => { Family::Simd };
    (@simd I8x16GtU) => { Family::Simd };
    (@simd I8x16LeS) => { Family::Simd };
    (@simd I8x16LeU) => { Family::Simd };
    (@simd I8x16GeS) => { Family::Simd };
    (@simd I8x16GeU) => { Family::Simd };
    (@simd I16x8Eq) => { Family::Simd };
    (@simd I16x8Ne) => { Family::Simd };
    (@simd I16x8LtS) => { Family::Simd };
    (@simd I16x8LtU) => { Family::Simd };
    (@simd I16x8GtS) => { Family::Simd };
    (@simd I16x8GtU) => { Family::Simd };
    (@simd I16x8LeS) => { Family::Simd };
    (@simd I16x8LeU) => { Family::Simd };
    (@simd I16x8GeS) => { Family::Simd };
    (@simd I16x8GeU) => { Family::Simd };
    (@simd I32x4Eq) => { Family::Simd };
    (@simd I32x4Ne) => { Family::Simd };
    (@simd I32x4LtS) => { Family::Simd };
    (@simd I32x4LtU) => { Family::Simd };
    (@simd I32x4GtS) => { Family::Simd };
    (@simd I32x4GtU) => { Family::Simd };
    (@simd I32x4LeS) => { Family::Simd };
    (@simd I32x4LeU) => { Family::Simd };
    (@simd I32x4GeS) => { Family::Simd };
    (@simd I32x4GeU) => { Family::Simd };
    (@simd I64x2Eq) => { Family::Simd };
    (@simd I64x2Ne) => { Family::Simd };
    (@simd I64x2LtS) => { Family::Simd };
    (@simd I64x2GtS) => { Family::Simd };
    (@simd I64x2LeS) => { Family::Simd };
    (@simd I64x2GeS) => { Family::Simd };
    (@simd F32x4Eq) => { Family::Simd };
    (@simd F32x4Ne) => { Family::Simd };
    (@simd F32x4Lt) => { Family::Simd };
    (@simd F32x4Gt) => { Family::Simd };
    (@simd F32x4Le) => { Family::Simd };
    (@simd F32x4Ge) => { Family::Simd };
    (@simd F64x2Eq) => { Family::Simd };
    (@simd F64x2Ne) => { Family::Simd };
    (@simd F64x2Lt) => { Family::Simd };
    (@simd F64x2Gt) => { Family::Simd };
    (@simd F64x2Le) => { Family::Simd };
    (@simd F64x2Ge) => { Family::Simd };
    (@simd V128Not) => { Family::Simd };
    (@simd V128And) => { Family::Simd };
    (@simd V128AndNot) => { Family::Simd };
    (@simd V128Or) => { Family::Simd };
    (@simd V128Xor) => { Family::Simd };
    (@simd V128Bitselect) => { Family::Simd };
    (@simd V128AnyTrue) => { Family::Simd };
    (@simd I8x16Abs) => { Family::Simd };
    (@simd I8x16Neg) => { Family::Simd };
    (@simd I8x16Popcnt) => { Family::Simd };
    (@simd I8x16AllTrue) => { Family::Simd };
    (@simd I8x16Bitmask) => { Family::Simd };
    (@simd I8x16NarrowI16x8S) => { Family::Simd };
    (@simd I8x16NarrowI16x8U) => { Family::Simd };
    (@simd I8x16Shl) => { Family::Simd };
    (@simd I8x16ShrS) => { Family::Simd };
    (@simd I8x16ShrU) => { Family::Simd };
    (@simd I8x16Add) => { Family::Simd };
    (@simd I8x16AddSatS) => { Family::Simd };
    (@simd I8x16AddSatU) => { Family::Simd };
    (@simd I8x16Sub) => { Family::Simd };
    (@simd I8x16SubSatS) => { Family::Simd };
    (@simd I8x16SubSatU) => { Family::Simd };
    (@simd I8x16MinS) => { Family::Simd };
    (@simd I8x16MinU) => { Family::Simd };
    (@simd I8x16MaxS) => { Family::Simd };
    (@simd I8x16MaxU) => { Family::Simd };
    (@simd I8x16AvgrU) => { Family::Simd };
    (@simd I16x8ExtAddPairwiseI8x16S) => { Family::Simd };
    (@simd I16x8ExtAddPairwiseI8x16U) => { Family::Simd };
    (@simd I16x8Abs) => { Family::Simd };
    (@simd I16x8Neg) => { Family::Simd };
    (@simd I16x8Q15MulrSatS) => { Family::Simd };
    (@simd I16x8AllTrue) => { Family::Simd };
    (@simd I16x8Bitmask) => { Family::Simd };
    (@simd I16x8NarrowI32x4S) => { Family::Simd };
    (@simd I16x8NarrowI32x4U) => { Family::Simd };
    (@simd I16x8ExtendLowI8x16S) => { Family::Simd };
    (@simd I16x8ExtendHighI8x16S) => { Family::Simd };
    (@simd I16x8ExtendLowI8x16U) => { Family::Simd };
    (@simd I16x8ExtendHighI8x16U) => { Family::Simd };
    (@simd I16x8Shl) => { Family::Simd };
    (@simd I16x8ShrS) => { Family::Simd };
    (@simd I16x8ShrU) => { Family::Simd };
    (@simd I16x8Add) => { Family::Simd };
    (@simd I16x8AddSatS) => { Family::Simd };
    (@simd I16x8AddSatU) => { Family::Simd };
    (@simd I16x8Sub) => { Family::Simd };
    (@simd I16x8SubSatS) => { Family::Simd };
    (@simd I16x8SubSatU) => { Family::Simd };
    (@simd I16x8Mul) => { Family::Simd };
    (@simd I16x8MinS) => { Family::Simd };
    (@simd I16x8MinU) => { Family::Simd };
    (@simd I16x8MaxS) => { Family::Simd };
    (@simd I16x8MaxU) => { Family::Simd };
    (@simd I16x8AvgrU) => { Family::Simd };
    (@simd I16x8ExtMulLowI8x16S) => { Family::Simd };
    (@simd I16x8ExtMulHighI8x16S) => { Family::Simd };
    (@simd I16x8ExtMulLowI8x16U) => { Family::Simd };
    (@simd I16x8ExtMulHighI8x16U) => { Family::Simd };
    (@simd I32x4ExtAddPairwiseI16x8S) => { Family::Simd };
    (@simd I32x4ExtAddPairwiseI16x8U) => { Family::Simd };
    (@simd I32x4Abs) => { Family::Simd };
    (@simd I32x4Neg) => { Family::Simd };
    (@simd I32x4AllTrue) => { Family::Simd };
    (@simd I32x4Bitmask) => { Family::Simd };
    (@simd I32x4ExtendLowI16x8S) => { Family::Simd };
    (@simd I32x4ExtendHighI16x8S) => { Family::Simd };
    (@simd I32x4ExtendLowI16x8U) => { Family::Simd };
    (@simd I32x4ExtendHighI16x8U) => { Family::Simd };
    (@simd I32x4Shl) => { Family::Simd };
    (@simd I32x4ShrS) => { Family::Simd };
    (@simd I32x4ShrU) => { Family::Simd };
    (@simd I32x4Add) => { Family::Simd };
    (@simd I32x4Sub) => { Family::Simd };
    (@simd I32x4Mul) => { Family::Simd };
    (@simd I32x4MinS) => { Family::Simd };
    (@simd I32x4MinU) => { Family::Simd };
    (@simd I32x4MaxS) => { Family::Simd };
    (@simd I32x4MaxU) => { Family::Simd };
    (@simd I32x4DotI16x8S) => { Family::Simd };
    (@simd I32x4ExtMulLowI16x8S) => { Family::Simd };
    (@simd I32x4ExtMulHighI16x8S) => { Family::Simd };
    (@simd I32x4ExtMulLowI16x8U) => { Family::Simd };
    (@simd I32x4ExtMulHighI16x8U) => { Family::Simd };
    (@simd I64x2Abs) => { Family::Simd };
    (@simd I64x2Neg) => { Family::Simd };
    (@simd I64x2AllTrue) => { Family::Simd };
    (@simd I64x2Bitmask) => { Family::Simd };
    (@simd I64x2ExtendLowI32x4S) => { Family::Simd };
    (@simd I64x2ExtendHighI32x4S) => { Family::Simd };
    (@simd I64x2ExtendLowI32x4U) => { Family::Simd };
    (@simd I64x2ExtendHighI32x4U) => { Family::Simd };
    (@simd I64x2Shl) => { Family::Simd };
    (@simd I64x2ShrS) => { Family::Simd };
    (@simd I64x2ShrU) => { Family::Simd };
    (@simd I64x2Add) => { Family::Simd };
    (@simd I64x2Sub) => { Family::Simd };
    (@simd I64x2Mul) => { Family::Simd };
    (@simd I64x2ExtMulLowI32x4S) => { Family::Simd };
    (@simd I64x2ExtMulHighI32x4S) => { Family::Simd };
    (@simd I64x2ExtMulLowI32x4U) => { Family::Simd };
    (@simd I64x2ExtMulHighI32x4U) => { Family::Simd };
    (@simd F32x4Ceil) => { Family::Simd };
    (@simd F32x4Floor) => { Family::Simd };
    (@simd F32x4Trunc) => { Family::Simd };
    (@simd F32x4Nearest) => { Family::Simd };
    (@simd F32x4Abs) => { Family::Simd };
    (@simd F32x4Neg) => { Family::Simd };
    (@simd F32x4Sqrt) => { Family::Simd };
    (@simd F32x4Add) => { Family::Simd };
    (@simd F32x4Sub) => { Family::Simd };
    (@simd F32x4Mul) => { Family::Simd };
    (@simd F32x4Div) => { Family::Simd };
    (@simd F32x4Min) => { Family::Simd };
    (@simd F32x4Max) => { Family::Simd };
    (@simd F32x4PMin) => { Family::Simd };
    (@simd F32x4PMax) => { Family::Simd };
    (@simd F64x2Ceil) => { Family::Simd };
    (@simd F64x2Floor) => { Family::Simd };
    (@simd F64x2Trunc) => { Family::Simd };
    (@simd F64x2Nearest) => { Family::Simd };
    (@simd F64x2Abs) => { Family::Simd };
    (@simd F64x2Neg) => { Family::Simd };
    (@simd F64x2Sqrt) => { Family::Simd };
    (@simd F64x2Add) => { Family::Simd };
    (@simd F64x2Sub) => { Family::Simd };
    (@simd F64x2Mul) => { Family::Simd };
    (@simd F64x2Div) => { Family::Simd };
    (@simd F64x2Min) => { Family::Simd };
    (@simd F64x2Max) => { Family::Simd };
    (@simd F64x2PMin) => { Family::Simd };
    (@simd F64x2PMax) => { Family::Simd };
    (@simd I32x4TruncSatF32x4S) => { Family::Simd };
    (@simd I32x4TruncSatF32x4U) => { Family::Simd };
    (@simd F32x4ConvertI32x4S) => { Family::Simd };
    (@simd F32x4ConvertI32x4U) => { Family::Simd };
    (@simd I32x4TruncSatF64x2SZero) => { Family::Simd };
    (@simd I32x4TruncSatF64x2UZero) => { Family::Simd };
    (@simd F64x2ConvertLowI32x4S) => { Family::Simd };
    (@simd F64x2ConvertLowI32x4U) => { Family::Simd };
    (@simd F32x4DemoteF64x2Zero) => { Family::Simd };
    (@simd F64x2PromoteLowF32x4) => { Family::Simd };
    // relaxed_simd
    (@relaxed_simd I8x16RelaxedSwizzle) => { Family::Simd };
    (@relaxed_simd I32x4RelaxedTruncF32x4S) => { Family::Simd };
    (@relaxed_simd I32x4RelaxedTruncF32x4U) => { Family::Simd };
    (@relaxed_simd I32x4RelaxedTruncF64x2SZero) => { Family::Simd };
    (@relaxed_simd I32x4RelaxedTruncF64x2UZero) => { Family::Simd };
    (@relaxed_simd F32x4RelaxedMadd) => { Family::Simd };
    (@relaxed_simd F32x4RelaxedNmadd) => { Family::Simd };
    (@relaxed_simd F64x2RelaxedMadd) => { Family::Simd };
    (@relaxed_simd F64x2RelaxedNmadd) => { Family::Simd };
    (@relaxed_simd I8x16RelaxedLaneselect) => { Family::Simd };
    (@relaxed_simd I16x8RelaxedLaneselect) => { Family::Simd };
    (@relaxed_simd I32x4RelaxedLaneselect) => { Family::Simd };
    (@relaxed_simd I64x2RelaxedLaneselect) => { Family::Simd };
    (@relaxed_simd F32x4RelaxedMin) => { Family::Simd };
    (@relaxed_simd F32x4RelaxedMax) => { Family::Simd };
    (@relaxed_simd F64x2RelaxedMin) => { Family::Simd };
    (@relaxed_simd F64x2RelaxedMax) => { Family::Simd };
    (@relaxed_simd I16x8RelaxedQ15mulrS) => { Family::Simd };
    (@relaxed_simd I16x8RelaxedDotI8x16I7x16S) => { Family::Simd };
    (@relaxed_simd I32x4RelaxedDotI8x16I7x16AddS) => { Family::Simd };
    // wide_arithmetic
    (@wide_arithmetic I64Add128) => { Family::Numeric };
    (@wide_arithmetic I64Sub128) => { Family::Numeric };
    (@wide_arithmetic I64MulWideS) => { Family::Numeric };
    (@wide_arithmetic I64MulWideU) => { Family::Numeric };
}

macro_rules! define_family_of {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
        /// The family that translates `op`.
        pub(super) fn family_of(op: &Operator<'_>) -> Family {
            match op {
                $( Operator::$op { .. } => family!(@$proposal $op), )*
                // The arms above are wasmparser's list of the enum's own
                // variants (same pinned release), so none is left over.
                _ => unreachable!("an operator missing from wasmparser's own list"),
            }
        }
    };
}
wasmparser::for_each_operator!(define_family_of);

#[cfg(test)]
mod tests {
    use wasmparser::MemArg;

    use super::*;

    #[test]
    fn operators_go_to_their_family_or_name_their_proposal() {
        assert_eq!(family_of(&Operator::I32Add), Family::Numeric);
        assert_eq!(
            family_of(&Operator::Br { relative_depth: 0 }),
            Family::Control
        );
        assert_eq!(family_of(&Operator::I8x16RelaxedSwizzle), Family::Simd);
        let memarg = MemArg {
            align: 2,
            max_align: 2,
            offset: 0,
            memory: 0,
        };
        assert_eq!(
            family_of(&Operator::I32AtomicLoad { memarg }),
            Family::Atomics
        );
        assert_eq!(
            family_of(&Operator::Rethrow { relative_depth: 0 }),
            Family::Unsupported(Proposal::LegacyExceptions)
        );
        assert_eq!(
            family_of(&Operator::CallRef { type_index: 0 }),
            Family::Calls
        );
        assert_eq!(family_of(&Operator::RefEq), Family::Gc);
        assert_eq!(Proposal::Gc.name(), "gc");
    }
}
