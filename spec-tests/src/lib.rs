//! Runs WebAssembly `.wast` scripts against any wasmtier [`Engine`].
//!
//! The harness knows nothing of a particular engine: it loads every module
//! through wasmtier's own loader ([`ValidatedModule::new`]) with the script's
//! feature set, hands it to the engine, and drives the instances through the
//! [`Store`] trait. `cargo test -p wasmtier-spec-tests` runs the official
//! suite with it, one test per (engine, file); the CLI's `wasmtier wast`
//! runs arbitrary scripts with it.
//!
//! Every directive of the spec interpreter's script format is handled:
//! `module` (text, `binary`, `quote`), `module definition` / `module
//! instance`, `register`, `invoke`, `get`, `assert_return` (NaN patterns,
//! `v128` lanes, `either`, references), `assert_trap` on calls and on
//! modules, `assert_exhaustion`, `assert_invalid`, `assert_malformed` and
//! `assert_unlinkable`, with the `spectest` host module defined in every
//! store.
//!
//! ```no_run
//! use wasmtier_core::{Engine, EngineConfig, Features};
//! # fn make_engine(_: EngineConfig) -> Box<dyn Engine> { unimplemented!() }
//!
//! let script = "(module (func (export \"f\") (result i32) i32.const 1))
//!               (assert_return (invoke \"f\") (i32.const 1))";
//! let report = wasmtier_spec_tests::run_wast(&make_engine, "inline.wast", script, Features::wasm2());
//! assert!(report.passed(), "{}", report.failure_list(20));
//! println!("{} assertions passed", report.tallies.assertions().passed);
//! ```
//!
//! [`ValidatedModule::new`]: wasmtier_core::ValidatedModule::new
//! [`Store`]: wasmtier_core::Store

mod directives;
mod report;
mod spectest;
mod values;

use wasmtier_core::{Engine, EngineConfig, Features};

pub use report::{Failure, FileReport, Kind, Summary, Tallies, Tally, render_summary};

/// Makes an engine from a configuration; one per execution tier.
pub type EngineFactory = fn(EngineConfig) -> Box<dyn Engine>;

/// Runs the script `text` (named `name` in messages) on a fresh engine made
/// by `factory` with exactly `features` enabled, and reports every
/// directive's outcome.
///
/// Modules are validated by wasmtier's loader with `features`, so a script
/// written for a proposal needs that proposal's flag.
pub fn run_wast(
    factory: &dyn Fn(EngineConfig) -> Box<dyn Engine>,
    name: &str,
    text: &str,
    features: Features,
) -> FileReport {
    let engine = factory(EngineConfig {
        features,
        ..EngineConfig::default()
    });
    run_wast_on(&*engine, name, text, features)
}

/// Runs the script `text` on an engine the caller configured (with fuel or
/// memory limits, say). Modules are validated with `features`, which must
/// be a subset of the engine's, or every module fails to compile.
///
/// The script gets one store of its own; nothing outlives the call.
pub fn run_wast_on(engine: &dyn Engine, name: &str, text: &str, features: Features) -> FileReport {
    directives::Runner::new(engine, name, text, features).run()
}
