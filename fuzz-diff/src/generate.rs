//! Seeds to modules with `wasm-smith`.

use arbitrary::Unstructured;
use wasm_smith::{Config, InstructionKind, InstructionKinds, Module};
use wasmparser::{Operator, Parser, Payload};

use crate::Rng;

/// The loop/call budget of the fuel global `ensure_termination` adds:
/// enough for real work, small enough that every module ends quickly.
const MODULE_FUEL: u32 = 5_000;

/// The generator configuration: everything every engine supports
/// (Wasm 2.0 with SIMD, tail calls, extended constants, multi-memory,
/// memory64; exception handling or typed function references for some
/// seeds, see [`from_seed`]),
/// nothing whose result may legally differ between engines
/// (relaxed SIMD), NaNs canonicalized, no imports (nothing to link), small
/// memories and tables.
pub fn config() -> Config {
    Config {
        max_imports: 0,
        export_everything: true,
        canonicalize_nans: true,
        simd_enabled: true,
        relaxed_simd_enabled: false,
        bulk_memory_enabled: true,
        reference_types_enabled: true,
        multi_value_enabled: true,
        saturating_float_to_int_enabled: true,
        sign_extension_ops_enabled: true,
        tail_call_enabled: true,
        extended_const_enabled: true,
        memory64_enabled: true,
        max_memories: 2,
        max_tables: 3,
        exceptions_enabled: false,
        gc_enabled: false,
        threads_enabled: false,
        custom_page_sizes_enabled: false,
        wide_arithmetic_enabled: false,
        max_memory32_bytes: 16 << 16,
        max_memory64_bytes: 16 << 16,
        memory_max_size_required: true,
        max_table_elements: 1_000,
        table_max_size_required: true,
        // Random bytes often pick "no functions"; insist on some, and on a
        // memory and globals for the calls to leave traces in.
        min_funcs: 3,
        max_funcs: 30,
        min_memories: 1,
        min_globals: 1,
        max_instructions: 300,
        max_data_segments: 10,
        max_element_segments: 10,
        ..Config::default()
    }
}

/// Builds a module from arbitrary bytes (what a fuzzer hands us).
pub fn from_bytes(data: &[u8]) -> Option<Vec<u8>> {
    build(config(), data)
}

/// The module for `seed`: the same bytes on every machine.
///
/// wasm-smith decides "one more?" with a coin flip, so uniformly random
/// input makes small modules; a fuzzer learns to steer it, a seed replay
/// does not. The seed therefore also picks the minimum counts.
pub fn from_seed(seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut config = config();
    config.min_types = 1 + rng.below(8) as usize;
    config.min_funcs = 1 + rng.below(20) as usize;
    config.min_globals = rng.below(6) as usize;
    config.min_exports = rng.below(4) as usize;
    config.min_data_segments = rng.below(3) as usize;
    config.min_element_segments = rng.below(3) as usize;
    config.min_tables = rng.below(2) as u32;
    // The proposals not every engine runs, compared on the engines that
    // run them (the compiled tiers), each in one seed pair in four: the
    // lowest bit picks engine fuel (metered code, `fuel_for` in the replay
    // and the long run), so each share runs metered and unmetered.
    // Exception handling: throws and catches. Typed function references
    // (see [`with_function_references`]), half of them with exceptions
    // too (`exnref` is `(ref null exn)`, which `br_on_null` and
    // `ref.as_non_null` take).
    let share = (seed >> 1) % 4;
    config.exceptions_enabled = share == 3 || (share == 2 && (seed >> 3) % 2 == 1);
    if share == 2 {
        config = with_function_references(config);
    }
    let len = 4096 + rng.below(28 * 1024) as usize;
    let data = rng.bytes(len);
    build(config, &data)
        .or_else(|| from_bytes(&data))
        .expect("wasm-smith makes a module from any input with the default counts")
}

/// `config` with typed function references (`call_ref`,
/// `return_call_ref`, `ref.as_non_null`, `br_on_null`, `br_on_non_null`,
/// concrete and non-nullable reference types).
///
/// wasm-smith 0.228 has no switch for function references alone: its
/// `gc_enabled` brings them together with the GC proposal's types (rec
/// groups, subtypes, struct and array types, the `any` hierarchy), which
/// our loader accepts (they can be declared), and the GC instructions,
/// which the engines refuse. The "aggregate" instruction kind (`struct.*`,
/// `array.*`, `ref.i31`, `i31.get_*`, `any.convert_extern`,
/// `extern.convert_any`) can be left out; the GC instructions wasm-smith
/// files under other kinds (`ref.eq`, `ref.test`, `ref.cast`, `br_on_cast`,
/// `br_on_cast_fail`) cannot, so [`build`] replaces them with
/// `unreachable` (see [`without_gc_instructions`]).
pub fn with_function_references(config: Config) -> Config {
    Config {
        gc_enabled: true,
        allowed_instructions: InstructionKinds::new(&[
            InstructionKind::Numeric,
            InstructionKind::Vector,
            InstructionKind::Reference,
            InstructionKind::Parametric,
            InstructionKind::Variable,
            InstructionKind::Table,
            InstructionKind::Memory,
            InstructionKind::Control,
        ]),
        ..config
    }
}

