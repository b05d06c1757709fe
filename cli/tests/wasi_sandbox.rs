//! A guest reaches nothing outside its preopens, on every engine.

mod common;

use std::path::Path;

use common::{ENGINES, run_on, s, wasi_program};

const ATTEMPTS: &[&str] = &[
    "dotdot-read",
    "dotdot-create",
    "absolute",
    "host-symlink",
    "guest-symlink",
    "guest-absolute-symlink",
    "hardlink",
    "rmdir-parent",
    "readonly-create",
    "readonly-write",
    "readonly-unlink",
    "readonly-mkdir",
];

/// Errno names a refusal may carry: which one depends on how the path fails.
const REFUSALS: &[&str] = &[
    "ENOTCAPABLE",
    "EPERM",
    "EACCES",
    "ENOENT",
    "EXDEV",
    "EROFS",
    "EBADF",
    "ELOOP",
    "EINVAL",
];

fn snapshot(root: &Path) -> Vec<(String, Option<String>)> {
    let mut entries: Vec<_> = walk(root)
        .into_iter()
        .map(|p| {
            let content = std::fs::read_to_string(&p).ok();
            (p.strip_prefix(root).unwrap().display().to_string(), content)
        })
        .collect();
    entries.sort();
    entries
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        out.push(path.clone());
        if path.is_dir() && !path.is_symlink() {
            out.extend(walk(&path));
        }
    }
    out
}

#[test]
fn every_escape_attempt_is_refused_and_the_host_is_unchanged() {
    let wasm = wasi_program("sandbox");
    for engine in ENGINES {
        let outer = tempfile::tempdir().unwrap();
        let boxed = outer.path().join("box");
        let read_only = outer.path().join("ro");
        std::fs::create_dir(&boxed).unwrap();
        std::fs::create_dir(&read_only).unwrap();
        std::fs::write(outer.path().join("outside.txt"), "secret").unwrap();
        std::fs::write(read_only.join("existing.txt"), "keep me").unwrap();
        std::os::unix::fs::symlink("../outside.txt", boxed.join("host-link")).unwrap();
        let before = snapshot(outer.path());

        let out = run_on(
            engine,
            &[
                "--dir",
                &format!("{}::/box", s(&boxed)),
                "--dir-ro",
                &format!("{}::/ro", s(&read_only)),
                s(&wasm),
                "/box",
                "/ro",
            ],
        );
        assert_eq!(out.status, Some(0), "{engine}: {}", out.stderr);
        for attempt in ATTEMPTS {
            let line = out
                .stdout
                .lines()
                .find(|l| l.starts_with(&format!("{attempt}: ")))
                .unwrap_or_else(|| panic!("{attempt} missing from:\n{}", out.stdout));
            let errno = line.split_once(": ").unwrap().1;
            assert!(REFUSALS.contains(&errno), "{engine}: {line}");
        }
        assert!(
            out.stdout.contains("readonly-read: allowed"),
            "{}",
            out.stdout
        );

        // Only the guest's own links inside the box may have appeared.
        let after: Vec<_> = snapshot(outer.path())
            .into_iter()
            .filter(|(p, _)| !p.starts_with("box/guest-"))
            .collect();
        assert_eq!(before, after, "{engine}: host file system changed");
        assert_eq!(
            std::fs::read_to_string(outer.path().join("outside.txt")).unwrap(),
            "secret"
        );
    }
}
