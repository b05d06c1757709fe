//! The benchmark harness: every workload on every wasmtier engine and every
//! peer found on this machine, as whole processes, in one run.
//!
//!     cargo build --release -p wasmtier-cli
//!     cargo run --release -p wasmtier-benches -- --write docs/benchmarks.md
//!     cargo run --release -p wasmtier-benches -- --smoke     # CI: checksums only

wasmtier_engines::with_aot! {
    mod aot_load;
}
wasmtier_engines::without_aot! {
    /// A host without the AOT tier has no artifacts to time.
    mod aot_load {
        pub fn table(_: &[(String, &std::path::Path)], _: &std::path::Path) -> anyhow::Result<String> {
            Ok(String::new())
        }
    }
}
mod build;
mod containerd;
mod gc;
mod in_process;
mod large_module;
mod lowmem;
mod measure;
mod report;
mod runners;
mod workloads;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};
use clap::Parser;

use crate::measure::{Contender, Probe, checksums};
use crate::report::{Row, Table};
use crate::runners::{NODE_SCRIPT, Runner, Tier};
use crate::workloads::Workload;

#[derive(Parser)]
#[command(about = "Benchmarks wasmtier's engines against peers and native code")]
struct Args {
    /// Run each workload once, small, on each wasmtier engine and check its
    /// checksums against native code (seconds; what CI runs).
    #[arg(long)]
    smoke: bool,
    /// Measured runs per (workload, runner); the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Only these workloads (comma-separated names).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Write the report (markdown) to this file, e.g. docs/benchmarks.md.
    #[arg(long)]
    write: Option<PathBuf>,
    /// The wasmtier binary (default: next to this harness).
    #[arg(long)]
    wasmtier: Option<PathBuf>,
    /// Functions in the generated large module.
    #[arg(long, default_value_t = 20000)]
    large_functions: usize,
    /// Functions in the generated huge module (0: leave it out).
    #[arg(long, default_value_t = 500_000)]
    huge_functions: usize,
    /// The interpreter-only small build for the low-memory section
    /// [default: what `scripts/build-lowmem.py` builds, else
    /// `target/release-small/wasmtier`].
    #[arg(long)]
    lowmem_wasmtier: Option<PathBuf>,
    /// Only the low-memory section (peak RSS of small guests); `--write`
    /// then writes just that section.
    #[arg(long)]
    low_memory_only: bool,
    /// Only the containerd shim's start-up section (root, containerd and
    /// the built shim needed); `--write` then writes just that section.
    #[arg(long)]
    containerd_only: bool,
    /// Only the garbage-collection section (binary-trees on the compiled
    /// tiers, wasmtime and native code); `--write` then writes just that.
    #[arg(long)]
    gc_only: bool,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn wasmtier_binary(given: Option<PathBuf>) -> Result<PathBuf> {
    let path = match given {
        Some(path) => path,
        None => std::env::current_exe()?.with_file_name("wasmtier"),
    };
    if !path.exists() {
        bail!(
            "{} not found: build it first with `cargo build --release -p wasmtier-cli`",
            path.display()
        );
    }
    Ok(path)
}

/// The engines the binary offers, from its `run --help`.
fn engines_of(binary: &Path) -> Result<Vec<String>> {
    let help = Command::new(binary).args(["run", "--help"]).output()?;
    let text = String::from_utf8_lossy(&help.stdout);
    let engines: Vec<String> = text
        .lines()
        .skip_while(|l| !l.contains("--engine"))
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with("--"))
        .filter_map(|l| {
            l.trim()
                .strip_prefix("- ")?
                .split(':')
                .next()
                .map(|s| s.trim().to_string())
        })
        .collect();
    if engines.is_empty() {
        bail!(
            "could not read the engine list from `{} run --help`",
            binary.display()
        );
    }
    Ok(engines)
}

