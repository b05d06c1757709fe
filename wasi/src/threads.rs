//! wasi-threads: the `wasi::thread-spawn` import, which starts a new
//! instance of the program's module on a new OS thread, sharing its memory
//! and its WASI context.
//!
//! Each thread gets its own store (fuel, `--timeout`'s deadline and stack
//! limit hold per thread, as they do for the main one) in which the same
//! compiled module is instantiated with the program's shared memory; the
//! thread runs the module's `wasi_thread_start(thread_id, start_arg)`. A
//! thread that exits (`proc_exit`) or traps ends the whole program: the
//! embedder's `on_end` decides how (the CLI exits the process with that
//! status, as the main thread's exit would).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;

use wasmtier_core::{
    CallError, CompiledModule, Engine, FuncType, HostFunc, HostItem, LinkError, SharedMemory,
    Store, Trap, TrapKind, Val, ValType, ValidatedModule,
};

use crate::state::WasiState;

/// The import module of wasi-threads.
pub const THREADS_MODULE: &str = "wasi";
/// Its one function: `(start_arg: i32) -> thread id, or a negative errno`.
pub const THREAD_SPAWN: &str = "thread-spawn";
/// The export each new thread runs: `(thread_id: i32, start_arg: i32)`.
pub const THREAD_START: &str = "wasi_thread_start";
/// How many spawned threads may be running at once unless the embedder
/// says otherwise (the CLI's `--max-threads`).
pub const DEFAULT_MAX_THREADS: u32 = 64;
/// Thread ids are positive and below 2^29 (the wasi-threads ABI).
const MAX_THREAD_ID: u32 = 0x1FFF_FFFF;
/// `thread-spawn`'s failure: `-EAGAIN`, which wasi-libc's `pthread_create`
/// returns as `EAGAIN`.
const SPAWN_FAILED: i32 = -6;

/// Whether `module` spawns threads: it imports `wasi::thread-spawn`.
pub fn spawns_threads(module: &ValidatedModule) -> bool {
    module
        .imports()
        .iter()
        .any(|i| i.module == THREADS_MODULE && i.name == THREAD_SPAWN)
}

/// How a spawned thread ended the whole program.
#[derive(Debug)]
pub enum ThreadEnd {
    /// It called `proc_exit` with this status.
    Exit(i32),
    /// It trapped (or its start function was missing or of the wrong type).
    Trap(Trap),
}

/// What `thread-spawn` needs to start a thread of this program.
pub struct ThreadsConfig {
    pub engine: Arc<dyn Engine>,
    pub module: Arc<dyn CompiledModule>,
    /// The program's shared memory and the import (`module`, `name`) every
    /// instance receives it as.
    pub memory: SharedMemory,
    pub memory_import: (String, String),
    /// Cap on spawned threads running at once; a spawn beyond it fails
    /// with `EAGAIN`.
    pub max_threads: u32,
    /// Each spawned thread's native stack, in bytes (Wasm runs on it).
    pub stack_size: usize,
    /// Called on the ending thread when a spawned thread ends the program.
    pub on_end: Arc<dyn Fn(ThreadEnd) + Send + Sync>,
}

/// Starts threads for one program (shared by every thread's WASI state).
pub(crate) struct ThreadSpawner {
    config: ThreadsConfig,
    running: AtomicU32,
    next_id: AtomicU32,
}

impl WasiState {
    /// Lets the program spawn threads through `wasi::thread-spawn`
    /// (define it with [`define_thread_spawn`]).
    pub fn enable_threads(&mut self, config: ThreadsConfig) {
        self.threads = Some(Arc::new(ThreadSpawner {
            config,
            running: AtomicU32::new(0),
            next_id: AtomicU32::new(1),
        }));
    }
}

/// Defines `wasi::thread-spawn` in `store`; it finds the program's threads
/// configuration in the store's [`WasiState`].
pub fn define_thread_spawn(store: &mut dyn Store) -> Result<(), LinkError> {
    let spawn = HostFunc::new(
        FuncType::new([ValType::I32], [ValType::I32]),
        |cx, args, results| {
            let [Val::I32(start_arg)] = *args else {
                return Err(Trap::host(
                    "wasi::thread-spawn called with arguments of the wrong types",
                ));
            };
            let Some(state) = cx.state.downcast_mut::<WasiState>() else {
                return Err(Trap::host(
                    "wasi::thread-spawn called, but the store's host state is not a WasiState",
                ));
            };
            let Some(spawner) = state.threads.clone() else {
                return Err(Trap::host(
                    "wasi::thread-spawn called, but threads were not enabled for this program",
                ));
            };
            results[0] = Val::I32(spawner.spawn(start_arg, state.share()));
            Ok(())
        },
    );
    store.define(THREADS_MODULE, THREAD_SPAWN, HostItem::Func(spawn))
}

impl ThreadSpawner {
    /// Starts a thread running `wasi_thread_start(id, start_arg)`: its id
    /// once its instance is ready, or `-EAGAIN` if it cannot be started.
    fn spawn(self: Arc<Self>, start_arg: i32, wasi: WasiState) -> i32 {
        let running = self.running.fetch_add(1, Ordering::AcqRel);
        if running >= self.config.max_threads {
            self.running.fetch_sub(1, Ordering::AcqRel);
            return SPAWN_FAILED;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if id > MAX_THREAD_ID {
            self.running.fetch_sub(1, Ordering::AcqRel);
            return SPAWN_FAILED;
        }
        let (ready, is_ready) = mpsc::sync_channel(1);
        let spawner = self.clone();
        let started = std::thread::Builder::new()
            .name(format!("wasm-thread-{id}"))
            .stack_size(self.config.stack_size)
            .spawn(move || spawner.run(id as i32, start_arg, wasi, ready));
        let instantiated = started.is_ok() && is_ready.recv().unwrap_or(false);
        if instantiated {
            id as i32
        } else {
            if started.is_err() {
                self.running.fetch_sub(1, Ordering::AcqRel);
            }
            SPAWN_FAILED
        }
    }

    /// The new thread: instantiate (telling the spawner whether that
    /// worked), then run the start function.
    fn run(&self, id: i32, start_arg: i32, wasi: WasiState, ready: mpsc::SyncSender<bool>) {
        let config = &self.config;
        let mut store = config.engine.new_store(Box::new(wasi));
        let (module, name) = &config.memory_import;
        let instance = crate::define_imports(store.as_mut())
            .and_then(|()| define_thread_spawn(store.as_mut()))
            .and_then(|()| {
                store.define(module, name, HostItem::SharedMemory(config.memory.clone()))
            })
            .and_then(|()| store.instantiate(config.module.as_ref()));
        let _ = ready.send(instance.is_ok());
        let Ok(instance) = instance else {
            self.running.fetch_sub(1, Ordering::AcqRel);
            return;
        };
        let outcome = store.call(instance, THREAD_START, &[Val::I32(id), Val::I32(start_arg)]);
        self.running.fetch_sub(1, Ordering::AcqRel);
        let end = match outcome {
            Ok(_) => return,
            Err(CallError::Trap(trap)) => match trap.kind {
                TrapKind::Exit(status) => ThreadEnd::Exit(status),
                _ => ThreadEnd::Trap(trap),
            },
            Err(other) => ThreadEnd::Trap(Trap::host(format!("thread {id}: {other}"))),
        };
        (config.on_end)(end);
    }
}
