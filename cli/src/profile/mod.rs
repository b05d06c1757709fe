//! `run --profile`: tell `perf` the names of the module's functions, which
//! it would otherwise show as raw addresses in anonymous memory.
//!
//! - `perfmap` writes `/tmp/perf-<pid>.map`, one `START SIZE name` line (hex)
//!   per function, which `perf report` reads by itself.
//! - `jitdump` writes `jit-<pid>.dump` in the current directory, in the
//!   format `perf inject --jit` reads: each function's name, address and
//!   code bytes (`jitdump.rs`).
//!
//! Names come from the module's name section, else `wasm[N]` for function
//! index N. Only tiers that run machine code of their own can be profiled
//! this way: the JIT and the AOT tier (fresh, cached or a `.cwasm` file).
//! With lazy or tiered compilation each function is added as it is
//! compiled, and a tiered module's other versions are named for what they
//! are (`fib [baseline]`, `main [entry at loop 2]`; its optimized code is
//! plain `fib`).

use clap::ValueEnum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileKind {
    /// `/tmp/perf-<pid>.map`, for `perf report`.
    Perfmap,
    /// `./jit-<pid>.dump` with code bytes, for `perf inject --jit`.
    Jitdump,
}

#[cfg(wasmtier_jit)]
mod jitdump;
#[cfg(wasmtier_jit)]
mod write;
#[cfg(wasmtier_jit)]
pub use write::record;

/// What was written before the run; it also holds the writer (for
/// jitdump, the mapping of the file that `perf record` must see), so keep
/// it until the guest has finished.
pub struct Profile {
    pub path: std::path::PathBuf,
    /// Functions written before the run.
    pub functions: usize,
    /// Where the module's code was then.
    pub code: std::ops::Range<usize>,
    /// Functions are compiled, and written, while the program runs.
    pub lazy: bool,
    #[cfg(wasmtier_jit)]
    recorder: std::sync::Arc<std::sync::Mutex<write::Recorder>>,
}

impl Profile {
    /// Function versions written so far.
    pub fn written(&self) -> u64 {
        #[cfg(wasmtier_jit)]
        return self
            .recorder
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .written();
        #[cfg(not(wasmtier_jit))]
        0
    }
}

/// Without the JIT in this build there is nothing to profile: `run`
/// refuses `--profile` on every engine it has before calling this.
#[cfg(not(wasmtier_jit))]
pub fn record(
    kind: ProfileKind,
    _compiled: &dyn wasmtier_core::CompiledModule,
) -> anyhow::Result<Profile> {
    anyhow::bail!("--profile={kind:?}: this build has no engine that runs machine code")
}

#[cfg_attr(not(wasmtier_jit), allow(dead_code))]
/// A function's name for a profiler: its name-section name (control
/// characters replaced, since both formats end a name at a newline or NUL),
/// else `wasm[N]`.
pub fn function_name(module: &wasmtier_core::ValidatedModule, index: u32) -> String {
    match module.func_name(index) {
        Some(name) if !name.is_empty() => name
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect(),
        _ => format!("wasm[{index}]"),
    }
}
