//! Script values to [`Val`]s, and results against the script's expectations.
//!
//! Floats compare by bits, except for the NaN patterns: `nan:canonical`
//! (only the quiet bit set in the payload, either sign) and `nan:arithmetic`
//! (quiet bit set, any payload). `v128` compares lane by lane in the shape
//! the script wrote, so float lanes can hold NaN patterns too.

use wasmtier_core::{AnyRef, Val};
use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::{WastArg, WastRet};

/// The value of an `invoke` argument.
pub fn argument(arg: &WastArg<'_>) -> Result<Val, String> {
    let WastArg::Core(arg) = arg else {
        return Err("component-model arguments are not supported".into());
    };
    Ok(match arg {
        WastArgCore::I32(v) => Val::I32(*v),
        WastArgCore::I64(v) => Val::I64(*v),
        WastArgCore::F32(v) => Val::F32(v.bits),
        WastArgCore::F64(v) => Val::F64(v.bits),
        WastArgCore::V128(v) => Val::V128(u128::from_le_bytes(v.to_le_bytes())),
        WastArgCore::RefNull(heap) => match null_kind(heap) {
            Some(RefKind::Func) => Val::FuncRef(None),
            Some(RefKind::Extern) => Val::ExternRef(None),
            Some(RefKind::Exn) => Val::ExnRef(None),
            Some(RefKind::Any) => Val::AnyRef(None),
            None => return Err(format!("unsupported null reference type {heap:?}")),
        },
        WastArgCore::RefExtern(n) => Val::ExternRef(Some(*n)),
        WastArgCore::RefHost(n) => Val::AnyRef(Some(AnyRef::Host(*n))),
    })
}

enum RefKind {
    Func,
    Extern,
    Exn,
    /// The GC proposal's internal hierarchy (`any`, `eq`, `none`, ...).
    Any,
}

/// Which reference type a null of heap type `heap` is.
fn null_kind(heap: &HeapType<'_>) -> Option<RefKind> {
    match heap {
        HeapType::Abstract { shared: false, ty } => match ty {
            AbstractHeapType::Func | AbstractHeapType::NoFunc => Some(RefKind::Func),
            AbstractHeapType::Extern | AbstractHeapType::NoExtern => Some(RefKind::Extern),
            AbstractHeapType::Exn | AbstractHeapType::NoExn => Some(RefKind::Exn),
            AbstractHeapType::Any
            | AbstractHeapType::Eq
            | AbstractHeapType::I31
            | AbstractHeapType::Struct
            | AbstractHeapType::Array
            | AbstractHeapType::None => Some(RefKind::Any),
            _ => None,
        },
        _ => None,
    }
}

/// Whether `actual` is one of the values `expected` allows.
pub fn matches(expected: &WastRet<'_>, actual: &Val) -> bool {
    match expected {
        WastRet::Core(expected) => matches_core(expected, actual),
        _ => false,
    }
}

fn matches_core(expected: &WastRetCore<'_>, actual: &Val) -> bool {
    match (expected, actual) {
        (WastRetCore::I32(e), Val::I32(a)) => e == a,
        (WastRetCore::I64(e), Val::I64(a)) => e == a,
        (WastRetCore::F32(e), Val::F32(a)) => f32_matches(e, *a),
        (WastRetCore::F64(e), Val::F64(a)) => f64_matches(e, *a),
        (WastRetCore::V128(e), Val::V128(a)) => v128_matches(e, *a),
        (WastRetCore::RefNull(heap), Val::FuncRef(None)) => heap
            .as_ref()
            .is_none_or(|h| matches!(null_kind(h), Some(RefKind::Func))),
        (WastRetCore::RefNull(heap), Val::ExternRef(None)) => heap
            .as_ref()
            .is_none_or(|h| matches!(null_kind(h), Some(RefKind::Extern))),
        (WastRetCore::RefNull(heap), Val::ExnRef(None)) => heap
            .as_ref()
            .is_none_or(|h| matches!(null_kind(h), Some(RefKind::Exn))),
        (WastRetCore::RefNull(heap), Val::AnyRef(None)) => heap
            .as_ref()
            .is_none_or(|h| matches!(null_kind(h), Some(RefKind::Any))),
        (WastRetCore::RefExtern(e), Val::ExternRef(Some(a))) => e.is_none_or(|e| e == *a),
        // An internal reference made external: only `(ref.extern)` without
        // a number matches it.
        (WastRetCore::RefExtern(None), Val::ExternAny(_)) => true,
        (WastRetCore::RefHost(e), Val::AnyRef(Some(AnyRef::Host(a)))) => e == a,
        (WastRetCore::RefAny, Val::AnyRef(Some(_))) => true,
        (WastRetCore::RefEq, Val::AnyRef(Some(r))) => !matches!(r, AnyRef::Host(_)),
        (WastRetCore::RefI31, Val::AnyRef(Some(AnyRef::I31(_)))) => true,
        (WastRetCore::RefStruct, Val::AnyRef(Some(AnyRef::Struct(_)))) => true,
        (WastRetCore::RefArray, Val::AnyRef(Some(AnyRef::Array(_)))) => true,
        // Function identity is not observable through the engine boundary:
        // any non-null function reference matches `ref.func`.
        (WastRetCore::RefFunc(_), Val::FuncRef(Some(_))) => true,
        (WastRetCore::Either(cases), _) => cases.iter().any(|c| matches_core(c, actual)),
        _ => false,
    }
}

