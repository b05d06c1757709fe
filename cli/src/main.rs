//! `wasmtier`: run, validate and test WebAssembly modules.

mod compile;
mod engines;
#[cfg(wasmtier_aot)]
mod fill_cache;
mod input;
#[cfg(wasmtier_aot)]
mod inspect;
mod phases;
mod profile;
mod progress;
mod run;
mod shell;
mod threads;
mod units;
mod values;
mod wasmtime_opts;
#[cfg(feature = "wast")]
mod wast;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{CommandFactory, Parser, Subcommand};
use wasmtier_core::{Features, ValidatedModule};

use crate::run::RunArgs;
#[cfg(feature = "wast")]
use crate::wast::WastArgs;

#[derive(Parser)]
#[command(
    name = "wasmtier",
    version,
    about = "A WebAssembly runtime with an interpreter, a JIT and an AOT tier"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size of `RunArgs` does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run a WebAssembly module (binary or text): its `_start`, or `--invoke` an export.
    #[command(after_help = run::ARGUMENT_RULE)]
    Run(RunArgs),
    /// Validate a module and report the first error with its byte offset.
    Validate {
        /// The module to check (`.wasm` or `.wat`).
        file: PathBuf,
    },
    /// Run `.wast` spec scripts and report per-file pass/fail counts.
    #[cfg(feature = "wast")]
    Wast(WastArgs),
    /// Compile a module ahead of time into a `.cwasm` artifact for `run`.
    #[cfg(wasmtier_aot)]
    Compile(compile::CompileArgs),
    /// Describe a `.cwasm` artifact: its header, functions and sizes.
    #[cfg(wasmtier_aot)]
    Inspect(inspect::InspectArgs),
    /// Compile a module into the AOT cache (what `run --engine auto`
    /// starts in the background).
    #[cfg(wasmtier_aot)]
    #[command(hide = true)]
    FillCache(fill_cache::FillCacheArgs),
    /// Print a shell completion script, e.g. `wasmtier completions bash >
    /// /etc/bash_completion.d/wasmtier`.
    Completions(shell::CompletionsArgs),
    /// Print a man page (roff), e.g. `wasmtier man | man -l -`.
    Man(shell::ManArgs),
}

/// Guests on the interpreter must never see freed host memory, even through
/// a wasmi bug not yet worked around (engine-interp's `zeroing.rs`).
#[cfg(feature = "interp")]
#[global_allocator]
static ALLOCATOR: wasmtier_engines::interp::ZeroingAllocator =
    wasmtier_engines::interp::ZeroingAllocator;

/// Exit status for a trap, as for a process killed by SIGABRT.
pub const TRAP_EXIT_STATUS: u8 = 134;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version go to stdout with status 0; usage errors are
            // user errors, status 1.
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let outcome = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Validate { file } => validate(&file).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "wast")]
        Command::Wast(args) => wast::wast(args),
        #[cfg(wasmtier_aot)]
        Command::Compile(args) => compile::compile(args).map(|()| ExitCode::SUCCESS),
        #[cfg(wasmtier_aot)]
        Command::Inspect(args) => inspect::inspect(args).map(|()| ExitCode::SUCCESS),
        #[cfg(wasmtier_aot)]
        Command::FillCache(args) => fill_cache::fill_cache(args).map(|()| ExitCode::SUCCESS),
        Command::Completions(args) => {
            shell::completions(args, Cli::command()).map(|()| ExitCode::SUCCESS)
        }
        Command::Man(args) => shell::man(args, Cli::command()).map(|()| ExitCode::SUCCESS),
    };
    outcome.unwrap_or_else(|err| {
        eprintln!("error: {err:#}");
        ExitCode::from(1)
    })
}

/// Reads a module from disk and validates it with `features`.
pub fn load_module(path: &Path, features: Features) -> Result<ValidatedModule> {
    let _spinner = progress::Spinner::start(format!("reading and validating {}", path.display()));
    let bytes = input::read_module_file(path)?;
    module_from_file_bytes(path, bytes, features)
}

/// Validates `bytes`, read from `path`, with `features`.
pub fn module_from_file_bytes(
    path: &Path,
    bytes: wasmtier_core::input::FileBytes,
    features: Features,
) -> Result<ValidatedModule> {
    if compile::is_artifact_prefix(&bytes) {
        bail!(
            "`{}` is a precompiled artifact (`wasmtier compile` output), not a module: run it with `wasmtier run --allow-precompiled`",
            path.display()
        );
    }
    ValidatedModule::from_owned_or_text(bytes, features)
        .with_context(|| format!("failed to load `{}`", path.display()))
}

fn validate(path: &Path) -> Result<()> {
    let module = load_module(path, Features::all())?;
    println!(
        "{}: valid ({} functions, {} imports, {} exports)",
        path.display(),
        module.num_funcs(),
        module.imports().len(),
        module.exports().len()
    );
    Ok(())
}
