//! Embed wasmtier in a Rust program.
//!
//! The story of an embedding, in the order the types come up:
//!
//! 1. An [`Engine`] picks the execution tier: the interpreter, the JIT or
//!    the AOT tier ([`EngineKind`]), with limits from an [`EngineConfig`].
//! 2. A [`Module`] is a validated and compiled `.wasm` (or `.wat`) for that
//!    engine.
//! 3. A [`Store<T>`] holds instances, their memories, and your own state
//!    `T`, which host functions reach through their [`Caller`].
//! 4. [`Store::func_wrap`] defines a host function from a typed closure;
//!    [`Store::instantiate`] links a module against those definitions.
//! 5. An [`Instance`] hands out typed exports: [`TypedFunc`]s to call and
//!    [`Memory`]s to read and write.
//!
//! ```
//! use wasmtier::{Caller, Engine, EngineKind, Module, Store};
//!
//! # fn main() -> Result<(), wasmtier::Error> {
//! let engine = Engine::new(EngineKind::Interp)?;
//! let module = Module::new(
//!     &engine,
//!     r#"(module
//!          (import "host" "double" (func $double (param i32) (result i32)))
//!          (func (export "quadruple") (param i32) (result i32)
//!            (call $double (call $double (local.get 0)))))"#,
//! )?;
//! // The store's state counts host calls.
//! let mut store = Store::new(&engine, 0u32);
//! store.func_wrap("host", "double", |mut caller: Caller<'_, u32>, x: i32| {
//!     *caller.data_mut() += 1;
//!     x * 2
//! })?;
//! let instance = store.instantiate(&module)?;
//! let quadruple = instance.typed_func::<i32, i32, _>(&store, "quadruple")?;
//! assert_eq!(quadruple.call(&mut store, 5)?, 20);
//! assert_eq!(*store.data(), 2);
//! # Ok(())
//! # }
//! ```
//!
//! A guest that traps returns [`Error::Trap`]; nothing in this API panics
//! on a guest's behaviour or on bad input.
//!
//! The interpreter works around the known wasmi bug that let a guest read
//! memory the host freed, whatever the allocator. For a bug of that kind not
//! yet known, install [`ZeroingAllocator`] as the global allocator (as the
//! `wasmtier` binary does) when running untrusted guests on the
//! interpreter.

#![warn(missing_docs)]

mod error;
mod func;
mod memory;

use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtier_core::{CompiledModule, InstanceId, ValidatedModule};

pub use error::Error;
pub use func::{Caller, HostResult, IntoHostFunc, TypedFunc, WasmParams, WasmResults, WasmTy};
pub use memory::Memory;
pub use wasmtier_core::{
    EngineConfig, EngineKind, Features, FuncType, Trap, TrapCode, Val, ValType,
};
pub use wasmtier_engines::interp::ZeroingAllocator;

/// An execution tier with its configuration. Cheap to clone; modules
/// compiled by one engine run in the stores of the same engine.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<dyn wasmtier_core::Engine>,
}

impl Engine {
    /// The engine of `kind` with the default configuration (no limits),
    /// enabling the standardized proposals it runs, as `wasmtier run` does.
    pub fn new(kind: EngineKind) -> Result<Self, Error> {
        let info = wasmtier_engines::get(kind).ok_or(Error::EngineUnavailable(kind))?;
        let config = EngineConfig {
            features: wasmtier_core::Features::finished().intersect(info.features),
            ..EngineConfig::default()
        };
        Self::with_config(kind, config)
    }

    /// The engine of `kind` with `config`'s limits and features.
    pub fn with_config(kind: EngineKind, config: EngineConfig) -> Result<Self, Error> {
        let info = wasmtier_engines::get(kind).ok_or(Error::EngineUnavailable(kind))?;
        Ok(Self {
            inner: Arc::from(info.create(config)),
        })
    }

    /// The engines this build has for this host.
    pub fn available() -> &'static [EngineKind] {
        static KINDS: std::sync::OnceLock<Vec<EngineKind>> = std::sync::OnceLock::new();
        KINDS.get_or_init(|| wasmtier_engines::ENGINES.iter().map(|e| e.kind).collect())
    }

    /// Which tier this is.
    pub fn kind(&self) -> EngineKind {
        self.inner.kind()
    }

    /// The configuration it was created with.
    pub fn config(&self) -> &EngineConfig {
        self.inner.config()
    }

    fn id(&self) -> usize {
        Arc::as_ptr(&self.inner).cast::<()>() as usize
    }
}

impl Default for Engine {
    /// The JIT where this host has it, the interpreter elsewhere.
    fn default() -> Self {
        let kind = if Self::available().contains(&EngineKind::Jit) {
            EngineKind::Jit
        } else {
            EngineKind::Interp
        };
        Self::new(kind).unwrap_or_else(|_| {
            Self::new(EngineKind::Interp).expect("the interpreter is in every build")
        })
    }
}

/// A module validated and compiled for one [`Engine`].
#[derive(Clone)]
pub struct Module {
    compiled: Arc<dyn CompiledModule>,
    engine: usize,
}

