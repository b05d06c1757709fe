//! `Store` over a `wasmi::Store`: instances, host definitions, calls.

use std::any::Any;
use std::fmt;

use wasmi::{AsContext, AsContextMut, Extern, Func, Nullable, StoreLimits, StoreLimitsBuilder};
use wasmtier_core::{
    CallError, CompiledModule, EngineConfig, ExternType, FuncRefHandle, FuncSig, FuncType,
    GlobalType, HostContext, HostFunc, HostItem, HostMemory, InstanceId, LinkError, Linker,
    MemoryType, Store, TableType, Trap, TrapCode, Val, ValType, check_arguments,
};

use crate::InterpModule;
use crate::contain::Poison;
use crate::convert;
use crate::deadline::{self, Deadline, Outcome};
use crate::grow;

/// What wasmi's store carries for us.
struct StoreData {
    state: Box<dyn Any + Send>,
    limits: StoreLimits,
    /// Functions handed out as `Val::FuncRef`; the handle is the index.
    func_refs: Vec<Func>,
}

/// Our trap, carried through wasmi as a host error and recovered intact.
#[derive(Debug)]
struct HostTrap(Trap);

impl fmt::Display for HostTrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl wasmi::errors::HostError for HostTrap {}

pub struct InterpStore {
    store: wasmi::Store<StoreData>,
    instances: Vec<wasmi::Instance>,
    linker: Linker<Extern>,
    /// Set when the engine has a timeout: calls then run in fuel slices.
    deadline: Option<Deadline>,
    poison: Poison,
}

/// Host-call values kept on the stack before falling back to the heap.
const INLINE_VALUES: usize = 12;

/// `len` values: a prefix of `inline` when it is long enough, else `heap`.
fn values_buffer<'a>(
    inline: &'a mut [Val; INLINE_VALUES],
    heap: &'a mut Vec<Val>,
    len: usize,
) -> &'a mut [Val] {
    if len <= INLINE_VALUES {
        &mut inline[..len]
    } else {
        heap.resize(len, Val::I32(0));
        heap
    }
}

impl InterpStore {
    pub(crate) fn new(
        engine: &wasmi::Engine,
        config: &EngineConfig,
        poison: Poison,
        state: Box<dyn Any + Send>,
    ) -> Self {
        let mut limits = StoreLimitsBuilder::new();
        if let Some(max) = config.max_memory {
            limits = limits.memory_size(usize::try_from(max).unwrap_or(usize::MAX));
        }
        if let Some(max) = config.max_table_elements {
            limits = limits.table_elements(usize::try_from(max).unwrap_or(usize::MAX));
        }
        let data = StoreData {
            state,
            limits: limits.build(),
            func_refs: Vec::new(),
        };
        let mut store = wasmi::Store::new(engine, data);
        store.limiter(|data| &mut data.limits);
        let deadline = config.deadline().map(|at| Deadline {
            at,
            fuel_left: config.fuel,
        });
        // With a deadline, fuel is set per call (in slices); without one the
        // user's budget goes to wasmi once and carries over between calls.
        if deadline.is_none()
            && let Some(fuel) = config.fuel
        {
            store
                .set_fuel(fuel)
                .expect("fuel metering is enabled whenever a fuel amount is configured");
        }
        Self {
            store,
            instances: Vec::new(),
            linker: Linker::default(),
            deadline,
            poison,
        }
    }

    fn instance(&self, id: InstanceId) -> wasmi::Instance {
        self.instances[id.0]
    }

    fn export_func(&self, instance: InstanceId, name: &str) -> Result<Func, CallError> {
        match self.instance(instance).get_export(&self.store, name) {
            Some(Extern::Func(func)) => Ok(func),
            Some(other) => Err(CallError::WrongExportKind {
                name: name.to_string(),
                kind: extern_kind_name(&other),
                wanted: "function",
            }),
            None => Err(CallError::NoSuchExport(name.to_string())),
        }
    }

