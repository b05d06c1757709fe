//! A function's first compile, on the call that needs it: the caller
//! compiles it (or waits for, or helps, the thread that already does),
//! publishes it, and queues its callees to be compiled ahead.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{
    BASELINE, COMPILER_STACK, COMPILING, FINAL, LazyCode, MAX_STUB_RESULTS, NOT_COMPILED,
    room_to_compile,
};
use crate::call_profile::CallProfile;
use crate::compile::CompileError;
use crate::module::JitModule;

impl JitModule {
    pub(super) fn lazy(&self) -> &LazyCode {
        match &self.code {
            crate::module::ModuleCode::Lazy(lazy) => lazy,
            crate::module::ModuleCode::Eager(_) => {
                unreachable!("only lazy modules compile on call")
            }
        }
    }

    /// Whether `code` (a `VMFuncRef`'s) is a lazy-compile stub: the
    /// function has not been compiled yet.
    pub fn is_lazy_stub(&self, code: *const u8) -> bool {
        match &self.code {
            crate::module::ModuleCode::Lazy(lazy) => lazy.is_stub(code as usize),
            crate::module::ModuleCode::Eager(_) => false,
        }
    }

    /// The code of defined function `defined`, compiling it first if no
    /// thread has (waiting for one that is compiling it). A function
    /// compiled here has its direct callees compiled ahead on the prefetch
    /// thread: they are likely next, and the other core is idle.
    pub fn ensure_compiled(self: &Arc<Self>, defined: u32) -> Result<usize, CompileError> {
        let lazy = self.lazy();
        let slot = lazy
            .functions
            .get(defined as usize)
            .ok_or(CompileError::NoSuchFunction(defined))?;
        loop {
            let code = slot.code.load(Ordering::Acquire);
            if code != 0 {
                return Ok(code);
            }
            if let Some(result) = self.try_compile_first(defined) {
                let (code, profile) = result?;
                self.prefetch(profile.callees);
                return Ok(code);
            }
            // Another thread compiles it. Tiered, compile what is queued
            // next meanwhile (`prefetch.rs`): likely the next callee; not
            // where this stack is too short to compile on.
            if lazy.tiered
                && room_to_compile()
                && let Some(next) = lazy.prefetch.take()
            {
                let _ = self.try_compile_first(next);
                continue;
            }
            let (lock, signal) = &*lazy.compiled;
            let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
            if slot.code.load(Ordering::Acquire) == 0
                && slot.state.load(Ordering::Acquire) == COMPILING
            {
                lazy.waiting.fetch_add(1, Ordering::Relaxed);
                let guard = signal.wait(guard).unwrap_or_else(|e| e.into_inner());
                lazy.waiting.fetch_sub(1, Ordering::Relaxed);
                drop(guard);
            }
        }
    }

    /// Compiles, before anything runs, every function with more results
    /// than [`MAX_STUB_RESULTS`]: calls to a function whose results do not
    /// all fit in return registers pass a hidden return-area pointer
    /// first, ahead of the VM context that the lazy-compile stub takes the
    /// first argument for (found by fuzz-diff, seed 15225: a call to a
    /// function with 18 results crashed in `lazy_compile`). Such functions
    /// are rare; compiled up front, their `VMFuncRef`s never point at a
    /// stub.
    pub fn compile_multi_result_functions(self: &Arc<Self>) -> Result<(), CompileError> {
        let module = &self.info.module;
        let imported = module.num_imported_funcs();
        for defined in 0..module.num_defined_funcs() {
            if module.func_type(imported + defined).results.len() > MAX_STUB_RESULTS {
                self.ensure_compiled(defined)?;
            }
        }
        Ok(())
    }

    /// Concurrent compilation: the prefetch workers compile every
    /// function not compiled yet whenever no callee is queued, while the
    /// program runs (`prefetch.rs`).
    pub fn compile_all_in_background(self: &Arc<Self>) {
        let lazy = self.lazy();
        let count = u32::try_from(lazy.functions.len()).unwrap_or(u32::MAX);
        lazy.prefetch.sweep(self, count);
    }

    /// Compiles and publishes `defined` unless another thread has started
    /// to (`None`).
    pub(super) fn try_compile_first(
        self: &Arc<Self>,
        defined: u32,
    ) -> Option<Result<(usize, CallProfile), CompileError>> {
        let lazy = self.lazy();
        let slot = lazy.functions.get(defined as usize)?;
        slot.state
            .compare_exchange(NOT_COMPILED, COMPILING, Ordering::AcqRel, Ordering::Acquire)
            .ok()?;
        let result = self.compile_first(defined);
        let (lock, signal) = &*lazy.compiled;
        let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        let result = match result {
            Ok((code, profile, counting)) => {
                let state = if counting { BASELINE } else { FINAL };
                slot.state.store(state, Ordering::Release);
                lazy.publish(defined as usize, code);
                Ok((code, profile))
            }
            Err(e) => {
                slot.state.store(NOT_COMPILED, Ordering::Release);
                Err(e)
            }
        };
        if lazy.waiting.load(Ordering::Relaxed) > 0 {
            signal.notify_all();
        }
        Some(result)
    }

    /// Queues `callees` (defined indexes) for compiling ahead.
    pub(super) fn prefetch(self: &Arc<Self>, callees: Vec<u32>) {
        let lazy = self.lazy();
        let pending: Vec<u32> = callees
            .into_iter()
            .filter(|&c| lazy.function_code(c as usize) == 0)
            .collect();
        if !pending.is_empty() {
            lazy.prefetch.push(self, pending, lazy.tiered);
        }
    }

    /// The first compile of `defined`.
    fn compile_first(
        self: &Arc<Self>,
        defined: u32,
    ) -> Result<(usize, CallProfile, bool), CompileError> {
        self.on_compiler_stack(defined, || self.lazy().compile(&self.info, defined, false))
    }

    /// Runs `compile` (of defined function `defined`) on this thread when
    /// its stack has room for the compiler, else on a helper thread.
    pub(super) fn on_compiler_stack<T: Send>(
        &self,
        defined: u32,
        compile: impl FnOnce() -> Result<T, CompileError> + Send,
    ) -> Result<T, CompileError> {
        if room_to_compile() {
            return compile();
        }
        std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("wasmtier-compile".into())
                .stack_size(COMPILER_STACK)
                .spawn_scoped(scope, compile)
                .map_err(CompileError::CompilerThread)?
                .join()
                .unwrap_or_else(|payload| {
                    Err(CompileError::CompilerPanicked {
                        func: self.info.module.num_imported_funcs() + defined,
                        message: wasmtier_core::panic_message(&*payload).unwrap_or_default(),
                    })
                })
        })
    }
}
