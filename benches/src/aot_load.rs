//! Artifact load time against code size: the large module and a small
//! workload compiled to `.cwasm` files, then loaded (checks, mapping,
//! metadata) many times in process.

use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use wasmtier_core::{EngineConfig, Features, ValidatedModule};
use wasmtier_engines::aot::AotEngine;

/// Median time of `runs` loads of `artifact`.
fn median_load(engine: &AotEngine, artifact: &Path, runs: usize) -> Result<Duration> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let compiled = engine.load_file(artifact)?;
        times.push(start.elapsed());
        drop(compiled);
    }
    times.sort();
    Ok(times[times.len() / 2])
}

/// A markdown table: module, code size, artifact size, median load time.
pub fn table(modules: &[(String, &Path)], scratch: &Path) -> Result<String> {
    let mut out = String::from(
        "\n### AOT artifact load time (median of 21 in-process loads: header checks, CRC-32 over the file, mapping, metadata)\n\n\
         | module | code | artifact | load | of which CRC-32 |\n| --- | --- | --- | --- | --- |\n",
    );
    let engine = AotEngine::new(EngineConfig::default());
    for (name, wasm) in modules {
        let bytes = std::fs::read(wasm)?;
        let module = Arc::new(ValidatedModule::new(&bytes, Features::default())?);
        let artifact = scratch.join(format!("{}.cwasm", name.replace(' ', "-")));
        engine
            .compile_to_file(&module, None, &artifact)
            .with_context(|| format!("compiling {name}"))?;
        let load = median_load(&engine, &artifact, 21)?;
        let file = std::fs::read(&artifact)?;
        let start = Instant::now();
        for _ in 0..21 {
            std::hint::black_box(crc32fast_hash(&file));
        }
        let crc = start.elapsed() / 21;
        let parsed = wasmtier_engines::aot::artifact::parse(&file.clone().into())?;
        let code = parsed.header.code.end - parsed.header.code.start;
        writeln!(
            out,
            "| {name} | {:.1} KiB | {:.1} KiB | {:.3} ms | {:.3} ms |",
            code as f64 / 1024.0,
            file.len() as f64 / 1024.0,
            load.as_secs_f64() * 1e3,
            crc.as_secs_f64() * 1e3
        )?;
    }
    Ok(out)
}

fn crc32fast_hash(bytes: &[u8]) -> u32 {
    wasmtier_engines::aot::artifact::checksum(bytes)
}
