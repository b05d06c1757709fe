//! Issue #7: artifacts edited on purpose, with the checksum recomputed so
//! that only the bounds checks stand between them and the code. Every
//! offset read from the file must be refused with an error when it points
//! outside where it belongs; nothing may crash or read out of bounds.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::FIB;
use wasmtier_core::{
    CallError, Engine, EngineConfig, Features, LinkError, SharedBytes, ValidatedModule,
};
use wasmtier_engine_aot::artifact::{self, Section};
use wasmtier_engine_aot::{AotEngine, AotError};

/// A good artifact: its bytes, and where its fields are.
struct Good {
    bytes: Vec<u8>,
    header: artifact::Header,
    /// Offset of the code offset field; the code length and the section
    /// table follow it.
    code_field: usize,
}

impl Good {
    fn new(dir: &Path) -> Self {
        let bytes = wat::parse_str(FIB).unwrap();
        let module = Arc::new(ValidatedModule::new(&bytes, Features::default()).unwrap());
        let path = dir.join("good.cwasm");
        engine().compile_to_file(&module, None, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let header = artifact::parse(&SharedBytes::from(bytes.clone()))
            .unwrap()
            .header;
        let code = &header.code;
        let needle = [
            code.start.to_le_bytes(),
            (code.end - code.start).to_le_bytes(),
        ]
        .concat();
        let code_field = bytes
            .windows(16)
            .position(|w| w == needle)
            .expect("the code offset field");
        Self {
            bytes,
            header,
            code_field,
        }
    }

    fn section_field(&self, section: Section) -> usize {
        self.code_field + 16 + 16 * section as usize
    }

    fn section(&self, section: Section) -> usize {
        self.header.sections[section as usize].start as usize
    }

    /// A copy with `value` written at `at` and the checksum recomputed.
    fn edited(&self, at: usize, value: &[u8]) -> Vec<u8> {
        let mut bytes = self.bytes.clone();
        bytes[at..at + value.len()].copy_from_slice(value);
        resealed(bytes)
    }
}

/// `bytes` with the checksum an intact artifact of them would carry.
fn resealed(mut bytes: Vec<u8>) -> Vec<u8> {
    let checksum = artifact::checksum(&bytes);
    bytes[24..28].copy_from_slice(&checksum.to_le_bytes());
    bytes
}

fn engine() -> AotEngine {
    AotEngine::new(EngineConfig::default())
}

fn write(dir: &Path, bytes: &[u8]) -> PathBuf {
    let path = dir.join("edited.cwasm");
    std::fs::write(&path, bytes).unwrap();
    path
}

fn load_error(dir: &Path, bytes: &[u8]) -> String {
    match engine().load_file(&write(dir, bytes)) {
        Ok(_) => panic!("edited artifact accepted"),
        Err(err) => {
            assert!(
                matches!(err, AotError::Malformed(_) | AotError::Load(_)),
                "{err}"
            );
            err.to_string()
        }
    }
}

fn instantiate_error(dir: &Path, bytes: &[u8]) -> String {
    let engine = engine();
    let compiled = engine.load_file(&write(dir, bytes)).unwrap();
    let mut store = engine.new_store(Box::new(()));
    match store.instantiate(compiled.as_ref()) {
        Ok(_) => panic!("edited artifact instantiated"),
        Err(LinkError::Engine(message)) => message,
        Err(other) => panic!("unexpected error: {other}"),
    }
}

#[test]
fn code_outside_the_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = Good::new(dir.path());
    let past_end = good.bytes.len() as u64;
    for (at, value) in [
        (good.code_field, past_end),
        (good.code_field, 0),
        (good.code_field, good.header.code.start + 1),
        (good.code_field + 8, past_end),
        (good.code_field + 8, u64::MAX),
    ] {
        let err = load_error(dir.path(), &good.edited(at, &value.to_le_bytes()));
        assert!(err.contains("code section out of place"), "{err}");
    }
}

#[test]
fn sections_outside_their_place_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = Good::new(dir.path());
    for section in Section::ALL {
        let field = good.section_field(section);
        let length = good.header.sections[section as usize].end
            - good.header.sections[section as usize].start;
        for (at, value) in [
            // Into the code, past the file, before the table, misaligned.
            (field, good.header.code.start),
            (field, good.bytes.len() as u64),
            (field, u64::MAX - 3),
            (field, 8),
            (field, good.section(section) as u64 + 1),
            // Long enough to reach the code.
            (field + 8, good.header.code.start),
            (field + 8, u64::MAX),
        ] {
            let err = load_error(dir.path(), &good.edited(at, &value.to_le_bytes()));
            assert!(
                err.contains(&format!("the {} section is out of place", section.name())),
                "{section:?} edited at {at}: {err}"
            );
        }
        if section != Section::Wasm {
            // Not a whole number of rows.
            let err = load_error(
                dir.path(),
                &good.edited(field + 8, &(length + 1).to_le_bytes()),
            );
            assert!(err.contains("partial entry"), "{section:?}: {err}");
        }
    }
}

