//! Where a frame holds two activations of its function: the trap sites
//! and return addresses inside a body inlined into itself
//! (`translate/recursion.rs`). A backtrace names the frame's function
//! twice there, so that it still shows one frame per activation.

use wasmtier_core::U32Rows;

/// Code offsets inside inlined bodies, sorted: searched in place (it may
/// live in a mapped artifact).
#[derive(Debug, Default, Clone)]
pub struct InlinedSites {
    offsets: U32Rows<1>,
}

impl InlinedSites {
    pub fn new(offsets: U32Rows<1>) -> Self {
        Self { offsets }
    }

    pub fn from_offsets(offsets: &[u32]) -> Self {
        Self::new(U32Rows::from_rows(offsets.iter().map(|&o| [o])))
    }

    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    pub fn rows(&self) -> &U32Rows<1> {
        &self.offsets
    }

    /// Whether `offset` (a trap site, or a call's return address) lies in
    /// an inlined body: a binary search, so a damaged (unsorted) table
    /// misses sites but reads nothing outside itself.
    pub fn contains(&self, offset: u32) -> bool {
        let at = self.offsets.partition_point(|[o]| o < offset);
        self.offsets.get(at) == Some([offset])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_exact_offsets_only() {
        let sites = InlinedSites::from_offsets(&[4, 19, 40]);
        assert!(sites.contains(19) && sites.contains(4) && sites.contains(40));
        assert!(!sites.contains(0) && !sites.contains(20) && !sites.contains(41));
        assert!(!InlinedSites::default().contains(0));
    }
}
