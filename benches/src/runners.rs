//! Who runs the workloads: wasmtier's engines, the peers found on this
//! machine, and the native build.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Which tier a runner belongs to, so ratios compare like with like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Interpreter,
    Compiled,
    /// Compiled ahead of time, run from the artifact (a cache or a file).
    Precompiled,
    Native,
}

#[derive(Clone)]
pub struct Runner {
    pub name: String,
    pub tier: Tier,
    /// `false` for wasmtier's own engines, `true` for peers.
    pub is_peer: bool,
    /// The wasmtier engine it runs (`None` for peers and native code).
    pub engine: Option<String>,
    program: PathBuf,
    /// Arguments before the module; `{dir}` grants the scratch directory.
    prefix: Vec<String>,
    grant_dir: Vec<String>,
    /// Arguments between the module and the program's own arguments.
    separator: Vec<String>,
    native: bool,
    /// A peer that runs ahead-of-time compiled modules: the compiler makes
    /// the compiled file next to the module once, and the runs use it.
    precompile: Option<Precompiler>,
    /// For the unmeasured warm-up run: this mode argument instead of the
    /// runner's own (`--engine=auto` warms its cache through aot).
    pub warm_up_mode: Option<String>,
}

impl Runner {
    /// Whether it is worth running a module that uses `proposals`: a
    /// wasmtier engine without them refuses the module by name, so it is
    /// left out; peers are tried (a failure shows in the report).
    pub fn runs(&self, proposals: &[&str]) -> bool {
        match &self.engine {
            Some(engine) => wasmtier_engines::running(proposals).contains(&engine.as_str()),
            None => true,
        }
    }

    /// The command line for `wasm` (or, for the native runner, `native`):
    /// `Ok(None)` when there is none (native code for a generated module),
    /// `Err` when a peer's ahead-of-time compiler failed on `wasm`.
    pub fn command(
        &self,
        wasm: &Path,
        native: Option<&Path>,
        args: &[&str],
        needs_dir: bool,
    ) -> Result<Option<(PathBuf, Vec<String>)>, String> {
        if self.native {
            let Some(native) = native else {
                return Ok(None);
            };
            return Ok(Some((
                native.to_path_buf(),
                args.iter().map(|a| a.to_string()).collect(),
            )));
        }
        let mut full = self.prefix.clone();
        if needs_dir {
            full.extend(self.grant_dir.iter().cloned());
        }
        match &self.precompile {
            Some(compiler) => full.push(precompiled(compiler, wasm)?.display().to_string()),
            None => full.push(wasm.display().to_string()),
        }
        full.extend(self.separator.iter().cloned());
        full.extend(args.iter().map(|a| a.to_string()));
        Ok(Some((self.program.clone(), full)))
    }
}

/// A peer's ahead-of-time compiler.
#[derive(Clone)]
enum Precompiler {
    /// `wasmtime compile MODULE -o OUT`.
    Wasmtime(PathBuf),
    /// WAMR's `wamrc --opt-level=3 --enable-multi-thread -o OUT MODULE`
    /// (LLVM; multi-thread adds the checks that let one thread stop the
    /// others, which wasi-threads programs need; -O3 is its default).
    Wamrc(PathBuf),
}

/// How long a peer's ahead-of-time compiler may take on one module: wamrc
/// (LLVM at -O3) needs far longer than this on the generated large module,
/// and its compile time is not what the precompiled column measures.
const PRECOMPILE_LIMIT: Duration = Duration::from_secs(300);

