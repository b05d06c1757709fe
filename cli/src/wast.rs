//! `wasmtier wast`: run `.wast` conformance scripts on one engine.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use wasmtier_core::{EngineConfig, Features};
use wasmtier_spec_tests::{Kind, run_wast};

use crate::engines::EngineChoice;

#[derive(Args)]
pub struct WastArgs {
    /// Execution tier to test.
    #[arg(long, value_enum, default_value_t = EngineChoice::default_engine())]
    engine: EngineChoice,
    /// Proposals the scripts may use, comma-separated, on top of Wasm 2.0
    /// (e.g. `tail-call,memory64`; `all` for every one).
    #[arg(long, value_name = "LIST", default_value = "wasm2", value_parser = Features::parse_list)]
    features: Features,
    /// Show at most this many failures per file.
    #[arg(long, value_name = "N", default_value_t = 20)]
    max_failures: usize,
    /// The scripts to run.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Runs every script, prints per-file counts, and fails if any directive did.
pub fn wast(args: WastArgs) -> Result<ExitCode> {
    let engine = args.engine;
    let missing: Vec<&str> = args
        .features
        .enabled_names()
        .into_iter()
        .filter(|proposal| !engine.features().is_enabled(proposal))
        .collect();
    if !missing.is_empty() {
        let others = wasmtier_engines::running(&missing);
        bail!(
            "--features {}: the {engine} engine does not run {} (engines that do: {})",
            missing.join(","),
            missing.join(", "),
            if others.is_empty() {
                "none in this build".to_string()
            } else {
                others.join(", ")
            }
        );
    }
    let factory = move |config: EngineConfig| engine.create(config);
    let mut any_failed = false;
    for path in &args.files {
        let text = String::from_utf8(crate::input::read_module_file(path)?.into_vec())
            .with_context(|| format!("cannot read `{}`: a .wast script is text", path.display()))?;
        let name = path.display().to_string();
        let report = run_wast(&factory, &name, &text, args.features);
        let assertions = report.tallies.assertions();
        let all = report.tallies.all();
        let kinds: Vec<String> = Kind::ALL
            .into_iter()
            .map(|kind| (kind, report.tallies.get(kind)))
            .filter(|(_, tally)| tally.total() > 0)
            .map(|(kind, tally)| format!("{kind} {}/{}", tally.passed, tally.total()))
            .collect();
        println!(
            "{name}: {} passed, {} failed (assertions {}/{}; {})",
            all.passed,
            all.failed,
            assertions.passed,
            assertions.total(),
            kinds.join(", ")
        );
        if !report.passed() {
            any_failed = true;
            print!("{}", report.failure_list(args.max_failures));
        }
    }
    Ok(if any_failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
