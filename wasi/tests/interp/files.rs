use std::fs;

use wasmtier_core::Val;
use wasmtier_wasi::Preopen;

use crate::common::{
    EBADF, ENOENT, ENOTCAPABLE, ESUCCESS, Guest, O_CREAT, O_TRUNC, RIGHT_FD_READ, RIGHT_FD_WRITE,
    quiet,
};

/// The first preopen's fd.
const PREOPEN_FD: i32 = 3;
const EPERM: i32 = 63;
const FILETYPE_DIRECTORY: u8 = 3;
const FILETYPE_REGULAR_FILE: u8 = 4;

// Scratch layout in guest memory.
const OUT: i32 = 16; // out-parameters
const IOV: i32 = 256;
const PATH: i32 = 512;
const DATA: i32 = 1024;

const FILE_IMPORTS: &[&str] = &[
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "path_open",
    "fd_write",
    "fd_read",
    "fd_seek",
    "fd_close",
    "path_create_directory",
    "path_filestat_get",
    "path_remove_directory",
    "path_unlink_file",
];

/// `path_open` of `path` under the preopen; returns `(errno, fd)`.
fn open(guest: &mut Guest, path: &str, oflags: i32, rights: i64) -> (i32, i32) {
    guest.write(PATH, path.as_bytes());
    let errno = guest.errno_vals(
        "path_open",
        &[
            Val::I32(PREOPEN_FD),
            Val::I32(0),
            Val::I32(PATH),
            Val::I32(path.len() as i32),
            Val::I32(oflags),
            Val::I64(rights),
            Val::I64(0),
            Val::I32(0),
            Val::I32(OUT),
        ],
    );
    (errno, guest.peek32(OUT) as i32)
}

fn write(guest: &mut Guest, fd: i32, bytes: &[u8]) -> (i32, u32) {
    guest.write_iovec(IOV, DATA, bytes);
    let errno = guest.errno("fd_write", &[fd, IOV, 1, OUT]);
    (errno, guest.peek32(OUT))
}

fn read(guest: &mut Guest, fd: i32, max: u32) -> Vec<u8> {
    guest.write32(IOV, DATA as u32);
    guest.write32(IOV + 4, max);
    assert_eq!(guest.errno("fd_read", &[fd, IOV, 1, OUT]), ESUCCESS);
    let n = guest.peek32(OUT);
    guest.read(DATA, n as usize)
}

/// A path call taking `(fd, path, path_len, …rest)`.
fn path_call(guest: &mut Guest, name: &str, path: &str, rest: &[i32]) -> i32 {
    guest.write(PATH, path.as_bytes());
    let mut args = vec![PREOPEN_FD, PATH, path.len() as i32];
    args.extend_from_slice(rest);
    guest.errno(name, &args)
}

#[test]
fn preopen_is_announced_under_its_guest_name() {
    let dir = tempfile::tempdir().unwrap();
    let config = quiet().preopen(Preopen::new(dir.path(), "/sandbox"));
    let mut guest = Guest::new(FILE_IMPORTS, &config);

    assert_eq!(guest.errno("fd_prestat_get", &[PREOPEN_FD, OUT]), ESUCCESS);
    assert_eq!(guest.peek8(OUT), 0, "tag: directory");
    let len = guest.peek32(OUT + 4);
    assert_eq!(len, 8);
    assert_eq!(
        guest.errno("fd_prestat_dir_name", &[PREOPEN_FD, PATH, len as i32]),
        ESUCCESS
    );
    assert_eq!(guest.read(PATH, len as usize), b"/sandbox");
    assert_eq!(guest.errno("fd_prestat_get", &[PREOPEN_FD + 1, OUT]), EBADF);
}

#[test]
fn guest_writes_a_file_the_host_can_read() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("out.txt"),
        "old contents, longer than the new",
    )
    .unwrap();
    let config = quiet().preopen(Preopen::new(dir.path(), "/"));
    let mut guest = Guest::new(FILE_IMPORTS, &config);

    let (errno, fd) = open(&mut guest, "out.txt", O_CREAT | O_TRUNC, RIGHT_FD_WRITE);
    assert_eq!(errno, ESUCCESS);
    assert!(fd > PREOPEN_FD);
    assert_eq!(write(&mut guest, fd, b"hello, "), (ESUCCESS, 7));
    assert_eq!(write(&mut guest, fd, b"host\n"), (ESUCCESS, 5));
    assert_eq!(guest.errno("fd_close", &[fd]), ESUCCESS);
    assert_eq!(guest.errno("fd_close", &[fd]), EBADF);

    assert_eq!(
        fs::read_to_string(dir.path().join("out.txt")).unwrap(),
        "hello, host\n"
    );
}

