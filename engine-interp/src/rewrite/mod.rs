//! The module wasmi runs: a validated module with the changes the
//! interpreter needs.
//!
//! - **Grows become host calls.** wasmi 2.0.0's tail-call dispatch ends its
//!   `memory.grow` and `table.grow` handlers in an ordinary call instead of a
//!   tail call, so each grow that runs leaves one host stack frame behind
//!   until the wasm call returns; a guest retrying a failing grow in a loop
//!   overflowed the host stack (RATIONALE.md, "Grows run as host calls").
//!   Each grow instruction is replaced by `i32.const slot` and a
//!   `call_indirect` into a hidden table of host functions
//!   ([`crate::grow`]) that grow through wasmi's API and return normally.
//!   The stack effect is the grow's.
//! - **Block parameters, zero-tested `select` conditions and the values of
//!   stores of a local to itself are spilled and reloaded**, which steers
//!   wasmi's translator around three bugs: one let code read a
//!   never-written stack cell, one made `select` read its condition from
//!   the wrong place, one panics ([`body`] explains them).
//!
//! Only bodies with one of these (the loader notes which:
//! `ValidatedModule::notable_bodies`) are re-encoded; the others are
//! copied.
//! - **A start function becomes a hidden export**, called by the store after
//!   instantiation. wasmi runs a start function inside `Instance::new`, with
//!   no resumable handle, so under `--timeout` its fuel slices could not
//!   pause one that loops forever; and grows rewritten as above reach their
//!   host functions only once the store has filled the helper table, after
//!   instantiation. The order stays the spec's: segments are initialized
//!   before the start function runs, and its trap fails the instantiation.
//!
//! New types, the helper table and the hidden exports come after the
//! module's own, so no existing index moves and the rest of the module is
//! valid as it is.

mod body;

use wasmparser::{BinaryReader, Parser};
use wasmtier_core::{ExternType, FuncType, ValType, ValidatedModule};

use body::{Event, ScannedBody};

/// The rewritten bytes, and the hidden exports the store uses.
pub(crate) struct Rewritten {
    pub bytes: Vec<u8>,
    pub hidden: Hidden,
}

/// What the store must do with a rewritten module after instantiating it.
#[derive(Debug, Default)]
pub(crate) struct Hidden {
    /// The export the start function was moved to.
    pub start: Option<String>,
    /// The host functions grows call, when the module has any.
    pub grow: Option<GrowHelpers>,
}

/// The hidden table of grow helpers, and what goes in each slot.
#[derive(Debug)]
pub(crate) struct GrowHelpers {
    /// Export name of the helper table.
    pub table: String,
    pub slots: Vec<GrowSlot>,
}

/// One helper: it grows `target`, exported as `export`, and has type `ty`
/// (the grow instruction's operands and result).
#[derive(Debug)]
pub(crate) struct GrowSlot {
    pub target: GrowTarget,
    pub export: String,
    pub ty: FuncType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GrowTarget {
    Memory(u32),
    Table(u32),
}

const TYPE_SECTION: u8 = 1;
const TABLE_SECTION: u8 = 4;
const EXPORT_SECTION: u8 = 7;
const START_SECTION: u8 = 8;
const CODE_SECTION: u8 = 10;

/// Where each known section goes, as the binary format orders them.
const SECTION_ORDER: [u8; 13] = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];

const FUNC_TYPE: u8 = 0x60;
const FUNCREF: u8 = 0x70;
const EXTERNREF: u8 = 0x6f;
const LIMITS_MIN_MAX: u8 = 0x01;
const EXPORT_FUNC: u8 = 0;
const EXPORT_TABLE: u8 = 1;
const EXPORT_MEMORY: u8 = 2;
const I32_CONST: u8 = 0x41;
const CALL_INDIRECT: u8 = 0x11;

