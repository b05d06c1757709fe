//! Decoding: one pass over the binary that validates each payload and
//! records what the engines need from it.

use wasmparser::{
    Chunk, ExternalKind, KnownCustom, Name, Parser, Payload, TypeRef, ValidPayload, Validator,
};

use super::convert::convert_memory_type;
use super::{
    DataSegmentInfo, ElementSegmentInfo, Export, ExternKind, GlobalInfo, Import, PerFunction,
    PerFunctionBuilder, ValidatedModule, bodies, malformed, offsets,
};
use crate::error::LoadError;
use crate::features::Features;
use crate::limits::{LimitCheck, LoadLimits};
use crate::shared::SharedBytes;
use crate::types::{ExternType, FuncSig};

impl ValidatedModule {
    /// Decodes and validates; `reached` follows the start of the section
    /// being decoded.
    pub(super) fn decode(
        shared: SharedBytes,
        features: Features,
        limits: &LoadLimits,
        reached: &std::cell::Cell<usize>,
    ) -> Result<Self, LoadError> {
        let mut module = Self::empty(shared.clone(), features);
        let bytes: &[u8] = &shared;
        LimitCheck::check_size(limits, bytes)?;
        let mut check = LimitCheck::default();
        let mut validator = Validator::new_with_features(features.to_wasmparser());
        let mut per_function = PerFunctionBuilder::default();
        // Worker threads validate a big code section's bodies while it is
        // read (`bodies.rs`); they borrow `bytes`, so they live in a scope.
        let mut saw_header = false;
        std::thread::scope(|scope| {
            let mut pending = bodies::PendingBodies::new(scope);
            for payload in Parser::new(0).parse_all(bytes) {
                // Queued bodies come first in module order: they are validated
                // before anything after them is judged (`bodies.rs`).
                let payload = match payload {
                    Ok(payload) => payload,
                    Err(error) => {
                        pending.validate()?;
                        return Err(error.into());
                    }
                };
                // A custom section (the name section, after the code) cannot
                // make the module invalid: it is read while the bodies
                // before it are still being validated. Its own errors
                // (limits) wait for them below, as every error does.
                if !matches!(
                    payload,
                    Payload::CodeSectionEntry(_) | Payload::CustomSection(_)
                ) {
                    pending.validate()?;
                } else if matches!(payload, Payload::CustomSection(_)) {
                    pending.hand_over();
                }
                if let Some((_, range)) = payload.as_section() {
                    reached.set(range.start);
                }
                if let Payload::Version {
                    encoding, range, ..
                } = &payload
                {
                    if *encoding != wasmparser::Encoding::Module {
                        return Err(LoadError::Unsupported {
                            // The version and layer fields follow the magic.
                            offset: range.start + 4,
                            message: "this is a component; wasmtier runs core modules".into(),
                        });
                    }
                    saw_header = true;
                }
                if let Err(error) = check.check(limits, &payload) {
                    pending.validate()?;
                    return Err(error);
                }
                let valid = match validator.payload(&payload) {
                    Ok(valid) => valid,
                    Err(error) => {
                        pending.validate()?;
                        return Err(error.into());
                    }
                };
                if let Payload::CodeSectionStart { size, .. } = &payload {
                    pending.code_section(*size);
                }
                match valid {
                    ValidPayload::Func(func, body) => pending.push(func, body),
                    ValidPayload::Parser(_) => {
                        return Err(LoadError::Unsupported {
                            offset: payload.as_section().map_or(0, |(_, range)| range.start),
                            message: "nested modules are not supported".into(),
                        });
                    }
                    ValidPayload::Ok | ValidPayload::End(_) => {}
                }
                if let Err(error) = module.record(payload, bytes, Some(&mut per_function)) {
                    pending.validate()?;
                    return Err(error);
                }
            }
            pending.validate()
        })?;
        module.per_function = per_function.finish();
        if !saw_header {
            return Err(LoadError::Invalid {
                offset: 0,
                message: "empty input".into(),
            });
        }
        Ok(module)
    }

