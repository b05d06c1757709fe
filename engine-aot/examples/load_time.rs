//! Median time to load artifacts (all checks, mapping, metadata), the
//! share of it spent on the checksum, and what a cache hit of `run
//! --engine=aot app.wasm` adds to it: the BLAKE3 hash of the module.
//!
//!     cargo run --release -p wasmtier-engine-aot --example load_time -- a.cwasm b.cwasm

use std::time::{Duration, Instant};

use wasmtier_core::EngineConfig;
use wasmtier_engine_aot::{AotEngine, artifact};

fn median(mut f: impl FnMut(), runs: usize) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn main() {
    let engine = AotEngine::new(EngineConfig::default());
    println!(
        "| artifact | code | file | load | of which CRC-32 | module | its BLAKE3 hash |\n| --- | --- | --- | --- | --- | --- | --- |"
    );
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path).expect("readable artifact");
        let artifact = artifact::parse(&bytes.clone().into()).expect("valid artifact");
        let header = artifact.header;
        let load = median(|| drop(engine.load_file(path.as_ref()).expect("loads")), 51);
        let crc = median(
            || {
                std::hint::black_box(artifact::checksum(&bytes));
            },
            51,
        );
        let sha = median(
            || {
                std::hint::black_box(artifact::source_hash(&artifact.wasm));
            },
            51,
        );
        println!(
            "| {path} | {:.1} KiB | {:.1} KiB | {:.3} ms | {:.3} ms | {:.1} KiB | {:.3} ms |",
            (header.code.end - header.code.start) as f64 / 1024.0,
            bytes.len() as f64 / 1024.0,
            load.as_secs_f64() * 1e3,
            crc.as_secs_f64() * 1e3,
            artifact.wasm.len() as f64 / 1024.0,
            sha.as_secs_f64() * 1e3
        );
    }
}
