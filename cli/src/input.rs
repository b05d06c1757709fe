//! Reading a module file: whatever the user names, a regular file or not.
//!
//! `std::fs::read` of `/dev/zero`, `/dev/urandom` or an endless pipe never
//! returns and grows without bound. Here the first bytes decide early
//! whether the input can be a module at all (the binary format's magic, or
//! UTF-8 text), and no input may exceed `MAX_INPUT`.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// The largest input read: far above real modules (a CPython build is
/// ~100 MB), and it keeps an endless input from taking the host's memory.
pub const MAX_INPUT: u64 = 4 << 30;

/// How much is read before judging whether the input can be a module.
const FIRST_CHUNK: usize = 64 << 10;

/// The whole of `path`, if it can be a module (binary or text) or an
/// artifact; otherwise an error saying why, read no further than needed.
pub fn read_module_file(path: &Path) -> Result<Vec<u8>> {
    let cannot_read = || format!("cannot read `{}`", path.display());
    let mut file = File::open(path).with_context(cannot_read)?;
    let size_hint = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size_hint > MAX_INPUT {
        bail!(
            "`{}` is {size_hint} bytes, more than the {} GiB wasmtier reads",
            path.display(),
            MAX_INPUT >> 30
        );
    }
    let mut bytes = Vec::with_capacity(size_hint as usize);
    (&mut file)
        .take(FIRST_CHUNK as u64)
        .read_to_end(&mut bytes)
        .with_context(cannot_read)?;
    judge_first_bytes(path, &bytes)?;
    (&mut file)
        .take(MAX_INPUT + 1 - bytes.len() as u64)
        .read_to_end(&mut bytes)
        .with_context(cannot_read)?;
    if bytes.len() as u64 > MAX_INPUT {
        bail!(
            "`{}` is more than the {} GiB wasmtier reads",
            path.display(),
            MAX_INPUT >> 30
        );
    }
    Ok(bytes)
}

/// Refuses an input whose first bytes are neither the binary format, nor
/// an artifact, nor UTF-8 text.
fn judge_first_bytes(path: &Path, first: &[u8]) -> Result<()> {
    if first.starts_with(b"\0asm") || crate::compile::is_artifact_prefix(first) {
        return Ok(());
    }
    let shown = |bytes: &[u8]| {
        bytes
            .iter()
            .take(4)
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    // Text never starts with NUL; a binary module always does.
    if first.first() == Some(&0) {
        bail!(
            "`{}` is not a WebAssembly module: it starts with the bytes {}, not the binary format's `\\0asm`",
            path.display(),
            shown(first)
        );
    }
    if let Err(e) = std::str::from_utf8(first) {
        // A character cut off at the chunk's end is not an error.
        if e.error_len().is_some() {
            bail!(
                "`{}` is not a WebAssembly module: not the binary format (it starts with {}, not `\\0asm`) and not text (not UTF-8 at byte {})",
                path.display(),
                shown(first),
                e.valid_up_to()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(bytes: &[u8]) -> Result<()> {
        judge_first_bytes(Path::new("x"), bytes)
    }

    #[test]
    fn modules_and_text_pass_and_the_rest_is_named() {
        assert!(judged(b"\0asm\x01\0\0\0").is_ok());
        assert!(judged(b"(module)").is_ok());
        assert!(judged("(module) ;; é".as_bytes()).is_ok());
        // The first chunk may end in the middle of a character.
        assert!(judged(&"é".as_bytes()[..1]).is_ok());
        let zeros = judged(&[0; 16]).unwrap_err().to_string();
        assert!(
            zeros.contains("starts with the bytes 00 00 00 00"),
            "{zeros}"
        );
        let noise = judged(&[0xff, 0xfe, 0x41, 0x42]).unwrap_err().to_string();
        assert!(noise.contains("not UTF-8 at byte 0"), "{noise}");
    }
}