#[test]
fn tables_that_do_not_fit_the_module_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = Good::new(dir.path());
    let length = |section: Section| {
        let range = &good.header.sections[section as usize];
        range.end - range.start
    };
    for (section, rows_of) in [
        (Section::FuncTypes, 4),
        (Section::Functions, 8),
        (Section::EntryTrampolines, 4),
        (Section::HostAdapters, 4),
    ] {
        let shorter = length(section) - rows_of;
        let err = load_error(
            dir.path(),
            &good.edited(good.section_field(section) + 8, &shorter.to_le_bytes()),
        );
        assert!(
            err.contains("do not fit") || err.contains("does not match"),
            "{err}"
        );
    }
    // A trampoline past the end of the code.
    let code_len = (good.header.code.end - good.header.code.start) as u32;
    let at = good.section(Section::EntryTrampolines);
    let err = load_error(dir.path(), &good.edited(at, &code_len.to_le_bytes()));
    assert!(err.contains("outside the code"), "{err}");
}

#[test]
fn function_entries_are_checked_before_they_become_pointers() {
    let dir = tempfile::tempdir().unwrap();
    let good = Good::new(dir.path());
    let code_len = (good.header.code.end - good.header.code.start) as u32;
    // The first function's code ends past the code; then starts there.
    let functions = good.section(Section::Functions);
    let err = instantiate_error(
        dir.path(),
        &good.edited(functions + 4, &(code_len + 64).to_le_bytes()),
    );
    assert!(err.contains("outside the code"), "{err}");
    let err = instantiate_error(
        dir.path(),
        &good.edited(
            functions,
            &[code_len.to_le_bytes(), (code_len + 8).to_le_bytes()].concat(),
        ),
    );
    assert!(err.contains("outside the code"), "{err}");
    // A function of a type the module does not have.
    let types = good.section(Section::FuncTypes);
    let err = instantiate_error(dir.path(), &good.edited(types, &999u32.to_le_bytes()));
    assert!(err.contains("unknown type"), "{err}");
}

#[test]
fn damaged_names_and_trap_entries_only_lose_information() {
    let dir = tempfile::tempdir().unwrap();
    let good = Good::new(dir.path());
    let engine = engine();
    let run = |bytes: &[u8]| {
        let compiled = engine.load_file(&write(dir.path(), bytes)).unwrap();
        let mut store = engine.new_store(Box::new(()));
        let instance = store.instantiate(compiled.as_ref()).unwrap();
        match store.call(instance, "boom", &[]) {
            Err(CallError::Trap(trap)) => trap,
            other => panic!("expected a trap, got {other:?}"),
        }
    };
    let trap = run(&good.bytes);
    assert_eq!(trap.backtrace[0].name.as_deref(), Some("boom"));
    // Every name now points past the module: the frames lose their names.
    let names = good.section(Section::FuncNames);
    let rows = good.header.sections[Section::FuncNames as usize].end as usize - names;
    let mut bytes = good.bytes.clone();
    for row in (names..names + rows).step_by(12) {
        bytes[row + 4..row + 12].copy_from_slice(&[0xff; 8]);
    }
    let trap = run(&resealed(bytes));
    assert!(trap.to_string().contains("unreachable"), "{trap}");
    assert_eq!(trap.backtrace[0].name, None);
}

/// The type section's shape the code was compiled against (which types
/// are final decides whether `call_indirect` checks subtypes) must be the
/// module's: a shape edited in place, even resealed, is refused before any
/// code is mapped.
#[test]
fn type_shapes_that_do_not_fit_the_module_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = Good::new(dir.path());
    let shapes = good.section(Section::TypeShapes);
    let length = good.header.sections[Section::TypeShapes as usize].end as usize - shapes;
    assert!(length >= 12, "FIB declares a type");
    // The first type's "final" flag, flipped to "open to subtypes".
    let err = load_error(dir.path(), &good.edited(shapes + 8, &0u32.to_le_bytes()));
    assert!(
        err.contains("canonical type information does not match"),
        "{err}"
    );
}