fn build(config: Config, data: &[u8]) -> Option<Vec<u8>> {
    let gc = config.gc_enabled;
    let mut u = Unstructured::new(data);
    let mut module = Module::new(config, &mut u).ok()?;
    module.ensure_termination(MODULE_FUEL).ok()?;
    let bytes = module.to_bytes();
    Some(if gc {
        without_gc_instructions(bytes)
    } else {
        bytes
    })
}

/// `bytes` with every GC instruction in a function body overwritten, in
/// place, by `unreachable` and as many `nop`s as the instruction had more
/// bytes. Nothing moves, so no size or offset changes; the code after an
/// `unreachable` is stack-polymorphic, so the body stays valid whatever
/// the instruction produced. Reaching it traps on every engine alike.
/// Malformed input (wasm-smith never makes it) is returned as it is.
pub fn without_gc_instructions(mut bytes: Vec<u8>) -> Vec<u8> {
    let mut ranges = Vec::new();
    for payload in Parser::new(0).parse_all(&bytes) {
        let Ok(Payload::CodeSectionEntry(body)) = payload else {
            continue;
        };
        let Ok(mut reader) = body.get_operators_reader() else {
            continue;
        };
        while !reader.eof() {
            let start = reader.original_position();
            let Ok(op) = reader.read() else {
                break;
            };
            if is_gc_instruction(&op) {
                ranges.push(start..reader.original_position());
            }
        }
    }
    for range in ranges {
        bytes[range.start] = 0x00; // unreachable
        bytes[range.start + 1..range.end].fill(0x01); // nop
    }
    bytes
}

/// The GC proposal's instructions (wasmparser's `@gc` group), which the
/// engines refuse.
fn is_gc_instruction(op: &Operator) -> bool {
    use Operator::*;
    matches!(
        op,
        RefEq
            | StructNew { .. }
            | StructNewDefault { .. }
            | StructGet { .. }
            | StructGetS { .. }
            | StructGetU { .. }
            | StructSet { .. }
            | ArrayNew { .. }
            | ArrayNewDefault { .. }
            | ArrayNewFixed { .. }
            | ArrayNewData { .. }
            | ArrayNewElem { .. }
            | ArrayGet { .. }
            | ArrayGetS { .. }
            | ArrayGetU { .. }
            | ArraySet { .. }
            | ArrayLen
            | ArrayFill { .. }
            | ArrayCopy { .. }
            | ArrayInitData { .. }
            | ArrayInitElem { .. }
            | RefTestNonNull { .. }
            | RefTestNullable { .. }
            | RefCastNonNull { .. }
            | RefCastNullable { .. }
            | BrOnCast { .. }
            | BrOnCastFail { .. }
            | AnyConvertExtern
            | ExternConvertAny
            | RefI31
            | I31GetS
            | I31GetU
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::{self, Step, Verdict};
    use wasmtier_core::{Features, Val, ValidatedModule};

    fn gc_instructions(bytes: &[u8]) -> usize {
        let mut count = 0;
        for payload in Parser::new(0).parse_all(bytes) {
            if let Ok(Payload::CodeSectionEntry(body)) = payload {
                let mut reader = body.get_operators_reader().unwrap();
                while !reader.eof() {
                    count += usize::from(is_gc_instruction(&reader.read().unwrap()));
                }
            }
        }
        count
    }

    #[test]
    fn gc_instructions_become_traps_in_a_module_that_stays_valid() {
        let bytes = wat::parse_str(
            r#"(module
              (type $f (func (result i32)))
              (func $one (type $f) (i32.const 1))
              (elem declare func $one)
              (func (export "test") (result i32)
                (ref.test (ref $f) (ref.func $one)))
              (func (export "cast") (result i32)
                (call_ref $f (ref.cast (ref $f) (ref.func $one))))
              (func (export "eq") (result i32)
                (ref.eq (ref.null eq) (ref.null none)))
              (func (export "branch") (result funcref)
                (block $l (result (ref $f))
                  (br_on_cast $l funcref (ref $f) (ref.func $one))
                  (br_on_cast_fail $l funcref (ref $f))
                  (return)))
              (func (export "typed") (result i32)
                (i32.add (call_ref $f (ref.as_non_null (ref.func $one))) (i32.const 1))))"#,
        )
        .unwrap();
        assert_eq!(gc_instructions(&bytes), 5);
        let patched = without_gc_instructions(bytes.clone());
        assert_eq!(patched.len(), bytes.len());
        assert_eq!(gc_instructions(&patched), 0);
        ValidatedModule::new(&patched, Features::finished()).unwrap();
        // Where the compiled tiers are built: each runs the module, the
        // overwritten instructions trap, the rest runs.
        let Some(jit) = diff::ENGINES.iter().find(|spec| spec.name() == "jit") else {
            return;
        };
        assert!(diff::compile_refusals(&patched).is_empty());
        let verdict = diff::check(&patched, None);
        assert!(matches!(verdict, Verdict::Agree { steps: 6 }), "{verdict}");
        let module =
            std::sync::Arc::new(ValidatedModule::new(&patched, Features::finished()).unwrap());
        let trace = diff::run(jit.create(diff::engine_config(None)), &module);
        let outcomes: Vec<_> = trace.steps[1..]
            .iter()
            .map(|step| match step {
                Step::Call { outcome, .. } => outcome.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        let trap = || Err("trap: unreachable".to_string());
        assert_eq!(
            outcomes,
            [trap(), trap(), trap(), trap(), Ok(vec![Val::I32(2)])]
        );
    }
}
