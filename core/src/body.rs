//! Validating one function body, noting the instructions an engine may
//! have to treat specially.

use wasmparser::{
    BinaryReader, BinaryReaderError, FuncValidator, FunctionBody, ValidatorResources,
};

use crate::types::FuncType;

const NOP: u8 = 0x01;
const BLOCK: u8 = 0x02;
const LOOP: u8 = 0x03;
const IF: u8 = 0x04;
const SELECT: u8 = 0x1b;
const SELECT_TYPED: u8 = 0x1c;
const MEMORY_GROW: u8 = 0x40;
const I32_EQZ: u8 = 0x45;
const I32_EQ: u8 = 0x46;
const I32_NE: u8 = 0x47;
const MISC_PREFIX: u8 = 0xfc;
const TABLE_GROW: u32 = 15;

/// What the loader noticed in one body.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct BodyFacts {
    /// It contains `memory.grow` or `table.grow`.
    pub grows: bool,
    /// It contains a `block`, `loop` or `if` that takes parameters.
    pub block_params: bool,
    /// It contains a `select` right after `i32.eqz`, `i32.eq` or `i32.ne`.
    pub zero_test_selects: bool,
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
    let mut previous = NOP;
    while !reader.eof() {
        if let Some(rest) = bytes.get(reader.current_position()..) {
            note(rest, previous, types, &mut facts);
            previous = match rest.first() {
                Some(&NOP) | None => previous,
                Some(&opcode) => opcode,
            };
        }
        reader.visit_operator(&mut validator.visitor(reader.original_position()))??;
    }
    validator.finish(reader.original_position())?;
    Ok(facts)
}

/// Notes the instruction `code` starts with; `previous` is the opcode of
/// the instruction before it, `nop`s skipped. At an instruction boundary
/// the first byte is an opcode, never an immediate. A damaged immediate is
/// left for the validator to report.
#[inline]
fn note(code: &[u8], previous: u8, types: &[FuncType], facts: &mut BodyFacts) {
    match code {
        [SELECT | SELECT_TYPED, ..] => {
            facts.zero_test_selects |= matches!(previous, I32_EQZ | I32_EQ | I32_NE);
        }
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
