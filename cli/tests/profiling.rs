//! `run --profile`: the perf map and the jitdump file name the module's
//! functions at the addresses their code runs from, on the JIT and the AOT
//! tier (fresh, and mapped back from an artifact); and `perf` itself, where
//! it can record here, shows a wasm function's name.
#![cfg(wasmtier_jit)]

mod common;

use std::ops::Range;
use std::path::Path;
use std::process::Command;

use common::{Run, s, wasmtier, write_wasm};

/// Two named functions (one hot) and one without a name: function 2.
const GUEST: &str = r#"(module
  (func $hot_loop (export "hot") (param $n i32) (result i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (local.get $acc) (call $helper (local.get $n))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n)))
    (local.get $acc))
  (func $helper (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
  (func (export "unnamed") (result i32) (i32.const 7)))"#;

const NAMES: [&str; 3] = ["hot_loop", "helper", "wasm[2]"];

/// Runs `wasmtier args…` in `dir`, returning its output and process id.
fn run_in(dir: &Path, args: &[&str]) -> (Run, u32) {
    let child = Command::new(env!("CARGO_BIN_EXE_wasmtier"))
        .args(args)
        .current_dir(dir)
        .env("XDG_CACHE_HOME", dir.join("cache-home"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the wasmtier binary runs");
    let pid = child.id();
    (child.wait_with_output().unwrap().into(), pid)
}

/// The code range `-v` reports for the profile it wrote.
fn code_range(stderr: &str) -> Range<u64> {
    let line = stderr
        .lines()
        .find(|l| l.contains("write the profile map"))
        .unwrap_or_else(|| panic!("no profile line in: {stderr}"));
    let range = line
        .split("code at ")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap();
    let (start, end) = range.split_once("..").unwrap();
    let hex = |t: &str| u64::from_str_radix(t.trim_start_matches("0x"), 16).unwrap();
    hex(start)..hex(end)
}

/// `(address, size, name)` entries in address order, each inside `code`,
/// none overlapping another, each of a size a small function has.
fn check_entries(entries: &[(u64, u64, String)], code: &Range<u64>) {
    let names: Vec<&str> = entries.iter().map(|e| e.2.as_str()).collect();
    assert_eq!(names, NAMES);
    for (address, size, name) in entries {
        assert!(
            code.start <= *address && address + size <= code.end,
            "{name} at {address:#x}+{size:#x} outside {code:x?}"
        );
        assert!((4..512).contains(size), "{name}: {size} bytes");
    }
    for pair in entries.windows(2) {
        assert!(pair[0].0 + pair[0].1 <= pair[1].0, "{pair:x?}");
    }
}

fn parse_perf_map(text: &str) -> Vec<(u64, u64, String)> {
    text.lines()
        .map(|line| {
            let mut parts = line.splitn(3, ' ');
            let mut hex = || u64::from_str_radix(parts.next().unwrap(), 16).unwrap();
            let (address, size) = (hex(), hex());
            (address, size, parts.next().unwrap().to_string())
        })
        .collect()
}

/// Each (engine flags, what the run loads) once: the JIT, the AOT tier
/// compiling into its cache, then the same entry mapped back from disk.
/// With `--profile=perfmap` the jit's default is eager (perf reads the map
/// only for anonymous code); with `--profile=jitdump` it is concurrent,
/// which the jitdump test below overrides: it checks every function
/// written at once.
const TIERS: [&[&str]; 3] = [
    &["--engine=jit"],
    &["--engine=aot", "--cache-dir=aot-cache"],
    &["--engine=aot", "--cache-dir=aot-cache"],
];

#[test]
fn the_perf_map_names_each_function_at_its_code() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "guest.wasm", GUEST);
    for (round, tier) in TIERS.iter().enumerate() {
        let mut args = vec!["run", "-v", "--profile=perfmap"];
        args.extend_from_slice(tier);
        args.extend([s(&wasm), "--invoke", "hot", "10"]);
        let (out, pid) = run_in(dir.path(), &args);
        assert_eq!(out.stdout, "385\n", "{tier:?}: {}", out.stderr);
        if round == 2 {
            assert!(out.stderr.contains("cached artifact"), "{}", out.stderr);
        }
        let path = format!("/tmp/perf-{pid}.map");
        let text = std::fs::read_to_string(&path).expect("the perf map was written");
        std::fs::remove_file(&path).unwrap();
        check_entries(&parse_perf_map(&text), &code_range(&out.stderr));
    }
}

#[test]
fn a_precompiled_artifact_is_profiled_where_it_is_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "guest.wasm", GUEST);
    let artifact = dir.path().join("guest.cwasm");
    let out = wasmtier(&["compile", s(&wasm), "-o", s(&artifact)]);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let (out, pid) = run_in(
        dir.path(),
        &[
            "run",
            "-v",
            "--allow-precompiled",
            "--profile=perfmap",
            s(&artifact),
            "--invoke",
            "hot",
            "3",
        ],
    );
    assert_eq!(out.stdout, "14\n", "{}", out.stderr);
    assert!(out.stderr.contains("load the artifact"), "{}", out.stderr);
    let path = format!("/tmp/perf-{pid}.map");
    let text = std::fs::read_to_string(&path).expect("the perf map was written");
    std::fs::remove_file(&path).unwrap();
    check_entries(&parse_perf_map(&text), &code_range(&out.stderr));
}

