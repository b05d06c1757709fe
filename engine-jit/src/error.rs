//! Why compiling or loading a module fails. Each failure is a variant, so
//! callers can tell a time limit from a refused operator from a damaged
//! artifact without reading messages; the messages are the ones the CLI
//! always printed.

use crate::code_memory::CodeMemoryError;
pub use crate::module_info::ModuleInfoError;
use crate::translate::TranslateError;

/// Why no instruction set could be set up (host or `--target`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IsaError {
    #[error("cranelift flag {name}={value}: {message}")]
    Flag {
        name: &'static str,
        value: &'static str,
        message: String,
    },
    /// The host CPU is not one Cranelift supports.
    #[error("{0}")]
    Host(String),
    #[error("unknown target `{name}`: {message}")]
    UnknownTarget { name: String, message: String },
    #[error("cannot compile for `{name}`: {message}")]
    UnsupportedTarget { name: String, message: String },
    /// Cranelift refused the combination of flags.
    #[error("{0}")]
    Flags(String),
}

/// Why code and its layout tables do not fit together (a damaged or
/// foreign artifact, or code too large to lay out).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("code layout does not match the module")]
    Mismatch,
    #[error("code layout points outside the code")]
    OutsideCode,
    #[error("relocation outside the code")]
    RelocationOutside,
    #[error("relocation out of range")]
    RelocationRange,
    #[error("code too big")]
    TooBig,
    #[error("direct call to an imported function")]
    CallToImport,
}

/// Why a module could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error(transparent)]
    ModuleInfo(#[from] ModuleInfoError),
    /// The translator refused defined function `func` (an index into the
    /// whole function space).
    #[error("function {func}: {source}")]
    Translate { func: u32, source: TranslateError },
    /// Cranelift's code generator failed on a function.
    #[error("compiling {name}: {message}")]
    Codegen { name: String, message: String },
    /// Generated code needs a relocation the position-independent layout
    /// cannot patch.
    #[error("{name}: unsupported relocation {what}")]
    Relocation { name: String, what: String },
    /// Cranelift described a call site's handlers in a way the unwinder
    /// cannot use.
    #[error("{name}: unsupported exception table: {what}")]
    ExceptionTable { name: String, what: String },
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error(transparent)]
    CodeMemory(#[from] CodeMemoryError),
    /// The `--timeout` deadline passed before every function was compiled.
    #[error("time limit exceeded while compiling")]
    TimeLimit,
    #[error(transparent)]
    Isa(#[from] IsaError),
    /// The lazy JIT's code space could not be set up or is full.
    #[error(transparent)]
    Arena(#[from] crate::lazy::ArenaError),
    /// Cranelift panicked compiling function `func` on first call (a bug;
    /// the call traps instead of the process aborting).
    #[error("function {func}: the compiler panicked: {message}")]
    CompilerPanicked { func: u32, message: String },
    #[error("no defined function {0}")]
    NoSuchFunction(u32),
    #[error("cannot start a compiler thread: {0}")]
    CompilerThread(std::io::Error),
}

/// Why code already compiled (for example mapped from an artifact) could
/// not become a module.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    ModuleInfo(#[from] ModuleInfoError),
    #[error(transparent)]
    Layout(#[from] LayoutError),
}
