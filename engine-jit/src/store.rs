//! `Store` for the JIT: instances, store-owned memories, tables, globals
//! and host functions, and calls into Wasm.

use std::any::Any;
use std::sync::Arc;

use wasmtier_core::{
    CallError, CompiledModule, EngineConfig, Export, ExternKind, Frame, FuncSig, FuncType,
    HostItem, InstanceId, LinkError, Linker, Store, Trap, TrapCode, Val, check_arguments,
};

use crate::builtins::BUILTINS;
use crate::exception_table::HandlerEntry;
use crate::exceptions::{Handler, Tag};
use crate::gc::{self, runtime::GcRuntime};
use crate::instance::{Created, Extern, Instance};
use crate::interrupt::Interrupt;
use crate::linear_memory::{LinearMemory, MemoryOptions, SharedLinearMemory, Table};
use crate::memory_strategy::MemoryStrategy;
use crate::module::{JitCompiled, JitModule};
use crate::runtime::{FuncRefArray, HostFuncRecord, StoreRuntime};
use crate::signals::{self, CodeLookup};
use crate::values::from_raw;

use crate::vmcontext::{VMContext, VMGlobal, VMHostFunc, VMStoreContext};

/// Stack bytes kept free below the Wasm stack limit for host code.
const HOST_STACK_RESERVE: usize = 256 * 1024;

/// The modules whose code may run in a store, for the signal handler.
#[derive(Default)]
struct StoreCode {
    modules: Vec<Arc<JitModule>>,
}

impl StoreCode {
    fn find(&self, pc: usize) -> Option<&JitModule> {
        self.modules.iter().map(|m| &**m).find(|m| m.contains(pc))
    }
}

impl CodeLookup for StoreCode {
    fn trap_at(&self, pc: usize) -> Option<TrapCode> {
        self.find(pc)?.trap_at(pc)
    }

    fn is_wasm(&self, pc: usize) -> bool {
        self.find(pc)
            .is_some_and(|module| module.func_at(pc).is_some())
    }

    unsafe fn gc_slots(&self, pc: usize, fp: usize, slots: &mut Vec<usize>) {
        self.find(pc).and_then(|module| {
            module.with_code_at(pc, |at| {
                let (frame_size, offsets) = at.stack_maps.lookup((pc - at.base) as u32)?;
                let sp = fp.checked_sub(frame_size as usize)?;
                // A slot lies in the frame, below its frame pointer (a
                // damaged artifact's map can point nowhere else).
                slots.extend(
                    offsets
                        .filter(|&offset| offset < frame_size)
                        .map(|offset| sp + offset as usize),
                );
                Some(())
            })
        });
    }

    unsafe fn handler(&self, pc: usize, fp: usize, tag: *const Tag) -> Option<Handler> {
        self.find(pc)?
            .with_code_at(pc, |at| {
                let (frame_offset, handlers) = at.exceptions.lookup((pc - at.base) as u32)?;
                let sp = fp.checked_sub(frame_offset as usize)?;
                let mut context: Option<*const Instance> = None;
                for entry in handlers {
                    let landing = match entry {
                        HandlerEntry::Context { sp_offset } => {
                            // SAFETY: the caller's contract: the frame is
                            // live, and its call site saved its vmctx at
                            // this offset.
                            let vmctx =
                                unsafe { *((sp + sp_offset as usize) as *const *const VMContext) };
                            // SAFETY: a saved vmctx is a live instance's context.
                            context = (!vmctx.is_null())
                                .then(|| unsafe { (*vmctx).instance.cast_const().cast() });
                            continue;
                        }
                        HandlerEntry::CatchAll { offset } => offset,
                        HandlerEntry::Tag { tag: index, offset } => {
                            // SAFETY: instances live as long as the store.
                            let instance = unsafe { &*context? };
                            if instance.tags.get(index as usize).copied() != Some(tag) {
                                continue;
                            }
                            offset
                        }
                    };
                    let pc = at.base.checked_add(landing as usize)?;
                    return at.code.contains(&pc).then_some(Handler { pc, sp, fp });
                }
                None
            })
            .flatten()
    }
}