/// One `JIT_CODE_LOAD` record.
struct CodeLoad {
    pid: u32,
    address: u64,
    name: String,
    code: Vec<u8>,
}

fn parse_jitdump(bytes: &[u8], pid: u32) -> Vec<CodeLoad> {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    assert_eq!(u32_at(0), 0x4A69_5444, "magic");
    assert_eq!(u32_at(4), 1, "version");
    let machine = if cfg!(target_arch = "aarch64") {
        183
    } else {
        62
    };
    assert_eq!(u32_at(12), machine, "EM_X86_64 or EM_AARCH64");
    assert_eq!(u32_at(20), pid);
    let mut at = u32_at(8) as usize;
    let mut loads = Vec::new();
    while at < bytes.len() {
        let (id, size) = (u32_at(at), u32_at(at + 4) as usize);
        assert_eq!(id, 0, "only code-load records are written");
        let (vma, address, len) = (u64_at(at + 24), u64_at(at + 32), u64_at(at + 40));
        assert_eq!(vma, address);
        let name_at = at + 56;
        let name_end = name_at + bytes[name_at..].iter().position(|&b| b == 0).unwrap();
        let code = bytes[name_end + 1..at + size].to_vec();
        assert_eq!(code.len() as u64, len);
        loads.push(CodeLoad {
            pid: u32_at(at + 16),
            address,
            name: String::from_utf8(bytes[name_at..name_end].to_vec()).unwrap(),
            code,
        });
        at += size;
    }
    assert_eq!(at, bytes.len(), "records fill the file exactly");
    loads
}

#[test]
fn the_jitdump_file_holds_each_function_with_its_code() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "guest.wasm", GUEST);
    for tier in TIERS {
        let mut args = vec!["run", "-v", "--profile=jitdump"];
        args.extend_from_slice(tier);
        if tier == ["--engine=jit"] {
            args.push("--compilation=eager");
        }
        args.extend([s(&wasm), "--invoke", "unnamed"]);
        let (out, pid) = run_in(dir.path(), &args);
        assert_eq!(out.stdout, "7\n", "{tier:?}: {}", out.stderr);
        let path = dir.path().join(format!("jit-{pid}.dump"));
        let loads = parse_jitdump(&std::fs::read(&path).unwrap(), pid);
        let entries: Vec<(u64, u64, String)> = loads
            .iter()
            .map(|l| (l.address, l.code.len() as u64, l.name.clone()))
            .collect();
        check_entries(&entries, &code_range(&out.stderr));
        for load in &loads {
            assert_eq!(load.pid, pid);
            // The bytes are the function's: it keeps a frame pointer
            // (`push rbp; mov rbp, rsp`, or aarch64's `stp x29, x30, [sp, #-16]!`).
            let prologue: [u8; 4] = if cfg!(target_arch = "aarch64") {
                [0xfd, 0x7b, 0xbf, 0xa9]
            } else {
                [0x55, 0x48, 0x89, 0xe5]
            };
            assert_eq!(load.code[..4], prologue, "{}", load.name);
        }
    }
}

