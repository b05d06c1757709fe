//! A compiled module as the JIT and AOT tiers hand it out. Its own file so
//! the store, instances and the code map use it without importing the
//! crate root (which imports them).

use std::any::Any;
use std::sync::Arc;

use wasmtier_core::{CompiledModule, TrapCode, ValidatedModule};

use crate::compile::{CompileError, CompiledCode, Trampoline};
use crate::exception_table::ExceptionTable;
use crate::inlined_sites::InlinedSites;
use crate::lazy::LazyCode;
use crate::module_info::ModuleInfo;
use crate::stack_maps::StackMapTable;
use crate::traps::TrapTable;

/// Where a module's code is.
#[allow(
    clippy::large_enum_variant,
    reason = "one per module; the lazy variant's locks take a cache line each"
)]
pub(crate) enum ModuleCode {
    /// Every function compiled before anything runs, in one mapping (the
    /// eager JIT, and AOT artifacts).
    Eager(CompiledCode),
    /// Functions compiled on first call (`lazy/`).
    Lazy(LazyCode),
}

/// A compiled module: metadata plus code.
pub(crate) struct JitModule {
    pub info: ModuleInfo,
    pub code: ModuleCode,
}

/// The code around one address and the tables that describe it; offsets
/// in the tables are relative to `base`.
pub(crate) struct CodeAt<'a> {
    pub base: usize,
    /// Where a handler may resume: the code `base` belongs to.
    pub code: std::ops::Range<usize>,
    pub traps: &'a TrapTable,
    pub inlined: &'a InlinedSites,
    pub exceptions: &'a ExceptionTable,
    pub stack_maps: &'a StackMapTable,
    /// The Wasm function (index with imports first) whose code holds the
    /// address; `None` in a trampoline.
    pub func: Option<u32>,
}

impl JitModule {
    /// Whether `pc` lies in this module's code (any of it).
    pub fn contains(&self, pc: usize) -> bool {
        match &self.code {
            ModuleCode::Eager(code) => code.memory.range().contains(&pc),
            ModuleCode::Lazy(lazy) => lazy.range().contains(&pc),
        }
    }

    /// Runs `f` on the code at `pc`, if this module has code there. Called
    /// from the signal handler: eager code needs no lock; lazy code takes
    /// a read lock that only compilers' short insertions contend for.
    pub fn with_code_at<R>(&self, pc: usize, f: impl FnOnce(CodeAt<'_>) -> R) -> Option<R> {
        match &self.code {
            ModuleCode::Eager(code) => {
                let range = code.memory.range();
                if !range.contains(&pc) {
                    return None;
                }
                let offset = (pc - range.start) as u32;
                let func = code
                    .function_at(offset)
                    .map(|defined| self.info.module.num_imported_funcs() + defined as u32);
                Some(f(CodeAt {
                    base: range.start,
                    code: range,
                    traps: code.traps(),
                    inlined: code.inlined(),
                    exceptions: code.exceptions(),
                    stack_maps: code.stack_maps(),
                    func,
                }))
            }
            ModuleCode::Lazy(lazy) => {
                let placed = lazy.placed_at(pc)?;
                Some(f(CodeAt {
                    base: placed.start,
                    code: placed.start..placed.end,
                    traps: &placed.traps,
                    inlined: &placed.inlined,
                    exceptions: &placed.exceptions,
                    stack_maps: &placed.stack_maps,
                    func: placed.func,
                }))
            }
        }
    }

    /// The trap recorded at `pc`.
    pub fn trap_at(&self, pc: usize) -> Option<TrapCode> {
        self.with_code_at(pc, |at| at.traps.lookup((pc - at.base) as u32))
            .flatten()
    }

    /// The Wasm function of a backtrace's frame and how many activations
    /// of it the frame holds (2 where the site lies in a body inlined into
    /// itself, 1 elsewhere), in one lookup. `site` is the frame's trap site
    /// or return address, `inside` an address inside its code (a return
    /// address may be the end of it).
    pub fn frame_at(&self, inside: usize, site: usize) -> Option<(u32, usize)> {
        self.with_code_at(inside, |at| {
            let inlined = site
                .checked_sub(at.base)
                .and_then(|offset| u32::try_from(offset).ok())
                .is_some_and(|offset| at.inlined.contains(offset));
            Some((at.func?, 1 + usize::from(inlined)))
        })
        .flatten()
    }

    /// The Wasm function whose code contains `pc`.
    pub fn func_at(&self, pc: usize) -> Option<u32> {
        self.with_code_at(pc, |at| at.func).flatten()
    }

    /// Address of the entry trampoline for type `type_index` (`None` if
    /// no function has that type); lazy code compiles it on first use.
    pub fn entry_trampoline(&self, type_index: usize) -> Result<Option<usize>, CompileError> {
        match &self.code {
            ModuleCode::Eager(code) => Ok(code
                .entry_trampoline(type_index)
                .map(|offset| code.memory.base() + offset as usize)),
            ModuleCode::Lazy(lazy) => lazy.trampoline(&self.info, type_index, Trampoline::Entry),
        }
    }

    /// Address of the host adapter for type `type_index` (`None` if no
    /// function has that type); lazy code compiles it on first use.
    pub fn host_adapter(&self, type_index: usize) -> Result<Option<usize>, CompileError> {
        match &self.code {
            ModuleCode::Eager(code) => Ok(code
                .host_adapter(type_index)
                .map(|offset| code.memory.base() + offset as usize)),
            ModuleCode::Lazy(lazy) => {
                lazy.trampoline(&self.info, type_index, Trampoline::HostAdapter)
            }
        }
    }
}

pub(crate) struct JitCompiled {
    pub module: Arc<ValidatedModule>,
    pub inner: Arc<JitModule>,
}

impl CompiledModule for JitCompiled {
    fn module(&self) -> &Arc<ValidatedModule> {
        &self.module
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn tier_counts(&self) -> Option<wasmtier_core::TierCounts> {
        match &self.inner.code {
            ModuleCode::Lazy(lazy) => Some(lazy.tier_counts()),
            ModuleCode::Eager(_) => None,
        }
    }
}
