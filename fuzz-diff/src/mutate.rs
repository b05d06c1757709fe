//! Damaged modules for the loader: bit flips, truncations, insertions,
//! overwritten bytes, all driven by a fixed-seed PRNG.

use std::panic::{AssertUnwindSafe, catch_unwind};

use wasmtier_core::{Features, LoadError, ValidatedModule};

use crate::Rng;

/// One to four random edits of `original`.
pub fn mutate(original: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for _ in 0..=rng.below(4) {
        let len = bytes.len() as u64;
        if len == 0 {
            bytes.push(rng.next_u64() as u8);
            continue;
        }
        let at = rng.below(len) as usize;
        match rng.below(5) {
            0 => bytes[at] ^= 1 << rng.below(8),
            1 => bytes[at] = rng.next_u64() as u8,
            2 => bytes.truncate(at),
            3 => {
                let count = 1 + rng.below(8) as usize;
                let extra = rng.bytes(count);
                bytes.splice(at..at, extra);
            }
            _ => {
                // A LEB128-looking run: the classic way to blow up a count.
                bytes.splice(at..at, [0xff, 0xff, 0xff, 0xff, 0x0f]);
            }
        }
    }
    bytes
}

/// What the loader did with some bytes.
#[derive(Debug)]
pub enum LoadOutcome {
    Valid(Box<ValidatedModule>),
    Refused(LoadError),
}

/// Loads `bytes`, turning a panic into an `Err` with its message.
pub fn load(bytes: &[u8]) -> Result<LoadOutcome, String> {
    let result = catch_unwind(AssertUnwindSafe(|| {
        ValidatedModule::new(bytes, Features::default())
    }));
    match result {
        Ok(Ok(module)) => Ok(LoadOutcome::Valid(Box::new(module))),
        Ok(Err(err)) => Ok(LoadOutcome::Refused(err)),
        Err(panic) => {
            Err(wasmtier_core::panic_message(&*panic).unwrap_or_else(|| "non-string panic".into()))
        }
    }
}

/// Whether a refusal says where: every error a binary can cause carries
/// its byte offset.
pub fn names_an_offset(err: &LoadError) -> bool {
    err.offset().is_some()
}
