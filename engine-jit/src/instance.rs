//! Instances: building the VM context from resolved imports, evaluating
//! constant expressions, and applying element and data segments.

use std::ops::Range;
use std::sync::Arc;

use wasmtier_core::{
    EngineConfig, ExternType, FuncSig, GlobalType, LinkError, MemoryType, TableType, Trap,
    TrapCode, ValType,
};

use crate::exceptions::Tag;
use crate::gc;
use crate::linear_memory::{LinearMemory, MemoryOptions, ResourceError, SharedLinearMemory, Table};
use crate::memory_strategy::MemoryStrategy;
use crate::module::{JitModule, ModuleCode};
use crate::module_info::{ConstExpr, ConstOp, ElementMode};
use crate::runtime::StoreRuntime;
use crate::vmcontext::{
    VMBuiltins, VMContext, VMFuncRef, VMGlobal, VMHostFunc, VMMemory, VMStoreContext, VMTable,
};

/// Something an instance can import.
#[derive(Debug, Clone)]
pub enum Extern {
    /// A Wasm function (or a host function re-exported by an instance).
    Func {
        funcref: VMFuncRef,
        ty: FuncSig,
    },
    /// A host function: its code is the importing module's adapter.
    HostFunc {
        func: *mut VMHostFunc,
        ty: FuncSig,
    },
    Memory(*mut LinearMemory),
    Table(*mut Table),
    Global {
        global: *mut VMGlobal,
        ty: GlobalType,
    },
    /// An exception tag (store-owned; its address is its identity).
    Tag(*const Tag),
}

impl Extern {
    /// The type import matching compares (current sizes as minimums).
    pub fn ty(&self) -> ExternType {
        match self {
            Self::Func { ty, .. } | Self::HostFunc { ty, .. } => ExternType::Func(ty.clone()),
            Self::Global { ty, .. } => ExternType::Global(*ty),
            // SAFETY: store-owned tags live as long as the store.
            Self::Tag(tag) => ExternType::Tag(unsafe {
                FuncSig {
                    id: (**tag).id,
                    ty: (**tag).ty.clone(),
                }
            }),
            Self::Memory(memory) => {
                // SAFETY: store-owned objects live as long as the store.
                let memory = unsafe { &**memory };
                ExternType::Memory(MemoryType {
                    minimum: memory.pages(),
                    ..memory.ty
                })
            }
            Self::Table(table) => {
                // SAFETY: as above.
                let table = unsafe { &**table };
                ExternType::Table(TableType {
                    minimum: table.vm.length,
                    ..table.ty
                })
            }
        }
    }
}

/// One instance. Boxed and never moved: its VM context is handed to code.
pub struct Instance {
    pub vmctx: VMContext,
    pub module: Arc<JitModule>,
    pub funcs: Box<[VMFuncRef]>,
    memories: Box<[*mut VMMemory]>,
    tables: Box<[*mut VMTable]>,
    globals: Box<[*mut VMGlobal]>,
    defined_globals: Box<[VMGlobal]>,
    sig_ids: Box<[u64]>,
    /// Every tag, imports first: what a handler's tag index means in
    /// this instance.
    pub tags: Box<[*const Tag]>,
    /// Payload range of each data segment within the module's bytes;
    /// empty once dropped.
    pub data: Vec<Range<usize>>,
    /// Values of each element segment; empty once dropped.
    pub elements: Vec<Vec<u64>>,
    /// The memory host functions see: this instance's export `memory`.
    pub exported_memory: Option<*mut LinearMemory>,
}

/// What instantiation creates that the store must own (and free, from
/// `Box::into_raw`).
#[derive(Default)]
pub struct Created {
    pub memories: Vec<*mut LinearMemory>,
    pub shared_memories: Vec<Arc<SharedLinearMemory>>,
    pub tables: Vec<*mut Table>,
    pub tags: Vec<*mut Tag>,
}

/// Instantiation stopped by a trap in a constant expression.
fn instantiation_trap(code: TrapCode) -> LinkError {
    LinkError::Trap(Trap::code(code))
}

