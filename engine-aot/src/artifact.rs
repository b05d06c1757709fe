//! The artifact format: a fixed prefix, a header, the module and its code
//! layout, then page-aligned code. Little-endian throughout; strings and
//! byte strings are length-prefixed.
//!
//! ```text
//! 0   magic "\0wtier\r\n"           8 bytes
//! 8   format version                 u32
//! 12  reserved (0)                   u32
//! 16  file length                    u64
//! 24  CRC-32 of bytes 32..length     u32
//! 28  reserved (0)                   u32
//! 32  header: wasmtier version, target triple, CPU features, flags,
//!     Wasm features (strings), source SHA-256 (32 bytes),
//!     code offset (u64), code length (u64)
//!     the module's bytes (u64 length + bytes)
//!     code layout: function ranges, entry trampolines, host adapters,
//!     trap table (u32 counts)
//!     zero padding up to the code offset (a multiple of CODE_ALIGN)
//!     code, zero-padded to a multiple of CODE_ALIGN
//! ```

use std::ops::Range;

use sha2::{Digest, Sha256};
use wasmtier_engine_jit::aot::{CodeImage, CodeLayout};

use crate::error::AotError;
use crate::target::TargetInfo;

/// The first bytes of every artifact. The `\r\n` catches line-ending
/// conversion, the leading NUL a text file.
pub const MAGIC: [u8; 8] = *b"\0wtier\r\n";
/// Bumped whenever the layout below changes.
pub const FORMAT_VERSION: u32 = 1;
/// Code starts at, and is padded to, a multiple of this: the largest page
/// size of the hosts we target (64 KiB aarch64 kernels), so an artifact
/// maps on any of them.
pub const CODE_ALIGN: u64 = 64 * 1024;
const PREFIX_LEN: usize = 32;

/// What an artifact says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub format_version: u32,
    pub wasmtier_version: String,
    pub target: TargetInfo,
    /// Wasm proposals the module was validated with (`Features::parse_list`
    /// syntax).
    pub wasm_features: String,
    pub source_hash: [u8; 32],
    pub checksum: u32,
    pub file_len: u64,
    pub code: Range<u64>,
}

/// A checked artifact's contents, borrowing the file's bytes.
pub struct Artifact<'a> {
    pub header: Header,
    pub wasm: &'a [u8],
    pub layout: CodeLayout,
}

/// Whether `prefix` (the first bytes of a file) starts an artifact.
pub fn is_artifact(prefix: &[u8]) -> bool {
    prefix.starts_with(&MAGIC)
}

/// The checksum an artifact file of `bytes` carries (over all but its
/// 32-byte prefix), for measuring its cost.
pub fn checksum(file: &[u8]) -> u32 {
    crc32fast::hash(file.get(PREFIX_LEN..).unwrap_or(&[]))
}

pub fn source_hash(wasm: &[u8]) -> [u8; 32] {
    Sha256::digest(wasm).into()
}

