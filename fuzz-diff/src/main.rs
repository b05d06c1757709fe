//! The long differential run: `cargo run --release -p wasmtier-fuzz-diff --
//! [--seconds N | --seeds START..END] [--loader]`.
//!
//! Seeds are consecutive from START (default 0, or a clock-derived start
//! with `--seconds`, printed so the run can be replayed). Every divergence
//! or loader panic is written to `fuzz-diff/found/` and ends the run with
//! status 1, and so does a seed that runs for longer than [`HANG_LIMIT`].

use std::ops::Range;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use wasmtier_fuzz_diff::diff::{self, Verdict};
use wasmtier_fuzz_diff::{Rng, generate, mutate};

struct Options {
    seeds: Option<Range<u64>>,
    seconds: Option<u64>,
    loader: bool,
}

fn parse() -> Result<Options, String> {
    let mut options = Options {
        seeds: None,
        seconds: None,
        loader: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seeds" => {
                let value = args.next().ok_or("--seeds needs START..END")?;
                let (start, end) = value.split_once("..").ok_or("--seeds START..END")?;
                let number = |s: &str| s.parse::<u64>().map_err(|e| format!("{s}: {e}"));
                options.seeds = Some(number(start)?..number(end)?);
            }
            "--seconds" => {
                let value = args.next().ok_or("--seconds needs N")?;
                options.seconds = Some(value.parse().map_err(|e| format!("{value}: {e}"))?);
            }
            "--loader" => options.loader = true,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(options)
}

/// As in the CLI: the interpreter's guests never see freed host memory.
#[global_allocator]
static ALLOCATOR: wasmtier_engine_interp::ZeroingAllocator =
    wasmtier_engine_interp::ZeroingAllocator;

fn main() -> ExitCode {
    let options = match parse() {
        Ok(options) => options,
        Err(err) => {
            eprintln!(
                "error: {err}\nusage: wasmtier-fuzz-diff [--seconds N | --seeds START..END] [--loader]"
            );
            return ExitCode::from(2);
        }
    };
    let start_seed = match (&options.seeds, options.seconds) {
        (Some(range), _) => range.start,
        (None, Some(_)) => SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() << 20),
        (None, None) => 0,
    };
    let end_seed = options.seeds.as_ref().map_or(u64::MAX, |r| r.end);
    let deadline = options
        .seconds
        .map(|s| Instant::now() + Duration::from_secs(s));
    println!(
        "engines: {:?}; seeds from {start_seed}",
        wasmtier_engines::names()
    );
    // The edges generated modules avoid, once per run.
    let findings = wasmtier_fuzz_diff::edges::check_all();
    if !findings.is_empty() {
        eprintln!("edge cases failed:\n{}", findings.join("\n"));
        return ExitCode::from(1);
    }
    println!("edge cases: all engines hold");
    let started = Instant::now();
    let mut counts = Counts::default();
    let mut seed = start_seed;
    let progress = watch_for_hangs(started);
    while seed < end_seed && deadline.is_none_or(|d| Instant::now() < d) {
        progress.start(seed, started);
        let bytes = generate::from_seed(seed);
        let fuel = fuel_for(seed);
        if !counts.record_diff(seed, &bytes, diff::check(&bytes, fuel)) {
            return ExitCode::FAILURE;
        }
        if options.loader && !counts.loader(seed, &bytes) {
            return ExitCode::FAILURE;
        }
        seed += 1;
        if (seed - start_seed).is_multiple_of(1000) {
            counts.print(seed, started.elapsed());
        }
    }
    counts.print(seed, started.elapsed());
    ExitCode::SUCCESS
}

/// A seed (its module and its mutants) that runs longer than this is a
/// finding: every engine runs with fuel or a loop budget, so a module that
/// does not end is a bug, in an engine or in this harness.
const HANG_LIMIT: Duration = Duration::from_secs(120);

/// The seed being run and when it started (seconds into the run).
#[derive(Default)]
struct Progress {
    seed: AtomicU64,
    started_at: AtomicU64,
}

impl Progress {
    fn start(&self, seed: u64, run_started: Instant) {
        self.started_at
            .store(run_started.elapsed().as_secs(), Ordering::Relaxed);
        self.seed.store(seed, Ordering::Relaxed);
    }
}

