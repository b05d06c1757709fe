//! A progress bar for long compilations: functions compiled out of the
//! total, on stderr, only when stderr is a terminal and only once a
//! compilation has taken longer than a moment (quick ones draw nothing).
//! The bar is cleared when compilation ends, however it ends.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use wasmtier_core::CompileProgress;

/// How long a compilation runs before the bar appears.
const DEFAULT_DELAY: Duration = Duration::from_secs(1);

/// Overrides [`DEFAULT_DELAY`] in milliseconds (the tests draw the bar at
/// once this way).
const DELAY_VARIABLE: &str = "WASMTIER_PROGRESS_DELAY_MS";

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
        let delay = std::env::var(DELAY_VARIABLE)
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map_or(DEFAULT_DELAY, Duration::from_millis);
        Some(Self {
            delay,
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
