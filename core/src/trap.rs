//! Every way a call can stop early, in one list.

use std::fmt;

/// A runtime trap, named by the condition the spec describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrapCode {
    Unreachable,
    MemoryOutOfBounds,
    /// Table index out of bounds, for table instructions and `call_indirect`
    /// alike (the spec suite spells the latter "undefined element").
    TableOutOfBounds,
    /// `call_indirect` through a null table entry.
    IndirectCallToNull,
    IndirectCallTypeMismatch,
    IntegerDivideByZero,
    IntegerOverflow,
    BadConversionToInteger,
    StackOverflow,
    NullReference,
    /// `call_ref` or `return_call_ref` of a null reference.
    NullFunctionReference,
    OutOfFuel,
    /// The `--timeout` deadline passed.
    Interrupted,
    /// The host could not (or would not) supply memory for a growth.
    OutOfSystemMemory,
    /// An atomic access at an address that is not a multiple of its size.
    UnalignedAtomic,
    /// `memory.atomic.wait32/64` on a memory that is not shared: nothing
    /// could ever wake the waiter.
    WaitOnUnsharedMemory,
    /// `struct.get`/`set` of a null reference.
    NullStructReference,
    /// An array instruction on a null reference.
    NullArrayReference,
    /// `i31.get_s/u` of a null reference.
    NullI31Reference,
    /// `ref.cast` of a value that is not of the type.
    CastFailure,
    /// An array access or copy past the array's length.
    ArrayOutOfBounds,
    /// A struct or array allocation the GC heap cannot hold, even after
    /// collecting (its size is bounded by `--max-gc-heap`).
    GcHeapExhausted,
}

impl TrapCode {
    pub const ALL: [TrapCode; 22] = [
        Self::Unreachable,
        Self::MemoryOutOfBounds,
        Self::TableOutOfBounds,
        Self::IndirectCallToNull,
        Self::IndirectCallTypeMismatch,
        Self::IntegerDivideByZero,
        Self::IntegerOverflow,
        Self::BadConversionToInteger,
        Self::StackOverflow,
        Self::NullReference,
        Self::NullFunctionReference,
        Self::OutOfFuel,
        Self::Interrupted,
        Self::OutOfSystemMemory,
        Self::UnalignedAtomic,
        Self::WaitOnUnsharedMemory,
        Self::NullStructReference,
        Self::NullArrayReference,
        Self::NullI31Reference,
        Self::CastFailure,
        Self::ArrayOutOfBounds,
        Self::GcHeapExhausted,
    ];

    /// The message the spec test suite expects for this trap.
    pub fn message(self) -> &'static str {
        match self {
            Self::Unreachable => "unreachable",
            Self::MemoryOutOfBounds => "out of bounds memory access",
            Self::TableOutOfBounds => "out of bounds table access",
            Self::IndirectCallToNull => "uninitialized element",
            Self::IndirectCallTypeMismatch => "indirect call type mismatch",
            Self::IntegerDivideByZero => "integer divide by zero",
            Self::IntegerOverflow => "integer overflow",
            Self::BadConversionToInteger => "invalid conversion to integer",
            Self::StackOverflow => "call stack exhausted",
            Self::NullReference => "null reference",
            Self::NullFunctionReference => "null function reference",
            Self::OutOfFuel => "all fuel consumed",
            Self::Interrupted => "interrupted: time limit exceeded",
            Self::OutOfSystemMemory => "out of system memory",
            Self::UnalignedAtomic => "unaligned atomic",
            Self::WaitOnUnsharedMemory => "atomic wait on non-shared memory",
            Self::NullStructReference => "null structure reference",
            Self::NullArrayReference => "null array reference",
            Self::NullI31Reference => "null i31 reference",
            Self::CastFailure => "cast failure",
            Self::ArrayOutOfBounds => "out of bounds array access",
            Self::GcHeapExhausted => "allocation failed: the GC heap is full",
        }
    }

    /// Other texts the spec suite uses for the same condition.
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Self::TableOutOfBounds => &["undefined element"],
            Self::Unreachable => &["unreachable executed"],
            _ => &[],
        }
    }
}