/// Serializes an artifact.
pub fn write(target: &TargetInfo, wasm_features: &str, wasm: &[u8], image: &CodeImage) -> Vec<u8> {
    let mut out = Vec::with_capacity(wasm.len() + image.code.len() + 2 * CODE_ALIGN as usize);
    out.extend_from_slice(&MAGIC);
    put_u32(&mut out, FORMAT_VERSION);
    put_u32(&mut out, 0);
    put_u64(&mut out, 0); // file length, patched below
    put_u32(&mut out, 0); // checksum, patched below
    put_u32(&mut out, 0);
    put_str(&mut out, env!("CARGO_PKG_VERSION"));
    put_str(&mut out, &target.triple);
    put_str(&mut out, &target.cpu_features);
    put_str(&mut out, &target.flags);
    put_str(&mut out, wasm_features);
    out.extend_from_slice(&source_hash(wasm));
    let code_offset_at = out.len();
    put_u64(&mut out, 0); // code offset, patched below
    put_u64(&mut out, image.code.len() as u64);
    put_bytes(&mut out, wasm);
    let layout = &image.layout;
    put_u32(&mut out, layout.functions.len() as u32);
    for range in &layout.functions {
        put_u32(&mut out, range.start);
        put_u32(&mut out, range.end);
    }
    for offsets in [&layout.entry_trampolines, &layout.host_adapters] {
        put_u32(&mut out, offsets.len() as u32);
        for &offset in offsets {
            put_u32(&mut out, offset);
        }
    }
    put_u32(&mut out, layout.traps.len() as u32);
    for &(offset, code) in &layout.traps {
        put_u32(&mut out, offset);
        out.push(code);
    }
    let code_offset = (out.len() as u64).next_multiple_of(CODE_ALIGN);
    out.resize(code_offset as usize, 0);
    out.extend_from_slice(&image.code);
    let end = (out.len() as u64)
        .max(code_offset + 1)
        .next_multiple_of(CODE_ALIGN);
    out.resize(end as usize, 0);
    out[code_offset_at..code_offset_at + 8].copy_from_slice(&code_offset.to_le_bytes());
    let file_len = out.len() as u64;
    out[16..24].copy_from_slice(&file_len.to_le_bytes());
    let checksum = crc32fast::hash(&out[PREFIX_LEN..]);
    out[24..28].copy_from_slice(&checksum.to_le_bytes());
    out
}

/// Checks the prefix only (magic, format, length): enough to tell an
/// artifact from something else and to read its header for `inspect`
/// even when the checksum would fail.
fn check_prefix(bytes: &[u8]) -> Result<(u64, u32), AotError> {
    if !is_artifact(bytes) {
        return Err(AotError::NotArtifact);
    }
    if bytes.len() < PREFIX_LEN {
        return Err(AotError::Truncated {
            expected: PREFIX_LEN as u64,
            found: bytes.len() as u64,
        });
    }
    let format = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if format != FORMAT_VERSION {
        return Err(AotError::FormatVersion { found: format });
    }
    let file_len = u64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes"));
    if (bytes.len() as u64) < file_len {
        return Err(AotError::Truncated {
            expected: file_len,
            found: bytes.len() as u64,
        });
    }
    if bytes.len() as u64 != file_len {
        return Err(AotError::Malformed(
            "trailing bytes after the artifact".into(),
        ));
    }
    let checksum = u32::from_le_bytes(bytes[24..28].try_into().expect("4 bytes"));
    Ok((file_len, checksum))
}

/// Parses `bytes` after checking magic, format version, length and the
/// checksum over everything after the prefix (code included).
pub fn parse(bytes: &[u8]) -> Result<Artifact<'_>, AotError> {
    let (_, checksum) = check_prefix(bytes)?;
    if crc32fast::hash(&bytes[PREFIX_LEN..]) != checksum {
        return Err(AotError::Checksum);
    }
    decode(bytes)
}

/// Parses `bytes` without verifying the checksum: only for describing a
/// file (`inspect`), never for running it.
pub fn parse_unverified(bytes: &[u8]) -> Result<(Artifact<'_>, bool), AotError> {
    let (_, checksum) = check_prefix(bytes)?;
    let intact = crc32fast::hash(&bytes[PREFIX_LEN..]) == checksum;
    Ok((decode(bytes)?, intact))
}