/// `module` as wasmi should run it: grows and block parameters rewritten,
/// and the start function deferred when there were grows or `defer_start`
/// asks for it. `None` when nothing needs changing. An error means a
/// validated module did not decode as expected, which is a bug here,
/// reported rather than run unprotected.
pub(crate) fn rewrite(
    module: &ValidatedModule,
    defer_start: bool,
) -> Result<Option<Rewritten>, String> {
    let bodies = scan_notable_bodies(module)?;
    let grows = bodies
        .iter()
        .flat_map(|b| &b.events)
        .filter_map(|e| match e {
            Event::Grow { target, .. } => Some(*target),
            _ => None,
        });
    let prefix = unused_export_prefix(module);
    let mut slots: Vec<GrowSlot> = Vec::new();
    for target in grows {
        if !slots.iter().any(|s| s.target == target) {
            slots.push(slot_for(module, target, &prefix)?);
        }
    }
    let start = module.start().filter(|_| defer_start || !slots.is_empty());
    if bodies.is_empty() && start.is_none() {
        return Ok(None);
    }

    let first_new_type = u32::try_from(module.types().len()).map_err(|e| e.to_string())?;
    let helper_table = module.num_imported_tables() + module.tables().len() as u32;
    let mut exports: Vec<(String, u8, u32)> = Vec::new();
    let mut hidden = Hidden::default();
    if !slots.is_empty() {
        let table = format!("{prefix}:grow");
        exports.push((table.clone(), EXPORT_TABLE, helper_table));
        for slot in &slots {
            exports.push(match slot.target {
                GrowTarget::Memory(index) => (slot.export.clone(), EXPORT_MEMORY, index),
                GrowTarget::Table(index) => (slot.export.clone(), EXPORT_TABLE, index),
            });
        }
        hidden.grow = Some(GrowHelpers { table, slots });
    }
    if let Some(start) = start {
        let name = format!("{prefix}:start");
        exports.push((name.clone(), EXPORT_FUNC, start));
        hidden.start = Some(name);
    }
    let slots = hidden.grow.as_ref().map_or(&[][..], |g| &g.slots[..]);
    let additions = additions(slots, &exports);
    let call = |target: GrowTarget| -> Vec<u8> {
        let slot = slots.iter().position(|s| s.target == target).unwrap_or(0);
        let mut call = vec![I32_CONST];
        push_sleb(&mut call, slot as i64);
        call.push(CALL_INDIRECT);
        push_leb(&mut call, u64::from(first_new_type) + slot as u64);
        push_leb(&mut call, u64::from(helper_table));
        call
    };
    let bytes = assemble(module, additions, start.is_some(), &bodies, &call)?;
    let changed: Vec<u32> = bodies.iter().map(|b| b.defined_func).collect();
    validate_changes(module, &bytes, &changed)?;
    Ok(Some(Rewritten { bytes, hidden }))
}

/// Validates what a rewrite produced before wasmi is handed it unchecked:
/// every section (the appended types, table and exports; the module-level
/// limits such as the number of exports) and the bodies in `changed`
/// (defined-function indices, sorted), whose added locals must stay within
/// the validator's limits. Bodies the rewrite copied unchanged were
/// validated by the loader and are skipped.
fn validate_changes(module: &ValidatedModule, bytes: &[u8], changed: &[u32]) -> Result<(), String> {
    let invalid = |e: wasmparser::BinaryReaderError| {
        format!(
            "the rewritten module is invalid at byte offset {:#x}: {}",
            e.offset(),
            e.message()
        )
    };
    let mut validator = wasmparser::Validator::new_with_features(module.features().to_wasmparser());
    let mut defined_func = 0u32;
    let mut changed = changed.iter().peekable();
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(invalid)?;
        if let wasmparser::ValidPayload::Func(func, body) =
            validator.payload(&payload).map_err(invalid)?
        {
            if changed.next_if_eq(&&defined_func).is_some() {
                func.into_validator(Default::default())
                    .validate(&body)
                    .map_err(invalid)?;
            }
            defined_func += 1;
        }
    }
    Ok(())
}

/// The entries appended for the grow helpers (a type each and the table)
/// and for the hidden `exports` (name, kind, index).
fn additions(slots: &[GrowSlot], exports: &[(String, u8, u32)]) -> Additions {
    let mut additions = Additions::default();
    for slot in slots {
        let mut entry = vec![FUNC_TYPE];
        push_val_types(&mut entry, &slot.ty.params);
        push_val_types(&mut entry, &slot.ty.results);
        additions.push(TYPE_SECTION, &entry);
    }
    if !slots.is_empty() {
        let mut entry = vec![FUNCREF, LIMITS_MIN_MAX];
        push_leb(&mut entry, slots.len() as u64);
        push_leb(&mut entry, slots.len() as u64);
        additions.push(TABLE_SECTION, &entry);
    }
    for (name, kind, index) in exports {
        let mut entry = Vec::new();
        push_leb(&mut entry, name.len() as u64);
        entry.extend_from_slice(name.as_bytes());
        entry.push(*kind);
        push_leb(&mut entry, u64::from(*index));
        additions.push(EXPORT_SECTION, &entry);
    }
    additions
}

