//! The one place that turns VM-context layout into IR: every load of a
//! field of [`VMContext`](crate::vmcontext::VMContext) and the objects it
//! points at, every builtin call, every function-reference access.

use std::collections::HashMap;

use cranelift_codegen::ir::{
    self, AbiParam, ExtFuncData, ExternalName, FuncRef, InstBuilder, MemFlagsData, SigRef,
    Signature, UserExternalName, Value, types,
};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::FunctionBuilder;
use wasmtier_core::ValidatedModule;

use super::{MemoryStrategy, wasm_signature};
use crate::module_info::ModuleInfo;
use crate::vmcontext::offsets::{self, Builtin};

/// The platform convention builtins and trampolines use.
pub const HOST_CALL_CONV: CallConv = CallConv::SystemV;

/// `(params, results)` of each builtin, matching `VMBuiltins`.
pub fn builtin_signature(builtin: Builtin) -> Signature {
    use types::{I32, I64};
    let (params, returns): (&[ir::Type], &[ir::Type]) = match builtin {
        Builtin::MemoryGrow => (&[I64, I32, I64], &[I64]),
        Builtin::MemoryFill => (&[I64, I32, I64, I32, I64], &[]),
        Builtin::MemoryCopy => (&[I64, I32, I32, I64, I64, I64], &[]),
        Builtin::MemoryInit => (&[I64, I32, I32, I64, I32, I32], &[]),
        Builtin::DataDrop | Builtin::ElemDrop => (&[I64, I32], &[]),
        Builtin::TableGrow => (&[I64, I32, I64, I64], &[I64]),
        Builtin::TableFill => (&[I64, I32, I64, I64, I64], &[]),
        Builtin::TableCopy => (&[I64, I32, I32, I64, I64, I64], &[]),
        Builtin::TableInit => (&[I64, I32, I32, I64, I32, I32], &[]),
        Builtin::HostCall => (&[I64, I64, I64], &[]),
    };
    let mut sig = Signature::new(HOST_CALL_CONV);
    sig.params.extend(params.iter().map(|t| AbiParam::new(*t)));
    sig.returns
        .extend(returns.iter().map(|t| AbiParam::new(*t)));
    sig
}

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
}

impl<'a> FuncEnv<'a> {
    pub fn new(info: &'a ModuleInfo, func_index: u32, vmctx: Value) -> Self {
        Self {
            info,
            func_index,
            vmctx,
            direct: HashMap::new(),
            signatures: HashMap::new(),
            builtins: HashMap::new(),
        }
    }

    pub fn module(&self) -> &'a ValidatedModule {
        &self.info.module
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
        let imported = self.module().num_imported_globals;
        if index < imported {
            return self.array_entry(b, offsets::VMCTX_GLOBALS, index);
        }
        let defined = self.vmctx_field(b, offsets::VMCTX_DEFINED_GLOBALS);
        let offset = i64::from(index - imported) * offsets::GLOBAL_SIZE;
        b.ins().iadd_imm_s(defined, offset)
    }

    /// Pointer to table `index`'s `VMTable`.
    pub fn table(&self, b: &mut FunctionBuilder, index: u32) -> Value {
        self.array_entry(b, offsets::VMCTX_TABLES, index)
    }

    pub fn table_base(&self, b: &mut FunctionBuilder, table: Value) -> Value {
        b.ins().load(
            types::I64,
            MemFlagsData::trusted(),
            table,
            offsets::TABLE_BASE,
        )
    }

    pub fn table_length(&self, b: &mut FunctionBuilder, table: Value) -> Value {
        b.ins().load(
            types::I64,
            MemFlagsData::trusted(),
            table,
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
        let sig = b.import_signature(wasm_signature(&self.module().types[type_index as usize]));
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
        let this = self.direct_callee(b, self.func_index);
        let pc = b.ins().func_addr(types::I64, this);
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
