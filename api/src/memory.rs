//! Reading and writing an instance's exported memory from the host.

use wasmtier_core::InstanceId;

use crate::{Error, Store};

/// An exported linear memory of an [`Instance`](crate::Instance). Every
/// access is checked against the memory's current size (it may grow
/// while the guest runs).
#[derive(Debug, Clone)]
pub struct Memory {
    instance: InstanceId,
    store: u64,
    name: String,
}

impl Memory {
    pub(crate) fn new(instance: InstanceId, store: u64, name: &str) -> Self {
        Self {
            instance,
            store,
            name: name.to_string(),
        }
    }

    /// Runs `access` on the bytes, after checking the store.
    fn with<T, R>(
        &self,
        store: &mut Store<T>,
        mut access: impl FnMut(&mut [u8]) -> R,
    ) -> Result<R, Error> {
        if self.store != store.id {
            return Err(Error::Link(wasmtier_core::LinkError::Engine(
                "the memory belongs to another store".into(),
            )));
        }
        let mut result = None;
        store
            .inner
            .with_memory(self.instance, &self.name, &mut |bytes| {
                result = Some(access(bytes))
            })?;
        Ok(result.expect("the engine ran the access"))
    }

    /// The memory's current size in bytes.
    pub fn size<T>(&self, store: &mut Store<T>) -> Result<usize, Error> {
        self.with(store, |bytes| bytes.len())
    }

    /// The range `offset..offset + len`, if it lies inside `size` bytes.
    fn range(&self, offset: u64, len: usize, size: usize) -> Result<std::ops::Range<usize>, Error> {
        usize::try_from(offset)
            .ok()
            .and_then(|start| Some(start..start.checked_add(len)?))
            .filter(|range| range.end <= size)
            .ok_or_else(|| Error::MemoryOutOfBounds {
                memory: self.name.clone(),
                offset,
                len,
                size,
            })
    }

    /// Copies `buffer.len()` bytes at `offset` into `buffer`.
    pub fn read<T>(
        &self,
        store: &mut Store<T>,
        offset: u64,
        buffer: &mut [u8],
    ) -> Result<(), Error> {
        self.with(store, |bytes| {
            let range = self.range(offset, buffer.len(), bytes.len())?;
            buffer.copy_from_slice(&bytes[range]);
            Ok(())
        })?
    }

    /// The `len` bytes at `offset`.
    pub fn read_vec<T>(
        &self,
        store: &mut Store<T>,
        offset: u64,
        len: usize,
    ) -> Result<Vec<u8>, Error> {
        let mut buffer = vec![0; len];
        self.read(store, offset, &mut buffer)?;
        Ok(buffer)
    }

    /// Copies `data` into the memory at `offset`.
    pub fn write<T>(&self, store: &mut Store<T>, offset: u64, data: &[u8]) -> Result<(), Error> {
        self.with(store, |bytes| {
            let range = self.range(offset, data.len(), bytes.len())?;
            bytes[range].copy_from_slice(data);
            Ok(())
        })?
    }
}
