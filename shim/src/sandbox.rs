//! What the shim runs inside the container: the module from the image,
//! through the engine the container's environment names.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use containerd_shim_wasm::sandbox::Sandbox;
use containerd_shim_wasm::sandbox::context::{RuntimeContext, Source};
use containerd_shim_wasm::shim::{Shim, Version, version};
use wasmtier_core::input::FileBytes;
use wasmtier_core::{CallError, EngineConfig, EngineKind, Features, TrapKind, ValidatedModule};
use wasmtier_wasi::{Preopen, WasiConfig, WasiState};

/// The container variable that picks the engine (`interp`, `jit`, `aot`);
/// it is the shim's, not passed on to the guest.
pub const ENGINE_VARIABLE: &str = "WASMTIER_ENGINE";

/// The exit status of a container whose module trapped, as `wasmtier run`.
const TRAP_EXIT_STATUS: i32 = 134;

pub struct WasmtierShim;

impl Shim for WasmtierShim {
    fn name() -> &'static str {
        "wasmtier"
    }

    fn version() -> Version {
        version!()
    }

    type Sandbox = WasmtierSandbox;
}

#[derive(Default)]
pub struct WasmtierSandbox;

impl Sandbox for WasmtierSandbox {
    async fn run_wasi(&self, ctx: &impl RuntimeContext) -> Result<i32> {
        let entrypoint = ctx.entrypoint();
        let module = match &entrypoint.source {
            // Bounded, and judged by its first bytes: an image whose
            // entrypoint is `/dev/zero` gets an error, not an endless read
            // into the container's memory. (Artifacts never reach here:
            // runwasi only hands the sandbox modules.)
            Source::File(path) => wasmtier_core::input::read_module_file(path, |_| false)
                .context("cannot read the container's module")?,
            Source::Oci(_) => entrypoint.source.as_bytes()?.into_owned().into(),
        };
        let request = Request {
            module,
            func: entrypoint.func.clone(),
            args: ctx.args().to_vec(),
            envs: ctx.envs().to_vec(),
        };
        // The guest runs on a thread of its own: the WASI layer drives its
        // calls on a runtime of its own, which tokio refuses to start on a
        // thread already running the shim's.
        let outcome = std::thread::scope(|scope| {
            scope
                .spawn(|| request.run())
                .join()
                .unwrap_or_else(|_| bail!("the guest's thread panicked"))
        });
        // runwasi logs a failure and ends the container with 137; the
        // message belongs on the container's stderr too, where `ctr run`
        // and `kubectl logs` show it.
        if let Err(error) = &outcome {
            eprintln!("error: {error:#}");
        }
        outcome
    }
}

/// One container's module and how to run it.
struct Request {
    module: FileBytes,
    func: String,
    args: Vec<String>,
    envs: Vec<String>,
}

impl Request {
    /// Runs the module; its exit status.
    fn run(self) -> Result<i32> {
        let mut engine_name = None;
        let mut guest_env = Vec::new();
        for entry in &self.envs {
            let (name, value) = entry.split_once('=').unwrap_or((entry, ""));
            if name == ENGINE_VARIABLE {
                engine_name = Some(value.to_string());
            } else {
                guest_env.push((name.to_string(), value.to_string()));
            }
        }
        let info = match &engine_name {
            Some(name) => wasmtier_engines::find(name).with_context(|| {
                format!(
                    "{ENGINE_VARIABLE}={name}: no such engine (this shim has: {})",
                    wasmtier_engines::names().join(", ")
                )
            })?,
            None => wasmtier_engines::get(wasmtier_engines::DEFAULT)
                .context("the shim was built without its default engine")?,
        };
        let features = Features::finished().intersect(info.features);
        let config = EngineConfig {
            features,
            ..EngineConfig::default()
        };
        // An image's bytes are a module or refused: precompiled code in an
        // image is not trusted (as `run` refuses it without
        // --allow-precompiled); native code comes only from the shim's own
        // cache.
        let binary = ValidatedModule::binary_of(&self.module)
            .context("the container's module is not valid WebAssembly")?;
        let (engine, compiled) = match info.kind {
            EngineKind::Aot => crate::cache::aot_through_cache(config, &binary)?,
            _ => {
                let engine = info.create(config);
                let module = ValidatedModule::new(&binary, features)
                    .context("the container's module is not valid WebAssembly")?;
                let compiled = engine.compile(Arc::new(module))?;
                (engine, compiled)
            }
        };
        if wasmtier_wasi::spawns_threads(compiled.module()) {
            bail!("the module spawns threads (wasi-threads), which the shim does not run yet");
        }
        let mut config = WasiConfig::new()
            .args(self.args.iter().cloned())
            .preopen(Preopen::new("/", "/"))
            .inherit_stdio(true);
        for (name, value) in guest_env {
            config = config.env(name, value);
        }
        let wasi = WasiState::new(&config)?;
        let mut store = engine.new_store(Box::new(wasi));
        wasmtier_wasi::define_imports(store.as_mut())?;
        let instance = store
            .instantiate(compiled.as_ref())
            .context("cannot instantiate the module")?;
        match store.call(instance, &self.func, &[]) {
            Ok(_) => Ok(0),
            Err(CallError::Trap(trap)) => Ok(match trap.kind {
                TrapKind::Exit(status) => status,
                _ => {
                    eprintln!("error: {trap}");
                    TRAP_EXIT_STATUS
                }
            }),
            Err(other) => Err(other).with_context(|| format!("cannot call `{}`", self.func)),
        }
    }
}
