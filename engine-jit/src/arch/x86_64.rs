//! x86-64 (System V): the setjmp/longjmp pair, signal contexts, throwing
//! and resuming, and (nothing to do for) instruction caches.

use crate::exceptions::{Handler, throw_from_wasm};
use crate::vmcontext::VMContext;

/// Registers `enter` saves and `unwind` restores: rbx, rbp, r12–r15, rsp.
#[repr(C)]
pub struct JmpBuf {
    regs: [usize; 7],
}

impl JmpBuf {
    pub const fn new() -> Self {
        Self { regs: [0; 7] }
    }

    /// `enter`'s own frame pointer: every frame of the activation lies
    /// below it.
    pub fn frame_pointer(&self) -> usize {
        self.regs[1]
    }
}

/// Saves the callee-saved registers and the stack pointer in `jmp`, then
/// calls `trampoline(callee_vmctx, caller_vmctx, code, values)`; returns 0,
/// or 1 when `unwind` left through `jmp`.
///
/// # Safety
/// `jmp` must stay valid until `enter` returns; the trampoline contract is
/// `signals::call`'s.
#[unsafe(naked)]
pub unsafe extern "C" fn enter(
    jmp: *mut JmpBuf,
    trampoline: usize,
    callee_vmctx: usize,
    caller_vmctx: usize,
    code: usize,
    values: *mut u128,
) -> u32 {
    core::arch::naked_asm!(
        "push rbp",
        "mov rbp, rsp",
        "mov [rdi], rbx",
        "mov [rdi + 8], rbp",
        "mov [rdi + 16], r12",
        "mov [rdi + 24], r13",
        "mov [rdi + 32], r14",
        "mov [rdi + 40], r15",
        "mov [rdi + 48], rsp",
        "mov rax, rsi",
        "mov rdi, rdx",
        "mov rsi, rcx",
        "mov rdx, r8",
        "mov rcx, r9",
        "call rax",
        "xor eax, eax",
        "pop rbp",
        "ret",
    )
}

/// Restores what `enter` saved in `jmp` and returns from that `enter`
/// with 1.
///
/// # Safety
/// `jmp` must belong to an `enter` still on this thread's stack.
#[unsafe(naked)]
pub unsafe extern "C" fn unwind(jmp: *const JmpBuf) -> ! {
    core::arch::naked_asm!(
        "mov rbx, [rdi]",
        "mov rbp, [rdi + 8]",
        "mov r12, [rdi + 16]",
        "mov r13, [rdi + 24]",
        "mov r14, [rdi + 32]",
        "mov r15, [rdi + 40]",
        "mov rsp, [rdi + 48]",
        "mov eax, 1",
        "pop rbp",
        "ret",
    )
}

/// The interrupted PC and frame pointer of a signal context.
pub fn fault_pc_fp(context: &libc::ucontext_t) -> (usize, usize) {
    let gregs = &context.uc_mcontext.gregs;
    (
        gregs[libc::REG_RIP as usize] as usize,
        gregs[libc::REG_RBP as usize] as usize,
    )
}

/// Makes the interrupted thread continue in `unwind(jmp)`.
pub fn redirect(context: &mut libc::ucontext_t, jmp: *const JmpBuf) {
    let gregs = &mut context.uc_mcontext.gregs;
    gregs[libc::REG_RIP as usize] = unwind as *const () as i64;
    gregs[libc::REG_RDI as usize] = jmp as i64;
}

/// Called (never returning) by generated code for `throw`/`throw_ref`
/// with Cranelift's tail convention, which on x86-64 passes
/// `(vmctx, exception)` in rdi/rsi like the C convention. At entry `[rsp]` is the
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

/// x86 keeps instruction fetch coherent with stores by itself.
pub fn flush_icache(_code: &[u8]) {}

/// The body of a GC entry stub (`gc::runtime`): generated code calls the
/// stub like the builtin it stands for, with `vmctx` in rdi. It records
/// its return address (at `[rsp]`) in the store context's `gc_exit_pc`,
/// where the collector's frame walk starts, then jumps to `$target` with
/// arguments and stack as the call left them.
macro_rules! gc_entry_body {
    ($target:path) => {
        core::arch::naked_asm!(
            "mov rax, [rdi + {store}]",
            "mov r11, [rsp]",
            "mov [rax + {exit_pc}], r11",
            "jmp {target}",
            store = const $crate::vmcontext::offsets::VMCTX_STORE,
            exit_pc = const $crate::vmcontext::offsets::STORE_GC_EXIT_PC,
            target = sym $target,
        )
    };
}
pub(crate) use gc_entry_body;
