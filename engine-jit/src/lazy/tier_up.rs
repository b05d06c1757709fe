//! Tier-up and on-stack replacement for tiered modules: baseline code
//! whose count ran out asks for the function's optimized code
//! (`request_tier_up`) or, looping, for an optimized entry at its loop
//! (`poll_osr`); the module's tier-up thread compiles both, or the thread
//! that asked when compiling in the foreground.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak, mpsc};
use std::time::Instant;

use super::{BASELINE, COMPILER_STACK, FINAL, LazyCode, OPTIMIZING};
use crate::code_map::CodeVersion;
use crate::compile::{self, CompileError};
use crate::module::JitModule;
use crate::module_info::ModuleInfo;
use crate::translate::CodeTier;

/// While a loop's optimized entry is being compiled, its baseline code
/// polls again after this many more iterations (or calls).
const OSR_POLL_INTERVAL: i32 = 256;

/// An on-stack-replacement entry's state (`LazyCode::osr_entries`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OsrState {
    Compiling,
    Ready(usize),
    /// Compiling failed (a deadline passed, say): the loop stays in
    /// baseline code.
    Failed,
}

/// Work for the tier-up thread.
#[derive(Debug, Clone, Copy)]
pub(super) enum TierUpJob {
    /// The optimized code of a defined function.
    Function(u32),
    /// The optimized entry at a defined function's loop.
    OsrEntry { defined: u32, loop_index: u32 },
}

impl LazyCode {
    /// Compiles and places the optimized entry of `defined` at its loop
    /// `loop_index`, catching a compiler panic as an error.
    fn compile_osr_entry(
        &self,
        info: &ModuleInfo,
        defined: u32,
        loop_index: u32,
    ) -> Result<usize, CompileError> {
        if self.deadline.is_some_and(|at| Instant::now() >= at) {
            return Err(CompileError::TimeLimit);
        }
        let func = info.module.num_imported_funcs() + defined;
        let entry_slots = self.entry_slots(info, defined);
        let code = catch_unwind(AssertUnwindSafe(|| {
            compile::compile_defined(
                &*self.optimizing,
                info,
                defined,
                CodeTier::OsrEntry {
                    loop_index,
                    entry_slots,
                },
            )
        }))
        .unwrap_or_else(|payload| {
            Err(CompileError::CompilerPanicked {
                func,
                message: wasmtier_core::panic_message(&*payload).unwrap_or_default(),
            })
        })?;
        Ok(self
            .place(Some(func), CodeVersion::LoopEntry { loop_index }, code)?
            .start)
    }

    /// The address of `defined`'s entry slots (one per loop of its body),
    /// made on first use.
    fn entry_slots(&self, info: &ModuleInfo, defined: u32) -> usize {
        let mut all = self.entry_slots.lock().unwrap_or_else(|e| e.into_inner());
        all.entry(defined)
            .or_insert_with(|| {
                let loops = crate::translate::count_loops(info, defined);
                (0..loops).map(|_| AtomicUsize::new(0)).collect()
            })
            .as_ptr() as usize
    }

    /// Records how compiling the entry `key` (defined function, loop)
    /// went, and makes a compiled one visible to the entries around it.
    fn finish_osr_entry(&self, key: (u32, u32), result: Result<usize, CompileError>) {
        let state = result.map_or(OsrState::Failed, OsrState::Ready);
        if let OsrState::Ready(code) = state {
            let slots = self.entry_slots.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(slot) = slots
                .get(&key.0)
                .and_then(|slots| slots.get(key.1 as usize))
            {
                slot.store(code, Ordering::Release);
            }
        }
        let mut entries = self.osr_entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.insert(key, state);
    }
}

impl JitModule {
    /// Baseline code of `defined` reached its tier-up count: the optimized
    /// version, compiled once (in the background, or now).
    pub fn request_tier_up(self: &Arc<Self>, defined: u32) {
        let lazy = self.lazy();
        let Some(slot) = lazy.functions.get(defined as usize) else {
            return;
        };
        if slot
            .state
            .compare_exchange(BASELINE, OPTIMIZING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return;
        }
        if !lazy.background {
            self.optimize(defined);
        } else if !self.queue_tier_up(TierUpJob::Function(defined)) {
            // No thread, no tier-up: the baseline code stays.
            slot.state.store(FINAL, Ordering::Release);
        }
    }

