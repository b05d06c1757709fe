//! Artifacts end to end: compile, write, map back, run; and every kind of
//! damaged or foreign artifact refused before its code is mapped.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;

use common::FIB;
use wasmtier_core::{Engine, EngineConfig, Features, Val, ValidatedModule};
use wasmtier_engine_aot::{AotEngine, AotError, CacheMode};

fn module() -> Arc<ValidatedModule> {
    let bytes = wat::parse_str(FIB).unwrap();
    Arc::new(ValidatedModule::new(&bytes, Features::default()).unwrap())
}

fn run_fib(engine: &AotEngine, compiled: &dyn wasmtier_core::CompiledModule) -> Val {
    let mut store = engine.new_store(Box::new(()));
    let instance = store.instantiate(compiled).unwrap();
    let trap = store.call(instance, "boom", &[]).unwrap_err();
    assert!(trap.to_string().contains("unreachable"), "{trap}");
    store.call(instance, "fib", &[Val::I32(20)]).unwrap()[0]
}

fn compiled_file(dir: &Path) -> (AotEngine, std::path::PathBuf) {
    let engine = AotEngine::new(EngineConfig::default());
    let path = dir.join("fib.cwasm");
    engine.compile_to_file(&module(), None, &path).unwrap();
    (engine, path)
}

#[test]
fn compiled_files_load_and_run() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, path) = compiled_file(dir.path());
    let compiled = engine.load_file(&path).unwrap();
    assert_eq!(run_fib(&engine, compiled.as_ref()), Val::I32(6765));
    // Through the engine trait (a temporary artifact file) as well.
    let compiled = engine.compile(module()).unwrap();
    assert_eq!(run_fib(&engine, compiled.as_ref()), Val::I32(6765));
}

#[test]
fn damaged_artifacts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, path) = compiled_file(dir.path());
    let good = std::fs::read(&path).unwrap();
    let bad = dir.path().join("bad.cwasm");
    for at in (0..good.len()).step_by(good.len() / 61) {
        let mut bytes = good.clone();
        bytes[at] ^= 0x20;
        std::fs::write(&bad, &bytes).unwrap();
        assert!(engine.load_file(&bad).is_err(), "flip at {at} accepted");
    }
    for len in [0, 7, 31, 100, good.len() / 2, good.len() - 1] {
        std::fs::write(&bad, &good[..len]).unwrap();
        let err = engine.load_file(&bad).err().unwrap();
        assert!(
            matches!(err, AotError::Truncated { .. } | AotError::NotArtifact),
            "{len}: {err}"
        );
    }
}

#[test]
fn other_targets_and_settings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let engine = AotEngine::new(EngineConfig::default());
    let arm = dir.path().join("arm.cwasm");
    engine
        .compile_to_file(&module(), Some("aarch64-unknown-linux-gnu"), &arm)
        .unwrap();
    let err = engine.load_file(&arm).err().unwrap();
    assert!(matches!(err, AotError::Target { .. }), "{err}");

    let (_, path) = compiled_file(dir.path());
    let fuel = AotEngine::new(EngineConfig {
        fuel: Some(1000),
        ..EngineConfig::default()
    });
    let err = fuel.load_file(&path).err().unwrap();
    assert!(matches!(err, AotError::Flags), "{err}");
}

#[test]
fn the_cache_reuses_and_replaces_entries() {
    let dir = tempfile::tempdir().unwrap();
    let engine = AotEngine::with_cache(
        EngineConfig::default(),
        CacheMode::Dir(dir.path().to_path_buf()),
    );
    engine.compile(module()).unwrap();
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(entries.len(), 1);
    let entry = entries[0].as_ref().unwrap().path();
    // Reused, not rewritten: entries are replaced by rename, so a rewrite
    // would be a new inode (a hit only refreshes the modification time).
    let first = std::fs::metadata(&entry).unwrap().ino();
    let compiled = engine.compile(module()).unwrap();
    assert_eq!(std::fs::metadata(&entry).unwrap().ino(), first);
    assert_eq!(run_fib(&engine, compiled.as_ref()), Val::I32(6765));

    // A corrupted entry is replaced, never run.
    let mut bytes = std::fs::read(&entry).unwrap();
    let last = bytes.len() - 70_000;
    bytes[last] ^= 1;
    std::fs::write(&entry, &bytes).unwrap();
    let compiled = engine.compile(module()).unwrap();
    assert_eq!(run_fib(&engine, compiled.as_ref()), Val::I32(6765));
    assert!(engine.load_file(&entry).is_ok());
}
