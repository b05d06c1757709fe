//! Which proposals a module that failed to validate needs: what error
//! messages name (with the engines that have them).

use wasmparser::{CompositeInnerType, Operator, Parser, Payload, Validator};

use crate::features::{Features, PROPOSALS};

/// The proposals `features` leaves off without which `bytes` is not
/// valid, when those are the reason it does not validate (empty when it is
/// invalid anyway). Only run on a module that failed, so its repeated
/// validations cost nothing on the path that loads.
///
/// Typed function references and GC share one wasmparser flag, so for
/// those two the module itself says which: struct or array types, or a
/// GC instruction, mean `gc` (which includes typed references).
pub fn proposals_needed(bytes: &[u8], features: Features) -> Vec<&'static str> {
    // A decoder panic (see `with_limits`) counts as invalid.
    let valid = |features: Features| {
        std::panic::catch_unwind(|| {
            Validator::new_with_features(features.to_wasmparser())
                .validate_all(bytes)
                .is_ok()
        })
        .unwrap_or(false)
    };
    if !valid(Features::all()) {
        return Vec::new();
    }
    let typed = ["function-references", "gc"];
    let mut needed: Vec<&'static str> = PROPOSALS
        .iter()
        .copied()
        .filter(|name| !typed.contains(name))
        .filter(|name| !features.is_enabled(name) && !valid(Features::all().with(name, false)))
        .collect();
    let without_typed = Features::all()
        .with("function-references", false)
        .with("gc", false);
    let typed_on = features.function_references || features.gc;
    if !typed_on && !valid(without_typed) {
        needed.push(if uses_gc(bytes) {
            "gc"
        } else {
            "function-references"
        });
    }
    needed
}

/// Whether `bytes` declares a struct or array type or uses a GC
/// instruction.
fn uses_gc(bytes: &[u8]) -> bool {
    for payload in Parser::new(0).parse_all(bytes) {
        match payload {
            Ok(Payload::TypeSection(reader)) => {
                for group in reader.into_iter().flatten() {
                    let gc_type = group.types().any(|sub| {
                        matches!(
                            sub.composite_type.inner,
                            CompositeInnerType::Struct(_) | CompositeInnerType::Array(_)
                        )
                    });
                    if gc_type {
                        return true;
                    }
                }
            }
            Ok(Payload::CodeSectionEntry(body)) => {
                let Ok(mut operators) = body.get_operators_reader() else {
                    continue;
                };
                while let Ok(op) = operators.read() {
                    if is_gc_operator(&op) {
                        return true;
                    }
                }
            }
            Err(_) => return false,
            _ => {}
        }
    }
    false
}

fn is_gc_operator(op: &Operator<'_>) -> bool {
    macro_rules! gc_operators {
        ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
            match op {
                $( Operator::$op { .. } => gc_operators!(@is $proposal), )*
                _ => false,
            }
        };
        (@is gc) => { true };
        (@is $other:ident) => { false };
    }
    wasmparser::for_each_operator!(gc_operators)
}
