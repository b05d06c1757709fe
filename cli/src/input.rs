//! Reading a module file through the loader's bounded reader
//! (`wasmtier_core::input`), which also accepts wasmtier's artifacts.

use std::path::Path;

use anyhow::Result;

/// The whole of `path`, if it can be a module (binary or text) or an
/// artifact; otherwise an error saying why, read no further than needed.
pub fn read_module_file(path: &Path) -> Result<Vec<u8>> {
    Ok(wasmtier_core::input::read_module_file(
        path,
        crate::compile::is_artifact_prefix,
    )?)
}
