//! Damaged AOT artifacts. An artifact is native code, so the rule is
//! strict: a mutant of a valid artifact is refused, or it behaves exactly
//! like the original; loading or describing it never crashes the host.
//!
//! Two kinds of mutant:
//! - plain edits (bit flips, truncations, insertions): the checksum and the
//!   header checks must catch every one that changes anything that matters,
//!   and a mutant that still loads is run and compared with the original;
//! - resealed edits, whose CRC-32 is recomputed as an attacker would: the
//!   checksum is no defence then, so these are only loaded (checked and
//!   mapped) and described, never run — loading one must still end in a
//!   clean error or a loaded module, never a panic.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;

use wasmtier_core::{Engine, Features, ValidatedModule};
use wasmtier_engines::aot::{AotEngine, artifact};

use crate::Rng;
use crate::diff::{self, Trace};

/// A valid artifact and what running it does.
pub struct Subject {
    pub artifact: Vec<u8>,
    expected: Trace,
}

/// What came of one mutant.
#[derive(Debug)]
pub enum ArtifactVerdict {
    /// Refused with an error (the message).
    Refused(String),
    /// Loaded, and (for a plain mutant) ran exactly like the original.
    Loaded,
    /// A panic, or a plain mutant that loaded and behaved differently.
    Finding(String),
}

fn engine() -> AotEngine {
    AotEngine::new(diff::engine_config(None))
}

/// Compiles `wasm` into an artifact in `scratch` and runs it once, or
/// `None` if the loader or the compiler refuses the module.
pub fn subject(wasm: &[u8], scratch: &Path) -> Option<Subject> {
    let module = Arc::new(ValidatedModule::new(wasm, Features::finished()).ok()?);
    let engine = engine();
    let path = scratch.join("subject.cwasm");
    engine.compile_to_file(&module, None, &path).ok()?;
    let compiled = engine.load_file(&path).ok()?;
    let expected = diff::run_compiled(&engine, compiled.as_ref());
    Some(Subject {
        artifact: std::fs::read(&path).ok()?,
        expected,
    })
}

/// Recomputes the CRC-32 in the prefix over the rest of `bytes`, as
/// someone editing an artifact on purpose would.
pub fn reseal(bytes: &mut [u8]) {
    if bytes.len() >= 32 {
        let checksum = crc32fast::hash(&bytes[32..]);
        bytes[24..28].copy_from_slice(&checksum.to_le_bytes());
    }
}

/// A mutant of `artifact`: one to four random edits, biased towards the
/// header and tables (the first 4 KiB) where decoding happens.
pub fn mutate(artifact: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut bytes = artifact.to_vec();
    for _ in 0..=rng.below(4) {
        if bytes.is_empty() {
            break;
        }
        let len = bytes.len() as u64;
        let at = if rng.below(4) == 0 {
            rng.below(len)
        } else {
            rng.below(len.min(4096))
        } as usize;
        match rng.below(6) {
            0 | 1 => bytes[at] ^= 1 << rng.below(8),
            2 => bytes[at] = rng.next_u64() as u8,
            3 => bytes.truncate(at),
            4 => {
                let count = 1 + rng.below(8) as usize;
                let extra = rng.bytes(count);
                bytes.splice(at..at, extra);
            }
            _ => {
                // A length or offset field made huge.
                let end = (at + 8).min(bytes.len());
                bytes[at..end].fill(0xff);
            }
        }
    }
    bytes
}

/// Applies a fuzzer's input to `artifact`: `[flags, (offset u32 LE, xor
/// u8)*]`; bit 0 of `flags` reseals the result.
pub fn edit(artifact: &[u8], data: &[u8]) -> (Vec<u8>, bool) {
    let mut bytes = artifact.to_vec();
    let Some((&flags, edits)) = data.split_first() else {
        return (bytes, false);
    };
    for edit in edits.chunks_exact(5) {
        let offset = u32::from_le_bytes([edit[0], edit[1], edit[2], edit[3]]) as usize;
        if !bytes.is_empty() {
            let at = offset % bytes.len();
            bytes[at] ^= edit[4];
        }
    }
    let resealed = flags & 1 == 1;
    if resealed {
        reseal(&mut bytes);
    }
    (bytes, resealed)
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    wasmtier_core::panic_message(&*panic).unwrap_or_else(|| "non-string panic".into())
}

/// Loads `mutant` (written to `scratch`) and, unless it was `resealed`,
/// runs it if it loads; also describes it as `inspect` does.
pub fn check(subject: &Subject, mutant: &[u8], resealed: bool, scratch: &Path) -> ArtifactVerdict {
    let path = scratch.join("mutant.cwasm");
    if let Err(err) = std::fs::write(&path, mutant) {
        return ArtifactVerdict::Refused(format!("cannot write the mutant: {err}"));
    }
    if let Err(panic) = catch_unwind(|| describe(mutant)) {
        return ArtifactVerdict::Finding(format!(
            "describing the artifact panicked: {}",
            panic_message(panic)
        ));
    }
    let engine = engine();
    let loaded = match catch_unwind(AssertUnwindSafe(|| engine.load_file(&path))) {
        Err(panic) => {
            return ArtifactVerdict::Finding(format!(
                "loading the artifact panicked: {}",
                panic_message(panic)
            ));
        }
        Ok(Err(err)) => return ArtifactVerdict::Refused(err.to_string()),
        Ok(Ok(loaded)) => loaded,
    };
    if resealed {
        // Checked and mapped, but its code is whatever the edit made it:
        // running it is the user's explicit choice, never the fuzzer's.
        return ArtifactVerdict::Loaded;
    }
    let trace = diff::run_compiled(&engine as &dyn Engine, loaded.as_ref());
    if trace.steps == subject.expected.steps {
        ArtifactVerdict::Loaded
    } else {
        ArtifactVerdict::Finding(format!(
            "a damaged artifact loaded and behaved differently:\n  original: {:?}\n  mutant:   {:?}",
            subject.expected.steps, trace.steps
        ))
    }
}

/// What `wasmtier inspect` reads: the header and tables without the
/// checksum, and the embedded module validated.
fn describe(bytes: &[u8]) {
    let file = artifact::without_seal(&bytes.to_vec().into());
    if let Ok((artifact, _)) = artifact::parse_unverified(&file) {
        let _ = ValidatedModule::new(&artifact.wasm, Features::all());
        for [start, end] in artifact.code_tables.functions.iter() {
            let _ = end.wrapping_sub(start);
        }
    }
}
