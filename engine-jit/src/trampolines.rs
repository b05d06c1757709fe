//! Small generated functions at the edges of Wasm code:
//! - an entry trampoline per signature, called (through `signals::call`)
//!   with a buffer of 16-byte value slots: it loads the parameters, calls
//!   the Wasm function and stores its results back into the buffer;
//! - a host adapter per signature: a Wasm-ABI function that spills its
//!   parameters into a buffer and calls the one generic host trampoline
//!   (the `host_call` builtin), then reloads the results.

use cranelift_codegen::ir::{
    AbiParam, Function, InstBuilder, MemFlagsData, Signature, StackSlotData, StackSlotKind,
    UserFuncName, types,
};
use cranelift_codegen::isa::TargetFrontendConfig;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use wasmtier_core::FuncType;

use crate::translate::func_env::{self, HOST_CALL_CONV, value_buffer_size, value_slot_offset};
use crate::translate::{ir_type, wasm_signature};

/// Namespaces of `UserFuncName`s, to tell functions apart in errors.
pub const NAMESPACE_ENTRY: u32 = 1;
pub const NAMESPACE_HOST_ADAPTER: u32 = 2;

/// `extern "C" fn(callee_vmctx, caller_vmctx, code, values)`.
pub fn entry_trampoline(
    ty: &FuncType,
    type_index: u32,
    context: &mut FunctionBuilderContext,
    frontend: TargetFrontendConfig,
) -> Function {
    let mut sig = Signature::new(HOST_CALL_CONV);
    sig.params.extend([AbiParam::new(types::I64); 4]);
    let mut func =
        Function::with_name_signature(UserFuncName::user(NAMESPACE_ENTRY, type_index), sig);
    let mut b = FunctionBuilder::new(&mut func, context);
    let block = b.create_block();
    b.append_block_params_for_function_params(block);
    b.switch_to_block(block);
    b.seal_block(block);
    let &[callee_vmctx, caller_vmctx, code, values] = b.block_params(block) else {
        unreachable!("four parameters")
    };
    let mut args = vec![callee_vmctx, caller_vmctx];
    for (i, param) in ty.params.iter().enumerate() {
        let value = b.ins().load(
            ir_type(*param),
            MemFlagsData::trusted(),
            values,
            value_slot_offset(i),
        );
        args.push(value);
    }
    let callee_sig = b.import_signature(wasm_signature(ty));
    let call = b.ins().call_indirect(callee_sig, code, &args);
    let results = b.inst_results(call).to_vec();
    for (i, result) in results.into_iter().enumerate() {
        b.ins().store(
            MemFlagsData::trusted(),
            result,
            values,
            value_slot_offset(i),
        );
    }
    b.ins().return_(&[]);
    b.finalize(frontend);
    func
}

/// A Wasm-ABI function of type `ty` that forwards to `host_call`.
pub fn host_adapter(
    ty: &FuncType,
    type_index: u32,
    context: &mut FunctionBuilderContext,
    frontend: TargetFrontendConfig,
) -> Function {
    let mut func = Function::with_name_signature(
        UserFuncName::user(NAMESPACE_HOST_ADAPTER, type_index),
        wasm_signature(ty),
    );
    let slots = ty.params.len().max(ty.results.len()).max(1);
    let mut b = FunctionBuilder::new(&mut func, context);
    let slot = b.create_sized_stack_slot(StackSlotData::new(
        StackSlotKind::ExplicitSlot,
        value_buffer_size(slots),
        4,
    ));
    let block = b.create_block();
    b.append_block_params_for_function_params(block);
    b.switch_to_block(block);
    b.seal_block(block);
    let params = b.block_params(block).to_vec();
    let (host_func, caller_vmctx) = (params[0], params[1]);
    let values = b.ins().stack_addr(types::I64, slot, 0);
    for (i, value) in params[2..].iter().enumerate() {
        b.ins().store(
            MemFlagsData::trusted(),
            *value,
            values,
            value_slot_offset(i),
        );
    }
    func_env::call_host(&mut b, host_func, caller_vmctx, values);
    let results: Vec<_> = ty
        .results
        .iter()
        .enumerate()
        .map(|(i, result)| {
            b.ins().load(
                ir_type(*result),
                MemFlagsData::trusted(),
                values,
                value_slot_offset(i),
            )
        })
        .collect();
    b.ins().return_(&results);
    b.finalize(frontend);
    func
}