    /// Decodes `bytes` without validating them again: for a module this
    /// build already validated with `features`, whose bytes come back
    /// integrity-checked (the AOT tier's artifacts embed the module under a
    /// checksum) together with the per-function tables recorded then. The
    /// function, code and name sections are skipped, not read, so the cost
    /// grows with types, imports, exports, globals and segments only, not
    /// with the number or size of functions. `bytes` is kept, not copied.
    ///
    /// Refuses tables whose sizes do not fit the module; entries are read
    /// with bounds checks where they are used (a damaged entry gives a
    /// wrong name or range, never a read outside the bytes). Malformed
    /// sections are errors, never panics.
    ///
    /// # Safety
    ///
    /// The result is taken as proof of validity: the interpreter hands such
    /// bytes to wasmi unchecked and the compiled tiers generate code from
    /// them. The caller must know that `bytes` were validated by this build
    /// with `features` and that `per_function` was recorded for them then
    /// (the AOT tier: an artifact the user allowed, or a cache entry under
    /// this cache's seal). Anything else gets [`Self::new`].
    pub unsafe fn from_prevalidated(
        bytes: SharedBytes,
        features: Features,
        per_function: PerFunction,
    ) -> Result<Self, LoadError> {
        let mut module = Self::empty(bytes.clone(), features);
        let mut parser = Parser::new(0);
        let mut at = 0;
        loop {
            let (payload, consumed) = match parser.parse(&bytes[at..], true)? {
                Chunk::NeedMoreData(_) => return Err(malformed(at, "module ends early")),
                Chunk::Parsed { consumed, payload } => (payload, consumed),
            };
            at += consumed;
            match payload {
                Payload::CodeSectionStart { size, .. } => {
                    parser.skip_section();
                    at = at
                        .checked_add(size as usize)
                        .filter(|&end| end <= bytes.len())
                        .ok_or_else(|| malformed(at, "code section runs past the end"))?;
                }
                Payload::End(_) => break,
                payload => module.record(payload, &bytes, None)?,
            }
        }
        let imported = module.num_imported_funcs as usize;
        if per_function.types.len() != imported + per_function.bodies.len() {
            return Err(malformed(0, "per-function tables do not fit the module"));
        }
        module.per_function = per_function;
        Ok(module)
    }

    fn empty(bytes: SharedBytes, features: Features) -> Self {
        Self {
            bytes,
            features,
            name: None,
            types: Vec::new(),
            type_ids: Vec::new(),
            type_shapes: Vec::new(),
            imports: Vec::new(),
            exports: Vec::new(),
            num_imported_funcs: 0,
            num_imported_tables: 0,
            num_imported_memories: 0,
            num_imported_globals: 0,
            tags: Vec::new(),
            num_imported_tags: 0,
            tag_names: Vec::new(),
            tables: Vec::new(),
            table_inits: Vec::new(),
            memories: Vec::new(),
            globals: Vec::new(),
            start: None,
            elements: Vec::new(),
            data: Vec::new(),
            per_function: PerFunction::default(),
        }
    }