pub struct JitStore {
    config: EngineConfig,
    runtime: *mut StoreRuntime,
    code: StoreCode,
    instances: Vec<*mut Instance>,
    memories: Vec<*mut LinearMemory>,
    /// Shared memories this store's instances use (created here or
    /// imported): the store's share keeps each alive.
    shared_memories: Vec<Arc<SharedLinearMemory>>,
    tables: Vec<*mut Table>,
    globals: Vec<*mut VMGlobal>,
    host_funcs: Vec<*mut HostFuncRecord>,
    tags: Vec<*mut Tag>,
    linker: Linker<Extern>,
    /// The deadline's timer, when the engine has a timeout; generated code
    /// reads its counter through `VMStoreContext::interrupt`.
    _interrupt: Option<Interrupt>,
}

// SAFETY: every raw pointer is owned by the store alone and only used
// through `&mut self` (or by Wasm code running inside such a call).
unsafe impl Send for JitStore {}

impl JitStore {
    pub(crate) fn new(config: &EngineConfig, state: Box<dyn Any + Send>) -> Self {
        let deadline = config.deadline();
        let interrupt = deadline
            .map(|at| Interrupt::start(at.saturating_duration_since(std::time::Instant::now())));
        let vm = VMStoreContext {
            fuel: config
                .fuel
                .map_or(i64::MAX, |fuel| i64::try_from(fuel).unwrap_or(i64::MAX)),
            interrupt: interrupt.as_ref().map_or(0, Interrupt::address),
            ..VMStoreContext::default()
        };
        let runtime = Box::into_raw(Box::new(StoreRuntime {
            vm,
            state,
            func_refs: Vec::new(),
            exceptions: Default::default(),
            gc: GcRuntime {
                capacity: config.max_gc_heap.unwrap_or(gc::runtime::DEFAULT_CAPACITY),
                ..GcRuntime::default()
            },
            deadline,
        }));
        Self {
            config: config.clone(),
            runtime,
            code: StoreCode::default(),
            instances: Vec::new(),
            memories: Vec::new(),
            shared_memories: Vec::new(),
            tables: Vec::new(),
            globals: Vec::new(),
            host_funcs: Vec::new(),
            tags: Vec::new(),
            linker: Linker::default(),
            _interrupt: interrupt,
        }
    }

    /// The store's runtime record, for reading between calls.
    fn runtime_ref(&self) -> &StoreRuntime {
        // SAFETY: the record lives as long as the store, and no Wasm runs
        // while `&self` is borrowed.
        unsafe { &*self.runtime }
    }

    fn instance(&self, id: InstanceId) -> &Instance {
        // SAFETY: instances live as long as the store.
        unsafe { &*self.instances[id.0] }
    }

    fn export(&self, id: InstanceId, name: &str) -> Result<Export, CallError> {
        self.instance(id)
            .module
            .info
            .module
            .export(name)
            .cloned()
            .ok_or_else(|| CallError::NoSuchExport(name.to_string()))
    }

    fn export_extern(&self, id: InstanceId, export: &Export) -> Extern {
        let instance = self.instance(id);
        match export.kind {
            ExternKind::Func => {
                let module = &instance.module.info.module;
                let type_index = module
                    .func_type_index(export.index)
                    .expect("checked at instantiation");
                let mut funcref = instance.funcs[export.index as usize];
                if instance.module.is_lazy_stub(funcref.code) {
                    // Another instance will call it through a copy of this
                    // record, which the lazy JIT does not update: compile
                    // it now. (On failure the copy keeps the stub, and a
                    // call through it tries again and traps.)
                    let defined = export.index - module.num_imported_funcs();
                    if let Ok(code) = instance.module.ensure_compiled(defined) {
                        funcref.code = code as *const u8;
                    }
                }
                Extern::Func {
                    funcref,
                    ty: FuncSig {
                        id: module.type_ids()[type_index as usize],
                        ty: module.func_type(export.index).clone(),
                    },
                }
            }
            ExternKind::Memory => Extern::Memory(instance.memory(export.index)),
            ExternKind::Table => Extern::Table(instance.table(export.index)),
            ExternKind::Global => Extern::Global {
                global: instance.global(export.index),
                ty: instance.module.info.global_types[export.index as usize],
            },
            ExternKind::Tag => Extern::Tag(instance.tags[export.index as usize]),
        }
    }

    /// What instance `id` exports as `name`, as a definition to import.
    fn exported(&self, id: InstanceId, name: &str) -> Option<Extern> {
        let export = self.export(id, name).ok()?;
        Some(self.export_extern(id, &export))
    }

