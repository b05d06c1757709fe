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
const LOCAL_GET: u8 = 0x20;
const LOCAL_TEE: u8 = 0x22;
const I32_STORE: u8 = 0x36;
const I64_STORE: u8 = 0x37;
const I32_STORE8: u8 = 0x3a;
const I64_STORE32: u8 = 0x3e;
const I32_EQZ: u8 = 0x45;
const I32_EQ: u8 = 0x46;
const I32_NE: u8 = 0x47;
const MISC_PREFIX: u8 = 0xfc;
const TABLE_GROW: u32 = 15;
const DATA_DROP: u32 = 9;
const ELEM_DROP: u32 = 13;

/// What the loader noticed in one body.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct BodyFacts {
    /// It contains `memory.grow` or `table.grow`.
    pub grows: bool,
    /// It contains a `block`, `loop` or `if` that takes parameters.
    pub block_params: bool,
    /// It contains a `select` right after `i32.eqz`, `i32.eq` or `i32.ne`.
    pub zero_test_selects: bool,
    /// It contains an integer store with an offset above 65535 or to a
    /// memory other than 0, right after a `local.get` or `local.tee`.
    pub far_stores_of_locals: bool,
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
    // The opcode of the instruction before, skipping those that leave the
    // operand stack alone.
    let mut previous = NOP;
    while !reader.eof() {
        if let Some(rest) = bytes.get(reader.current_position()..) {
            note(rest, previous, types, &mut facts);
            if !leaves_the_stack_alone(rest) {
                previous = rest[0];
            }
        }
        reader.visit_operator(&mut validator.visitor(reader.original_position()))??;
    }
    validator.finish(reader.original_position())?;
    Ok(facts)
}

/// Notes the instruction `code` starts with; `previous` is the opcode of
/// the instruction before it, skipping those that leave the operand stack
/// alone. At an instruction boundary the first byte is an opcode, never an
/// immediate. A damaged immediate is left for the validator to report.
#[inline]
fn note(code: &[u8], previous: u8, types: &[FuncType], facts: &mut BodyFacts) {
    match code {
        [SELECT | SELECT_TYPED, ..] => {
            facts.zero_test_selects |= matches!(previous, I32_EQZ | I32_EQ | I32_NE);
        }
        [
            I32_STORE | I64_STORE | I32_STORE8..=I64_STORE32,
            memarg @ ..,
        ] if matches!(previous, LOCAL_GET | LOCAL_TEE) => {
            facts.far_stores_of_locals |= is_far(memarg);
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

/// Whether a memory argument names a memory other than 0 or an offset
/// above 65535. Its flags have bit 6 set when a memory index follows.
fn is_far(memarg: &[u8]) -> bool {
    let mut reader = BinaryReader::new(memarg, 0);
    let Ok(flags) = reader.read_var_u32() else {
        return false;
    };
    if flags & 0x40 != 0 && !matches!(reader.read_var_u32(), Ok(0)) {
        return true;
    }
    reader
        .read_var_u64()
        .is_ok_and(|offset| offset > u64::from(u16::MAX))
}

/// Whether the instruction `code` starts with pushes and pops nothing:
/// `nop`, `data.drop`, `elem.drop`.
fn leaves_the_stack_alone(code: &[u8]) -> bool {
    match code {
        [NOP, ..] | [] => true,
        [MISC_PREFIX, rest @ ..] => matches!(
            BinaryReader::new(rest, 0).read_var_u32(),
            Ok(DATA_DROP | ELEM_DROP)
        ),
        _ => false,
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
