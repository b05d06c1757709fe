//! Everything engine-jit does differently per CPU, one file per CPU: a new
//! architecture is an added file here (plus its line in `engines/build.rs`
//! and `engines/Cargo.toml`), not an edit elsewhere.
//!
//! Each provides:
//! - `JmpBuf` (with `new()` and `frame_pointer()`), `enter` and `unwind`: the
//!   setjmp/longjmp pair of `signals.rs`;
//! - `fault_pc_fp` and `redirect`: reading a signal context's PC and frame
//!   pointer, and making it resume in `unwind`;
//! - `throw_stub` and `resume`: entering the runtime from a Wasm throw and
//!   continuing in a handler (`exceptions/`);
//! - `flush_icache`: making freshly written code visible to instruction
//!   fetch;
//! - `gc_entry_body!`: the stub in front of a builtin that may collect
//!   garbage, recording the call's return address (`gc::runtime`);
//! - `LAZY_STUB_SIZE`, `LAZY_STUBS_HEADER`, `write_lazy_stubs` and
//!   `lazy_stub_common`: the per-function stubs a lazily compiled module's
//!   `VMFuncRef`s point at until their function is compiled (`lazy/`);
//! - `CALL_STUB_SIZE`, `MAX_DIRECT_CALL_SPAN` and `call_stub`: the
//!   stubs through which lazily compiled optimized code calls a function
//!   whose final code it does not know yet (`lazy/call_table.rs`).
//!
//! What every supported CPU shares and the rest relies on: generated frames
//! start with a saved (frame pointer, return address) pair at the frame
//! pointer, so one frame walk serves all (`signals.rs`).

/// Every target the compiled tiers run on (and `compile --target`
/// accepts): one per file here, Linux only.
pub const TARGETS: &[&str] = &["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"];

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub use x86_64::*;

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub use aarch64::*;

#[cfg(not(all(
    any(target_arch = "x86_64", target_arch = "aarch64"),
    target_os = "linux"
)))]
compile_error!("engine-jit supports x86-64 and aarch64 Linux");
