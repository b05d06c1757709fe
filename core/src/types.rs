//! Values and types as every engine and every caller sees them.

use std::fmt;

pub use crate::canon::TypeId;
use crate::canon::{self, CompositeKind};

/// A WebAssembly value type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValType {
    I32,
    I64,
    F32,
    F64,
    V128,
    /// A reference: `funcref`, `(ref $t)`, `externref`, `exnref`, ...
    Ref(RefType),
}

/// A reference type: a heap type and whether null is one of its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RefType {
    pub nullable: bool,
    pub heap: HeapType,
}

/// What a reference points at. Each abstract type belongs to one
/// hierarchy (func, extern, exn, any), with its bottom type (`nofunc`,
/// `noextern`, `noexn`, `none`) below every type of that hierarchy.
/// Concrete types are canonical ([`TypeId`]), so two modules' `(ref $t)`
/// are the same type exactly when their ids are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeapType {
    Func,
    NoFunc,
    Extern,
    NoExtern,
    Exn,
    NoExn,
    /// The GC proposal's internal hierarchy (`anyref` and below).
    Any,
    Eq,
    I31,
    Struct,
    Array,
    None,
    Concrete(TypeId),
}

/// The top types of the reference hierarchies, what a value's kind is
/// decided by at the host boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefTop {
    Func,
    Extern,
    Exn,
    Any,
}

impl HeapType {
    /// The hierarchy this heap type belongs to.
    pub fn top(self) -> RefTop {
        match self {
            Self::Func | Self::NoFunc => RefTop::Func,
            Self::Extern | Self::NoExtern => RefTop::Extern,
            Self::Exn | Self::NoExn => RefTop::Exn,
            Self::Any | Self::Eq | Self::I31 | Self::Struct | Self::Array | Self::None => {
                RefTop::Any
            }
            Self::Concrete(id) => match canon::kind(id) {
                CompositeKind::Func => RefTop::Func,
                CompositeKind::Struct | CompositeKind::Array => RefTop::Any,
            },
        }
    }

    /// Whether the heap type is in the GC proposal's internal hierarchy
    /// (`any`, `eq`, `struct`, ... and struct or array types).
    pub fn is_gc(self) -> bool {
        self.top() == RefTop::Any
    }

    /// Heap subtyping (Wasm 3.0, "Heap types" in the validation chapter).
    pub fn is_subtype_of(self, other: Self) -> bool {
        use HeapType as H;
        if self == other {
            return true;
        }
        match (self, other) {
            (H::NoFunc, o) => o.top() == RefTop::Func,
            (H::NoExtern, o) => o.top() == RefTop::Extern,
            (H::NoExn, o) => o.top() == RefTop::Exn,
            (H::None, o) => o.top() == RefTop::Any,
            (H::Concrete(a), H::Concrete(b)) => canon::is_subtype(a, b),
            (H::Concrete(a), H::Func) => canon::kind(a) == CompositeKind::Func,
            (H::Concrete(a), H::Struct) => canon::kind(a) == CompositeKind::Struct,
            (H::Concrete(a), H::Array) => canon::kind(a) == CompositeKind::Array,
            (H::Concrete(a), H::Eq | H::Any) => canon::kind(a) != CompositeKind::Func,
            (H::I31 | H::Struct | H::Array, H::Eq | H::Any) => true,
            (H::Eq, H::Any) => true,
            _ => false,
        }
    }
}

impl RefType {
    pub const FUNCREF: Self = Self {
        nullable: true,
        heap: HeapType::Func,
    };
    pub const EXTERNREF: Self = Self {
        nullable: true,
        heap: HeapType::Extern,
    };
    pub const EXNREF: Self = Self {
        nullable: true,
        heap: HeapType::Exn,
    };

    /// Reference subtyping: the heap types are subtypes, and null is only
    /// allowed where the supertype allows it.
    pub fn is_subtype_of(self, other: Self) -> bool {
        (!self.nullable || other.nullable) && self.heap.is_subtype_of(other.heap)
    }
}

impl ValType {
    pub const FUNCREF: Self = Self::Ref(RefType::FUNCREF);
    pub const EXTERNREF: Self = Self::Ref(RefType::EXTERNREF);
    pub const EXNREF: Self = Self::Ref(RefType::EXNREF);

    /// The reference type, if this is one.
    pub fn as_ref(self) -> Option<RefType> {
        match self {
            Self::Ref(r) => Some(r),
            _ => None,
        }
    }

    pub fn is_ref(self) -> bool {
        matches!(self, Self::Ref(_))
    }

    /// Value subtyping: numeric types only match themselves.
    pub fn is_subtype_of(self, other: Self) -> bool {
        match (self, other) {
            (Self::Ref(a), Self::Ref(b)) => a.is_subtype_of(b),
            (a, b) => a == b,
        }
    }

