//! What several of the JIT's test files share.

use wasmtier_core::Compilation;

/// Every way the JIT compiles that ends in optimized code: eagerly, on
/// first call, concurrently, and tiered with the tier-up on the first call
/// (switched on the calling thread, so the next call runs optimized code).
pub const OPTIMIZING: [Compilation; 4] = [
    Compilation::Eager,
    Compilation::Lazy,
    Compilation::Concurrent,
    Compilation::Tiered {
        tier_up_after: Some(1),
        background: false,
    },
];