    /// Runs a start function that compilation moved to an export, in fuel
    /// slices under the store's deadline; a trap fails the instantiation.
    fn run_deferred_start(
        &mut self,
        instance: wasmi::Instance,
        export: &str,
    ) -> Result<(), LinkError> {
        let Some(func) = instance.get_func(&self.store, export) else {
            return Err(LinkError::Engine(
                "the deferred start function is not exported".into(),
            ));
        };
        let store = &mut self.store;
        let outcome = self
            .poison
            .contained(|| match &mut self.deadline {
                Some(deadline) => deadline::call(store, deadline, func, &[], &mut []),
                None => match func.call(&mut *store, &[], &mut []) {
                    Ok(()) => Outcome::Finished,
                    Err(e) => Outcome::Error(e),
                },
            })
            .map_err(|panicked| LinkError::Trap(Trap::host(panicked.to_string())))?;
        match outcome {
            Outcome::Finished => Ok(()),
            Outcome::Error(e) => Err(instantiation_error(e)),
            Outcome::Stopped(trap) => Err(LinkError::Trap(trap)),
        }
    }

    fn host_func(&mut self, host: HostFunc) -> Func {
        let ty = convert::func_type(&host.ty);
        let result_types = host.ty.results.clone();
        Func::new(&mut self.store, ty, move |mut caller, params, results| {
            // On the stack for the usual few values (every WASI function has
            // at most 9 parameters and 1 result): a host call is hot in
            // I/O-bound guests.
            let mut arg_buf = [Val::I32(0); INLINE_VALUES];
            let mut out_buf = [Val::I32(0); INLINE_VALUES];
            let (mut arg_vec, mut out_vec) = (Vec::new(), Vec::new());
            let args = values_buffer(&mut arg_buf, &mut arg_vec, params.len());
            for (slot, param) in args.iter_mut().zip(params) {
                *slot = to_val(&mut caller, param);
            }
            let outs = values_buffer(&mut out_buf, &mut out_vec, result_types.len());
            for (slot, ty) in outs.iter_mut().zip(result_types.iter()) {
                *slot = Val::default_for(*ty);
            }
            let (args, outs) = (&*args, outs);
            let outcome = match caller.get_export("memory") {
                Some(Extern::Memory(memory)) => {
                    let (bytes, data) = memory.data_and_store_mut(&mut caller);
                    let mut cx = HostContext {
                        memory: Some(HostMemory::Unshared(bytes)),
                        state: &mut *data.state,
                    };
                    (host.func)(&mut cx, args, outs)
                }
                _ => {
                    let data = caller.data_mut();
                    let mut cx = HostContext {
                        memory: None,
                        state: &mut *data.state,
                    };
                    (host.func)(&mut cx, args, outs)
                }
            };
            match outcome {
                Ok(()) => {
                    for (slot, out) in results.iter_mut().zip(outs.iter()) {
                        *slot = from_val(&mut caller, out);
                    }
                    Ok(())
                }
                Err(trap) => Err(match trap.exit_status() {
                    Some(status) => wasmi::Error::i32_exit(status),
                    None => wasmi::Error::host(HostTrap(trap)),
                }),
            }
        })
    }
}

impl Store for InterpStore {
    fn define(&mut self, module: &str, name: &str, item: HostItem) -> Result<(), LinkError> {
        let definition = match item {
            HostItem::Func(host) if !convert::representable(&host.ty) => {
                return Err(LinkError::Engine(format!(
                    "`{module}::{name}` has type {}: exception references need the \
                     exceptions proposal, which the interp engine does not run",
                    host.ty
                )));
            }
            HostItem::Func(host) => Extern::Func(self.host_func(host)),
            HostItem::Global { ty, value } => {
                let value = from_val(&mut self.store, &value);
                Extern::Global(wasmi::Global::new(
                    &mut self.store,
                    value,
                    convert::mutability(ty),
                ))
            }
            HostItem::Table(ty) => {
                let init = match convert::val_type(ty.element) {
                    wasmi::ValType::ExternRef => wasmi::Ref::Extern(Nullable::Null),
                    _ => wasmi::Ref::Func(Nullable::Null),
                };
                let table = wasmi::Table::new(&mut self.store, convert::table_type(ty), init)
                    .map_err(|e| LinkError::ResourceLimit(e.to_string()))?;
                Extern::Table(table)
            }
            HostItem::Memory(MemoryType { shared: true, .. }) | HostItem::SharedMemory(_) => {
                return Err(LinkError::Engine(format!(
                    "`{module}::{name}` is a shared memory: the interp engine does not run \
                     the threads proposal"
                )));
            }
            HostItem::Memory(ty) => {
                let ty = convert::memory_type(ty).map_err(|e| LinkError::Engine(e.to_string()))?;
                let memory = wasmi::Memory::new(&mut self.store, ty)
                    .map_err(|e| LinkError::ResourceLimit(e.to_string()))?;
                Extern::Memory(memory)
            }
        };
        self.linker.define(module, name, definition);
        Ok(())
    }