/// How messages name defined tag `index`: its export name, its name in
/// the name section, or its index (with the module's name, if it has one).
fn tag_name(module: &wasmtier_core::ValidatedModule, index: u32) -> String {
    let exported = module
        .exports()
        .iter()
        .find(|e| e.kind == wasmtier_core::ExternKind::Tag && e.index == index)
        .map(|e| e.name.as_str());
    match (exported.or_else(|| module.tag_name(index)), module.name()) {
        (Some(name), _) => format!("`{name}`"),
        (None, Some(module)) => format!("{index} of module `{module}`"),
        (None, None) => index.to_string(),
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let defined = self.defined_funcs_ptr();
        if let ModuleCode::Lazy(lazy) = &self.module.code {
            lazy.unregister(defined);
        }
    }
}

impl Instance {
    /// The `VMFuncRef` of the first defined function (the array the lazy
    /// JIT keeps up to date).
    fn defined_funcs_ptr(&mut self) -> *mut VMFuncRef {
        let imported = self.module.info.module.num_imported_funcs() as usize;
        self.funcs.as_mut_ptr().wrapping_add(imported)
    }

    /// Builds an instance from resolved `imports` (in the module's import
    /// order). Segments and the start function are applied by `initialize`.
    pub fn new(
        module: Arc<JitModule>,
        imports: &[Extern],
        sig_ids: Vec<u64>,
        store: *mut VMStoreContext,
        builtins: &'static VMBuiltins,
        created: &mut Created,
        config: &EngineConfig,
    ) -> Result<Box<Self>, LinkError> {
        let (memory_options, max_table_elements) =
            (MemoryOptions::of(config), config.max_table_elements);
        let info = &module.info;
        let wasm = &*info.module;
        // SAFETY: the store context is the first field of the store's
        // runtime record, which outlives its instances; nothing else
        // borrows it during instantiation.
        let runtime = store.cast::<StoreRuntime>();
        // SAFETY: as above.
        unsafe { (*runtime).gc.register_module(info, &mut (*runtime).vm) }
            .map_err(LinkError::ResourceLimit)?;
        // Code and its tables may come from an artifact file: every entry
        // is checked here, before it becomes a pointer generated code
        // calls (the loop runs once per function anyway).
        let outside = || LinkError::Engine("code layout points outside the code".into());
        let type_of = |func: usize| {
            wasm.func_type_index(func as u32)
                .map(|t| t as usize)
                .filter(|&t| t < sig_ids.len())
                .ok_or_else(|| LinkError::Engine("function of an unknown type".into()))
        };
        let mut funcs = Vec::with_capacity(wasm.num_funcs() as usize);
        let mut memories = Vec::new();
        let mut tables = Vec::new();
        let mut globals = Vec::new();
        let mut tags = Vec::new();
        for (import, ext) in wasm.imports().iter().zip(imports) {
            match (ext, &import.ty) {
                (Extern::Func { funcref, .. }, _) => {
                    type_of(funcs.len())?;
                    funcs.push(*funcref)
                }
                (Extern::HostFunc { func, .. }, _) => {
                    let type_index = type_of(funcs.len())?;
                    let adapter = module
                        .host_adapter(type_index)
                        .map_err(|e| LinkError::Engine(e.to_string()))?
                        .ok_or_else(outside)?;
                    funcs.push(VMFuncRef {
                        code: adapter as *const u8,
                        vmctx: func.cast(),
                        type_id: sig_ids[type_index],
                    });
                }
                (Extern::Memory(m), _) => {
                    // Code that elides bounds checks must only see memories
                    // with the guard region it relies on.
                    // SAFETY: store-owned memory, alive as long as the store.
                    let strategy = unsafe { (**m).strategy };
                    if strategy != info.memory_strategies[memories.len()] {
                        return Err(LinkError::Engine(format!(
                            "memory `{}::{}` was created for another engine configuration",
                            import.module, import.name
                        )));
                    }
                    memories.push(*m as *mut VMMemory)
                }
                (Extern::Table(t), _) => tables.push(*t as *mut VMTable),
                (Extern::Global { global, .. }, _) => globals.push(*global),
                (Extern::Tag(tag), _) => tags.push(*tag),
            }
        }
        for index in wasm.num_imported_tags()..wasm.tags().len() as u32 {
            let tag = Box::into_raw(Box::new(Tag {
                ty: wasm.tag_type(index).clone(),
                id: wasm.type_ids()[wasm.tags()[index as usize] as usize],
                name: tag_name(wasm, index),
            }));
            created.tags.push(tag);
            tags.push(tag.cast_const());
        }
        for defined in 0..wasm.num_defined_funcs() as usize {
            let code = match &module.code {
                ModuleCode::Eager(code) => {
                    let range = code.function(defined).ok_or_else(outside)?;
                    code.memory.base() + range.start as usize
                }
                // Its lazy-compile stub until compiled; the module keeps it
                // up to date from then on (`register`).
                ModuleCode::Lazy(lazy) => lazy.callable_code(defined),
            };
            let type_index = type_of(wasm.num_imported_funcs() as usize + defined)?;
            funcs.push(VMFuncRef {
                code: code as *const u8,
                vmctx: std::ptr::null_mut(),
                type_id: sig_ids[type_index],
            });
        }
        for ty in wasm.memories() {
            let index = memories.len();
            let strategy = info.memory_strategies[index];
            let too_large = |e: ResourceError| LinkError::ResourceLimit(e.to_string());
            if ty.shared {
                let shared =
                    SharedLinearMemory::new(*ty, strategy, memory_options).map_err(too_large)?;
                memories.push(shared.as_ptr().cast::<VMMemory>());
                created.shared_memories.push(shared);
            } else {
                let memory = LinearMemory::new(*ty, strategy, memory_options).map_err(too_large)?;
                let memory = Box::into_raw(memory);
                memories.push(memory.cast::<VMMemory>());
                created.memories.push(memory);
            }
        }
        for ty in wasm.tables() {
            let table = Box::into_raw(
                Table::new(*ty, 0, max_table_elements)
                    .map_err(|e| LinkError::ResourceLimit(e.to_string()))?,
            );
            tables.push(table.cast::<VMTable>());
            created.tables.push(table);
            if gc::runtime::is_root_type(ty.element) {
                // SAFETY: as above; the table lives as long as the store.
                unsafe { (*runtime).gc.tables.push(table.cast::<VMTable>()) };
            }
        }
        let exported_memory = wasm
            .exports()
            .iter()
            .find(|e| e.name == "memory" && e.kind == wasmtier_core::ExternKind::Memory)
            .map(|e| memories[e.index as usize] as *mut LinearMemory);
        let mut instance = Box::new(Self {
            vmctx: VMContext {
                store,
                builtins,
                funcs: std::ptr::null(),
                memories: std::ptr::null(),
                tables: std::ptr::null(),
                globals: std::ptr::null(),
                sig_ids: std::ptr::null(),
                defined_globals: std::ptr::null_mut(),
                memory0_base: std::ptr::null_mut(),
                instance: std::ptr::null_mut(),
                stack_limit: 0,
            },
            module: module.clone(),
            funcs: funcs.into_boxed_slice(),
            memories: memories.into_boxed_slice(),
            tables: tables.into_boxed_slice(),
            globals: Box::new([]),
            defined_globals: vec![VMGlobal::default(); wasm.globals().len()].into_boxed_slice(),
            sig_ids: sig_ids.into_boxed_slice(),
            tags: tags.into_boxed_slice(),
            data: Vec::new(),
            elements: Vec::new(),
            exported_memory,
        });
        let vmctx: *mut VMContext = &mut instance.vmctx;
        for func in instance.funcs[wasm.num_imported_funcs() as usize..].iter_mut() {
            func.vmctx = vmctx.cast();
        }
        // Globals: imported ones first, then each initializer in order (an
        // initializer may read earlier globals and take function refs).
        instance.globals = globals.clone().into_boxed_slice();
        let imported_globals = wasm.num_imported_globals() as usize;
        for (defined, init) in info.global_inits.iter().enumerate() {
            let value = instance.eval(init).map_err(instantiation_trap)?;
            instance.defined_globals[defined] = VMGlobal::from_bits(value);
            let ptr: *mut VMGlobal = &mut instance.defined_globals[defined];
            globals.push(ptr);
            instance.globals = globals.clone().into_boxed_slice();
            if gc::runtime::is_root_type(info.global_types[imported_globals + defined].content) {
                // SAFETY: as above.
                unsafe { (*runtime).gc.globals.push(ptr) };
            }
        }
        // Tables with an initializer expression (typed function
        // references) start filled with its value; it may read globals and
        // take function references, so it runs after them.
        let defined_tables = wasm.num_imported_tables() as usize;
        for (defined, init) in info.table_inits.iter().enumerate() {
            if let Some(init) = init {
                let value = instance.eval(init).map_err(instantiation_trap)? as u64;
                // SAFETY: a table this instantiation just created; nothing
                // else references it yet.
                let table =
                    unsafe { &mut *instance.tables[defined_tables + defined].cast::<Table>() };
                table.elements_mut().fill(value);
            }
        }
        let instance_ptr: *mut Instance = &mut *instance;
        instance.vmctx.funcs = instance.funcs.as_ptr();
        instance.vmctx.memories = instance.memories.as_ptr();
        instance.vmctx.tables = instance.tables.as_ptr();
        instance.vmctx.globals = instance.globals.as_ptr();
        instance.vmctx.sig_ids = instance.sig_ids.as_ptr();
        instance.vmctx.defined_globals = instance.defined_globals.as_mut_ptr();
        if let (Some(memory), Some(MemoryStrategy::Reserved { .. })) =
            (instance.memories.first(), info.memory_strategies.first())
        {
            // SAFETY: store-owned memory, alive as long as the store; a
            // reservation's base is fixed for its whole life.
            instance.vmctx.memory0_base = unsafe { (**memory).base };
        }
        instance.vmctx.instance = instance_ptr.cast();
        if let ModuleCode::Lazy(lazy) = &module.code {
            let defined = instance.defined_funcs_ptr();
            // SAFETY: the boxed slice stays put until the instance is
            // dropped, which unregisters it.
            unsafe { lazy.register(defined) };
        }
        instance.data = info.data.iter().map(|d| d.bytes.clone()).collect();
        instance.elements = info
            .elements
            .iter()
            .map(|segment| {
                segment
                    .items
                    .iter()
                    .map(|item| instance.eval(item).map(|v| v as u64))
                    .collect::<Result<_, _>>()
            })
            .collect::<Result<_, _>>()
            .map_err(instantiation_trap)?;
        // SAFETY: as above; the boxed instance (and so its segment list)
        // lives as long as the store.
        unsafe { (*runtime).gc.segments.push(&instance.elements) };
        Ok(instance)
    }

