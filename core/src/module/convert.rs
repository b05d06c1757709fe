//! Type conversions of the loader: wasmparser's types to wasmtier's,
//! resolving the module's type indices through the canonical registry
//! (`canon.rs`) as each recursion group is recorded.

use super::*;

pub(super) fn convert_memory_type(m: &wasmparser::MemoryType) -> MemoryType {
    MemoryType {
        minimum: m.initial,
        maximum: m.maximum,
        memory64: m.memory64,
        shared: m.shared,
        page_size_log2: m.page_size_log2.unwrap_or(16),
    }
}

/// Type conversions that resolve the module's type indices.
impl ValidatedModule {
    /// Interns one recursion group (its types at `offset`) in the
    /// canonical registry and records its types.
    pub(super) fn record_rec_group(
        &mut self,
        offset: usize,
        group: wasmparser::RecGroup,
    ) -> Result<(), LoadError> {
        let first = self.types.len() as u32;
        let subs: Vec<wasmparser::SubType> = group.into_types().collect();
        let len = subs.len() as u32;
        let known = self.type_ids.len() as u32;
        // A reference into the group is by position; one before it names
        // an already canonical type. (Validation rules out the rest; an
        // artifact's bytes are not trusted to be valid, hence `None`.)
        let resolve = |index: u32| -> Option<TypeId> {
            if (first..first + len).contains(&index) {
                Some(TypeId::rec(index - first))
            } else if index < known {
                Some(self.type_ids[index as usize])
            } else {
                None
            }
        };
        let unknown = || unsupported_at(offset, "references to unknown types");
        let val = |ty: wasmparser::ValType| {
            ValType::from_wasmparser(ty, resolve).ok_or_else(|| unsupported_type(offset, ty))
        };
        let field = |f: &wasmparser::FieldType| -> Result<FieldType, LoadError> {
            Ok(FieldType {
                storage: match f.element_type {
                    wasmparser::StorageType::I8 => StorageType::I8,
                    wasmparser::StorageType::I16 => StorageType::I16,
                    wasmparser::StorageType::Val(ty) => StorageType::Val(val(ty)?),
                },
                mutable: f.mutable,
            })
        };
        let mut converted = Vec::with_capacity(subs.len());
        let mut shapes = Vec::with_capacity(subs.len());
        for sub in &subs {
            if sub.composite_type.shared {
                return Err(unsupported_at(offset, "shared types"));
            }
            let composite = match &sub.composite_type.inner {
                CompositeInnerType::Func(ft) => CompositeType::Func(FuncType::new(
                    ft.params()
                        .iter()
                        .map(|t| val(*t))
                        .collect::<Result<Vec<_>, _>>()?,
                    ft.results()
                        .iter()
                        .map(|t| val(*t))
                        .collect::<Result<Vec<_>, _>>()?,
                )),
                CompositeInnerType::Struct(st) => {
                    CompositeType::Struct(st.fields.iter().map(field).collect::<Result<_, _>>()?)
                }
                CompositeInnerType::Array(at) => CompositeType::Array(field(&at.0)?),
                CompositeInnerType::Cont(_) => {
                    return Err(unsupported_at(offset, "continuation types"));
                }
            };
            let supertype_index = match sub.supertype_idx {
                Some(index) => Some(index.as_module_index().ok_or_else(unknown)?),
                None => None,
            };
            let supertype = match supertype_index {
                Some(index) => Some(resolve(index).ok_or_else(unknown)?),
                None => None,
            };
            shapes.push([
                first,
                supertype_index.unwrap_or(u32::MAX),
                u32::from(sub.is_final),
            ]);
            converted.push(SubType {
                is_final: sub.is_final,
                supertype,
                composite,
            });
        }
        let base =
            canon::register_group(converted).map_err(|e| unsupported_at(offset, &e.to_string()))?;
        for (k, shape) in (0..len).zip(shapes) {
            let id = TypeId::nth_of_group(base, k);
            self.types.push(match canon::sub_type(id).composite {
                CompositeType::Func(ty) => ty,
                CompositeType::Struct(_) | CompositeType::Array(_) => FuncType::default(),
            });
            self.type_ids.push(id);
            self.type_shapes.push(shape);
        }
        Ok(())
    }

    pub(super) fn convert_val_type(&self, ty: wasmparser::ValType) -> Result<ValType, LoadError> {
        self.val_type(ty).ok_or_else(|| unsupported_type(0, ty))
    }

    pub(super) fn convert_table_type(
        &self,
        t: &wasmparser::TableType,
    ) -> Result<TableType, LoadError> {
        Ok(TableType {
            element: self.convert_val_type(wasmparser::ValType::Ref(t.element_type))?,
            minimum: t.initial,
            maximum: t.maximum,
            table64: t.table64,
        })
    }

    pub(super) fn convert_global_type(
        &self,
        g: &wasmparser::GlobalType,
    ) -> Result<GlobalType, LoadError> {
        Ok(GlobalType {
            content: self.convert_val_type(g.content_type)?,
            mutable: g.mutable,
        })
    }
}

pub(super) fn unsupported_type(offset: usize, ty: wasmparser::ValType) -> LoadError {
    unsupported_at(offset, &format!("values of type {ty}"))
}
