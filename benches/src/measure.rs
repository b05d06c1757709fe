//! Runs a whole process and measures its wall time and peak RSS.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

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

pub fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}
