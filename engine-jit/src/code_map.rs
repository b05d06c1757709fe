//! Where a compiled module's machine code lies, for tools outside the
//! engine (profilers: `perf` map files and jitdump). Read-only: nothing here
//! can change the code or the tables it runs with.

use std::ops::Range;

use wasmtier_core::CompiledModule;

use crate::module::{JitCompiled, JitModule, ModuleCode};

/// The machine code of a module compiled by the JIT or loaded by the AOT
/// tier (fresh or mapped from an artifact: both are the same type).
pub struct CodeMap<'a> {
    module: &'a JitModule,
}

/// Which version of a function a piece of code is: a lazily compiled
/// module may hold several at once, at different addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeVersion {
    /// The function's one version (eager, AOT, or lazy without tiers).
    Compiled,
    /// Tiered (or a large function compiled concurrently): the fast first
    /// compile, until the function tiers up.
    Baseline,
    /// The optimized code that replaced the baseline code.
    Optimized,
    /// Tiered: the optimized code entered at a loop by on-stack
    /// replacement (its `loop_index`-th `loop` in body order).
    LoopEntry { loop_index: u32 },
}

/// Told of a function's code as it is placed: see [`CodeMap::watch`].
pub type CodeWatcher = Box<dyn FnMut(FunctionCode, &[u8]) + Send>;

/// One WebAssembly function's machine code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionCode {
    /// The function's index in the module's function index space
    /// (imports first), as the name section numbers it.
    pub index: u32,
    /// Address of its first instruction in this process.
    pub address: usize,
    /// Bytes of code.
    pub len: usize,
    pub version: CodeVersion,
}

impl<'a> CodeMap<'a> {
    /// The code of `compiled`, or `None` when another engine (the
    /// interpreter) compiled it: it has no machine code of its own.
    pub fn of(compiled: &'a dyn CompiledModule) -> Option<Self> {
        let jit = compiled.as_any().downcast_ref::<JitCompiled>()?;
        Some(Self { module: &jit.inner })
    }

    /// The address range of all of the module's code (functions and
    /// trampolines); for a lazily compiled module, of the code compiled
    /// so far.
    pub fn range(&self) -> Range<usize> {
        match &self.module.code {
            ModuleCode::Eager(code) => code.memory.range(),
            ModuleCode::Lazy(lazy) => {
                let start = lazy.range().start;
                start..start + lazy.code_size()
            }
        }
    }

    /// The code bytes of one function from [`Self::functions`].
    pub fn function_bytes(&self, function: &FunctionCode) -> &'a [u8] {
        let range = function.address..function.address + function.len;
        match &self.module.code {
            ModuleCode::Eager(code) => {
                let start = range.start - code.memory.range().start;
                &code.memory.bytes()[start..start + function.len]
            }
            ModuleCode::Lazy(lazy) => lazy.bytes(range),
        }
    }

    /// Every defined function whose code lies inside the code, in address
    /// order; for a lazily compiled module, every one compiled so far
    /// (a function compiled twice, baseline and optimized, twice).
    pub fn functions(&self) -> Vec<FunctionCode> {
        let module = self.module;
        match &module.code {
            ModuleCode::Eager(code) => {
                let base = code.memory.base();
                let imported = module.info.module.num_imported_funcs();
                (0..code.num_functions())
                    .filter_map(|defined| {
                        let range = code.function(defined)?;
                        Some(FunctionCode {
                            index: imported + defined as u32,
                            address: base + range.start as usize,
                            len: range.len(),
                            version: CodeVersion::Compiled,
                        })
                    })
                    .collect()
            }
            ModuleCode::Lazy(lazy) => lazy
                .placed_functions()
                .iter()
                .map(|placed| placed.code_of_function())
                .collect(),
        }
    }

    /// Whether functions are compiled while the program runs (lazy or
    /// tiered compilation): [`Self::functions`] is then what exists so far.
    pub fn compiles_lazily(&self) -> bool {
        matches!(self.module.code, ModuleCode::Lazy(_))
    }

    /// Calls `watcher` with every function compiled so far and its bytes,
    /// in address order; for a lazily compiled module, then also with
    /// each function (or new version of one) as it is placed, on the
    /// thread that compiled it, for as long as the module lives. The
    /// watcher runs while placement is held up: keep it short.
    pub fn watch(&self, mut watcher: CodeWatcher) {
        match &self.module.code {
            ModuleCode::Eager(_) => {
                for function in self.functions() {
                    watcher(function, self.function_bytes(&function));
                }
            }
            ModuleCode::Lazy(lazy) => lazy.watch(watcher),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use wasmtier_core::{Engine, EngineConfig, Features, ValidatedModule};

    use super::*;
    use crate::JitEngine;

    #[test]
    fn every_function_lies_inside_the_code_in_order() {
        let wasm = wat::parse_str(
            r#"(module
                 (import "env" "f" (func))
                 (func $first (result i32) i32.const 1)
                 (func $second (param i32) (result i32) local.get 0 i32.const 2 i32.mul))"#,
        )
        .unwrap();
        let module = ValidatedModule::new(&wasm, Features::default()).unwrap();
        let engine = JitEngine::new(EngineConfig::default());
        let compiled = engine.compile(Arc::new(module)).unwrap();
        let map = CodeMap::of(compiled.as_ref()).unwrap();
        let functions: Vec<FunctionCode> = map.functions();
        assert_eq!(
            functions.iter().map(|f| f.index).collect::<Vec<_>>(),
            [1, 2]
        );
        let range = map.range();
        for pair in functions.windows(2) {
            assert!(pair[0].address + pair[0].len <= pair[1].address);
        }
        for f in &functions {
            assert!(range.start <= f.address && f.address + f.len <= range.end);
            // Frame pointers are kept (backtraces): `push rbp; mov rbp, rsp`
            // on x86-64, `stp x29, x30, [sp, #-16]!` on aarch64.
            let prologue: [u8; 4] = if cfg!(target_arch = "aarch64") {
                [0xfd, 0x7b, 0xbf, 0xa9]
            } else {
                [0x55, 0x48, 0x89, 0xe5]
            };
            assert_eq!(map.function_bytes(f)[..4], prologue);
        }
    }
}
