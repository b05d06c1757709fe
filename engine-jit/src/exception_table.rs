//! Per-module exception tables: for each call site that has handlers in
//! scope (a Cranelift `try_call`), the handlers in match order and where
//! the frame's dynamic context (its `vmctx`) was saved. Built when a
//! function is compiled, laid out with the code, stored in artifacts as
//! two tables of `u32` rows, and searched in place when a throw unwinds.

use cranelift_codegen::Final;
use cranelift_codegen::{ExceptionContextLoc, FinalizedMachExceptionHandler, MachBufferFinalized};
use wasmtier_core::U32Rows;

use crate::error::CompileError;

/// Handler row kinds (the first column of a handler row).
const TAG: u32 = 0;
const CATCH_ALL: u32 = 1;
const CONTEXT: u32 = 2;

/// One handler of a call site, in match order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandlerEntry {
    /// Catches the tag with this index in the frame's module; resumes at
    /// `offset` (from the code base).
    Tag { tag: u32, offset: u32 },
    /// Catches everything; resumes at `offset`.
    CatchAll { offset: u32 },
    /// From here on, tags are resolved through the `vmctx` saved at this
    /// offset from the frame's stack pointer at the call.
    Context { sp_offset: u32 },
}

impl HandlerEntry {
    fn row(self) -> [u32; 3] {
        match self {
            Self::Tag { tag, offset } => [TAG, tag, offset],
            Self::CatchAll { offset } => [CATCH_ALL, 0, offset],
            Self::Context { sp_offset } => [CONTEXT, sp_offset, 0],
        }
    }

    fn from_row([kind, a, b]: [u32; 3]) -> Option<Self> {
        match kind {
            TAG => Some(Self::Tag { tag: a, offset: b }),
            CATCH_ALL => Some(Self::CatchAll { offset: b }),
            CONTEXT => Some(Self::Context { sp_offset: a }),
            _ => None,
        }
    }

    /// The same handler with its code offset moved by `base`.
    fn placed_at(self, base: u32) -> Self {
        match self {
            Self::Tag { tag, offset } => Self::Tag {
                tag,
                offset: offset + base,
            },
            Self::CatchAll { offset } => Self::CatchAll {
                offset: offset + base,
            },
            context => context,
        }
    }
}

/// A call site with handlers, relative to its function until placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSite {
    /// The call's return address.
    pub ret: u32,
    /// The frame pointer minus the stack pointer at the call: the stack
    /// pointer a handler resumes with.
    pub frame_offset: u32,
    pub handlers: Vec<HandlerEntry>,
}

impl CallSite {
    pub fn placed_at(&self, base: u32) -> Self {
        Self {
            ret: self.ret + base,
            frame_offset: self.frame_offset,
            handlers: self.handlers.iter().map(|h| h.placed_at(base)).collect(),
        }
    }
}

/// The call sites with handlers of one compiled function.
pub fn call_sites(
    name: &str,
    buffer: &MachBufferFinalized<Final>,
) -> Result<Vec<CallSite>, CompileError> {
    let unsupported = |what: &str| CompileError::ExceptionTable {
        name: name.to_string(),
        what: what.to_string(),
    };
    let mut sites = Vec::new();
    for site in buffer.call_sites() {
        if site.exception_handlers.is_empty() {
            continue;
        }
        let frame_offset = site
            .frame_offset
            .ok_or_else(|| unsupported("a call site with handlers has no frame offset"))?;
        let handlers = site
            .exception_handlers
            .iter()
            .map(|handler| match *handler {
                FinalizedMachExceptionHandler::Tag(tag, offset) => Ok(HandlerEntry::Tag {
                    tag: tag.as_u32(),
                    offset,
                }),
                FinalizedMachExceptionHandler::Default(offset) => {
                    Ok(HandlerEntry::CatchAll { offset })
                }
                FinalizedMachExceptionHandler::Context(ExceptionContextLoc::SPOffset(at)) => {
                    Ok(HandlerEntry::Context { sp_offset: at })
                }
                FinalizedMachExceptionHandler::Context(ExceptionContextLoc::GPR(_)) => {
                    Err(unsupported("a dynamic context kept in a register"))
                }
            })
            .collect::<Result<_, _>>()?;
        sites.push(CallSite {
            ret: site.ret_addr,
            frame_offset,
            handlers,
        });
    }
    Ok(sites)
}

