//! Reading a module file: whatever the user names, a regular file or not.
//!
//! `std::fs::read` of `/dev/zero`, `/dev/urandom` or an endless pipe never
//! returns and grows without bound. Here the first bytes decide early
//! whether the input can be a module at all (the binary format's magic, an
//! artifact's, or UTF-8 text), and no input may exceed [`MAX_INPUT`].
//! The CLI and the containerd shim read modules through it.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The largest input read: far above real modules (a CPython build is
/// ~100 MB), and it keeps an endless input from taking the host's memory.
pub const MAX_INPUT: u64 = 4 << 30;

/// How much is read before judging whether the input can be a module.
const FIRST_CHUNK: usize = 64 << 10;

/// Why a module file was not read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("`{}` is {size} bytes, more than the {} GiB wasmtier reads", path.display(), MAX_INPUT >> 30)]
    TooLarge { path: PathBuf, size: u64 },
    #[error("`{}` is more than the {} GiB wasmtier reads", path.display(), MAX_INPUT >> 30)]
    Endless { path: PathBuf },
    #[error(
        "`{}` is not a WebAssembly module: it starts with the bytes {first}, not the binary format's `\\0asm`",
        path.display()
    )]
    Binary { path: PathBuf, first: String },
    #[error(
        "`{}` is not a WebAssembly module: not the binary format (it starts with {first}, not `\\0asm`) and not text (not UTF-8 at byte {at})",
        path.display()
    )]
    NotText {
        path: PathBuf,
        first: String,
        at: usize,
    },
}

/// The whole of `path`, if it can be a module (binary or text) or, where
/// `is_artifact` accepts its first bytes, an artifact; otherwise an error
/// saying why, read no further than needed.
pub fn read_module_file(
    path: &Path,
    is_artifact: impl Fn(&[u8]) -> bool,
) -> Result<Vec<u8>, InputError> {
    let cannot_read = |source| InputError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(cannot_read)?;
    let size_hint = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size_hint > MAX_INPUT {
        return Err(InputError::TooLarge {
            path: path.to_path_buf(),
            size: size_hint,
        });
    }
    let mut bytes = Vec::with_capacity(size_hint as usize);
    (&mut file)
        .take(FIRST_CHUNK as u64)
        .read_to_end(&mut bytes)
        .map_err(cannot_read)?;
    if !bytes.starts_with(b"\0asm") && !is_artifact(&bytes) {
        judge_first_bytes(path, &bytes)?;
    }
    (&mut file)
        .take(MAX_INPUT + 1 - bytes.len() as u64)
        .read_to_end(&mut bytes)
        .map_err(cannot_read)?;
    if bytes.len() as u64 > MAX_INPUT {
        return Err(InputError::Endless {
            path: path.to_path_buf(),
        });
    }
    Ok(bytes)
}

/// Refuses an input whose first bytes (not the binary format's, nor an
/// artifact's) are not UTF-8 text.
fn judge_first_bytes(path: &Path, first: &[u8]) -> Result<(), InputError> {
    let shown = first
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    // Text never starts with NUL; a binary module always does.
    if first.first() == Some(&0) {
        return Err(InputError::Binary {
            path: path.to_path_buf(),
            first: shown,
        });
    }
    if let Err(e) = std::str::from_utf8(first) {
        // A character cut off at the chunk's end is not an error.
        if e.error_len().is_some() {
            return Err(InputError::NotText {
                path: path.to_path_buf(),
                first: shown,
                at: e.valid_up_to(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(bytes: &[u8]) -> Result<(), InputError> {
        judge_first_bytes(Path::new("x"), bytes)
    }

    #[test]
    fn text_passes_and_the_rest_is_named() {
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

    #[test]
    fn endless_and_missing_inputs_are_errors() {
        let zero = read_module_file(Path::new("/dev/zero"), |_| false).unwrap_err();
        assert!(matches!(zero, InputError::Binary { .. }), "{zero}");
        let missing = read_module_file(Path::new("/nonexistent/x.wasm"), |_| false).unwrap_err();
        assert_eq!(missing.to_string(), "cannot read `/nonexistent/x.wasm`");
    }
}
