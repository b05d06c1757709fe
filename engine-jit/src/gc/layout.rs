//! Where each field of a struct or element of an array lies in a GC
//! object, from its canonical type. Shared by the translator (which emits
//! loads and stores at these offsets) and the collector (which traces the
//! reference fields), so the two cannot disagree. AOT artifacts hold code
//! with these offsets built in: a change to the rules here must bump
//! `VM_LAYOUT_VERSION`, which artifacts record and are checked against.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use wasmtier_core::canon::{self, CompositeType, StorageType};
use wasmtier_core::{RefTop, TypeId, ValType};

use super::object::{FIELDS_OFFSET, ObjectKind};

/// The layouts of a store's types by canonical type id: looked up once per
/// object the collector marks, so keyed with a multiply, not SipHash.
pub type Layouts = HashMap<u32, Layout, BuildHasherDefault<TypeIdHasher>>;

/// Hashes a `u32` type id by one multiplication (ids are small, dense
/// numbers that only this process made: no attacker picks them).
#[derive(Default)]
pub struct TypeIdHasher(u64);

impl Hasher for TypeIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u32(&mut self, id: u32) {
        self.0 = u64::from(id).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A struct field or array element's place and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldLayout {
    /// Byte offset from the object's start.
    pub offset: u32,
    pub storage: StorageType,
}

/// How objects of one defined type are laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    Struct {
        fields: Vec<FieldLayout>,
        /// Bytes of the whole object, header included (a multiple of 8).
        size: u32,
        /// Offsets of the fields the collector traces.
        traced: Vec<u32>,
    },
    Array {
        element: StorageType,
        element_size: u32,
        traced: bool,
    },
}

impl Layout {
    /// The layout of struct or array type `id`; `None` for a function type.
    pub fn of(id: TypeId) -> Option<Self> {
        match canon::sub_type(id).composite {
            CompositeType::Func(_) => None,
            CompositeType::Struct(fields) => {
                let mut offset = FIELDS_OFFSET;
                let mut placed = Vec::with_capacity(fields.len());
                for field in fields {
                    let size = storage_size(field.storage);
                    offset = offset.next_multiple_of(size.min(8));
                    placed.push(FieldLayout {
                        offset,
                        storage: field.storage,
                    });
                    offset += size;
                }
                let traced = placed
                    .iter()
                    .filter(|f| is_traced(f.storage))
                    .map(|f| f.offset)
                    .collect();
                Some(Self::Struct {
                    fields: placed,
                    size: offset.next_multiple_of(8),
                    traced,
                })
            }
            CompositeType::Array(element) => Some(Self::Array {
                element: element.storage,
                element_size: storage_size(element.storage),
                traced: is_traced(element.storage),
            }),
        }
    }

    pub fn kind(&self) -> ObjectKind {
        match self {
            Self::Struct { .. } => ObjectKind::Struct,
            Self::Array { .. } => ObjectKind::Array,
        }
    }

    /// Bytes of an object with `length` elements (ignored for a struct),
    /// or `None` past `u32`.
    pub fn object_size(&self, length: u32) -> Option<u32> {
        match self {
            Self::Struct { size, .. } => Some(*size),
            Self::Array { element_size, .. } => {
                let bytes = u64::from(FIELDS_OFFSET) + u64::from(length) * u64::from(*element_size);
                u32::try_from(bytes.next_multiple_of(8)).ok()
            }
        }
    }
}

/// Bytes a field of this storage type takes.
pub fn storage_size(storage: StorageType) -> u32 {
    match storage {
        StorageType::I8 => 1,
        StorageType::I16 => 2,
        StorageType::Val(ValType::I32 | ValType::F32) => 4,
        StorageType::Val(ValType::I64 | ValType::F64 | ValType::Ref(_)) => 8,
        StorageType::Val(ValType::V128) => 16,
    }
}

/// Whether values of `ty` may be GC objects: references of the `any` and
/// `extern` hierarchies (an `externref` may hold an object converted by
/// `extern.convert_any`). Function and exception references never are.
pub fn is_traced_type(ty: ValType) -> bool {
    matches!(ty, ValType::Ref(r) if matches!(r.heap.top(), RefTop::Any | RefTop::Extern))
}

fn is_traced(storage: StorageType) -> bool {
    matches!(storage, StorageType::Val(ty) if is_traced_type(ty))
}

#[cfg(test)]
mod tests {
    use wasmtier_core::canon::{FieldType, SubType, register_group};
    use wasmtier_core::{HeapType, RefType};

    use super::*;

    fn field(storage: StorageType) -> FieldType {
        FieldType {
            storage,
            mutable: true,
        }
    }

    #[test]
    fn struct_fields_are_aligned_and_references_traced() {
        let anyref = ValType::Ref(RefType {
            nullable: true,
            heap: HeapType::Any,
        });
        let id = register_group(vec![SubType {
            is_final: true,
            supertype: None,
            composite: CompositeType::Struct(vec![
                field(StorageType::I8),
                field(StorageType::Val(ValType::I64)),
                field(StorageType::I16),
                field(StorageType::Val(anyref)),
                field(StorageType::Val(ValType::FUNCREF)),
            ]),
        }])
        .unwrap();
        let Some(Layout::Struct {
            fields,
            size,
            traced,
        }) = Layout::of(id)
        else {
            panic!("a struct layout");
        };
        let offsets: Vec<u32> = fields.iter().map(|f| f.offset).collect();
        assert_eq!(offsets, [16, 24, 32, 40, 48]);
        assert_eq!(size, 56);
        assert_eq!(traced, [40]);
    }

    #[test]
    fn array_sizes_round_up_and_overflow_is_refused() {
        let id = register_group(vec![SubType {
            is_final: true,
            supertype: None,
            composite: CompositeType::Array(field(StorageType::I16)),
        }])
        .unwrap();
        let layout = Layout::of(id).unwrap();
        assert_eq!(layout.object_size(0), Some(16));
        assert_eq!(layout.object_size(3), Some(24));
        assert_eq!(layout.object_size(u32::MAX), None);
        assert_eq!(layout.kind(), ObjectKind::Array);
    }
}