/// The module's sections again, with `additions` appended, the start
/// section dropped when `remove_start`, and the scanned `bodies` edited.
fn assemble(
    module: &ValidatedModule,
    mut additions: Additions,
    remove_start: bool,
    bodies: &[ScannedBody],
    grow_call: &dyn Fn(GrowTarget) -> Vec<u8>,
) -> Result<Vec<u8>, String> {
    let bytes = module.bytes();
    let mut out = Vec::with_capacity(bytes.len() + 64 + 16 * bodies.len());
    out.extend_from_slice(bytes.get(..8).ok_or("module header missing")?);
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| e.to_string())?;
        let Some((id, range)) = payload.as_section() else {
            continue;
        };
        if id != 0 {
            additions.flush_before(id, &mut out);
        }
        let content = &bytes[range];
        match id {
            TYPE_SECTION | TABLE_SECTION | EXPORT_SECTION => {
                let extended = additions.extend(id, content)?;
                push_section(&mut out, id, &extended);
            }
            START_SECTION if remove_start => {}
            CODE_SECTION if !bodies.is_empty() => {
                let code = code_section(module, bodies, grow_call)?;
                push_section(&mut out, id, &code);
            }
            _ => push_section(&mut out, id, content),
        }
    }
    additions.flush_before(u8::MAX, &mut out);
    Ok(out)
}

/// The bodies the loader noted, scanned; only those with something to
/// change are kept.
fn scan_notable_bodies(module: &ValidatedModule) -> Result<Vec<ScannedBody>, String> {
    let candidates: Vec<u32> = match module.notable_bodies() {
        Some(notable) => {
            let mut all = [
                &notable.grows[..],
                &notable.block_params[..],
                &notable.zero_test_selects[..],
                &notable.far_stores_of_locals[..],
            ]
            .concat();
            all.sort_unstable();
            all.dedup();
            all
        }
        None => (0..module.num_defined_funcs()).collect(),
    };
    let mut bodies = Vec::new();
    for defined_func in candidates {
        let body = body::scan(module, defined_func)?;
        if !body.events.is_empty() {
            bodies.push(body);
        }
    }
    Ok(bodies)
}

/// A name prefix no export of `module` starts with, so the hidden exports
/// cannot collide with the module's own.
fn unused_export_prefix(module: &ValidatedModule) -> String {
    let mut prefix = String::from("\0wasmtier");
    while module.exports().iter().any(|e| e.name.starts_with(&prefix)) {
        prefix.push('\0');
    }
    prefix
}

fn slot_for(
    module: &ValidatedModule,
    target: GrowTarget,
    prefix: &str,
) -> Result<GrowSlot, String> {
    let unknown = || format!("grow of an unknown {target:?}");
    let (export, ty) = match target {
        GrowTarget::Memory(index) => {
            let imported = module.imports().iter().filter_map(|i| match &i.ty {
                ExternType::Memory(m) => Some(*m),
                _ => None,
            });
            let memory = imported
                .chain(module.memories().iter().copied())
                .nth(index as usize)
                .ok_or_else(unknown)?;
            let address = if memory.memory64 {
                ValType::I64
            } else {
                ValType::I32
            };
            (
                format!("{prefix}:memory:{index}"),
                FuncType::new([address], [address]),
            )
        }
        GrowTarget::Table(index) => {
            let imported = module.imports().iter().filter_map(|i| match &i.ty {
                ExternType::Table(t) => Some(*t),
                _ => None,
            });
            let table = imported
                .chain(module.tables().iter().copied())
                .nth(index as usize)
                .ok_or_else(unknown)?;
            let address = if table.table64 {
                ValType::I64
            } else {
                ValType::I32
            };
            (
                format!("{prefix}:table:{index}"),
                FuncType::new([table.element, address], [address]),
            )
        }
    };
    Ok(GrowSlot { target, export, ty })
}

/// The code section with the scanned `bodies` edited.
fn code_section(
    module: &ValidatedModule,
    bodies: &[ScannedBody],
    grow_call: &dyn Fn(GrowTarget) -> Vec<u8>,
) -> Result<Vec<u8>, String> {
    let bytes = module.bytes();
    let mut out = Vec::with_capacity(bytes.len());
    push_leb(&mut out, u64::from(module.num_defined_funcs()));
    let mut bodies = bodies.iter().peekable();
    for defined_func in 0..module.num_defined_funcs() {
        match bodies.next_if(|b| b.defined_func == defined_func) {
            Some(scanned) => {
                let body = body::edited(module, scanned, grow_call)?;
                push_leb(&mut out, body.len() as u64);
                out.extend_from_slice(&body);
            }
            None => {
                let range = module
                    .func_body(defined_func)
                    .filter(|r| r.start <= r.end && r.end <= bytes.len())
                    .ok_or_else(|| format!("no body for defined function {defined_func}"))?;
                push_leb(&mut out, range.len() as u64);
                out.extend_from_slice(&bytes[range]);
            }
        }
    }
    Ok(out)
}

