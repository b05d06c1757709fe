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

// Without a code generator for the CPU, only `compile` (which declines
// everything) is used.
#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code, unused_imports))]

#[cfg(target_arch = "x86_64")]
mod x86_64;

use crate::call_profile::CallProfile;
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
        self.info.module.func_body_reader(self.defined)
    }
}

/// Compiles `request`'s function, with the call profile `call_profile`
/// would find (gathered on the way), or `None` when this compiler does not
/// support something in it (or this CPU).
pub(crate) fn compile(request: &Request<'_>) -> Option<(FunctionCode, CallProfile)> {
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

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use std::sync::Arc;

    use super::{Request, compile};
    use crate::call_profile::call_profile;
    use crate::module_info::ModuleInfo;
    use wasmtier_core::{Compilation, EngineConfig, Features, ValidatedModule};

    /// The profile the code generator gathers is the one `call_profile`
    /// finds, which decides the same things for Cranelift's baseline.
    #[test]
    fn the_profile_on_the_way_is_call_profiles() {
        let text = r#"(module
          (type $pair (func (param i32) (result i32)))
          (import "m" "f" (func $host (param i32) (result i32)))
          (table 2 funcref)
          (func $leaf (param i32) (result i32) (local.get 0))
          (func $loops (param i32) (result i32) (local $i i32)
            (loop $a (br_if $a (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                         (local.get 0))))
            (i32.const 1)
            (loop $b (param i32) (result i32)
              (i32.add (i32.const 1)) (local.get 0) (br_if $b))
            (drop)
            (call $leaf (call $host (call $leaf (local.get $i)))))
          (func $dead (param i32) (result i32)
            (return (call_indirect (type $pair) (local.get 0) (i32.const 0)))
            (drop (call $loops (i32.const 1)))
            (loop $c (drop (call $leaf (i32.const 2))))
            (i32.const 0))
          (func $many_locals (local i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32
                              i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)
            (loop $d (br_if $d (i32.eqz (local.get 3))))))"#;
        // 32 locals is below the 256 of MAX_OSR_LOCALS; a loop with
        // parameters blocks the entry in `$loops`.
        let bytes = wat::parse_str(text).unwrap();
        let module = Arc::new(ValidatedModule::new(&bytes, Features::default()).unwrap());
        let config = EngineConfig {
            compilation: Compilation::tiered(),
            ..EngineConfig::default()
        };
        let info = ModuleInfo::new(module, &config).unwrap();
        for defined in 0..4 {
            let request = Request {
                info: &info,
                defined,
                tier_up_counter: Some(0x1000),
            };
            let (_, profile) =
                compile(&request).unwrap_or_else(|| panic!("function {defined} compiles"));
            assert_eq!(profile, call_profile(&info, defined), "function {defined}");
        }
    }
}
