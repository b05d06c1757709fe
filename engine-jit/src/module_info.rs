//! What instantiation needs from a module beyond `ValidatedModule`:
//! decoded constant expressions, element and data segments, the type of
//! every memory/table/global (imports first), and each memory's
//! bounds-check strategy.

use std::ops::Range;
use std::sync::Arc;

use wasmparser::{
    BinaryReader, ConstExpr as RawConstExpr, DataKind, Element, ElementItems, ElementKind,
    FromReader, Operator,
};
use wasmtier_core::canon::{self, CompositeKind};
use wasmtier_core::{EngineConfig, ExternType, GlobalType, MemoryType, TableType, ValidatedModule};

use crate::gc::layout::Layout;
use crate::memory_strategy::MemoryStrategy;
use crate::translate::LoopUnrolling;

/// Why constant expressions or segments could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModuleInfoError {
    #[error("{0}")]
    Decode(String),
    #[error("unsupported constant operator {0}")]
    UnsupportedConstOperator(String),
}

impl From<wasmparser::BinaryReaderError> for ModuleInfoError {
    fn from(error: wasmparser::BinaryReaderError) -> Self {
        Self::Decode(error.to_string())
    }
}

/// One operator of a constant expression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConstOp {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    V128(u128),
    RefNull,
    RefFunc(u32),
    GlobalGet(u32),
    I32Add,
    I32Sub,
    I32Mul,
    I64Add,
    I64Sub,
    I64Mul,
    /// GC constant instructions, with their module type index.
    StructNew(u32),
    StructNewDefault(u32),
    ArrayNew(u32),
    ArrayNewDefault(u32),
    /// `array.new_fixed $t n`.
    ArrayNewFixed(u32, u32),
    RefI31,
    AnyConvertExtern,
    ExternConvertAny,
}

/// A constant expression, evaluated at instantiation.
#[derive(Debug, Clone, PartialEq)]
pub struct ConstExpr {
    pub ops: Vec<ConstOp>,
}

#[derive(Debug, Clone)]
pub enum ElementMode {
    Passive,
    Declared,
    Active { table: u32, offset: ConstExpr },
}

#[derive(Debug, Clone)]
pub struct ElementSegment {
    pub mode: ElementMode,
    pub items: Vec<ConstExpr>,
}

#[derive(Debug, Clone)]
pub struct DataSegment {
    /// `None` for a passive segment.
    pub active: Option<(u32, ConstExpr)>,
    /// The payload within the module's bytes.
    pub bytes: Range<usize>,
}

#[derive(Debug)]
pub struct ModuleInfo {
    pub module: Arc<ValidatedModule>,
    pub memory_types: Vec<MemoryType>,
    pub memory_strategies: Vec<MemoryStrategy>,
    pub table_types: Vec<TableType>,
    /// Initializer of each defined table that has one.
    pub table_inits: Vec<Option<ConstExpr>>,
    pub global_types: Vec<GlobalType>,
    /// Initializers of the defined globals.
    pub global_inits: Vec<ConstExpr>,
    pub elements: Vec<ElementSegment>,
    pub data: Vec<DataSegment>,
    /// The object layout of each type index that is a struct or array type
    /// (computed once: the translator reads it per GC instruction, the
    /// store registers it per instantiation).
    pub gc_layouts: Vec<Option<Layout>>,
    /// Whether generated code meters fuel.
    pub fuel: bool,
    /// Whether generated code checks the interrupt counter (a timeout is
    /// configured) at function entry and loop headers.
    pub interrupts: bool,
    /// Whether functions are compiled on first call (`Compilation::Lazy`,
    /// `Concurrent` or `Tiered`): calls then go through `VMFuncRef`s whose code may be
    /// a lazy-compile stub (`translate/tiering.rs`).
    pub lazy_calls: bool,
    /// Whether, compiled lazily, optimized code calls the module's
    /// functions directly (`lazy/call_table.rs`).
    pub lazy_direct_calls: bool,
    /// How far optimized code unrolls innermost loops: the JIT's setting
    /// (without its function-size limit when tiered), unless compiled
    /// ahead of time.
    pub loop_unrolling: LoopUnrolling,
}

