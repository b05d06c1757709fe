//! The one loader: decode and validate a module once, record what engines need.

use std::borrow::Cow;
use std::ops::Range;

use wasmparser::{
    Chunk, CompositeInnerType, ExternalKind, KnownCustom, Name, Parser, Payload, TypeRef,
    ValidPayload, Validator,
};

mod bodies;
mod convert;
mod proposals;

pub use proposals::proposals_needed;

use convert::convert_memory_type;

use crate::canon::{self, CompositeType, FieldType, StorageType, SubType, TypeId};
use crate::error::LoadError;
use crate::features::Features;
use crate::limits::{LimitCheck, LoadLimits};
use crate::shared::{SharedBytes, U32Rows};
use crate::types::{ExternType, FuncSig, FuncType, GlobalType, MemoryType, TableType, ValType};

const WASM_MAGIC: &[u8; 4] = b"\0asm";

/// What an export or import refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExternKind {
    Func,
    Table,
    Memory,
    Global,
    Tag,
}

impl ExternKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Tag => "tag",
            Self::Func => "function",
            Self::Table => "table",
            Self::Memory => "memory",
            Self::Global => "global",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub module: String,
    pub name: String,
    pub ty: ExternType,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub name: String,
    pub kind: ExternKind,
    /// Index in the module's space of that kind (imports first).
    pub index: u32,
}

/// A defined global: its type and the byte range of its constant initializer.
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalInfo {
    pub ty: GlobalType,
    pub init: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementSegmentInfo {
    /// The whole segment's bytes within [`ValidatedModule::bytes`].
    pub range: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSegmentInfo {
    pub range: Range<usize>,
    /// Where the segment's payload bytes are.
    pub data: Range<usize>,
}

/// A module that passed validation, with the facts every engine needs.
///
/// Constructing one is the only place wasmtier validates Wasm; engines take it
/// as proof and never validate again.
///
/// Its fields are private and it cannot be cloned into a mutable copy: what
/// an engine reads is what validation recorded, for the bytes it validated.
#[derive(Debug)]
pub struct ValidatedModule {
    bytes: SharedBytes,
    features: Features,
    name: Option<String>,
    /// The signature of each type index (struct and array types, which
    /// nothing this build runs can use, have an empty one).
    types: Vec<FuncType>,
    /// The canonical id of each type index.
    type_ids: Vec<TypeId>,
    /// Per type index: `[first type index of its rec group, supertype
    /// index or u32::MAX, 1 if final]`, what compiled code may rely on
    /// (the AOT tier checks an artifact's copy against it).
    type_shapes: Vec<[u32; 3]>,
    imports: Vec<Import>,
    exports: Vec<Export>,
    num_imported_funcs: u32,
    num_imported_tables: u32,
    num_imported_memories: u32,
    num_imported_globals: u32,
    /// The type index of every tag, imported ones first.
    tags: Vec<u32>,
    num_imported_tags: u32,
    /// `(tag index, name)` from the name section, in its order.
    tag_names: Vec<(u32, String)>,
    /// Defined (not imported) items.
    tables: Vec<TableType>,
    /// Byte range of each defined table's initializer expression, if it
    /// has one (typed function references).
    table_inits: Vec<Option<Range<usize>>>,
    memories: Vec<MemoryType>,
    globals: Vec<GlobalInfo>,
    start: Option<u32>,
    elements: Vec<ElementSegmentInfo>,
    data: Vec<DataSegmentInfo>,
    /// Per-function facts, as tables that can be read in place from an
    /// artifact: loading one costs nothing per function.
    per_function: PerFunction,
}

/// What validation recorded, read-only.
impl ValidatedModule {
    /// The module's name from its name section, if any.
    pub fn name(&self) -> &Option<String> {
        &self.name
    }

    /// The signature of each type index; struct and array types (defined
    /// only: nothing this build runs creates their values) have an empty
    /// one.
    pub fn types(&self) -> &[FuncType] {
        &self.types
    }

    /// The canonical id of each type index: equal ids are the same type
    /// in any module.
    pub fn type_ids(&self) -> &[TypeId] {
        &self.type_ids
    }

    /// Per type index, `[first index of its rec group, supertype index or
    /// u32::MAX, 1 if final else 0]`: the shape of the type section that
    /// compiled code relies on.
    pub fn type_shapes(&self) -> &[[u32; 3]] {
        &self.type_shapes
    }

    /// Whether a value of type index `index` may only be of exactly that
    /// type: it is final, so no other type declares it as supertype.
    pub fn type_is_final(&self, index: u32) -> bool {
        self.type_shapes
            .get(index as usize)
            .is_some_and(|shape| shape[2] == 1)
    }

    /// `ty` with the module's type indices resolved to canonical ids
    /// (`None` for a type wasmtier has no representation of).
    pub fn val_type(&self, ty: wasmparser::ValType) -> Option<ValType> {
        ValType::from_wasmparser(ty, |i| self.type_ids.get(i as usize).copied())
    }

    /// Every import, in order.
    pub fn imports(&self) -> &[Import] {
        &self.imports
    }

    /// Every export, in order.
    pub fn exports(&self) -> &[Export] {
        &self.exports
    }

    /// How many functions are imported (they come first in the index space).
    pub fn num_imported_funcs(&self) -> u32 {
        self.num_imported_funcs
    }

    /// How many tables are imported.
    pub fn num_imported_tables(&self) -> u32 {
        self.num_imported_tables
    }

    /// How many memories are imported.
    pub fn num_imported_memories(&self) -> u32 {
        self.num_imported_memories
    }

    /// How many globals are imported.
    pub fn num_imported_globals(&self) -> u32 {
        self.num_imported_globals
    }

    /// The defined (not imported) tables.
    pub fn tables(&self) -> &[TableType] {
        &self.tables
    }

    /// Byte range of each defined table's initializer expression; `None`
    /// for a table that starts all null.
    pub fn table_inits(&self) -> &[Option<Range<usize>>] {
        &self.table_inits
    }

    /// The type index of every exception tag, imported ones first; the
    /// type's parameters are the tag's payload.
    pub fn tags(&self) -> &[u32] {
        &self.tags
    }

    /// How many tags are imported.
    pub fn num_imported_tags(&self) -> u32 {
        self.num_imported_tags
    }

    /// The payload type of tag `index` (imports first), which must be a tag
    /// of this module.
    pub fn tag_type(&self, index: u32) -> &FuncType {
        &self.types[self.tags[index as usize] as usize]
    }

    /// The name-section name of tag `index`, if any.
    pub fn tag_name(&self, index: u32) -> Option<&str> {
        self.tag_names
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, name)| name.as_str())
    }

    /// The defined (not imported) memories.
    pub fn memories(&self) -> &[MemoryType] {
        &self.memories
    }

    /// The defined (not imported) globals.
    pub fn globals(&self) -> &[GlobalInfo] {
        &self.globals
    }

    /// The start function, if any.
    pub fn start(&self) -> Option<u32> {
        self.start
    }

    /// The element segments.
    pub fn elements(&self) -> &[ElementSegmentInfo] {
        &self.elements
    }

    /// The data segments.
    pub fn data(&self) -> &[DataSegmentInfo] {
        &self.data
    }
}

