//! Entering Wasm and getting back out when it traps.
//!
//! `enter` is a small hand-written stub (setjmp-like): it saves the
//! callee-saved registers and the stack pointer in the current thread's
//! [`CallState`], then calls a per-signature entry trampoline. To leave
//! early, `unwind` restores those registers and returns from `enter` with 1.
//!
//! Two things leave early:
//! - a fault in generated code (SIGSEGV/SIGBUS from a guard page, SIGILL
//!   from an explicit trap instruction, SIGFPE from a division): the signal
//!   handler, running on an alternate stack, looks the faulting PC up in the
//!   trap tables of the store's modules; if it is ours it records the trap
//!   and rewrites the signal context so that the thread resumes in `unwind`.
//!   Anything else goes to the handler installed before ours;
//! - a builtin or host function that fails: it stores its trap in the call
//!   state and calls `unwind` directly, with nothing left to drop on its
//!   frames (see `raise`).
//!
//! See RATIONALE.md for why this design rather than a C setjmp.

use std::cell::Cell;
use std::sync::Once;

use wasmtier_core::{Trap, TrapCode};

use crate::exceptions::{Handler, Tag};

use crate::arch::{self, JmpBuf};

/// What the signal handler needs to know about a store's code.
pub trait CodeLookup {
    /// The trap recorded at `pc`, if `pc` is in this store's code.
    fn trap_at(&self, pc: usize) -> Option<TrapCode>;
    /// Whether `pc` is inside a Wasm function of this store.
    fn is_wasm(&self, pc: usize) -> bool;
    /// The handler for an exception of `tag` at call site `pc` (a return
    /// address) of the frame whose frame pointer is `fp`.
    ///
    /// # Safety
    /// `fp` must be the frame pointer of the live frame `pc` returns into,
    /// on this thread's stack.
    unsafe fn handler(&self, pc: usize, fp: usize, tag: *const Tag) -> Option<Handler>;
    /// Adds the addresses of the stack slots that hold GC references at
    /// call site `pc` (a return address) of the frame whose frame pointer
    /// is `fp` (none where no reference is live).
    ///
    /// # Safety
    /// As for [`Self::handler`].
    unsafe fn gc_slots(&self, pc: usize, fp: usize, slots: &mut Vec<usize>);
}

const MAX_FRAMES: usize = 64;

/// One activation of Wasm on this thread (nested ones link to `prev`).
#[repr(C)]
pub struct CallState {
    jmp: JmpBuf,
    lookup: *const dyn CodeLookup,
    prev: *mut CallState,
    /// Set by the signal handler.
    fault: Option<TrapCode>,
    frames: [usize; MAX_FRAMES],
    frame_count: usize,
    /// Set by `raise`.
    pending: Option<Trap>,
}

thread_local! {
    static CURRENT: Cell<*mut CallState> = const { Cell::new(std::ptr::null_mut()) };
    static ALT_STACK: std::cell::RefCell<Option<AltStack>> = const { std::cell::RefCell::new(None) };
}

/// How a call into Wasm ended early.
pub struct Unwound {
    pub trap: Trap,
    /// Return addresses / PCs of the Wasm frames, innermost first.
    pub pcs: Vec<usize>,
}

/// Calls `code` (Wasm ABI) through the entry `trampoline` with the values
/// buffer `values`.
///
/// # Safety
/// `trampoline` must be an entry trampoline for `code`'s signature,
/// `callee_vmctx`/`caller_vmctx` live contexts, and `values` large enough
/// for the parameters and results. `lookup` must cover all code reachable.
pub unsafe fn call(
    lookup: &dyn CodeLookup,
    trampoline: usize,
    callee_vmctx: usize,
    caller_vmctx: usize,
    code: usize,
    values: *mut u128,
) -> Result<(), Unwound> {
    install_handlers();
    ensure_alt_stack();
    // SAFETY: only the lifetime is erased; the pointer is cleared from
    // `CURRENT` before this function returns, while `lookup` is borrowed.
    let lookup: &'static dyn CodeLookup = unsafe { std::mem::transmute(lookup) };
    let mut state = CallState {
        jmp: JmpBuf::new(),
        lookup,
        prev: CURRENT.get(),
        fault: None,
        frames: [0; MAX_FRAMES],
        frame_count: 0,
        pending: None,
    };
    // Everything below goes through this one pointer: the signal handler
    // and `raise` write through the copy in `CURRENT`.
    let state: *mut CallState = &mut state;
    CURRENT.set(state);
    // SAFETY: the caller guarantees the arguments; `state` outlives the
    // call and is only reached through `CURRENT` while Wasm runs.
    let trapped = unsafe {
        arch::enter(
            &raw mut (*state).jmp,
            trampoline,
            callee_vmctx,
            caller_vmctx,
            code,
            values,
        )
    };
    // SAFETY: Wasm is no longer running; `state` is ours again.
    let state = unsafe { &mut *state };
    CURRENT.set(state.prev);
    if trapped == 0 {
        return Ok(());
    }
    let pcs = state.frames[..state.frame_count].to_vec();
    let trap = match (state.pending.take(), state.fault) {
        (Some(trap), _) => trap,
        (None, Some(code)) => Trap::code(code),
        (None, None) => Trap::host("wasm call unwound without a trap"),
    };
    Err(Unwound { trap, pcs })
}

