//! Compiling ahead: a function compiled because it was called has its
//! direct callees queued for worker threads, since they are likely next.
//!
//! The queue is a plain list under a lock, not a channel, so that the
//! thread that runs the guest can take work from it too: tiered, when the
//! function it needs is being compiled by a worker, it compiles the next
//! queued one instead of sleeping until the worker is done. Baseline
//! compiles take microseconds, and a sleep and wake-up per function (two
//! system calls and a context switch) cost more than the compile; on two
//! cores the generated 20,000-function module started no faster than on
//! one. So tiered runs start one worker fewer than there are cores and the
//! guest's thread is the last compiler. Lazily compiled (optimized) code
//! does not help: one optimized compile can take longer than the wait.
//!
//! Concurrent compilation (`Compilation::Concurrent`) adds a sweep: once
//! nothing is queued, the workers compile every function nobody has, in
//! index order, so that code the program reaches later (a C program's
//! `printf` at its end) is compiled on the other core while it runs. A
//! worker then queues the callees of what it compiles as well: the sweep
//! runs ahead of the program in call order, and reaches what `main`
//! calls before what its index comes after.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::{Arc, Condvar, Mutex, Weak};

use super::COMPILER_STACK;
use crate::module::JitModule;

/// The queue of functions to compile ahead, and its workers' wake-up.
#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    work: Condvar,
}

#[derive(Default)]
struct QueueState {
    /// Defined function indexes, in the order they were queued (the order
    /// of their calls in the caller).
    pending: VecDeque<u32>,
    /// Defined function indexes still to sweep through when nothing is
    /// pending (concurrent compilation; empty otherwise).
    sweep: Range<u32>,
    /// A worker queues the callees of what it compiles (concurrent
    /// compilation, where every function is compiled anyway and only the
    /// order is chosen).
    follow_calls: bool,
    /// Workers asleep on `work`: a wake-up is a system call, made only
    /// when one is.
    idle: usize,
    /// Started (or failed to start any worker).
    started: bool,
    /// The module is gone: workers leave.
    closed: bool,
}

/// A module's compile-ahead queue; its workers start with the first
/// queued function and leave when the module is dropped.
#[derive(Default)]
pub(super) struct Prefetch {
    queue: Arc<Queue>,
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        let mut state = self.queue.lock();
        state.closed = true;
        state.pending.clear();
        drop(state);
        self.queue.work.notify_all();
    }
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next function to compile, sleeping while there is none; `None`
    /// once the module is gone.
    fn next(&self) -> Option<u32> {
        let mut state = self.lock();
        loop {
            if state.closed {
                return None;
            }
            if let Some(next) = state.pending.pop_front().or_else(|| state.sweep.next()) {
                return Some(next);
            }
            state.idle += 1;
            state = self.work.wait(state).unwrap_or_else(|e| e.into_inner());
            state.idle -= 1;
        }
    }
}

impl Prefetch {
    /// Queues `functions` (defined indexes) for compiling ahead, starting
    /// the workers the first time (one fewer when the guest's thread
    /// `helps`; see [`workers`]).
    pub fn push(&self, module: &Arc<JitModule>, functions: Vec<u32>, helps: bool) {
        let mut state = self.queue.lock();
        self.start(&mut state, module, || workers(helps));
        if state.closed {
            return;
        }
        let wake = state.idle.min(functions.len());
        state.pending.extend(functions);
        drop(state);
        for _ in 0..wake {
            self.queue.work.notify_one();
        }
    }

    /// Has the workers compile defined functions `0..count` (skipping the
    /// ones another thread has started) whenever nothing is queued. The
    /// guest's thread compiles what it reaches first, so one worker fewer
    /// than there are cores: none on one core, where calls compile on
    /// demand as in lazy compilation.
    pub fn sweep(&self, module: &Arc<JitModule>, count: u32) {
        let mut state = self.queue.lock();
        self.start(&mut state, module, || cores() - 1);
        if state.closed {
            return;
        }
        state.sweep = 0..count;
        state.follow_calls = true;
        let wake = state.idle;
        drop(state);
        for _ in 0..wake {
            self.queue.work.notify_one();
        }
    }

    /// Starts `count` workers the first time; with none started, the
    /// queue is closed and calls compile on demand.
    fn start(
        &self,
        state: &mut QueueState,
        module: &Arc<JitModule>,
        count: impl FnOnce() -> usize,
    ) {
        if state.started {
            return;
        }
        state.started = true;
        let mut started = 0;
        for _ in 0..count() {
            let module: Weak<JitModule> = Arc::downgrade(module);
            let queue = self.queue.clone();
            let spawned = std::thread::Builder::new()
                .name("wasmtier-prefetch".into())
                .stack_size(COMPILER_STACK)
                .spawn(move || {
                    while let Some(defined) = queue.next() {
                        let Some(module) = module.upgrade() else {
                            break;
                        };
                        // Errors are left for the call that needs the
                        // function: it compiles again and reports them.
                        if let Some(Ok((_, profile))) = module.try_compile_first(defined)
                            && queue.lock().follow_calls
                        {
                            module.prefetch(profile.callees);
                        }
                    }
                });
            started += usize::from(spawned.is_ok());
        }
        if started == 0 {
            state.closed = true;
        }
    }

    /// Takes the next queued function, if any, for the caller to compile.
    pub fn take(&self) -> Option<u32> {
        self.queue.lock().pending.pop_front()
    }
}

/// How many workers compile ahead: one per core, or with the guest's
/// thread helping (`helps`), one per core but that thread's.
fn workers(helps: bool) -> usize {
    let cores = cores();
    if helps { (cores - 1).max(1) } else { cores }
}

/// Cores this process may run on. Asked once per module, when the
/// workers start: `available_parallelism` reads cgroup files (a dozen
/// system calls).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_functions_come_out_in_order_and_a_dropped_queue_ends_its_workers() {
        let prefetch = Prefetch::default();
        {
            let mut state = prefetch.queue.lock();
            state.started = true;
            state.pending.extend([3, 1, 2]);
        }
        assert_eq!(prefetch.take(), Some(3));
        assert_eq!(prefetch.queue.next(), Some(1));
        let queue = prefetch.queue.clone();
        let worker = std::thread::spawn(move || {
            let mut seen = Vec::new();
            while let Some(f) = queue.next() {
                seen.push(f);
            }
            seen
        });
        // The worker takes 2, then sleeps until the drop wakes it.
        while prefetch.queue.lock().idle == 0 {
            std::thread::yield_now();
        }
        drop(prefetch);
        assert_eq!(worker.join().unwrap(), [2]);
    }

    #[test]
    fn a_sweep_comes_after_what_is_queued_and_ends() {
        let prefetch = Prefetch::default();
        {
            let mut state = prefetch.queue.lock();
            state.started = true;
            state.sweep = 0..3;
            state.pending.extend([7]);
        }
        let queue = &prefetch.queue;
        let taken: Vec<u32> = (0..4).filter_map(|_| queue.next()).collect();
        assert_eq!(taken, [7, 0, 1, 2]);
        // Swept through: nothing is left to hand out.
        {
            let state = prefetch.queue.lock();
            assert!(state.pending.is_empty() && state.sweep.is_empty());
        }
        // `take` (which only the guest's thread calls, tiered) never hands
        // out sweep work.
        prefetch.queue.lock().sweep = 5..6;
        assert_eq!(prefetch.take(), None);
    }
}
