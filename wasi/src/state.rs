//! The per-store WASI state: wasmtime-wasi's preview1 context plus the small
//! tokio runtime its `async` calls run on.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use thiserror::Error;
use tokio::runtime::Runtime;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p1::wasi_snapshot_preview1::WasiSnapshotPreview1;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::config::WasiConfig;

/// How many bytes one WASI call may copy between guest and host (strings,
/// iovecs, …). The same default wasmtime uses for its stores: 128 MiB.
pub const HOSTCALL_FUEL: usize = 128 << 20;

/// A [`WasiConfig`] that cannot be granted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WasiError {
    #[error("--dir `{}`: no such directory", .0.display())]
    NoSuchDirectory(PathBuf),
    #[error("--dir `{}`: not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("--dir `{}`: {message}", host.display())]
    Preopen { host: PathBuf, message: String },
    #[error("program argument {index} contains a NUL byte")]
    NulInArgument { index: usize },
    #[error("environment variable name `{0}` is empty or contains `=` or a NUL byte")]
    InvalidEnvName(String),
    #[error("environment variable `{0}` has a NUL byte in its value")]
    NulInEnvValue(String),
    #[error("could not start the WASI I/O runtime: {0}")]
    Runtime(String),
}

/// Everything the 46 preview1 functions work on. An engine's store holds it
/// as its host state; [`crate::define_imports`] finds it there. The threads
/// of a wasi-threads program each have a store holding a share of the same
/// context ([`WasiState::share`]).
pub struct WasiState {
    /// The program's context while it has one thread; no lock is taken.
    own: Option<Box<Context>>,
    /// The context once a second thread shares it (`own` is then `None`).
    shared: Option<Arc<Mutex<Context>>>,
    deadline: Option<Instant>,
    /// Where `thread-spawn` starts threads, in a wasi-threads program.
    pub(crate) threads: Option<Arc<crate::threads::ThreadSpawner>>,
}

/// The context for one call: the program's own, or its share, locked.
pub(crate) enum ContextGuard<'a> {
    Owned(&'a mut Context),
    Shared(MutexGuard<'a, Context>),
}

impl std::ops::Deref for ContextGuard<'_> {
    type Target = Context;
    fn deref(&self) -> &Context {
        match self {
            Self::Owned(context) => context,
            Self::Shared(guard) => guard,
        }
    }
}

impl std::ops::DerefMut for ContextGuard<'_> {
    fn deref_mut(&mut self) -> &mut Context {
        match self {
            Self::Owned(context) => context,
            Self::Shared(guard) => guard,
        }
    }
}

/// The preview1 context and the runtime its `async` calls run on: one per
/// program.
pub(crate) struct Context {
    // Declared first so it drops before the runtime its I/O may refer to.
    ctx: WasiP1Ctx,
    /// A current-thread runtime: `async` WASI calls are driven on the calling
    /// thread, and wasmtime-wasi's global multi-thread runtime (with its
    /// worker threads) is never started.
    runtime: Runtime,
}

impl fmt::Debug for WasiState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WasiState").finish_non_exhaustive()
    }
}

impl WasiState {
    pub fn new(config: &WasiConfig) -> Result<Self, WasiError> {
        check_args_and_env(config)?;
        let mut builder = WasiCtxBuilder::new();
        // Must come before the preopens: each directory records the setting
        // when it is opened. File I/O then runs inline on this thread instead
        // of hopping to tokio's blocking pool (~40x faster for a small write).
        // Not under a deadline: a call blocked inline (a `poll_oneoff` sleep
        // becomes `std::thread::sleep`, a read of a FIFO waits) could not
        // be abandoned when the deadline passes, while a call waiting on the
        // pool can (`within_deadline`).
        builder.allow_blocking_current_thread(config.deadline.is_none());
        builder.args(&config.args);
        builder.envs(&config.env);
        if config.inherit_stdio {
            builder.inherit_stdio();
        }
        for preopen in &config.preopens {
            let host = &preopen.host;
            match std::fs::metadata(host) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => return Err(WasiError::NotADirectory(host.clone())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(WasiError::NoSuchDirectory(host.clone()));
                }
                Err(e) => {
                    return Err(WasiError::Preopen {
                        host: host.clone(),
                        message: e.to_string(),
                    });
                }
            }
            let perms = if preopen.read_only {
                FsPerms::ReadOnly
            } else {
                FsPerms::ReadWrite
            };
            builder
                .preopened_dir(host, &preopen.guest, perms)
                .map_err(|e| WasiError::Preopen {
                    host: host.clone(),
                    message: format!("{e:#}"),
                })?;
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| WasiError::Runtime(e.to_string()))?;
        Ok(Self {
            own: Some(Box::new(Context {
                ctx: builder.build_p1(),
                runtime,
            })),
            shared: None,
            deadline: config.deadline,
            threads: None,
        })
    }

    /// Another handle on the same context (open files, arguments,
    /// environment), for the store of another thread of the program. From
    /// then on, every WASI call of the program takes the context's lock.
    pub fn share(&mut self) -> Self {
        if let Some(own) = self.own.take() {
            self.shared = Some(Arc::new(Mutex::new(*own)));
        }
        Self {
            own: None,
            shared: self.shared.clone(),
            deadline: self.deadline,
            threads: self.threads.clone(),
        }
    }

    /// The context, for one call: the program's own, or its share locked.
    /// A call that panicked inside wasmtime-wasi leaves a shared one
    /// usable: its state is a table of descriptors, each change to which
    /// is complete or not made.
    pub(crate) fn lock(&mut self) -> Option<ContextGuard<'_>> {
        if let Some(own) = &mut self.own {
            return Some(ContextGuard::Owned(own));
        }
        let shared = self.shared.as_ref()?;
        Some(ContextGuard::Shared(
            shared.lock().unwrap_or_else(|e| e.into_inner()),
        ))
    }

    /// When blocking calls must give up (`WasiConfig::deadline`).
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }
}