    /// Calls function `index` of `id` with raw argument slots.
    fn call_function(
        &mut self,
        id: InstanceId,
        index: u32,
        values: &mut [u128],
    ) -> Result<(), Trap> {
        let instance = self.instance(id);
        let mut funcref = instance.funcs[index as usize];
        let module = &instance.module;
        if module.is_lazy_stub(funcref.code) {
            // A lazily compiled module's function, never called so far:
            // compiled here, where a failure is a trap with no frames.
            let defined = index - module.info.module.num_imported_funcs();
            funcref.code = module
                .ensure_compiled(defined)
                .map_err(|e| compile_trap(&e))? as *const u8;
        }
        // Every function's type index was checked at instantiation, and
        // every trampoline offset when the code was loaded; lazy code
        // compiles its trampoline here the first time, where a failure
        // is a trap with no frames.
        let type_index = module
            .info
            .module
            .func_type_index(index)
            .expect("checked at instantiation") as usize;
        let trampoline = module
            .entry_trampoline(type_index)
            .map_err(|e| compile_trap(&e))?
            .expect("the function has this type, so a trampoline serves it");
        let caller = &instance.vmctx as *const _ as usize;
        let limit = signals::stack_limit(self.config.max_stack, HOST_STACK_RESERVE);
        // SAFETY: the runtime and the instances are live; no Wasm is
        // running on this store.
        unsafe {
            (*self.runtime).vm.stack_limit = limit;
            for &instance in &self.instances {
                (*instance).vmctx.stack_limit = limit;
            }
        }
        // SAFETY: the trampoline matches the function's type, both contexts
        // are live, and `values` has a slot per parameter and result.
        let outcome = unsafe {
            signals::call(
                &self.code,
                trampoline,
                funcref.vmctx as usize,
                caller,
                funcref.code as usize,
                values.as_mut_ptr(),
            )
        };
        outcome.map_err(|unwound| {
            let mut trap = unwound.trap;
            trap.backtrace = unwound
                .pcs
                .iter()
                .enumerate()
                .filter_map(|(depth, &pc)| {
                    // Return addresses point after the call instruction.
                    let inside = if depth == 0 { pc } else { pc - 1 };
                    let module = self.code.find(inside)?;
                    let (func_index, activations) = module.frame_at(inside, pc)?;
                    let frame = Frame {
                        func_index,
                        name: module.info.module.func_name(func_index).map(str::to_string),
                    };
                    Some(std::iter::repeat_n(frame, activations))
                })
                .flatten()
                .collect();
            trap
        })
    }

    fn instantiate_module(&mut self, module: Arc<JitModule>) -> Result<InstanceId, LinkError> {
        let wasm = module.info.module.clone();
        let imports = self.linker.resolve_imports(
            wasm.imports(),
            |id, name| self.exported(id, name),
            Extern::ty,
        )?;
        // Canonical type ids are process-wide: equal ids are the same type
        // in any module, and `call_indirect` compares them.
        let sig_ids = wasm
            .type_ids()
            .iter()
            .map(|id| u64::from(id.index()))
            .collect();
        let mut created = Created::default();
        let instance = Instance::new(
            module.clone(),
            &imports,
            sig_ids,
            self.runtime.cast(),
            &BUILTINS,
            &mut created,
            &self.config,
        );
        self.memories.extend(created.memories);
        self.shared_memories.extend(created.shared_memories);
        self.tables.extend(created.tables);
        self.tags.extend(created.tags);
        let instance = Box::into_raw(instance?);
        // SAFETY: the instance and the runtime are live and not borrowed.
        unsafe {
            let funcs = &(*instance).funcs;
            let range = funcs.as_ptr_range();
            (*self.runtime).func_refs.push(FuncRefArray {
                range: range.start as usize..range.end as usize,
                type_ids: funcs.iter().map(|f| f.type_id).collect(),
            });
        }
        if !self.code.modules.iter().any(|m| Arc::ptr_eq(m, &module)) {
            self.code.modules.push(module);
        }
        // Kept even if initialization traps: tables of other instances
        // may already point at its functions.
        self.instances.push(instance);
        let id = InstanceId(self.instances.len() - 1);
        // SAFETY: the instance was just created and is not borrowed.
        unsafe { (*instance).apply_segments() }.map_err(LinkError::Trap)?;
        if let Some(start) = wasm.start() {
            self.call_function(id, start, &mut [0])
                .map_err(LinkError::Trap)?;
        }
        Ok(id)
    }
}

