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
    /// Typed function references and the Wasm 3.0 type system that comes
    /// with them: recursion groups, declared subtypes, canonical types.
    /// wasmparser 0.228 only accepts rec groups and `sub` with its `gc`
    /// flag, so that is enabled too; the GC proposal's instructions are
    /// still refused by the engines (named as the `gc` proposal), and
    /// struct and array types can only be defined, never instantiated.
    pub function_references: bool,
}

impl Default for Features {
    /// Wasm 2.0 with SIMD plus the finished proposals. Typed function
    /// references are among them although the interpreter lacks them: an
    /// engine validates without what it lacks (`EngineInfo::lacks`).
    fn default() -> Self {
        Self {
            tail_call: true,
            extended_const: true,
            multi_memory: true,
            memory64: true,
            relaxed_simd: false,
            custom_page_sizes: false,
            wide_arithmetic: false,
            function_references: true,
        }
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
            function_references: false,
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
            function_references: true,
        }
    }

    /// `self` without the proposals enabled in `other` (what an engine
    /// that lacks `other` can run of `self`).
    pub const fn without(self, other: Self) -> Self {
        Self {
            tail_call: self.tail_call && !other.tail_call,
            extended_const: self.extended_const && !other.extended_const,
            multi_memory: self.multi_memory && !other.multi_memory,
            memory64: self.memory64 && !other.memory64,
            relaxed_simd: self.relaxed_simd && !other.relaxed_simd,
            custom_page_sizes: self.custom_page_sizes && !other.custom_page_sizes,
            wide_arithmetic: self.wide_arithmetic && !other.wide_arithmetic,
            function_references: self.function_references && !other.function_references,
        }
    }

    /// Each enabled proposal alone, by name (`[("tail-call", only it), ...]`).
    pub fn each_enabled(self) -> Vec<(&'static str, Self)> {
        let names = self.enabled_names();
        names
            .into_iter()
            .filter_map(|name| Some((name, Self::parse_list(name).ok()?)))
            .collect()
    }

    /// `self` plus everything `other` enables.
    pub const fn with(self, other: Self) -> Self {
        Self {
            tail_call: self.tail_call || other.tail_call,
            extended_const: self.extended_const || other.extended_const,
            multi_memory: self.multi_memory || other.multi_memory,
            memory64: self.memory64 || other.memory64,
            relaxed_simd: self.relaxed_simd || other.relaxed_simd,
            custom_page_sizes: self.custom_page_sizes || other.custom_page_sizes,
            wide_arithmetic: self.wide_arithmetic || other.wide_arithmetic,
            function_references: self.function_references || other.function_references,
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
        features.set(
            WasmFeatures::FUNCTION_REFERENCES | WasmFeatures::GC,
            self.function_references,
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
            let flag = match name {
                "wasm2" if enable => {
                    features = Self::wasm2();
                    continue;
                }
                "default" if enable => {
                    features = Self::default();
                    continue;
                }
                "all" if enable => {
                    features = Self::all();
                    continue;
                }
                "tail-call" => &mut features.tail_call,
                "extended-const" => &mut features.extended_const,
                "multi-memory" => &mut features.multi_memory,
                "memory64" => &mut features.memory64,
                "relaxed-simd" => &mut features.relaxed_simd,
                "custom-page-sizes" => &mut features.custom_page_sizes,
                "wide-arithmetic" => &mut features.wide_arithmetic,
                "function-references" => &mut features.function_references,
                other => {
                    return Err(format!(
                        "unknown feature `{other}` (known: wasm2, default, all, tail-call, \
                         extended-const, multi-memory, memory64, relaxed-simd, \
                         custom-page-sizes, wide-arithmetic, function-references)"
                    ));
                }
            };
            *flag = enable;
        }
        Ok(features)
    }

    /// Names of the enabled post-2.0 proposals, for messages and artifact headers.
    pub fn enabled_names(self) -> Vec<&'static str> {
        [
            ("tail-call", self.tail_call),
            ("extended-const", self.extended_const),
            ("multi-memory", self.multi_memory),
            ("memory64", self.memory64),
            ("relaxed-simd", self.relaxed_simd),
            ("custom-page-sizes", self.custom_page_sizes),
            ("wide-arithmetic", self.wide_arithmetic),
            ("function-references", self.function_references),
        ]
        .into_iter()
        .filter_map(|(name, on)| on.then_some(name))
        .collect()
    }
}

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
            Features::parse_list("gc")
                .unwrap_err()
                .contains("unknown feature `gc`")
        );
    }

    #[test]
    fn default_enables_the_finished_proposals() {
        assert_eq!(
            Features::default().enabled_names(),
            [
                "tail-call",
                "extended-const",
                "multi-memory",
                "memory64",
                "function-references"
            ]
        );
    }
}
