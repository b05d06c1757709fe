//! Who runs the workloads: wasmtier's engines, the peers found on this
//! machine, and the native build.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Which tier a runner belongs to, so ratios compare like with like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Interpreter,
    Compiled,
    Native,
}

pub struct Runner {
    pub name: String,
    pub tier: Tier,
    /// `false` for wasmtier's own engines, `true` for peers.
    pub is_peer: bool,
    program: PathBuf,
    /// Arguments before the module; `{dir}` grants the scratch directory.
    prefix: Vec<String>,
    grant_dir: Vec<String>,
    /// Arguments between the module and the program's own arguments.
    separator: Vec<String>,
    native: bool,
}

impl Runner {
    /// The command line for `wasm` (or, for the native runner, `native`).
    pub fn command(
        &self,
        wasm: &Path,
        native: Option<&Path>,
        args: &[&str],
        needs_dir: bool,
    ) -> Option<(PathBuf, Vec<String>)> {
        if self.native {
            let native = native?;
            return Some((
                native.to_path_buf(),
                args.iter().map(|a| a.to_string()).collect(),
            ));
        }
        let mut full = self.prefix.clone();
        if needs_dir {
            full.extend(self.grant_dir.iter().cloned());
        }
        full.push(wasm.display().to_string());
        full.extend(self.separator.iter().cloned());
        full.extend(args.iter().map(|a| a.to_string()));
        Some((self.program.clone(), full))
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .ok()?;
    let path = String::from_utf8(found.stdout).ok()?.trim().to_string();
    (found.status.success() && !path.is_empty()).then(|| PathBuf::from(path))
}

/// wasmtier's engines, through the given binary.
pub fn wasmtier_runners(binary: &Path, engines: &[&str]) -> Vec<Runner> {
    engines
        .iter()
        .map(|engine| Runner {
            name: format!("wasmtier {engine}"),
            tier: if *engine == "interp" {
                Tier::Interpreter
            } else {
                Tier::Compiled
            },
            is_peer: false,
            program: binary.to_path_buf(),
            prefix: vec!["run".into(), format!("--engine={engine}")],
            grant_dir: vec!["--dir=.".into()],
            separator: vec!["--".into()],
            native: false,
        })
        .collect()
}

/// Peers present on this machine; each missing one is reported in `notes`.
pub fn peer_runners(node_script: &Path, notes: &mut Vec<String>) -> Vec<Runner> {
    let mut runners = Vec::new();
    match on_path("wasmtime") {
        Some(program) => runners.push(Runner {
            name: "wasmtime".into(),
            tier: Tier::Compiled,
            is_peer: true,
            program,
            // No compilation cache: every run compiles, as ours does.
            prefix: vec!["run".into(), "-C".into(), "cache=n".into()],
            grant_dir: vec!["--dir=.".into()],
            separator: vec!["--".into()],
            native: false,
        }),
        None => notes.push(
            "wasmtime not found (cargo install wasmtime-cli --version 48.0.8 --locked)".into(),
        ),
    }
    // wasmi_cli installs its binary as `wasmi`.
    match on_path("wasmi") {
        Some(program) => runners.push(Runner {
            name: "wasmi".into(),
            tier: Tier::Interpreter,
            is_peer: true,
            program,
            prefix: vec![],
            grant_dir: vec!["--dir=.".into()],
            separator: vec![],
            native: false,
        }),
        None => notes
            .push("wasmi_cli not found (cargo install wasmi_cli --version 2.0.0 --locked)".into()),
    }
    match on_path("node") {
        Some(program) => runners.push(Runner {
            name: "node".into(),
            tier: Tier::Compiled,
            is_peer: true,
            program,
            // Node 20's concurrent marking can crash V8 on long runs.
            prefix: vec![
                "--no-concurrent-marking".into(),
                "--no-warnings".into(),
                node_script.display().to_string(),
            ],
            grant_dir: vec![],
            separator: vec![],
            native: false,
        }),
        None => notes.push("node not found".into()),
    }
    runners.push(Runner {
        name: "native".into(),
        tier: Tier::Native,
        is_peer: true,
        program: PathBuf::new(),
        prefix: vec![],
        grant_dir: vec![],
        separator: vec![],
        native: true,
    });
    runners
}

/// A Node `node:wasi` runner with the current directory preopened as `.`.
pub const NODE_SCRIPT: &str = r#"import { WASI } from 'node:wasi';
import { readFileSync } from 'node:fs';
const [file, ...args] = process.argv.slice(2);
const wasi = new WASI({ version: 'preview1', args: [file, ...args], env: {}, preopens: { '.': '.' }, returnOnExit: true });
const module = await WebAssembly.compile(readFileSync(file));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
"#;
