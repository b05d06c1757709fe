//! Typed arguments for `--invoke` and how results are printed.

use anyhow::{Context, Result, bail};
use wasmtier_core::{FuncType, Val, ValType};

/// Parses the command-line arguments of `--invoke` against the export's signature.
pub fn parse_args(name: &str, ty: &FuncType, raw: &[String]) -> Result<Vec<Val>> {
    if raw.len() != ty.params.len() {
        bail!(
            "`{name}` takes {} argument(s) {}, but {} were given",
            ty.params.len(),
            type_list(&ty.params),
            raw.len()
        );
    }
    ty.params
        .iter()
        .zip(raw)
        .enumerate()
        .map(|(i, (ty, text))| {
            parse_val(*ty, text).with_context(|| {
                format!(
                    "argument {} of `{name}`: `{text}` is not a valid {ty}",
                    i + 1
                )
            })
        })
        .collect()
}

fn type_list(types: &[ValType]) -> String {
    let names: Vec<String> = types.iter().map(ValType::to_string).collect();
    format!("({})", names.join(", "))
}

fn parse_int<T: TryFrom<i128>>(text: &str) -> Result<T> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let magnitude = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i128::from_str_radix(hex, 16)?,
        None => digits.parse::<i128>()?,
    };
    let value = if negative { -magnitude } else { magnitude };
    T::try_from(value).map_err(|_| anyhow::anyhow!("out of range"))
}

/// Accepts signed or unsigned spellings: `-1` and `4294967295` are the same i32.
fn parse_val(ty: ValType, text: &str) -> Result<Val> {
    Ok(match ty {
        ValType::I32 => {
            Val::I32(parse_int::<i32>(text).or_else(|_| parse_int::<u32>(text).map(|v| v as i32))?)
        }
        ValType::I64 => {
            Val::I64(parse_int::<i64>(text).or_else(|_| parse_int::<u64>(text).map(|v| v as i64))?)
        }
        ValType::F32 => Val::from_f32(text.parse()?),
        ValType::F64 => Val::from_f64(text.parse()?),
        ValType::V128 => Val::V128(parse_int::<u128>(text)?),
        ValType::FuncRef | ValType::ExternRef | ValType::ExnRef if text == "null" => {
            Val::default_for(ty)
        }
        ValType::FuncRef | ValType::ExternRef | ValType::ExnRef => {
            bail!("only `null` can be passed as a reference")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_accept_signed_unsigned_and_hex() {
        assert_eq!(parse_val(ValType::I32, "-1").unwrap(), Val::I32(-1));
        assert_eq!(parse_val(ValType::I32, "4294967295").unwrap(), Val::I32(-1));
        assert_eq!(parse_val(ValType::I64, "0x10").unwrap(), Val::I64(16));
        assert!(parse_val(ValType::I32, "4294967296").is_err());
        assert!(parse_val(ValType::I32, "x").is_err());
    }

    #[test]
    fn floats_keep_their_bits() {
        assert_eq!(parse_val(ValType::F64, "1.5").unwrap(), Val::from_f64(1.5));
        assert_eq!(
            parse_val(ValType::F32, "-0").unwrap(),
            Val::F32(0x8000_0000)
        );
    }

    #[test]
    fn argument_count_mismatch_names_the_signature() {
        let ty = FuncType::new([ValType::I32, ValType::F64], []);
        let err = parse_args("f", &ty, &["1".into()]).unwrap_err().to_string();
        assert!(err.contains("takes 2 argument(s) (i32, f64)"), "{err}");
    }
}