    /// Baseline code of `defined` polls at the header of its loop
    /// `loop_index` (its count ran out): the optimized entry there when
    /// compiled, else 0. The first poll asks for that entry, the entries
    /// at the loops around it (see `translate/tiering.rs`: an entry moves
    /// out to them) and the function's optimized code, compiled now when
    /// not in the background; polls while they compile set the count for
    /// the next one.
    pub fn poll_osr(self: &Arc<Self>, defined: u32, loop_index: u32) -> usize {
        let lazy = self.lazy();
        let Some(counter) = lazy.counters.get(defined as usize) else {
            return 0;
        };
        let key = (defined, loop_index);
        let wanted = {
            let mut entries = lazy.osr_entries.lock().unwrap_or_else(|e| e.into_inner());
            match entries.get(&key) {
                Some(OsrState::Ready(code)) => {
                    lazy.counts.replacements.fetch_add(1, Ordering::Relaxed);
                    return *code;
                }
                Some(OsrState::Failed) => {
                    counter.store(i32::MAX, Ordering::Relaxed);
                    return 0;
                }
                Some(OsrState::Compiling) => Vec::new(),
                None => {
                    // This loop's entry first: the activation is there.
                    let mut wanted = vec![loop_index];
                    wanted.extend(
                        crate::translate::loops_around(&self.info, defined, loop_index)
                            .into_iter()
                            .rev(),
                    );
                    wanted.retain(|&l| !entries.contains_key(&(defined, l)));
                    for &l in &wanted {
                        entries.insert((defined, l), OsrState::Compiling);
                    }
                    wanted
                }
            }
        };
        if !wanted.is_empty() {
            if !lazy.background {
                for l in wanted {
                    let result = self.on_compiler_stack(defined, || {
                        lazy.compile_osr_entry(&self.info, defined, l)
                    });
                    lazy.finish_osr_entry((defined, l), result);
                }
                self.request_tier_up(defined);
                return self.poll_osr(defined, loop_index);
            }
            for loop_index in wanted {
                let job = TierUpJob::OsrEntry {
                    defined,
                    loop_index,
                };
                if !self.queue_tier_up(job) {
                    let no_thread = Err(CompileError::NoSuchFunction(defined));
                    lazy.finish_osr_entry((defined, loop_index), no_thread);
                }
            }
            self.request_tier_up(defined);
        }
        counter.store(OSR_POLL_INTERVAL, Ordering::Relaxed);
        0
    }

    /// Sends `job` to the module's tier-up thread, starting it first if
    /// need be; `false` when there is no thread.
    fn queue_tier_up(self: &Arc<Self>, job: TierUpJob) -> bool {
        let lazy = self.lazy();
        let mut sender = lazy.tier_up.lock().unwrap_or_else(|e| e.into_inner());
        if sender.is_none() {
            let (tx, rx) = mpsc::channel::<TierUpJob>();
            let module: Weak<Self> = Arc::downgrade(self);
            let spawned = std::thread::Builder::new()
                .name("wasmtier-tier-up".into())
                .stack_size(COMPILER_STACK)
                .spawn(move || {
                    while let Ok(job) = rx.recv() {
                        let Some(module) = module.upgrade() else {
                            break;
                        };
                        match job {
                            TierUpJob::Function(defined) => module.optimize(defined),
                            TierUpJob::OsrEntry {
                                defined,
                                loop_index,
                            } => {
                                let result = module.lazy().compile_osr_entry(
                                    &module.info,
                                    defined,
                                    loop_index,
                                );
                                module
                                    .lazy()
                                    .finish_osr_entry((defined, loop_index), result);
                            }
                        }
                    }
                });
            if spawned.is_err() {
                return false;
            }
            *sender = Some(tx);
        }
        sender.as_ref().is_some_and(|tx| tx.send(job).is_ok())
    }

    /// The optimized code of `defined`, published (on the tier-up thread,
    /// or the thread that asked). A failure (the deadline passed, say)
    /// keeps the baseline code.
    fn optimize(&self, defined: u32) {
        let lazy = self.lazy();
        let compiled = self.on_compiler_stack(defined, || lazy.compile(&self.info, defined, true));
        if let Ok((code, _, _)) = compiled {
            lazy.publish(defined as usize, code);
        }
        lazy.functions[defined as usize]
            .state
            .store(FINAL, Ordering::Release);
    }
}