    fn instantiate(&mut self, compiled: &dyn CompiledModule) -> Result<InstanceId, LinkError> {
        let compiled = compiled
            .as_any()
            .downcast_ref::<InterpModule>()
            .ok_or_else(|| LinkError::Engine("module was compiled by another engine".into()))?;
        let mut externs = self.linker.resolve_imports(
            compiled.module.imports(),
            |instance, name| self.instance(instance).get_export(&self.store, name),
            |definition| extern_type(&self.store, definition),
        )?;
        // wasmi lists a module's imports by kind (functions, tables,
        // memories, globals), keeping the module's order within each kind,
        // and pairs them with `externs` in that order.
        externs.sort_by_key(|e| match e {
            Extern::Func(_) => 0,
            Extern::Table(_) => 1,
            Extern::Memory(_) => 2,
            Extern::Global(_) => 3,
        });
        // wasmi runs a start function without a resumable handle. Under a
        // deadline the module was compiled with its start function moved to
        // an export (`rewrite/`), called below in slices; this budget only
        // covers instantiation itself.
        if let Some(deadline) = &self.deadline {
            self.store
                .set_fuel(deadline.unpausable_budget())
                .expect("fuel metering is enabled whenever a deadline is configured");
        }
        let instance = self
            .poison
            .contained(|| wasmi::Instance::new(&mut self.store, &compiled.wasmi, &externs))
            .map_err(|panicked| LinkError::Trap(Trap::host(panicked.to_string())))?;
        if let Some(deadline) = &mut self.deadline {
            deadline.after_unpausable(self.store.get_fuel().unwrap_or(0));
        }
        let instance = instance.map_err(instantiation_error)?;
        if let Some(helpers) = &compiled.hidden.grow {
            grow::install(&mut self.store, instance, helpers)
                .map_err(|e| LinkError::Engine(e.to_string()))?;
        }
        if let Some(export) = &compiled.hidden.start {
            self.run_deferred_start(instance, export)?;
        }
        self.instances.push(instance);
        Ok(InstanceId(self.instances.len() - 1))
    }

    fn register(&mut self, name: &str, instance: InstanceId) {
        self.linker.register(name, instance);
    }

    fn func_type(&self, instance: InstanceId, export: &str) -> Result<FuncType, CallError> {
        let func = self.export_func(instance, export)?;
        Ok(convert::from_func_type(&func.ty(&self.store)))
    }

    fn call(
        &mut self,
        instance: InstanceId,
        export: &str,
        args: &[Val],
    ) -> Result<Vec<Val>, CallError> {
        let func = self.export_func(instance, export)?;
        let ty = convert::from_func_type(&func.ty(&self.store));
        check_arguments(export, &ty, args)?;
        let params: Vec<wasmi::Val> = args.iter().map(|a| from_val(&mut self.store, a)).collect();
        let mut results: Vec<wasmi::Val> = ty
            .results
            .iter()
            .map(|t| wasmi::Val::default_for_ty(convert::val_type(*t)))
            .collect();
        let outcome = self
            .poison
            .contained(|| match &mut self.deadline {
                None => match func.call(&mut self.store, &params, &mut results) {
                    Ok(()) => Outcome::Finished,
                    Err(e) => Outcome::Error(e),
                },
                Some(deadline) => {
                    deadline::call(&mut self.store, deadline, func, &params, &mut results)
                }
            })
            .map_err(|panicked| CallError::Trap(Trap::host(panicked.to_string())))?;
        match outcome {
            Outcome::Finished => {}
            Outcome::Error(e) => return Err(CallError::Trap(to_trap(e))),
            Outcome::Stopped(trap) => return Err(CallError::Trap(trap)),
        }
        Ok(results.iter().map(|r| to_val(&mut self.store, r)).collect())
    }

