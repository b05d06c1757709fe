//! The artifact format: a fixed prefix, a header with a table of
//! sections, the sections, then page-aligned code. Little-endian
//! throughout; strings and byte strings are length-prefixed.
//!
//! ```text
//! 0   magic "\0wtier\r\n"           8 bytes
//! 8   format version                 u32
//! 12  reserved (0)                   u32
//! 16  file length                    u64
//! 24  CRC-32 of bytes 32..length     u32
//! 28  reserved (0)                   u32
//! 32  header: wasmtier version, target triple, CPU features, flags,
//!     Wasm features (strings), source BLAKE3 hash (32 bytes),
//!     code offset (u64), code length (u64),
//!     section table: (offset u64, length u64) for each of `Section::ALL`
//!     the sections, each at a multiple of 8, between the table and the code
//!     zero padding up to the code offset (a multiple of CODE_ALIGN)
//!     code, zero-padded to a multiple of CODE_ALIGN
//! ```
//!
//! Every section but the module is a table of little-endian `u32` rows
//! that the loaded module reads in place from the mapped file: loading
//! decodes nothing per function.

use std::ops::Range;

use wasmtier_core::{PerFunction, SharedBytes, U32Rows};
use wasmtier_engine_jit::aot::{
    CodeImage, CodeTables, ExceptionTable, InlinedSites, StackMapTable,
};

use crate::error::AotError;
use crate::target::TargetInfo;

/// The first bytes of every artifact. The `\r\n` catches line-ending
/// conversion, the leading NUL a text file.
pub const MAGIC: [u8; 8] = *b"\0wtier\r\n";
/// Bumped whenever the layout below changes. 2: per-function tables in
/// place of decoding them from the module at load. 3: the source hash is
/// BLAKE3 (four times faster than SHA-256 here, and a cache hit hashes the
/// whole module). 4: exception call sites and handlers. 5: the type
/// section's shape (rec groups, supertypes, finality), which
/// `call_indirect` code relies on. 6: GC stack maps. 7: the sites inside function bodies
/// inlined into themselves, which backtraces count twice.
pub const FORMAT_VERSION: u32 = 7;
/// Code starts at, and is padded to, a multiple of this: the largest page
/// size of the hosts we target (64 KiB aarch64 kernels), so an artifact
/// maps on any of them.
pub const CODE_ALIGN: u64 = 64 * 1024;
const PREFIX_LEN: usize = 32;
/// Sections start at multiples of this, so that the tables are aligned
/// for their `u32`s in a mapping (not needed for correctness: rows are
/// read byte-wise).
const SECTION_ALIGN: usize = 8;

/// The sections of an artifact, in the order of the section table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The original Wasm module.
    Wasm,
    /// `[type index]` per function, imports first.
    FuncTypes,
    /// `[start, end)` of each defined function's body in the module.
    FuncBodies,
    /// `[function index, start, end)` of each function name in the
    /// module, sorted by index.
    FuncNames,
    /// `[start, end)` of each defined function's code.
    Functions,
    /// `[offset]` of the entry trampoline per type.
    EntryTrampolines,
    /// `[offset]` of the host adapter per type.
    HostAdapters,
    /// `[code offset, raw trap code]`, sorted by offset.
    Traps,
    /// `[return address, frame offset, end of its handlers]` of each call
    /// site with exception handlers, sorted by return address.
    CallSites,
    /// `[kind, tag or stack offset, code offset]` of each handler.
    Handlers,
    /// `[first type of its rec group, supertype or u32::MAX, final]` per
    /// type index: the canonical type information the code was compiled
    /// against (a `call_indirect` to a final type only compares ids).
    TypeShapes,
    /// `[return address, frame size, first slot]` of each call site where
    /// GC references are live, sorted by return address.
    StackMapSites,
    /// `[stack offset]` of each slot holding a GC reference, by site.
    StackMapSlots,
    /// `[code offset]` of each trap site and return address inside a body
    /// inlined into itself, sorted.
    InlinedSites,
}