fn scratch_dir(name: &str) -> Result<PathBuf> {
    let dir = build::build_dir().join("scratch").join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn run(args: Args) -> Result<ExitCode> {
    let binary = wasmtier_binary(args.wasmtier.clone())?;
    let engines = engines_of(&binary)?;
    let engine_refs: Vec<&str> = engines.iter().map(String::as_str).collect();
    let built = build::build_all(&args.only)?;
    let probe = build::build_probe()?;
    let ours = runners::wasmtier_runners(&binary, &engine_refs);
    if args.smoke {
        return smoke(&probe, &built, &ours);
    }

    if args.containerd_only {
        let markdown = section_report(
            "wasmtier under containerd: start-up",
            "Generated by `cargo run --release -p wasmtier-benches -- --containerd-only --write docs/benchmarks-containerd.md` (after `cargo build --release -p wasmtier-cli -p wasmtier-shim`, as root)",
            &containerd::section(args.runs.max(10)),
        );
        return publish(&markdown, args.write.as_deref());
    }

    let node_script = build::build_dir().join("node-wasi.mjs");
    std::fs::write(&node_script, NODE_SCRIPT)?;
    let mut notes = Vec::new();
    let mut all_runners = ours;
    all_runners.extend(runners::peer_runners(&node_script, &mut notes));
    let small = args
        .lowmem_wasmtier
        .clone()
        .unwrap_or_else(lowmem::default_small_binary);
    if args.low_memory_only {
        let section = lowmem::section(&probe, &binary, &small, &all_runners, args.runs)?;
        let markdown = section_report(
            "wasmtier low-memory footprint",
            "Generated by `cargo run --release -p wasmtier-benches -- --low-memory-only --write docs/benchmarks-lowmem.md`",
            &section,
        );
        return publish(&markdown, args.write.as_deref());
    }

    if args.gc_only {
        let (workload, built) = built
            .iter()
            .find(|(w, _)| w.name == "binarytrees")
            .context("the binarytrees workload was not built (check --only)")?;
        let runners = all_runners.iter().filter(|r| {
            r.runs(workload.proposals)
                && (r.tier == Tier::Native || r.name.starts_with("wasmtime") || !r.is_peer)
        });
        let row = measure_workload(&probe, runners, workload, built, args.runs);
        let markdown = section_report(
            "wasmtier garbage collection",
            "Generated by `cargo run --release -p wasmtier-benches -- --gc-only --only binarytrees --runs 10 --write docs/benchmarks-gc.md`",
            &gc::section(&row, workload.args, args.runs),
        );
        return publish(&markdown, args.write.as_deref());
    }

    let mut table = Table::for_runners(&all_runners);
    for (workload, built) in &built {
        let runners = all_runners.iter().filter(|r| r.runs(workload.proposals));
        let row = measure_workload(&probe, runners, workload, built, args.runs);
        table.rows.push((workload.name.to_string(), row));
    }
    let large = build::build_large_module(args.large_functions)?;
    let cells = measure_generated(
        &probe,
        all_runners.iter().filter(|r| r.name != "native"),
        &large,
        "large",
        args.runs.min(3),
    );
    table.rows.push((
        format!("large module ({} functions)", args.large_functions),
        cells,
    ));
    if args.huge_functions > 0 {
        let huge = build::build_huge_module(args.huge_functions)?;
        // Start-up of a program much bigger than what it runs: the lazy
        // tiers against Node's. Eager compilers (wasmtier jit and aot,
        // wasmtime) compile every function first, which takes minutes
        // here, and the interpreters are not what this row is about.
        let cells = measure_generated(
            &probe,
            all_runners
                .iter()
                .filter(|r| r.name == "wasmtier jit tiered" || r.name == "node"),
            &huge,
            "huge",
            args.runs,
        );
        table.rows.push((
            format!(
                "huge module ({} functions, {:.0} MB; `_start` calls 1 in {})",
                args.huge_functions,
                std::fs::metadata(&huge).map_or(0.0, |m| m.len() as f64 / 1e6),
                build::HUGE_CALL_EVERY
            ),
            cells,
        ));
    }

    let mut in_process = in_process_table(&built)?;
    in_process.push_str(&validation_table(&large, &built)?);
    {
        let mut modules = vec![(
            format!("large module ({} functions)", args.large_functions),
            large.as_path(),
        )];
        modules.extend(
            built
                .iter()
                .take(1)
                .map(|(w, b)| (w.name.to_string(), b.wasm.as_path())),
        );
        in_process.push_str(&aot_load::table(&modules, &scratch_dir("aot-load")?)?);
    }
    // The report ends with the low-memory and the containerd sections.
    let mut closing = lowmem::section(&probe, &binary, &small, &all_runners, args.runs)?;
    closing.push_str(&containerd::section(10));
    let markdown = render(&table, &in_process, &closing, &notes, &args);
    publish(&markdown, args.write.as_deref())
}

/// A report of one section alone (`--low-memory-only`, `--containerd-only`):
/// a title, how it was made, the date and machine, the section.
fn section_report(title: &str, generated_by: &str, section: &str) -> String {
    format!(
        "# {title}\n\n{generated_by}; do not edit by hand. The full report (`docs/benchmarks.md`) carries the same section.\n\n- date: {}\n- machine: {}\n\n{}",
        command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        command_output("uname", &["-srm"]),
        section.trim_start_matches('\n'),
    )
}

/// Prints the report, and writes it to `write` when given.
fn publish(markdown: &str, write: Option<&Path>) -> Result<ExitCode> {
    println!("{markdown}");
    if let Some(path) = write {
        std::fs::write(path, markdown)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// One workload's row: its built module (and native build) on each of
/// `runners`, with its arguments, `runs` times, interleaved.
fn measure_workload<'a>(
    probe: &Probe,
    runners: impl Iterator<Item = &'a Runner>,
    workload: &Workload,
    built: &build::Built,
    runs: usize,
) -> Row {
    measure_row(probe, runners, workload.name, runs, |runner| {
        Contender::of(
            runner,
            &built.wasm,
            built.native.as_deref(),
            workload.args,
            workload.needs_dir,
        )
    })
}

/// One row for a generated module (no arguments, no output to check):
/// each of `runners`, `runs` times, interleaved.
fn measure_generated<'a>(
    probe: &Probe,
    runners: impl Iterator<Item = &'a Runner>,
    module: &Path,
    name: &str,
    runs: usize,
) -> Row {
    measure_row(probe, runners, name, runs, |runner| {
        Contender::of(runner, module, None, &[], false)
    })
}

/// One row: the contenders `command` makes of `runners`, in interleaved
/// rounds (`measure::interleaved`), with native code's output as the
/// reference; a runner whose command could not be made (a peer's compiler
/// failed) gets that as its cell.
fn measure_row<'a>(
    probe: &Probe,
    runners: impl Iterator<Item = &'a Runner>,
    name: &str,
    runs: usize,
    command: impl Fn(&Runner) -> Result<Option<Contender>, String>,
) -> Row {
    let mut contenders = Vec::new();
    let mut unmade = Row::new();
    let mut reference = None;
    for runner in runners {
        match command(runner) {
            Ok(Some(contender)) => {
                if runner.tier == Tier::Native {
                    reference = Some(runner.name.clone());
                }
                contenders.push(contender);
            }
            Ok(None) => {}
            Err(why) => {
                unmade.insert(runner.name.clone(), Err(why));
            }
        }
    }
    let mut row = measure::interleaved(probe, &contenders, runs, reference.as_deref(), &|| {
        scratch_dir(name)
    });
    for (runner, cell) in &row {
        eprintln!(
            "{name:>10} {runner:>24}: {}",
            match cell {
                Ok(cell) => format!(
                    "{:.3} s, {:.1} MiB",
                    cell.median.as_secs_f64(),
                    cell.max_rss_kib as f64 / 1024.0
                ),
                Err(e) => format!("FAILED: {e}"),
            }
        );
    }
    row.extend(unmade);
    row
}