/// What a module records for every function, as flat tables.
#[derive(Debug, Clone, Default)]
pub struct PerFunction {
    /// Type index of every function, imported ones first.
    pub types: U32Rows<1>,
    /// `[start, end)` byte range of each defined function's body (locals
    /// and code) within the module's bytes.
    pub bodies: U32Rows<2>,
    /// `[function index, start, end)` of each name-section function name
    /// within the module's bytes, sorted by function index, one per index.
    pub names: U32Rows<3>,
}

/// Per-function facts while decoding, before they become tables.
#[derive(Default)]
struct PerFunctionBuilder {
    types: Vec<u32>,
    bodies: Vec<[u32; 2]>,
    names: Vec<[u32; 3]>,
}

impl PerFunctionBuilder {
    fn finish(mut self) -> PerFunction {
        // Later names win, as they did when this was a map; a module's
        // name map is sorted already unless it is malformed.
        self.names.sort_by_key(|n| n[0]);
        let mut names: Vec<[u32; 3]> = Vec::with_capacity(self.names.len());
        for name in self.names {
            match names.last_mut() {
                Some(last) if last[0] == name[0] => *last = name,
                _ => names.push(name),
            }
        }
        PerFunction {
            types: U32Rows::from_rows(self.types.into_iter().map(|t| [t])),
            bodies: U32Rows::from_rows(self.bodies),
            names: U32Rows::from_rows(names),
        }
    }
}

/// A byte range of a module as `u32` offsets, the width the per-function
/// tables store (modules are far below 4 GiB: `LoadLimits`).
fn offsets(range: Range<usize>) -> Result<[u32; 2], LoadError> {
    let too_big = || LoadError::Invalid {
        offset: range.start,
        message: "module too large".into(),
    };
    Ok([
        u32::try_from(range.start).map_err(|_| too_big())?,
        u32::try_from(range.end).map_err(|_| too_big())?,
    ])
}

impl ValidatedModule {
    /// Accepts a binary module, or WebAssembly text (converted first).
    pub fn from_bytes_or_text(input: &[u8], features: Features) -> Result<Self, LoadError> {
        Self::new(&Self::binary_of(input)?, features)
    }

