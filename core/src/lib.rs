//! The engine-neutral heart of wasmtier.
//!
//! A module's life starts in [`ValidatedModule::new`], the one loader: it
//! validates the bytes once and records what every engine needs. An
//! [`Engine`] then compiles it, a [`Store`] instantiates it with imports
//! resolved by name, and callers drive exports with [`Val`]s. Everything an
//! engine reports back — traps, exits, link failures — uses the types of this
//! crate, so the CLI, the spec harness and the benchmarks never see an
//! engine's own vocabulary.

pub mod canon;
pub mod engine;
pub mod error;
pub mod features;
pub mod host;
pub mod input;
pub mod limits;
pub mod linker;
pub mod module;
pub mod shared;
pub mod trap;
pub mod types;

pub use engine::{
    BaselineCompiler, Compilation, CompileProgress, CompiledModule, Engine, EngineConfig,
    EngineKind, InstanceId, MAX_GC_HEAP, Store, TierCounts, check_arguments,
};
pub use error::{CallError, LinkError, LoadError, panic_message};
pub use features::Features;
pub use host::{HostContext, HostFn, HostFunc, HostItem, HostMemory, SharedMemory};
pub use limits::LoadLimits;
pub use linker::Linker;
pub use module::{
    DataSegmentInfo, ElementSegmentInfo, Export, ExternKind, Import, PerFunction, ValidatedModule,
};
pub use shared::{SharedBytes, U32Rows};
pub use trap::{Frame, Trap, TrapCode, TrapKind};
pub use types::{
    AnyRef, ExternType, FuncRefHandle, FuncSig, FuncType, GlobalType, HeapType, MemoryType, RefTop,
    RefType, TableType, TypeId, Val, ValType,
};
