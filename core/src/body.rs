//! Validating one function body, noting the instructions an engine may
//! have to treat specially.

use wasmparser::{
    BinaryReader, BinaryReaderError, FuncValidator, FunctionBody, ValidatorResources,
};

use crate::types::FuncType;

const BLOCK: u8 = 0x02;
const LOOP: u8 = 0x03;
const IF: u8 = 0x04;
const MEMORY_GROW: u8 = 0x40;
const MISC_PREFIX: u8 = 0xfc;
const TABLE_GROW: u32 = 15;

/// What the loader noticed in one body.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct BodyFacts {
    /// It contains `memory.grow` or `table.grow`.
    pub grows: bool,
    /// It contains a `block`, `loop` or `if` that takes parameters.
    pub block_params: bool,
}

/// Validates `body` as `FuncValidator::validate` does, and notes what
/// [`BodyFacts`] lists (the interpreter rewrites those: engine-interp's
/// `rewrite/`). The notes cost one or two bytes read at each instruction
/// boundary; `types` is the module's type section.
pub(crate) fn validate_body(
    validator: &mut FuncValidator<ValidatorResources>,
    body: &FunctionBody<'_>,
    types: &[FuncType],
) -> Result<BodyFacts, BinaryReaderError> {
    let mut reader = body.get_binary_reader();
    validator.read_locals(&mut reader)?;
    reader.set_features(*validator.features());
    let bytes = body.as_bytes();
    let mut facts = BodyFacts::default();
    while !reader.eof() {
        if let Some(rest) = bytes.get(reader.current_position()..) {
            note(rest, types, &mut facts);
        }
        reader.visit_operator(&mut validator.visitor(reader.original_position()))??;
    }
    validator.finish(reader.original_position())?;
    Ok(facts)
}

/// Notes the instruction `code` starts with. At an instruction boundary
/// the first byte is an opcode, never an immediate. A damaged immediate is
/// left for the validator to report.
#[inline]
fn note(code: &[u8], types: &[FuncType], facts: &mut BodyFacts) {
    match code {
        [MEMORY_GROW, ..] => facts.grows = true,
        [MISC_PREFIX, rest @ ..] => {
            facts.grows |= matches!(BinaryReader::new(rest, 0).read_var_u32(), Ok(TABLE_GROW));
        }
        // 0x40 or a value type: one byte with the sign bit set and no
        // continuation bit. Only a type index can have parameters.
        [BLOCK | LOOP | IF, first, ..] if first & 0xc0 == 0x40 => {}
        [BLOCK | LOOP | IF, rest @ ..] => facts.block_params |= takes_params(rest, types),
        _ => {}
    }
}

/// Whether the type index `code` starts with names a type with parameters.
fn takes_params(code: &[u8], types: &[FuncType]) -> bool {
    BinaryReader::new(code, 0)
        .read_var_s33()
        .ok()
        .and_then(|index| usize::try_from(index).ok())
        .and_then(|index| types.get(index))
        .is_some_and(|ty| !ty.params.is_empty())
}
