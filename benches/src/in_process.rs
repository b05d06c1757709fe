//! In-process timing: load (validate), compile, instantiate and run measured
//! separately for each of wasmtier's engines, through the library API.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use wasmtier_core::{CallError, Engine, EngineConfig, Features, LinkError, ValidatedModule};
use wasmtier_wasi::{Preopen, WasiConfig, WasiState};

pub struct Phases {
    pub load: Duration,
    pub compile: Duration,
    pub instantiate: Duration,
    pub run: Duration,
}

/// The engines measured in process, by name: the registry's, but not the
/// AOT tier, whose in-process cost is its artifact load (measured apart).
pub fn engines() -> Vec<(&'static str, Box<dyn Engine>)> {
    wasmtier_engines::ENGINES
        .iter()
        .filter(|e| e.kind != wasmtier_core::EngineKind::Aot)
        .map(|e| {
            // What `wasmtier run` enables on this engine.
            let config = EngineConfig {
                features: Features::finished().intersect(e.features),
                ..EngineConfig::default()
            };
            (e.name(), e.create(config))
        })
        .collect()
}

/// Runs `_start` of `wasm` once; the guest's output is discarded.
pub fn measure(
    engine: &dyn Engine,
    wasm: &Path,
    args: &[&str],
    scratch: Option<&Path>,
) -> Result<Phases> {
    let bytes = std::fs::read(wasm)?;
    let t = Instant::now();
    let module = Arc::new(ValidatedModule::new(&bytes, engine.config().features)?);
    let load = t.elapsed();

    let t = Instant::now();
    let compiled = engine.compile(module)?;
    let compile = t.elapsed();

    let mut config = WasiConfig::new()
        .arg(wasm.display().to_string())
        .args(args.iter().copied())
        .inherit_stdio(false);
    if let Some(dir) = scratch {
        config = config.preopen(Preopen::new(dir, "."));
    }
    let t = Instant::now();
    let mut store = engine.new_store(Box::new(WasiState::new(&config)?));
    wasmtier_wasi::define_imports(store.as_mut())?;
    let instance = store
        .instantiate(compiled.as_ref())
        .map_err(|e: LinkError| anyhow!(e))?;
    let instantiate = t.elapsed();

    let t = Instant::now();
    match store.call(instance, "_start", &[]) {
        Ok(_) => {}
        Err(CallError::Trap(trap)) if trap.exit_status() == Some(0) => {}
        Err(err) => return Err(anyhow!(err)),
    }
    let run = t.elapsed();
    Ok(Phases {
        load,
        compile,
        instantiate,
        run,
    })
}

/// Why the interpreter skips wasmi's validation: `wasmi::Module::new`
/// (validation plus wasmi's lazy-translation setup), against our loader's
/// validation and then `InterpEngine::compile` (the same setup, unchecked). Medians of `runs`, in that order.
pub fn validation_cost(wasm: &Path, runs: usize) -> Result<(Duration, Duration, Duration)> {
    let bytes = std::fs::read(wasm)?;
    let features = Features::default();
    let mut config = wasmi::Config::default();
    config
        .wasm_tail_call(features.tail_call)
        .wasm_extended_const(features.extended_const)
        .wasm_multi_memory(features.multi_memory)
        .wasm_memory64(features.memory64);
    let wasmi_engine = wasmi::Engine::new(&config);
    let ours = wasmtier_engine_interp::InterpEngine::new(EngineConfig {
        features,
        ..EngineConfig::default()
    });
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (mut checked, mut load, mut unchecked) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        wasmi::Module::new(&wasmi_engine, &bytes[..]).map_err(|e| anyhow!("{e}"))?;
        checked.push(t.elapsed());
        let t = Instant::now();
        let module = Arc::new(ValidatedModule::new(&bytes, features)?);
        load.push(t.elapsed());
        let t = Instant::now();
        ours.compile(module)?;
        unchecked.push(t.elapsed());
    }
    Ok((median(checked), median(load), median(unchecked)))
}