    /// Evaluates a constant expression to its raw slot value; GC
    /// allocations may fail.
    pub fn eval(&self, expr: &ConstExpr) -> Result<u128, TrapCode> {
        let mut stack: Vec<u128> = Vec::with_capacity(2);
        for op in &expr.ops {
            let value = match *op {
                ConstOp::RefI31 => {
                    let v = stack.pop().unwrap_or(0) as u32;
                    u128::from(gc::object::i31(v))
                }
                // References of both hierarchies share one encoding.
                ConstOp::AnyConvertExtern | ConstOp::ExternConvertAny => continue,
                ConstOp::StructNew(ty) | ConstOp::StructNewDefault(ty) => {
                    let id = self.module.info.module.type_ids()[ty as usize];
                    let layout = self.module.info.gc_layouts[ty as usize].as_ref();
                    let fields = match (op, layout) {
                        (
                            ConstOp::StructNew(_),
                            Some(gc::layout::Layout::Struct { fields, .. }),
                        ) => stack.split_off(stack.len().saturating_sub(fields.len())),
                        _ => Vec::new(),
                    };
                    self.new_object(id, &fields, 0)?
                }
                ConstOp::ArrayNew(ty) => {
                    let length = stack.pop().unwrap_or(0) as u32;
                    let value = stack.pop().unwrap_or(0);
                    let id = self.module.info.module.type_ids()[ty as usize];
                    self.new_object(id, &[value], length)?
                }
                ConstOp::ArrayNewDefault(ty) => {
                    let length = stack.pop().unwrap_or(0) as u32;
                    let id = self.module.info.module.type_ids()[ty as usize];
                    self.new_object(id, &[], length)?
                }
                ConstOp::ArrayNewFixed(ty, length) => {
                    let values = stack.split_off(stack.len().saturating_sub(length as usize));
                    let id = self.module.info.module.type_ids()[ty as usize];
                    self.new_object(id, &values, length)?
                }
                ConstOp::I32(v) => u128::from(v as u32),
                ConstOp::I64(v) => u128::from(v as u64),
                ConstOp::F32(bits) => u128::from(bits),
                ConstOp::F64(bits) => u128::from(bits),
                ConstOp::V128(bits) => bits,
                ConstOp::RefNull => 0,
                ConstOp::RefFunc(index) => &self.funcs[index as usize] as *const VMFuncRef as u128,
                ConstOp::GlobalGet(index) => {
                    // SAFETY: global pointers are set before any
                    // initializer that may read them runs.
                    unsafe { (*self.globals[index as usize]).bits() }
                }
                ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                    let b = stack.pop().unwrap_or(0) as u32;
                    let a = stack.pop().unwrap_or(0) as u32;
                    u128::from(match op {
                        ConstOp::I32Add => a.wrapping_add(b),
                        ConstOp::I32Sub => a.wrapping_sub(b),
                        _ => a.wrapping_mul(b),
                    })
                }
                ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                    let b = stack.pop().unwrap_or(0) as u64;
                    let a = stack.pop().unwrap_or(0) as u64;
                    u128::from(match op {
                        ConstOp::I64Add => a.wrapping_add(b),
                        ConstOp::I64Sub => a.wrapping_sub(b),
                        _ => a.wrapping_mul(b),
                    })
                }
            };
            stack.push(value);
        }
        Ok(stack.pop().unwrap_or(0))
    }

    /// A GC object built by a constant expression (see
    /// `gc::runtime::new_object`).
    fn new_object(
        &self,
        id: wasmtier_core::TypeId,
        values: &[u128],
        length: u32,
    ) -> Result<u128, TrapCode> {
        // SAFETY: the store context is the first field of the store's
        // runtime record; no other reference to it is live here.
        let runtime = unsafe { &mut *self.vmctx.store.cast::<StoreRuntime>() };
        gc::runtime::new_object(runtime, id, values, length).map(u128::from)
    }

    pub fn memory(&self, index: u32) -> *mut LinearMemory {
        self.memories[index as usize].cast()
    }

    pub fn table(&self, index: u32) -> *mut Table {
        self.tables[index as usize].cast()
    }

    pub fn global(&self, index: u32) -> *mut VMGlobal {
        self.globals[index as usize]
    }

    /// Applies active element then data segments, in order, and drops
    /// active and declared segments. The first that does not fit traps.
    pub fn apply_segments(&mut self) -> Result<(), Trap> {
        let info = &self.module.clone().info;
        for (index, segment) in info.elements.iter().enumerate() {
            match &segment.mode {
                ElementMode::Passive => continue,
                ElementMode::Declared => {}
                ElementMode::Active { table, offset } => {
                    let offset = self.eval(offset).map_err(Trap::code)? as u64;
                    // SAFETY: store-owned table, no other reference live.
                    let table = unsafe { &mut *self.table(*table) };
                    let items = &self.elements[index];
                    let end = offset
                        .checked_add(items.len() as u64)
                        .filter(|end| *end <= table.vm.length)
                        .ok_or(Trap::code(TrapCode::TableOutOfBounds))?;
                    table.elements_mut()[offset as usize..end as usize].copy_from_slice(items);
                }
            }
            self.elements[index].clear();
        }
        for (index, segment) in info.data.iter().enumerate() {
            let Some((memory, offset)) = &segment.active else {
                continue;
            };
            let offset = self.eval(offset).map_err(Trap::code)? as u64;
            let offset = if info.memory_types[*memory as usize].memory64 {
                offset
            } else {
                offset & 0xffff_ffff
            };
            // SAFETY: store-owned memory, no other reference live.
            let memory = unsafe { &mut *self.memory(*memory) };
            let bytes = &info.module.bytes()[segment.bytes.clone()];
            let target = memory.bytes_mut();
            let end = offset
                .checked_add(bytes.len() as u64)
                .filter(|end| *end <= target.len() as u64)
                .ok_or(Trap::code(TrapCode::MemoryOutOfBounds))?;
            target[offset as usize..end as usize].copy_from_slice(bytes);
            self.data[index] = 0..0;
        }
        Ok(())
    }

    /// The type of global `index` (imports first).
    pub fn global_type(&self, index: u32) -> ValType {
        self.module.info.global_types[index as usize].content
    }
}
