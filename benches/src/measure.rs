//! Runs a whole process and measures its wall time and peak RSS.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::report::{Cell, Row};
use crate::runners::{Runner, Tier};

pub struct Sample {
    pub wall: Duration,
    /// Peak resident set size in KiB, from the kernel's rusage of the child.
    pub max_rss_kib: u64,
    pub stdout: String,
}

/// Launches measured processes through `tools/rss-probe.c`, a tiny C
/// launcher: the kernel carries a parent's memory high-water mark into its
/// child across exec, so launching straight from this (large) harness would
/// put a floor of several MiB under every RSS reading.
pub struct Probe {
    pub launcher: PathBuf,
    pub report: PathBuf,
}

impl Probe {
    /// Runs `program args` in `cwd` to completion.
    pub fn run_once(&self, program: &Path, args: &[String], cwd: &Path) -> Result<Sample> {
        let start = Instant::now();
        let out = Command::new(&self.launcher)
            .arg(&self.report)
            .arg(program)
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot start {}", program.display()))?;
        let wall = start.elapsed();
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
            bail!(
                "{} failed ({}): {}",
                program.display(),
                out.status,
                tail.join(" | ")
            );
        }
        let report = std::fs::read_to_string(&self.report)
            .with_context(|| format!("rss-probe wrote no report to {}", self.report.display()))?;
        let max_rss_kib = report
            .trim()
            .parse()
            .context("rss-probe report is a number")?;
        Ok(Sample {
            wall,
            max_rss_kib,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        })
    }
}

/// The lines that must match native output: the `checksum:` lines, or the
/// whole output of a program that prints none (hello world).
pub fn checksums(stdout: &str) -> Vec<&str> {
    let sums: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("checksum:"))
        .collect();
    if sums.is_empty() {
        stdout.lines().collect()
    } else {
        sums
    }
}

/// The longest pause a workload measured itself (`max pause: N us`, the
/// GC workload's line), if it printed one.
fn max_pause_us(stdout: &str) -> Option<u64> {
    stdout.lines().find_map(|l| {
        l.strip_prefix("max pause: ")?
            .strip_suffix(" us")?
            .parse()
            .ok()
    })
}

pub fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// One runner's command line for one row of the report.
pub struct Contender {
    pub name: String,
    pub program: PathBuf,
    pub argv: Vec<String>,
    /// The arguments of an unmeasured first run, for a runner that fills a
    /// compilation cache on its first run (ours, precompiled): neither that
    /// compile's wall time nor its peak RSS counts.
    pub warm_up: Option<Vec<String>>,
}

impl Contender {
    /// `runner`'s command for `wasm` (or `native`); `Ok(None)` when it has
    /// none for this row (native code for a generated module), `Err` when
    /// the peer's ahead-of-time compiler failed on it.
    pub fn of(
        runner: &Runner,
        wasm: &Path,
        native: Option<&Path>,
        args: &[&str],
        needs_dir: bool,
    ) -> Result<Option<Self>, String> {
        let Some((program, argv)) = runner.command(wasm, native, args, needs_dir)? else {
            return Ok(None);
        };
        let warm_up = (runner.tier == Tier::Precompiled).then(|| {
            argv.iter()
                .map(|a| match &runner.warm_up_mode {
                    Some(mode) if a.starts_with("--engine=") => mode.clone(),
                    _ => a.clone(),
                })
                .collect()
        });
        Ok(Some(Self {
            name: runner.name.clone(),
            program,
            argv,
            warm_up,
        }))
    }
}

/// What one contender has measured so far.
#[derive(Default)]
struct Tally {
    walls: Vec<Duration>,
    pauses_us: Vec<u64>,
    max_rss_kib: u64,
    checksums: Option<Vec<String>>,
}

/// Runs every contender `runs` times in interleaved rounds: round `r` runs
/// each once, starting from contender `r mod n`, so a slow phase of a noisy
/// machine lands on every runner alike and the round-by-round ratios
/// (`Cell::walls`, same index) compare runs made moments apart.
///
/// Every run of a contender must print the same checksums, and, when
/// `reference` names a contender (native code) that ran, the same as it.
/// A contender that fails is dropped from the later rounds; its cell says why.
pub fn interleaved(
    probe: &Probe,
    contenders: &[Contender],
    runs: usize,
    reference: Option<&str>,
    scratch: &dyn Fn() -> Result<PathBuf>,
) -> Row {
    let mut tallies: Vec<Result<Tally, String>> =
        contenders.iter().map(|_| Ok(Tally::default())).collect();
    for (contender, tally) in contenders.iter().zip(&mut tallies) {
        if let Some(warm_up) = &contender.warm_up {
            let run = scratch().and_then(|cwd| probe.run_once(&contender.program, warm_up, &cwd));
            if let Err(e) = run {
                *tally = Err(format!("{e:#}"));
            }
        }
    }
    let n = contenders.len();
    for round in 0..runs.max(1) {
        for k in 0..n {
            let i = (round + k) % n;
            let Ok(tally) = &mut tallies[i] else {
                continue;
            };
            let contender = &contenders[i];
            let sample = match scratch()
                .and_then(|cwd| probe.run_once(&contender.program, &contender.argv, &cwd))
            {
                Ok(sample) => sample,
                Err(e) => {
                    tallies[i] = Err(format!("{e:#}"));
                    continue;
                }
            };
            let sums: Vec<String> = checksums(&sample.stdout)
                .into_iter()
                .map(String::from)
                .collect();
            match &tally.checksums {
                Some(first) if *first != sums => {
                    tallies[i] = Err(format!(
                        "its output changed between runs: {sums:?}, first {first:?}"
                    ));
                    continue;
                }
                Some(_) => {}
                None => tally.checksums = Some(sums),
            }
            tally.walls.push(sample.wall);
            tally.pauses_us.extend(max_pause_us(&sample.stdout));
            tally.max_rss_kib = tally.max_rss_kib.max(sample.max_rss_kib);
        }
    }
    let expected = reference
        .and_then(|name| contenders.iter().position(|c| c.name == name))
        .and_then(|i| tallies[i].as_ref().ok())
        .and_then(|t| t.checksums.clone());
    contenders
        .iter()
        .zip(tallies)
        .map(|(contender, tally)| {
            let cell = tally.and_then(|t| match (&expected, &t.checksums) {
                (Some(expected), Some(sums)) if expected != sums => Err(format!(
                    "wrong checksum: {sums:?}, native printed {expected:?}"
                )),
                _ => Ok(Cell {
                    median: median(t.walls.clone()),
                    max_rss_kib: t.max_rss_kib,
                    walls: t.walls,
                    pauses_us: t.pauses_us,
                }),
            });
            (contender.name.clone(), cell)
        })
        .collect::<BTreeMap<_, _>>()
}
