//! A tiered function's first compile by the single-pass compiler
//! (`crate::single_pass`), which declines what it does not support.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering;

use super::LazyCode;
use crate::call_profile::{CallProfile, MAX_OPTIMIZED_CALLS};
use crate::code_map::CodeVersion;
use crate::error::CompileError;
use crate::module_info::ModuleInfo;

impl LazyCode {
    /// A tiered function's first compile by the single-pass compiler,
    /// which gathers the call profile as it goes (one walk over the body,
    /// not two); `None` when it declines the function, or when the profile
    /// says the function is to be optimized first (as [`LazyCode::compile`]
    /// decides for Cranelift's baseline).
    pub(super) fn compile_single_pass(
        &self,
        info: &ModuleInfo,
        defined: u32,
    ) -> Option<Result<(usize, CallProfile, bool), CompileError>> {
        let counter = self
            .tiers_up
            .then(|| self.counters[defined as usize].as_ptr() as usize);
        let (code, profile) = single_pass_code(info, defined, counter)?;
        if self.tiers_up && profile.osr_blocked {
            return None;
        }
        // Baseline for good: its countdowns never call out
        // (`Codegen::disable_countdowns`).
        let counting = counter.is_some() && profile.sites <= MAX_OPTIMIZED_CALLS;
        let func = info.module.num_imported_funcs() + defined;
        self.counts.single_pass.fetch_add(1, Ordering::Relaxed);
        self.counts.baseline.fetch_add(1, Ordering::Relaxed);
        Some(
            self.place(Some(func), CodeVersion::Baseline, code)
                .map(|placed| (placed.start, profile, counting)),
        )
    }
}

/// Single-pass code for `defined` with `tier_up_counter`, and its call
/// profile; `None` when the compiler declines the function, or panics (a
/// bug, which Cranelift's baseline pipeline then covers for).
pub(super) fn single_pass_code(
    info: &ModuleInfo,
    defined: u32,
    tier_up_counter: Option<usize>,
) -> Option<(crate::compile::FunctionCode, CallProfile)> {
    let request = crate::single_pass::Request {
        info,
        defined,
        tier_up_counter,
    };
    catch_unwind(AssertUnwindSafe(|| crate::single_pass::compile(&request)))
        .ok()
        .flatten()
}