    /// The type wasmparser describes, with concrete type indices of the
    /// module resolved to canonical ids by `concrete` (`None` for an index
    /// it does not know). `None` for what wasmtier has no type for
    /// (shared references, stack-switching continuations).
    pub fn from_wasmparser(
        ty: wasmparser::ValType,
        concrete: impl Fn(u32) -> Option<TypeId>,
    ) -> Option<Self> {
        use wasmparser::ValType as W;
        Some(match ty {
            W::I32 => Self::I32,
            W::I64 => Self::I64,
            W::F32 => Self::F32,
            W::F64 => Self::F64,
            W::V128 => Self::V128,
            W::Ref(r) => Self::Ref(RefType::from_wasmparser(r, concrete)?),
        })
    }
}

impl RefType {
    /// See [`ValType::from_wasmparser`].
    pub fn from_wasmparser(
        ty: wasmparser::RefType,
        concrete: impl Fn(u32) -> Option<TypeId>,
    ) -> Option<Self> {
        use wasmparser::AbstractHeapType as A;
        let heap = match ty.heap_type() {
            wasmparser::HeapType::Abstract { shared: true, .. } => return None,
            wasmparser::HeapType::Abstract { ty, .. } => match ty {
                A::Func => HeapType::Func,
                A::NoFunc => HeapType::NoFunc,
                A::Extern => HeapType::Extern,
                A::NoExtern => HeapType::NoExtern,
                A::Exn => HeapType::Exn,
                A::NoExn => HeapType::NoExn,
                A::Any => HeapType::Any,
                A::Eq => HeapType::Eq,
                A::I31 => HeapType::I31,
                A::Struct => HeapType::Struct,
                A::Array => HeapType::Array,
                A::None => HeapType::None,
                A::Cont | A::NoCont => return None,
            },
            wasmparser::HeapType::Concrete(index) => {
                HeapType::Concrete(concrete(index.as_module_index()?)?)
            }
        };
        Some(Self {
            nullable: ty.is_nullable(),
            heap,
        })
    }
}

impl fmt::Display for HeapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Func => "func",
            Self::NoFunc => "nofunc",
            Self::Extern => "extern",
            Self::NoExtern => "noextern",
            Self::Exn => "exn",
            Self::NoExn => "noexn",
            Self::Any => "any",
            Self::Eq => "eq",
            Self::I31 => "i31",
            Self::Struct => "struct",
            Self::Array => "array",
            Self::None => "none",
            // Canonical ids are process-wide, not the module's indices.
            Self::Concrete(id) => return write!(f, "{id}"),
        })
    }
}

impl fmt::Display for RefType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.nullable, self.heap) {
            (true, HeapType::Func) => f.write_str("funcref"),
            (true, HeapType::Extern) => f.write_str("externref"),
            (true, HeapType::Exn) => f.write_str("exnref"),
            (true, heap) => write!(f, "(ref null {heap})"),
            (false, heap) => write!(f, "(ref {heap})"),
        }
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
            Self::Ref(r) => return r.fmt(f),
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
    /// A reference of the GC proposal's internal hierarchy (`anyref`,
    /// `eqref`, `i31ref`, struct and array references, ...).
    AnyRef(Option<AnyRef>),
    /// An `externref` made from an internal reference by
    /// `extern.convert_any` (a host reference converted back and forth is
    /// [`Val::ExternRef`] again).
    ExternAny(AnyRef),
}

/// A non-null reference of the `any` hierarchy as the host sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnyRef {
    /// `ref.i31`: the 31-bit payload, zero-extended.
    I31(u32),
    /// A host reference brought in by `any.convert_extern`: the host's
    /// number, as in [`Val::ExternRef`].
    Host(u32),
    /// A struct, as an opaque handle only meaningful to the store that
    /// produced it (and only until that store next collects garbage: the
    /// host does not keep objects alive).
    Struct(u64),
    /// An array, with the same kind of handle as a struct.
    Array(u64),
}

impl Val {
    pub fn ty(&self) -> ValType {
        match self {
            Self::I32(_) => ValType::I32,
            Self::I64(_) => ValType::I64,
            Self::F32(_) => ValType::F32,
            Self::F64(_) => ValType::F64,
            Self::V128(_) => ValType::V128,
            Self::FuncRef(_) => ValType::FUNCREF,
            Self::ExternRef(_) => ValType::EXTERNREF,
            Self::ExnRef(_) => ValType::EXNREF,
            Self::ExternAny(_) => ValType::EXTERNREF,
            Self::AnyRef(_) => ValType::Ref(RefType {
                nullable: true,
                heap: HeapType::Any,
            }),
        }
    }