#[test]
fn guest_reads_and_seeks_in_a_host_file() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("in.txt"), "from the host").unwrap();
    let config = quiet().preopen(Preopen::new(dir.path(), "/"));
    let mut guest = Guest::new(FILE_IMPORTS, &config);

    let (errno, fd) = open(&mut guest, "in.txt", 0, RIGHT_FD_READ);
    assert_eq!(errno, ESUCCESS);
    assert_eq!(read(&mut guest, fd, 4), b"from");
    let whence_set = 0;
    let errno = guest.errno_vals(
        "fd_seek",
        &[
            Val::I32(fd),
            Val::I64(5),
            Val::I32(whence_set),
            Val::I32(OUT),
        ],
    );
    assert_eq!(errno, ESUCCESS);
    assert_eq!(guest.peek64(OUT), 5);
    assert_eq!(read(&mut guest, fd, 64), b"the host");
    assert_eq!(read(&mut guest, fd, 64), b"", "end of file");

    assert_eq!(open(&mut guest, "missing.txt", 0, RIGHT_FD_READ).0, ENOENT);
}

#[test]
fn read_only_preopen_refuses_writes_but_allows_reads() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("in.txt"), "readable").unwrap();
    let config = quiet().preopen(Preopen::new(dir.path(), "/").read_only());
    let mut guest = Guest::new(FILE_IMPORTS, &config);

    let (errno, _) = open(&mut guest, "new.txt", O_CREAT, RIGHT_FD_WRITE);
    assert_ne!(errno, ESUCCESS);
    assert!(!dir.path().join("new.txt").exists());
    let (errno, _) = open(&mut guest, "in.txt", 0, RIGHT_FD_READ | RIGHT_FD_WRITE);
    assert_ne!(errno, ESUCCESS, "no write access to existing files either");
    assert_ne!(
        path_call(&mut guest, "path_create_directory", "sub", &[]),
        ESUCCESS
    );

    let (errno, fd) = open(&mut guest, "in.txt", 0, RIGHT_FD_READ);
    assert_eq!(errno, ESUCCESS);
    assert_eq!(read(&mut guest, fd, 64), b"readable");
}

#[test]
fn paths_cannot_escape_the_preopen() {
    let outer = tempfile::tempdir().unwrap();
    let sandbox = outer.path().join("sandbox");
    fs::create_dir(&sandbox).unwrap();
    fs::write(outer.path().join("secret.txt"), "secret").unwrap();
    let config = quiet().preopen(Preopen::new(&sandbox, "/"));
    let mut guest = Guest::new(FILE_IMPORTS, &config);

    for path in ["../secret.txt", "/etc/passwd"] {
        let (errno, _) = open(&mut guest, path, 0, RIGHT_FD_READ);
        assert!(
            [ENOTCAPABLE, EPERM].contains(&errno),
            "{path}: errno {errno}"
        );
    }
    let (errno, _) = open(&mut guest, "../escaped.txt", O_CREAT, RIGHT_FD_WRITE);
    assert!([ENOTCAPABLE, EPERM].contains(&errno), "errno {errno}");
    assert!(!outer.path().join("escaped.txt").exists());
}

#[test]
fn directories_are_created_inspected_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("file.txt"), "x").unwrap();
    let config = quiet().preopen(Preopen::new(dir.path(), "/"));
    let mut guest = Guest::new(FILE_IMPORTS, &config);

    assert_eq!(
        path_call(&mut guest, "path_create_directory", "sub", &[]),
        ESUCCESS
    );
    assert!(dir.path().join("sub").is_dir());

    // filestat: dev u64, ino u64, filetype u8 at 16, …, size u64 at 32.
    let filestat = |guest: &mut Guest, path: &str| {
        guest.write(PATH, path.as_bytes());
        let errno = guest.errno(
            "path_filestat_get",
            &[PREOPEN_FD, 0, PATH, path.len() as i32, 64],
        );
        assert_eq!(errno, ESUCCESS, "{path}");
        (guest.peek8(64 + 16), guest.peek64(64 + 32))
    };
    assert_eq!(filestat(&mut guest, "sub").0, FILETYPE_DIRECTORY);
    assert_eq!(filestat(&mut guest, "file.txt"), (FILETYPE_REGULAR_FILE, 1));

    assert_eq!(
        path_call(&mut guest, "path_remove_directory", "sub", &[]),
        ESUCCESS
    );
    assert!(!dir.path().join("sub").exists());
    assert_eq!(
        path_call(&mut guest, "path_unlink_file", "file.txt", &[]),
        ESUCCESS
    );
    assert!(!dir.path().join("file.txt").exists());
}

#[test]
fn stdout_without_inherited_stdio_swallows_writes() {
    let mut guest = Guest::new(&["fd_write"], &quiet());
    assert_eq!(write(&mut guest, 1, b"discarded\n"), (ESUCCESS, 10));
    assert_eq!(write(&mut guest, 42, b"x").0, EBADF);
}
