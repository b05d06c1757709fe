//! The 46 `wasi_snapshot_preview1` imports, as one table.
//!
//! Each row names a function of `wasmtime_wasi::p1::wasi_snapshot_preview1`,
//! whether wiggle generated it `async`, and its Wasm signature. The compiler
//! checks every row against wiggle's generated function: a wrong parameter
//! count or type, a wrong result, or a wrong `sync`/`async` marker does not
//! build.

use std::sync::LazyLock;

use wasmtier_core::{FuncType, HostFunc};
use wasmtime_wasi::p1::wasi_snapshot_preview1 as p1;

use crate::glue::{Param, Results, bad_arguments, invoke};
use crate::state::{drive, within_deadline};

/// `sync`: call directly, inside the runtime's context; `async`: drive the
/// future to completion on the state's current-thread runtime.
macro_rules! run {
    // A synchronous function does not wait on anything, so the deadline
    // cannot find it blocked.
    (sync, $runtime:ident, $deadline:ident, $call:expr) => {{
        let _ = $deadline;
        let _entered = $runtime.enter();
        $call
    }};
    (async, $runtime:ident, $deadline:ident, $call:expr) => {
        drive($runtime, within_deadline($deadline, $call))
    };
}

macro_rules! ret {
    () => {
        ()
    };
    ($ty:ty) => {
        $ty
    };
}

macro_rules! wasi_functions {
    ($( $mode:ident $name:ident ( $($arg:ident : $ty:ty),* ) $(-> $ret:ty)? ; )*) => {
        fn build() -> Vec<(&'static str, HostFunc)> {
            vec![$((
                stringify!($name),
                HostFunc::new(
                    FuncType::new(
                        [$(<$ty as Param>::TYPE),*],
                        <ret!($($ret)?) as Results>::TYPES.iter().copied(),
                    ),
                    |cx, args, results| {
                        const NAME: &str = stringify!($name);
                        let [$($arg),*] = args else {
                            return Err(bad_arguments(NAME));
                        };
                        $(let $arg = <$ty as Param>::from_val($arg)
                            .ok_or_else(|| bad_arguments(NAME))?;)*
                        invoke(NAME, cx, results, |state, memory| {
                            let deadline = state.deadline();
                            let Some(mut context) = state.lock() else {
                                return Err(wiggle::error::Error::new(crate::state::ContextGone));
                            };
                            let (ctx, runtime) = context.prepare();
                            let result: wiggle::error::Result<ret!($($ret)?)> = run!(
                                $mode,
                                runtime,
                                deadline,
                                p1::$name(ctx, memory $(, $arg)*)
                            );
                            result
                        })
                    },
                ),
            )),*]
        }
    };
}

