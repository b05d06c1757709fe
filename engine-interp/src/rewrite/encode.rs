//! Writing the rewritten module with `wasm-encoder`: the module's sections
//! again, with entries appended to the type, table and export sections, the
//! start section dropped when asked, and the scanned bodies edited. Every
//! other section, and every body left alone, is copied as bytes.

use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{
    CodeSection, ExportKind, ExportSection, Module, RawSection, RefType, SectionId, TableSection,
    TableType, TypeSection,
};
use wasmparser::{Parser, Payload};
use wasmtier_core::{FuncType, ValType, ValidatedModule};

use super::body::{self, GrowCall, ScannedBody};
use super::error::RewriteError;

/// Where each known section goes, as the binary format orders them: a
/// section the module lacks is written before the first one ranked later.
const SECTION_ORDER: [SectionId; 13] = [
    SectionId::Type,
    SectionId::Import,
    SectionId::Function,
    SectionId::Table,
    SectionId::Memory,
    SectionId::Tag,
    SectionId::Global,
    SectionId::Export,
    SectionId::Start,
    SectionId::Element,
    SectionId::DataCount,
    SectionId::Code,
    SectionId::Data,
];

/// Entries to append to the type, table and export sections, creating a
/// section where the module has none.
#[derive(Default)]
pub(super) struct Additions {
    pub types: Vec<FuncType>,
    pub tables: Vec<TableType>,
    pub exports: Vec<(String, ExportKind, u32)>,
}

impl Additions {
    /// A funcref table of exactly `size` elements.
    pub fn funcref_table(size: u64) -> TableType {
        TableType {
            element_type: RefType::FUNCREF,
            minimum: size,
            maximum: Some(size),
            table64: false,
            shared: false,
        }
    }

    fn is_empty(&self, id: SectionId) -> bool {
        match id {
            SectionId::Type => self.types.is_empty(),
            SectionId::Table => self.tables.is_empty(),
            SectionId::Export => self.exports.is_empty(),
            _ => true,
        }
    }

    /// Appends this section's entries to `types`, `tables` or `exports`.
    fn append_types(&self, types: &mut TypeSection) {
        for ty in &self.types {
            let params = ty.params.iter().map(|t| val_type(*t));
            let results = ty.results.iter().map(|t| val_type(*t));
            types.ty().function(params, results);
        }
    }

    fn append_tables(&self, tables: &mut TableSection) {
        for table in &self.tables {
            tables.table(*table);
        }
    }

    fn append_exports(&self, exports: &mut ExportSection) {
        for (name, kind, index) in &self.exports {
            exports.export(name, *kind, *index);
        }
    }

    /// Writes section `id` made of the additions alone.
    fn write_new(&self, id: SectionId, out: &mut Module) {
        match id {
            SectionId::Type => {
                let mut types = TypeSection::new();
                self.append_types(&mut types);
                out.section(&types);
            }
            SectionId::Table => {
                let mut tables = TableSection::new();
                self.append_tables(&mut tables);
                out.section(&tables);
            }
            SectionId::Export => {
                let mut exports = ExportSection::new();
                self.append_exports(&mut exports);
                out.section(&exports);
            }
            _ => {}
        }
    }
}

/// The sections `additions` still has to create, written as the module's
/// own sections go by.
struct Pending<'a> {
    additions: &'a Additions,
    /// Type, table, export: still to be written.
    left: Vec<SectionId>,
}

impl Pending<'_> {
    /// Writes the sections still to create that belong before section
    /// `next` (all of them for `None`).
    fn flush_before(&mut self, next: Option<u8>, out: &mut Module) {
        let rank = |id: u8| SECTION_ORDER.iter().position(|&s| s as u8 == id);
        let next_rank = next.map_or(SECTION_ORDER.len(), |id| {
            rank(id).unwrap_or(SECTION_ORDER.len())
        });
        let additions = self.additions;
        self.left.retain(|&id| {
            if rank(id as u8).unwrap_or(0) >= next_rank {
                return true;
            }
            additions.write_new(id, out);
            false
        });
    }

    /// Marks section `id` as written (it existed and was extended).
    fn done(&mut self, id: SectionId) {
        self.left.retain(|&left| left != id);
    }
}

