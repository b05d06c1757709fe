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
//!   (`grow.rs`) that grow through wasmi's API and return normally.
//!   The stack effect is the grow's.
//! - **Block parameters, zero-tested `select` conditions and the values of
//!   stores of a local to itself are spilled and reloaded**, which steers
//!   wasmi's translator around three bugs: one let code read a
//!   never-written stack cell, one made `select` read its condition from
//!   the wrong place, one panics ([`body`] explains them).
//!
//! Only bodies with one of these are re-encoded; the others are copied.
//! Finding them is this crate's business: the loader validates and knows
//! nothing of wasmi's bugs.
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
mod encode;
mod error;
mod filter;

use wasm_encoder::{Encode, ExportKind, Instruction};
use wasmparser::{BinaryReader, FunctionBody, Parser};
use wasmtier_core::{ExternType, FuncType, ValType, ValidatedModule};

use body::{Event, ScannedBody};
use encode::Additions;
pub use error::RewriteError;

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

/// `module` as wasmi should run it: grows and block parameters rewritten,
/// and the start function deferred when there were grows or `defer_start`
/// asks for it. `None` when nothing needs changing. An error means a
/// validated module did not decode as expected, which is a bug here,
/// reported rather than run unprotected.
pub(crate) fn rewrite(
    module: &ValidatedModule,
    defer_start: bool,
) -> Result<Option<Rewritten>, RewriteError> {
    let bodies = scan_bodies(module)?;
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

    let first_new_type =
        u32::try_from(module.types().len()).map_err(|_| RewriteError::TooManyTypes)?;
    let helper_table = module.num_imported_tables() + module.tables().len() as u32;
    let mut additions = Additions::default();
    let mut hidden = Hidden::default();
    if !slots.is_empty() {
        let table = format!("{prefix}:grow");
        additions.types = slots.iter().map(|s| s.ty.clone()).collect();
        additions
            .tables
            .push(Additions::funcref_table(slots.len() as u64));
        additions
            .exports
            .push((table.clone(), ExportKind::Table, helper_table));
        for slot in &slots {
            additions.exports.push(match slot.target {
                GrowTarget::Memory(index) => (slot.export.clone(), ExportKind::Memory, index),
                GrowTarget::Table(index) => (slot.export.clone(), ExportKind::Table, index),
            });
        }
        hidden.grow = Some(GrowHelpers { table, slots });
    }
    if let Some(start) = start {
        let name = format!("{prefix}:start");
        additions
            .exports
            .push((name.clone(), ExportKind::Func, start));
        hidden.start = Some(name);
    }
    let slots = hidden.grow.as_ref().map_or(&[][..], |g| &g.slots[..]);
    // `i32.const slot; call_indirect` of the slot's type, in the helper table.
    let call = |target: GrowTarget, code: &mut Vec<u8>| {
        let slot = slots.iter().position(|s| s.target == target).unwrap_or(0);
        Instruction::I32Const(slot as i32).encode(code);
        Instruction::CallIndirect {
            type_index: first_new_type + slot as u32,
            table_index: helper_table,
        }
        .encode(code);
    };
    let bytes = encode::assemble(module, &additions, start.is_some(), &bodies, &call)?;
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
fn validate_changes(
    module: &ValidatedModule,
    bytes: &[u8],
    changed: &[u32],
) -> Result<(), RewriteError> {
    let invalid = RewriteError::invalid;
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

/// The bodies with something to change, scanned. Most bodies are ruled
/// out by a quick pass that steps over immediates ([`filter`]); the rest are decoded
/// (RATIONALE.md, "Finding what to rewrite").
fn scan_bodies(module: &ValidatedModule) -> Result<Vec<ScannedBody>, RewriteError> {
    let mut bodies = Vec::new();
    for defined_func in 0..module.num_defined_funcs() {
        let range = body::range(module, defined_func)?;
        let bytes = &module.bytes()[range.clone()];
        let code = FunctionBody::new(BinaryReader::new(bytes, range.start))
            .get_operators_reader()?
            .get_binary_reader();
        if !filter::may_need_edits(&bytes[code.current_position()..], module.types()) {
            continue;
        }
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
) -> Result<GrowSlot, RewriteError> {
    let unknown = || RewriteError::UnknownGrowTarget(target);
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
            FuncType::new([ValType::EXTERNREF, ValType::I32], [ValType::I32])
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
        let events = scan_bodies(&module).unwrap();
        let grows = events.iter().flat_map(|b| &b.events);
        assert!(!grows.into_iter().any(|e| matches!(e, Event::Grow { .. })));
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
        let scanned = scan_bodies(&module).unwrap();
        assert_eq!(scanned.len(), 1);
        assert_eq!(scanned[0].defined_func, 0);
        let blocks = scanned[0].events.iter();
        let blocks = blocks.filter(|e| matches!(e, Event::ParamBlock { .. }));
        assert_eq!(blocks.count(), 3);
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
        let err = rewrite(&original, false)
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains("the rewritten module is invalid"), "{err}");
        assert!(err.contains("locals"), "{err}");
        // wasmparser's export limit (1,000,000) cannot be reached: its
        // limit on the module's total type size (also 1,000,000) refuses
        // such a module first, and the validation above covers both.
    }

    /// The byte filter passes every body the full scan would edit.
    fn assert_filter_covers(bytes: &[u8]) {
        let module = load(bytes);
        let filtered: Vec<u32> = scan_bodies(&module)
            .unwrap()
            .iter()
            .map(|b| b.defined_func)
            .collect();
        let mut edited = Vec::new();
        for defined_func in 0..module.num_defined_funcs() {
            if !body::scan(&module, defined_func).unwrap().events.is_empty() {
                edited.push(defined_func);
            }
        }
        assert_eq!(filtered, edited);
    }

    #[test]
    fn the_byte_filter_passes_every_body_the_scan_edits() {
        let text = r#"(module
            (memory $a 1) (memory $b 1) (table $t 1 funcref)
            (func (result i32) (memory.grow $a (i32.const 2)))
            (func (result i32) (memory.grow $b (i32.const 2)))
            (func (result i32) (table.grow $t (ref.null func) (i32.const 2)))
            (func (param i32) (result i32)
              (select (i32.const 2) (i32.const 3) (nop) (i32.eqz (local.get 0))))
            (func (param i32)
              (i32.store offset=65536 (local.tee 0 (local.get 0)) (local.get 0)))
            (func (param i32)
              (i64.store32 $b (local.get 0) (i64.extend_i32_u (local.get 0)))
              (i32.store8 $b (local.get 0) (local.get 0)))
            (func (result i32) (i32.const 2) (block (param i32) (result i32)))
            (func (block (i32.const 2) (drop)) (loop) (if (i32.const 4) (then)))
            (func (param i32) (i32.store offset=65535 (local.get 0) (local.get 0))))"#;
        assert_filter_covers(&wat::parse_str(text).unwrap());
        assert_filter_covers(
            &wat::parse_str(
                r#"(module (memory 1)
                (func (result i32) (i32.const 2) (memory.grow) (i32.const 0x40) (i32.add))
                (func (block (nop)) (i32.const 0x40) (drop)))"#,
            )
            .unwrap(),
        );
        for bytes in [
            &include_bytes!("../../../fuzz-diff/tests/regressions/interp-select-on-zero-test.wasm")
                [..],
            include_bytes!(
                "../../../fuzz-diff/tests/regressions/interp-v128-global-nondeterministic.wasm"
            ),
            include_bytes!(
                "../../../fuzz-diff/tests/regressions/wasmi-store-translation-panic.wasm"
            ),
        ] {
            assert_filter_covers(bytes);
        }
        // And it rules out ordinary code without decoding it.
        let plain = load(
            &wat::parse_str(
                r#"(module (memory 1)
                (func (param i32) (result i32)
                  (block (loop (br_if 1 (local.get 0)) (br 0)))
                  (if (local.get 0) (then (i32.store offset=8 (local.get 0) (i32.const 3))))
                  (i32.add (local.get 0) (i32.const 1))))"#,
            )
            .unwrap(),
        );
        let range = plain.func_body(0).unwrap();
        // One group of locals (none): the code starts after one byte.
        let code = &plain.bytes()[range.start + 1..range.end];
        assert!(!filter::may_need_edits(code, plain.types()));
    }
}
