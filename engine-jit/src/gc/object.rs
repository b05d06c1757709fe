//! How a GC reference is encoded in a 64-bit value, and the header every
//! object in the GC heap starts with. Generated code and the runtime both
//! use these constants.
//!
//! A reference of the `any` or `extern` hierarchy is one `i64`:
//! - `0`: null;
//! - low bit 1: an `i31ref`, its payload in bits 1..32;
//! - low bits `10`: a host reference, `(number + 1) << 2 | 2`;
//! - low bits `000`, non-zero: an object, by its byte offset in the
//!   store's GC heap (below 4 GiB).
//!
//! `externref` uses the same encoding, so `any.convert_extern` and
//! `extern.convert_any` are the identity and `ref.eq` is a comparison.

use std::mem::offset_of;

/// Low bit of an `i31ref`.
pub const I31_TAG: u64 = 1;
/// Low two bits of a host reference.
pub const HOST_TAG: u64 = 2;
/// Bits that are zero in an object reference.
pub const OBJECT_TAG_MASK: u64 = 7;

pub fn i31(payload: u32) -> u64 {
    (u64::from(payload & 0x7fff_ffff) << 1) | I31_TAG
}

pub fn host(number: u32) -> u64 {
    ((u64::from(number) + 1) << 2) | HOST_TAG
}

/// What a non-null reference is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded {
    I31(u32),
    Host(u32),
    Object(u32),
    /// No encoding of ours (only a damaged value could be this).
    Invalid,
}

pub fn decode(raw: u64) -> Option<Decoded> {
    Some(if raw == 0 {
        return None;
    } else if raw & I31_TAG != 0 {
        Decoded::I31(((raw >> 1) & 0x7fff_ffff) as u32)
    } else if raw & 3 == HOST_TAG {
        match u32::try_from((raw >> 2) - 1) {
            Ok(n) => Decoded::Host(n),
            Err(_) => Decoded::Invalid,
        }
    } else if raw & OBJECT_TAG_MASK == 0 {
        match u32::try_from(raw) {
            Ok(offset) => Decoded::Object(offset),
            Err(_) => Decoded::Invalid,
        }
    } else {
        Decoded::Invalid
    })
}

/// The type word of a free chunk of the heap (whose second word is its
/// size; free chunks may be as small as 8 bytes).
pub const FREE_TYPE: u32 = u32::MAX;

/// What an object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ObjectKind {
    Struct = 1,
    Array = 2,
}

/// The first 16 bytes of every object and free chunk.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ObjectHeader {
    /// Canonical type id (`TypeId::index`); `u32::MAX` for a free chunk.
    pub type_index: u32,
    /// Bytes of the object or chunk, header included; a multiple of 8.
    pub size: u32,
    pub kind: u8,
    /// Set while the collector marks.
    pub mark: u8,
    pub _pad: u16,
    /// Elements of an array (0 for a struct).
    pub length: u32,
}

pub const TYPE_OFFSET: i32 = offset_of!(ObjectHeader, type_index) as i32;
pub const KIND_OFFSET: i32 = offset_of!(ObjectHeader, kind) as i32;
pub const LENGTH_OFFSET: i32 = offset_of!(ObjectHeader, length) as i32;
/// Where a struct's fields or an array's elements start.
pub const FIELDS_OFFSET: u32 = size_of::<ObjectHeader>() as u32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout_is_pinned() {
        assert_eq!(TYPE_OFFSET, 0);
        assert_eq!(offset_of!(ObjectHeader, size), 4);
        assert_eq!(KIND_OFFSET, 8);
        assert_eq!(offset_of!(ObjectHeader, mark), 9);
        assert_eq!(LENGTH_OFFSET, 12);
        assert_eq!(FIELDS_OFFSET, 16);
    }

    #[test]
    fn encodings_round_trip_and_do_not_overlap() {
        assert_eq!(decode(0), None);
        assert_eq!(decode(i31(0x7fff_ffff)), Some(Decoded::I31(0x7fff_ffff)));
        assert_eq!(decode(i31(0xffff_ffff)), Some(Decoded::I31(0x7fff_ffff)));
        assert_eq!(decode(host(0)), Some(Decoded::Host(0)));
        assert_eq!(decode(host(u32::MAX)), Some(Decoded::Host(u32::MAX)));
        assert_eq!(decode(64), Some(Decoded::Object(64)));
        assert_eq!(decode(1 << 33), Some(Decoded::Invalid));
        assert_eq!(decode(4), Some(Decoded::Invalid));
    }
}
