//! Values and types as every engine and every caller sees them.

use std::fmt;

/// A WebAssembly value type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValType {
    I32,
    I64,
    F32,
    F64,
    V128,
    FuncRef,
    ExternRef,
    /// `(ref null exn)`: a caught exception (exception handling).
    ExnRef,
}

impl ValType {
    pub fn from_wasmparser(ty: wasmparser::ValType) -> Option<Self> {
        use wasmparser::ValType as W;
        Some(match ty {
            W::I32 => Self::I32,
            W::I64 => Self::I64,
            W::F32 => Self::F32,
            W::F64 => Self::F64,
            W::V128 => Self::V128,
            W::Ref(r) if r == wasmparser::RefType::FUNCREF => Self::FuncRef,
            W::Ref(r) if r == wasmparser::RefType::EXTERNREF => Self::ExternRef,
            W::Ref(r) if r == wasmparser::RefType::EXNREF => Self::ExnRef,
            W::Ref(_) => return None,
        })
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::I32 => "i32",
            Self::I64 => "i64",
            Self::F32 => "f32",
            Self::F64 => "f64",
            Self::V128 => "v128",
            Self::FuncRef => "funcref",
            Self::ExternRef => "externref",
            Self::ExnRef => "exnref",
        })
    }
}

/// An opaque, engine-issued handle to a function reference. It is only
/// meaningful to the store that produced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FuncRefHandle(pub u64);

/// A WebAssembly value. Floats are kept as bits so NaN payloads survive a
/// round trip through any engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Val {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    V128(u128),
    FuncRef(Option<FuncRefHandle>),
    /// A host reference; the payload is the host's own number for it.
    ExternRef(Option<u32>),
    /// A caught exception, as an opaque handle only meaningful to the store
    /// that produced it.
    ExnRef(Option<u64>),
}

impl Val {
    pub fn ty(&self) -> ValType {
        match self {
            Self::I32(_) => ValType::I32,
            Self::I64(_) => ValType::I64,
            Self::F32(_) => ValType::F32,
            Self::F64(_) => ValType::F64,
            Self::V128(_) => ValType::V128,
            Self::FuncRef(_) => ValType::FuncRef,
            Self::ExternRef(_) => ValType::ExternRef,
            Self::ExnRef(_) => ValType::ExnRef,
        }
    }

    /// The zero value of a type (null for references).
    pub fn default_for(ty: ValType) -> Self {
        match ty {
            ValType::I32 => Self::I32(0),
            ValType::I64 => Self::I64(0),
            ValType::F32 => Self::F32(0),
            ValType::F64 => Self::F64(0),
            ValType::V128 => Self::V128(0),
            ValType::FuncRef => Self::FuncRef(None),
            ValType::ExternRef => Self::ExternRef(None),
            ValType::ExnRef => Self::ExnRef(None),
        }
    }

    pub fn from_f32(v: f32) -> Self {
        Self::F32(v.to_bits())
    }

    pub fn from_f64(v: f64) -> Self {
        Self::F64(v.to_bits())
    }
}

impl fmt::Display for Val {
    /// Prints a value the way `wasmtier run --invoke` shows results.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::I32(v) => write!(f, "{v}"),
            Self::I64(v) => write!(f, "{v}"),
            Self::F32(bits) => write!(f, "{}", f32::from_bits(bits)),
            Self::F64(bits) => write!(f, "{}", f64::from_bits(bits)),
            Self::V128(v) => write!(f, "0x{v:032x}"),
            Self::FuncRef(None) | Self::ExternRef(None) | Self::ExnRef(None) => f.write_str("null"),
            Self::FuncRef(Some(h)) => write!(f, "funcref#{}", h.0),
            Self::ExternRef(Some(h)) => write!(f, "externref#{h}"),
            Self::ExnRef(Some(h)) => write!(f, "exnref#{h:x}"),
        }
    }
}

/// A function signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FuncType {
    pub params: Vec<ValType>,
    pub results: Vec<ValType>,
}

impl FuncType {
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> Self {
        Self {
            params: params.into_iter().collect(),
            results: results.into_iter().collect(),
        }
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |tys: &[ValType]| {
            tys.iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        write!(
            f,
            "(func (param {}) (result {}))",
            list(&self.params),
            list(&self.results)
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GlobalType {
    pub content: ValType,
    pub mutable: bool,
}

/// Limits are in pages of `page_size` bytes (64 KiB unless the
/// custom-page-sizes proposal says otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemoryType {
    pub minimum: u64,
    pub maximum: Option<u64>,
    pub memory64: bool,
    pub shared: bool,
    pub page_size_log2: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TableType {
    pub element: ValType,
    pub minimum: u64,
    pub maximum: Option<u64>,
    pub table64: bool,
}

/// The type of an import or export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternType {
    Func(FuncType),
    Global(GlobalType),
    Memory(MemoryType),
    Table(TableType),
    /// An exception tag; its type's parameters are the exception's payload.
    Tag(FuncType),
}

impl ExternType {
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Tag(_) => "tag",
            Self::Func(_) => "function",
            Self::Global(_) => "global",
            Self::Memory(_) => "memory",
            Self::Table(_) => "table",
        }
    }
}

/// `actual` limits fit where `expected` limits are required (import matching).
fn limits_match(actual: (u64, Option<u64>), expected: (u64, Option<u64>)) -> bool {
    actual.0 >= expected.0
        && match (actual.1, expected.1) {
            (_, None) => true,
            (Some(actual_max), Some(expected_max)) => actual_max <= expected_max,
            (None, Some(_)) => false,
        }
}

impl ExternType {
    /// Whether a definition of type `self` may satisfy an import of type
    /// `expected`, by the spec's import-matching rules.
    pub fn matches(&self, expected: &ExternType) -> bool {
        match (self, expected) {
            (Self::Func(a), Self::Func(e)) | (Self::Tag(a), Self::Tag(e)) => a == e,
            (Self::Global(a), Self::Global(e)) => a == e,
            (Self::Memory(a), Self::Memory(e)) => {
                a.memory64 == e.memory64
                    && a.shared == e.shared
                    && a.page_size_log2 == e.page_size_log2
                    && limits_match((a.minimum, a.maximum), (e.minimum, e.maximum))
            }
            (Self::Table(a), Self::Table(e)) => {
                a.element == e.element
                    && a.table64 == e.table64
                    && limits_match((a.minimum, a.maximum), (e.minimum, e.maximum))
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(minimum: u64, maximum: Option<u64>) -> ExternType {
        ExternType::Memory(MemoryType {
            minimum,
            maximum,
            memory64: false,
            shared: false,
            page_size_log2: 16,
        })
    }

    #[test]
    fn larger_memory_satisfies_smaller_import_but_not_the_reverse() {
        assert!(memory(2, Some(3)).matches(&memory(1, Some(4))));
        assert!(!memory(1, None).matches(&memory(2, None)));
        assert!(!memory(1, None).matches(&memory(1, Some(5))));
    }

    #[test]
    fn kinds_never_match_across() {
        let global = ExternType::Global(GlobalType {
            content: ValType::I32,
            mutable: false,
        });
        assert!(!global.matches(&memory(0, None)));
    }
}
