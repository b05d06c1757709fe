//! Writing a compiled module's function map in the format asked for.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use wasmtier_core::CompiledModule;
use wasmtier_engines::jit::code_map::CodeMap;

use super::jitdump::JitDump;
use super::{Profile, ProfileKind, function_name};

/// Writes the function map of `compiled` in the format `kind`.
pub fn record(kind: ProfileKind, compiled: &dyn CompiledModule) -> Result<Profile> {
    let map =
        CodeMap::of(compiled).context("--profile: this module was not compiled to machine code")?;
    let module = compiled.module();
    let pid = std::process::id();
    match kind {
        ProfileKind::Perfmap => {
            let path = PathBuf::from(format!("/tmp/perf-{pid}.map"));
            let failed = || format!("cannot write the perf map `{}`", path.display());
            let mut out = BufWriter::new(File::create(&path).with_context(failed)?);
            let mut functions = 0;
            for f in map.functions() {
                let name = function_name(module, f.index);
                writeln!(out, "{:x} {:x} {name}", f.address, f.len).with_context(failed)?;
                functions += 1;
            }
            out.flush().with_context(failed)?;
            Ok(Profile {
                path,
                functions,
                code: map.range(),
                _jitdump: None,
            })
        }
        ProfileKind::Jitdump => {
            let path = PathBuf::from(format!("jit-{pid}.dump"));
            let failed = || format!("cannot write the jitdump file `{}`", path.display());
            let mut dump = JitDump::create(&path, pid).with_context(failed)?;
            let mut functions = 0;
            for f in map.functions() {
                let name = function_name(module, f.index);
                dump.code_load(&name, f.address, map.function_bytes(&f), f.index)
                    .with_context(failed)?;
                functions += 1;
            }
            dump.flush().with_context(failed)?;
            Ok(Profile {
                path,
                functions,
                code: map.range(),
                _jitdump: Some(dump),
            })
        }
    }
}