impl Store for JitStore {
    fn define(&mut self, module: &str, name: &str, item: HostItem) -> Result<(), LinkError> {
        let ext = match item {
            HostItem::Func(func) => {
                let ty = FuncSig::of(func.ty.clone());
                let record = Box::into_raw(Box::new(HostFuncRecord {
                    vm: VMHostFunc {
                        index: self.host_funcs.len() as u64,
                    },
                    func,
                }));
                self.host_funcs.push(record);
                Extern::HostFunc {
                    func: record.cast(),
                    ty,
                }
            }
            HostItem::Global { ty, value } => {
                // SAFETY: the runtime is live; no Wasm runs during `&mut self`.
                let bits = unsafe { (*self.runtime).to_slot_typed(&value, ty.content) }
                    .ok_or_else(|| {
                        LinkError::Engine(format!(
                            "global `{module}::{name}`: the value is not a {}",
                            ty.content
                        ))
                    })?;
                let global = Box::into_raw(Box::new(VMGlobal::from_bits(bits)));
                self.globals.push(global);
                if gc::runtime::is_root_type(ty.content) {
                    // SAFETY: as above.
                    unsafe { (*self.runtime).gc.globals.push(global) };
                }
                Extern::Global { global, ty }
            }
            HostItem::Table(ty) => {
                let table = Box::into_raw(
                    Table::new(ty, 0, self.config.max_table_elements)
                        .map_err(|e| LinkError::ResourceLimit(e.to_string()))?,
                );
                self.tables.push(table);
                if gc::runtime::is_root_type(ty.element) {
                    // SAFETY: as above.
                    unsafe { (*self.runtime).gc.tables.push(table.cast()) };
                }
                Extern::Table(table)
            }
            HostItem::Memory(ty) if ty.shared => {
                let strategy = MemoryStrategy::choose(&ty, &self.config);
                let shared = SharedLinearMemory::new(ty, strategy, MemoryOptions::of(&self.config))
                    .map_err(|e| LinkError::ResourceLimit(e.to_string()))?;
                let memory = shared.as_ptr();
                self.shared_memories.push(shared);
                Extern::Memory(memory)
            }
            HostItem::Memory(ty) => {
                let strategy = MemoryStrategy::choose(&ty, &self.config);
                let memory = LinearMemory::new(ty, strategy, MemoryOptions::of(&self.config))
                    .map_err(|e| LinkError::ResourceLimit(e.to_string()))?;
                let memory = Box::into_raw(memory);
                self.memories.push(memory);
                Extern::Memory(memory)
            }
            HostItem::SharedMemory(handle) => {
                let shared = handle.downcast::<SharedLinearMemory>().ok_or_else(|| {
                    LinkError::Engine(format!(
                        "shared memory `{module}::{name}` was made by another engine"
                    ))
                })?;
                let memory = shared.as_ptr();
                self.shared_memories.push(shared);
                Extern::Memory(memory)
            }
        };
        self.linker.define(module, name, ext);
        Ok(())
    }

    fn instantiate(&mut self, module: &dyn CompiledModule) -> Result<InstanceId, LinkError> {
        let module = module
            .as_any()
            .downcast_ref::<JitCompiled>()
            .ok_or_else(|| LinkError::Engine("module was compiled by another engine".into()))?;
        self.instantiate_module(module.inner.clone())
    }

    fn register(&mut self, name: &str, instance: InstanceId) {
        self.linker.register(name, instance);
    }

    fn func_type(&self, instance: InstanceId, export: &str) -> Result<FuncType, CallError> {
        let e = self.export(instance, export)?;
        if e.kind != ExternKind::Func {
            return Err(CallError::WrongExportKind {
                name: export.to_string(),
                kind: e.kind.name(),
                wanted: "function",
            });
        }
        Ok(self
            .instance(instance)
            .module
            .info
            .module
            .func_type(e.index)
            .clone())
    }

    fn call(
        &mut self,
        instance: InstanceId,
        export: &str,
        args: &[Val],
    ) -> Result<Vec<Val>, CallError> {
        let ty = self.func_type(instance, export)?;
        check_arguments(export, &ty, args)?;
        let index = self.export(instance, export)?.index;
        let slots = ty.params.len().max(ty.results.len()).max(1);
        let mut values = vec![0u128; slots];
        // SAFETY: the runtime is live; no Wasm runs during `&mut self`.
        let runtime = unsafe { &*self.runtime };
        for (index, ((slot, arg), ty)) in values.iter_mut().zip(args).zip(&ty.params).enumerate() {
            *slot = runtime
                .to_slot_typed(arg, *ty)
                .ok_or_else(|| CallError::ArgumentType {
                    name: export.to_string(),
                    index,
                    expected: *ty,
                    got: arg.ty(),
                })?;
        }
        self.call_function(instance, index, &mut values)?;
        let heap = self.runtime_ref().gc.heap.as_ref();
        Ok(ty
            .results
            .iter()
            .zip(&values)
            .map(|(t, raw)| from_raw(*t, *raw, heap))
            .collect())
    }

