//! `wasmtier inspect`: what an artifact holds, read without running it.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use wasmtier_core::{ExternKind, Features, ValidatedModule};
use wasmtier_engines::aot::artifact;

#[derive(Args)]
pub struct InspectArgs {
    /// The artifact (`.cwasm`) to describe.
    file: PathBuf,
}

pub fn inspect(args: InspectArgs) -> Result<()> {
    let path = &args.file;
    let bytes = crate::input::read_module_file(path)?;
    // A cache entry is an artifact followed by its cache's seal.
    let total = bytes.len();
    let file = artifact::without_seal(&bytes.into());
    let sealed = file.len() != total;
    let (artifact, intact) = artifact::parse_unverified(&file)
        .with_context(|| format!("cannot inspect `{}`", path.display()))?;
    let header = &artifact.header;
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let enabled: Vec<&str> = header
        .target
        .cpu_features
        .split(',')
        .filter_map(|f| f.strip_suffix("=true"))
        .collect();
    let mut out = String::new();
    writeln!(out, "artifact:         {}", path.display())?;
    writeln!(out, "format version:   {}", header.format_version)?;
    writeln!(out, "wasmtier version: {}", header.wasmtier_version)?;
    writeln!(out, "target:           {}", header.target.triple)?;
    writeln!(out, "cpu features:     {}", enabled.join(" "))?;
    writeln!(out, "flags:            {}", header.target.flags)?;
    writeln!(out, "wasm features:    {}", header.wasm_features)?;
    writeln!(out, "source blake3:    {}", hex(&header.source_hash))?;
    writeln!(
        out,
        "checksum:         crc32 {:08x} ({})",
        header.checksum,
        if intact { "ok" } else { "MISMATCH: corrupted" }
    )?;
    if sealed {
        writeln!(
            out,
            "cache seal:       {} bytes (checked only by the cache that wrote it)",
            wasmtier_engines::aot::SEAL_LEN
        )?;
    }
    let code_len = header.code.end - header.code.start;
    writeln!(
        out,
        "size:             {} bytes (module {} bytes, code {} bytes at offset {:#x}, {} trap sites, {} sites in inlined recursion)",
        header.file_len,
        artifact.wasm.len(),
        code_len,
        header.code.start,
        artifact.code_tables.traps.len(),
        artifact.code_tables.inlined.len()
    )?;
    let features = Features::parse_list(&header.wasm_features).unwrap_or_else(|_| Features::all());
    let functions = artifact.code_tables.functions.clone();
    // The artifact is not trusted here: its embedded module is validated
    // like any other input before its names are read, never taken on the
    // artifact's word.
    let module = match ValidatedModule::new(&artifact.wasm, features) {
        Ok(module) => Some(module),
        Err(err) => {
            writeln!(out, "embedded module:  INVALID: {err}")?;
            None
        }
    };
    let imported = module.as_ref().map_or(0, |m| m.num_imported_funcs());
    writeln!(out, "functions:        {}", functions.len())?;
    writeln!(
        out,
        "  {:>6}  {:>10}  {:>8}  name",
        "index", "offset", "size"
    )?;
    for (i, [start, end]) in functions.iter().enumerate() {
        let index = u32::try_from(i).map_or(u32::MAX, |i| imported.saturating_add(i));
        let name = module
            .as_ref()
            .and_then(|m| {
                m.func_name(index).or_else(|| {
                    m.exports()
                        .iter()
                        .find(|e| e.kind == ExternKind::Func && e.index == index)
                        .map(|e| e.name.as_str())
                })
            })
            .unwrap_or("");
        writeln!(
            out,
            "  {index:>6}  {:>#10x}  {:>8}  {name}",
            start,
            end.wrapping_sub(start)
        )?;
    }
    // A closed pipe (`inspect … | head`) is not an error worth a panic.
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    if !intact {
        anyhow::bail!(
            "`{}`: the artifact's checksum does not match: it is corrupted",
            path.display()
        );
    }
    if module.is_none() {
        anyhow::bail!("`{}`: the embedded module is invalid", path.display());
    }
    Ok(())
}
