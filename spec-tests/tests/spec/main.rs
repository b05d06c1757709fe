//! The official WebAssembly test suite against every engine: one trial per
//! (engine, file), named `engine::suite::file.wast`, then a summary per
//! engine and suite.
//!
//! `cargo test -p wasmtier-spec-tests --release -- interp::simd` runs a
//! subset; `-- --list` lists the trials.

mod expectations;
mod suites;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use libtest_mimic::{Arguments, Failed, Trial};
use wasmtier_core::{Compilation, EngineConfig, EngineKind};
use wasmtier_engines::{ENGINES, EngineInfo};
use wasmtier_spec_tests::{FileReport, Summary, render_summary, run_wast};

// Every engine of the registry (`wasmtier-engines`) this build has runs the
// suite; an engine's known gaps are its entries in `expectations.txt`. The
// aot engine compiles each module to an artifact file, maps it back and
// runs it.

const EXPECTATIONS: &str = include_str!("../../expectations.txt");

/// How many failures a failing trial prints.
const SHOWN_FAILURES: usize = 40;

type Reports = Arc<Mutex<Vec<(usize, &'static str, usize, FileReport)>>>;

fn main() {
    let args = Arguments::from_args();
    let expectations = match expectations::parse(EXPECTATIONS) {
        Ok(entries) => Arc::new(entries),
        Err(e) => {
            eprintln!("expectations.txt: {e}");
            std::process::exit(2);
        }
    };
    let suites = suites::all();
    let reports: Reports = Arc::default();
    let mut trials = Vec::new();
    let mut names = Vec::new();
    for (engine_index, (engine, info, compilation)) in configurations().into_iter().enumerate() {
        let factory = move |config: EngineConfig| {
            info.create(EngineConfig {
                compilation,
                ..config
            })
        };
        for (suite_index, suite) in suites.iter().enumerate() {
            for file in &suite.files {
                // An engine runs the files of the proposals it has; the
                // CLI's tests check that it refuses the others by name.
                if file.features.intersect(info.features) != file.features {
                    continue;
                }
                let name = format!("{engine}::{}::{}", suite.name, file.name);
                let expected = expectations
                    .iter()
                    .position(|e| e.line().is_none() && e.matches(&name));
                let directives: Vec<usize> = expectations
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.line().is_some() && e.matches(&name))
                    .map(|(i, _)| i)
                    .collect();
                names.push(name.clone());
                let expectations = expectations.clone();
                let reports = reports.clone();
                let (features, suite_name) = (file.features, suite.name);
                let (file_name, text) = (file.name.clone(), file.text);
                trials.push(Trial::test(name, move || {
                    let mut report = run_wast(&factory, &file_name, text, features);
                    let listed: Vec<_> = directives.iter().map(|&i| &expectations[i]).collect();
                    let outcome = excuse_listed_directives(&mut report, &listed)
                        .and_then(|()| judge(&report, expected.map(|i| &expectations[i])));
                    reports
                        .lock()
                        .expect("a trial panicked while holding the report list")
                        .push((engine_index, suite_name, suite_index, report));
                    outcome
                }));
            }
        }
    }
    // Directive entries name a file for every engine: they are checked
    // against the suite's files, which an interp-only build has too, not
    // against this build's trials.
    let files: Vec<String> = suites
        .iter()
        .flat_map(|suite| {
            suite
                .files
                .iter()
                .map(move |f| format!("any::{}::{}", suite.name, f.name))
        })
        .collect();
    trials.push(stale_entries_trial(&expectations, &names, &files));

    let conclusion = libtest_mimic::run(&args, trials);
    if !args.list {
        print_summary(&reports.lock().expect("all trials finished"));
    }
    conclusion.exit();
}