/// Entries to append to the type, table and export sections, creating the
/// section where the module has none.
#[derive(Default)]
struct Additions {
    /// (section id, entry count, encoded entries, already written)
    sections: Vec<(u8, u64, Vec<u8>, bool)>,
}

impl Additions {
    fn push(&mut self, id: u8, entry: &[u8]) {
        match self.sections.iter_mut().find(|s| s.0 == id) {
            Some(section) => {
                section.1 += 1;
                section.2.extend_from_slice(entry);
            }
            None => self.sections.push((id, 1, entry.to_vec(), false)),
        }
    }

    /// `content` (an existing section `id`) with this section's entries
    /// appended.
    fn extend(&mut self, id: u8, content: &[u8]) -> Result<Vec<u8>, String> {
        let Some(section) = self.sections.iter_mut().find(|s| s.0 == id) else {
            return Ok(content.to_vec());
        };
        let mut reader = BinaryReader::new(content, 0);
        let count = reader.read_var_u32().map_err(|e| e.to_string())?;
        let entries = &content[reader.current_position()..];
        let mut out = Vec::with_capacity(content.len() + section.2.len() + 5);
        push_leb(&mut out, u64::from(count) + section.1);
        out.extend_from_slice(entries);
        out.extend_from_slice(&section.2);
        section.3 = true;
        Ok(out)
    }

    /// Writes the sections the module lacks that belong before section
    /// `next` (all of them for `u8::MAX`).
    fn flush_before(&mut self, next: u8, out: &mut Vec<u8>) {
        let rank = |id: u8| SECTION_ORDER.iter().position(|&s| s == id);
        let next_rank = rank(next).unwrap_or(SECTION_ORDER.len());
        for section in &mut self.sections {
            if section.3 || rank(section.0).unwrap_or(0) >= next_rank {
                continue;
            }
            let mut content = Vec::with_capacity(section.2.len() + 5);
            push_leb(&mut content, section.1);
            content.extend_from_slice(&section.2);
            push_section(out, section.0, &content);
            section.3 = true;
        }
    }
}

fn push_section(out: &mut Vec<u8>, id: u8, content: &[u8]) {
    out.push(id);
    push_leb(out, content.len() as u64);
    out.extend_from_slice(content);
}

fn push_val_types(out: &mut Vec<u8>, types: &[ValType]) {
    push_leb(out, types.len() as u64);
    for ty in types {
        out.push(val_type_byte(*ty));
    }
}

fn val_type_byte(ty: ValType) -> u8 {
    match ty {
        ValType::I32 => 0x7f,
        ValType::I64 => 0x7e,
        ValType::F32 => 0x7d,
        ValType::F64 => 0x7c,
        ValType::V128 => 0x7b,
        ValType::FuncRef => FUNCREF,
        ValType::ExternRef => EXTERNREF,
    }
}

