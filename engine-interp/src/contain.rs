//! A panic inside wasmi must not take the host down.
//!
//! The differential fuzzer found a valid module on which wasmi 2.0.0's
//! translator reaches an `unreachable!()` (a store whose pointer and value
//! both sit in registers, `translator/func/mod.rs:2583`). Translation runs on a
//! function's first call (or at compile time in eager mode), so every entry
//! into wasmi goes through [`contained`], and a panic becomes an error the
//! caller can report. (Builds with `panic = "abort"`, such as
//! `release-small`, still abort.)

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, OnceLock};

/// Set once wasmi has panicked, shared by an engine and all its stores.
///
/// An unwinding wasmi leaves its engine inconsistent: a function whose
/// translation panicked stays marked "compiling" in the engine's code map,
/// and the next call to it spins forever waiting for that (found by the
/// long fuzz run: a module that hit the translator panic in one export
/// hung the host on the next). So after a panic nothing enters that engine
/// again; every later call gets the first panic's error.
#[derive(Debug, Clone, Default)]
pub(crate) struct Poison(Arc<OnceLock<Panicked>>);

/// wasmi panicked (now or earlier, in the same engine), with its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("internal interpreter error (wasmi panicked: {0})")]
pub(crate) struct Panicked(String);

impl Poison {
    /// Runs `f` unless the engine is poisoned, turning a panic into an
    /// error naming the interpreter and poisoning the engine.
    pub(crate) fn contained<R>(&self, f: impl FnOnce() -> R) -> Result<R, Panicked> {
        if let Some(panicked) = self.0.get() {
            return Err(panicked.clone());
        }
        // The store is left inconsistent by an unwinding wasmi; the poison
        // keeps anything from using it again.
        catch_unwind(AssertUnwindSafe(f)).map_err(|panic| {
            let message =
                wasmtier_core::panic_message(&*panic).unwrap_or_else(|| "unknown panic".into());
            self.0.get_or_init(|| Panicked(message)).clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_a_panic_nothing_runs_and_every_call_gets_the_first_error() {
        let poison = Poison::default();
        assert_eq!(poison.contained(|| 1), Ok(1));
        let first = poison.contained(|| -> i32 { panic!("boom") }).unwrap_err();
        assert!(
            first.to_string().contains("wasmi panicked: boom"),
            "{first}"
        );
        let mut ran = false;
        assert_eq!(poison.contained(|| ran = true), Err(first));
        assert!(!ran);
    }
}