fn f32_matches(expected: &NanPattern<wast::token::F32>, bits: u32) -> bool {
    let is_nan = bits & 0x7f80_0000 == 0x7f80_0000 && bits & 0x007f_ffff != 0;
    match expected {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff == 0x7fc0_0000,
        NanPattern::ArithmeticNan => is_nan && bits & 0x0040_0000 != 0,
        NanPattern::Value(v) => v.bits == bits,
    }
}

fn f64_matches(expected: &NanPattern<wast::token::F64>, bits: u64) -> bool {
    const EXP: u64 = 0x7ff0_0000_0000_0000;
    const QUIET: u64 = 0x0008_0000_0000_0000;
    let is_nan = bits & EXP == EXP && bits & 0x000f_ffff_ffff_ffff != 0;
    match expected {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff_ffff_ffff == EXP | QUIET,
        NanPattern::ArithmeticNan => is_nan && bits & QUIET != 0,
        NanPattern::Value(v) => v.bits == bits,
    }
}

/// Lane `i` of `width` bits.
fn lane(v: u128, width: u32, i: usize) -> u128 {
    let mask = if width == 128 {
        u128::MAX
    } else {
        (1u128 << width) - 1
    };
    (v >> (width as usize * i)) & mask
}

fn v128_matches(expected: &V128Pattern, actual: u128) -> bool {
    match expected {
        V128Pattern::I8x16(e) => e
            .iter()
            .enumerate()
            .all(|(i, e)| lane(actual, 8, i) as u8 == *e as u8),
        V128Pattern::I16x8(e) => e
            .iter()
            .enumerate()
            .all(|(i, e)| lane(actual, 16, i) as u16 == *e as u16),
        V128Pattern::I32x4(e) => e
            .iter()
            .enumerate()
            .all(|(i, e)| lane(actual, 32, i) as u32 == *e as u32),
        V128Pattern::I64x2(e) => e
            .iter()
            .enumerate()
            .all(|(i, e)| lane(actual, 64, i) as u64 == *e as u64),
        V128Pattern::F32x4(e) => e
            .iter()
            .enumerate()
            .all(|(i, e)| f32_matches(e, lane(actual, 32, i) as u32)),
        V128Pattern::F64x2(e) => e
            .iter()
            .enumerate()
            .all(|(i, e)| f64_matches(e, lane(actual, 64, i) as u64)),
    }
}

/// A value as the failure messages show it: type, then value and bits
/// where the bits matter.
pub fn show_val(val: &Val) -> String {
    match *val {
        Val::I32(v) => format!("i32 {v} ({:#x})", v as u32),
        Val::I64(v) => format!("i64 {v} ({:#x})", v as u64),
        Val::F32(bits) => format!("f32 {} ({bits:#010x})", f32::from_bits(bits)),
        Val::F64(bits) => format!("f64 {} ({bits:#018x})", f64::from_bits(bits)),
        Val::V128(v) => format!("v128 {v:#034x}"),
        Val::FuncRef(None) => "ref.null func".into(),
        Val::FuncRef(Some(h)) => format!("ref.func #{}", h.0),
        Val::ExternRef(None) => "ref.null extern".into(),
        Val::ExternRef(Some(n)) => format!("ref.extern {n}"),
        Val::ExnRef(None) => "ref.null exn".into(),
        Val::ExnRef(Some(_)) => "ref.exn".into(),
        Val::AnyRef(None) => "ref.null any".into(),
        Val::AnyRef(Some(r)) => format!("ref.any ({r})"),
        Val::ExternAny(r) => format!("ref.extern ({r})"),
    }
}

/// An expectation as the failure messages show it.
pub fn show_expected(expected: &WastRet<'_>) -> String {
    match expected {
        WastRet::Core(core) => show_core(core),
        _ => "<component value>".into(),
    }
}

