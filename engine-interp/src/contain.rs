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

/// Runs `f`, turning a panic into a message naming the interpreter.
pub(crate) fn contained<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    // The store may be left inconsistent by an unwinding wasmi; callers
    // only report the failure, and the guest's work in it is lost anyway.
    catch_unwind(AssertUnwindSafe(f)).map_err(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        format!("internal interpreter error (wasmi panicked: {message})")
    })
}
