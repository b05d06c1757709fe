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

/// Bytes of one function's call stub (see `call_stub`).
pub const CALL_STUB_SIZE: usize = 16;
/// Direct calls between lazily compiled functions need every address of
/// the module's arena within reach of every other: `bl` reaches ±128 MiB.
pub const MAX_DIRECT_CALL_SPAN: usize = 128 << 20;

/// The call stub at offset `at` of the (page-aligned) arena: `adrp x16`
/// of the page of `entry`, the arena offset of the callee's slot in the
/// table of code addresses, `ldr x16` of the slot, `br x16`. Lazily
/// compiled optimized code calls a function whose final code it does not
/// know through its stub (see `lazy/call_table.rs`). x16 is free at a
/// call's target.
pub fn call_stub(
    at: usize,
    entry: usize,
) -> Result<[u8; CALL_STUB_SIZE], crate::error::LayoutError> {
    let pages = (entry >> 12) as i64 - (at >> 12) as i64;
    if !(-(1 << 20)..(1 << 20)).contains(&pages) {
        return Err(crate::error::LayoutError::RelocationRange);
    }
    let pages = (pages as u32) & 0x1f_ffff;
    let code: [u32; 4] = [
        // adrp x16, entry's page
        0x9000_0000 | ((pages & 3) << 29) | ((pages >> 2) << 5) | 16,
        // ldr x16, [x16, #entry's offset in its page]
        0xf940_0000 | ((((entry & 0xfff) / 8) as u32) << 10) | (16 << 5) | 16,
        0xd61f_0000 | (16 << 5), // br x16
        0xd420_0000,             // brk #0
    ];
    let mut stub = [0; CALL_STUB_SIZE];
    for (word, bytes) in code.iter().zip(stub.chunks_exact_mut(4)) {
        bytes.copy_from_slice(&word.to_le_bytes());
    }
    Ok(stub)
}

/// Bytes of one function's lazy-compile stub (see `write_lazy_stubs`).
pub const LAZY_STUB_SIZE: usize = 32;
/// Bytes before the first stub: none, each stub holds the address it
/// branches to.
pub const LAZY_STUBS_HEADER: usize = 0;

/// Fills `table` with `count` stubs, the one for defined function `i` at
/// `i * LAZY_STUB_SIZE`: `i` into w17, the address of `lazy_stub_common`
/// (a literal after the code) into x16, `br x16`. Position independent.
/// x16/x17 (IP0/IP1) are free at a call's target.
pub fn write_lazy_stubs(table: &mut [u8], count: u32) {
    let common = lazy_stub_common as *const () as u64;
    for defined in 0..count {
        let at = defined as usize * LAZY_STUB_SIZE;
        let stub = &mut table[at..at + LAZY_STUB_SIZE];
        let (low, high) = (defined & 0xffff, defined >> 16);
        let code: [u32; 4] = [
            0x5280_0000 | (low << 5) | 17,  // movz w17, #low
            0x72a0_0000 | (high << 5) | 17, // movk w17, #high, lsl #16
            0x5800_0000 | (2 << 5) | 16,    // ldr x16, [pc + 8]: the literal
            0xd61f_0000 | (16 << 5),        // br x16
        ];
        for (word, bytes) in code.iter().zip(stub.chunks_exact_mut(4)) {
            bytes.copy_from_slice(&word.to_le_bytes());
        }
        stub[16..24].copy_from_slice(&common.to_le_bytes());
        stub[24..].fill(0);
    }
}

/// Where every lazy-compile stub goes: a call reached a function of a
/// lazily compiled module that was never compiled. Entered by a branch
/// with the call's arguments in place (Cranelift's tail convention: x2–x7
/// with x0 and x8 possibly a return area, v0–v7, then the stack; all of
/// x0–x8 are saved), the callee's `vmctx` in x2 (its first argument), the
/// function's defined index in w17, the link
/// register the call's return address and x29 the caller's frame pointer.
/// Saves the argument registers, asks `lazy_compile` for the code (which
/// records the caller's frame for a trap's backtrace), restores them and
/// branches to the code as if the call had gone there.
///
/// # Safety
/// Only reached through a stub, from a call with the function's signature.
#[unsafe(naked)]
pub unsafe extern "C" fn lazy_stub_common() {
    core::arch::naked_asm!(
        "stp x29, x30, [sp, #-16]!",
        "mov x29, sp",
        "sub sp, sp, #208",
        "stp x0, x1, [sp, #0]",
        "stp x2, x3, [sp, #16]",
        "stp x4, x5, [sp, #32]",
        "stp x6, x7, [sp, #48]",
        "str x8, [sp, #64]",
        "stp q0, q1, [sp, #80]",
        "stp q2, q3, [sp, #112]",
        "stp q4, q5, [sp, #144]",
        "stp q6, q7, [sp, #176]",
        "mov x0, x2",
        "mov w1, w17",
        "ldr x2, [x29]",
        "ldr x3, [x29, #8]",
        "bl {compile}",
        "mov x16, x0",
        "ldp x0, x1, [sp, #0]",
        "ldp x2, x3, [sp, #16]",
        "ldp x4, x5, [sp, #32]",
        "ldp x6, x7, [sp, #48]",
        "ldr x8, [sp, #64]",
        "ldp q0, q1, [sp, #80]",
        "ldp q2, q3, [sp, #112]",
        "ldp q4, q5, [sp, #144]",
        "ldp q6, q7, [sp, #176]",
        "mov sp, x29",
        "ldp x29, x30, [sp], #16",
        "br x16",
        compile = sym crate::builtins::lazy_compile,
    )
}