/// Starts a thread that ends the process (status 1, naming the seed) when
/// one seed has been running for longer than [`HANG_LIMIT`].
fn watch_for_hangs(run_started: Instant) -> Arc<Progress> {
    let progress = Arc::new(Progress::default());
    let watched = progress.clone();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(5));
            let seed = watched.seed.load(Ordering::Relaxed);
            let started_at = watched.started_at.load(Ordering::Relaxed);
            let running = run_started.elapsed().as_secs().saturating_sub(started_at);
            if running > HANG_LIMIT.as_secs() {
                eprintln!("seed {seed}: HANG: still running after {running} s");
                std::process::exit(1);
            }
        }
    });
    progress
}

/// Engine fuel for loader mutants, which may no longer terminate.
const MUTANT_FUEL: u64 = 50_000_000;

/// Even seeds run with engine fuel (metered code), odd ones without.
pub fn fuel_for(seed: u64) -> Option<u64> {
    seed.is_multiple_of(2).then_some(50_000_000)
}

#[derive(Default)]
struct Counts {
    modules: u64,
    rejected: u64,
    steps: u64,
    mutants: u64,
    mutants_valid: u64,
    upstream_panics: u64,
}

impl Counts {
    fn print(&self, next_seed: u64, elapsed: Duration) {
        println!(
            "{:>8.1}s  next seed {next_seed}: {} modules agreed ({} calls compared), {} rejected, {} contained wasmi panics; {} loader mutants ({} valid)",
            elapsed.as_secs_f64(),
            self.modules,
            self.steps,
            self.rejected,
            self.upstream_panics,
            self.mutants,
            self.mutants_valid
        );
    }

    fn record_diff(&mut self, seed: u64, bytes: &[u8], verdict: Verdict) -> bool {
        match verdict {
            Verdict::Agree { steps } => {
                self.modules += 1;
                self.steps += steps as u64;
                true
            }
            Verdict::Rejected(why) => {
                self.rejected += 1;
                eprintln!("seed {seed}: loader refused the generated module: {why}");
                true
            }
            upstream @ Verdict::UpstreamPanicContained { .. } => {
                // Kept for the upstream report; the run goes on.
                self.upstream_panics += 1;
                let path = save(&format!("upstream-{seed}.wasm"), bytes);
                eprintln!("seed {seed}: {upstream} ({})", path.display());
                true
            }
            failure => {
                let path = save(&format!("fail-{seed}.wasm"), bytes);
                eprintln!(
                    "seed {seed}: FAILURE (module saved to {})\n{failure}",
                    path.display()
                );
                false
            }
        }
    }

    fn loader(&mut self, seed: u64, bytes: &[u8]) -> bool {
        let mut rng = Rng::new(seed ^ 0x5eed);
        for _ in 0..8 {
            let mutant = mutate::mutate(bytes, &mut rng);
            self.mutants += 1;
            match mutate::load(&mutant) {
                Ok(mutate::LoadOutcome::Refused(err)) if !mutate::names_an_offset(&err) => {
                    let path = save(&format!("no-offset-{seed}.wasm"), &mutant);
                    eprintln!(
                        "seed {seed}: error without offset: {err} ({})",
                        path.display()
                    );
                    return false;
                }
                Ok(mutate::LoadOutcome::Valid(_)) => {
                    self.mutants_valid += 1;
                    // A mutant that still validates must run without
                    // crashing anywhere (its results may differ from the
                    // original's, not between engines). Always with engine
                    // fuel: a mutation can break the loop budget
                    // `ensure_termination` added, and the mutant then loops
                    // forever (found: a long run stuck for 25 minutes).
                    let verdict = diff::check(&mutant, Some(MUTANT_FUEL));
                    if verdict.is_failure() {
                        let path = save(&format!("fail-mutant-{seed}.wasm"), &mutant);
                        eprintln!(
                            "seed {seed}: FAILURE on a mutant ({})\n{verdict}",
                            path.display()
                        );
                        return false;
                    }
                }
                Ok(mutate::LoadOutcome::Refused(_)) => {}
                Err(panic) => {
                    let path = save(&format!("panic-{seed}.wasm"), &mutant);
                    eprintln!("seed {seed}: LOADER PANIC: {panic} ({})", path.display());
                    return false;
                }
            }
        }
        true
    }
}

fn save(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("found");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(name);
    let _ = std::fs::write(&path, bytes);
    path
}
