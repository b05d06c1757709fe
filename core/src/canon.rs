//! Type canonicalization across modules (Wasm 3.0's iso-recursive types).
//!
//! A module's types come in recursion groups. Two types of different
//! modules are the same type when they sit at the same position of
//! structurally equal groups, where a reference inside a group is compared
//! by its position in the group and one outside by the (already
//! canonical) type it names. Each distinct group is interned once in a
//! process-wide registry and its types get consecutive [`TypeId`]s, so
//! type equality across modules, stores and engines is id equality, and
//! subtyping is a walk up the declared supertype chain (at most 63 deep,
//! wasmparser's limit).
//!
//! The registry only grows: a group stays interned for the life of the
//! process, bounded by the distinct groups loaded (each module's count is
//! capped by `LoadLimits::max_types`).

use std::collections::HashMap;
use std::fmt;
use std::sync::{LazyLock, RwLock};

use crate::types::{FuncType, HeapType, RefType, ValType};

/// A canonical defined type: equal ids are equal types, in any module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeId(u32);

/// Ids with this bit, inside a group being interned, name the group's own
/// type at the position in the low bits (never a registered id: the
/// registry refuses to grow that far).
const REC_BIT: u32 = 1 << 31;

impl TypeId {
    /// The group's own type at `index`, in a [`SubType`] passed to
    /// [`register_group`].
    pub fn rec(index: u32) -> Self {
        Self(REC_BIT | index)
    }

    /// Type `k` of the group whose first type is `first`.
    pub fn nth_of_group(first: TypeId, k: u32) -> Self {
        Self(first.0 + k)
    }

    /// A number unique to the type in this process (the JIT's signature id).
    pub fn index(self) -> u32 {
        self.0
    }
}

impl fmt::Display for TypeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 & REC_BIT != 0 {
            write!(f, "rec.{}", self.0 & !REC_BIT)
        } else {
            write!(f, "type#{}", self.0)
        }
    }
}

/// A struct field or array element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldType {
    pub storage: StorageType,
    pub mutable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageType {
    I8,
    I16,
    Val(ValType),
}

/// What a defined type is. Struct and array types exist in the type
/// system (they take part in canonicalization) but no engine creates
/// their values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CompositeType {
    Func(FuncType),
    Struct(Vec<FieldType>),
    Array(FieldType),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompositeKind {
    Func,
    Struct,
    Array,
}

impl CompositeType {
    pub fn kind(&self) -> CompositeKind {
        match self {
            Self::Func(_) => CompositeKind::Func,
            Self::Struct(_) => CompositeKind::Struct,
            Self::Array(_) => CompositeKind::Array,
        }
    }
}

/// One type of a recursion group: final or open to subtypes, its declared
/// supertype, and what it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubType {
    pub is_final: bool,
    pub supertype: Option<TypeId>,
    pub composite: CompositeType,
}

#[derive(Default)]
struct Registry {
    /// Each interned group (with its own types as `TypeId::rec`) and the id
    /// of its first type.
    groups: HashMap<Vec<SubType>, u32>,
    /// Every type, by id, with references resolved to ids.
    types: Vec<SubType>,
}

static REGISTRY: LazyLock<RwLock<Registry>> = LazyLock::new(Default::default);

fn read() -> std::sync::RwLockReadGuard<'static, Registry> {
    // The registry is only written by `register_group`, which cannot
    // leave it half-updated: a poisoned lock still holds a consistent map.
    REGISTRY.read().unwrap_or_else(|e| e.into_inner())
}

/// Why a group could not be interned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonError {
    #[error("too many distinct types in this process")]
    Full,
}

/// Interns a recursion group whose references to its own types are
/// [`TypeId::rec`] and to earlier types their canonical ids; returns the
/// id of its first type (the others follow in order).
pub fn register_group(group: Vec<SubType>) -> Result<TypeId, CanonError> {
    if let Some(&first) = read().groups.get(&group) {
        return Ok(TypeId(first));
    }
    let mut registry = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    if let Some(&first) = registry.groups.get(&group) {
        return Ok(TypeId(first));
    }
    let first = u32::try_from(registry.types.len())
        .ok()
        .filter(|&n| {
            n.checked_add(group.len() as u32)
                .is_some_and(|end| end < REC_BIT)
        })
        .ok_or(CanonError::Full)?;
    let resolve = |id: TypeId| {
        if id.0 & REC_BIT != 0 {
            TypeId(first + (id.0 & !REC_BIT))
        } else {
            id
        }
    };
    for sub in &group {
        registry.types.push(map_ids(sub, &resolve));
    }
    registry.groups.insert(group, first);
    Ok(TypeId(first))
}