fn show_core(expected: &WastRetCore<'_>) -> String {
    match expected {
        WastRetCore::I32(v) => format!("i32 {v} ({:#x})", *v as u32),
        WastRetCore::I64(v) => format!("i64 {v} ({:#x})", *v as u64),
        WastRetCore::F32(p) => format!("f32 {}", show_nan_pattern32(p)),
        WastRetCore::F64(p) => format!("f64 {}", show_nan_pattern64(p)),
        WastRetCore::V128(p) => format!("v128 {}", show_v128_pattern(p)),
        WastRetCore::RefNull(None) => "ref.null".into(),
        WastRetCore::RefNull(Some(h)) => format!("ref.null {h:?}"),
        WastRetCore::RefExtern(None) => "ref.extern".into(),
        WastRetCore::RefExtern(Some(n)) => format!("ref.extern {n}"),
        WastRetCore::RefFunc(_) => "ref.func".into(),
        WastRetCore::RefHost(n) => format!("ref.host {n}"),
        WastRetCore::RefAny => "ref.any".into(),
        WastRetCore::RefEq => "ref.eq".into(),
        WastRetCore::RefArray => "ref.array".into(),
        WastRetCore::RefStruct => "ref.struct".into(),
        WastRetCore::RefI31 | WastRetCore::RefI31Shared => "ref.i31".into(),
        WastRetCore::Either(cases) => {
            let cases: Vec<String> = cases.iter().map(show_core).collect();
            format!("either({})", cases.join(" | "))
        }
    }
}

fn show_nan_pattern32(p: &NanPattern<wast::token::F32>) -> String {
    match p {
        NanPattern::CanonicalNan => "nan:canonical".into(),
        NanPattern::ArithmeticNan => "nan:arithmetic".into(),
        NanPattern::Value(v) => format!("{} ({:#010x})", f32::from_bits(v.bits), v.bits),
    }
}

fn show_nan_pattern64(p: &NanPattern<wast::token::F64>) -> String {
    match p {
        NanPattern::CanonicalNan => "nan:canonical".into(),
        NanPattern::ArithmeticNan => "nan:arithmetic".into(),
        NanPattern::Value(v) => format!("{} ({:#018x})", f64::from_bits(v.bits), v.bits),
    }
}

fn show_v128_pattern(p: &V128Pattern) -> String {
    fn join<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
        items.iter().map(f).collect::<Vec<_>>().join(" ")
    }
    match p {
        V128Pattern::I8x16(l) => format!("i8x16 {}", join(l, |v| v.to_string())),
        V128Pattern::I16x8(l) => format!("i16x8 {}", join(l, |v| v.to_string())),
        V128Pattern::I32x4(l) => format!("i32x4 {}", join(l, |v| v.to_string())),
        V128Pattern::I64x2(l) => format!("i64x2 {}", join(l, |v| v.to_string())),
        V128Pattern::F32x4(l) => format!("f32x4 {}", join(l, show_nan_pattern32)),
        V128Pattern::F64x2(l) => format!("f64x2 {}", join(l, show_nan_pattern64)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32_pattern(p: NanPattern<wast::token::F32>, bits: u32) -> bool {
        f32_matches(&p, bits)
    }

    #[test]
    fn canonical_nan_is_only_the_quiet_bit_either_sign() {
        assert!(f32_pattern(NanPattern::CanonicalNan, 0x7fc0_0000));
        assert!(f32_pattern(NanPattern::CanonicalNan, 0xffc0_0000));
        assert!(!f32_pattern(NanPattern::CanonicalNan, 0x7fc0_0001));
        assert!(!f32_pattern(NanPattern::CanonicalNan, 0x7f80_0000));
        assert!(f64_matches(
            &NanPattern::CanonicalNan,
            0xfff8_0000_0000_0000
        ));
        assert!(!f64_matches(
            &NanPattern::CanonicalNan,
            0x7ff8_0000_0000_0001
        ));
    }

    #[test]
    fn arithmetic_nan_needs_the_quiet_bit_and_allows_any_payload() {
        assert!(f32_pattern(NanPattern::ArithmeticNan, 0x7fc0_0001));
        assert!(f32_pattern(NanPattern::ArithmeticNan, 0xffff_ffff));
        assert!(!f32_pattern(NanPattern::ArithmeticNan, 0x7fa0_0000));
        assert!(!f32_pattern(NanPattern::ArithmeticNan, 0x7f80_0000));
        assert!(f64_matches(
            &NanPattern::ArithmeticNan,
            0x7ff8_0000_0000_0001
        ));
        assert!(!f64_matches(
            &NanPattern::ArithmeticNan,
            0x7ff4_0000_0000_0000
        ));
    }

    #[test]
    fn floats_otherwise_compare_by_bits() {
        let zero = wast::token::F32 { bits: 0 };
        assert!(f32_pattern(NanPattern::Value(zero), 0));
        assert!(!f32_pattern(NanPattern::Value(zero), 0x8000_0000));
    }

    #[test]
    fn v128_compares_per_lane_in_the_written_shape() {
        let v = 0x0000_0004_0000_0003_0000_0002_ffff_ffffu128;
        assert!(v128_matches(&V128Pattern::I32x4([-1, 2, 3, 4]), v));
        assert!(!v128_matches(&V128Pattern::I32x4([-1, 2, 3, 5]), v));
        let nan_lanes = 0x7fc0_0000_7fc0_0000_7fc0_0000_7fc0_0000u128;
        assert!(v128_matches(
            &V128Pattern::F32x4([NanPattern::CanonicalNan; 4]),
            nan_lanes
        ));
    }
}
