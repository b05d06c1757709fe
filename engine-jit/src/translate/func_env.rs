//! The one place that turns VM-context layout into IR: every load of a
//! field of [`VMContext`](crate::vmcontext::VMContext) and the objects it
//! points at, every builtin call, every function-reference access, and the
//! VM-context accesses of the prologue and the trampolines. Nothing else in
//! the translator reads `vmcontext::offsets`; the single-pass compiler
//! (`single_pass/`), which emits machine code without IR, reads the same
//! offsets for the same accesses.

use std::collections::HashMap;

use cranelift_codegen::ir::{
    self, AbiParam, ExtFuncData, ExternalName, FuncRef, Function, GlobalValueData, InstBuilder,
    MemFlagsData, SigRef, Signature, UserExternalName, Value, types,
};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::FunctionBuilder;
use wasmtier_core::{ValType, ValidatedModule};

use super::wasm_signature;
use crate::memory_strategy::MemoryStrategy;
use crate::module_info::ModuleInfo;
use crate::vmcontext::offsets;
use crate::vmcontext::{Builtin, foreach_builtin};

/// The platform convention builtins and trampolines use.
pub const HOST_CALL_CONV: CallConv = CallConv::SystemV;

/// Cranelift's type for a builtin parameter token of `foreach_builtin`.
macro_rules! builtin_ir_type {
    (u32) => {
        types::I32
    };
    // Pointers (64-bit hosts only) and 64-bit integers. No catch-all: a new
    // parameter token in `foreach_builtin` must be given its type here.
    (u64) => {
        types::I64
    };
    (vmctx) => {
        types::I64
    };
    (host_func) => {
        types::I64
    };
    (values) => {
        types::I64
    };
}

macro_rules! define_builtin_signature {
    ($(
        $(#[$doc:meta])*
        $name:ident $variant:ident($($param:ident: $ty:ident),*) $(-> $ret:ident)?;
    )*) => {
        /// The signature generated code calls `builtin` with, from the same
        /// list as the `VMBuiltins` field it calls through.
        pub fn builtin_signature(builtin: Builtin) -> Signature {
            let (params, returns): (&[ir::Type], &[ir::Type]) = match builtin {
                $(Builtin::$variant => (
                    &[$(builtin_ir_type!($ty)),*],
                    &[$(builtin_ir_type!($ret))?],
                ),)*
            };
            let mut sig = Signature::new(HOST_CALL_CONV);
            sig.params.extend(params.iter().map(|t| AbiParam::new(*t)));
            sig.returns
                .extend(returns.iter().map(|t| AbiParam::new(*t)));
            sig
        }
    };
}
foreach_builtin!(define_builtin_signature);

/// Byte offset of slot `index` of the values buffer of trampolines and
/// host calls.
pub fn value_slot_offset(index: usize) -> i32 {
    (index as i64 * offsets::VALUE_SLOT_SIZE) as i32
}

/// Bytes of a values buffer of `slots` slots.
pub fn value_buffer_size(slots: usize) -> u32 {
    (slots as i64 * offsets::VALUE_SLOT_SIZE) as u32
}

/// Sets `func`'s stack limit to the store's (its copy in the VM context),
/// which Cranelift then checks in the prologue before allocating the frame
/// (`stack_check::StackCheck::BeforeFrame`). Works on the function, not
/// through a `FuncEnv`, so it can be declared before or after the body.
pub fn declare_stack_limit(func: &mut Function) {
    let trusted = func.dfg.mem_flags.insert_unchecked(MemFlagsData::trusted());
    let vmctx_gv = func.create_global_value(GlobalValueData::VMContext);
    let limit_gv = func.create_global_value(GlobalValueData::Load {
        base: vmctx_gv,
        offset: offsets::VMCTX_STACK_LIMIT.into(),
        global_type: types::I64,
        flags: trusted,
    });
    func.stack_limit = Some(limit_gv);
}

/// The host adapter's call into the `host_call` builtin, through the
/// caller's builtin table. The adapter's frame pointer is recorded first,
/// so a trap raised by the host function backtraces from that frame.
pub fn call_host(b: &mut FunctionBuilder, host_func: Value, caller_vmctx: Value, values: Value) {
    let readonly = MemFlagsData::trusted().with_readonly();
    let store = b
        .ins()
        .load(types::I64, readonly, caller_vmctx, offsets::VMCTX_STORE);
    let fp = b.ins().get_frame_pointer(types::I64);
    b.ins().store(
        MemFlagsData::trusted(),
        fp,
        store,
        offsets::STORE_LAST_EXIT_FP,
    );
    let builtins = b
        .ins()
        .load(types::I64, readonly, caller_vmctx, offsets::VMCTX_BUILTINS);
    let host_call = b
        .ins()
        .load(types::I64, readonly, builtins, Builtin::HostCall.offset());
    let host_sig = b.import_signature(builtin_signature(Builtin::HostCall));
    b.ins()
        .call_indirect(host_sig, host_call, &[host_func, caller_vmctx, values]);
}

/// Where a builtin called from an inlined body records its exit: this
/// many bytes into the function.
pub const INLINED_EXIT_PC: u32 = 1;

/// Flags for a pointer that never changes once the instance exists.
fn immutable() -> MemFlagsData {
    MemFlagsData::trusted().with_readonly().with_can_move()
}

pub(crate) struct FuncEnv<'a> {
    info: &'a ModuleInfo,
    /// The function being translated.
    func_index: u32,
    pub vmctx: Value,
    direct: HashMap<u32, FuncRef>,
    signatures: HashMap<u32, SigRef>,
    builtins: HashMap<i32, SigRef>,
    /// Which code this is (`CodeTier`).
    pub tier: super::CodeTier,
    /// Whether this is a body to inline into itself (`recursion.rs`): its
    /// builtin calls then record their exit one byte into the function,
    /// not at its start (see `call_builtin`).
    pub inlined_body: bool,
}

