//! What the shim says when run by hand: its version, and a clear refusal
//! of flags containerd never passes or of a start outside a bundle
//! (runwasi's library would panic on both).

use std::path::Path;
use std::process::{Command, Output};

const SHIM: &str = env!("CARGO_BIN_EXE_containerd-shim-wasmtier-v1");

/// Runs the shim with `args` in `dir`.
fn shim(args: &[&str], dir: &Path) -> Output {
    Command::new(SHIM)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the shim starts")
}

/// The shim's stderr, once checked that it refused with status 2 and
/// did not panic.
fn refusal(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn dash_v_names_the_runtime_and_its_version() {
    let out = shim(&["-v"], Path::new("."));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Runtime: wasmtier"), "{stdout}");
    assert!(
        stdout.contains(&format!("Version: {}", env!("CARGO_PKG_VERSION"))),
        "{stdout}"
    );
}

#[test]
fn an_unknown_flag_is_refused_with_usage_not_a_panic() {
    let stderr = refusal(&shim(&["--bogus"], Path::new(".")));
    assert!(
        stderr.contains("flag provided but not defined: -bogus"),
        "{stderr}"
    );
    assert!(
        stderr.contains("usage: containerd-shim-wasmtier-v1"),
        "{stderr}"
    );
}

#[test]
fn started_outside_a_bundle_it_says_so_instead_of_panicking() {
    let empty = std::env::temp_dir().join(format!("wasmtier-shim-test-{}", std::process::id()));
    std::fs::create_dir_all(&empty).expect("a scratch directory");
    let out = shim(&["-namespace", "default", "-id", "c1", "start"], &empty);
    let _ = std::fs::remove_dir(&empty);
    let stderr = refusal(&out);
    assert!(
        stderr.contains("no `log` FIFO in the working directory"),
        "{stderr}"
    );
}
