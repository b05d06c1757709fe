//! Runs the real `wasmtier` binary, the way a user does.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Run {
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Self {
        Self {
            status: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// `wasmtier run --engine ENGINE ARGS…`.
pub fn run_on(engine: &str, args: &[&str]) -> Run {
    let mut full = vec!["run", "--engine", engine];
    full.extend_from_slice(args);
    wasmtier(&full)
}

pub fn wasmtier(args: &[&str]) -> Run {
    wasmtier_in(None, args)
}

pub fn wasmtier_in(dir: Option<&Path>, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmtier"));
    cmd.args(args)
        .env_remove("RUST_BACKTRACE")
        .env("XDG_CACHE_HOME", test_cache_home());
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    cmd.output().expect("the wasmtier binary runs").into()
}

/// Writes `text` as a binary module into `dir` and returns its path.
pub fn write_wasm(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, wat::parse_str(text).expect("test WAT parses")).unwrap();
    path
}

pub fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Every engine this build of the CLI offers, by its `--engine` name.
pub const ENGINES: Engines = Engines;

/// The engines of the `wasmtier` binary under test: the registry's, which
/// the test binary shares with it (same build, same features).
#[derive(Debug, Clone, Copy)]
pub struct Engines;

impl Engines {
    pub fn contains(self, name: &&str) -> bool {
        wasmtier_engines::find(name).is_some()
    }
}

impl IntoIterator for Engines {
    type Item = &'static str;
    type IntoIter = std::vec::IntoIter<&'static str>;

    fn into_iter(self) -> Self::IntoIter {
        wasmtier_engines::names().into_iter()
    }
}

/// The aot engine's cache for test runs, kept out of the user's home.
fn test_cache_home() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("cache-home")
}

/// Compiles `cli/tests/wasi-programs/NAME.c` to wasm32-wasi once per test
/// binary (clang, lld and wasi-libc come from Debian; `.ci/run` installs them).
pub fn wasi_program(name: &str) -> PathBuf {
    use std::sync::Mutex;
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/wasi-programs")
        .join(format!("{name}.c"));
    let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("wasi-programs")
        .join(format!("{name}.wasm"));
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if !built.iter().any(|b| b == name) {
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        let status = Command::new("clang")
            .args(["--target=wasm32-wasi", "-O2", "-o"])
            .arg(&out)
            .arg(&source)
            .status()
            .expect("clang is installed (apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32)");
        assert!(status.success(), "clang failed on {}", source.display());
        built.push(name.to_string());
    }
    out
}

/// Runs with stdin fed from `input`.
pub fn wasmtier_with_stdin(args: &[&str], input: &[u8]) -> Run {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasmtier"))
        .args(args)
        .env("XDG_CACHE_HOME", test_cache_home())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the wasmtier binary runs");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap().into()
}
