//! The one error type of the embedding API.

use wasmtier_core::{CallError, EngineKind, LinkError, LoadError, Trap, ValType};

/// Everything that can go wrong while embedding wasmtier.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes are not a valid module (the message names the byte offset).
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Compiling or instantiating failed: a missing or mistyped import, a
    /// resource limit, an engine failure.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The guest trapped (or exited, for WASI-style guests).
    #[error("wasm trap: {0}")]
    Trap(Trap),
    /// A call could not be made: a missing export, wrong arguments.
    #[error(transparent)]
    Call(CallError),
    /// This build of wasmtier does not contain the engine asked for, or
    /// it does not run on this host.
    #[error("the {0} engine is not available in this build on this host")]
    EngineUnavailable(EngineKind),
    /// An export has another signature than the Rust types asked for.
    #[error("`{name}` has type {actual}, not {expected}")]
    Signature {
        /// The export.
        name: String,
        /// The signature the Rust types describe, e.g. `(i32, i32) -> i32`.
        expected: String,
        /// The export's signature.
        actual: String,
    },
    /// A memory access outside the memory's current size.
    #[error("memory access of {len} bytes at offset {offset} is outside `{memory}` ({size} bytes)")]
    MemoryOutOfBounds {
        /// The memory export.
        memory: String,
        /// Where the access starts.
        offset: u64,
        /// How many bytes it covers.
        len: usize,
        /// The memory's current size in bytes.
        size: usize,
    },
    /// A host function was defined twice, or under a name the store
    /// refuses.
    #[error("cannot define `{module}::{name}`: {reason}")]
    Define {
        /// The import module name.
        module: String,
        /// The import field name.
        name: String,
        /// Why not.
        reason: LinkError,
    },
    /// A function's value could not be read as the Rust type asked for.
    #[error("`{name}` returned {got}, not {expected}")]
    ResultType {
        /// The export.
        name: String,
        /// The Rust side's type.
        expected: ValType,
        /// What came back.
        got: ValType,
    },
}

impl From<CallError> for Error {
    fn from(error: CallError) -> Self {
        match error {
            CallError::Trap(trap) => Self::Trap(trap),
            other => Self::Call(other),
        }
    }
}

impl From<Trap> for Error {
    fn from(trap: Trap) -> Self {
        Self::Trap(trap)
    }
}

impl Error {
    /// The trap, when the guest trapped.
    pub fn trap(&self) -> Option<&Trap> {
        match self {
            Self::Trap(trap) | Self::Link(LinkError::Trap(trap)) => Some(trap),
            _ => None,
        }
    }
}
