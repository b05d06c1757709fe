//! Programs that use threads: the shared memory a module imports (made for
//! the run, as wasmtime and WAMR do), and wasi-threads' `thread-spawn`.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use wasmtier_core::{
    CompiledModule, Engine, ExternType, FuncType, HostItem, SharedMemory, Store, TrapKind, ValType,
    ValidatedModule,
};
use wasmtier_wasi::{ThreadEnd, ThreadsConfig, WasiState};

/// A shared memory the module imports, made for this run.
pub struct ProgramMemory {
    module: String,
    name: String,
    memory: SharedMemory,
}

/// Makes the shared memory `module` imports, if it imports one: its type's
/// minimum and maximum, shared by every thread of the program.
pub fn imported_memory(
    engine: &dyn Engine,
    module: &ValidatedModule,
) -> Result<Option<ProgramMemory>> {
    let mut shared = module
        .imports()
        .iter()
        .filter_map(|import| match import.ty {
            ExternType::Memory(ty) if ty.shared => Some((import, ty)),
            _ => None,
        });
    let Some((import, ty)) = shared.next() else {
        return Ok(None);
    };
    if shared.next().is_some() {
        bail!("the module imports more than one shared memory; `run` provides one");
    }
    let memory = engine.new_shared_memory(ty).with_context(|| {
        let engines = wasmtier_engines::running(&["threads"]);
        format!(
            "the module imports a shared memory `{}::{}` (threads proposal), which the {} engine \
             cannot provide (engines with threads: {})",
            import.module,
            import.name,
            engine.kind(),
            if engines.is_empty() {
                "none in this build".to_string()
            } else {
                engines.join(", ")
            }
        )
    })?;
    Ok(Some(ProgramMemory {
        module: import.module.clone(),
        name: import.name.clone(),
        memory,
    }))
}

impl ProgramMemory {
    pub fn define(&self, store: &mut dyn Store) -> Result<()> {
        store
            .define(
                &self.module,
                &self.name,
                HostItem::SharedMemory(self.memory.clone()),
            )
            .with_context(|| format!("cannot provide `{}::{}`", self.module, self.name))
    }
}

/// Lets a wasi-threads program spawn threads: checks what the ABI needs of
/// the module, then enables `thread-spawn` in `wasi` and defines it.
/// A spawned thread that exits or traps ends the process with its status.
pub fn enable_spawning(
    wasi: &mut WasiState,
    engine: Arc<dyn Engine>,
    compiled: Arc<dyn CompiledModule>,
    memory: Option<&ProgramMemory>,
    max_threads: u32,
    max_stack: Option<usize>,
) -> Result<()> {
    let module = compiled.module();
    let Some(memory) = memory else {
        bail!(
            "the module imports `wasi::thread-spawn` but no shared memory: a wasi-threads \
             program imports the memory its threads share"
        );
    };
    let start = FuncType::new([ValType::I32, ValType::I32], []);
    match module.export(wasmtier_wasi::THREAD_START) {
        Some(export) if export.kind == wasmtier_core::ExternKind::Func => {
            let ty = module.func_type(export.index);
            if *ty != start {
                bail!(
                    "the module's `{}` has type {ty}; wasi-threads calls it as {start}",
                    wasmtier_wasi::THREAD_START
                );
            }
        }
        _ => bail!(
            "the module imports `wasi::thread-spawn` but exports no function `{}` for new \
             threads to run",
            wasmtier_wasi::THREAD_START
        ),
    }
    // Wasm runs on the thread's own stack: room for the guest's limit
    // plus the host's share below it.
    let guest_stack = max_stack.unwrap_or(8 << 20);
    wasi.enable_threads(ThreadsConfig {
        engine,
        module: compiled,
        memory: memory.memory.clone(),
        memory_import: (memory.module.clone(), memory.name.clone()),
        max_threads,
        stack_size: guest_stack.saturating_add(2 << 20),
        on_end: Arc::new(end_program),
    });
    Ok(())
}

/// A spawned thread ended the program: exit now, with the status the main
/// thread's exit or trap would have given.
fn end_program(end: ThreadEnd) {
    let status = match end {
        ThreadEnd::Exit(status) => status,
        ThreadEnd::Trap(trap) => match trap.kind {
            TrapKind::Exit(status) => status,
            _ => {
                eprintln!("error: in a spawned thread: {trap}");
                i32::from(crate::TRAP_EXIT_STATUS)
            }
        },
    };
    std::process::exit(status);
}
