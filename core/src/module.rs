//! The one loader: decode and validate a module once, record what engines need.

use std::borrow::Cow;
use std::ops::{Deref, Range};

use wasmparser::CompositeInnerType;

mod bodies;
mod convert;
mod decode;
mod proposals;

pub use proposals::proposals_needed;

use crate::canon::{self, CompositeType, FieldType, StorageType, SubType, TypeId};
use crate::error::LoadError;
use crate::features::Features;
use crate::limits::LoadLimits;
use crate::shared::{SharedBytes, U32Rows};
use crate::types::{ExternType, FuncType, GlobalType, MemoryType, TableType, ValType};

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

    /// Like [`from_bytes_or_text`](Self::from_bytes_or_text), keeping
    /// `input` itself as the module's binary when it is one instead of a
    /// copy (a file just read: on an 80 MB module the copy was another
    /// 80 MB of fresh pages to fault in).
    pub fn from_owned_or_text<B>(input: B, features: Features) -> Result<Self, LoadError>
    where
        B: Deref<Target = [u8]> + Into<SharedBytes>,
    {
        let binary: SharedBytes = match Self::binary_of(&input)? {
            Cow::Borrowed(_) => input.into(),
            Cow::Owned(converted) => converted.into(),
        };
        Self::with_limits_shared(binary, features, &LoadLimits::default())
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
        Self::with_limits_shared(bytes.to_vec().into(), features, limits)
    }

    /// [`with_limits`](Self::with_limits) of bytes the module keeps.
    fn with_limits_shared(
        shared: SharedBytes,
        features: Features,
        limits: &LoadLimits,
    ) -> Result<Self, LoadError> {
        let kept = shared.clone();
        let bytes: &[u8] = &kept;
        // wasmparser 0.228 can panic on damaged input on 32-bit hosts (a
        // length near u32::MAX overflows `usize` in a bounds check: found by
        // the CLI's damaged-module test under qemu-arm). A decoder panic is a
        // refused module, never a crashed host.
        let reached = std::cell::Cell::new(0);
        let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Self::decode(shared, features, limits, &reached)
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

    /// Defined function `defined`'s body, to read its locals and operators
    /// (with offsets into the whole module, as validation reported them).
    pub fn func_body_reader(&self, defined: u32) -> Option<wasmparser::FunctionBody<'_>> {
        let range = self.func_body(defined)?;
        let code = self.bytes().get(range.clone())?;
        Some(wasmparser::FunctionBody::new(
            wasmparser::BinaryReader::new(code, range.start),
        ))
    }

    /// The byte range of function `index`'s body (imports first), `None`
    /// for an import.
    pub fn body_of(&self, index: u32) -> Option<Range<usize>> {
        self.func_body(index.checked_sub(self.num_imported_funcs())?)
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
