//! x86-64: entering the runtime from a throw, and resuming in a handler.

use super::{Handler, throw_from_wasm};
use crate::vmcontext::VMContext;

/// Called (never returning) by generated code for `throw`/`throw_ref`
/// with `(vmctx, exception)` in rdi/rsi, the first two argument registers
/// of both the C and Cranelift's tail convention. At entry `[rsp]` is the
/// return address into the throwing function and rbp its frame pointer;
/// they become the third and fourth arguments, and the jump keeps the
/// stack exactly as a call would have left it.
///
/// # Safety
/// Only for generated code, which calls it from a Wasm frame.
#[unsafe(naked)]
pub unsafe extern "C" fn throw_stub(vmctx: *mut VMContext, exception: u64) {
    core::arch::naked_asm!(
        "mov rdx, [rsp]",
        "mov rcx, rbp",
        "jmp {throw}",
        throw = sym throw_from_wasm,
    )
}

/// Continues at `handler` with the exception in rax, the first payload
/// register of Cranelift's tail convention. Registers other than rsp and
/// rbp need no restoring: a `try_call` into a tail-convention callee
/// treats every register as clobbered on its exceptional edge.
///
/// # Safety
/// `handler` must come from the exception tables of a live frame above
/// the current one; everything below that frame is abandoned.
pub unsafe fn resume(handler: Handler, exception: usize) -> ! {
    // SAFETY: the caller's contract.
    unsafe {
        core::arch::asm!(
            "mov rsp, {sp}",
            "mov rbp, {fp}",
            "jmp {pc}",
            sp = in(reg) handler.sp,
            fp = in(reg) handler.fp,
            pc = in(reg) handler.pc,
            in("rax") exception,
            in("rdx") 0usize,
            options(noreturn, nostack),
        )
    }
}
