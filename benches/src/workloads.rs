//! The workload suite: C programs built for wasm32-wasi and natively, each
//! printing `checksum:` lines so a fast wrong answer is caught.

/// One benchmark program.
pub struct Workload {
    pub name: &'static str,
    /// What it stresses, for the report.
    pub stresses: &'static str,
    /// Arguments for a measured run (sized for ~0.5 s of native code).
    pub args: &'static [&'static str],
    /// Arguments for the CI smoke run (milliseconds).
    pub smoke_args: &'static [&'static str],
    /// Extra clang flags for the wasm build (target features).
    pub wasm_flags: &'static [&'static str],
    /// Runs in a scratch directory preopened as `.`.
    pub needs_dir: bool,
    /// The wasm build is `<name>.wat`, hand-written (for what no C
    /// toolchain here emits); `<name>.c` stays the native reference.
    pub wat: bool,
    /// Post-2.0 proposals the module uses (`Features` names): engines
    /// without them are not run on it.
    pub proposals: &'static [&'static str],
}

impl Workload {
    /// Whether it counts in the compute geometric means: not start-up
    /// (hello), not I/O (a preopened directory), and no proposal that some
    /// peers lack (their rows compare runtimes that do different work).
    pub fn is_compute(&self) -> bool {
        self.name != "hello" && !self.needs_dir && self.proposals.is_empty()
    }
}

pub const WORKLOADS: &[Workload] = &[
    Workload {
        name: "hello",
        stresses: "start-up: a WASI hello world",
        args: &[],
        smoke_args: &[],
        wasm_flags: &[],
        needs_dir: false,
        wat: false,
        proposals: &[],
    },
    Workload {
        name: "coremark",
        stresses: "CoreMark-like mix: lists, matrices, state machine, CRC",
        args: &["5000"],
        smoke_args: &["50"],
        wasm_flags: &[],
        needs_dir: false,
        wat: false,
        proposals: &[],
    },
    Workload {
        name: "sha256",
        stresses: "integer hashing: i32 rotates, adds, logic",
        args: &["100"],
        smoke_args: &["1"],
        wasm_flags: &[],
        needs_dir: false,
        wat: false,
        proposals: &[],
    },
    Workload {
        name: "nbody",
        stresses: "f64 arithmetic and sqrt",
        args: &["8000000"],
        smoke_args: &["1000"],
        wasm_flags: &[],
        needs_dir: false,
        wat: false,
        proposals: &[],
    },
    Workload {
        name: "matmul",
        stresses: "f64 loads, stores, multiply-add",
        args: &["512", "8"],
        smoke_args: &["16", "1"],
        wasm_flags: &[],
        needs_dir: false,
        wat: false,
        proposals: &[],
    },
    Workload {
        name: "sieve",
        stresses: "byte stores and branches",
        args: &["16777216", "10"],
        smoke_args: &["10000", "1"],
        wasm_flags: &[],
        needs_dir: false,
        wat: false,
        proposals: &[],
    },
    Workload {
        name: "hashtable",
        stresses: "a 16 MiB hash table with random access",
        args: &["8000000"],
        smoke_args: &["10000"],
        wasm_flags: &[],
        needs_dir: false,
        wat: false,
        proposals: &[],
    },
    Workload {
        name: "qsort",
        stresses: "sorting through a comparator (call_indirect)",
        args: &["1000000", "3"],
        smoke_args: &["1000", "1"],
        wasm_flags: &[],
        needs_dir: false,
        wat: false,
        proposals: &[],
    },
    Workload {
        name: "fib",
        stresses: "direct calls and call_indirect",
        args: &["40", "34"],
        smoke_args: &["15", "12"],
        wasm_flags: &[],
        needs_dir: false,
        wat: false,
        proposals: &[],
    },
    Workload {
        name: "recursion",
        stresses: "deep recursion: call/return overhead, stack use",
        args: &["75000"],
        smoke_args: &["10"],
        wasm_flags: &[],
        needs_dir: false,
        wat: false,
        proposals: &[],
    },
    Workload {
        name: "bulkmem",
        stresses: "bulk memory: memory.copy and memory.fill",
        args: &["5000"],
        smoke_args: &["2"],
        wasm_flags: &["-mbulk-memory"],
        needs_dir: false,
        wat: false,
        proposals: &[],
    },
    Workload {
        name: "simd",
        stresses: "a v128 f32x4 kernel (saxpy + dot product)",
        args: &["400000"],
        smoke_args: &["10"],
        wasm_flags: &["-msimd128"],
        needs_dir: false,
        wat: false,
        proposals: &[],
    },
    Workload {
        name: "fileio",
        stresses: "WASI file I/O in a preopened directory",
        args: &["100", "32", "262144"],
        smoke_args: &["1", "4", "16384"],
        wasm_flags: &[],
        needs_dir: true,
        wat: false,
        proposals: &[],
    },
    Workload {
        name: "throwcatch",
        stresses: "exceptions: throw through 8 frames and catch (3 in 4 iterations)",
        args: &["1000000"],
        smoke_args: &["1000"],
        wasm_flags: &[],
        needs_dir: false,
        wat: true,
        proposals: &["exceptions"],
    },
    Workload {
        name: "binarytrees",
        stresses: "garbage collection: Wasm 3.0 structs, allocation and collection (binary-trees)",
        args: &["17"],
        smoke_args: &["6"],
        wasm_flags: &[],
        needs_dir: false,
        wat: true,
        proposals: &["gc"],
    },
    Workload {
        name: "parallel",
        stresses: "threads: two wasi-threads workers hash halves of a range, atomics and wait/notify",
        args: &["40000000"],
        smoke_args: &["10000"],
        wasm_flags: &[],
        needs_dir: false,
        wat: true,
        proposals: &["threads"],
    },
];