/// The module's sections again, with `additions` appended, the start
/// section dropped when `remove_start`, and the scanned `bodies` edited.
pub(super) fn assemble(
    module: &ValidatedModule,
    additions: &Additions,
    remove_start: bool,
    bodies: &[ScannedBody],
    grow_call: &GrowCall<'_>,
) -> Result<Vec<u8>, RewriteError> {
    let bytes = module.bytes();
    let mut out = Module::new();
    let mut pending = Pending {
        additions,
        left: [SectionId::Type, SectionId::Table, SectionId::Export]
            .into_iter()
            .filter(|&id| !additions.is_empty(id))
            .collect(),
    };
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload?;
        let Some((id, range)) = payload.as_section() else {
            continue;
        };
        if id != SectionId::Custom as u8 {
            pending.flush_before(Some(id), &mut out);
        }
        match payload {
            Payload::TypeSection(reader) if !additions.is_empty(SectionId::Type) => {
                let mut types = TypeSection::new();
                RoundtripReencoder.parse_type_section(&mut types, reader)?;
                additions.append_types(&mut types);
                out.section(&types);
                pending.done(SectionId::Type);
            }
            Payload::TableSection(reader) if !additions.is_empty(SectionId::Table) => {
                let mut tables = TableSection::new();
                RoundtripReencoder.parse_table_section(&mut tables, reader)?;
                additions.append_tables(&mut tables);
                out.section(&tables);
                pending.done(SectionId::Table);
            }
            Payload::ExportSection(reader) if !additions.is_empty(SectionId::Export) => {
                let mut exports = ExportSection::new();
                RoundtripReencoder.parse_export_section(&mut exports, reader)?;
                additions.append_exports(&mut exports);
                out.section(&exports);
                pending.done(SectionId::Export);
            }
            Payload::StartSection { .. } if remove_start => {}
            Payload::CodeSectionStart { .. } if !bodies.is_empty() => {
                out.section(&code_section(module, bodies, grow_call)?);
            }
            _ => {
                out.section(&RawSection {
                    id,
                    data: &bytes[range],
                });
            }
        }
    }
    pending.flush_before(None, &mut out);
    Ok(out.finish())
}

/// The code section with the scanned `bodies` edited and the others copied.
fn code_section(
    module: &ValidatedModule,
    bodies: &[ScannedBody],
    grow_call: &GrowCall<'_>,
) -> Result<CodeSection, RewriteError> {
    let mut code = CodeSection::new();
    let mut bodies = bodies.iter().peekable();
    for defined_func in 0..module.num_defined_funcs() {
        match bodies.next_if(|b| b.defined_func == defined_func) {
            Some(scanned) => {
                code.function(&body::edited(module, scanned, grow_call)?);
            }
            None => {
                code.raw(&module.bytes()[body::range(module, defined_func)?]);
            }
        }
    }
    Ok(code)
}

pub(super) fn val_type(ty: ValType) -> wasm_encoder::ValType {
    match ty {
        ValType::I32 => wasm_encoder::ValType::I32,
        ValType::I64 => wasm_encoder::ValType::I64,
        ValType::F32 => wasm_encoder::ValType::F32,
        ValType::F64 => wasm_encoder::ValType::F64,
        ValType::V128 => wasm_encoder::ValType::V128,
        // The interpreter only takes modules without typed function
        // references (`FEATURES`), so a reference here is one of the 2.0
        // types or exnref.
        ValType::Ref(r) => match r.heap.top() {
            wasmtier_core::RefTop::Func => wasm_encoder::ValType::FUNCREF,
            wasmtier_core::RefTop::Exn => wasm_encoder::ValType::EXNREF,
            wasmtier_core::RefTop::Extern | wasmtier_core::RefTop::Any => {
                wasm_encoder::ValType::EXTERNREF
            }
        },
    }
}
