//! Which WebAssembly proposals a module may use.

use wasmparser::WasmFeatures;

/// The proposals the loader accepts on top of WebAssembly 2.0.
///
/// Wasm 2.0 itself (multi-value, bulk memory, reference types, sign
/// extension, saturating conversions, mutable globals, SIMD) is always on:
/// every engine must support it. The flags below are the post-2.0 proposals;
/// an engine that lacks one must refuse the flag rather than misbehave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Features {
    pub tail_call: bool,
    pub extended_const: bool,
    pub multi_memory: bool,
    pub memory64: bool,
    pub relaxed_simd: bool,
    pub custom_page_sizes: bool,
    pub wide_arithmetic: bool,
    /// Exception handling as standardized in Wasm 3.0 (`try_table`,
    /// `throw`, `throw_ref`, `exnref`, tags); not the legacy `try`/`catch`.
    pub exceptions: bool,
    /// Typed function references and the Wasm 3.0 type system that comes
    /// with them: recursion groups, declared subtypes, canonical types.
    /// wasmparser 0.228 only accepts rec groups and `sub` with its `gc`
    /// flag, so that is enabled too; the GC proposal's instructions are
    /// refused by engines without [`Self::gc`] (named as the `gc` proposal).
    pub function_references: bool,
    /// Wasm 3.0's garbage collection: struct and array types and their
    /// instructions, `i31ref`, casts, the `any`/`eq` hierarchy, and
    /// conversions between `anyref` and `externref`. Needs
    /// [`Self::function_references`] (its type system).
    pub gc: bool,
    /// Shared memories, atomic memory instructions, `memory.atomic.wait`
    /// and `notify` (the threads proposal; spawning threads is the host's
    /// business: `wasi-threads`).
    pub threads: bool,
}

impl Default for Features {
    /// Wasm 2.0 with SIMD plus the finished proposals every engine supports.
    fn default() -> Self {
        Self::default_const()
    }
}

impl Features {
    /// Plain Wasm 2.0 (including SIMD), nothing newer.
    pub const fn wasm2() -> Self {
        Self {
            tail_call: false,
            extended_const: false,
            multi_memory: false,
            memory64: false,
            relaxed_simd: false,
            custom_page_sizes: false,
            wide_arithmetic: false,
            exceptions: false,
            function_references: false,
            gc: false,
            threads: false,
        }
    }

    /// Every standardized proposal: the default set plus those not every
    /// engine runs (Wasm 3.0's exception handling and typed function
    /// references; garbage collection; threads). What `wasmtier run` enables, narrowed to the chosen
    /// engine's proposals.
    pub const fn finished() -> Self {
        Self {
            exceptions: true,
            function_references: true,
            gc: true,
            threads: true,
            ..Self::default_const()
        }
    }

    /// [`Default::default`] in a constant context.
    const fn default_const() -> Self {
        Self {
            tail_call: true,
            extended_const: true,
            multi_memory: true,
            memory64: true,
            relaxed_simd: false,
            custom_page_sizes: false,
            wide_arithmetic: false,
            exceptions: false,
            function_references: false,
            gc: false,
            threads: false,
        }
    }

    /// Every proposal the loader knows.
    pub const fn all() -> Self {
        Self {
            tail_call: true,
            extended_const: true,
            multi_memory: true,
            memory64: true,
            relaxed_simd: true,
            custom_page_sizes: true,
            wide_arithmetic: true,
            exceptions: true,
            function_references: true,
            gc: true,
            threads: true,
        }
    }

    /// The same set in wasmparser's terms.
    pub fn to_wasmparser(self) -> WasmFeatures {
        let mut features = WasmFeatures::WASM2;
        features.set(WasmFeatures::TAIL_CALL, self.tail_call);
        features.set(WasmFeatures::EXTENDED_CONST, self.extended_const);
        features.set(WasmFeatures::MULTI_MEMORY, self.multi_memory);
        features.set(WasmFeatures::MEMORY64, self.memory64);
        features.set(WasmFeatures::RELAXED_SIMD, self.relaxed_simd);
        features.set(WasmFeatures::CUSTOM_PAGE_SIZES, self.custom_page_sizes);
        features.set(WasmFeatures::WIDE_ARITHMETIC, self.wide_arithmetic);
        features.set(WasmFeatures::EXCEPTIONS, self.exceptions);
        features.set(WasmFeatures::THREADS, self.threads);
        features.set(
            WasmFeatures::FUNCTION_REFERENCES | WasmFeatures::GC,
            self.function_references || self.gc,
        );
        features
    }

