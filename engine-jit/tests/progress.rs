//! `EngineConfig::progress` on the JIT: one report per function and
//! trampoline, counting up to the total, on the parallel and the
//! single-threaded path.

use std::sync::{Arc, Mutex};

use wasmtier_core::{CompileProgress, Engine, EngineConfig, Features, ValidatedModule};
use wasmtier_engine_jit::JitEngine;

/// `functions` functions of two signatures.
fn module(functions: usize) -> Arc<ValidatedModule> {
    let mut text = String::from("(module\n");
    for i in 0..functions {
        if i % 2 == 0 {
            text.push_str(&format!("(func (result i32) i32.const {i})\n"));
        } else {
            text.push_str("(func (param i64) (result i64) local.get 0)\n");
        }
    }
    text.push(')');
    Arc::new(ValidatedModule::from_bytes_or_text(text.as_bytes(), Features::default()).unwrap())
}

fn reports(low_memory: bool, functions: usize) -> Vec<(usize, usize)> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let config = EngineConfig {
        low_memory,
        progress: Some(CompileProgress::new(move |done, total| {
            sink.lock().unwrap().push((done, total))
        })),
        ..EngineConfig::default()
    };
    JitEngine::new(config).compile(module(functions)).unwrap();
    Arc::try_unwrap(seen).unwrap().into_inner().unwrap()
}

#[test]
fn every_function_and_trampoline_is_reported_once_in_order() {
    for low_memory in [false, true] {
        let seen = reports(low_memory, 40);
        // 40 functions, and an entry trampoline and a host adapter for
        // each of the 2 signatures.
        let total = 40 + 2 * 2;
        let expected: Vec<(usize, usize)> = (1..=total).map(|done| (done, total)).collect();
        assert_eq!(seen, expected, "low_memory: {low_memory}");
    }
}

#[test]
fn no_progress_callback_compiles_the_same() {
    let engine = JitEngine::new(EngineConfig::default());
    assert!(engine.compile(module(3)).is_ok());
}
