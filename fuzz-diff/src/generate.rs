//! Seeds to modules with `wasm-smith`.

use arbitrary::Unstructured;
use wasm_smith::{Config, Module};

use crate::Rng;

/// The loop/call budget of the fuel global `ensure_termination` adds:
/// enough for real work, small enough that every module ends quickly.
const MODULE_FUEL: u32 = 5_000;

/// The generator configuration: everything every engine supports
/// (Wasm 2.0 with SIMD, tail calls, extended constants, multi-memory,
/// memory64; exception handling or garbage collection for some seeds, see
/// [`from_seed`]),
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
    // Exception handling: throws and catches. Garbage collection with
    // typed function references (see [`with_gc`]), half of them with
    // exceptions too (`exnref` is `(ref null exn)`, which `br_on_null`
    // and `ref.as_non_null` take; tags may carry GC references).
    let share = (seed >> 1) % 4;
    config.exceptions_enabled = share == 3 || (share == 2 && (seed >> 3) % 2 == 1);
    if share == 2 {
        config = with_gc(config);
    }
    // The unmetered half of share 1 (seeds 3 mod 8): scalar code only,
    // what the JIT's single-pass baseline compiler compiles (see
    // [`scalar`]; it leaves metered code to Cranelift).
    if share == 1 && seed % 2 == 1 {
        config = scalar(config);
    }
    let len = 4096 + rng.below(28 * 1024) as usize;
    let data = rng.bytes(len);
    build(config, &data)
        .or_else(|| from_bytes(&data))
        .expect("wasm-smith makes a module from any input with the default counts")
}

/// `config` with the GC proposal: its types (rec groups, subtypes, struct
/// and array types, the `any` hierarchy, typed function references) and
/// every instruction (`struct.*`, `array.*`, `i31`, casts, `br_on_cast*`,
/// `ref.eq`, the extern/any conversions, `call_ref`, `br_on_null`, ...).
/// wasm-smith 0.228 has no switch for typed function references alone:
/// they come with `gc_enabled`.
pub fn with_gc(config: Config) -> Config {
    Config {
        gc_enabled: true,
        ..config
    }
}

/// `config` without the features whose functions the single-pass
/// baseline compiler leaves to Cranelift (SIMD, references and tables,
/// bulk memory, multi-value, tail calls, memory64, a second memory), so
/// that its code meets the other tiers' in `jit-baseline` and
/// `jit-tiered`: in the other shares few functions are scalar throughout.
pub fn scalar(config: Config) -> Config {
    Config {
        simd_enabled: false,
        reference_types_enabled: false,
        bulk_memory_enabled: false,
        multi_value_enabled: false,
        tail_call_enabled: false,
        memory64_enabled: false,
        max_memories: 1,
        max_tables: 0,
        min_tables: 0,
        min_element_segments: 0,
        max_element_segments: 0,
        ..config
    }
}

fn build(config: Config, data: &[u8]) -> Option<Vec<u8>> {
    let mut u = Unstructured::new(data);
    let mut module = Module::new(config, &mut u).ok()?;
    module.ensure_termination(MODULE_FUEL).ok()?;
    Some(module.to_bytes())
}

#[cfg(test)]
mod tests {
    use crate::diff::{self, Step, Verdict};
    use wasmtier_core::{AnyRef, Features, Val, ValidatedModule};

    #[test]
    fn gc_modules_run_on_the_compiled_tiers_and_agree() {
        let bytes = wat::parse_str(
            r#"(module
              (type $f (func (result i32)))
              (type $pair (struct (field i32) (field (mut anyref))))
              (func $one (type $f) (i32.const 1))
              (elem declare func $one)
              (func (export "test") (result i32)
                (ref.test (ref $f) (ref.func $one)))
              (func (export "cast") (result i32)
                (call_ref $f (ref.cast (ref $f) (ref.func $one))))
              (func (export "eq") (result i32)
                (ref.eq (ref.null eq) (ref.null none)))
              (func (export "pair") (result anyref)
                (struct.new $pair (i32.const 7) (ref.i31 (i32.const 5))))
              (func (export "i31") (result anyref) (ref.i31 (i32.const -1))))"#,
        )
        .unwrap();
        ValidatedModule::new(&bytes, Features::finished()).unwrap();
        let Some(jit) = diff::ENGINES.iter().find(|spec| spec.name() == "jit") else {
            return;
        };
        assert!(diff::compile_refusals(&bytes).is_empty());
        let verdict = diff::check(&bytes, None);
        assert!(matches!(verdict, Verdict::Agree { steps: 6 }), "{verdict}");
        let module =
            std::sync::Arc::new(ValidatedModule::new(&bytes, Features::finished()).unwrap());
        let trace = diff::run(jit.create(diff::engine_config(None)), &module);
        let outcomes: Vec<_> = trace.steps[1..]
            .iter()
            .map(|step| match step {
                Step::Call { outcome, .. } => outcome.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(outcomes.len(), 5);
        assert_eq!(
            outcomes[..3],
            [
                Ok(vec![Val::I32(1)]),
                Ok(vec![Val::I32(1)]),
                Ok(vec![Val::I32(1)])
            ]
        );
        assert!(
            matches!(
                outcomes[3].as_deref(),
                Ok([Val::AnyRef(Some(AnyRef::Struct(_)))])
            ),
            "{:?}",
            outcomes[3]
        );
        assert_eq!(
            outcomes[4],
            Ok(vec![Val::AnyRef(Some(AnyRef::I31(0x7fff_ffff)))])
        );
    }
}
