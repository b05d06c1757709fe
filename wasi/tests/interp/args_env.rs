use wasmtier_core::Val;
use wasmtier_wasi::WasiConfig;

use crate::common::{ESUCCESS, Guest, quiet};

/// Reads the `count` NUL-terminated strings a `*_get` call wrote: `count`
/// pointers at `ptrs`, each into the buffer.
fn read_string_list(guest: &mut Guest, ptrs: i32, count: u32) -> Vec<String> {
    (0..count as i32)
        .map(|i| {
            let ptr = guest.peek32(ptrs + 4 * i);
            guest.read_c_str(ptr as i32)
        })
        .collect()
}

#[test]
fn args_reach_the_guest_in_order() {
    let config = quiet().args(["prog.wasm", "hello", "wörld", ""]);
    let mut guest = Guest::new(&["args_sizes_get", "args_get"], &config);

    assert_eq!(guest.errno("args_sizes_get", &[0, 4]), ESUCCESS);
    let argc = guest.peek32(0);
    let buf_size = guest.peek32(4);
    assert_eq!(argc, 4);
    assert_eq!(
        buf_size as usize,
        "prog.wasm".len() + "hello".len() + "wörld".len() + 4
    );

    assert_eq!(guest.errno("args_get", &[64, 256]), ESUCCESS);
    assert_eq!(guest.peek32(64), 256, "argv[0] starts the buffer");
    assert_eq!(
        read_string_list(&mut guest, 64, argc),
        ["prog.wasm", "hello", "wörld", ""]
    );
    // The buffer is exactly the strings, back to back.
    let mut expected = b"prog.wasm\0hello\0".to_vec();
    expected.extend_from_slice("wörld\0\0".as_bytes());
    assert_eq!(guest.read(256, buf_size as usize), expected);
}

#[test]
fn environment_is_only_what_was_granted() {
    let config = quiet().env("A", "1").env("PATH_LIKE", "x=y:z");
    let mut guest = Guest::new(&["environ_sizes_get", "environ_get"], &config);

    assert_eq!(guest.errno("environ_sizes_get", &[0, 4]), ESUCCESS);
    assert_eq!(guest.peek32(0), 2);
    assert_eq!(guest.peek32(4) as usize, "A=1\0PATH_LIKE=x=y:z\0".len());
    assert_eq!(guest.errno("environ_get", &[64, 256]), ESUCCESS);
    assert_eq!(
        read_string_list(&mut guest, 64, 2),
        ["A=1", "PATH_LIKE=x=y:z"]
    );

    let mut empty = Guest::new(
        &["environ_sizes_get"],
        &WasiConfig::new().inherit_stdio(false),
    );
    assert_eq!(empty.errno("environ_sizes_get", &[0, 4]), ESUCCESS);
    assert_eq!((empty.peek32(0), empty.peek32(4)), (0, 0));
}

/// The witx ABI: "if an out-of-bounds pointer is passed to a function and
/// the function needs to dereference it, the function shall trap".
#[test]
fn a_pointer_outside_memory_traps() {
    let config = quiet().arg("prog");
    let mut guest = Guest::new(&["args_get"], &config);
    // 64 KiB of memory; argv at the last byte cannot hold a pointer.
    let trap = guest.trap("args_get", &[Val::I32(65535), Val::I32(0)]);
    let message = trap.to_string();
    assert!(
        message.contains("wasi_snapshot_preview1::args_get"),
        "{message}"
    );
    assert!(message.contains("out of bounds"), "{message}");
    assert_eq!(trap.exit_status(), None);
}
