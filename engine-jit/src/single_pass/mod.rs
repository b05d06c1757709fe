//! The single-pass baseline compiler: Wasm straight to machine code in
//! one walk over the body, for the first compile of a lazily compiled or
//! tiered function. Cranelift's baseline pipeline, the alternative, spends
//! about 280 µs per function of the benches' generated module (translation
//! to IR, lowering, register allocation, emission); this one spends a few
//! microseconds, and its code is slower, which tier-up makes up for where
//! it matters.
//!
//! It compiles what it supports and declines the rest: a function that
//! uses anything else (references, SIMD, exceptions, tables, bulk memory,
//! atomics, tail calls, a second memory, memories with explicit bounds
//! checks, fuel, signatures with stack arguments or several results) is
//! compiled by Cranelift's baseline pipeline as before. Each function decides alone; code of both calls each other
//! through the same `VMFuncRef`s, frames and trap tables.
//!
//! One code generator per CPU, in its own module; a CPU without one (and a
//! cross-compiling `--target`) gets `None` for every function.

#[cfg(target_arch = "x86_64")]
mod x86_64;

use crate::compile::FunctionCode;
use crate::module_info::ModuleInfo;
pub use crate::translate::MAX_OSR_LOCALS;

/// Why a function is left to Cranelift: it uses something this compiler
/// does not support. Not an error: the caller falls back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unsupported;

/// One function to compile.
pub(crate) struct Request<'a> {
    pub info: &'a ModuleInfo,
    pub defined: u32,
    /// The function's tier-up countdown (as `CodeTier::Baseline` has it):
    /// code counts down at entry and loop headers, polls for on-stack
    /// replacement at loops that can take it. `None`: never tiers up.
    pub tier_up_counter: Option<usize>,
}

impl Request<'_> {
    fn func_index(&self) -> u32 {
        self.info.module.num_imported_funcs() + self.defined
    }

    fn body(&self) -> Option<wasmparser::FunctionBody<'_>> {
        let range = self.info.module.func_body(self.defined)?;
        let code = self.info.module.bytes().get(range.clone())?;
        Some(wasmparser::FunctionBody::new(
            wasmparser::BinaryReader::new(code, range.start),
        ))
    }
}

/// Compiles `request`'s function, or `None` when this compiler does not
/// support something in it (or this CPU).
pub(crate) fn compile(request: &Request<'_>) -> Option<FunctionCode> {
    // Fuel is metered per operator by the translator; not here.
    if request.info.fuel {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    {
        x86_64::Codegen::compile(request).ok()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = request;
        None
    }
}