    fn global(&mut self, instance: InstanceId, export: &str) -> Result<Val, CallError> {
        match self.instance(instance).get_export(&self.store, export) {
            Some(Extern::Global(global)) => {
                let value = global.get(&self.store);
                Ok(to_val(&mut self.store, &value))
            }
            Some(other) => Err(CallError::WrongExportKind {
                name: export.to_string(),
                kind: extern_kind_name(&other),
                wanted: "global",
            }),
            None => Err(CallError::NoSuchExport(export.to_string())),
        }
    }

    fn with_memory(
        &mut self,
        instance: InstanceId,
        export: &str,
        access: &mut dyn FnMut(&mut [u8]),
    ) -> Result<(), CallError> {
        match self.instance(instance).get_export(&self.store, export) {
            Some(Extern::Memory(memory)) => {
                access(memory.data_mut(&mut self.store));
                Ok(())
            }
            Some(other) => Err(CallError::WrongExportKind {
                name: export.to_string(),
                kind: extern_kind_name(&other),
                wanted: "memory",
            }),
            None => Err(CallError::NoSuchExport(export.to_string())),
        }
    }

    fn state_mut(&mut self) -> &mut (dyn Any + Send) {
        &mut *self.store.data_mut().state
    }
}

fn extern_kind_name(ext: &Extern) -> &'static str {
    match ext {
        Extern::Func(_) => "function",
        Extern::Global(_) => "global",
        Extern::Table(_) => "table",
        Extern::Memory(_) => "memory",
    }
}

fn extern_type(store: &impl AsContext, ext: &Extern) -> ExternType {
    match ext {
        Extern::Func(f) => ExternType::Func(FuncSig::of(convert::from_func_type(&f.ty(store)))),
        Extern::Global(g) => {
            let ty = g.ty(store);
            ExternType::Global(GlobalType {
                content: convert::from_val_type(ty.content()),
                mutable: ty.mutability().is_mut(),
            })
        }
        Extern::Table(t) => {
            let ty = t.ty(store);
            ExternType::Table(TableType {
                element: match ty.element() {
                    wasmi::RefType::Extern => ValType::EXTERNREF,
                    wasmi::RefType::Func => ValType::FUNCREF,
                },
                minimum: t.size(store),
                maximum: ty.maximum(),
                table64: ty.is_64(),
            })
        }
        Extern::Memory(m) => {
            let ty = m.ty(store);
            ExternType::Memory(MemoryType {
                minimum: m.size(store),
                maximum: ty.maximum(),
                memory64: ty.is_64(),
                shared: false,
                page_size_log2: page_size_log2(ty),
            })
        }
    }
}

/// The page size of a memory type, as a power of two.
///
/// wasmi does not expose it, but the custom-page-sizes proposal allows only
/// 1-byte and 64 KiB pages: rebuild the type with 1-byte pages and compare.
fn page_size_log2(ty: wasmi::MemoryType) -> u32 {
    let mut one_byte_pages = wasmi::MemoryType::builder();
    one_byte_pages
        .memory64(ty.is_64())
        .min(ty.minimum())
        .max(ty.maximum())
        .page_size_log2(0);
    if one_byte_pages.build().ok() == Some(ty) {
        0
    } else {
        16
    }
}