/// Lazy and tiered compilation write each function when it is compiled,
/// named for its version, while the code range `-v` reports is only what
/// existed before the run (the trampolines).
#[test]
fn lazily_compiled_functions_are_written_as_they_are_compiled() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "guest.wasm", GUEST);
    // Tiered without tier-up: every function stays in its baseline code.
    let modes: [(&str, [&str; 2]); 2] = [
        ("--compilation=lazy", ["helper", "hot_loop"]),
        (
            "--tier-up-after=0",
            ["helper [baseline]", "hot_loop [baseline]"],
        ),
    ];
    for (mode, expected) in modes {
        for format in ["--profile=perfmap", "--profile=jitdump"] {
            let mut args = vec!["run", "-v", "--engine=jit", format, mode];
            if mode.starts_with("--tier") {
                args.push("--compilation=tiered");
            }
            args.extend([s(&wasm), "--invoke", "hot", "10"]);
            let (out, pid) = run_in(dir.path(), &args);
            assert_eq!(out.stdout, "385\n", "{args:?}: {}", out.stderr);
            assert!(
                out.stderr.contains("0 functions")
                    && out.stderr.contains("the others as they are compiled")
                    && out.stderr.contains("profile: 2 function versions written"),
                "{}",
                out.stderr
            );
            let mut entries = if format.ends_with("perfmap") {
                let path = format!("/tmp/perf-{pid}.map");
                let text = std::fs::read_to_string(&path).expect("the perf map was written");
                std::fs::remove_file(&path).unwrap();
                parse_perf_map(&text)
            } else {
                let path = dir.path().join(format!("jit-{pid}.dump"));
                parse_jitdump(&std::fs::read(&path).unwrap(), pid)
                    .iter()
                    .map(|l| (l.address, l.code.len() as u64, l.name.clone()))
                    .collect()
            };
            entries.sort();
            for pair in entries.windows(2) {
                assert!(pair[0].0 + pair[0].1 <= pair[1].0, "{pair:x?}");
            }
            let mut names: Vec<&str> = entries.iter().map(|e| e.2.as_str()).collect();
            names.sort();
            assert_eq!(names, expected, "{args:?}");
        }
    }
}

#[test]
fn the_interpreter_refuses_profile_and_names_the_engines_that_can() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "guest.wasm", GUEST);
    let out = wasmtier(&["run", "--engine=interp", "--profile=perfmap", s(&wasm)]);
    assert_eq!(out.status, Some(1));
    assert!(
        out.stderr.contains("the interp engine does not make")
            && out.stderr.contains("--engine jit or --engine aot"),
        "{}",
        out.stderr
    );
}

/// Runs `perf ARGS` in `dir` with its caches there too; `Err` with the
/// reason when perf is missing or fails.
fn perf(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("perf")
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .output()
        .map_err(|e| format!("cannot run perf: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "perf {} failed: {}",
            args[0],
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn perf_report_shows_the_hot_wasm_function_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wasm(dir.path(), "guest.wasm", GUEST);
    let bin = env!("CARGO_BIN_EXE_wasmtier");
    if let Ok(emulator) = std::env::var("WASMTIER_TEST_EMULATOR") {
        // perf samples the emulator's own translated code, not ours.
        eprintln!("skipped: running under {emulator}, whose code perf sees instead");
        return;
    }
    let probe = perf(dir.path(), &["record", "-o", "probe.data", "--", "true"]);
    if let Err(reason) = probe {
        eprintln!("skipped: perf cannot record here ({reason})");
        return;
    }
    // Eager, then tiered: there the loop runs in its optimized entry,
    // compiled while the program runs.
    for mode in ["--compilation=eager", "--compilation=tiered"] {
        let run = [
            "run",
            "--engine=jit",
            mode,
            "--profile=jitdump",
            s(&wasm),
            "--invoke",
            "hot",
            "300000000",
        ];
        let record = [
            &["record", "-k", "mono", "-o", "perf.data", "--", bin][..],
            &run,
        ]
        .concat();
        perf(dir.path(), &record).unwrap();
        perf(
            dir.path(),
            &["inject", "--jit", "-i", "perf.data", "-o", "perf.jit.data"],
        )
        .unwrap();
        let report = perf(
            dir.path(),
            &[
                "report",
                "-i",
                "perf.jit.data",
                "--stdio",
                "--sort",
                "symbol",
            ],
        )
        .unwrap();
        // The loop and the function it calls take nearly all the samples.
        let named: Vec<&str> = report
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter(|l| l.contains("hot_loop") || l.contains("helper"))
            .collect();
        assert!(
            named.iter().any(|l| l.contains("hot_loop")),
            "{mode}: {report}"
        );
    }
}
