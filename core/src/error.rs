//! Typed errors of the loader and the engine boundary.

use crate::trap::Trap;
use crate::types::{ExternType, ValType};
use thiserror::Error;

/// A module that could not be decoded or validated.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum LoadError {
    /// The bytes are not a valid module; `offset` is where the problem is.
    #[error("invalid module at byte offset {offset:#x}: {message}")]
    Invalid { offset: usize, message: String },
    /// The module uses proposals that were not enabled for this load: it is
    /// valid with them, and `proposals` names them.
    #[error(
        "module uses the {} proposal{}, not enabled here (at byte offset {offset:#x}: {message})",
        proposals.join(", "),
        if proposals.len() == 1 { "" } else { "s" }
    )]
    NeedsProposals {
        offset: usize,
        message: String,
        proposals: Vec<&'static str>,
    },
    /// The module is larger than a [`LoadLimits`](crate::LoadLimits) cap
    /// allows; `offset` is where the loader noticed.
    #[error("module refused at byte offset {offset:#x}: {message}")]
    LimitExceeded { offset: usize, message: String },
    /// WebAssembly text that does not parse.
    #[error("invalid WebAssembly text: {0}")]
    Text(String),
    /// A component or another kind of binary we do not run; `offset` is
    /// where the header says so.
    #[error("unsupported binary at byte offset {offset:#x}: {message}")]
    Unsupported { offset: usize, message: String },
}

impl LoadError {
    pub fn offset(&self) -> Option<usize> {
        match self {
            Self::Invalid { offset, .. }
            | Self::NeedsProposals { offset, .. }
            | Self::LimitExceeded { offset, .. }
            | Self::Unsupported { offset, .. } => Some(*offset),
            Self::Text(_) => None,
        }
    }

    /// The message without its offset prefix (what spec scripts compare).
    pub fn message(&self) -> &str {
        match self {
            Self::Invalid { message, .. }
            | Self::NeedsProposals { message, .. }
            | Self::LimitExceeded { message, .. }
            | Self::Unsupported { message, .. }
            | Self::Text(message) => message,
        }
    }
}

/// The message a caught panic carried (`panic!` with a literal or a
/// formatted string), if it was text.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
}

impl From<wasmparser::BinaryReaderError> for LoadError {
    fn from(err: wasmparser::BinaryReaderError) -> Self {
        Self::Invalid {
            offset: err.offset(),
            message: err.message().to_string(),
        }
    }
}

/// Instantiation failed before or while running the module's initializers.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum LinkError {
    #[error("unknown import `{module}::{name}`")]
    UnknownImport { module: String, name: String },
    #[error(
        "incompatible import type for `{module}::{name}`: expected {expected:?}, found {found:?}"
    )]
    IncompatibleImportType {
        module: String,
        name: String,
        expected: Box<ExternType>,
        found: Box<ExternType>,
    },
    /// A limit (`--max-memory`, table cap, …) refused the module's initial sizes.
    #[error("resource limit exceeded: {0}")]
    ResourceLimit(String),
    /// A data or element segment, or the start function, trapped.
    #[error("instantiation trapped: {0}")]
    Trap(Trap),
    /// The engine cannot run this module (an unsupported feature, say).
    #[error("{0}")]
    Engine(String),
    /// Compiling took the whole `--timeout` budget ([`EngineConfig::timeout`]).
    ///
    /// [`EngineConfig::timeout`]: crate::EngineConfig::timeout
    #[error("interrupted: time limit exceeded while compiling")]
    CompileTimeLimit,
}

/// A call into an instance failed.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum CallError {
    #[error("no export named `{0}`")]
    NoSuchExport(String),
    #[error("export `{name}` is a {kind}, not a {wanted}")]
    WrongExportKind {
        name: String,
        kind: &'static str,
        wanted: &'static str,
    },
    #[error("`{name}` expects {expected} argument(s), got {got}")]
    ArgumentCount {
        name: String,
        expected: usize,
        got: usize,
    },
    #[error("argument {index} of `{name}` must be {expected}, got {got}")]
    ArgumentType {
        name: String,
        index: usize,
        expected: ValType,
        got: ValType,
    },
    #[error("{0}")]
    Trap(Trap),
}

impl From<Trap> for CallError {
    fn from(trap: Trap) -> Self {
        Self::Trap(trap)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Features, ValidatedModule};

    #[test]
    fn a_component_is_refused_naming_the_offset_of_its_layer_field() {
        let component = b"\0asm\x0d\0\x01\0";
        let err = ValidatedModule::new(component, Features::default()).unwrap_err();
        assert_eq!(err.offset(), Some(4));
        assert_eq!(
            err.to_string(),
            "unsupported binary at byte offset 0x4: this is a component; wasmtier runs core modules"
        );
    }
}
