//! What one WASI call costs through the interpreter. Ignored by default; run
//! with `cargo test -p wasmtier-wasi --release --test interp cost -- --ignored --nocapture`.

use std::time::Instant;

use wasmtier_core::Val;
use wasmtier_wasi::Preopen;

use crate::common::{ESUCCESS, Guest, O_CREAT, O_TRUNC, RIGHT_FD_WRITE, quiet};

const CALLS: i32 = 100_000;

/// `$name_loop(n, args…)`: calls the import `n` times.
const LOOPS: &str = r#"
  (func (export "yield_loop") (param $n i32)
    (loop $l
      (drop (call $sched_yield))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "write_loop") (param $n i32) (param $fd i32)
    (loop $l
      (drop (call $fd_write (local.get $fd) (i32.const 256) (i32.const 1) (i32.const 16)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
"#;

fn per_call(guest: &mut Guest, export: &str, args: &[Val]) -> f64 {
    let start = Instant::now();
    guest.try_call(export, args).unwrap();
    start.elapsed().as_nanos() as f64 / f64::from(CALLS)
}

#[test]
#[ignore = "measurement, not a check"]
fn cost_of_one_call() {
    // wasmi 2.0's tail-call dispatch is only stack-flat when LLVM turns its
    // handler calls into jumps, which a build with debug assertions does not
    // (wasmi-labs/wasmi#2039): there, each loop iteration that calls an
    // import grows the native stack. Give the measurement room either way.
    std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(measure)
        .unwrap()
        .join()
        .unwrap();
}

fn measure() {
    let dir = tempfile::tempdir().unwrap();
    let config = quiet().preopen(Preopen::new(dir.path(), "/"));
    let mut guest = Guest::with_extra(&["sched_yield", "fd_write", "path_open"], LOOPS, &config);
    guest.write(512, b"out");
    let open = [3, 0, 512, 3, O_CREAT | O_TRUNC].map(Val::I32);
    let open = [
        &open[..],
        &[Val::I64(RIGHT_FD_WRITE), Val::I64(0)],
        &[Val::I32(0), Val::I32(16)],
    ]
    .concat();
    assert_eq!(guest.errno_vals("path_open", &open), ESUCCESS);
    let fd = guest.peek32(16) as i32;
    guest.write_iovec(256, 1024, b"0123456789abcdef");

    // Warm up, then measure.
    per_call(&mut guest, "yield_loop", &[Val::I32(1000)]);
    let yield_ns = per_call(&mut guest, "yield_loop", &[Val::I32(CALLS)]);
    let file_ns = per_call(&mut guest, "write_loop", &[Val::I32(CALLS), Val::I32(fd)]);
    let sink_ns = per_call(&mut guest, "write_loop", &[Val::I32(CALLS), Val::I32(1)]);
    let written = std::fs::metadata(dir.path().join("out")).unwrap().len();
    assert_eq!(written, 16 * CALLS as u64);
    println!("sched_yield (glue + interpreter round trip): {yield_ns:.0} ns/call");
    println!("fd_write, 16 bytes to a file:                {file_ns:.0} ns/call");
    println!("fd_write, 16 bytes to a discarded stdout:    {sink_ns:.0} ns/call");
}