/// A module's call sites with handlers as two tables of rows: call sites
/// `[return address, frame offset, end of its handlers]` sorted by return
/// address, and handlers `[kind, tag or stack offset, code offset]`, each
/// site's after the previous site's. Read in place from an artifact: a
/// damaged table gives wrong answers, never reads out of bounds.
#[derive(Debug, Clone, Default)]
pub struct ExceptionTable {
    pub call_sites: U32Rows<3>,
    pub handlers: U32Rows<3>,
}

impl ExceptionTable {
    /// The tables of `sites`, which must be sorted by return address.
    pub fn from_sites<'a>(sites: impl IntoIterator<Item = &'a CallSite>) -> Self {
        let mut call_sites = Vec::new();
        let mut handlers = Vec::new();
        for site in sites {
            handlers.extend(site.handlers.iter().map(|h| h.row()));
            call_sites.push([site.ret, site.frame_offset, handlers.len() as u32]);
        }
        Self {
            call_sites: U32Rows::from_rows(call_sites),
            handlers: U32Rows::from_rows(handlers),
        }
    }

    /// The frame offset and handlers of the call site returning to `ret`.
    pub fn lookup(&self, ret: u32) -> Option<(u32, impl Iterator<Item = HandlerEntry> + '_)> {
        let index = self.call_sites.partition_point(|[at, _, _]| at < ret);
        let [at, frame_offset, end] = self.call_sites.get(index)?;
        if at != ret {
            return None;
        }
        let start = match index.checked_sub(1) {
            Some(previous) => self.call_sites.get(previous)?[2],
            None => 0,
        };
        let rows = (start..end.max(start)).map_while(|i| self.handlers.get(i as usize));
        Some((frame_offset, rows.filter_map(HandlerEntry::from_row)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_are_found_by_return_address_with_their_own_handlers() {
        let sites = [
            CallSite {
                ret: 10,
                frame_offset: 32,
                handlers: vec![
                    HandlerEntry::Context { sp_offset: 8 },
                    HandlerEntry::Tag { tag: 1, offset: 40 },
                ],
            },
            CallSite {
                ret: 30,
                frame_offset: 48,
                handlers: vec![HandlerEntry::CatchAll { offset: 50 }],
            },
        ];
        let table = ExceptionTable::from_sites(&sites);
        let (frame, handlers) = table.lookup(10).unwrap();
        assert_eq!(frame, 32);
        assert_eq!(handlers.collect::<Vec<_>>(), sites[0].handlers);
        let (frame, handlers) = table.lookup(30).unwrap();
        assert_eq!(frame, 48);
        assert_eq!(handlers.collect::<Vec<_>>(), sites[1].handlers);
        assert!(table.lookup(20).is_none());
        assert!(table.lookup(31).is_none());
    }

    #[test]
    fn placing_moves_code_offsets_but_not_tags_or_stack_offsets() {
        let site = CallSite {
            ret: 4,
            frame_offset: 16,
            handlers: vec![
                HandlerEntry::Context { sp_offset: 8 },
                HandlerEntry::Tag { tag: 2, offset: 20 },
                HandlerEntry::CatchAll { offset: 24 },
            ],
        };
        let placed = site.placed_at(100);
        assert_eq!(placed.ret, 104);
        assert_eq!(
            placed.handlers,
            [
                HandlerEntry::Context { sp_offset: 8 },
                HandlerEntry::Tag {
                    tag: 2,
                    offset: 120
                },
                HandlerEntry::CatchAll { offset: 124 },
            ]
        );
    }

    #[test]
    fn damaged_tables_answer_without_reading_out_of_bounds() {
        let table = ExceptionTable {
            call_sites: U32Rows::from_rows([[10, 0, 99], [20, 0, 1]]),
            handlers: U32Rows::from_rows([[7, 0, 0], [1, 0, 5]]),
        };
        let (_, handlers) = table.lookup(10).unwrap();
        assert_eq!(
            handlers.count(),
            1,
            "stops at the end of the rows, skips a bad kind"
        );
        let (_, handlers) = table.lookup(20).unwrap();
        assert_eq!(handlers.count(), 0, "a range running backwards is empty");
    }
}
