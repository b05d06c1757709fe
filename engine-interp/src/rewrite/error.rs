//! Why preparing a module for wasmi failed. Each is a bug in this crate
//! (a validated module that did not decode as expected, or a rewrite that
//! crossed a validator limit), reported rather than run unprotected.

use wasmparser::BinaryReaderError;

use super::GrowTarget;

#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    #[error("the module did not decode: {0}")]
    Decode(#[from] BinaryReaderError),
    #[error("re-encoding the module: {0}")]
    Reencode(#[from] wasm_encoder::reencode::Error),
    #[error("the rewritten module is invalid at byte offset {offset:#x}: {message}")]
    Invalid { offset: usize, message: String },
    #[error("no body for defined function {0}")]
    MissingBody(u32),
    #[error("a body without a function type: defined function {0}")]
    UntypedBody(u32),
    #[error("defined function {0} has more locals than an index can name")]
    TooManyLocals(u32),
    #[error("unknown type {0}")]
    UnknownType(u32),
    #[error("grow of an unknown {0:?}")]
    UnknownGrowTarget(GrowTarget),
    #[error("too many types to add the grow helpers' types")]
    TooManyTypes,
}

impl RewriteError {
    /// The rewritten module failed validation with `error`.
    pub(super) fn invalid(error: BinaryReaderError) -> Self {
        Self::Invalid {
            offset: error.offset(),
            message: error.message().to_string(),
        }
    }
}
