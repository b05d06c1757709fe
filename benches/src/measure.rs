//! Runs a whole process and measures its wall time and peak RSS.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

pub struct Sample {
    pub wall: Duration,
    /// Peak resident set size in KiB, from the kernel's rusage of the child.
    pub max_rss_kib: u64,
    pub stdout: String,
}

/// Runs `program args` in `cwd` to completion.
pub fn run_once(program: &Path, args: &[String], cwd: &Path) -> Result<Sample> {
    let start = Instant::now();
    let child = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", program.display()))?;
    let pid = child.id() as libc::pid_t;
    // Read the pipes on threads so a chatty child cannot block on a full pipe
    // while we wait for it.
    let mut stdout_pipe = child.stdout.expect("stdout is piped");
    let mut stderr_pipe = child.stderr.expect("stderr is piped");
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout_pipe, &mut s).map(|_| s)
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stderr_pipe, &mut s).map(|_| s)
    });
    let mut status: libc::c_int = 0;
    // SAFETY: all-zero bytes are a valid `rusage` (plain integers and timevals).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet reaped (we dropped the `Child`
    // handle without waiting); `status` and `usage` are valid for writes.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    if reaped != pid {
        bail!(
            "wait4 failed for {}: {}",
            program.display(),
            std::io::Error::last_os_error()
        );
    }
    let stdout = out_thread
        .join()
        .expect("reader thread")
        .unwrap_or_default();
    let stderr = err_thread
        .join()
        .expect("reader thread")
        .unwrap_or_default();
    let exited_ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    if !exited_ok {
        let tail: String = stderr.lines().rev().take(3).collect::<Vec<_>>().join(" | ");
        bail!(
            "{} failed (wait status {status:#x}): {tail}",
            program.display()
        );
    }
    Ok(Sample {
        wall,
        max_rss_kib: usage.ru_maxrss as u64,
        stdout,
    })
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