impl Section {
    pub const ALL: [Section; 14] = [
        Self::Wasm,
        Self::FuncTypes,
        Self::FuncBodies,
        Self::FuncNames,
        Self::Functions,
        Self::EntryTrampolines,
        Self::HostAdapters,
        Self::Traps,
        Self::CallSites,
        Self::Handlers,
        Self::TypeShapes,
        Self::StackMapSites,
        Self::StackMapSlots,
        Self::InlinedSites,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Wasm => "module",
            Self::FuncTypes => "function types",
            Self::FuncBodies => "function bodies",
            Self::FuncNames => "function names",
            Self::Functions => "function code ranges",
            Self::EntryTrampolines => "entry trampolines",
            Self::HostAdapters => "host adapters",
            Self::Traps => "trap table",
            Self::CallSites => "exception call sites",
            Self::Handlers => "exception handlers",
            Self::TypeShapes => "type shapes",
            Self::StackMapSites => "stack map sites",
            Self::StackMapSlots => "stack map slots",
            Self::InlinedSites => "inlined sites",
        }
    }
}

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
    /// Where each of `Section::ALL` is in the file.
    pub sections: [Range<u64>; Section::ALL.len()],
}

/// A checked artifact's contents: views into the file's bytes, nothing
/// copied.
pub struct Artifact {
    pub header: Header,
    pub wasm: SharedBytes,
    pub per_function: PerFunction,
    /// See [`Section::TypeShapes`].
    pub type_shapes: U32Rows<3>,
    pub code_tables: CodeTables,
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

/// The module's identity in the header and the cache key: BLAKE3, a
/// cryptographic hash (a collision would run the wrong program).
pub fn source_hash(wasm: &[u8]) -> [u8; 32] {
    blake3::hash(wasm).into()
}

/// Serializes an artifact for a module of `wasm` bytes with the
/// per-function tables `per_function` and type shapes `type_shapes`
/// (`ValidatedModule::type_shapes`), compiled into `image`.
pub fn write(
    target: &TargetInfo,
    wasm_features: &str,
    wasm: &[u8],
    per_function: &PerFunction,
    type_shapes: &[[u32; 3]],
    image: &CodeImage,
) -> Vec<u8> {
    let tables = image.layout.tables();
    let type_shapes = U32Rows::from_rows(type_shapes.iter().copied());
    let sections: [&[u8]; Section::ALL.len()] = Section::ALL.map(|section| match section {
        Section::Wasm => wasm,
        Section::FuncTypes => per_function.types.as_bytes(),
        Section::FuncBodies => per_function.bodies.as_bytes(),
        Section::FuncNames => per_function.names.as_bytes(),
        Section::Functions => tables.functions.as_bytes(),
        Section::EntryTrampolines => tables.entry_trampolines.as_bytes(),
        Section::HostAdapters => tables.host_adapters.as_bytes(),
        Section::Traps => tables.traps.as_bytes(),
        Section::CallSites => tables.exceptions.call_sites.as_bytes(),
        Section::Handlers => tables.exceptions.handlers.as_bytes(),
        Section::TypeShapes => type_shapes.as_bytes(),
        Section::StackMapSites => tables.stack_maps.sites.as_bytes(),
        Section::StackMapSlots => tables.stack_maps.slots.as_bytes(),
        Section::InlinedSites => tables.inlined.rows().as_bytes(),
    });
    let metadata: usize = sections.iter().map(|s| s.len() + SECTION_ALIGN).sum();
    let mut out = Vec::with_capacity(metadata + image.code.len() + 2 * CODE_ALIGN as usize);
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
    let table_at = out.len();
    out.resize(table_at + 16 * sections.len(), 0); // patched below
    for (i, section) in sections.iter().enumerate() {
        out.resize(out.len().next_multiple_of(SECTION_ALIGN), 0);
        let entry = table_at + 16 * i;
        let offset = out.len() as u64;
        out[entry..entry + 8].copy_from_slice(&offset.to_le_bytes());
        out[entry + 8..entry + 16].copy_from_slice(&(section.len() as u64).to_le_bytes());
        out.extend_from_slice(section);
    }
    // At least one byte of padding, so that every section (an empty one
    // included) starts before the code, which `decode` requires.
    let code_offset = (out.len() as u64 + 1).next_multiple_of(CODE_ALIGN);
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
    let (file_len, checksum) = check_prefix_len(bytes)?;
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
    Ok((file_len, checksum))
}

/// The artifact in `file`: all of it, or all but a cache entry's seal
/// (the [`crate::SEAL_LEN`] bytes a cache appends after the length the
/// header gives). Whether the seal is valid is the cache's business.
pub fn without_seal(file: &SharedBytes) -> SharedBytes {
    let Ok((file_len, _)) = check_prefix_len(file) else {
        return file.clone();
    };
    match usize::try_from(file_len) {
        Ok(len) if len.checked_add(crate::SEAL_LEN) == Some(file.len()) => {
            file.slice(0..len).unwrap_or_else(|| file.clone())
        }
        _ => file.clone(),
    }
}

/// Magic, format version and the length the header gives.
fn check_prefix_len(bytes: &[u8]) -> Result<(u64, u32), AotError> {
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
        return Err(AotError::FormatVersion {
            found: format,
            supported: FORMAT_VERSION,
        });
    }
    let file_len = u64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes"));
    let checksum = u32::from_le_bytes(bytes[24..28].try_into().expect("4 bytes"));
    Ok((file_len, checksum))
}