/// What runs the suite: every engine of the registry, and the JIT three
/// times more: compiling concurrently (the CLI's jit default: background
/// threads compile while the script runs), and lazily, tiered with
/// tier-up forced after one call or loop iteration (baseline and
/// optimized code mixed, swapped while running), and baseline code only
/// (never tiering up).
fn configurations() -> Vec<(&'static str, &'static EngineInfo, Compilation)> {
    let mut all = Vec::new();
    for info in ENGINES {
        all.push((info.name(), info, Compilation::Eager));
        if info.kind == EngineKind::Jit {
            all.push(("jit-concurrent", info, Compilation::Concurrent));
            all.push((
                "jit-tiered",
                info,
                Compilation::Tiered {
                    tier_up_after: Some(1),
                    background: false,
                },
            ));
            all.push((
                "jit-baseline",
                info,
                Compilation::Tiered {
                    tier_up_after: None,
                    background: false,
                },
            ));
        }
    }
    all
}

/// A trial passes when its file passed and is not listed, or failed and is.
fn judge(report: &FileReport, expected: Option<&expectations::Entry>) -> Result<(), Failed> {
    match (report.passed(), expected) {
        (true, None) => Ok(()),
        (false, Some(_)) => Ok(()),
        (true, Some(entry)) => Err(format!(
            "passed, but expectations.txt lists it as failing (`{}`: {}); remove the entry",
            entry.pattern(),
            entry.reason
        )
        .into()),
        (false, None) => Err(format!(
            "{} of {} directives failed:\n{}",
            report.failures.len(),
            report.tallies.all().total(),
            report.failure_list(SHOWN_FAILURES)
        )
        .into()),
    }
}

/// Drops the failures of the directives `listed` names from `report`;
/// fails if one of them passed (its entry is stale).
fn excuse_listed_directives(
    report: &mut FileReport,
    listed: &[&expectations::Entry],
) -> Result<(), Failed> {
    for entry in listed {
        let line = entry.line().expect("directive entries have a line");
        let before = report.failures.len();
        report.failures.retain(|f| f.line != line);
        if report.failures.len() == before {
            return Err(format!(
                "the directive at line {line} passed, but expectations.txt lists it as \
                 failing (`{}:{line}`: {}); remove the entry",
                entry.pattern(),
                entry.reason
            )
            .into());
        }
    }
    Ok(())
}

/// Fails when an expectations entry names no trial (a renamed file, say).
fn stale_entries_trial(
    entries: &Arc<Vec<expectations::Entry>>,
    names: &[String],
    files: &[String],
) -> Trial {
    let stale: Vec<String> = entries
        .iter()
        .filter(|e| {
            let known = if e.names_a_file() { files } else { names };
            !known.iter().any(|n| e.matches(n))
        })
        .map(|e| e.pattern().to_string())
        .collect();
    Trial::test("expectations::every-entry-names-a-trial", move || {
        if stale.is_empty() {
            Ok(())
        } else {
            Err(format!("entries matching no trial: {}", stale.join(", ")).into())
        }
    })
}

fn print_summary(reports: &[(usize, &'static str, usize, FileReport)]) {
    if reports.is_empty() {
        return;
    }
    // (engine, suite order) → (suite name, totals)
    let mut groups: BTreeMap<(usize, usize), (&str, Summary)> = BTreeMap::new();
    let mut engines: BTreeMap<usize, Summary> = BTreeMap::new();
    for (engine, suite, suite_index, report) in reports {
        groups
            .entry((*engine, *suite_index))
            .or_insert_with(|| (suite, Summary::default()))
            .1
            .add(report);
        engines.entry(*engine).or_default().add(report);
    }
    let mut rows: Vec<(String, Summary)> = Vec::new();
    let names: Vec<&str> = configurations().iter().map(|c| c.0).collect();
    for ((engine, _), (suite, summary)) in groups {
        rows.push((format!("{} {suite}", names[engine]), summary));
    }
    for (engine, summary) in engines {
        rows.push((format!("{} TOTAL", names[engine]), summary));
    }
    println!("\nspec-test summary (passed/failed per kind):");
    print!("{}", render_summary(&rows));
}