/// Turns a wasmi error out of a call into our trap.
fn to_trap(error: wasmi::Error) -> Trap {
    if let Some(code) = error.as_trap_code() {
        return Trap::code(convert::trap_code(code));
    }
    if let Some(status) = error.i32_exit_status() {
        return Trap::exit(status);
    }
    if let Some(HostTrap(trap)) = error.downcast_ref::<HostTrap>() {
        return trap.clone();
    }
    Trap::host(error.to_string())
}

fn instantiation_error(error: wasmi::Error) -> LinkError {
    use wasmi::errors::{ErrorKind, InstantiationError, MemoryError, TableError};
    match error.kind() {
        ErrorKind::TrapCode(_) | ErrorKind::I32ExitStatus(_) | ErrorKind::Host(_) => {
            LinkError::Trap(to_trap(error))
        }
        // A data or element segment that does not fit traps, as the spec
        // says; wasmi reports it as a memory or table error.
        ErrorKind::Memory(MemoryError::OutOfBoundsAccess) => {
            LinkError::Trap(Trap::code(TrapCode::MemoryOutOfBounds))
        }
        ErrorKind::Table(TableError::InitOutOfBounds | TableError::SetOutOfBounds)
        | ErrorKind::Instantiation(InstantiationError::ElementSegmentDoesNotFit { .. }) => {
            LinkError::Trap(Trap::code(TrapCode::TableOutOfBounds))
        }
        ErrorKind::Memory(_) | ErrorKind::Table(_) => LinkError::ResourceLimit(error.to_string()),
        _ => LinkError::Engine(error.to_string()),
    }
}

fn to_val(mut ctx: impl AsContextMut<Data = StoreData>, value: &wasmi::Val) -> Val {
    match value {
        wasmi::Val::I32(v) => Val::I32(*v),
        wasmi::Val::I64(v) => Val::I64(*v),
        wasmi::Val::F32(v) => Val::F32(v.to_bits()),
        wasmi::Val::F64(v) => Val::F64(v.to_bits()),
        wasmi::Val::V128(v) => Val::V128(v.as_u128()),
        wasmi::Val::FuncRef(func) => Val::FuncRef(func.val().map(|func| {
            let mut store = ctx.as_context_mut();
            let refs = &mut store.data_mut().func_refs;
            refs.push(*func);
            FuncRefHandle((refs.len() - 1) as u64)
        })),
        wasmi::Val::ExternRef(ext) => Val::ExternRef(ext.val().map(|ext| {
            // Every extern reference we create holds a u32; others (none
            // today) would show as 0.
            ext.data(ctx.as_context())
                .downcast_ref::<u32>()
                .copied()
                .unwrap_or(0)
        })),
    }
}

fn from_val(mut ctx: impl AsContextMut<Data = StoreData>, value: &Val) -> wasmi::Val {
    match *value {
        Val::I32(v) => wasmi::Val::I32(v),
        Val::I64(v) => wasmi::Val::I64(v),
        Val::F32(bits) => wasmi::Val::F32(convert::f32(bits)),
        Val::F64(bits) => wasmi::Val::F64(convert::f64(bits)),
        Val::V128(bits) => wasmi::Val::V128(convert::v128(bits)),
        Val::FuncRef(None) => wasmi::Val::FuncRef(Nullable::Null),
        Val::FuncRef(Some(FuncRefHandle(index))) => {
            let store = ctx.as_context();
            match store.data().func_refs.get(index as usize) {
                Some(func) => wasmi::Val::FuncRef(Nullable::Val(*func)),
                None => wasmi::Val::FuncRef(Nullable::Null),
            }
        }
        // No function this engine runs takes an exception or GC reference
        // (`check_arguments` compares against wasmi's own types), and no
        // module it runs makes an externref of an internal one.
        Val::ExternRef(None) | Val::ExnRef(_) | Val::AnyRef(_) | Val::ExternAny(_) => {
            wasmi::Val::ExternRef(Nullable::Null)
        }
        Val::ExternRef(Some(payload)) => {
            let ext = wasmi::ExternRef::new(ctx.as_context_mut(), payload);
            wasmi::Val::ExternRef(Nullable::Val(ext))
        }
    }
}
