//! Import resolution, once for every engine: what a store's host
//! definitions and registered instances offer, looked up by name in one
//! order, and checked against what each import's type asks for.
//!
//! An engine keeps a [`Linker`] over its own handle type for a definition
//! (a wasmi `Extern`, the JIT's pointers) and answers two questions about
//! it: what a registered instance exports under a name, and the type of a
//! definition.

use std::collections::HashMap;

use crate::engine::InstanceId;
use crate::error::LinkError;
use crate::module::Import;
use crate::types::ExternType;

/// A store's names for things imports can bind to.
#[derive(Debug)]
pub struct Linker<D> {
    definitions: HashMap<(String, String), D>,
    registered: HashMap<String, InstanceId>,
}

impl<D> Default for Linker<D> {
    fn default() -> Self {
        Self {
            definitions: HashMap::new(),
            registered: HashMap::new(),
        }
    }
}

impl<D: Clone> Linker<D> {
    /// Binds `module::name` to a host definition (replacing an earlier one).
    pub fn define(&mut self, module: &str, name: &str, definition: D) {
        self.definitions
            .insert((module.to_string(), name.to_string()), definition);
    }

    /// Makes `instance`'s exports importable as `name::<export>`.
    pub fn register(&mut self, name: &str, instance: InstanceId) {
        self.registered.insert(name.to_string(), instance);
    }

    /// What `module::name` binds to: a host definition first, then the
    /// export `name` of the instance registered as `module` (the order
    /// `Store::instantiate` documents). `export` answers for registered
    /// instances.
    pub fn resolve(
        &self,
        module: &str,
        name: &str,
        export: impl Fn(InstanceId, &str) -> Option<D>,
    ) -> Option<D> {
        if let Some(definition) = self
            .definitions
            .get(&(module.to_string(), name.to_string()))
        {
            return Some(definition.clone());
        }
        let instance = *self.registered.get(module)?;
        export(instance, name)
    }

    /// Resolves every import in order and checks each definition's type
    /// (`type_of`) against the import's, as the spec's import matching
    /// says: the definitions to instantiate with, or the first import that
    /// is unknown or does not fit.
    pub fn resolve_imports(
        &self,
        imports: &[Import],
        export: impl Fn(InstanceId, &str) -> Option<D>,
        type_of: impl Fn(&D) -> ExternType,
    ) -> Result<Vec<D>, LinkError> {
        imports
            .iter()
            .map(|import| {
                let definition = self
                    .resolve(&import.module, &import.name, &export)
                    .ok_or_else(|| LinkError::UnknownImport {
                        module: import.module.clone(),
                        name: import.name.clone(),
                    })?;
                let found = type_of(&definition);
                if !found.matches(&import.ty) {
                    return Err(LinkError::IncompatibleImportType {
                        module: import.module.clone(),
                        name: import.name.clone(),
                        expected: Box::new(import.ty.clone()),
                        found: Box::new(found),
                    });
                }
                Ok(definition)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{GlobalType, ValType};

    fn global(ty: ValType) -> ExternType {
        ExternType::Global(GlobalType {
            content: ty,
            mutable: false,
        })
    }

    fn import(module: &str, name: &str, ty: ExternType) -> Import {
        Import {
            module: module.into(),
            name: name.into(),
            ty,
        }
    }

    /// Definitions here are plain types, and instance 7 exports `x: i64`.
    fn resolve(
        linker: &Linker<ExternType>,
        imports: &[Import],
    ) -> Result<Vec<ExternType>, LinkError> {
        linker.resolve_imports(
            imports,
            |instance, name| {
                (instance == InstanceId(7) && name == "x").then(|| global(ValType::I64))
            },
            |ty| ty.clone(),
        )
    }

    #[test]
    fn host_definitions_come_before_registered_instances() {
        let mut linker = Linker::default();
        linker.register("env", InstanceId(7));
        assert_eq!(
            resolve(&linker, &[import("env", "x", global(ValType::I64))])
                .unwrap()
                .len(),
            1
        );
        linker.define("env", "x", global(ValType::I32));
        let bound = resolve(&linker, &[import("env", "x", global(ValType::I32))]).unwrap();
        assert_eq!(bound, [global(ValType::I32)]);
    }

    #[test]
    fn unknown_and_mismatched_imports_are_named() {
        let mut linker = Linker::default();
        linker.define("env", "g", global(ValType::F32));
        let err = resolve(&linker, &[import("env", "nope", global(ValType::F32))]).unwrap_err();
        assert!(
            matches!(err, LinkError::UnknownImport { ref name, .. } if name == "nope"),
            "{err}"
        );
        let err = resolve(&linker, &[import("env", "g", global(ValType::I32))]).unwrap_err();
        assert!(
            matches!(err, LinkError::IncompatibleImportType { .. }),
            "{err}"
        );
    }
}