impl Context {
    /// The context and runtime for one call, with the call's hostcall fuel
    /// set: `WasiP1Ctx` starts with none, and without fuel every string or
    /// iovec copy fails with `ENOMEM`.
    ///
    /// Callers run synchronous functions inside `runtime.enter()` (so any
    /// tokio use finds this runtime rather than starting the global one) and
    /// `async` ones with `runtime.block_on`. Not wasmtime-wasi's `in_tokio`:
    /// with a runtime entered it uses `Handle::block_on`, which cannot drive a
    /// current-thread runtime's timers, so a `poll_oneoff` sleep would hang.
    pub(crate) fn prepare(&mut self) -> (&mut WasiP1Ctx, &Runtime) {
        self.ctx.set_hostcall_fuel(HOSTCALL_FUEL);
        (&mut self.ctx, &self.runtime)
    }
}

/// A state without a context: cannot be made through this crate's API
/// (`share` always leaves one), reported rather than assumed away.
#[derive(Debug, Error)]
#[error("the store's WASI state has no context")]
pub(crate) struct ContextGone;

/// A WASI call was still blocked when the run's deadline passed.
#[derive(Debug, Error)]
#[error("the run's time limit passed during a WASI call")]
pub(crate) struct DeadlinePassed;

/// Runs an `async` WASI call to completion on `runtime`.
///
/// Most calls never wait (file I/O runs inline, see `WasiState::new`), so
/// the future is first polled once, directly, inside the runtime's context:
/// `block_on` costs more than the call itself for a small read or write
/// (measured: tokio's scheduler entry and exit were ~9 % of the `fileio`
/// benchmark). Only a future that is still pending (a sleep, a wait for
/// input) is handed to `block_on`, which keeps polling the same future with
/// a real waker and drives the timers.
pub(crate) fn drive<F: Future>(runtime: &Runtime, call: F) -> F::Output {
    let mut call = std::pin::pin!(call);
    {
        let _entered = runtime.enter();
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        if let std::task::Poll::Ready(output) = call.as_mut().poll(&mut cx) {
            return output;
        }
    }
    runtime.block_on(call)
}

/// Drives `call` to completion, or until `deadline`.
pub(crate) async fn within_deadline<T>(
    deadline: Option<Instant>,
    call: impl Future<Output = wiggle::error::Result<T>>,
) -> wiggle::error::Result<T> {
    match deadline {
        None => call.await,
        Some(at) => match tokio::time::timeout_at(at.into(), call).await {
            Ok(result) => result,
            Err(_) => Err(wiggle::error::Error::new(DeadlinePassed)),
        },
    }
}

fn check_args_and_env(config: &WasiConfig) -> Result<(), WasiError> {
    if let Some(index) = config.args.iter().position(|a| a.contains('\0')) {
        return Err(WasiError::NulInArgument { index });
    }
    for (key, value) in &config.env {
        if key.is_empty() || key.contains(['=', '\0']) {
            return Err(WasiError::InvalidEnvName(key.clone()));
        }
        if value.contains('\0') {
            return Err(WasiError::NulInEnvValue(key.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Preopen;

    #[test]
    fn state_can_live_in_a_store() {
        fn assert_send<T: Send + 'static>() {}
        assert_send::<WasiState>();
    }

    #[test]
    fn missing_preopen_is_reported_with_its_path() {
        let config = WasiConfig::new().preopen(Preopen::new("/no/such/dir/wasmtier", "/"));
        let err = WasiState::new(&config).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--dir `/no/such/dir/wasmtier`: no such directory"
        );
    }

    #[test]
    fn preopen_of_a_file_is_refused() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let config = WasiConfig::new().preopen(Preopen::new(file.path(), "/"));
        let err = WasiState::new(&config).unwrap_err();
        assert_eq!(err, WasiError::NotADirectory(file.path().to_path_buf()));
        assert!(err.to_string().ends_with("`: not a directory"));
    }

    #[test]
    fn malformed_args_and_env_are_refused() {
        let nul_arg = WasiConfig::new().args(["ok", "b\0ad"]);
        assert_eq!(
            WasiState::new(&nul_arg).unwrap_err(),
            WasiError::NulInArgument { index: 1 }
        );
        for key in ["", "A=B", "A\0"] {
            let config = WasiConfig::new().env(key, "v");
            assert_eq!(
                WasiState::new(&config).unwrap_err(),
                WasiError::InvalidEnvName(key.into())
            );
        }
        let nul_value = WasiConfig::new().env("K", "v\0");
        assert_eq!(
            WasiState::new(&nul_value).unwrap_err(),
            WasiError::NulInEnvValue("K".into())
        );
    }

    #[test]
    fn valid_config_builds() {
        let dir = tempfile::tempdir().unwrap();
        let config = WasiConfig::new()
            .arg("prog")
            .env("K", "=v")
            .preopen(Preopen::new(dir.path(), "/sandbox").read_only())
            .inherit_stdio(false);
        WasiState::new(&config).unwrap();
    }
}
