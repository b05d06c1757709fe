use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wasmtier_core::Val;

use crate::common::{ESUCCESS, Guest, quiet};

const REALTIME: i32 = 0;
const MONOTONIC: i32 = 1;

fn time(guest: &mut Guest, clock: i32) -> u64 {
    let errno = guest.errno_vals(
        "clock_time_get",
        &[Val::I32(clock), Val::I64(1), Val::I32(8)],
    );
    assert_eq!(errno, ESUCCESS);
    guest.peek64(8)
}

#[test]
fn clocks_tell_the_time() {
    let mut guest = Guest::new(&["clock_time_get", "clock_res_get"], &quiet());

    let host_now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let guest_now = Duration::from_nanos(time(&mut guest, REALTIME));
    assert!(guest_now.abs_diff(host_now) < Duration::from_secs(60));

    let first = time(&mut guest, MONOTONIC);
    std::thread::sleep(Duration::from_millis(2));
    let second = time(&mut guest, MONOTONIC);
    assert!(second >= first + 2_000_000, "{first} then {second}");

    assert_eq!(guest.errno("clock_res_get", &[MONOTONIC, 16]), ESUCCESS);
    assert!(guest.peek64(16) > 0);
}

/// wiggle rejects an out-of-range enum argument before the call: a trap, as
/// in wasmtime, not `EINVAL`.
#[test]
fn unknown_clock_traps() {
    let mut guest = Guest::new(&["clock_res_get"], &quiet());
    let trap = guest.trap("clock_res_get", &[Val::I32(99), Val::I32(16)]);
    assert!(
        trap.to_string().contains("Invalid enum value Clockid"),
        "{trap}"
    );
}

#[test]
fn random_get_fills_the_buffer() {
    let mut guest = Guest::new(&["random_get"], &quiet());
    assert_eq!(guest.errno("random_get", &[100, 64]), ESUCCESS);
    let first = guest.read(100, 64);
    assert_eq!(guest.errno("random_get", &[100, 64]), ESUCCESS);
    let second = guest.read(100, 64);
    assert_ne!(first, vec![0; 64]);
    assert_ne!(first, second);
    // Bytes around the buffer are untouched.
    assert_eq!((guest.peek8(99), guest.peek8(164)), (0, 0));
}

/// Writes a relative monotonic-clock subscription at `at`. Layout (48
/// bytes): userdata u64 at 0, tag u8 at 8 (0 = clock), then the clock: id
/// u32 at 16, timeout u64 at 24, precision u64 at 32, flags u16 at 40.
fn clock_subscription(guest: &mut Guest, at: i32, userdata: u64, timeout: Duration) {
    guest.write(at, &userdata.to_le_bytes());
    guest.write(at + 8, &[0]);
    guest.write32(at + 16, MONOTONIC as u32);
    guest.write(at + 24, &(timeout.as_nanos() as u64).to_le_bytes());
}

/// Polls `n` subscriptions at 0; events (32 bytes: userdata u64 at 0,
/// errno u16 at 8, type u8 at 10) go to 512. Returns the elapsed time and
/// the first event's userdata.
fn poll(guest: &mut Guest, n: i32) -> (Duration, u64) {
    let start = Instant::now();
    assert_eq!(guest.errno("poll_oneoff", &[0, 512, n, 1000]), ESUCCESS);
    let elapsed = start.elapsed();
    assert_eq!(guest.peek32(1000), 1, "one event");
    assert_eq!(guest.peek8(512 + 8), 0, "no error");
    assert_eq!(guest.peek8(512 + 10), 0, "event type is clock");
    (elapsed, guest.peek64(512))
}

/// wasmtime-wasi answers a lone relative clock with `thread::sleep`.
#[test]
fn poll_oneoff_sleeps_on_one_clock() {
    let mut guest = Guest::new(&["poll_oneoff"], &quiet());
    clock_subscription(&mut guest, 0, 0xfeed, Duration::from_millis(5));
    let (elapsed, userdata) = poll(&mut guest, 1);
    assert!(elapsed >= Duration::from_millis(5));
    assert_eq!(userdata, 0xfeed);
}

/// Two clocks take the general path: tokio timers, which only fire if the
/// store's current-thread runtime is driven by `Runtime::block_on`.
#[test]
fn poll_oneoff_wakes_on_the_earlier_of_two_clocks() {
    let mut guest = Guest::new(&["poll_oneoff"], &quiet());
    clock_subscription(&mut guest, 0, 1, Duration::from_secs(10));
    clock_subscription(&mut guest, 48, 2, Duration::from_millis(5));
    let (elapsed, userdata) = poll(&mut guest, 2);
    assert!(elapsed >= Duration::from_millis(5));
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert_eq!(userdata, 2);
}

#[test]
fn sched_yield_succeeds() {
    let mut guest = Guest::new(&["sched_yield"], &quiet());
    assert_eq!(guest.errno("sched_yield", &[]), ESUCCESS);
}