/// `sub` with every type id replaced by `f(id)`.
fn map_ids(sub: &SubType, f: &impl Fn(TypeId) -> TypeId) -> SubType {
    let val = |ty: ValType| match ty {
        ValType::Ref(RefType {
            nullable,
            heap: HeapType::Concrete(id),
        }) => ValType::Ref(RefType {
            nullable,
            heap: HeapType::Concrete(f(id)),
        }),
        other => other,
    };
    let field = |field: FieldType| FieldType {
        storage: match field.storage {
            StorageType::Val(ty) => StorageType::Val(val(ty)),
            other => other,
        },
        mutable: field.mutable,
    };
    SubType {
        is_final: sub.is_final,
        supertype: sub.supertype.map(f),
        composite: match &sub.composite {
            CompositeType::Func(ty) => CompositeType::Func(FuncType::new(
                ty.params.iter().map(|t| val(*t)),
                ty.results.iter().map(|t| val(*t)),
            )),
            CompositeType::Struct(fields) => {
                CompositeType::Struct(fields.iter().map(|f| field(*f)).collect())
            }
            CompositeType::Array(element) => CompositeType::Array(field(*element)),
        },
    }
}

/// The id of a signature that belongs to no module (a host function's):
/// a final function type alone in its group, like a module's plain
/// `(type (func ...))`, so the two are the same type.
pub fn func_type_id(ty: &FuncType) -> TypeId {
    register_group(vec![SubType {
        is_final: true,
        supertype: None,
        composite: CompositeType::Func(ty.clone()),
    }])
    // A host signature needs one id; running out of ids takes 2^31 types.
    .expect("the type registry has room for a host signature")
}

/// Everything about type `id`.
pub fn sub_type(id: TypeId) -> SubType {
    read().types[id.0 as usize].clone()
}

/// Whether `id` is a function, struct or array type.
pub fn kind(id: TypeId) -> CompositeKind {
    read().types[id.0 as usize].composite.kind()
}

/// Whether `id` is declared final (no type can declare it as supertype).
pub fn is_final(id: TypeId) -> bool {
    read().types[id.0 as usize].is_final
}

/// Whether `sub` is `sup` or declares it, directly or not, as supertype.
pub fn is_subtype(sub: TypeId, sup: TypeId) -> bool {
    is_subtype_index(sub.0, sup.0)
}

/// [`is_subtype`] on raw ids, as generated code holds them: a number that
/// is no type's id is nobody's subtype.
pub fn is_subtype_index(sub: u32, sup: u32) -> bool {
    if sub == sup {
        return true;
    }
    let registry = read();
    let mut at = sub;
    while let Some(parent) = registry.types.get(at as usize).and_then(|t| t.supertype) {
        if parent.0 == sup {
            return true;
        }
        at = parent.0;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn func(params: &[ValType]) -> CompositeType {
        CompositeType::Func(FuncType::new(params.iter().copied(), []))
    }

    fn concrete(id: TypeId) -> ValType {
        ValType::Ref(RefType {
            nullable: false,
            heap: HeapType::Concrete(id),
        })
    }

    #[test]
    fn equal_groups_get_the_same_ids_and_positions_differ() {
        // (rec (type $a (func (param (ref $b)))) (type $b (func)))
        let group = || {
            vec![
                SubType {
                    is_final: true,
                    supertype: None,
                    composite: func(&[concrete(TypeId::rec(1))]),
                },
                SubType {
                    is_final: true,
                    supertype: None,
                    composite: func(&[]),
                },
            ]
        };
        let first = register_group(group()).unwrap();
        assert_eq!(register_group(group()).unwrap(), first);
        // The second type equals a lone `(type (func))` only structurally:
        // it belongs to a bigger group, so it is a different type.
        assert_ne!(func_type_id(&FuncType::new([], [])), TypeId(first.0 + 1));
        assert_eq!(
            sub_type(first).composite,
            func(&[concrete(TypeId(first.0 + 1))])
        );
    }

    #[test]
    fn subtyping_follows_declared_supertypes_and_finality_matters() {
        let open = register_group(vec![SubType {
            is_final: false,
            supertype: None,
            composite: func(&[ValType::I64]),
        }])
        .unwrap();
        let sub = register_group(vec![SubType {
            is_final: true,
            supertype: Some(open),
            composite: func(&[ValType::I64]),
        }])
        .unwrap();
        assert!(is_subtype(sub, open));
        assert!(!is_subtype(open, sub));
        // The same signature, final and without supertype: another type.
        let plain = func_type_id(&FuncType::new([ValType::I64], []));
        assert!(plain != open && plain != sub && !is_subtype(plain, open));
        assert!(is_final(sub) && !is_final(open));
    }
}
