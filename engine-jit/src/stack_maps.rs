//! Per-module stack maps: for each call site (a GC safepoint) where some
//! GC reference is live, which stack slots of the frame hold one. Built
//! from Cranelift's user stack maps when a function is compiled, laid out
//! with the code, stored in artifacts as two tables of `u32` rows, and
//! searched in place when the collector walks the stack.

use cranelift_codegen::{Final, MachBufferFinalized, ir::types};
use wasmtier_core::U32Rows;

use crate::error::CompileError;

/// The references live across one call, relative to its function until
/// placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackMapSite {
    /// The call's return address.
    pub ret: u32,
    /// The frame pointer minus the stack pointer at the call.
    pub frame_size: u32,
    /// Offsets from that stack pointer of the slots holding references.
    pub slots: Vec<u32>,
}

impl StackMapSite {
    pub fn placed_at(&self, base: u32) -> Self {
        Self {
            ret: self.ret + base,
            ..self.clone()
        }
    }
}

/// The stack maps of one compiled function.
pub fn sites(
    name: &str,
    buffer: &MachBufferFinalized<Final>,
) -> Result<Vec<StackMapSite>, CompileError> {
    buffer
        .user_stack_maps()
        .iter()
        .map(|(ret, frame_size, map)| {
            let mut slots = Vec::new();
            for (ty, offset) in map.entries() {
                // Every reference the translator declares is an `i64`.
                if ty != types::I64 {
                    return Err(CompileError::Codegen {
                        name: name.to_string(),
                        message: format!("stack map entry of type {ty}"),
                    });
                }
                slots.push(offset);
            }
            Ok(StackMapSite {
                ret: *ret,
                frame_size: *frame_size,
                slots,
            })
        })
        .collect()
}

/// A module's stack maps as tables: `[return address, frame size, first
/// slot]` per site (sorted by return address) and the slot offsets of all
/// sites, each site's running to the next one's first.
#[derive(Debug, Clone, Default)]
pub struct StackMapTable {
    pub sites: U32Rows<3>,
    pub slots: U32Rows<1>,
}

impl StackMapTable {
    /// `sites` must be sorted by return address.
    pub fn from_sites(sites: &[StackMapSite]) -> Self {
        let mut slots = Vec::new();
        let rows: Vec<[u32; 3]> = sites
            .iter()
            .map(|site| {
                let first = slots.len() as u32;
                slots.extend(site.slots.iter().map(|&s| [s]));
                [site.ret, site.frame_size, first]
            })
            .collect();
        Self {
            sites: U32Rows::from_rows(rows),
            slots: U32Rows::from_rows(slots),
        }
    }

    /// The frame size and slot offsets at return address `ret` (relative
    /// to the code base); `None` where no reference is live. A damaged
    /// table gives wrong slots, never an out-of-bounds read of the table.
    pub fn lookup(&self, ret: u32) -> Option<(u32, impl Iterator<Item = u32> + '_)> {
        let i = self.sites.partition_point(|[r, _, _]| r < ret);
        let [r, frame_size, first] = self.sites.get(i)?;
        if r != ret {
            return None;
        }
        let end = self
            .sites
            .get(i + 1)
            .map_or(self.slots.len(), |[_, _, next]| next as usize);
        let slots = (first as usize..end.max(first as usize)).filter_map(|k| self.slots.get(k));
        Some((frame_size, slots.map(|[s]| s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_are_found_by_return_address() {
        let table = StackMapTable::from_sites(&[
            StackMapSite {
                ret: 8,
                frame_size: 32,
                slots: vec![0, 8],
            },
            StackMapSite {
                ret: 40,
                frame_size: 48,
                slots: vec![16],
            },
        ]);
        let (size, slots) = table.lookup(8).unwrap();
        assert_eq!((size, slots.collect::<Vec<_>>()), (32, vec![0, 8]));
        let (size, slots) = table.lookup(40).unwrap();
        assert_eq!((size, slots.collect::<Vec<_>>()), (48, vec![16]));
        assert!(table.lookup(9).is_none() && table.lookup(100).is_none());
    }
}