    /// Records one already-validated payload of `bytes`; per-function facts
    /// go to `per_function`, or are skipped without being read when it is
    /// `None`.
    fn record(
        &mut self,
        payload: Payload<'_>,
        bytes: &[u8],
        mut per_function: Option<&mut PerFunctionBuilder>,
    ) -> Result<(), LoadError> {
        match payload {
            Payload::TypeSection(reader) => {
                for group in reader.into_iter_with_offsets() {
                    let (offset, group) = group?;
                    self.record_rec_group(offset, group)?;
                }
            }
            Payload::ImportSection(reader) => {
                let section_start = reader.range().start;
                for import in reader {
                    let import = import?;
                    let ty = match import.ty {
                        TypeRef::Func(index) => {
                            if let Some(per_function) = per_function.as_deref_mut() {
                                per_function.types.push(index);
                            }
                            self.num_imported_funcs += 1;
                            // Validated modules never miss; the bytes of an
                            // artifact (`from_prevalidated`) are not trusted
                            // to be one.
                            let ty = self.types.get(index as usize).ok_or_else(|| {
                                malformed(section_start, "import of a type the module lacks")
                            })?;
                            ExternType::Func(FuncSig {
                                id: self.type_ids[index as usize],
                                ty: ty.clone(),
                            })
                        }
                        TypeRef::Table(t) => {
                            self.num_imported_tables += 1;
                            ExternType::Table(self.convert_table_type(&t)?)
                        }
                        TypeRef::Memory(m) => {
                            self.num_imported_memories += 1;
                            ExternType::Memory(convert_memory_type(&m))
                        }
                        TypeRef::Global(g) => {
                            self.num_imported_globals += 1;
                            ExternType::Global(self.convert_global_type(&g)?)
                        }
                        TypeRef::Tag(tag) => {
                            let ty =
                                self.types.get(tag.func_type_idx as usize).ok_or_else(|| {
                                    malformed(section_start, "import of a type the module lacks")
                                })?;
                            self.tags.push(tag.func_type_idx);
                            self.num_imported_tags += 1;
                            ExternType::Tag(FuncSig {
                                id: self.type_ids[tag.func_type_idx as usize],
                                ty: ty.clone(),
                            })
                        }
                    };
                    self.imports.push(Import {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                        ty,
                    });
                }
            }
            Payload::FunctionSection(reader) => {
                if let Some(per_function) = per_function {
                    for ty in reader {
                        per_function.types.push(ty?);
                    }
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    let table = table?;
                    self.tables.push(self.convert_table_type(&table.ty)?);
                    self.table_inits.push(match table.init {
                        wasmparser::TableInit::RefNull => None,
                        wasmparser::TableInit::Expr(expr) => Some(expr.get_binary_reader().range()),
                    });
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    self.memories.push(convert_memory_type(&memory?));
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader {
                    let global = global?;
                    let init = global.init_expr.get_binary_reader().range();
                    self.globals.push(GlobalInfo {
                        ty: self.convert_global_type(&global.ty)?,
                        init,
                    });
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    let kind = match export.kind {
                        ExternalKind::Func => ExternKind::Func,
                        ExternalKind::Table => ExternKind::Table,
                        ExternalKind::Memory => ExternKind::Memory,
                        ExternalKind::Global => ExternKind::Global,
                        ExternalKind::Tag => ExternKind::Tag,
                    };
                    self.exports.push(Export {
                        name: export.name.to_string(),
                        kind,
                        index: export.index,
                    });
                }
            }
            Payload::TagSection(reader) => {
                let section_start = reader.range().start;
                for tag in reader {
                    let index = tag?.func_type_idx;
                    if self.types.get(index as usize).is_none() {
                        return Err(malformed(section_start, "tag of a type the module lacks"));
                    }
                    self.tags.push(index);
                }
            }
            Payload::StartSection { func, .. } => self.start = Some(func),
            Payload::ElementSection(reader) => {
                for element in reader {
                    self.elements.push(ElementSegmentInfo {
                        range: element?.range,
                    });
                }
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    let data = data?;
                    let payload_end = data.range.end;
                    let payload_start = payload_end - data.data.len();
                    self.data.push(DataSegmentInfo {
                        range: data.range,
                        data: payload_start..payload_end,
                    });
                }
            }
            Payload::CodeSectionEntry(body) => {
                if let Some(per_function) = per_function {
                    per_function.bodies.push(offsets(body.range())?);
                }
            }
            Payload::CustomSection(reader) => {
                if let KnownCustom::Name(names) = reader.as_known() {
                    // A malformed name section does not make a module invalid:
                    // keep whatever names decoded before the damage.
                    for name in names.into_iter().map_while(Result::ok) {
                        self.record_name(name, bytes, per_function.as_deref_mut());
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Function names are recorded as where they are in `bytes` (the
    /// slice being decoded, equal to the module's bytes), not copied.
    fn record_name(
        &mut self,
        name: Name<'_>,
        bytes: &[u8],
        per_function: Option<&mut PerFunctionBuilder>,
    ) {
        match name {
            Name::Module { name, .. } => self.name = Some(name.to_string()),
            Name::Tag(map) => {
                for naming in map.into_iter().map_while(Result::ok) {
                    self.tag_names.push((naming.index, naming.name.to_string()));
                }
            }
            Name::Function(map) => {
                let Some(per_function) = per_function else {
                    return;
                };
                for naming in map.into_iter().map_while(Result::ok) {
                    // `naming.name` borrows from `bytes`.
                    let start =
                        (naming.name.as_ptr() as usize).wrapping_sub(bytes.as_ptr() as usize);
                    let end = start.wrapping_add(naming.name.len());
                    if bytes.get(start..end) == Some(naming.name.as_bytes())
                        && let Ok([start, end]) = offsets(start..end)
                    {
                        per_function.names.push([naming.index, start, end]);
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Features, LoadError, ValidatedModule};

    #[test]
    fn a_module_from_a_vec_keeps_the_binary_and_reads_text_too() {
        let text = "(module (func (export \"f\") (result i32) i32.const 7))";
        let binary = wat::parse_str(text).unwrap();
        let from_vec =
            ValidatedModule::from_owned_or_text(binary.clone(), Features::default()).unwrap();
        assert_eq!(from_vec.bytes(), &binary[..]);
        let from_text =
            ValidatedModule::from_owned_or_text(text.as_bytes().to_vec(), Features::default())
                .unwrap();
        assert_eq!(from_text.bytes(), &binary[..]);
        let mut damaged = binary;
        damaged.truncate(damaged.len() - 2);
        let error = ValidatedModule::from_owned_or_text(damaged.clone(), Features::default())
            .unwrap_err()
            .to_string();
        let LoadError::Invalid { message, .. } =
            ValidatedModule::new(&damaged, Features::default()).unwrap_err()
        else {
            panic!("a truncated module is invalid");
        };
        assert!(error.contains(&message), "{error}");
    }
}
