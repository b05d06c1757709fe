//! Low-memory mode against every peer: peak RSS of a start-up, a 1 MiB
//! memory and a compute workload, with the interpreter-only small build
//! (`scripts/build-lowmem.py`) next to the default build's `--low-memory`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::build;
use crate::measure::{Contender, Probe};
use crate::report::Table;
use crate::runners::{self, Runner};
use crate::workloads::WORKLOADS;

/// (workload, label, arguments): small guests where the runtime's own
/// footprint shows.
const RUNS: &[(&str, &str, &[&str])] = &[
    ("hello", "hello (start-up)", &[]),
    ("sieve", "sieve 1 MiB (linear memory)", &["1048576", "1"]),
    ("fib", "fib (compute, calls)", &["30", "25"]),
];

/// Where `scripts/build-lowmem.py` leaves the small build; the plain
/// `--profile release-small` build is the fallback.
pub fn default_small_binary() -> PathBuf {
    let target = build::build_dir().join("..");
    let laid_out = target.join("x86_64-unknown-linux-gnu/release-small/wasmtier");
    if laid_out.exists() {
        laid_out
    } else {
        target.join("release-small/wasmtier")
    }
}

/// The markdown section; `small` is the interpreter-only build.
pub fn section(
    probe: &Probe,
    default_binary: &Path,
    small: &Path,
    peers: &[Runner],
    runs: usize,
) -> Result<String> {
    let mut out = String::from("## Low-memory mode: peak RSS (MiB)\n\n");
    let small_size = match std::fs::metadata(small) {
        Ok(meta) => meta.len() as f64 / (1024.0 * 1024.0),
        Err(_) => {
            writeln!(
                out,
                "Not measured: {} not found (run `python3 scripts/build-lowmem.py`).\n",
                small.display()
            )?;
            return Ok(out);
        }
    };
    writeln!(
        out,
        "`wasmtier run --low-memory` with the interpreter-only small build ({}, {small_size:.2} MiB; \
         made by `python3 scripts/build-lowmem.py`), with the default build, and every peer found, \
         measured in the same run. Peak RSS of the whole process (`ru_maxrss`), the largest of {runs} runs.\n",
        shown(small)
    )?;
    let mut all = vec![
        runners::low_memory_runner(small, "wasmtier low-memory (small build)"),
        runners::low_memory_runner(default_binary, "wasmtier low-memory (default build)"),
    ];
    all.extend(
        peers
            .iter()
            .filter(|r| r.is_peer && r.name != "wasmtime precompiled")
            .map(Runner::clone),
    );
    let mut table = Table::for_runners(&all);
    for (name, label, args) in RUNS {
        let Some(workload) = WORKLOADS.iter().find(|w| w.name == *name) else {
            continue;
        };
        let built = build::build(workload)?;
        let cells = crate::measure_row(probe, all.iter(), name, runs, |runner| {
            Contender::of(runner, &built.wasm, built.native.as_deref(), args, false)
        });
        table
            .rows
            .push((format!("{label} `{}`", args.join(" ")), cells));
    }
    writeln!(out, "{}", table.render_rss_precise())?;
    for failure in table.failures() {
        writeln!(out, "- {failure}")?;
    }
    Ok(out)
}

/// `path` relative to the workspace when it is inside it.
fn shown(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    match (path.canonicalize(), root.canonicalize()) {
        (Ok(path), Ok(root)) => match path.strip_prefix(&root) {
            Ok(inside) => inside.display().to_string(),
            Err(_) => path.display().to_string(),
        },
        _ => path.display().to_string(),
    }
}