wasi_functions! {
    // Arguments and environment.
    sync args_get(argv: i32, argv_buf: i32) -> i32;
    sync args_sizes_get(argc: i32, argv_buf_size: i32) -> i32;
    sync environ_get(environ: i32, environ_buf: i32) -> i32;
    sync environ_sizes_get(count: i32, buf_size: i32) -> i32;

    // Clocks and randomness.
    sync clock_res_get(id: i32, resolution: i32) -> i32;
    sync clock_time_get(id: i32, precision: i64, time: i32) -> i32;
    sync random_get(buf: i32, buf_len: i32) -> i32;

    // File descriptors.
    async fd_advise(fd: i32, offset: i64, len: i64, advice: i32) -> i32;
    sync fd_allocate(fd: i32, offset: i64, len: i64) -> i32;
    async fd_close(fd: i32) -> i32;
    async fd_datasync(fd: i32) -> i32;
    async fd_fdstat_get(fd: i32, stat: i32) -> i32;
    sync fd_fdstat_set_flags(fd: i32, flags: i32) -> i32;
    sync fd_fdstat_set_rights(fd: i32, base: i64, inheriting: i64) -> i32;
    async fd_filestat_get(fd: i32, stat: i32) -> i32;
    async fd_filestat_set_size(fd: i32, size: i64) -> i32;
    async fd_filestat_set_times(fd: i32, atim: i64, mtim: i64, flags: i32) -> i32;
    async fd_pread(fd: i32, iovs: i32, iovs_len: i32, offset: i64, nread: i32) -> i32;
    sync fd_prestat_get(fd: i32, prestat: i32) -> i32;
    sync fd_prestat_dir_name(fd: i32, path: i32, path_len: i32) -> i32;
    async fd_pwrite(fd: i32, iovs: i32, iovs_len: i32, offset: i64, nwritten: i32) -> i32;
    async fd_read(fd: i32, iovs: i32, iovs_len: i32, nread: i32) -> i32;
    async fd_readdir(fd: i32, buf: i32, buf_len: i32, cookie: i64, bufused: i32) -> i32;
    async fd_renumber(fd: i32, to: i32) -> i32;
    async fd_seek(fd: i32, offset: i64, whence: i32, newoffset: i32) -> i32;
    async fd_sync(fd: i32) -> i32;
    sync fd_tell(fd: i32, offset: i32) -> i32;
    async fd_write(fd: i32, iovs: i32, iovs_len: i32, nwritten: i32) -> i32;

    // Paths, relative to a directory fd.
    async path_create_directory(fd: i32, path: i32, path_len: i32) -> i32;
    async path_filestat_get(fd: i32, flags: i32, path: i32, path_len: i32, stat: i32) -> i32;
    async path_filestat_set_times(
        fd: i32, flags: i32, path: i32, path_len: i32, atim: i64, mtim: i64, fst_flags: i32
    ) -> i32;
    async path_link(
        old_fd: i32, old_flags: i32, old_path: i32, old_path_len: i32,
        new_fd: i32, new_path: i32, new_path_len: i32
    ) -> i32;
    async path_open(
        fd: i32, dirflags: i32, path: i32, path_len: i32, oflags: i32,
        rights_base: i64, rights_inheriting: i64, fdflags: i32, opened_fd: i32
    ) -> i32;
    async path_readlink(
        fd: i32, path: i32, path_len: i32, buf: i32, buf_len: i32, bufused: i32
    ) -> i32;
    async path_remove_directory(fd: i32, path: i32, path_len: i32) -> i32;
    async path_rename(
        fd: i32, old_path: i32, old_path_len: i32, new_fd: i32, new_path: i32, new_path_len: i32
    ) -> i32;
    async path_symlink(
        old_path: i32, old_path_len: i32, fd: i32, new_path: i32, new_path_len: i32
    ) -> i32;
    async path_unlink_file(fd: i32, path: i32, path_len: i32) -> i32;

    // Polling, process, scheduling, sockets.
    async poll_oneoff(subscriptions: i32, events: i32, nsubscriptions: i32, nevents: i32) -> i32;
    sync proc_exit(status: i32);
    sync proc_raise(signal: i32) -> i32;
    sync sched_yield() -> i32;
    sync sock_accept(fd: i32, flags: i32, opened_fd: i32) -> i32;
    sync sock_recv(
        fd: i32, ri_data: i32, ri_data_len: i32, ri_flags: i32, ro_datalen: i32, ro_flags: i32
    ) -> i32;
    sync sock_send(fd: i32, si_data: i32, si_data_len: i32, si_flags: i32, so_datalen: i32) -> i32;
    sync sock_shutdown(fd: i32, how: i32) -> i32;
}

static FUNCTIONS: LazyLock<Vec<(&'static str, HostFunc)>> = LazyLock::new(build);

/// Every preview1 function by name, in the table's order.
pub fn functions() -> impl ExactSizeIterator<Item = (&'static str, &'static HostFunc)> {
    FUNCTIONS.iter().map(|(name, func)| (*name, func))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use wasmtier_core::ValType::{I32, I64};

    use super::*;

    #[test]
    fn all_46_functions_once_each() {
        let names: HashSet<_> = functions().map(|(name, _)| name).collect();
        assert_eq!(functions().len(), 46);
        assert_eq!(names.len(), 46);
    }

    #[test]
    fn signatures_follow_the_witx_abi() {
        let ty = |name: &str| {
            functions()
                .find(|(n, _)| *n == name)
                .map(|(_, f)| f.ty.clone())
                .unwrap()
        };
        assert_eq!(ty("fd_write"), FuncType::new([I32; 4], [I32]));
        assert_eq!(ty("clock_time_get"), FuncType::new([I32, I64, I32], [I32]));
        assert_eq!(
            ty("path_open"),
            FuncType::new([I32, I32, I32, I32, I32, I64, I64, I32, I32], [I32])
        );
        assert_eq!(ty("proc_exit"), FuncType::new([I32], []));
        assert_eq!(ty("sched_yield"), FuncType::new([], [I32]));
    }
}
