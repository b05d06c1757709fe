//! Compiling a whole module: every defined function, an entry trampoline
//! and a host adapter per signature, laid out in one `CodeMemory` with
//! calls between functions patched and every trap site recorded.

use std::ops::Range;
use std::sync::Arc;

use cranelift_codegen::binemit::Reloc;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{ExternalName, Function, UserExternalName};
use cranelift_codegen::isa::{OwnedTargetIsa, TargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::{Context, FinalizedRelocTarget};
use cranelift_frontend::FunctionBuilderContext;
use wasmtier_core::{EngineConfig, TrapCode, ValidatedModule};

use crate::code_memory::{CodeMemory, PcRel32};
use crate::module_info::ModuleInfo;
use crate::trampolines::{entry_trampoline, host_adapter};
use crate::translate::translate_function;
use crate::traps::{self, TrapTable};

/// Functions start at multiples of this.
const FUNCTION_ALIGNMENT: usize = 16;

/// The host's instruction set with the flags every tier shares.
pub fn host_isa() -> Result<OwnedTargetIsa, String> {
    let mut flags = settings::builder();
    let set = |flags: &mut settings::Builder, name: &str, value: &str| {
        flags
            .set(name, value)
            .map_err(|e| format!("cranelift flag {name}={value}: {e}"))
    };
    set(&mut flags, "opt_level", "speed")?;
    // Frame pointers let the signal handler walk Wasm frames for backtraces.
    set(&mut flags, "preserve_frame_pointers", "true")?;
    // More results than registers go through a hidden return area.
    set(&mut flags, "enable_multi_ret_implicit_sret", "true")?;
    set(
        &mut flags,
        "enable_verifier",
        if cfg!(debug_assertions) {
            "true"
        } else {
            "false"
        },
    )?;
    let builder = cranelift_native::builder().map_err(|e| e.to_string())?;
    builder
        .finish(settings::Flags::new(flags))
        .map_err(|e| e.to_string())
}

/// A module's code and the metadata to run it.
pub struct CompiledCode {
    pub memory: CodeMemory,
    /// Code range of each defined function, relative to the code base.
    pub functions: Vec<Range<u32>>,
    /// Entry trampoline offset per type index.
    pub entry_trampolines: Vec<u32>,
    /// Host adapter offset per type index.
    pub host_adapters: Vec<u32>,
    pub traps: TrapTable,
}

/// One function's machine code before it is placed.
struct FunctionCode {
    bytes: Vec<u8>,
    /// `(offset, trap)` relative to the function.
    traps: Vec<(u32, TrapCode)>,
    /// `(offset, callee function index, addend)` of PC-relative calls.
    calls: Vec<(u32, u32, i64)>,
}

fn compile_function(isa: &dyn TargetIsa, func: Function) -> Result<FunctionCode, String> {
    let name = func.name.to_string();
    let mut context = Context::for_function(func);
    let compiled = context
        .compile(isa, &mut ControlPlane::default())
        .map_err(|e| format!("compiling {name}: {:?}", e.inner))?;
    let traps = compiled
        .buffer
        .traps()
        .iter()
        .map(|trap| (trap.offset, traps::to_wasm(trap.code)))
        .collect();
    let relocs = compiled.buffer.relocs().to_vec();
    let bytes = compiled.code_buffer().to_vec();
    let mut calls = Vec::new();
    for reloc in relocs {
        if !matches!(reloc.kind, Reloc::X86CallPCRel4 | Reloc::X86PCRel4) {
            return Err(format!("{name}: unsupported relocation {:?}", reloc.kind));
        }
        let FinalizedRelocTarget::ExternalName(ExternalName::User(r)) = reloc.target else {
            return Err(format!(
                "{name}: unsupported relocation target {:?}",
                reloc.target
            ));
        };
        let UserExternalName { index, .. } = context.func.params.user_named_funcs()[r];
        calls.push((reloc.offset, index, reloc.addend));
    }
    Ok(FunctionCode {
        bytes,
        traps,
        calls,
    })
}

/// Modules with at least this many functions are compiled on several
/// threads.
const PARALLEL_THRESHOLD: usize = 64;

/// Translates and compiles every defined function, in order.
fn compile_defined(
    isa: &dyn TargetIsa,
    info: &ModuleInfo,
    config: &EngineConfig,
) -> Result<Vec<FunctionCode>, String> {
    let module = &info.module;
    let count = module.func_bodies.len();
    let one = |index: usize, context: &mut FunctionBuilderContext| {
        let index = module.num_imported_funcs + index as u32;
        let func = translate_function(info, index, context, isa.frontend_config())
            .map_err(|e| format!("function {index}: {e}"))?;
        compile_function(isa, func)
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if config.low_memory || count < PARALLEL_THRESHOLD || threads == 1 {
        let mut context = FunctionBuilderContext::new();
        return (0..count).map(|i| one(i, &mut context)).collect();
    }
    let mut results: Vec<Option<Result<FunctionCode, String>>> = (0..count).map(|_| None).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|worker| {
                let one = &one;
                scope.spawn(move || {
                    let mut context = FunctionBuilderContext::new();
                    (worker..count)
                        .step_by(threads)
                        .map(|i| (i, one(i, &mut context)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for worker in workers {
            for (i, result) in worker.join().expect("compiler thread panicked") {
                results[i] = Some(result);
            }
        }
    });
    results
        .into_iter()
        .map(|r| r.expect("every function compiled"))
        .collect()
}

/// Functions placed one after another in one buffer.
#[derive(Default)]
struct Layout {
    code: Vec<u8>,
    /// `(site, callee function index, addend)`.
    relocs: Vec<(usize, u32, i64)>,
    traps: Vec<(u32, TrapCode)>,
}

impl Layout {
    fn place(&mut self, function: FunctionCode) -> Result<Range<u32>, String> {
        while !self.code.len().is_multiple_of(FUNCTION_ALIGNMENT) {
            self.code.push(0);
        }
        let start = self.code.len();
        let base = u32::try_from(start).map_err(|_| "code too big")?;
        self.code.extend_from_slice(&function.bytes);
        let end = u32::try_from(self.code.len()).map_err(|_| "code too big")?;
        self.traps.extend(
            function
                .traps
                .iter()
                .map(|&(offset, code)| (base + offset, code)),
        );
        self.relocs.extend(
            function
                .calls
                .iter()
                .map(|&(offset, callee, addend)| (start + offset as usize, callee, addend)),
        );
        Ok(base..end)
    }
}

pub fn compile_module(
    isa: &dyn TargetIsa,
    module: &Arc<ValidatedModule>,
    config: &EngineConfig,
) -> Result<(ModuleInfo, CompiledCode), String> {
    let info = ModuleInfo::new(module.clone(), config)?;
    let mut layout = Layout::default();
    let mut functions = Vec::with_capacity(module.func_bodies.len());
    for function in compile_defined(isa, &info, config)? {
        functions.push(layout.place(function)?);
    }
    let mut builder_context = FunctionBuilderContext::new();
    let frontend = isa.frontend_config();
    let mut entry_trampolines = Vec::with_capacity(module.types.len());
    let mut host_adapters = Vec::with_capacity(module.types.len());
    for (type_index, ty) in module.types.iter().enumerate() {
        let entry = entry_trampoline(ty, type_index as u32, &mut builder_context, frontend);
        entry_trampolines.push(layout.place(compile_function(isa, entry)?)?.start);
        let adapter = host_adapter(ty, type_index as u32, &mut builder_context, frontend);
        host_adapters.push(layout.place(compile_function(isa, adapter)?)?.start);
    }
    let relocs = layout
        .relocs
        .iter()
        .map(|&(site, func, addend)| {
            let defined = func
                .checked_sub(module.num_imported_funcs)
                .ok_or("direct call to an imported function")?;
            Ok(PcRel32 {
                site,
                target: functions[defined as usize].start as usize,
                addend,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let memory = CodeMemory::new(&layout.code, &relocs)?;
    Ok((
        info,
        CompiledCode {
            memory,
            functions,
            entry_trampolines,
            host_adapters,
            traps: TrapTable::new(layout.traps),
        },
    ))
}