/// Leaves the innermost Wasm activation of this thread with `trap`.
///
/// # Safety
/// Must be called from a builtin or host trampoline invoked by generated
/// code, with no value on the caller's frames that needs dropping: those
/// frames are discarded without running destructors.
///
/// `exit_fp` is the frame pointer of the generated frame that called out
/// (0 if unknown) and `exit_pc` an address inside the innermost Wasm
/// function (0 if that frame is a host adapter); they give the backtrace.
pub unsafe fn raise(trap: Trap, exit_fp: usize, exit_pc: usize) -> ! {
    let state = CURRENT.get();
    assert!(!state.is_null(), "raise outside of a wasm call");
    // SAFETY: `state` is the live `CallState` of the innermost `call` on
    // this thread; generated code holds no Rust borrow of it. The frames
    // from `exit_fp` up to the entry stub are intact: we are below them.
    unsafe {
        let state = &mut *state;
        state.pending = Some(trap);
        let lookup = &*state.lookup;
        if exit_pc != 0 && lookup.is_wasm(exit_pc) {
            state.frames[0] = exit_pc;
            state.frame_count = 1;
        }
        walk_frames(state, lookup, exit_fp);
        arch::unwind(&state.jmp)
    }
}

/// The handler an exception of `tag` thrown at `pc` (a return address into
/// the frame whose frame pointer is `fp`) lands in: the first of the
/// frames from there up to the innermost entry into Wasm that has one.
///
/// # Safety
/// Must be called below the throwing frame, inside `call`, with `fp` that
/// frame's frame pointer.
pub unsafe fn find_handler(mut pc: usize, mut fp: usize, tag: *const Tag) -> Option<Handler> {
    let state = CURRENT.get();
    if state.is_null() {
        return None;
    }
    // SAFETY: a non-null `CURRENT` is the live call state of this thread.
    let state = unsafe { &*state };
    // SAFETY: as above; the lookup outlives the call.
    let lookup = unsafe { &*state.lookup };
    // Every frame of this activation lies below the entry stub's frame.
    let top = state.jmp.frame_pointer();
    while fp != 0 && fp.is_multiple_of(16) && fp < top {
        // SAFETY: `fp` is a live frame of this activation (checked against
        // its bounds above) and `pc` the address it will return to.
        if let Some(handler) = unsafe { lookup.handler(pc, fp, tag) } {
            return Some(handler);
        }
        // SAFETY: every generated frame starts with the saved (fp, return
        // address) pair its prologue pushed.
        let (next, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
        if next <= fp {
            break;
        }
        (pc, fp) = (ret, next);
    }
    None
}

/// The stack slots that hold GC references in the Wasm frames of the
/// innermost activation, from the frame whose frame pointer is `fp` and
/// which called out at return address `pc`, up to the activation's entry.
/// `None` when the walk could not see every frame holding references: an
/// outer activation of the same store runs on this thread (a host function
/// called back into Wasm), whose frames lie beyond host code.
///
/// # Safety
/// Must be called below the frame `fp`, inside `call`, from a builtin
/// invoked by that frame at `pc`.
pub unsafe fn gc_stack_slots(mut pc: usize, mut fp: usize) -> Option<Vec<usize>> {
    let state = CURRENT.get();
    if state.is_null() {
        return None;
    }
    // SAFETY: a non-null `CURRENT` is the live call state of this thread,
    // and each `prev` an outer one, live until its `call` returns.
    let state = unsafe { &*state };
    let mut outer = state.prev;
    while !outer.is_null() {
        // SAFETY: as above.
        let outer_state = unsafe { &*outer };
        if std::ptr::addr_eq(outer_state.lookup, state.lookup) {
            return None;
        }
        outer = outer_state.prev;
    }
    // SAFETY: as above; the lookup outlives the call.
    let lookup = unsafe { &*state.lookup };
    let top = state.jmp.frame_pointer();
    let mut slots = Vec::new();
    while fp != 0 && fp.is_multiple_of(16) && fp < top && lookup.is_wasm(pc) {
        // SAFETY: `fp` is a live frame of this activation (checked against
        // its bounds above) and `pc` the call site it will return to.
        unsafe { lookup.gc_slots(pc, fp, &mut slots) };
        // SAFETY: every generated frame starts with the saved (fp, return
        // address) pair its prologue pushed.
        let (next, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
        if next <= fp {
            break;
        }
        (pc, fp) = (ret, next);
    }
    Some(slots)
}

/// The guest stack allowed when `--max-stack` is not given. The thread's
/// own bounds still apply below it; this cap matters where they say little,
/// e.g. a main thread under `ulimit -s unlimited`, whose reported stack
/// reaches the next mapping and would let a guest recurse through gigabytes.
pub const DEFAULT_MAX_STACK: usize = 8 << 20;

/// How far below the stack limit a Wasm frame may lie: a function checks
/// SP after its prologue, and a leaf not at all (`translate::stack_check`),
/// so its own frame, at most this big, may be below the limit when it
/// traps or while it runs. Larger frames are checked before they are
/// allocated.
pub const MAX_FRAME_BELOW_LIMIT: usize = 16 * 1024;

/// The lowest address Wasm may use on this thread's stack, leaving
/// `reserve` bytes (at most a quarter of what is left, at least twice
/// [`MAX_FRAME_BELOW_LIMIT`]) for host code, and at most `max_stack`
/// (default [`DEFAULT_MAX_STACK`]) below the caller.
pub fn stack_limit(max_stack: Option<usize>, reserve: usize) -> usize {
    /// Assumed usable stack when the thread's bounds are unknown.
    const FALLBACK: usize = 512 * 1024;
    let here = &reserve as *const usize as usize;
    let floor = match thread_stack_low() {
        Some(low) if low < here => {
            low + reserve.min((here - low) / 4).max(2 * MAX_FRAME_BELOW_LIMIT)
        }
        _ => here.saturating_sub(FALLBACK),
    };
    here.saturating_sub(max_stack.unwrap_or(DEFAULT_MAX_STACK))
        .max(floor)
}

/// Bytes of this thread's stack below the caller (0 when unknown).
pub fn stack_left() -> usize {
    let here = 0usize;
    let here = &here as *const usize as usize;
    thread_stack_low().map_or(0, |low| here.saturating_sub(low))
}

fn thread_stack_low() -> Option<usize> {
    thread_local! {
        static LOW: Cell<Option<usize>> = const { Cell::new(None) };
    }
    if let Some(low) = LOW.get() {
        return Some(low);
    }
    // SAFETY: `attr` is initialized by pthread_getattr_np before use and
    // destroyed afterwards; the out-pointers are valid locals.
    let low = unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let rc = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        if rc != 0 {
            return None;
        }
        addr as usize
    };
    LOW.set(Some(low));
    Some(low)
}

const SIGNALS: [libc::c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

static mut PREVIOUS: [Option<libc::sigaction>; 4] = [None; 4];

fn install_handlers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for (slot, &signal) in SIGNALS.iter().enumerate() {
            // SAFETY: plain sigaction calls with valid structs; `PREVIOUS`
            // is written only here, once, before any handler can run.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = handler as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
                libc::sigemptyset(&mut action.sa_mask);
                let mut previous: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, &action, &mut previous) == 0 {
                    (*std::ptr::addr_of_mut!(PREVIOUS))[slot] = Some(previous);
                }
            }
        }
    });
}

