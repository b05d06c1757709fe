//! aarch64 (AAPCS64, Linux): the setjmp/longjmp pair, signal contexts,
//! throwing and resuming, and instruction-cache maintenance.

use crate::exceptions::{Handler, throw_from_wasm};
use crate::vmcontext::VMContext;

/// What `enter` saves and `unwind` restores: x19–x28, d8–d15, the frame
/// pointer (x29) and the stack pointer.
#[repr(C)]
pub struct JmpBuf {
    regs: [u64; 20],
}

impl JmpBuf {
    pub const fn new() -> Self {
        Self { regs: [0; 20] }
    }

    /// `enter`'s own frame pointer: every frame of the activation lies
    /// below it.
    pub fn frame_pointer(&self) -> usize {
        self.regs[18] as usize
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
        "stp x29, x30, [sp, #-16]!",
        "mov x29, sp",
        "stp x19, x20, [x0, #0]",
        "stp x21, x22, [x0, #16]",
        "stp x23, x24, [x0, #32]",
        "stp x25, x26, [x0, #48]",
        "stp x27, x28, [x0, #64]",
        "stp d8, d9, [x0, #80]",
        "stp d10, d11, [x0, #96]",
        "stp d12, d13, [x0, #112]",
        "stp d14, d15, [x0, #128]",
        "mov x9, sp",
        "stp x29, x9, [x0, #144]",
        "mov x9, x1",
        "mov x0, x2",
        "mov x1, x3",
        "mov x2, x4",
        "mov x3, x5",
        "blr x9",
        "mov w0, #0",
        "ldp x29, x30, [sp], #16",
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
        "ldp x19, x20, [x0, #0]",
        "ldp x21, x22, [x0, #16]",
        "ldp x23, x24, [x0, #32]",
        "ldp x25, x26, [x0, #48]",
        "ldp x27, x28, [x0, #64]",
        "ldp d8, d9, [x0, #80]",
        "ldp d10, d11, [x0, #96]",
        "ldp d12, d13, [x0, #112]",
        "ldp d14, d15, [x0, #128]",
        "ldp x29, x9, [x0, #144]",
        "mov sp, x9",
        "mov w0, #1",
        "ldp x29, x30, [sp], #16",
        "ret",
    )
}

/// The interrupted PC and frame pointer (x29) of a signal context.
pub fn fault_pc_fp(context: &libc::ucontext_t) -> (usize, usize) {
    let mcontext = &context.uc_mcontext;
    (mcontext.pc as usize, mcontext.regs[29] as usize)
}

/// Makes the interrupted thread continue in `unwind(jmp)`.
pub fn redirect(context: &mut libc::ucontext_t, jmp: *const JmpBuf) {
    let mcontext = &mut context.uc_mcontext;
    mcontext.pc = unwind as *const () as u64;
    mcontext.regs[0] = jmp as u64;
}

/// Called (never returning) by generated code for `throw`/`throw_ref`
/// with Cranelift's tail convention, which on aarch64 passes the first
/// arguments from x2 on (x0 is kept for a return area, x1 for the callee's
/// address): `(vmctx, exception)` arrive in x2/x3. At entry the link
/// register holds the return address into the throwing function and x29
/// its frame pointer. The four become `throw_from_wasm`'s C arguments, and
/// the branch keeps the stack as a call would have left it.
///
/// # Safety
/// Only for generated code, which calls it from a Wasm frame.
#[unsafe(naked)]
pub unsafe extern "C" fn throw_stub(vmctx: *mut VMContext, exception: u64) {
    core::arch::naked_asm!(
        "mov x0, x2",
        "mov x1, x3",
        "mov x2, x30",
        "mov x3, x29",
        "b {throw}",
        throw = sym throw_from_wasm,
    )
}

/// Continues at `handler` with the exception in x0, the first payload
/// register of Cranelift's tail convention. Registers other than sp and
/// x29 need no restoring: a `try_call` into a tail-convention callee
/// treats every register as clobbered on its exceptional edge.
///
/// # Safety
/// `handler` must come from the exception tables of a live frame above
/// the current one; everything below that frame is abandoned.
pub unsafe fn resume(handler: Handler, exception: usize) -> ! {
    // SAFETY: the caller's contract.
    unsafe {
        core::arch::asm!(
            "mov sp, {sp}",
            "mov x29, {fp}",
            "br {pc}",
            sp = in(reg) handler.sp as u64,
            fp = in(reg) handler.fp as u64,
            pc = in(reg) handler.pc as u64,
            in("x0") exception as u64,
            in("x1") 0u64,
            options(noreturn, nostack),
        )
    }
}

/// Cleans the data cache and invalidates the instruction cache over
/// `code` (to the point of unification), as code written through data
/// stores must be before it runs on aarch64.
pub fn flush_icache(code: &[u8]) {
    if code.is_empty() {
        return;
    }
    let ctr: u64;
    // SAFETY: reading CTR_EL0 is allowed at EL0 on Linux.
    unsafe { core::arch::asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
    let dline = 4usize << ((ctr >> 16) & 0xf);
    let iline = 4usize << (ctr & 0xf);
    let start = code.as_ptr() as usize;
    let end = start + code.len();
    let mut at = start & !(dline - 1);
    while at < end {
        // SAFETY: cache maintenance by virtual address on our own mapping.
        unsafe { core::arch::asm!("dc cvau, {}", in(reg) at as u64, options(nostack)) };
        at += dline;
    }
    // SAFETY: barriers only.
    unsafe { core::arch::asm!("dsb ish", options(nostack)) };
    let mut at = start & !(iline - 1);
    while at < end {
        // SAFETY: as above.
        unsafe { core::arch::asm!("ic ivau, {}", in(reg) at as u64, options(nostack)) };
        at += iline;
    }
    // SAFETY: barriers only.
    unsafe { core::arch::asm!("dsb ish", "isb", options(nostack)) };
}

/// The body of a GC entry stub (`gc::runtime`): generated code calls the
/// stub like the builtin it stands for, with `vmctx` in x0. It records
/// its return address (the link register) in the store context's
/// `gc_exit_pc`, where the collector's frame walk starts, then branches to
/// `$target` with arguments and stack as the call left them.
macro_rules! gc_entry_body {
    ($target:path) => {
        core::arch::naked_asm!(
            "ldr x16, [x0, #{store}]",
            "str x30, [x16, #{exit_pc}]",
            "b {target}",
            store = const $crate::vmcontext::offsets::VMCTX_STORE,
            exit_pc = const $crate::vmcontext::offsets::STORE_GC_EXIT_PC,
            target = sym $target,
        )
    };
}
pub(crate) use gc_entry_body;
