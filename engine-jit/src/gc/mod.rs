//! Wasm 3.0 garbage collection: the encoding of references, object
//! layouts, the heap and its collector. See `RATIONALE.md`, "Garbage
//! collection".

pub mod heap;
pub mod layout;
pub mod object;
pub(crate) mod runtime;