const ALT_STACK_SIZE: usize = 64 * 1024;

/// This thread's record of its alternate signal stack: `None` inside
/// means the thread already had a big enough one.
struct AltStack {
    mapping: Option<*mut libc::c_void>,
}

impl Drop for AltStack {
    fn drop(&mut self) {
        if let Some(mapping) = self.mapping {
            // SAFETY: disables the alternate stack we installed on this
            // (exiting) thread before unmapping its memory.
            unsafe {
                let disable = libc::stack_t {
                    ss_sp: std::ptr::null_mut(),
                    ss_flags: libc::SS_DISABLE,
                    ss_size: ALT_STACK_SIZE,
                };
                libc::sigaltstack(&disable, std::ptr::null_mut());
                libc::munmap(mapping, ALT_STACK_SIZE);
            }
        }
    }
}

/// Gives this thread an alternate signal stack big enough for our handler
/// (and a previous handler we chain to), unless it has one already. It is
/// removed when the thread exits.
fn ensure_alt_stack() {
    ALT_STACK.with_borrow_mut(|slot| {
        if slot.is_none() {
            *slot = Some(AltStack {
                mapping: install_alt_stack(),
            });
        }
    });
}

fn install_alt_stack() -> Option<*mut libc::c_void> {
    // SAFETY: queries and, if needed, installs an alternate stack made of a
    // fresh mapping owned by this thread's `AltStack`.
    unsafe {
        let mut current: libc::stack_t = std::mem::zeroed();
        if libc::sigaltstack(std::ptr::null(), &mut current) == 0
            && current.ss_flags & libc::SS_DISABLE == 0
            && current.ss_size >= ALT_STACK_SIZE
        {
            return None;
        }
        let memory = libc::mmap(
            std::ptr::null_mut(),
            ALT_STACK_SIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if memory == libc::MAP_FAILED {
            return None;
        }
        let stack = libc::stack_t {
            ss_sp: memory,
            ss_flags: 0,
            ss_size: ALT_STACK_SIZE,
        };
        if libc::sigaltstack(&stack, std::ptr::null_mut()) != 0 {
            libc::munmap(memory, ALT_STACK_SIZE);
            return None;
        }
        Some(memory)
    }
}

unsafe extern "C" fn handler(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    // SAFETY: the kernel passes a valid ucontext_t for SA_SIGINFO handlers.
    let context = unsafe { &mut *context.cast::<libc::ucontext_t>() };
    let (pc, fp) = arch::fault_pc_fp(context);
    let state = CURRENT.get();
    if !state.is_null() {
        // SAFETY: a non-null `CURRENT` is the live call state of this
        // thread, and its lookup outlives the call.
        let state = unsafe { &mut *state };
        // SAFETY: as above.
        let lookup = unsafe { &*state.lookup };
        if let Some(code) = lookup.trap_at(pc) {
            state.fault = Some(code);
            state.frames[0] = pc;
            state.frame_count = 1;
            // SAFETY: the chain of saved frame pointers of Wasm frames
            // (all compiled with frame pointers) up to the entry stub.
            unsafe { walk_frames(state, lookup, fp) };
            arch::redirect(context, &state.jmp);
            return;
        }
    }
    // SAFETY: forwards to whatever handler was installed before ours.
    unsafe {
        chain(
            signal,
            info,
            context as *mut libc::ucontext_t as *mut libc::c_void,
        )
    }
}

/// Records the return addresses of the Wasm frames above `fp`.
unsafe fn walk_frames(state: &mut CallState, lookup: &dyn CodeLookup, mut fp: usize) {
    let top = state.jmp.frame_pointer();
    while state.frame_count < MAX_FRAMES && fp != 0 && fp.is_multiple_of(8) && fp < top {
        // SAFETY: `fp` lies between the faulting frame and the entry stub's
        // frame on this thread's stack, and points at a saved (fp, ret) pair.
        let (next, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
        if !lookup.is_wasm(ret) {
            break;
        }
        state.frames[state.frame_count] = ret;
        state.frame_count += 1;
        if next <= fp {
            break;
        }
        fp = next;
    }
}

unsafe fn chain(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let slot = SIGNALS.iter().position(|&s| s == signal).unwrap_or(0);
    // SAFETY: `PREVIOUS` is no longer written once handlers are installed.
    let previous = unsafe { (*std::ptr::addr_of!(PREVIOUS))[slot] };
    let Some(previous) = previous else { return };
    if previous.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous handler was registered with SA_SIGINFO, so
        // it has this signature.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(previous.sa_sigaction) };
        f(signal, info, context);
    } else if previous.sa_sigaction == libc::SIG_DFL || previous.sa_sigaction == libc::SIG_IGN {
        // SAFETY: restores the previous disposition; returning re-executes
        // the faulting instruction, which now gets the default action.
        unsafe {
            libc::sigaction(signal, &previous, std::ptr::null_mut());
        }
    } else {
        // SAFETY: a plain handler registered without SA_SIGINFO.
        let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(previous.sa_sigaction) };
        f(signal);
    }
}
