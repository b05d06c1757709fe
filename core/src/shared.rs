//! Bytes shared between a module and whatever holds them (a `Vec`, or an
//! artifact file mapped into memory), and fixed-width tables of
//! little-endian `u32`s read in place from them.
//!
//! The AOT tier hands a module views into its mapped artifact instead of
//! decoding per-function data into fresh vectors at load: loading then
//! costs the same for 20 functions as for 20,000. Every read is
//! bounds-checked; a table over damaged bytes gives wrong answers, never
//! reads outside them.

use std::fmt;
use std::ops::{Deref, Range};
use std::sync::Arc;

/// A range of bytes kept alive by a shared owner.
#[derive(Clone)]
pub struct SharedBytes {
    /// `None` for no bytes: the many empty tables of compiled code (most
    /// functions have no exception handlers and no stack maps) then cost
    /// no allocation.
    owner: Option<Arc<dyn AsRef<[u8]> + Send + Sync>>,
    range: Range<usize>,
}

impl SharedBytes {
    /// All of `owner`'s bytes.
    pub fn new(owner: Arc<dyn AsRef<[u8]> + Send + Sync>) -> Self {
        let len = (*owner).as_ref().len();
        Self {
            owner: Some(owner),
            range: 0..len,
        }
    }

    /// No bytes, without an allocation.
    pub fn empty() -> Self {
        Self {
            owner: None,
            range: 0..0,
        }
    }

    /// The sub-range `range` of these bytes, if it lies inside them.
    pub fn slice(&self, range: Range<usize>) -> Option<Self> {
        if range.start > range.end || range.end > self.range.len() {
            return None;
        }
        Some(Self {
            owner: self.owner.clone(),
            range: self.range.start + range.start..self.range.start + range.end,
        })
    }
}

impl From<Vec<u8>> for SharedBytes {
    fn from(bytes: Vec<u8>) -> Self {
        if bytes.is_empty() {
            return Self::empty();
        }
        Self::new(Arc::new(bytes))
    }
}

impl Deref for SharedBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.owner {
            // In range by construction: `new` and `slice` check it.
            Some(owner) => &(**owner).as_ref()[self.range.clone()],
            None => &[],
        }
    }
}

impl fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedBytes({} bytes)", self.range.len())
    }
}

/// Rows of `W` little-endian `u32`s each, read in place.
#[derive(Clone, Debug)]
pub struct U32Rows<const W: usize> {
    bytes: SharedBytes,
}

impl<const W: usize> U32Rows<W> {
    const ROW_BYTES: usize = 4 * W;

    /// A table owning freshly encoded `rows`.
    pub fn from_rows(rows: impl IntoIterator<Item = [u32; W]>) -> Self {
        let rows = rows.into_iter();
        let mut bytes = Vec::with_capacity(rows.size_hint().0 * 4 * W);
        for row in rows {
            for value in row {
                bytes.extend_from_slice(&value.to_le_bytes());
            }
        }
        Self {
            bytes: bytes.into(),
        }
    }

    /// A table over `bytes`, if they hold a whole number of rows.
    pub fn from_shared(bytes: SharedBytes) -> Option<Self> {
        bytes
            .len()
            .is_multiple_of(Self::ROW_BYTES)
            .then_some(Self { bytes })
    }

    pub fn len(&self) -> usize {
        self.bytes.len() / Self::ROW_BYTES
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, index: usize) -> Option<[u32; W]> {
        let start = index.checked_mul(Self::ROW_BYTES)?;
        let row = self.bytes.get(start..start.checked_add(Self::ROW_BYTES)?)?;
        let mut out = [0u32; W];
        for (value, bytes) in out.iter_mut().zip(row.chunks_exact(4)) {
            *value = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        Some(out)
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = [u32; W]> + '_ {
        (0..self.len()).map(|i| self.get(i).unwrap_or([0; W]))
    }

    /// The index of the first row for which `is_before` is false, assuming
    /// rows are partitioned by it (as `slice::partition_point`). On rows
    /// that are not, the answer is some index in `0..=len`.
    pub fn partition_point(&self, mut is_before: impl FnMut([u32; W]) -> bool) -> usize {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let mid = low + (high - low) / 2;
            match self.get(mid) {
                Some(row) if is_before(row) => low = mid + 1,
                _ => high = mid,
            }
        }
        low
    }

    /// The encoded rows, as stored.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl<const W: usize> Default for U32Rows<W> {
    fn default() -> Self {
        Self::from_rows([])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_and_search() {
        let rows = U32Rows::from_rows([[1, 10], [5, 50], [9, 90]]);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows.get(1), Some([5, 50]));
        assert_eq!(rows.get(3), None);
        assert_eq!(rows.partition_point(|r| r[0] < 5), 1);
        assert_eq!(rows.partition_point(|r| r[0] < 100), 3);
        let copy = U32Rows::<2>::from_shared(rows.as_bytes().to_vec().into()).unwrap();
        assert_eq!(
            copy.iter().collect::<Vec<_>>(),
            rows.iter().collect::<Vec<_>>()
        );
        assert!(U32Rows::<2>::from_shared(vec![0u8; 12].into()).is_none());
    }

    #[test]
    fn slices_stay_inside() {
        let bytes = SharedBytes::from(vec![1, 2, 3, 4]);
        assert_eq!(&*bytes.slice(1..3).unwrap(), &[2, 3]);
        assert!(bytes.slice(2..5).is_none());
        assert!(bytes.slice(1..3).unwrap().slice(0..3).is_none());
    }

    #[test]
    fn empty_bytes_and_tables_read_as_empty() {
        let empty = SharedBytes::from(Vec::new());
        assert!(empty.is_empty());
        assert_eq!(&*empty.slice(0..0).unwrap(), &[] as &[u8]);
        assert!(empty.slice(0..1).is_none());
        let rows = U32Rows::<3>::from_rows([]);
        assert_eq!(rows.len(), 0);
        assert_eq!(rows.get(0), None);
    }
}
