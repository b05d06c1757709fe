//! What a function body's calls say about how to compile it.

use crate::module_info::ModuleInfo;

/// Functions with more call sites than this are compiled with the
/// baseline pipeline only, eagerly or lazily: the optimizing register
/// allocator's time grows faster than linearly with them (measured on the
/// benches' generated module: `_start`, with 20,000 calls, took most of
/// the eager JIT's 7 s), and such functions (initializers, generated
/// dispatchers) are rarely hot.
pub const MAX_OPTIMIZED_CALLS: usize = 1000;

/// What a function's body says about its calls.
#[derive(Debug, Default)]
pub struct CallProfile {
    /// Call sites (`call*`, `return_call*`).
    pub sites: usize,
    /// Defined functions it calls directly, each once, in order.
    pub callees: Vec<u32>,
    /// Whether it has a `loop`: a single call may run for long.
    pub loops: bool,
}

pub fn call_profile(info: &ModuleInfo, defined: u32) -> CallProfile {
    let mut profile = CallProfile::default();
    let Some(range) = info.module.func_body(defined) else {
        return profile;
    };
    let Some(code) = info.module.bytes().get(range.clone()) else {
        return profile;
    };
    let body = wasmparser::FunctionBody::new(wasmparser::BinaryReader::new(code, range.start));
    let Ok(mut reader) = body.get_operators_reader() else {
        return profile;
    };
    let imported = info.module.num_imported_funcs();
    let mut seen = std::collections::HashSet::new();
    while !reader.eof() {
        match reader.read() {
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
