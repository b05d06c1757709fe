//! WASI calls run on the calling thread: the state's current-thread tokio
//! runtime drives `async` calls, so wasmtime-wasi's global multi-thread
//! runtime (a worker per core) and tokio's blocking pool never start.
//!
//! One test in its own binary, so the thread count is ours alone.

#![cfg(target_os = "linux")]

mod common;

use std::fs;

use wasmtier_core::Val;
use wasmtier_wasi::{Preopen, WasiConfig};

use common::{ESUCCESS, Guest, O_CREAT, RIGHT_FD_WRITE};

fn threads() -> usize {
    fs::read_dir("/proc/self/task").unwrap().count()
}

#[test]
fn wasi_calls_start_no_threads() {
    let before = threads();
    let dir = tempfile::tempdir().unwrap();
    // Inherit stdio as the CLI does (but write nowhere visible).
    let config = WasiConfig::new().preopen(Preopen::new(dir.path(), "/"));
    let mut guest = Guest::new(
        &["path_open", "fd_write", "fd_fdstat_get", "poll_oneoff"],
        &config,
    );

    assert_eq!(guest.errno("fd_fdstat_get", &[1, 64]), ESUCCESS);
    guest.write(512, b"f");
    let open = [
        Val::I32(3),
        Val::I32(0),
        Val::I32(512),
        Val::I32(1),
        Val::I32(O_CREAT),
        Val::I64(RIGHT_FD_WRITE),
        Val::I64(0),
        Val::I32(0),
        Val::I32(16),
    ];
    assert_eq!(guest.errno_vals("path_open", &open), ESUCCESS);
    let fd = guest.peek32(16) as i32;
    guest.write_iovec(256, 1024, b"data");
    for _ in 0..100 {
        assert_eq!(guest.errno("fd_write", &[fd, 256, 1, 16]), ESUCCESS);
    }
    // A 1 ms relative sleep on the monotonic clock.
    guest.write32(8 + 8, 1);
    guest.write(24, &1_000_000u64.to_le_bytes());
    assert_eq!(guest.errno("poll_oneoff", &[0, 128, 1, 200]), ESUCCESS);

    assert_eq!(fs::read(dir.path().join("f")).unwrap().len(), 400);
    assert_eq!(threads(), before);
}