    /// Parses a comma-separated list: `wasm2`, `default` or `all` as a
    /// starting point, then proposal names (`tail-call`, `memory64`, …) to
    /// add, each optionally prefixed with `-` to remove it.
    pub fn parse_list(list: &str) -> Result<Self, String> {
        let mut features = Self::wasm2();
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (enable, name) = match item.strip_prefix('-') {
                Some(name) => (false, name),
                None => (true, item),
            };
            match name {
                "wasm2" if enable => features = Self::wasm2(),
                "default" if enable => features = Self::default(),
                "finished" if enable => features = Self::finished(),
                "all" if enable => features = Self::all(),
                name => {
                    let flag = features.flag_mut(name).ok_or_else(|| {
                        format!(
                            "unknown feature `{name}` (known: wasm2, default, finished, all, {})",
                            PROPOSALS.join(", ")
                        )
                    })?;
                    *flag = enable;
                }
            }
        }
        Ok(features)
    }

    /// The flag of proposal `name` (as in [`PROPOSALS`]).
    fn flag_mut(&mut self, name: &str) -> Option<&mut bool> {
        Some(match name {
            "tail-call" => &mut self.tail_call,
            "extended-const" => &mut self.extended_const,
            "multi-memory" => &mut self.multi_memory,
            "memory64" => &mut self.memory64,
            "relaxed-simd" => &mut self.relaxed_simd,
            "custom-page-sizes" => &mut self.custom_page_sizes,
            "wide-arithmetic" => &mut self.wide_arithmetic,
            "exceptions" => &mut self.exceptions,
            "function-references" => &mut self.function_references,
            "gc" => &mut self.gc,
            "threads" => &mut self.threads,
            _ => return None,
        })
    }

    /// Whether proposal `name` (as in [`PROPOSALS`]) is enabled.
    pub fn is_enabled(mut self, name: &str) -> bool {
        self.flag_mut(name).is_some_and(|on| *on)
    }

    /// This set with proposal `name` (as in [`PROPOSALS`]) turned on or off.
    pub fn with(mut self, name: &str, on: bool) -> Self {
        if let Some(flag) = self.flag_mut(name) {
            *flag = on;
        }
        self
    }

    /// The proposals enabled in both sets: what a request leaves once an
    /// engine's own set is applied.
    pub fn intersect(self, other: Self) -> Self {
        PROPOSALS.iter().fold(self, |features, name| {
            features.with(name, features.is_enabled(name) && other.is_enabled(name))
        })
    }

    /// Names of the enabled post-2.0 proposals, for messages and artifact headers.
    pub fn enabled_names(self) -> Vec<&'static str> {
        PROPOSALS
            .iter()
            .copied()
            .filter(|name| self.is_enabled(name))
            .collect()
    }
}

/// Every post-2.0 proposal the loader knows, by the name `--wasm-features`,
/// messages and artifact headers use.
pub const PROPOSALS: &[&str] = &[
    "tail-call",
    "extended-const",
    "multi-memory",
    "memory64",
    "relaxed-simd",
    "custom-page-sizes",
    "wide-arithmetic",
    "exceptions",
    "function-references",
    "gc",
    "threads",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasm2_includes_simd_and_reference_types_but_no_later_proposal() {
        let f = Features::wasm2().to_wasmparser();
        assert!(f.simd() && f.reference_types() && f.bulk_memory() && f.multi_value());
        assert!(!f.tail_call() && !f.memory64() && !f.gc() && !f.threads());
    }

    #[test]
    fn lists_start_from_wasm2_and_add_or_remove_proposals() {
        assert_eq!(Features::parse_list(""), Ok(Features::wasm2()));
        let f = Features::parse_list("tail-call, memory64").unwrap();
        assert!(f.tail_call && f.memory64 && !f.multi_memory);
        let f = Features::parse_list("all,-relaxed-simd").unwrap();
        assert!(f.wide_arithmetic && !f.relaxed_simd);
        assert!(
            Features::parse_list("garbage")
                .unwrap_err()
                .contains("unknown feature `garbage`")
        );
        assert!(Features::parse_list("gc").unwrap().to_wasmparser().gc());
    }

    #[test]
    fn every_listed_proposal_has_a_flag_and_intersection_keeps_common_ones() {
        for name in PROPOSALS {
            assert!(Features::all().is_enabled(name), "{name}");
            assert!(!Features::wasm2().is_enabled(name), "{name}");
        }
        let engine = Features::all().with("exceptions", false);
        let both = Features::default().intersect(engine);
        assert!(!both.exceptions && both.tail_call && !both.relaxed_simd);
    }

    #[test]
    fn finished_adds_exceptions_function_references_gc_and_threads_to_the_default() {
        assert_eq!(
            Features::finished(),
            Features::default()
                .with("exceptions", true)
                .with("function-references", true)
                .with("gc", true)
                .with("threads", true)
        );
    }

    #[test]
    fn default_enables_the_finished_proposals() {
        assert_eq!(
            Features::default().enabled_names(),
            ["tail-call", "extended-const", "multi-memory", "memory64"]
        );
    }
}
