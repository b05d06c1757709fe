//! `--timeout` on the interpreter.
//!
//! wasmi has no epoch or interrupt hook, but it can pause a call when fuel
//! runs out and resume it later. With a deadline the store gets fuel in
//! slices: each time a slice is used up the call pauses, the clock is
//! checked, and the call resumes with a new slice or stops with
//! "interrupted". A user fuel budget (`--fuel`) is tracked here on the
//! side and handed out slice by slice, so both limits hold at once.
//!
//! One trap door: wasmi charges fuel for translating a function on its
//! first call (lazy translation, its default), and running out there is
//! an error, not a pause — a slice boundary would then kill a healthy
//! guest. So with a deadline the engine translates every function up
//! front (`CompilationMode::Eager`, set in `lib.rs`), except in low-memory
//! mode, where lazy translation is the point and the risk is documented.
//!
//! Without a deadline none of this runs and wasmi meters no fuel unless
//! `--fuel` asks for it: the timeout costs nothing when it is not used.

use std::time::Instant;

use wasmi::ResumableCall;
use wasmtier_core::{Trap, TrapCode};

/// Fuel per slice: large enough that pauses are rare (about a millisecond
/// of interpretation between clock reads), small enough that a deadline is
/// noticed promptly.
pub(crate) const SLICE: u64 = 1 << 20;

/// A store's deadline and the part of its fuel budget not yet handed out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    pub at: Instant,
    /// The user's remaining fuel; `None` when only the clock limits the guest.
    pub fuel_left: Option<u64>,
}

impl Deadline {
    /// The next slice to give the store, or `None` when the user's fuel is gone.
    fn slice(&self, at_least: u64) -> Option<u64> {
        let wanted = SLICE.max(at_least);
        match self.fuel_left {
            None => Some(wanted),
            Some(left) if left >= at_least.max(1) => Some(wanted.min(left)),
            Some(_) => None,
        }
    }

    /// Books `used` units against the user's budget.
    fn charge(&mut self, used: u64) {
        if let Some(left) = &mut self.fuel_left {
            *left = left.saturating_sub(used);
        }
    }

    /// Fuel for a call that cannot pause (instantiation runs the start
    /// function without a resumable handle): the whole remaining budget.
    pub fn unpausable_budget(&self) -> u64 {
        self.fuel_left.unwrap_or(u64::MAX)
    }

    /// Records what an unpausable call left over.
    pub fn after_unpausable(&mut self, fuel_now: u64) {
        if self.fuel_left.is_some() {
            self.fuel_left = Some(fuel_now);
        }
    }
}

/// How a sliced call ended.
pub(crate) enum Outcome {
    Finished,
    /// wasmi's own error (a trap, a host error).
    Error(wasmi::Error),
    /// Our verdict: out of the user's fuel, or past the deadline.
    Stopped(Trap),
}

/// Runs `func` in fuel slices until it finishes, fails, or a limit stops it.
pub(crate) fn call<T>(
    store: &mut wasmi::Store<T>,
    deadline: &mut Deadline,
    func: wasmi::Func,
    params: &[wasmi::Val],
    results: &mut [wasmi::Val],
) -> Outcome {
    let Some(mut granted) = deadline.slice(1) else {
        return Outcome::Stopped(Trap::code(TrapCode::OutOfFuel));
    };
    set_fuel(store, granted);
    let mut step = func.call_resumable(&mut *store, params, results);
    loop {
        let used = granted - store.get_fuel().unwrap_or(0);
        deadline.charge(used);
        let paused = match step {
            Ok(ResumableCall::Finished) => return Outcome::Finished,
            Ok(ResumableCall::HostTrap(host)) => return Outcome::Error(host.into_host_error()),
            Ok(ResumableCall::OutOfFuel(paused)) => paused,
            Err(error) => return Outcome::Error(error),
        };
        if Instant::now() >= deadline.at {
            return Outcome::Stopped(Trap::code(TrapCode::Interrupted));
        }
        // Only what was used has been charged: a leftover too small for the
        // next step is simply replaced by the new slice.
        let Some(next) = deadline.slice(paused.required_fuel()) else {
            return Outcome::Stopped(Trap::code(TrapCode::OutOfFuel));
        };
        granted = next;
        set_fuel(store, granted);
        step = paused.resume(&mut *store, results);
    }
}

fn set_fuel<T>(store: &mut wasmi::Store<T>, fuel: u64) {
    store
        .set_fuel(fuel)
        .expect("fuel metering is enabled whenever a deadline is configured");
}
