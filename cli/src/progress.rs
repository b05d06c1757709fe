//! A progress bar for long compilations: functions compiled out of the
//! total, on stderr, only when stderr is a terminal and only once a
//! compilation has taken longer than a moment (quick ones draw nothing).
//! The bar is cleared when compilation ends, however it ends. Reading and
//! validating a module, which has no count to show, gets a spinner under
//! the same rules ([`Spinner`]).

use std::io::IsTerminal;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use wasmtier_core::CompileProgress;

/// How long a compilation runs before the bar appears.
const DEFAULT_DELAY: Duration = Duration::from_secs(1);

/// Overrides [`DEFAULT_DELAY`] in milliseconds (the tests draw the bar at
/// once this way).
const DELAY_VARIABLE: &str = "WASMTIER_PROGRESS_DELAY_MS";

fn delay() -> Duration {
    std::env::var(DELAY_VARIABLE)
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(DEFAULT_DELAY, Duration::from_millis)
}

#[derive(Default)]
struct State {
    started: Option<Instant>,
    bar: Option<ProgressBar>,
}

/// Draws compile progress while it lives; dropping it clears the bar.
pub struct CompileBar {
    delay: Duration,
    state: Arc<Mutex<State>>,
}

impl CompileBar {
    /// A bar on stderr, or `None` when stderr is not a terminal: output
    /// meant for a file or a pipe gets no escape sequences.
    pub fn for_stderr() -> Option<Self> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        Some(Self {
            delay: delay(),
            state: Arc::default(),
        })
    }

    /// The callback for `EngineConfig::progress`.
    pub fn hook(&self) -> CompileProgress {
        let (state, delay) = (self.state.clone(), self.delay);
        CompileProgress::new(move |done, total| {
            let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
            update(&mut state, delay, done, total);
        })
    }
}

fn update(state: &mut State, delay: Duration, done: usize, total: usize) {
    let started = *state.started.get_or_insert_with(Instant::now);
    if state.bar.is_none() && started.elapsed() >= delay && done < total {
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        let style =
            ProgressStyle::with_template("compiling {pos}/{len} functions {bar:30} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        state.bar = Some(bar);
    }
    if let Some(bar) = &state.bar {
        bar.set_position(done as u64);
    }
    if done >= total {
        // Ready for the next compilation (a run may compile more than one).
        if let Some(bar) = state.bar.take() {
            bar.finish_and_clear();
        }
        state.started = None;
    }
}

impl Drop for CompileBar {
    fn drop(&mut self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(bar) = state.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// A spinner with a message, for work without a count; drawn once the
/// work has taken longer than the delay, cleared when dropped.
pub struct Spinner {
    bar: ProgressBar,
    /// Set when the work is over; the waiter draws nothing after that.
    done: Arc<(Mutex<bool>, Condvar)>,
    waiter: Option<JoinHandle<()>>,
}

impl Spinner {
    /// Starts timing `message`'s work; `None` when stderr is not a terminal.
    pub fn start(message: String) -> Option<Self> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        let style = ProgressStyle::with_template("{spinner} {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        bar.set_style(style);
        bar.set_message(message);
        let done = Arc::new((Mutex::new(false), Condvar::new()));
        let delay = delay();
        if delay.is_zero() {
            // Drawn before the work starts, however quick it is (the tests).
            show(&bar);
            return Some(Self {
                bar,
                done,
                waiter: None,
            });
        }
        let (shown, over) = (bar.clone(), done.clone());
        let waiter = std::thread::spawn(move || {
            let (lock, wake) = &*over;
            let finished = lock.lock().unwrap_or_else(|e| e.into_inner());
            let (finished, _) = wake
                .wait_timeout_while(finished, delay, |finished| !*finished)
                .unwrap_or_else(|e| e.into_inner());
            // Still holding the lock: the work cannot end while this draws.
            if !*finished {
                show(&shown);
            }
        });
        Some(Self {
            bar,
            done,
            waiter: Some(waiter),
        })
    }
}

fn show(bar: &ProgressBar) {
    bar.set_draw_target(ProgressDrawTarget::stderr());
    // Drawn now, not at the ticker's first tick.
    bar.tick();
    bar.enable_steady_tick(Duration::from_millis(100));
}

impl Drop for Spinner {
    fn drop(&mut self) {
        let (lock, wake) = &*self.done;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        wake.notify_all();
        if let Some(waiter) = self.waiter.take() {
            let _ = waiter.join();
        }
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quick_compilation_draws_nothing_and_a_finished_one_is_cleared() {
        let mut state = State::default();
        update(&mut state, Duration::from_secs(3600), 1, 10);
        assert!(state.bar.is_none());
        update(&mut state, Duration::ZERO, 2, 10);
        assert!(state.bar.is_some());
        update(&mut state, Duration::ZERO, 10, 10);
        assert!(state.bar.is_none() && state.started.is_none());
    }
}