/// `wasm` compiled ahead of time by `compiler`, made once (again when the
/// module is newer than the compiled file).
fn precompiled(compiler: &Precompiler, wasm: &Path) -> Result<PathBuf, String> {
    let (out, name, mut command) = match compiler {
        Precompiler::Wasmtime(program) => {
            let out = wasm.with_extension("wasmtime.cwasm");
            let mut command = Command::new(program);
            command.arg("compile").arg(wasm).arg("-o").arg(&out);
            (out, "wasmtime compile", command)
        }
        Precompiler::Wamrc(program) => {
            let out = wasm.with_extension("wamr.aot");
            let mut command = Command::new(program);
            command
                .args(["--opt-level=3", "--enable-multi-thread", "-o"])
                .arg(&out)
                .arg(wasm);
            (out, "wamrc", command)
        }
    };
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if modified(&out).is_some() && modified(&out) >= modified(wasm) {
        return Ok(out);
    }
    let _ = std::fs::remove_file(&out);
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {name}: {e}"))?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(out),
            Ok(Some(status)) => return Err(format!("{name} failed on the module ({status})")),
            Ok(None) if start.elapsed() > PRECOMPILE_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = std::fs::remove_file(&out);
                return Err(format!(
                    "{name} did not finish compiling the module within {} s",
                    PRECOMPILE_LIMIT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(format!("{name}: {e}")),
        }
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

/// `binary run MODE... FILE -- ARGS...`: one of wasmtier's own runners.
fn wasmtier_runner(binary: &Path, name: String, tier: Tier, mode: &[&str]) -> Runner {
    let engine = mode
        .iter()
        .find_map(|m| m.strip_prefix("--engine="))
        .unwrap_or("interp");
    Runner {
        name,
        tier,
        is_peer: false,
        engine: Some(engine.to_string()),
        program: binary.to_path_buf(),
        prefix: std::iter::once("run")
            .chain(mode.iter().copied())
            .map(String::from)
            .collect(),
        grant_dir: vec!["--dir=.".into()],
        separator: vec!["--".into()],
        native: false,
        precompile: None,
        warm_up_mode: None,
    }
}

/// `--low-memory` through `binary`, e.g. the interpreter-only small build.
pub fn low_memory_runner(binary: &Path, name: &str) -> Runner {
    wasmtier_runner(binary, name.into(), Tier::Interpreter, &["--low-memory"])
}

/// wasmtier's engines, through the given binary, plus the interpreter's
/// low-memory mode.
pub fn wasmtier_runners(binary: &Path, engines: &[&str]) -> Vec<Runner> {
    let runner = |name, tier, mode: &[&str]| wasmtier_runner(binary, name, tier, mode);
    let mut runners = Vec::new();
    for engine in engines {
        if *engine == "auto" {
            // The cache of a previous run: an unmeasured warm-up run with
            // `--engine=aot` fills it (auto fills it in the background,
            // which a benchmark cannot wait for), then auto runs from it.
            let mut auto = runner(
                "wasmtier auto".into(),
                Tier::Precompiled,
                &["--engine=auto"],
            );
            auto.engine = Some("jit".into());
            auto.warm_up_mode = Some("--engine=aot".into());
            runners.push(auto);
            continue;
        }
        let tier = if *engine == "interp" {
            Tier::Interpreter
        } else if *engine == "aot" {
            Tier::Precompiled
        } else {
            Tier::Compiled
        };
        runners.push(runner(
            format!("wasmtier {engine}"),
            tier,
            &[&format!("--engine={engine}")],
        ));
        if *engine == "jit" {
            runners.push(runner(
                "wasmtier jit tiered".into(),
                Tier::Compiled,
                &["--engine=jit", "--compilation=tiered"],
            ));
        }
        if *engine == "interp" {
            runners.push(runner(
                "wasmtier low-memory".into(),
                Tier::Interpreter,
                &["--engine=interp", "--low-memory"],
            ));
        }
    }
    runners
}

/// Peers present on this machine; each missing one is reported in `notes`.
pub fn peer_runners(node_script: &Path, notes: &mut Vec<String>) -> Vec<Runner> {
    let mut runners = Vec::new();
    match on_path("wasmtime") {
        Some(program) => runners.push(Runner {
            name: "wasmtime".into(),
            tier: Tier::Compiled,
            is_peer: true,
            engine: None,
            program,
            // No compilation cache: every run compiles, as ours does.
            prefix: vec!["run".into(), "-C".into(), "cache=n".into()],
            grant_dir: vec!["--dir=.".into()],
            // wasmtime passes a `--` after the module on to the guest.
            separator: vec![],
            native: false,
            precompile: None,
            warm_up_mode: None,
        }),
        None => notes.push(
            "wasmtime not found (cargo install wasmtime-cli --version 48.0.8 --locked)".into(),
        ),
    }
    // Ahead of time, against `wasmtier run --engine=aot` (whose cache an
    // unmeasured warm-up run fills).
    if let Some(program) = on_path("wasmtime") {
        runners.push(Runner {
            name: "wasmtime precompiled".into(),
            tier: Tier::Precompiled,
            is_peer: true,
            engine: None,
            program: program.clone(),
            prefix: vec!["run".into(), "--allow-precompiled".into()],
            grant_dir: vec!["--dir=.".into()],
            // As above: no `--` between the module and its arguments.
            separator: vec![],
            native: false,
            precompile: Some(Precompiler::Wasmtime(program)),
            warm_up_mode: None,
        });
    }
    // WAMR: iwasm's fast interpreter, and iwasm running wamrc's LLVM
    // output (both built from source with wasi-threads; see
    // docs/benchmarks.md).
    match on_path("iwasm") {
        Some(program) => {
            let iwasm = |name: &str, tier, precompile| Runner {
                name: name.into(),
                tier,
                is_peer: true,
                engine: None,
                program: program.clone(),
                prefix: vec!["--max-threads=8".into()],
                grant_dir: vec!["--dir=.".into()],
                separator: vec![],
                native: false,
                precompile,
                warm_up_mode: None,
            };
            runners.push(iwasm("WAMR interp", Tier::Interpreter, None));
            match on_path("wamrc") {
                Some(wamrc) => runners.push(iwasm(
                    "WAMR AOT",
                    Tier::Precompiled,
                    Some(Precompiler::Wamrc(wamrc)),
                )),
                None => notes.push("wamrc not found (WAMR's LLVM AOT compiler)".into()),
            }
        }
        None => notes
            .push("WAMR's iwasm not found (build it with -DWAMR_BUILD_LIB_WASI_THREADS=1)".into()),
    }
    // wasmi_cli installs its binary as `wasmi`.
    match on_path("wasmi") {
        Some(program) => runners.push(Runner {
            name: "wasmi".into(),
            tier: Tier::Interpreter,
            is_peer: true,
            engine: None,
            program,
            prefix: vec![],
            grant_dir: vec!["--dir=.".into()],
            separator: vec![],
            native: false,
            precompile: None,
            warm_up_mode: None,
        }),
        None => notes
            .push("wasmi_cli not found (cargo install wasmi_cli --version 2.0.0 --locked)".into()),
    }
    // wasm3, built from source; its "simple" WASI preopens the working directory.
    match on_path("wasm3") {
        Some(program) => runners.push(Runner {
            name: "wasm3".into(),
            tier: Tier::Interpreter,
            is_peer: true,
            engine: None,
            program,
            prefix: vec![],
            grant_dir: vec![],
            separator: vec![],
            native: false,
            precompile: None,
            warm_up_mode: None,
        }),
        None => notes.push("wasm3 not found (build it from source and put `wasm3` on PATH)".into()),
    }
    match on_path("node") {
        Some(program) => runners.push(Runner {
            name: "node".into(),
            tier: Tier::Compiled,
            is_peer: true,
            engine: None,
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
            precompile: None,
            warm_up_mode: None,
        }),
        None => notes.push("node not found".into()),
    }
    runners.push(Runner {
        name: "native".into(),
        tier: Tier::Native,
        is_peer: true,
        engine: None,
        program: PathBuf::new(),
        prefix: vec![],
        grant_dir: vec![],
        separator: vec![],
        native: true,
        precompile: None,
        warm_up_mode: None,
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