/// Parses `file` after checking magic, format version, length and the
/// checksum over everything after the prefix (code included).
pub fn parse(file: &SharedBytes) -> Result<Artifact, AotError> {
    let (_, checksum) = check_prefix(file)?;
    if crc32fast::hash(&file[PREFIX_LEN..]) != checksum {
        return Err(AotError::Checksum);
    }
    decode(file)
}

/// Parses a cache entry's artifact whose seal (a keyed hash over every
/// byte, `cache.rs`) has just been verified: the seal already proves what
/// the CRC-32 would, so the second pass over the bytes is skipped.
pub fn parse_sealed(file: &SharedBytes) -> Result<Artifact, AotError> {
    check_prefix(file)?;
    decode(file)
}

/// Parses `file` without verifying the checksum: only for describing a
/// file (`inspect`), never for running it.
pub fn parse_unverified(file: &SharedBytes) -> Result<(Artifact, bool), AotError> {
    let (_, checksum) = check_prefix(file)?;
    let intact = crc32fast::hash(&file[PREFIX_LEN..]) == checksum;
    Ok((decode(file)?, intact))
}

/// Reads the header and section table, checking that the code and every
/// section lie where they must: sections between the section table and
/// the code, the code page-aligned inside the file. Nothing here depends
/// on the number of functions.
fn decode(file: &SharedBytes) -> Result<Artifact, AotError> {
    let bytes: &[u8] = file;
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
    let mut sections = Section::ALL.map(|_| 0..0);
    for range in &mut sections {
        let offset = r.u64()?;
        *range = offset..offset.saturating_add(r.u64()?);
    }
    let code = code_offset..code_offset.saturating_add(code_len);
    if !code_offset.is_multiple_of(CODE_ALIGN)
        || code_offset < r.at as u64
        || code.end > bytes.len() as u64
    {
        return Err(AotError::Malformed("code section out of place".into()));
    }
    let metadata = r.at as u64..code_offset;
    let view = |section: Section| -> Result<SharedBytes, AotError> {
        let range = sections[section as usize].clone();
        // Strictly before the code, even when empty: an offset into the
        // code is a damaged table whatever the length says.
        let inside = metadata.start <= range.start
            && range.start < metadata.end
            && range.end <= metadata.end;
        if !inside || !range.start.is_multiple_of(SECTION_ALIGN as u64) {
            return Err(AotError::Malformed(format!(
                "the {} section is out of place",
                section.name()
            )));
        }
        // Inside the file (checked above), so the casts are lossless.
        file.slice(range.start as usize..range.end as usize)
            .ok_or_else(|| {
                AotError::Malformed(format!("the {} section is out of place", section.name()))
            })
    };
    fn rows<const W: usize>(section: Section, bytes: SharedBytes) -> Result<U32Rows<W>, AotError> {
        U32Rows::from_shared(bytes).ok_or_else(|| {
            AotError::Malformed(format!(
                "the {} section has a partial entry",
                section.name()
            ))
        })
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
            sections: sections.clone(),
        },
        wasm: view(Section::Wasm)?,
        per_function: PerFunction {
            types: rows(Section::FuncTypes, view(Section::FuncTypes)?)?,
            bodies: rows(Section::FuncBodies, view(Section::FuncBodies)?)?,
            names: rows(Section::FuncNames, view(Section::FuncNames)?)?,
        },
        type_shapes: rows(Section::TypeShapes, view(Section::TypeShapes)?)?,
        code_tables: CodeTables {
            functions: rows(Section::Functions, view(Section::Functions)?)?,
            entry_trampolines: rows(Section::EntryTrampolines, view(Section::EntryTrampolines)?)?,
            host_adapters: rows(Section::HostAdapters, view(Section::HostAdapters)?)?,
            traps: rows(Section::Traps, view(Section::Traps)?)?,
            inlined: InlinedSites::new(rows(Section::InlinedSites, view(Section::InlinedSites)?)?),
            exceptions: ExceptionTable {
                call_sites: rows(Section::CallSites, view(Section::CallSites)?)?,
                handlers: rows(Section::Handlers, view(Section::Handlers)?)?,
            },
            stack_maps: StackMapTable {
                sites: rows(Section::StackMapSites, view(Section::StackMapSites)?)?,
                slots: rows(Section::StackMapSlots, view(Section::StackMapSlots)?)?,
            },
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

    fn u64(&mut self) -> Result<u64, AotError> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
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
    use wasmtier_core::{Features, ValidatedModule};
    use wasmtier_engine_jit::aot::{CodeLayout, StackMapSite};

    use super::*;

    const WASM: &[u8] = b"\0asm\x01\0\0\0";

    fn sample() -> Vec<u8> {
        let image = CodeImage {
            code: vec![0xc3; 100],
            layout: CodeLayout {
                functions: vec![0..10, 16..40],
                entry_trampolines: vec![48],
                host_adapters: vec![64],
                traps: vec![(3, 1), (20, 7)],
                inlined: vec![1, 20],
                call_sites: vec![],
                stack_maps: vec![StackMapSite {
                    ret: 12,
                    frame_size: 32,
                    slots: vec![0, 8],
                }],
            },
        };
        let target = TargetInfo {
            triple: "x86_64-unknown-linux-gnu".into(),
            cpu_features: "has_avx=true".into(),
            flags: "opt_level=speed".into(),
        };
        let module = ValidatedModule::new(WASM, Features::default()).unwrap();
        write(
            &target,
            "wasm2",
            WASM,
            module.per_function(),
            module.type_shapes(),
            &image,
        )
    }

    fn parse_vec(bytes: &[u8]) -> Result<Artifact, AotError> {
        parse(&bytes.to_vec().into())
    }

    #[test]
    fn round_trips() {
        let bytes = sample();
        assert!(bytes.len().is_multiple_of(CODE_ALIGN as usize));
        let artifact = parse_vec(&bytes).unwrap();
        assert_eq!(&*artifact.wasm, WASM);
        let functions: Vec<_> = artifact.code_tables.functions.iter().collect();
        assert_eq!(functions, vec![[0, 10], [16, 40]]);
        let traps: Vec<_> = artifact.code_tables.traps.iter().collect();
        assert_eq!(traps, vec![[3, 1], [20, 7]]);
        let inlined = &artifact.code_tables.inlined;
        assert!(inlined.contains(1) && inlined.contains(20) && !inlined.contains(3));
        let (frame_size, slots) = artifact.code_tables.stack_maps.lookup(12).unwrap();
        assert_eq!((frame_size, slots.collect::<Vec<_>>()), (32, vec![0, 8]));
        assert_eq!(artifact.header.wasmtier_version, env!("CARGO_PKG_VERSION"));
        let code = artifact.header.code.clone();
        assert_eq!(&bytes[code.start as usize..code.end as usize], &[0xc3; 100]);
    }

    #[test]
    fn every_flipped_byte_is_caught() {
        let bytes = sample();
        let code_start = parse_vec(&bytes).unwrap().header.code.start as usize;
        for at in (0..bytes.len())
            .step_by(97)
            .chain([0, 8, 20, 40, code_start + 5])
        {
            let mut bad = bytes.clone();
            bad[at] ^= 0x55;
            assert!(parse_vec(&bad).is_err(), "flip at {at} accepted");
        }
    }

    #[test]
    fn truncation_and_foreign_files_are_named() {
        let bytes = sample();
        assert!(matches!(
            parse_vec(&bytes[..bytes.len() - 1]),
            Err(AotError::Truncated { .. })
        ));
        assert!(matches!(
            parse_vec(&bytes[..20]),
            Err(AotError::Truncated { .. })
        ));
        assert!(matches!(parse_vec(WASM), Err(AotError::NotArtifact)));
        let mut old = bytes.clone();
        old[8] = 9;
        assert!(matches!(
            parse_vec(&old),
            Err(AotError::FormatVersion { found: 9, .. })
        ));
    }
}
