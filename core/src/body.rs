//! Validating one function body, noting the instructions an engine may
//! have to treat specially.

use wasmparser::{
    BinaryReader, BinaryReaderError, FuncValidator, FunctionBody, ValidatorResources,
};

const MEMORY_GROW: u8 = 0x40;
const MISC_PREFIX: u8 = 0xfc;
const TABLE_GROW: u32 = 15;

/// Validates `body` as `FuncValidator::validate` does, and says whether it
/// contains `memory.grow` or `table.grow` (the interpreter rewrites those:
/// engine-interp's `grow.rs`). The check reads one byte at each instruction
/// boundary, so the loader learns this at no measurable cost.
pub(crate) fn validate_body(
    validator: &mut FuncValidator<ValidatorResources>,
    body: &FunctionBody<'_>,
) -> Result<bool, BinaryReaderError> {
    let mut reader = body.get_binary_reader();
    validator.read_locals(&mut reader)?;
    reader.set_features(*validator.features());
    let mut grows = false;
    while !reader.eof() {
        grows = grows || starts_with_grow(&reader);
        reader.visit_operator(&mut validator.visitor(reader.original_position()))??;
    }
    validator.finish(reader.original_position())?;
    Ok(grows)
}

/// Whether the instruction at `reader`'s position is a grow. At an
/// instruction boundary the first byte is an opcode, never an immediate.
fn starts_with_grow(reader: &BinaryReader<'_>) -> bool {
    let mut peek = reader.clone();
    match peek.read_u8() {
        Ok(MEMORY_GROW) => true,
        Ok(MISC_PREFIX) => matches!(peek.read_var_u32(), Ok(TABLE_GROW)),
        _ => false,
    }
}
