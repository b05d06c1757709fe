//! Rust panics as Wasm exceptions: unwinding through frames with
//! destructors, `catch_unwind` with string and non-string payloads, nested
//! catches and `resume_unwind`; `uncaught` ends in Rust's own panic exit,
//! and the exported `boom` lets a panic escape the module.
//! Built by `build.sh`; run by `cli/tests/exceptions.rs`.
#![feature(asm_experimental_arch)]

use std::panic;

// The tag LLVM throws with. Rust's std defines it only for
// wasm32-unknown-unknown; on WASI it comes from wasi-sdk's libunwind,
// which Debian does not ship.
core::arch::global_asm!(
    ".globl __cpp_exception",
    ".tagtype __cpp_exception i32",
    "__cpp_exception:",
);

struct Guard(&'static str);

impl Drop for Guard {
    fn drop(&mut self) {
        println!("unwound {}", self.0);
    }
}

#[inline(never)]
fn level3(n: u32) -> u32 {
    let _g = Guard("level3");
    if n > 2 {
        panic!("boom at depth {n}");
    }
    n
}

#[inline(never)]
fn level2(n: u32) -> u32 {
    let _g = Guard("level2");
    level3(n + 1) + 1
}

#[inline(never)]
fn level1(n: u32) -> u32 {
    level2(n + 1) * 2
}

/// Exported: `run --invoke boom` lets a panic leave the module.
#[unsafe(no_mangle)]
pub extern "C-unwind" fn boom() {
    panic!("escaping panic");
}

fn message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("<non-string>")
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    panic::set_hook(Box::new(|_| {}));
    match panic::catch_unwind(|| level1(1)) {
        Ok(v) => println!("no panic: {v}"),
        Err(e) => println!("caught: {}", message(&*e)),
    }
    match panic::catch_unwind(|| {
        let _g = Guard("any");
        panic::panic_any(42i32);
    }) {
        Ok(()) => println!("no panic"),
        Err(e) => println!("caught i32 payload: {:?}", e.downcast::<i32>().ok()),
    }
    let r = panic::catch_unwind(|| {
        let inner = panic::catch_unwind(|| -> () { panic!("inner") });
        println!("inner caught: {}", inner.is_err());
        panic::resume_unwind(Box::new("resumed"));
    });
    println!("outer caught: {}", r.map_or_else(|e| message(&*e).to_string(), |()| "nothing".into()));
    if mode == "uncaught" {
        let _ = panic::take_hook();
        let _g = Guard("main");
        panic!("uncaught panic");
    }
    println!("done");
}
