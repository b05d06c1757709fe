//! Reading a module file through the loader's bounded reader
//! (`wasmtier_core::input`), which also accepts wasmtier's artifacts.

use std::path::Path;

use anyhow::Result;
use wasmtier_core::input::FileBytes;

/// The whole of `path`, if it can be a module (binary or text) or an
/// artifact; otherwise an error saying why, read no further than needed.
pub fn read_module_file(path: &Path) -> Result<FileBytes> {
    Ok(wasmtier_core::input::read_module_file(
        path,
        crate::compile::is_artifact_prefix,
    )?)
}
