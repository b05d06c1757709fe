//! Writing a compiled module's function map in the format asked for: at
//! once for code compiled before the run, and function by function as a
//! lazily compiled module places code while it runs.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use wasmtier_core::{CompiledModule, ValidatedModule};
use wasmtier_engines::jit::code_map::{CodeMap, CodeVersion, FunctionCode};

use super::jitdump::JitDump;
use super::{Profile, ProfileKind, function_name};

enum Sink {
    Perfmap(BufWriter<File>),
    Jitdump(JitDump),
}

/// Shared by the run and the threads that compile while it runs.
pub(super) struct Recorder {
    sink: Sink,
    module: Arc<ValidatedModule>,
    path: PathBuf,
    /// Records written, which is also the next jitdump code index.
    written: u64,
    /// After the first snapshot: write each record through at once, since
    /// the run may end at any time.
    live: bool,
    /// A write failed: said once on stderr, nothing more is written.
    failed: bool,
    /// A write of the first snapshot failed: `record` returns it.
    snapshot_error: Option<std::io::Error>,
}

impl Recorder {
    fn record(&mut self, function: FunctionCode, bytes: &[u8]) -> std::io::Result<()> {
        let name = profiled_name(&self.module, &function);
        match &mut self.sink {
            Sink::Perfmap(out) => {
                writeln!(out, "{:x} {:x} {name}", function.address, function.len)?;
                if self.live {
                    out.flush()?;
                }
            }
            Sink::Jitdump(dump) => {
                dump.code_load(&name, function.address, bytes, self.written)?;
                if self.live {
                    dump.flush()?;
                }
            }
        }
        self.written += 1;
        Ok(())
    }

    pub(super) fn written(&self) -> u64 {
        self.written
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.sink {
            Sink::Perfmap(out) => out.flush(),
            Sink::Jitdump(dump) => dump.flush(),
        }
    }
}

/// The name a profiler shows: the function's own, and for a lazily
/// compiled module's other versions which one it is, since `perf` shows
/// each at its own addresses.
fn profiled_name(module: &ValidatedModule, function: &FunctionCode) -> String {
    let name = function_name(module, function.index);
    match function.version {
        CodeVersion::Compiled | CodeVersion::Optimized => name,
        CodeVersion::Baseline => format!("{name} [baseline]"),
        CodeVersion::LoopEntry { loop_index } => format!("{name} [entry at loop {loop_index}]"),
    }
}

/// Writes the function map of `compiled` in the format `kind`; for a
/// lazily compiled module, keeps adding each function compiled later.
pub fn record(kind: ProfileKind, compiled: &dyn CompiledModule) -> Result<Profile> {
    let map =
        CodeMap::of(compiled).context("--profile: this module was not compiled to machine code")?;
    let pid = std::process::id();
    let (path, sink) = match kind {
        ProfileKind::Perfmap => {
            let path = PathBuf::from(format!("/tmp/perf-{pid}.map"));
            let file = File::create(&path)
                .with_context(|| format!("cannot write the perf map `{}`", path.display()))?;
            (path, Sink::Perfmap(BufWriter::new(file)))
        }
        ProfileKind::Jitdump => {
            let path = PathBuf::from(format!("jit-{pid}.dump"));
            let dump = JitDump::create(&path, pid)
                .with_context(|| format!("cannot write the jitdump file `{}`", path.display()))?;
            (path, Sink::Jitdump(dump))
        }
    };
    let failed = || format!("cannot write the profile map `{}`", path.display());
    let recorder = Arc::new(Mutex::new(Recorder {
        sink,
        module: compiled.module().clone(),
        path: path.clone(),
        written: 0,
        live: false,
        failed: false,
        snapshot_error: None,
    }));
    // The functions compiled so far are written here, where an error can
    // still stop the run; later ones on the compiling threads, where it
    // can only be reported.
    let watcher_recorder = recorder.clone();
    map.watch(Box::new(move |function, bytes| {
        let mut recorder = watcher_recorder.lock().unwrap_or_else(|e| e.into_inner());
        if recorder.failed {
            return;
        }
        if let Err(e) = recorder.record(function, bytes) {
            recorder.failed = true;
            if recorder.live {
                eprintln!(
                    "wasmtier: --profile: cannot write `{}`, recording stops: {e}",
                    recorder.path.display()
                );
            } else {
                recorder.snapshot_error = Some(e);
            }
        }
    }));
    let mut locked = recorder.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = locked.snapshot_error.take() {
        return Err(e).with_context(failed);
    }
    locked.flush().with_context(failed)?;
    locked.live = true;
    let functions = locked.written as usize;
    drop(locked);
    Ok(Profile {
        path,
        functions,
        code: map.range(),
        lazy: map.compiles_lazily(),
        recorder,
    })
}