fn decode(bytes: &[u8]) -> Result<Artifact<'_>, AotError> {
    let mut r = Reader {
        bytes,
        at: PREFIX_LEN,
    };
    let wasmtier_version = r.str()?;
    let target = TargetInfo {
        triple: r.str()?,
        cpu_features: r.str()?,
        flags: r.str()?,
    };
    let wasm_features = r.str()?;
    let source_hash: [u8; 32] = r.take(32)?.try_into().expect("32 bytes");
    let code_offset = r.u64()?;
    let code_len = r.u64()?;
    let wasm = r.bytes()?;
    let functions = (0..r.u32()?)
        .map(|_| Ok(r.u32()?..r.u32()?))
        .collect::<Result<Vec<_>, AotError>>()?;
    let entry_trampolines = r.u32s()?;
    let host_adapters = r.u32s()?;
    let traps = (0..r.u32()?)
        .map(|_| Ok((r.u32()?, r.take(1)?[0])))
        .collect::<Result<Vec<_>, AotError>>()?;
    let code = code_offset..code_offset.saturating_add(code_len);
    if !code_offset.is_multiple_of(CODE_ALIGN)
        || code_offset < r.at as u64
        || code.end > bytes.len() as u64
    {
        return Err(AotError::Malformed("code section out of place".into()));
    }
    Ok(Artifact {
        header: Header {
            format_version: FORMAT_VERSION,
            wasmtier_version,
            target,
            wasm_features,
            source_hash,
            checksum: u32::from_le_bytes(bytes[24..28].try_into().expect("4 bytes")),
            file_len: bytes.len() as u64,
            code,
        },
        wasm,
        layout: CodeLayout {
            functions,
            entry_trampolines,
            host_adapters,
            traps,
        },
    })
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u64(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_bytes(out, s.as_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], AotError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| AotError::Malformed("header runs past the end".into()))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u32(&mut self) -> Result<u32, AotError> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn u64(&mut self) -> Result<u64, AotError> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    fn u32s(&mut self) -> Result<Vec<u32>, AotError> {
        (0..self.u32()?).map(|_| self.u32()).collect()
    }

    fn bytes(&mut self) -> Result<&'a [u8], AotError> {
        let len = usize::try_from(self.u64()?)
            .map_err(|_| AotError::Malformed("length overflows".into()))?;
        self.take(len)
    }

    fn str(&mut self) -> Result<String, AotError> {
        String::from_utf8(self.bytes()?.to_vec())
            .map_err(|_| AotError::Malformed("a header string is not UTF-8".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let image = CodeImage {
            code: vec![0xc3; 100],
            layout: CodeLayout {
                functions: vec![0..10, 16..40],
                entry_trampolines: vec![48],
                host_adapters: vec![64],
                traps: vec![(3, 1), (20, 7)],
            },
        };
        let target = TargetInfo {
            triple: "x86_64-unknown-linux-gnu".into(),
            cpu_features: "has_avx=true".into(),
            flags: "opt_level=speed".into(),
        };
        write(&target, "wasm2", b"\0asm\x01\0\0\0", &image)
    }

    #[test]
    fn round_trips() {
        let bytes = sample();
        assert!(bytes.len().is_multiple_of(CODE_ALIGN as usize));
        let artifact = parse(&bytes).unwrap();
        assert_eq!(artifact.wasm, b"\0asm\x01\0\0\0");
        assert_eq!(artifact.layout.functions, vec![0..10, 16..40]);
        assert_eq!(artifact.layout.traps, vec![(3, 1), (20, 7)]);
        assert_eq!(artifact.header.wasmtier_version, env!("CARGO_PKG_VERSION"));
        let code = artifact.header.code.clone();
        assert_eq!(&bytes[code.start as usize..code.end as usize], &[0xc3; 100]);
    }

    #[test]
    fn every_flipped_byte_is_caught() {
        let bytes = sample();
        let code_start = parse(&bytes).unwrap().header.code.start as usize;
        for at in (0..bytes.len())
            .step_by(97)
            .chain([0, 8, 20, 40, code_start + 5])
        {
            let mut bad = bytes.clone();
            bad[at] ^= 0x55;
            assert!(parse(&bad).is_err(), "flip at {at} accepted");
        }
    }

    #[test]
    fn truncation_and_foreign_files_are_named() {
        let bytes = sample();
        assert!(matches!(
            parse(&bytes[..bytes.len() - 1]),
            Err(AotError::Truncated { .. })
        ));
        assert!(matches!(
            parse(&bytes[..20]),
            Err(AotError::Truncated { .. })
        ));
        assert!(matches!(
            parse(b"\0asm\x01\0\0\0"),
            Err(AotError::NotArtifact)
        ));
        let mut old = bytes.clone();
        old[8] = 9;
        assert!(matches!(
            parse(&old),
            Err(AotError::FormatVersion { found: 9 })
        ));
    }
}