    /// Whether the value may be passed where `ty` is expected: the same
    /// kind, and null only for a nullable type. A non-null function
    /// reference's own type is known to its store only, which checks a
    /// concrete expected type itself.
    pub fn matches(&self, ty: ValType) -> bool {
        match (self, ty) {
            (Self::FuncRef(r), ValType::Ref(t)) => {
                t.heap.top() == RefTop::Func
                    && (r.is_some() || t.nullable)
                    && (r.is_none() || t.heap != HeapType::NoFunc)
            }
            (Self::ExnRef(r), ValType::Ref(t)) => {
                t.heap.top() == RefTop::Exn
                    && (r.is_some() || t.nullable)
                    && (r.is_none() || t.heap != HeapType::NoExn)
            }
            (Self::AnyRef(None), ValType::Ref(t)) => t.heap.top() == RefTop::Any && t.nullable,
            (Self::AnyRef(Some(r)), ValType::Ref(t)) => r.matches_heap(t.heap),
            (Self::ExternAny(_), ValType::Ref(t)) => {
                t.heap.top() == RefTop::Extern && t.heap != HeapType::NoExtern
            }
            (Self::ExternRef(r), ValType::Ref(t)) => {
                t.heap.top() == RefTop::Extern
                    && (r.is_some() || t.nullable)
                    && (r.is_none() || t.heap != HeapType::NoExtern)
            }
            (v, ty) => v.ty() == ty,
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
            ValType::Ref(r) => match r.heap.top() {
                RefTop::Func => Self::FuncRef(None),
                RefTop::Exn => Self::ExnRef(None),
                RefTop::Extern => Self::ExternRef(None),
                RefTop::Any => Self::AnyRef(None),
            },
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
            Self::FuncRef(None)
            | Self::ExternRef(None)
            | Self::ExnRef(None)
            | Self::AnyRef(None) => f.write_str("null"),
            Self::AnyRef(Some(r)) => write!(f, "{r}"),
            Self::ExternAny(r) => write!(f, "extern({r})"),
            Self::FuncRef(Some(h)) => write!(f, "funcref#{}", h.0),
            Self::ExternRef(Some(h)) => write!(f, "externref#{h}"),
            Self::ExnRef(Some(h)) => write!(f, "exnref#{h:x}"),
        }
    }
}

impl AnyRef {
    /// Whether the reference may be passed where heap type `heap` is
    /// expected, as far as its kind tells: a struct or array handle
    /// matches any concrete type of its kind here, and the store checks
    /// the object's own type.
    pub fn matches_heap(self, heap: HeapType) -> bool {
        use HeapType as H;
        match (self, heap) {
            (_, H::Any) => true,
            (Self::Host(_), _) => false,
            (_, H::Eq) => true,
            (Self::I31(_), H::I31) => true,
            (Self::Struct(_), H::Struct) | (Self::Array(_), H::Array) => true,
            (Self::Struct(_), H::Concrete(id)) => canon::kind(id) == CompositeKind::Struct,
            (Self::Array(_), H::Concrete(id)) => canon::kind(id) == CompositeKind::Array,
            _ => false,
        }
    }
}

impl fmt::Display for AnyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::I31(v) => write!(f, "i31 {v}"),
            Self::Host(n) => write!(f, "hostref#{n}"),
            Self::Struct(h) => write!(f, "structref#{h:x}"),
            Self::Array(h) => write!(f, "arrayref#{h:x}"),
        }
    }
}

/// A function signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
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

/// A function's type as import matching sees it: its canonical type
/// (which carries finality and supertypes, so two structurally equal
/// signatures may still be different types) and its signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FuncSig {
    pub id: TypeId,
    pub ty: FuncType,
}

impl FuncSig {
    /// The signature of a function defined outside any module (a host
    /// function): a final type of its own rec group, as a module's plain
    /// `(type (func ...))` is.
    pub fn of(ty: FuncType) -> Self {
        Self {
            id: canon::func_type_id(&ty),
            ty,
        }
    }
}

/// The type of an import or export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternType {
    Func(FuncSig),
    Global(GlobalType),
    Memory(MemoryType),
    Table(TableType),
    /// An exception tag; its type's parameters are the exception's payload.
    Tag(FuncSig),
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
            (Self::Func(a), Self::Func(e)) => canon::is_subtype(a.id, e.id),
            // A tag's type must be the very same (canonical) type.
            (Self::Tag(a), Self::Tag(e)) => a.id == e.id,
            (Self::Global(a), Self::Global(e)) => {
                a.mutable == e.mutable
                    && if a.mutable {
                        a.content == e.content
                    } else {
                        a.content.is_subtype_of(e.content)
                    }
            }
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