    /// The binary module `input` stands for: itself, or WebAssembly text
    /// converted (not validated). What caches of compiled code are keyed by.
    pub fn binary_of(input: &[u8]) -> Result<Cow<'_, [u8]>, LoadError> {
        if input.starts_with(WASM_MAGIC) {
            return Ok(Cow::Borrowed(input));
        }
        wat::parse_bytes(input).map_err(|e| LoadError::Text(e.to_string()))
    }

    /// Decodes and validates `bytes` in one pass, within the default
    /// [`LoadLimits`].
    pub fn new(bytes: &[u8], features: Features) -> Result<Self, LoadError> {
        Self::with_limits(bytes, features, &LoadLimits::default())
    }

    /// Like [`new`](Self::new), refusing modules over `limits` before
    /// validating the part that exceeds them.
    pub fn with_limits(
        bytes: &[u8],
        features: Features,
        limits: &LoadLimits,
    ) -> Result<Self, LoadError> {
        // wasmparser 0.228 can panic on damaged input on 32-bit hosts (a
        // length near u32::MAX overflows `usize` in a bounds check: found by
        // the CLI's damaged-module test under qemu-arm). A decoder panic is a
        // refused module, never a crashed host.
        let reached = std::cell::Cell::new(0);
        let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Self::decode(bytes, features, limits, &reached)
        }));
        let decoded = match decoded {
            Ok(decoded) => decoded,
            Err(panic) => {
                let what = crate::error::panic_message(&*panic).unwrap_or_default();
                return Err(LoadError::Invalid {
                    offset: reached.get(),
                    message: format!(
                        "malformed module: the decoder failed in this section ({what})"
                    ),
                });
            }
        };
        decoded.map_err(|error| match error {
            LoadError::Invalid { offset, message } => {
                let proposals = proposals_needed(bytes, features);
                if proposals.is_empty() {
                    LoadError::Invalid { offset, message }
                } else {
                    LoadError::NeedsProposals {
                        offset,
                        message,
                        proposals,
                    }
                }
            }
            other => other,
        })
    }

    /// Decodes and validates; `reached` follows the start of the section
    /// being decoded.
    fn decode(
        bytes: &[u8],
        features: Features,
        limits: &LoadLimits,
        reached: &std::cell::Cell<usize>,
    ) -> Result<Self, LoadError> {
        LimitCheck::check_size(limits, bytes)?;
        let mut check = LimitCheck::default();
        let mut validator = Validator::new_with_features(features.to_wasmparser());
        let mut module = Self::empty(bytes.to_vec().into(), features);
        let mut per_function = PerFunctionBuilder::default();
        let mut pending = bodies::PendingBodies::default();
        let mut saw_header = false;
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
            if !matches!(payload, Payload::CodeSectionEntry(_)) {
                pending.validate()?;
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
        pending.validate()?;
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

    /// The original binary.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A cheap shared handle to the binary, for engines that keep it.
    pub fn shared_bytes(&self) -> SharedBytes {
        self.bytes.clone()
    }

    /// The per-function tables, to store next to compiled code.
    pub fn per_function(&self) -> &PerFunction {
        &self.per_function
    }

    /// Number of functions, imported ones included.
    pub fn num_funcs(&self) -> u32 {
        self.per_function.types.len() as u32
    }

    /// Number of functions with a body in this module.
    pub fn num_defined_funcs(&self) -> u32 {
        self.per_function.bodies.len() as u32
    }

    /// The type index of function `index` (imports first).
    pub fn func_type_index(&self, index: u32) -> Option<u32> {
        self.per_function
            .types
            .get(index as usize)
            .map(|[type_index]| type_index)
    }

    /// The byte range of defined function `defined`'s body (locals and
    /// code) within [`bytes`](Self::bytes).
    pub fn func_body(&self, defined: u32) -> Option<Range<usize>> {
        let [start, end] = self.per_function.bodies.get(defined as usize)?;
        Some(start as usize..end as usize)
    }

    pub fn features(&self) -> Features {
        self.features
    }

    /// The signature of function `index` (imports first), which must be a
    /// function of this module.
    pub fn func_type(&self, index: u32) -> &FuncType {
        let type_index = self
            .func_type_index(index)
            .expect("a function index of this module");
        &self.types[type_index as usize]
    }

    pub fn export(&self, name: &str) -> Option<&Export> {
        self.exports.iter().find(|e| e.name == name)
    }

    /// Whether the module imports anything from `module`.
    pub fn imports_from(&self, module: &str) -> bool {
        self.imports.iter().any(|i| i.module == module)
    }

    /// The name-section name of a function, if any.
    /// Found by binary search in the sorted name table; nothing is built
    /// for it when a module is loaded.
    pub fn func_name(&self, index: u32) -> Option<&str> {
        let names = &self.per_function.names;
        let [found, start, end] = names.get(names.partition_point(|n| n[0] < index))?;
        let bytes = self.bytes.get(start as usize..end as usize)?;
        (found == index).then(|| std::str::from_utf8(bytes).ok())?
    }

    /// The function whose body contains byte `offset`, if any.
    pub fn func_at_offset(&self, offset: usize) -> Option<u32> {
        let bodies = &self.per_function.bodies;
        let defined = bodies.partition_point(|[_, end]| (end as usize) <= offset);
        let [start, end] = bodies.get(defined)?;
        (start as usize..end as usize)
            .contains(&offset)
            .then(|| self.num_imported_funcs + defined as u32)
    }
}

fn malformed(offset: usize, message: &str) -> LoadError {
    LoadError::Invalid {
        offset,
        message: message.into(),
    }
}

fn unsupported_at(offset: usize, what: &str) -> LoadError {
    LoadError::Invalid {
        offset,
        message: format!("{what} are not supported"),
    }
}