impl ModuleInfo {
    pub fn new(
        module: Arc<ValidatedModule>,
        config: &EngineConfig,
    ) -> Result<Self, ModuleInfoError> {
        let mut memory_types = Vec::new();
        let mut table_types = Vec::new();
        let mut global_types = Vec::new();
        for import in module.imports() {
            match &import.ty {
                ExternType::Memory(m) => memory_types.push(*m),
                ExternType::Table(t) => table_types.push(*t),
                ExternType::Global(g) => global_types.push(*g),
                ExternType::Func(_) | ExternType::Tag(_) => {}
            }
        }
        memory_types.extend(module.memories().iter().copied());
        table_types.extend(module.tables().iter().copied());
        global_types.extend(module.globals().iter().map(|g| g.ty));
        let memory_strategies = memory_types
            .iter()
            .map(|ty| MemoryStrategy::choose(ty, config))
            .collect();
        let bytes = module.bytes();
        let global_inits = module
            .globals()
            .iter()
            .map(|g| {
                let reader = BinaryReader::new(&bytes[g.init.clone()], g.init.start);
                const_expr(RawConstExpr::new(reader))
            })
            .collect::<Result<_, _>>()?;
        let table_inits = module
            .table_inits()
            .iter()
            .map(|init| {
                init.as_ref()
                    .map(|range| {
                        let reader = BinaryReader::new(&bytes[range.clone()], range.start);
                        const_expr(RawConstExpr::new(reader))
                    })
                    .transpose()
            })
            .collect::<Result<_, _>>()?;
        let elements = module
            .elements()
            .iter()
            .map(|e| element(bytes, e.range.clone()))
            .collect::<Result<_, _>>()?;
        let data = module
            .data()
            .iter()
            .map(|d| data_segment(bytes, d.range.clone(), d.data.clone()))
            .collect::<Result<_, _>>()?;
        let gc_layouts = module
            .type_ids()
            .iter()
            .map(|&id| {
                (canon::kind(id) != CompositeKind::Func)
                    .then(|| Layout::of(id))
                    .flatten()
            })
            .collect();
        let lazy_calls = config.compilation != wasmtier_core::Compilation::Eager;
        let lazy_direct_calls = lazy_calls && crate::lazy::direct_calls_fit(&module);
        Ok(Self {
            gc_layouts,
            module,
            memory_types,
            memory_strategies,
            table_types,
            table_inits,
            global_types,
            global_inits,
            elements,
            data,
            fuel: config.fuel.is_some(),
            interrupts: config.timeout.is_some(),
            lazy_calls,
            lazy_direct_calls,
            // Tiered, a function gets optimized code only once it is hot,
            // so its size is no reason to spare the compile.
            loop_unrolling: match config.compilation {
                wasmtier_core::Compilation::Tiered { .. } => LoopUnrolling::JIT_HOT,
                _ => LoopUnrolling::JIT,
            },
        })
    }
}

fn const_expr(expr: RawConstExpr<'_>) -> Result<ConstExpr, ModuleInfoError> {
    let mut ops = Vec::new();
    let mut reader = expr.get_operators_reader();
    while !reader.eof() {
        let op = match reader.read()? {
            Operator::I32Const { value } => ConstOp::I32(value),
            Operator::I64Const { value } => ConstOp::I64(value),
            Operator::F32Const { value } => ConstOp::F32(value.bits()),
            Operator::F64Const { value } => ConstOp::F64(value.bits()),
            Operator::V128Const { value } => ConstOp::V128(u128::from_le_bytes(*value.bytes())),
            Operator::RefNull { .. } => ConstOp::RefNull,
            Operator::RefFunc { function_index } => ConstOp::RefFunc(function_index),
            Operator::GlobalGet { global_index } => ConstOp::GlobalGet(global_index),
            Operator::I32Add => ConstOp::I32Add,
            Operator::I32Sub => ConstOp::I32Sub,
            Operator::I32Mul => ConstOp::I32Mul,
            Operator::I64Add => ConstOp::I64Add,
            Operator::I64Sub => ConstOp::I64Sub,
            Operator::I64Mul => ConstOp::I64Mul,
            Operator::End => continue,
            Operator::StructNew { struct_type_index } => ConstOp::StructNew(struct_type_index),
            Operator::StructNewDefault { struct_type_index } => {
                ConstOp::StructNewDefault(struct_type_index)
            }
            Operator::ArrayNew { array_type_index } => ConstOp::ArrayNew(array_type_index),
            Operator::ArrayNewDefault { array_type_index } => {
                ConstOp::ArrayNewDefault(array_type_index)
            }
            Operator::ArrayNewFixed {
                array_type_index,
                array_size,
            } => ConstOp::ArrayNewFixed(array_type_index, array_size),
            Operator::RefI31 => ConstOp::RefI31,
            Operator::AnyConvertExtern => ConstOp::AnyConvertExtern,
            Operator::ExternConvertAny => ConstOp::ExternConvertAny,
            other => {
                return Err(ModuleInfoError::UnsupportedConstOperator(format!(
                    "{other:?}"
                )));
            }
        };
        ops.push(op);
    }
    Ok(ConstExpr { ops })
}

fn element(bytes: &[u8], range: Range<usize>) -> Result<ElementSegment, ModuleInfoError> {
    let mut reader = BinaryReader::new(&bytes[range.clone()], range.start);
    let element = Element::from_reader(&mut reader)?;
    let mode = match element.kind {
        ElementKind::Passive => ElementMode::Passive,
        ElementKind::Declared => ElementMode::Declared,
        ElementKind::Active {
            table_index,
            offset_expr,
        } => ElementMode::Active {
            table: table_index.unwrap_or(0),
            offset: const_expr(offset_expr)?,
        },
    };
    let items = match element.items {
        ElementItems::Functions(indices) => indices
            .into_iter()
            .map(|i| {
                i.map(|i| ConstExpr {
                    ops: vec![ConstOp::RefFunc(i)],
                })
                .map_err(ModuleInfoError::from)
            })
            .collect::<Result<_, _>>()?,
        ElementItems::Expressions(_, exprs) => exprs
            .into_iter()
            .map(|e| const_expr(e?))
            .collect::<Result<_, _>>()?,
    };
    Ok(ElementSegment { mode, items })
}

fn data_segment(
    bytes: &[u8],
    range: Range<usize>,
    payload: Range<usize>,
) -> Result<DataSegment, ModuleInfoError> {
    let mut reader = BinaryReader::new(&bytes[range.clone()], range.start);
    let data = wasmparser::Data::from_reader(&mut reader)?;
    let active = match data.kind {
        DataKind::Passive => None,
        DataKind::Active {
            memory_index,
            offset_expr,
        } => Some((memory_index, const_expr(offset_expr)?)),
    };
    Ok(DataSegment {
        active,
        bytes: payload,
    })
}