impl fmt::Display for TrapCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// One entry of a trap's backtrace, innermost first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub func_index: u32,
    /// From the module's name section, if it has one.
    pub name: Option<String>,
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name} (func {})", self.func_index),
            None => write!(f, "<func {}>", self.func_index),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrapKind {
    /// A Wasm runtime trap.
    Code(TrapCode),
    /// The guest asked to exit (WASI `proc_exit`).
    Exit(i32),
    /// A host function failed.
    Host(String),
    /// A Wasm exception no handler caught reached the caller; `tag` names
    /// the exception's tag (its export or import name, or its index).
    UncaughtException { tag: String },
}

/// Why a call into Wasm stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap {
    pub kind: TrapKind,
    /// Innermost frame first; empty where the engine cannot walk its stack.
    pub backtrace: Vec<Frame>,
}

impl Trap {
    pub fn code(code: TrapCode) -> Self {
        Self {
            kind: TrapKind::Code(code),
            backtrace: Vec::new(),
        }
    }

    pub fn exit(status: i32) -> Self {
        Self {
            kind: TrapKind::Exit(status),
            backtrace: Vec::new(),
        }
    }

    pub fn host(message: impl Into<String>) -> Self {
        Self {
            kind: TrapKind::Host(message.into()),
            backtrace: Vec::new(),
        }
    }

    pub fn uncaught_exception(tag: impl Into<String>) -> Self {
        Self {
            kind: TrapKind::UncaughtException { tag: tag.into() },
            backtrace: Vec::new(),
        }
    }

    pub fn trap_code(&self) -> Option<TrapCode> {
        match self.kind {
            TrapKind::Code(code) => Some(code),
            _ => None,
        }
    }

    pub fn exit_status(&self) -> Option<i32> {
        match self.kind {
            TrapKind::Exit(status) => Some(status),
            _ => None,
        }
    }

    /// True when `expected` (a spec-suite trap text) describes this trap.
    pub fn matches_spec_message(&self, expected: &str) -> bool {
        match self.kind {
            TrapKind::Code(code) => {
                let ours = code.message();
                ours.contains(expected)
                    || expected.contains(ours)
                    || code
                        .aliases()
                        .iter()
                        .any(|a| a.contains(expected) || expected.contains(a))
            }
            TrapKind::Host(ref message) => message.contains(expected),
            TrapKind::Exit(_) | TrapKind::UncaughtException { .. } => false,
        }
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            TrapKind::Code(code) => write!(f, "wasm trap: {code}")?,
            TrapKind::Exit(status) => write!(f, "exit with status {status}")?,
            TrapKind::Host(message) => write!(f, "host error: {message}")?,
            TrapKind::UncaughtException { tag } => {
                write!(f, "uncaught wasm exception (tag {tag})")?
            }
        }
        if !self.backtrace.is_empty() {
            f.write_str("\nwasm backtrace:")?;
            for (depth, frame) in self.backtrace.iter().enumerate() {
                write!(f, "\n  {depth:>3}: {frame}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Trap {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_the_spec_texts() {
        assert_eq!(
            TrapCode::IntegerDivideByZero.message(),
            "integer divide by zero"
        );
        assert_eq!(TrapCode::StackOverflow.message(), "call stack exhausted");
        assert_eq!(
            TrapCode::MemoryOutOfBounds.message(),
            "out of bounds memory access"
        );
    }

    #[test]
    fn table_bounds_trap_matches_both_spec_spellings() {
        let trap = Trap::code(TrapCode::TableOutOfBounds);
        assert!(trap.matches_spec_message("out of bounds table access"));
        assert!(trap.matches_spec_message("undefined element"));
        assert!(!trap.matches_spec_message("integer overflow"));
    }

    #[test]
    fn display_lists_the_backtrace_innermost_first() {
        let mut trap = Trap::code(TrapCode::Unreachable);
        trap.backtrace = vec![
            Frame {
                func_index: 3,
                name: Some("inner".into()),
            },
            Frame {
                func_index: 0,
                name: None,
            },
        ];
        let text = trap.to_string();
        assert!(text.starts_with("wasm trap: unreachable\nwasm backtrace:"));
        assert!(text.contains("0: inner (func 3)"));
        assert!(text.contains("1: <func 0>"));
    }
}
