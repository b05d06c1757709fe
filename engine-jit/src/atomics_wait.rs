//! `memory.atomic.wait32/64` and `memory.atomic.notify`: a process-wide
//! queue of waiting threads per address.
//!
//! Shared memories never move and are one mapping in the process, so the
//! native address names the same cell for every thread and store. A waiter
//! compares the memory's value with what it expects while holding the
//! queue's lock, then enqueues itself; `notify` dequeues under the same
//! lock, so a notify that follows a store can never slip between a
//! waiter's check and its sleep. Waiters are woken first-in, first-out.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::thread::Thread;
use std::time::{Duration, Instant};

use wasmtier_core::TrapCode;

/// The value a waiter expects at its address.
#[derive(Debug, Clone, Copy)]
pub enum Expected {
    U32(u32),
    U64(u64),
}

/// What `memory.atomic.wait` returns to Wasm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum WaitOutcome {
    Woken = 0,
    NotEqual = 1,
    TimedOut = 2,
}

struct Waiter {
    thread: Thread,
    woken: AtomicBool,
}

type Queues = HashMap<usize, VecDeque<Arc<Waiter>>>;

static QUEUES: LazyLock<Mutex<Queues>> = LazyLock::new(Mutex::default);

fn queues() -> MutexGuard<'static, Queues> {
    // Nothing panics while holding the lock; recover rather than poison
    // every later wait if something ever did.
    QUEUES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Waits at `address` while it holds `expected`, for at most `timeout`
/// (`None`: no limit), or traps "interrupted" when the store's `deadline`
/// passes first.
///
/// # Safety
/// `address` must be aligned for the expected value's width and inside a
/// live shared memory for the whole call.
pub unsafe fn wait(
    address: usize,
    expected: Expected,
    timeout: Option<Duration>,
    deadline: Option<Instant>,
) -> Result<WaitOutcome, TrapCode> {
    let start = Instant::now();
    let give_up = timeout.and_then(|t| start.checked_add(t));
    let waiter = {
        let mut queues = queues();
        // SAFETY: the caller's contract: an aligned address in live memory
        // that other threads access atomically or racily, never through a
        // Rust reference.
        let equal = unsafe {
            match expected {
                Expected::U32(v) => {
                    AtomicU32::from_ptr(address as *mut u32).load(Ordering::SeqCst) == v
                }
                Expected::U64(v) => {
                    AtomicU64::from_ptr(address as *mut u64).load(Ordering::SeqCst) == v
                }
            }
        };
        if !equal {
            return Ok(WaitOutcome::NotEqual);
        }
        if timeout == Some(Duration::ZERO) {
            return Ok(WaitOutcome::TimedOut);
        }
        let waiter = Arc::new(Waiter {
            thread: std::thread::current(),
            woken: AtomicBool::new(false),
        });
        queues.entry(address).or_default().push_back(waiter.clone());
        waiter
    };
    loop {
        if waiter.woken.load(Ordering::Acquire) {
            return Ok(WaitOutcome::Woken);
        }
        let now = Instant::now();
        let until = match (give_up, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match until {
            Some(until) if now >= until => {
                // Leave the queue, unless a notify took us out meanwhile.
                let mut queues = queues();
                if waiter.woken.load(Ordering::Acquire) {
                    return Ok(WaitOutcome::Woken);
                }
                if let Some(queue) = queues.get_mut(&address) {
                    queue.retain(|w| !Arc::ptr_eq(w, &waiter));
                    if queue.is_empty() {
                        queues.remove(&address);
                    }
                }
                return if deadline.is_some_and(|d| now >= d) {
                    Err(TrapCode::Interrupted)
                } else {
                    Ok(WaitOutcome::TimedOut)
                };
            }
            Some(until) => std::thread::park_timeout(until - now),
            None => std::thread::park(),
        }
    }
}

/// Wakes up to `count` threads waiting at `address`; how many it woke.
pub fn notify(address: usize, count: u32) -> u32 {
    if count == 0 {
        return 0;
    }
    let mut queues = queues();
    let Some(queue) = queues.get_mut(&address) else {
        return 0;
    };
    let mut woken = 0;
    while woken < count {
        let Some(waiter) = queue.pop_front() else {
            break;
        };
        waiter.woken.store(true, Ordering::Release);
        waiter.thread.unpark();
        woken += 1;
    }
    if queue.is_empty() {
        queues.remove(&address);
    }
    woken
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_different_value_or_a_zero_timeout_returns_at_once() {
        let cell = AtomicU64::new(7);
        let address = cell.as_ptr() as usize;
        // SAFETY: an aligned, live atomic.
        unsafe {
            assert_eq!(
                wait(address, Expected::U64(8), None, None),
                Ok(WaitOutcome::NotEqual)
            );
            assert_eq!(
                wait(address, Expected::U64(7), Some(Duration::ZERO), None),
                Ok(WaitOutcome::TimedOut)
            );
            assert_eq!(
                wait(
                    address,
                    Expected::U64(7),
                    Some(Duration::from_millis(20)),
                    None
                ),
                Ok(WaitOutcome::TimedOut)
            );
        }
        assert_eq!(notify(address, 1), 0, "the timed-out waiter left the queue");
    }

    #[test]
    fn notify_wakes_a_waiter_and_reports_it() {
        let cell = Arc::new(AtomicU32::new(0));
        let address = cell.as_ptr() as usize;
        let waiting = std::thread::spawn(move || {
            // SAFETY: an aligned atomic kept alive by the test below.
            unsafe { wait(address, Expected::U32(0), None, None) }
        });
        let mut woken = 0;
        while woken == 0 {
            std::thread::sleep(Duration::from_millis(5));
            woken = notify(address, 5);
        }
        assert_eq!(woken, 1);
        assert_eq!(waiting.join().unwrap(), Ok(WaitOutcome::Woken));
        drop(cell);
    }

    #[test]
    fn the_store_deadline_interrupts_an_endless_wait() {
        let cell = AtomicU32::new(0);
        let deadline = Instant::now() + Duration::from_millis(30);
        // SAFETY: an aligned, live atomic.
        let outcome = unsafe {
            wait(
                cell.as_ptr() as usize,
                Expected::U32(0),
                None,
                Some(deadline),
            )
        };
        assert_eq!(outcome, Err(TrapCode::Interrupted));
        assert!(Instant::now() >= deadline);
    }
}
