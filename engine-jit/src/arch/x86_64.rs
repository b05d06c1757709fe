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

/// Bytes of one function's call stub (see `call_stub`).
pub const CALL_STUB_SIZE: usize = 8;
/// Direct calls between lazily compiled functions need every address of
/// the module's arena within reach of every other: `call rel32`.
pub const MAX_DIRECT_CALL_SPAN: usize = i32::MAX as usize;

/// The call stub at arena offset `at`: `jmp [rip → entry]`, `entry`
/// being the arena offset of the callee's slot in the table of code
/// addresses. Lazily compiled optimized code calls a function whose final
/// code it does not know through its stub (see `lazy/call_table.rs`).
pub fn call_stub(
    at: usize,
    entry: usize,
) -> Result<[u8; CALL_STUB_SIZE], crate::error::LayoutError> {
    // The displacement counts from the end of the 6-byte `jmp`.
    let displacement = i32::try_from(entry as i64 - (at + 6) as i64)
        .map_err(|_| crate::error::LayoutError::RelocationRange)?;
    let mut stub = [0xcc; CALL_STUB_SIZE];
    stub[..2].copy_from_slice(&[0xff, 0x25]);
    stub[2..6].copy_from_slice(&displacement.to_le_bytes());
    Ok(stub)
}

/// Bytes of one function's lazy-compile stub (see `write_lazy_stubs`).
pub const LAZY_STUB_SIZE: usize = 16;
/// Bytes before the first stub: the address of `lazy_stub_common`, which
/// every stub jumps through.
pub const LAZY_STUBS_HEADER: usize = 16;

/// Fills `table` with the 8-byte address of `lazy_stub_common` followed by
/// `count` stubs, the one for defined function `i` at `LAZY_STUBS_HEADER +
/// i * LAZY_STUB_SIZE`: `mov r11d, i` then `jmp [rip → the address]`.
/// Position independent: the table may run anywhere. r11 is free at a
/// call's target (Cranelift's scratch register, never an argument).
pub fn write_lazy_stubs(table: &mut [u8], count: u32) {
    let common = lazy_stub_common as *const () as u64;
    table[..8].copy_from_slice(&common.to_le_bytes());
    table[8..LAZY_STUBS_HEADER].fill(0xcc);
    for defined in 0..count {
        let at = LAZY_STUBS_HEADER + defined as usize * LAZY_STUB_SIZE;
        let stub = &mut table[at..at + LAZY_STUB_SIZE];
        stub[..2].copy_from_slice(&[0x41, 0xbb]);
        stub[2..6].copy_from_slice(&defined.to_le_bytes());
        // The displacement counts from the end of the 6-byte `jmp`.
        let displacement = -((at + 12) as i64) as i32;
        stub[6..8].copy_from_slice(&[0xff, 0x25]);
        stub[8..12].copy_from_slice(&displacement.to_le_bytes());
        stub[12..].fill(0xcc);
    }
}

/// Where every lazy-compile stub goes: a call reached a function of a
/// lazily compiled module that was never compiled. Entered by a jump with
/// the call's arguments in place (Cranelift's tail convention: rdi, rsi,
/// rdx, rcx, r8, r9, xmm0–xmm7, then the stack), the callee's `vmctx` in
/// rdi, the function's defined index in r11d, `[rsp]` the call's return
/// address and rbp the caller's frame pointer. Saves the argument
/// registers, asks `lazy_compile` for the code (which records the
/// caller's frame for a trap's backtrace), restores them and jumps to the
/// code as if the call had gone there.
///
/// # Safety
/// Only reached through a stub, from a call with the function's signature.
#[unsafe(naked)]
pub unsafe extern "C" fn lazy_stub_common() {
    core::arch::naked_asm!(
        "push rbp",
        "mov rbp, rsp",
        "sub rsp, 176",
        "mov [rsp], rdi",
        "mov [rsp + 8], rsi",
        "mov [rsp + 16], rdx",
        "mov [rsp + 24], rcx",
        "mov [rsp + 32], r8",
        "mov [rsp + 40], r9",
        "movdqu [rsp + 48], xmm0",
        "movdqu [rsp + 64], xmm1",
        "movdqu [rsp + 80], xmm2",
        "movdqu [rsp + 96], xmm3",
        "movdqu [rsp + 112], xmm4",
        "movdqu [rsp + 128], xmm5",
        "movdqu [rsp + 144], xmm6",
        "movdqu [rsp + 160], xmm7",
        "mov esi, r11d",
        "mov rdx, [rbp]",
        "mov rcx, [rbp + 8]",
        "call {compile}",
        "mov r11, rax",
        "mov rdi, [rsp]",
        "mov rsi, [rsp + 8]",
        "mov rdx, [rsp + 16]",
        "mov rcx, [rsp + 24]",
        "mov r8, [rsp + 32]",
        "mov r9, [rsp + 40]",
        "movdqu xmm0, [rsp + 48]",
        "movdqu xmm1, [rsp + 64]",
        "movdqu xmm2, [rsp + 80]",
        "movdqu xmm3, [rsp + 96]",
        "movdqu xmm4, [rsp + 112]",
        "movdqu xmm5, [rsp + 128]",
        "movdqu xmm6, [rsp + 144]",
        "movdqu xmm7, [rsp + 160]",
        "mov rsp, rbp",
        "pop rbp",
        "jmp r11",
        compile = sym crate::builtins::lazy_compile,
    )
}
