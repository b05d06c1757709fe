//! The timer behind `--timeout`: one thread per store with a deadline,
//! which bumps the store's interrupt counter when the deadline passes.
//! Generated code reads the counter at function entry and loop headers
//! (`translate/fuel.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// A store's interrupt counter and the timer that will bump it.
pub(crate) struct Interrupt {
    counter: Arc<AtomicU64>,
    /// Dropping it wakes the timer thread, which then exits without
    /// touching the counter: a finished store leaves no thread behind.
    _cancel: mpsc::Sender<()>,
}

impl Interrupt {
    /// Starts a timer that fires `after` from now.
    pub fn start(after: Duration) -> Self {
        let counter = Arc::new(AtomicU64::new(0));
        let (cancel, cancelled) = mpsc::channel::<()>();
        let timer_counter = counter.clone();
        let spawned = std::thread::Builder::new()
            .name("wasmtier-timeout".into())
            .spawn(move || {
                if let Err(mpsc::RecvTimeoutError::Timeout) = cancelled.recv_timeout(after) {
                    timer_counter.fetch_add(1, Ordering::Relaxed);
                }
            });
        if spawned.is_err() {
            // No thread, no timer: refuse to run rather than run unbounded.
            counter.store(1, Ordering::Relaxed);
        }
        Self {
            counter,
            _cancel: cancel,
        }
    }

    /// The counter's address, for `VMStoreContext::interrupt`. It stays
    /// valid as long as `self` lives (the store keeps it).
    pub fn address(&self) -> usize {
        Arc::as_ptr(&self.counter) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn the_counter_is_bumped_after_the_deadline_only() {
        let interrupt = Interrupt::start(Duration::from_millis(50));
        assert_eq!(interrupt.counter.load(Ordering::Relaxed), 0);
        let start = Instant::now();
        while interrupt.counter.load(Ordering::Relaxed) == 0 {
            assert!(start.elapsed() < Duration::from_secs(10));
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(start.elapsed() >= Duration::from_millis(40));
    }
}
