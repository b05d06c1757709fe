//! Builds every workload twice: for wasm32-wasi with clang (Debian's clang,
//! lld, wasi-libc, libclang-rt-14-dev-wasm32) and natively with gcc, the
//! reference whose checksums every runtime must reproduce.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::large_module;
use crate::workloads::{WORKLOADS, Workload};

pub struct Built {
    pub wasm: PathBuf,
    pub native: Option<PathBuf>,
}

pub fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads")
}

pub fn build_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-build")
}

fn newer(output: &Path, input: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(output), modified(input)), (Some(o), Some(i)) if o >= i)
}

fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// Compiles `workload` (skipping outputs newer than their source).
pub fn build(workload: &Workload) -> Result<Built> {
    let dir = build_dir();
    std::fs::create_dir_all(&dir)?;
    let source = source_dir().join(format!("{}.c", workload.name));
    let wasm = dir.join(format!("{}.wasm", workload.name));
    if workload.wat {
        let text_source = source_dir().join(format!("{}.wat", workload.name));
        if !newer(&wasm, &text_source) {
            let bytes = wat::parse_file(&text_source)
                .with_context(|| format!("{} does not parse", text_source.display()))?;
            std::fs::write(&wasm, bytes)?;
        }
    } else if !newer(&wasm, &source) {
        run(
            Command::new("clang")
                .args(["--target=wasm32-wasi", "-O2"])
                .args(workload.wasm_flags)
                .arg("-o")
                .arg(&wasm)
                .arg(&source),
            &format!(
                "clang for {} (apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32)",
                workload.name
            ),
        )?;
    }
    let native = dir.join(format!("{}.native", workload.name));
    if !newer(&native, &source) {
        // -fno-math-errno: clang's wasm build has no errno around sqrt, so
        // plain -O2 would make the native reference look slower than it is.
        let built = run(
            Command::new("gcc")
                .args(["-O2", "-fno-math-errno", "-o"])
                .arg(&native)
                .arg(&source),
            &format!("gcc for {}", workload.name),
        );
        if let Err(err) = built {
            eprintln!("note: no native reference for {}: {err:#}", workload.name);
            return Ok(Built { wasm, native: None });
        }
    }
    Ok(Built {
        wasm,
        native: Some(native),
    })
}

pub fn build_all(only: &[String]) -> Result<Vec<(&'static Workload, Built)>> {
    WORKLOADS
        .iter()
        .filter(|w| only.is_empty() || only.iter().any(|o| o == w.name))
        .map(|w| Ok((w, build(w)?)))
        .collect()
}

/// The RSS-measuring launcher (see `measure::Probe`).
pub fn build_probe() -> Result<crate::measure::Probe> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/rss-probe.c");
    let launcher = build_dir().join("rss-probe");
    std::fs::create_dir_all(build_dir())?;
    if !newer(&launcher, &source) {
        run(
            Command::new("gcc")
                .args(["-O2", "-o"])
                .arg(&launcher)
                .arg(&source),
            "gcc for rss-probe",
        )?;
    }
    Ok(crate::measure::Probe {
        launcher,
        report: build_dir().join("rss-probe.report"),
    })
}

/// The generated large module, for compile throughput.
pub fn build_large_module(functions: usize) -> Result<PathBuf> {
    generated_module(functions, 1)
}

/// The generated huge module (a 100 MB-class program): `_start` calls one
/// function in a thousand, as a program runs a small part of its code.
pub fn build_huge_module(functions: usize) -> Result<PathBuf> {
    generated_module(functions, HUGE_CALL_EVERY)
}

/// `_start` of the huge module calls every this-many-th function.
pub const HUGE_CALL_EVERY: usize = 1000;

fn generated_module(functions: usize, call_every: usize) -> Result<PathBuf> {
    let name = match call_every {
        1 => format!("large-{functions}.wasm"),
        n => format!("huge-{functions}-every-{n}.wasm"),
    };
    let path = build_dir().join(name);
    if !path.exists() {
        std::fs::create_dir_all(build_dir())?;
        let text = large_module::generate(functions, call_every);
        let bytes = wat::parse_str(&text).context("the generated large module parses")?;
        std::fs::write(&path, bytes)?;
    }
    Ok(path)
}
