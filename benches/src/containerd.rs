//! The containerd shim's start-up: `shim/tests/containerd-e2e.sh` with
//! `BENCH=N` starts a private containerd, checks the shim end to end, and
//! times containers of a cached module interleaved with `wasmtier run` of
//! the same module. Needs root, containerd and the built shim; without
//! them the section says what is missing.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

/// The report's section (markdown).
pub fn section(runs: usize) -> String {
    let mut out = String::from("\n## The containerd shim\n\n");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let shim = root.join("target/release/containerd-shim-wasmtier-v1");
    // `/proc/self` belongs to the process's effective user.
    let is_root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    let missing = if !shim.exists() {
        Some("the shim is not built (`cargo build --release -p wasmtier-shim`)".to_string())
    } else if !is_root {
        Some("not root: containerd needs root".to_string())
    } else {
        None
    };
    if let Some(why) = missing {
        out.push_str(&format!("Not measured: {why}.\n"));
        return out;
    }
    let result = Command::new(root.join("shim/tests/containerd-e2e.sh"))
        .env("BENCH", runs.max(3).to_string())
        .output();
    let line = result.ok().and_then(|o| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .find(|l| l.starts_with("bench: "))
            .map(|l| l.trim_start_matches("bench: ").to_string())
    });
    match line {
        Some(line) => out.push_str(&format!(
            "Start-up of a container whose module is in the shim's AOT cache (`ctr run --rm \
             --runtime io.containerd.wasmtier.v1`, `WASMTIER_ENGINE=aot`, a WASI hello world \
             that reads a file from its rootfs), against `wasmtier run --engine aot` of the \
             same module from its cache, interleaved, whole processes: {line}.\n"
        )),
        None => out.push_str("Not measured: `shim/tests/containerd-e2e.sh` failed.\n"),
    }
    out
}