/// Each workload once, small, per engine; checksums must equal native's.
fn smoke(
    probe: &Probe,
    built: &[(&workloads::Workload, build::Built)],
    ours: &[Runner],
) -> Result<ExitCode> {
    let (mut failures, mut checked) = (0, 0);
    for (workload, built) in built {
        let native = built
            .native
            .as_ref()
            .context("smoke mode needs gcc for the native reference")?;
        let cwd = scratch_dir(workload.name)?;
        let expected = probe.run_once(
            native,
            &workload
                .smoke_args
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>(),
            &cwd,
        )?;
        let expected = checksums(&expected.stdout)
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>();
        // `auto` is the jit or aot run here already; its first run would
        // leave a cache-filling process behind per workload.
        for runner in ours
            .iter()
            .filter(|r| r.runs(workload.proposals) && r.warm_up_mode.is_none())
        {
            checked += 1;
            let Ok(Some((program, argv))) =
                runner.command(&built.wasm, None, workload.smoke_args, workload.needs_dir)
            else {
                unreachable!("wasmtier's runners have a command for every module")
            };
            let cwd = scratch_dir(workload.name)?;
            let verdict = match probe.run_once(&program, &argv, &cwd) {
                Ok(sample) if checksums(&sample.stdout) == expected => "ok".to_string(),
                Ok(sample) => format!(
                    "MISMATCH: {:?} vs native {expected:?}",
                    checksums(&sample.stdout)
                ),
                Err(err) => format!("FAILED: {err:#}"),
            };
            if verdict != "ok" {
                failures += 1;
            }
            println!(
                "smoke {:>10} on {:<16} {verdict}",
                workload.name, runner.name
            );
        }
    }
    println!("smoke: {} passed, {failures} failed", checked - failures);
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn in_process_table(built: &[(&workloads::Workload, build::Built)]) -> Result<String> {
    let mut out = String::from(
        "| workload | engine | load+validate | compile | instantiate | run |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    let ms = |d: std::time::Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
    for (name, engine) in in_process::engines() {
        for (workload, built) in built {
            // A wasi-threads program needs the CLI's thread set-up (its
            // shared memory, `thread-spawn`): measured as a whole run only.
            if !wasmtier_engines::running(workload.proposals).contains(&name)
                || workload.proposals.contains(&"threads")
            {
                continue;
            }
            let scratch = scratch_dir(workload.name)?;
            let dir = workload.needs_dir.then_some(scratch.as_path());
            match in_process::measure(engine.as_ref(), &built.wasm, workload.args, dir) {
                Ok(p) => writeln!(
                    out,
                    "| {} | {name} | {} | {} | {} | {} |",
                    workload.name,
                    ms(p.load),
                    ms(p.compile),
                    ms(p.instantiate),
                    ms(p.run)
                )?,
                Err(err) => writeln!(
                    out,
                    "| {} | {name} | failed: {err:#} | | | |",
                    workload.name
                )?,
            }
        }
    }
    Ok(out)
}

/// wasmi validating by itself against our loader plus unchecked handover.
fn validation_table(
    large: &Path,
    built: &[(&workloads::Workload, build::Built)],
) -> Result<String> {
    let mut out = String::from(
        "\n### Validation: wasmi's own vs wasmtier's loader + unchecked handover (median of 5)\n\n\
         | module | size | wasmi::Module::new | wasmtier load | InterpEngine::compile | saved |\n\
         | --- | --- | --- | --- | --- | --- |\n",
    );
    let ms = |d: std::time::Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
    // wasmi validates plain Wasm 2.0 modules here (with our default set).
    let candidates = built
        .iter()
        .filter(|(w, _)| w.proposals.is_empty())
        .map(|(w, b)| (w.name.to_string(), b.wasm.clone()));
    for (name, path) in
        std::iter::once(("large module".to_string(), large.to_path_buf())).chain(candidates.take(3))
    {
        let (checked, load, unchecked) = in_process::validation_cost(&path, 5)?;
        let size = std::fs::metadata(&path)?.len();
        let saved = checked.as_secs_f64() - unchecked.as_secs_f64();
        writeln!(
            out,
            "| {name} | {:.0} KiB | {} | {} | {} | {:.2} ms |",
            size as f64 / 1024.0,
            ms(checked),
            ms(load),
            ms(unchecked),
            saved * 1e3
        )?;
    }
    Ok(out)
}

fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "not found".into())
}