    fn global(&mut self, instance: InstanceId, export: &str) -> Result<Val, CallError> {
        let e = self.export(instance, export)?;
        if e.kind != ExternKind::Global {
            return Err(CallError::WrongExportKind {
                name: export.to_string(),
                kind: e.kind.name(),
                wanted: "global",
            });
        }
        let instance = self.instance(instance);
        let ty = instance.global_type(e.index);
        // SAFETY: globals live as long as the store.
        let bits = unsafe { (*instance.global(e.index)).bits() };
        Ok(from_raw(ty, bits, self.runtime_ref().gc.heap.as_ref()))
    }

    fn with_memory(
        &mut self,
        instance: InstanceId,
        export: &str,
        access: &mut dyn FnMut(&mut [u8]),
    ) -> Result<(), CallError> {
        let e = self.export(instance, export)?;
        if e.kind != ExternKind::Memory {
            return Err(CallError::WrongExportKind {
                name: export.to_string(),
                kind: e.kind.name(),
                wanted: "memory",
            });
        }
        let memory = self.instance(instance).memory(e.index);
        // SAFETY: memories live as long as the store.
        if unsafe { (*memory).ty.shared } {
            // Other threads may be running on it: hand out a copy, and
            // write back only the bytes the caller changed.
            // SAFETY: as above.
            let cells = unsafe { (*memory).cells() };
            let mut bytes = vec![0; cells.len()];
            let before = wasmtier_core::HostMemory::Shared(cells);
            before.read(0, &mut bytes);
            let original = bytes.clone();
            access(&mut bytes);
            let mut after = wasmtier_core::HostMemory::Shared(cells);
            for (offset, (new, old)) in bytes.iter().zip(&original).enumerate() {
                if new != old {
                    after.write(offset, std::slice::from_ref(new));
                }
            }
            return Ok(());
        }
        // SAFETY: an unshared memory is this store's alone, and no Wasm
        // runs during `&mut self`, so nothing else reads or writes it.
        access(unsafe { (*memory).bytes_mut() });
        Ok(())
    }

    fn shared_memory(
        &mut self,
        instance: InstanceId,
        export: &str,
    ) -> Result<wasmtier_core::SharedMemory, CallError> {
        let e = self.export(instance, export)?;
        let memory =
            (e.kind == ExternKind::Memory).then(|| self.instance(instance).memory(e.index));
        let shared = memory.and_then(|m| self.shared_memories.iter().find(|s| s.as_ptr() == m));
        match shared {
            Some(memory) => Ok(wasmtier_core::SharedMemory::new(
                memory.ty(),
                memory.clone(),
            )),
            None => Err(CallError::WrongExportKind {
                name: export.to_string(),
                kind: e.kind.name(),
                wanted: "shared memory",
            }),
        }
    }

    fn state_mut(&mut self) -> &mut (dyn Any + Send) {
        // SAFETY: the runtime is live and no Wasm runs during `&mut self`.
        unsafe { &mut *(*self.runtime).state }
    }
}

impl Drop for JitStore {
    fn drop(&mut self) {
        // SAFETY: each pointer came from `Box::into_raw` and is freed once;
        // no Wasm can run any more.
        unsafe {
            for instance in self.instances.drain(..) {
                drop(Box::from_raw(instance));
            }
            for memory in self.memories.drain(..) {
                drop(Box::from_raw(memory));
            }
            for table in self.tables.drain(..) {
                drop(Box::from_raw(table));
            }
            for global in self.globals.drain(..) {
                drop(Box::from_raw(global));
            }
            for func in self.host_funcs.drain(..) {
                drop(Box::from_raw(func));
            }
            for tag in self.tags.drain(..) {
                drop(Box::from_raw(tag));
            }
            drop(Box::from_raw(self.runtime));
        }
    }
}

/// The trap that ends a call when a lazily compiled function cannot be
/// compiled: `--timeout` running out while compiling, or a compiler error.
pub(crate) fn compile_trap(error: &crate::compile::CompileError) -> Trap {
    match error {
        crate::compile::CompileError::TimeLimit => Trap::code(TrapCode::Interrupted),
        other => Trap::host(format!("cannot compile: {other}")),
    }
}