impl<'a> FuncEnv<'a> {
    pub fn new(info: &'a ModuleInfo, func_index: u32, vmctx: Value, tier: super::CodeTier) -> Self {
        Self {
            info,
            func_index,
            vmctx,
            direct: HashMap::new(),
            signatures: HashMap::new(),
            builtins: HashMap::new(),
            tier,
            inlined_body: false,
        }
    }

    /// The function being translated.
    pub fn func_index(&self) -> u32 {
        self.func_index
    }

    /// Whether functions of this module are compiled on first call: calls
    /// then go through each function's `VMFuncRef`, whose code is null
    /// until compiled (see `translate/tiering.rs`).
    pub fn lazy_calls(&self) -> bool {
        self.info.lazy_calls
    }

    /// Whether optimized code of this lazily compiled module calls the
    /// module's functions directly (`lazy/call_table.rs`).
    pub fn lazy_direct_calls(&self) -> bool {
        self.info.lazy_direct_calls
    }

    pub fn module(&self) -> &'a ValidatedModule {
        &self.info.module
    }

    /// The object layout of type `index`, if it is a struct or array type.
    pub fn gc_layout(&self, index: u32) -> Option<&'a crate::gc::layout::Layout> {
        self.info.gc_layouts.get(index as usize)?.as_ref()
    }

    /// Whether generated code meters fuel.
    pub fn fuel_enabled(&self) -> bool {
        self.info.fuel
    }

    /// Whether generated code checks for interruption.
    pub fn interrupts_enabled(&self) -> bool {
        self.info.interrupts
    }

    /// The store's interrupt counter: non-zero once the deadline passed.
    /// Its address never changes, so that load may be hoisted. The counter
    /// itself is written by another thread: it is read with an atomic load,
    /// because Cranelift would otherwise treat a plain load in a loop
    /// without stores as redundant and reuse the value read before the
    /// loop (a spinning guest would never see the deadline). On x86-64
    /// the atomic load is a plain `mov`.
    pub fn interrupt_count(&self, b: &mut FunctionBuilder) -> Value {
        let store = self.store_context(b);
        let counter = b
            .ins()
            .load(types::I64, immutable(), store, offsets::STORE_INTERRUPT);
        b.ins()
            .atomic_load(types::I64, MemFlagsData::trusted(), counter)
    }

    /// The store's fuel counter: `(store context, fuel left)`.
    pub fn fuel(&self, b: &mut FunctionBuilder) -> (Value, Value) {
        let store = self.store_context(b);
        let fuel = b.ins().load(
            types::I64,
            MemFlagsData::trusted(),
            store,
            offsets::STORE_FUEL,
        );
        (store, fuel)
    }

    /// Stores `left` as the fuel of `store` (from [`Self::fuel`]).
    pub fn set_fuel(&self, b: &mut FunctionBuilder, store: Value, left: Value) {
        b.ins()
            .store(MemFlagsData::trusted(), left, store, offsets::STORE_FUEL);
    }

    /// Base address of the store's GC heap: set before any code of a
    /// module with struct or array types runs, then fixed.
    pub fn gc_heap_base(&self, b: &mut FunctionBuilder) -> Value {
        let store = self.store_context(b);
        b.ins()
            .load(types::I64, immutable(), store, offsets::STORE_GC_HEAP_BASE)
    }

    /// The inline allocator's window: `(store context, cursor, end)`.
    pub fn gc_window(&self, b: &mut FunctionBuilder) -> (Value, Value, Value) {
        let store = self.store_context(b);
        let flags = MemFlagsData::trusted();
        let cursor = b
            .ins()
            .load(types::I64, flags, store, offsets::STORE_GC_CURSOR);
        let end = b
            .ins()
            .load(types::I64, flags, store, offsets::STORE_GC_END);
        (store, cursor, end)
    }

    /// Moves the window's cursor of `store` (from [`Self::gc_window`]).
    pub fn set_gc_cursor(&self, b: &mut FunctionBuilder, store: Value, cursor: Value) {
        b.ins().store(
            MemFlagsData::trusted(),
            cursor,
            store,
            offsets::STORE_GC_CURSOR,
        );
    }

    /// The GC heap's object-start map: fixed like the heap's base.
    pub fn gc_starts(&self, b: &mut FunctionBuilder, store: Value) -> Value {
        b.ins()
            .load(types::I64, immutable(), store, offsets::STORE_GC_STARTS)
    }

    /// The store's stack limit, from this instance's copy (changes
    /// between entries into Wasm).
    pub fn stack_limit(&self, b: &mut FunctionBuilder) -> Value {
        b.ins().load(
            types::I64,
            MemFlagsData::trusted(),
            self.vmctx,
            offsets::VMCTX_STACK_LIMIT,
        )
    }

    /// Pointer to the store's `VMStoreContext`.
    pub fn store_context(&self, b: &mut FunctionBuilder) -> Value {
        self.vmctx_field(b, offsets::VMCTX_STORE)
    }

    pub fn memory_strategy(&self, memory: u32) -> MemoryStrategy {
        self.info.memory_strategies[memory as usize]
    }

    pub fn is_memory64(&self, memory: u32) -> bool {
        self.info.memory_types[memory as usize].memory64
    }

    /// Global `index`'s value type (imports first, as `ModuleInfo` lists
    /// them).
    pub fn global_type(&self, index: u32) -> ValType {
        self.info.global_types[index as usize].content
    }

    pub fn table_type(&self, table: u32) -> wasmtier_core::TableType {
        self.info.table_types[table as usize]
    }

    pub fn page_size_log2(&self, memory: u32) -> u32 {
        self.info.memory_types[memory as usize].page_size_log2
    }

    fn vmctx_field(&self, b: &mut FunctionBuilder, offset: i32) -> Value {
        b.ins().load(types::I64, immutable(), self.vmctx, offset)
    }

    /// Entry `index` of the pointer array at vmctx `field`.
    fn array_entry(&self, b: &mut FunctionBuilder, field: i32, index: u32) -> Value {
        let array = self.vmctx_field(b, field);
        let offset = (index as i64 * offsets::POINTER_SIZE) as i32;
        b.ins().load(types::I64, immutable(), array, offset)
    }

    /// Pointer to memory `index`'s `VMMemory`.
    pub fn memory(&self, b: &mut FunctionBuilder, index: u32) -> Value {
        self.array_entry(b, offsets::VMCTX_MEMORIES, index)
    }

    /// The base address of memory `index`. It never moves when the memory
    /// is a reservation, so the load may be hoisted and shared.
    pub fn memory_base(&self, b: &mut FunctionBuilder, index: u32) -> Value {
        let reserved = matches!(self.memory_strategy(index), MemoryStrategy::Reserved { .. });
        if index == 0 && reserved {
            return self.vmctx_field(b, offsets::VMCTX_MEMORY0_BASE);
        }
        let memory = self.memory(b, index);
        let flags = if reserved {
            immutable()
        } else {
            MemFlagsData::trusted()
        };
        b.ins()
            .load(types::I64, flags, memory, offsets::MEMORY_BASE)
    }

    /// The accessible length of memory `index` in bytes.
    pub fn memory_length(&self, b: &mut FunctionBuilder, index: u32) -> Value {
        let memory = self.memory(b, index);
        b.ins().load(
            types::I64,
            MemFlagsData::trusted(),
            memory,
            offsets::MEMORY_LENGTH,
        )
    }

    /// Address of global `index`'s storage.
    pub fn global(&self, b: &mut FunctionBuilder, index: u32) -> Value {
        let imported = self.module().num_imported_globals();
        if index < imported {
            return self.array_entry(b, offsets::VMCTX_GLOBALS, index);
        }
        let defined = self.vmctx_field(b, offsets::VMCTX_DEFINED_GLOBALS);
        let offset = i64::from(index - imported) * offsets::GLOBAL_SIZE;
        b.ins().iadd_imm_s(defined, offset)
    }

    /// Pointer to table `index`'s `VMTable`.
    fn table(&self, b: &mut FunctionBuilder, index: u32) -> Value {
        self.array_entry(b, offsets::VMCTX_TABLES, index)
    }

    /// The length of table `index` if it can never change: a table whose
    /// type's maximum is its minimum. Such a table's elements never move
    /// either (`Table::grow` refuses before touching them), and an import
    /// of that type matches only tables that cannot grow past it nor be
    /// smaller.
    fn fixed_table_length(&self, index: u32) -> Option<u64> {
        let ty = self.table_type(index);
        (ty.maximum == Some(ty.minimum)).then_some(ty.minimum)
    }

    /// Address of element `index` (an `i64`) of table `table`; the caller
    /// has checked the index.
    pub fn table_element(&self, b: &mut FunctionBuilder, table: u32, index: Value) -> Value {
        // A fixed table's base is loaded like the VM context's own fields,
        // so that Cranelift may hoist it out of loops and share it across
        // calls (qsort's comparator calls: two loads fewer per call).
        let flags = if self.fixed_table_length(table).is_some() {
            immutable()
        } else {
            MemFlagsData::trusted()
        };
        let t = self.table(b, table);
        let base = b.ins().load(types::I64, flags, t, offsets::TABLE_BASE);
        let offset = b.ins().imul_imm_s(index, offsets::TABLE_ELEMENT_SIZE);
        b.ins().iadd(base, offset)
    }

    /// Table `table`'s current length, as an `i64`.
    pub fn table_length(&self, b: &mut FunctionBuilder, table: u32) -> Value {
        if let Some(length) = self.fixed_table_length(table) {
            return b.ins().iconst(types::I64, length as i64);
        }
        let t = self.table(b, table);
        b.ins().load(
            types::I64,
            MemFlagsData::trusted(),
            t,
            offsets::TABLE_LENGTH,
        )
    }

    /// Address of function `index`'s `VMFuncRef` (the value of `ref.func`).
    pub fn funcref(&self, b: &mut FunctionBuilder, index: u32) -> Value {
        let funcs = self.vmctx_field(b, offsets::VMCTX_FUNCS);
        b.ins()
            .iadd_imm_s(funcs, index as i64 * offsets::FUNCREF_SIZE)
    }

    /// The store-wide signature id of type `index`.
    pub fn signature_id(&self, b: &mut FunctionBuilder, type_index: u32) -> Value {
        let ids = self.vmctx_field(b, offsets::VMCTX_SIG_IDS);
        b.ins()
            .load(types::I64, immutable(), ids, (type_index * 8) as i32)
    }

    /// Loads `(code, vmctx, type_id)` of the `VMFuncRef` at `funcref`.
    pub fn funcref_fields(
        &self,
        b: &mut FunctionBuilder,
        funcref: Value,
        trusted_immutable: bool,
    ) -> (Value, Value, Value) {
        let flags = if trusted_immutable {
            immutable()
        } else {
            MemFlagsData::trusted().with_readonly()
        };
        let code = b
            .ins()
            .load(types::I64, flags, funcref, offsets::FUNCREF_CODE);
        let vmctx = b
            .ins()
            .load(types::I64, flags, funcref, offsets::FUNCREF_VMCTX);
        let type_id = b
            .ins()
            .load(types::I64, flags, funcref, offsets::FUNCREF_TYPE_ID);
        (code, vmctx, type_id)
    }

    /// The Wasm-ABI signature of type `index`, imported into this function.
    pub fn signature(&mut self, b: &mut FunctionBuilder, type_index: u32) -> SigRef {
        if let Some(sig) = self.signatures.get(&type_index) {
            return *sig;
        }
        let sig = b.import_signature(wasm_signature(&self.module().types()[type_index as usize]));
        self.signatures.insert(type_index, sig);
        sig
    }

    /// A direct, position-independent (`colocated`) call target for a
    /// function defined in this module.
    pub fn direct_callee(&mut self, b: &mut FunctionBuilder, func_index: u32) -> FuncRef {
        if let Some(f) = self.direct.get(&func_index) {
            return *f;
        }
        let type_index = self
            .module()
            .func_type_index(func_index)
            .expect("validated function index");
        let signature = self.signature(b, type_index);
        let name = b
            .func
            .declare_imported_user_function(UserExternalName::new(0, func_index));
        let f = b.import_function(ExtFuncData {
            name: ExternalName::user(name),
            signature,
            colocated: true,
            patchable: false,
        });
        self.direct.insert(func_index, f);
        f
    }

    /// The runtime's throw stub and the signature to call it with: the
    /// tail convention, so that a `try_call` of it treats every register as
    /// clobbered on the exceptional edge (see `foreach_builtin`'s `throw`).
    /// The stub takes its arguments where that convention puts them, which
    /// is architecture-specific (`arch::throw_stub`).
    pub fn throw_stub(&mut self, b: &mut FunctionBuilder) -> (SigRef, Value) {
        let mut signature = builtin_signature(Builtin::Throw);
        signature.call_conv = super::WASM_CALL_CONV;
        let sig = b.import_signature(signature);
        let table = self.vmctx_field(b, offsets::VMCTX_BUILTINS);
        let stub = b
            .ins()
            .load(types::I64, immutable(), table, Builtin::Throw.offset());
        (sig, stub)
    }

    /// Calls `builtin` through the builtin table with the vmctx prepended.
    pub fn call_builtin(
        &mut self,
        b: &mut FunctionBuilder,
        builtin: Builtin,
        args: &[Value],
    ) -> Option<Value> {
        let sig = match self.builtins.get(&builtin.offset()) {
            Some(sig) => *sig,
            None => {
                let sig = b.import_signature(builtin_signature(builtin));
                self.builtins.insert(builtin.offset(), sig);
                sig
            }
        };
        // Where a trap raised inside the builtin should start its backtrace.
        let store = self.store_context(b);
        let fp = b.ins().get_frame_pointer(types::I64);
        b.ins().store(
            MemFlagsData::trusted(),
            fp,
            store,
            offsets::STORE_LAST_EXIT_FP,
        );
        // The function's start stands for its outer body; one byte into
        // it, for an inlined body (one activation deeper), which
        // `compile.rs` records as an inlined site. That byte is inside
        // the prologue's first instruction or the second's start, never a
        // trap site or a return address.
        let this = self.direct_callee(b, self.func_index);
        let mut pc = b.ins().func_addr(types::I64, this);
        if self.inlined_body {
            pc = b.ins().iadd_imm_s(pc, i64::from(INLINED_EXIT_PC));
        }
        b.ins().store(
            MemFlagsData::trusted(),
            pc,
            store,
            offsets::STORE_LAST_EXIT_PC,
        );
        let table = self.vmctx_field(b, offsets::VMCTX_BUILTINS);
        let callee = b
            .ins()
            .load(types::I64, immutable(), table, builtin.offset());
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(self.vmctx);
        all.extend_from_slice(args);
        let call = b.ins().call_indirect(sig, callee, &all);
        b.inst_results(call).first().copied()
    }
}