fn render(
    table: &Table,
    in_process: &str,
    low_memory: &str,
    notes: &[String],
    args: &Args,
) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let mut out = String::new();
    writeln!(out, "# wasmtier benchmarks\n").unwrap();
    writeln!(out, "Generated by `cargo run --release -p wasmtier-benches -- --write docs/benchmarks.md` (after `cargo build --release -p wasmtier-cli`); do not edit by hand.\n").unwrap();
    writeln!(
        out,
        "- date: {}",
        command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
    )
    .unwrap();
    writeln!(
        out,
        "- machine: {cpu}, {} cores, {}",
        command_output("nproc", &[]),
        command_output("uname", &["-sm"])
    )
    .unwrap();
    writeln!(
        out,
        "- wasmtier {} · {} · {} · WAMR {} (fast interpreter, and `wamrc --opt-level=3 --enable-multi-thread` on LLVM 19; built from source with wasi-threads) · node {} · {}",
        env!("CARGO_PKG_VERSION"),
        command_output("wasmtime", &["--version"]),
        command_output("wasmi", &["--version"]),
        command_output("iwasm", &["--version"])
            .lines()
            .next()
            .unwrap_or("")
            .trim_start_matches("iwasm "),
        command_output("node", &["--version"]),
        command_output("gcc", &["--version"])
            .lines()
            .next()
            .unwrap_or("")
    )
    .unwrap();
    writeln!(out, "- {} runs per cell in interleaved rounds (each round runs every runner once, starting from a different one), median wall time of the whole process in seconds; ratios are taken round by round (the median, and in brackets the range over rounds), and compare each wasmtier engine with the fastest peer of its tier (interpreter: wasmi, wasm3, WAMR's interpreter; compiled: wasmtime, node; precompiled: wasmtime's and WAMR's AOT) and with native `gcc -O2 -fno-math-errno`; below 1.00× is faster.\n", args.runs).unwrap();
    writeln!(
        out,
        "## Workloads\n\n| workload | stresses | arguments |\n| --- | --- | --- |"
    )
    .unwrap();
    for w in workloads::WORKLOADS
        .iter()
        .filter(|w| args.only.is_empty() || args.only.iter().any(|o| o == w.name))
    {
        writeln!(
            out,
            "| {} | {} | `{}` |",
            w.name,
            w.stresses,
            w.args.join(" ")
        )
        .unwrap();
    }
    writeln!(
        out,
        "| large module | compile throughput: {} generated functions, `_start` calls each once | |",
        args.large_functions
    )
    .unwrap();
    writeln!(out, "| huge module | start-up of a 100 MB-class program: {} generated functions, `_start` calls 1 in {} (run by the lazy tiers and node only: eager compilers take minutes) | |\n", args.huge_functions, build::HUGE_CALL_EVERY).unwrap();
    writeln!(out, "## Binary sizes\n").unwrap();
    for (what, path) in [
        (
            "default build (`cargo build --release -p wasmtier-cli`: line tables in the binary, the rest in `wasmtier.dwp`)",
            build::build_dir().join("../release/wasmtier"),
        ),
        (
            "shipped build (`scripts/dist.sh`: the default build without DWARF, symbols kept)",
            build::build_dir().join("../dist/wasmtier"),
        ),
        (
            "its split-out debug information (`target/dist/wasmtier.debug`)",
            build::build_dir().join("../dist/wasmtier.debug"),
        ),
        (
            "interp-only size build (`cargo build --profile release-small -p wasmtier-cli --no-default-features --features interp`)",
            build::build_dir().join("../release-small/wasmtier"),
        ),
        (
            "interp-only small build, static and laid out (`python3 scripts/build-lowmem.py`)",
            build::build_dir().join("../x86_64-unknown-linux-gnu/release-small/wasmtier"),
        ),
        (
            "interp-only small build for a 64-bit Pi (`xcargo aarch64 build --profile release-small -p wasmtier-cli --no-default-features --features interp`, scripts/cross.sh)",
            build::build_dir().join("../cross/aarch64-unknown-linux-gnu/release-small/wasmtier"),
        ),
        (
            "interp-only small build for a 32-bit Pi (`xcargo armv7 build --profile release-small …`)",
            build::build_dir()
                .join("../cross/armv7-unknown-linux-gnueabihf/release-small/wasmtier"),
        ),
    ] {
        match std::fs::metadata(&path) {
            Ok(meta) => writeln!(
                out,
                "- {what}: {:.2} MiB",
                meta.len() as f64 / (1024.0 * 1024.0)
            )
            .unwrap(),
            Err(_) => writeln!(out, "- {what}: not built").unwrap(),
        }
    }
    writeln!(out).unwrap();
    writeln!(out, "## Wall time (s)\n\n{}", table.render_times()).unwrap();
    let compute: Vec<&str> = workloads::WORKLOADS
        .iter()
        .filter(|w| w.is_compute())
        .map(|w| w.name)
        .collect();
    writeln!(
        out,
        "## Geometric means\n\nRound by round; a ratio below 1.00× is wasmtier's engine faster.\n\n### Compute workloads\n\nThe workloads without start-up, I/O or a proposal some peers lack ({}): the measure of the code the compilers make.\n\n{}\n### Every workload with a native build\n\nThe above plus hello, fileio and the proposal workloads (exceptions, GC, threads), where a peer may do different work (wasmtime unwinds an exception through a slower path; peers without a proposal are missing); the generated modules are start-up rows, above.\n\n{}",
        compute.join(", "),
        table.render_geometric_means(|w| compute.contains(&w)),
        table.render_geometric_means(|_| true)
    )
    .unwrap();
    writeln!(out, "## Peak RSS (MiB)\n\n{}", table.render_rss()).unwrap();
    writeln!(out, "{low_memory}").unwrap();
    writeln!(
        out,
        "## In-process phases (one run, guest output discarded)\n\n{in_process}"
    )
    .unwrap();
    let failures = table.failures();
    if !notes.is_empty() || !failures.is_empty() {
        writeln!(out, "## Notes\n").unwrap();
        for note in notes.iter().chain(&failures) {
            writeln!(out, "- {note}").unwrap();
        }
    }
    out
}
