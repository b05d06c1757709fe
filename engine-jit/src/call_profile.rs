//! What a function body's calls say about how to compile it.

use crate::module_info::ModuleInfo;
use crate::translate::MAX_OSR_LOCALS;

/// Functions with more call sites than this are compiled with the
/// baseline pipeline only, eagerly or lazily: the optimizing register
/// allocator's time grows faster than linearly with them (measured on the
/// benches' generated module: `_start`, with 20,000 calls, took most of
/// the eager JIT's 7 s), and such functions (initializers, generated
/// dispatchers) are rarely hot.
pub const MAX_OPTIMIZED_CALLS: usize = 1000;

/// What a function's body says about its calls.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CallProfile {
    /// Call sites (`call*`, `return_call*`).
    pub sites: usize,
    /// Defined functions it calls directly, each once, in order.
    pub callees: Vec<u32>,
    /// Whether it has a `loop`: a single call may run for long.
    pub loops: bool,
    /// Whether one of its loops cannot be left for optimized code while it
    /// runs (no on-stack replacement, `translate/tiering.rs`): one inside
    /// an exception handler's scope or with parameters, or any loop of a
    /// function with more locals than an entry can carry.
    pub osr_blocked: bool,
}

pub fn call_profile(info: &ModuleInfo, defined: u32) -> CallProfile {
    let mut profile = CallProfile::default();
    let Some(body) = info.module.func_body_reader(defined) else {
        return profile;
    };
    let Ok(mut reader) = body.get_operators_reader() else {
        return profile;
    };
    let locals = body.get_locals_reader().map_or(usize::MAX, |locals| {
        locals
            .into_iter()
            .map(|l| l.map_or(usize::MAX, |(count, _)| count as usize))
            .fold(0usize, usize::saturating_add)
    });
    let params = info
        .module
        .func_type(info.module.num_imported_funcs() + defined)
        .params
        .len();
    let too_many_locals = locals.saturating_add(params) > MAX_OSR_LOCALS;
    let imported = info.module.num_imported_funcs();
    let mut seen = std::collections::HashSet::new();
    // Open blocks, and how many of them are exception scopes.
    let mut open: Vec<bool> = Vec::new();
    let mut exception_scopes = 0usize;
    while !reader.eof() {
        let op = reader.read();
        match &op {
            Ok(wasmparser::Operator::Block { .. } | wasmparser::Operator::If { .. }) => {
                open.push(false)
            }
            Ok(wasmparser::Operator::Loop { blockty }) => {
                let has_params = match *blockty {
                    wasmparser::BlockType::FuncType(t) => info
                        .module
                        .types()
                        .get(t as usize)
                        .is_none_or(|ty| !ty.params.is_empty()),
                    _ => false,
                };
                if exception_scopes > 0 || has_params || too_many_locals {
                    profile.osr_blocked = true;
                }
                open.push(false);
            }
            Ok(wasmparser::Operator::TryTable { .. } | wasmparser::Operator::Try { .. }) => {
                exception_scopes += 1;
                open.push(true);
            }
            Ok(wasmparser::Operator::End | wasmparser::Operator::Delegate { .. })
                if open.pop() == Some(true) =>
            {
                exception_scopes -= 1;
            }
            _ => {}
        }
        match op {
            Ok(
                wasmparser::Operator::Call { function_index }
                | wasmparser::Operator::ReturnCall { function_index },
            ) => {
                profile.sites += 1;
                if let Some(callee) = function_index.checked_sub(imported)
                    && seen.insert(callee)
                {
                    profile.callees.push(callee);
                }
            }
            Ok(
                wasmparser::Operator::CallIndirect { .. }
                | wasmparser::Operator::CallRef { .. }
                | wasmparser::Operator::ReturnCallIndirect { .. }
                | wasmparser::Operator::ReturnCallRef { .. },
            ) => profile.sites += 1,
            Ok(wasmparser::Operator::Loop { .. }) => profile.loops = true,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    profile
}
