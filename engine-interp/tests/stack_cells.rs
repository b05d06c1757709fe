//! No guest reads a value-stack cell nothing wrote, in a process that does
//! NOT install `ZeroingAllocator` (this test binary has the system
//! allocator), as any embedder of the crate may run it.
//!
//! wasmi 2.0.0 mistranslates blocks with parameters so that later code can
//! read a never-written cell of its value stack, whose memory comes from
//! the global allocator uninitialized (RATIONALE.md, "Reads of
//! never-written stack cells"). The guarantee is the rewrite that spills
//! block parameters to locals, which keeps wasmi off the faulty path; this
//! test leaves freed heap blocks full of a marker behind before each engine
//! allocates its stack, and runs the reduced reproducer: a read of a
//! never-written cell would return the marker (or a value the `dirty`
//! function left), never the 0 the guest pushed. It fails with the spill
//! disabled.

use std::sync::Arc;

use wasmtier_core::{Engine, EngineConfig, Features, Val, ValidatedModule};
use wasmtier_engine_interp::InterpEngine;

/// The reduced module of the fuzz finding (fuzz-diff's
/// `reads_below_block_parameters_see_the_values_pushed`): the value below
/// the block's parameter must come back as pushed (`local.get 1`, 0).
const REPRODUCER: &str = r#"(module
  (func $dirty (local i64 i64 i64 i64)
    (local.set 0 (i64.const 0x1111)) (local.set 1 (i64.const 0x2222))
    (local.set 2 (i64.const 0x3333)) (local.set 3 (i64.const 0x4444)))
  (func (export "if") (param i64 i32) (result i64) (local i64)
    (if (local.get 1) (then (call $dirty)))
    local.get 2
    f32.const 0
    local.get 0
    i32.wrap_i64
    if (param f32)
      drop
      block
        i64.const 7
        return
      end
    else
      drop
    end)
  (func (export "block") (param i64 i32) (result i64) (local i64)
    (if (local.get 1) (then (call $dirty)))
    local.get 2
    f32.const 0
    block (param f32)
      local.get 0
      i32.wrap_i64
      i32.eqz
      br_if 0
      drop
      block
        i64.const 7
        return
      end
    end))"#;

/// Frees blocks of many sizes filled with `marker`, so that the next
/// allocations (wasmi's value stack among them) are likely to reuse them.
fn leave_marked_heap_behind(marker: u8) {
    let blocks: Vec<Vec<u8>> = (10..=20)
        .flat_map(|log2| [1usize << log2, (1 << log2) + (1 << (log2 - 1))])
        .map(|size| vec![marker; size])
        .collect();
    drop(std::hint::black_box(blocks));
}

#[test]
fn no_guest_reads_a_never_written_stack_cell_without_the_zeroing_allocator() {
    let bytes = wat::parse_str(REPRODUCER).unwrap();
    let module = Arc::new(ValidatedModule::new(&bytes, Features::default()).unwrap());
    for marker in [0xa5, 0x5a, 0xff] {
        for low_memory in [false, true] {
            leave_marked_heap_behind(marker);
            let engine = InterpEngine::new(EngineConfig {
                low_memory,
                ..EngineConfig::default()
            });
            let compiled = engine.compile(module.clone()).unwrap();
            let mut store = engine.new_store(Box::new(()));
            let instance = store.instantiate(compiled.as_ref()).unwrap();
            for export in ["if", "block"] {
                // First on a fresh stack (leftover heap), then after `dirty`
                // wrote its locals into the same cells.
                for dirty in [0, 1, 0] {
                    let args = [Val::I64(0), Val::I32(dirty)];
                    let result = store.call(instance, export, &args).unwrap();
                    assert_eq!(
                        result,
                        vec![Val::I64(0)],
                        "{export} after dirty={dirty}, marker {marker:#x}, low_memory {low_memory}"
                    );
                }
                let args = [Val::I64(1), Val::I32(0)];
                let result = store.call(instance, export, &args).unwrap();
                assert_eq!(result, vec![Val::I64(7)], "{export}");
            }
        }
    }
}