fn push_sleb(out: &mut Vec<u8>, mut value: i64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        let sign_bit_clear = byte & 0x40 == 0;
        if (value == 0 && sign_bit_clear) || (value == -1 && !sign_bit_clear) {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn push_leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtier_core::Features;

    fn load(bytes: &[u8]) -> ValidatedModule {
        ValidatedModule::new(bytes, Features::default()).expect("valid")
    }

    /// Rewrites `text` and returns the rewritten module, validated again.
    fn rewritten(text: &str, defer_start: bool) -> (ValidatedModule, Hidden) {
        let original = load(&wat::parse_str(text).unwrap());
        let out = rewrite(&original, defer_start).unwrap().expect("rewritten");
        (load(&out.bytes), out.hidden)
    }

    fn exports(module: &ValidatedModule) -> Vec<(String, u32)> {
        module
            .exports()
            .iter()
            .map(|e| (e.name.clone(), e.index))
            .collect()
    }

    #[test]
    fn a_module_without_grows_or_deferral_is_left_alone() {
        let module = load(
            &wat::parse_str("(module (memory 1) (func (drop (memory.size))) (start 0))").unwrap(),
        );
        assert!(rewrite(&module, false).unwrap().is_none());
    }

    #[test]
    fn the_start_function_becomes_a_hidden_export() {
        let (module, hidden) = rewritten(
            r#"(module (func $a) (func $s (call $a)) (export "a" (func $a))
                (start $s) (memory 1) (data (i32.const 0) "x"))"#,
            true,
        );
        assert_eq!(module.start(), None);
        assert_eq!(hidden.start.as_deref(), Some("\0wasmtier:start"));
        assert!(hidden.grow.is_none());
        assert_eq!(
            exports(&module),
            vec![("a".into(), 0), ("\0wasmtier:start".into(), 1)]
        );
    }

    #[test]
    fn a_module_without_exports_gets_an_export_section() {
        let (module, hidden) = rewritten(
            "(module (func $s) (start $s) (table 1 funcref) (elem (i32.const 0) $s))",
            true,
        );
        assert_eq!(module.start(), None);
        assert_eq!(exports(&module), vec![(hidden.start.unwrap(), 0)]);
    }

    #[test]
    fn hidden_names_never_collide_with_the_modules_own() {
        let (module, hidden) = rewritten(
            r#"(module (func $s) (start $s) (export "\00wasmtier:start" (func $s)))"#,
            true,
        );
        let name = hidden.start.unwrap();
        assert_eq!(name, "\0wasmtier\0:start");
        assert_eq!(
            module.exports().iter().filter(|e| e.name == name).count(),
            1
        );
    }

    #[test]
    fn grows_become_calls_through_the_helper_table() {
        let (module, hidden) = rewritten(
            r#"(module
                (type $t (func))
                (memory 1 2)
                (table $f 1 funcref)
                (table $e 0 externref)
                (func (export "grow") (param i32) (result i32)
                  (drop (table.grow $e (ref.null extern) (local.get 0)))
                  (memory.grow (local.get 0)))
                (func (result i32) (table.grow $f (ref.null func) (i32.const 1)))
                (func $s (drop (memory.grow (i32.const 0))))
                (start $s))"#,
            false,
        );
        let grow = hidden.grow.expect("helpers");
        let targets: Vec<_> = grow.slots.iter().map(|s| s.target).collect();
        assert_eq!(
            targets,
            vec![
                GrowTarget::Table(1),
                GrowTarget::Memory(0),
                GrowTarget::Table(0)
            ]
        );
        assert_eq!(
            grow.slots[0].ty,
            FuncType::new([ValType::ExternRef, ValType::I32], [ValType::I32])
        );
        assert_eq!(
            grow.slots[1].ty,
            FuncType::new([ValType::I32], [ValType::I32])
        );
        // One helper table after the module's two, sized for the helpers.
        assert_eq!(module.tables().len(), 3);
        assert_eq!(
            (module.tables()[2].minimum, module.tables()[2].maximum),
            (3, Some(3))
        );
        // The types are appended after the module's own.
        assert_eq!(module.types().len(), 1 + 2 + 3);
        // A start function is deferred, since it could grow before the
        // helpers are installed.
        assert_eq!(module.start(), None);
        assert!(hidden.start.is_some());
        let names: Vec<_> = exports(&module);
        assert!(names.contains(&("\0wasmtier:grow".into(), 2)));
        assert!(names.contains(&("\0wasmtier:memory:0".into(), 0)));
        assert!(names.contains(&("\0wasmtier:table:1".into(), 1)));
        // No grow is left.
        assert!(
            rewrite(&module, false)
                .unwrap()
                .is_none_or(|r| r.hidden.grow.is_none())
        );
        assert!(module.notable_bodies().unwrap().grows.is_empty());
    }

    #[test]
    fn memory64_and_multi_memory_grows_keep_their_address_type() {
        let (_, hidden) = rewritten(
            r#"(module (memory $a 1) (memory $b i64 1)
                (func (result i64) (memory.grow $b (i64.const 1)))
                (func (result i32) (memory.grow $a (i32.const 1))))"#,
            false,
        );
        let slots = hidden.grow.unwrap().slots;
        assert_eq!(slots[0].target, GrowTarget::Memory(1));
        assert_eq!(slots[0].ty, FuncType::new([ValType::I64], [ValType::I64]));
        assert_eq!(slots[1].ty, FuncType::new([ValType::I32], [ValType::I32]));
    }

    #[test]
    fn unreachable_grows_and_imported_memories_are_rewritten() {
        let (module, hidden) = rewritten(
            r#"(module (import "env" "memory" (memory 1))
                (func (result i32) (unreachable) (memory.grow)))"#,
            false,
        );
        assert_eq!(hidden.grow.unwrap().slots[0].target, GrowTarget::Memory(0));
        assert_eq!(module.exports().len(), 2);
    }

    #[test]
    fn block_parameters_are_spilled_to_new_locals() {
        let text = r#"(module
            (func (export "f") (param i32) (result i32) (local i64)
              (i32.const 1) (i64.const 2) (local.get 0)
              (if (param i32 i64) (result i32)
                (then (drop))
                (else (drop) (i32.const 3) (i32.add)))
              (block (param i32) (result i32) (i32.const 4) (i32.add))
              (loop (param i32) (result i32))))"#;
        let (module, hidden) = rewritten(text, false);
        assert!(hidden.grow.is_none() && hidden.start.is_none());
        // One i32 and one i64 for the `if`'s parameters plus its condition,
        // then one i32 each for the block and the loop.
        let body = module.func_body(0).unwrap();
        let reader = BinaryReader::new(&module.bytes()[body.clone()], body.start);
        let locals: Vec<_> = wasmparser::FunctionBody::new(reader)
            .get_locals_reader()
            .unwrap()
            .into_iter()
            .map(|l| l.unwrap())
            .collect();
        use wasmparser::ValType as W;
        assert_eq!(
            locals,
            vec![
                (1, W::I64),
                (1, W::I32),
                (1, W::I64),
                (1, W::I32),
                (1, W::I32),
                (1, W::I32)
            ]
        );
        // Still valid (checked by `rewritten`), and a second pass finds the
        // same blocks again: they keep their parameters.
        assert_eq!(module.notable_bodies().unwrap().block_params, vec![0]);
    }

    #[test]
    fn zero_tested_select_conditions_go_through_one_new_local() {
        let text = r#"(module
            (func (export "f") (param i32 i32) (result i32)
              (select (i32.const 5) (i32.const 7) (i32.eqz (local.get 0)))
              (select (local.get 1) (i32.const 7) (i32.ne (local.get 0) (i32.const 0)))
              (i32.add)
              (select (i32.const 1) (i32.const 2) (local.get 0))
              (i32.add)))"#;
        let (module, _) = rewritten(text, false);
        let body = module.func_body(0).unwrap();
        let reader = BinaryReader::new(&module.bytes()[body.clone()], body.start);
        let body = wasmparser::FunctionBody::new(reader);
        let locals: Vec<_> = body
            .get_locals_reader()
            .unwrap()
            .into_iter()
            .map(|l| l.unwrap())
            .collect();
        assert_eq!(locals, vec![(1, wasmparser::ValType::I32)]);
        // Each zero test is stored in local 2 and read back before its
        // `select`; the plain `select` is left alone.
        let mut operators = body.get_operators_reader().unwrap();
        let mut seen = Vec::new();
        while !operators.eof() {
            match operators.read().unwrap() {
                wasmparser::Operator::LocalSet { local_index } => seen.push(("set", local_index)),
                wasmparser::Operator::LocalGet { local_index: 2 } => seen.push(("get", 2)),
                wasmparser::Operator::Select => seen.push(("select", 0)),
                _ => {}
            }
        }
        assert_eq!(
            seen,
            vec![
                ("set", 2),
                ("get", 2),
                ("select", 0),
                ("set", 2),
                ("get", 2),
                ("select", 0),
                ("select", 0),
            ]
        );
    }

    /// A rewrite that would cross a validator limit (here locals per
    /// function) is refused with an error, never handed to wasmi
    /// unchecked.
    #[test]
    fn rewrites_past_the_validator_limits_are_refused() {
        // 50,000 locals (the most the loader and wasmparser accept), then
        // a block parameter the rewrite spills to one more.
        let locals = "(local i32) ".repeat(50_000);
        let text = format!(
            "(module (func {locals} (i32.const 1) (i32.const 2) (i32.add) \
             (block (param i32) (drop))))"
        );
        let original = load(&wat::parse_str(&text).unwrap());
        let err = rewrite(&original, false).err().expect("refused");
        assert!(err.contains("the rewritten module is invalid"), "{err}");
        assert!(err.contains("locals"), "{err}");
        // wasmparser's export limit (1,000,000) cannot be reached: its
        // limit on the module's total type size (also 1,000,000) refuses
        // such a module first, and the validation above covers both.
    }
}
