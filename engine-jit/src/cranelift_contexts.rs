//! Cranelift's per-function working state, kept per thread between
//! compiles. Both contexts hold vectors and maps sized by the last function
//! (and `Context` the register allocator's whole working set), which a
//! fresh context allocates again for every function: on the benches'
//! generated module malloc and free were about a tenth of a lazy compile's
//! profile. A context goes back to its thread only after a compile that
//! succeeded, so one left half-way by an error is never reused.

use std::cell::Cell;
use std::thread::LocalKey;

use cranelift_codegen::Context;
use cranelift_frontend::FunctionBuilderContext;

thread_local! {
    static BUILDER: Cell<Option<Box<FunctionBuilderContext>>> = const { Cell::new(None) };
    static CODEGEN: Cell<Option<Box<Context>>> = const { Cell::new(None) };
}

/// Runs `build` with this thread's function-builder context (a new one if
/// the thread has none, or its last user failed).
pub(crate) fn with_builder<T, E>(
    build: impl FnOnce(&mut FunctionBuilderContext) -> Result<T, E>,
) -> Result<T, E> {
    reuse(&BUILDER, FunctionBuilderContext::new, |_| {}, build)
}

/// Runs `compile` with this thread's code-generation context, cleared and
/// holding nothing of an earlier function.
pub(crate) fn with_codegen<T, E>(
    compile: impl FnOnce(&mut Context) -> Result<T, E>,
) -> Result<T, E> {
    reuse(&CODEGEN, Context::new, Context::clear, compile)
}

/// Takes `slot`'s context (or a new one from `make`), readies it with
/// `prepare`, runs `f` and puts the context back if `f` succeeded.
fn reuse<C, T, E>(
    slot: &'static LocalKey<Cell<Option<Box<C>>>>,
    make: impl FnOnce() -> C,
    prepare: impl FnOnce(&mut C),
    f: impl FnOnce(&mut C) -> Result<T, E>,
) -> Result<T, E> {
    let mut context = slot.take().unwrap_or_else(|| Box::new(make()));
    prepare(&mut context);
    let result = f(&mut context);
    if result.is_ok() {
        slot.set(Some(context));
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Uses(u32);

    thread_local! {
        static SLOT: Cell<Option<Box<Uses>>> = const { Cell::new(None) };
    }

    fn use_once(fail: bool) -> Result<u32, u32> {
        reuse(
            &SLOT,
            Uses::default,
            |_| {},
            |c: &mut Uses| {
                c.0 += 1;
                if fail { Err(c.0) } else { Ok(c.0) }
            },
        )
    }

    #[test]
    fn a_context_is_reused_until_a_use_fails() {
        assert_eq!(use_once(false), Ok(1));
        assert_eq!(use_once(false), Ok(2), "the same context again");
        assert_eq!(use_once(true), Err(3));
        assert_eq!(
            use_once(false),
            Ok(1),
            "the failed use's context was dropped"
        );
    }

    #[test]
    fn the_codegen_context_starts_clear() {
        let _ = with_codegen(|c| {
            c.func.name = cranelift_codegen::ir::UserFuncName::user(0, 7);
            Ok::<_, ()>(())
        });
        let name = with_codegen(|c| Ok::<_, ()>(c.func.name.clone())).unwrap();
        assert_eq!(name, cranelift_codegen::ir::UserFuncName::default());
    }
}