impl Module {
    /// Validates and compiles a binary module, or a module in the text
    /// format, with the engine's features.
    pub fn new(engine: &Engine, wasm: impl AsRef<[u8]>) -> Result<Self, Error> {
        let module = ValidatedModule::from_bytes_or_text(wasm.as_ref(), engine.config().features)?;
        let compiled = engine.inner.compile(Arc::new(module))?;
        Ok(Self {
            compiled,
            engine: engine.id(),
        })
    }

    /// The names of the module's exports, in the order it declares them.
    pub fn exports(&self) -> impl Iterator<Item = &str> {
        self.compiled
            .module()
            .exports()
            .iter()
            .map(|e| e.name.as_str())
    }

    /// The `(module, name)` of each import, in order.
    pub fn imports(&self) -> impl Iterator<Item = (&str, &str)> {
        self.compiled
            .module()
            .imports()
            .iter()
            .map(|i| (i.module.as_str(), i.name.as_str()))
    }
}

/// Instances, their memories and tables, and the embedder's state `T`.
pub struct Store<T> {
    inner: Box<dyn wasmtier_core::Store>,
    engine: usize,
    id: u64,
    _data: PhantomData<fn() -> T>,
}

/// Tells stores apart, so an [`Instance`] is only used with its own.
static NEXT_STORE: AtomicU64 = AtomicU64::new(0);

impl<T: Send + 'static> Store<T> {
    /// A store of `engine`'s instances, holding `data` for host functions.
    pub fn new(engine: &Engine, data: T) -> Self {
        Self {
            inner: engine.inner.new_store(Box::new(data)),
            engine: engine.id(),
            id: NEXT_STORE.fetch_add(1, Ordering::Relaxed),
            _data: PhantomData,
        }
    }

    /// The state given to [`Store::new`].
    pub fn data(&mut self) -> &mut T {
        self.inner
            .state_mut()
            .downcast_mut()
            .expect("a store's state is the `T` it was created with")
    }

    /// Defines `module::name` for modules to import: a host function from
    /// a closure taking a [`Caller`] and up to six Wasm values (`i32`,
    /// `i64`, `f32`, `f64`), returning `()`, a value, a tuple of values, or
    /// a `Result` of those with a [`Trap`] to stop the guest.
    pub fn func_wrap<Params, Results>(
        &mut self,
        module: &str,
        name: &str,
        func: impl IntoHostFunc<T, Params, Results>,
    ) -> Result<(), Error> {
        self.inner
            .define(module, name, func.into_host_item())
            .map_err(|reason| Error::Define {
                module: module.to_string(),
                name: name.to_string(),
                reason,
            })
    }

    /// Links `module` against the host functions defined so far, runs its
    /// start function, and then its `_initialize` export if it has one
    /// (how reactor modules built by C and Rust toolchains set
    /// themselves up).
    pub fn instantiate(&mut self, module: &Module) -> Result<Instance, Error> {
        if module.engine != self.engine {
            return Err(Error::Link(wasmtier_core::LinkError::Engine(
                "the module was compiled by another engine than this store's".into(),
            )));
        }
        let id = self.inner.instantiate(module.compiled.as_ref())?;
        let instance = Instance { id, store: self.id };
        if module.exports().any(|e| e == "_initialize") {
            instance
                .typed_func::<(), (), T>(self, "_initialize")?
                .call(self, ())?;
        }
        Ok(instance)
    }
}

/// An instantiated module in a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instance {
    id: InstanceId,
    store: u64,
}

impl Instance {
    fn check_store<T>(&self, store: &Store<T>) -> Result<(), Error> {
        if self.store == store.id {
            Ok(())
        } else {
            Err(Error::Link(wasmtier_core::LinkError::Engine(
                "the instance belongs to another store".into(),
            )))
        }
    }

    /// The exported function `name`, checked to have the signature
    /// `Params -> Results` (e.g. `(i32, i32)` to `i64`).
    pub fn typed_func<Params: WasmParams, Results: WasmResults, T>(
        &self,
        store: &Store<T>,
        name: &str,
    ) -> Result<TypedFunc<Params, Results>, Error> {
        self.check_store(store)?;
        let ty = store.inner.func_type(self.id, name)?;
        TypedFunc::new(self.id, self.store, name, &ty)
    }

    /// Calls the exported function `name` with untyped values.
    pub fn call<T>(
        &self,
        store: &mut Store<T>,
        name: &str,
        args: &[Val],
    ) -> Result<Vec<Val>, Error> {
        self.check_store(store)?;
        Ok(store.inner.call(self.id, name, args)?)
    }

    /// The exported memory `name`.
    pub fn memory<T>(&self, store: &mut Store<T>, name: &str) -> Result<Memory, Error> {
        self.check_store(store)?;
        store.inner.with_memory(self.id, name, &mut |_| {})?;
        Ok(Memory::new(self.id, self.store, name))
    }

    /// The current value of the exported global `name`.
    pub fn global<T>(&self, store: &mut Store<T>, name: &str) -> Result<Val, Error> {
        self.check_store(store)?;
        Ok(store.inner.global(self.id, name)?)
    }
}
