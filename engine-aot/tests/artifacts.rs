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
    // The other of the two targets, whichever this host is.
    let other = if cfg!(target_arch = "x86_64") {
        "aarch64-unknown-linux-gnu"
    } else {
        "x86_64-unknown-linux-gnu"
    };
    let foreign = dir.path().join("foreign.cwasm");
    engine
        .compile_to_file(&module(), Some(other), &foreign)
        .unwrap();
    let err = engine.load_file(&foreign).err().unwrap();
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
    let entries = cache_entries(dir.path());
    assert_eq!(entries.len(), 1);
    let entry = entries[0].clone();
    // Checked against its seal once, when written: recorded beside it.
    let mut record = entry.clone().into_os_string();
    record.push(".checked");
    assert!(std::path::Path::new(&record).exists());
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

/// The `.cwasm` entries of a cache directory (it also holds its key).
fn cache_entries(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect()
}

#[test]
fn planted_entries_are_replaced_never_run() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let engine = AotEngine::with_cache(EngineConfig::default(), CacheMode::Dir(cache.clone()));
    engine.compile(module()).unwrap();
    let entry = cache_entries(&cache).remove(0);
    let sealed_len = std::fs::metadata(&entry).unwrap().len();
    // A well-formed artifact of the very same module, written by someone
    // without the cache's key (say, through a shared or leaked directory).
    let (_, planted) = compiled_file(dir.path());
    std::fs::copy(&planted, &entry).unwrap();
    let inode = std::fs::metadata(&entry).unwrap().ino();
    assert!(
        engine.cached(module().bytes()).is_none(),
        "a planted entry was used"
    );
    let compiled = engine.compile(module()).unwrap();
    assert_eq!(run_fib(&engine, compiled.as_ref()), Val::I32(6765));
    let meta = std::fs::metadata(&entry).unwrap();
    assert_ne!(meta.ino(), inode, "the planted entry was kept");
    assert_eq!(meta.len(), sealed_len);
    assert!(engine.cached(module().bytes()).is_some());

    // A link in the entry's place is not followed; it is replaced too.
    std::fs::remove_file(&entry).unwrap();
    std::os::unix::fs::symlink(&planted, &entry).unwrap();
    assert!(engine.cached(module().bytes()).is_none());
    engine.compile(module()).unwrap();
    assert!(!std::fs::symlink_metadata(&entry).unwrap().is_symlink());
}

#[test]
fn a_cache_directory_others_may_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("shared");
    std::fs::create_dir(&cache).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let engine = AotEngine::with_cache(EngineConfig::default(), CacheMode::Dir(cache.clone()));
    let err = engine.compile_module(module()).err().unwrap();
    assert!(matches!(err, AotError::UntrustedCache { .. }), "{err}");
    assert!(err.to_string().contains("--no-cache"), "{err}");
    assert!(cache_entries(&cache).is_empty());
}
