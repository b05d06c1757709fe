//! Caps the loader enforces before it spends work on a module, so that a
//! hostile "bomb" (a huge file, millions of functions, a function with
//! millions of locals) is refused early with an error naming the offset.
//!
//! wasmparser has fixed limits of its own (the JS API's: 1,000,000
//! functions, 50,000 locals per function, …); these are ours, checked
//! first, and an embedder may tighten them.

use wasmparser::Payload;

use crate::error::LoadError;

/// What the loader accepts at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LoadLimits {
    /// Size of the binary in bytes.
    pub max_module_bytes: usize,
    /// Functions, imported and defined together.
    pub max_functions: u32,
    /// Locals declared by one function body (parameters not included).
    pub max_locals_per_function: u32,
    /// Types, counted one by one inside recursion groups. Every type costs
    /// compiled trampolines on the compiled tiers.
    pub max_types: u32,
    /// Items of all element segments together. Each item costs host memory
    /// at instantiation (a table slot, a function reference) out of
    /// proportion to its one or two bytes in the file.
    pub max_element_items: u64,
    /// Bytes of all data segments together.
    pub max_data_bytes: u64,
}

impl Default for LoadLimits {
    /// Generous: far above what real toolchains emit (large Emscripten and
    /// Unity builds have a few hundred thousand functions and a few
    /// thousand locals in their biggest function), yet small enough that
    /// the engines' per-function and per-local costs stay bounded.
    fn default() -> Self {
        Self {
            max_module_bytes: 256 << 20,
            max_functions: 1_000_000,
            max_locals_per_function: 50_000,
            // wasmparser's own cap is 1,000,000; real modules declare a
            // few thousand (a CPython build: under 2,000).
            max_types: 100_000,
            // Large Emscripten builds fill tables of a few hundred thousand
            // functions; this bounds instantiation to ~80 MB of host memory.
            max_element_items: 1_000_000,
            max_data_bytes: 256 << 20,
        }
    }
}

/// Counts kept while the payloads go by.
#[derive(Debug, Default)]
pub(crate) struct LimitCheck {
    functions: u64,
    types: u64,
    element_items: u64,
    data_bytes: u64,
}

impl LimitCheck {
    /// Refuses `bytes` outright when the whole file is too big.
    pub fn check_size(limits: &LoadLimits, bytes: &[u8]) -> Result<(), LoadError> {
        if bytes.len() > limits.max_module_bytes {
            return Err(exceeded(
                0,
                format!(
                    "module is {} bytes, over the limit of {} bytes",
                    bytes.len(),
                    limits.max_module_bytes
                ),
            ));
        }
        Ok(())
    }

    /// Checks one payload before it is validated.
    pub fn check(&mut self, limits: &LoadLimits, payload: &Payload<'_>) -> Result<(), LoadError> {
        match payload {
            Payload::ImportSection(reader) => {
                // Only function imports count; reading them is cheap next
                // to validating them, and stops at the first bad byte
                // (validation reports that one).
                let functions = reader
                    .clone()
                    .into_iter()
                    .map_while(Result::ok)
                    .filter(|i| matches!(i.ty, wasmparser::TypeRef::Func(_)))
                    .count();
                self.add_functions(limits, functions as u64, reader.range().start)
            }
            Payload::FunctionSection(reader) => {
                self.add_functions(limits, reader.count().into(), reader.range().start)
            }
            Payload::TypeSection(reader) => {
                let mut types = 0u64;
                for group in reader.clone().into_iter().map_while(Result::ok) {
                    types += group.types().len() as u64;
                }
                self.types += types;
                if self.types > u64::from(limits.max_types) {
                    return Err(exceeded(
                        reader.range().start,
                        format!(
                            "module has {} types, over the limit of {}",
                            self.types, limits.max_types
                        ),
                    ));
                }
                Ok(())
            }
            Payload::ElementSection(reader) => {
                for element in reader
                    .clone()
                    .into_iter_with_offsets()
                    .map_while(Result::ok)
                {
                    let (offset, element) = element;
                    self.element_items += u64::from(match element.items {
                        wasmparser::ElementItems::Functions(items) => items.count(),
                        wasmparser::ElementItems::Expressions(_, items) => items.count(),
                    });
                    if self.element_items > limits.max_element_items {
                        return Err(exceeded(
                            offset,
                            format!(
                                "element segments hold over {} items",
                                limits.max_element_items
                            ),
                        ));
                    }
                }
                Ok(())
            }
            Payload::DataSection(reader) => {
                for data in reader
                    .clone()
                    .into_iter_with_offsets()
                    .map_while(Result::ok)
                {
                    let (offset, data) = data;
                    self.data_bytes += data.data.len() as u64;
                    if self.data_bytes > limits.max_data_bytes {
                        return Err(exceeded(
                            offset,
                            format!("data segments hold over {} bytes", limits.max_data_bytes),
                        ));
                    }
                }
                Ok(())
            }
            Payload::CodeSectionEntry(body) => {
                let mut locals: u64 = 0;
                let reader = body.get_locals_reader()?;
                for local in reader {
                    let (count, _) = local?;
                    locals += u64::from(count);
                    if locals > u64::from(limits.max_locals_per_function) {
                        return Err(exceeded(
                            body.range().start,
                            format!(
                                "function declares over {} locals",
                                limits.max_locals_per_function
                            ),
                        ));
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn add_functions(
        &mut self,
        limits: &LoadLimits,
        count: u64,
        offset: usize,
    ) -> Result<(), LoadError> {
        self.functions += count;
        if self.functions > u64::from(limits.max_functions) {
            return Err(exceeded(
                offset,
                format!(
                    "module has {} functions, over the limit of {}",
                    self.functions, limits.max_functions
                ),
            ));
        }
        Ok(())
    }
}

fn exceeded(offset: usize, message: String) -> LoadError {
    LoadError::LimitExceeded { offset, message }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Features, ValidatedModule};

    fn load(text: &str, limits: LoadLimits) -> Result<ValidatedModule, LoadError> {
        let bytes = wat::parse_str(text).unwrap();
        ValidatedModule::with_limits(&bytes, Features::default(), &limits)
    }

    #[test]
    fn too_many_functions_are_refused_at_the_section() {
        let limits = LoadLimits {
            max_functions: 2,
            ..LoadLimits::default()
        };
        let text = r#"(module (import "m" "f" (func)) (func) (func))"#;
        let err = load(text, limits).unwrap_err();
        assert!(matches!(err, LoadError::LimitExceeded { .. }), "{err}");
        assert!(err.offset().unwrap() > 8);
        assert!(err.to_string().contains("3 functions"), "{err}");
        assert!(load(r#"(module (func) (func))"#, limits).is_ok());
    }

    #[test]
    fn too_many_locals_are_refused_at_the_body() {
        let limits = LoadLimits {
            max_locals_per_function: 10,
            ..LoadLimits::default()
        };
        let err = load(
            "(module (func (local i32 i64) (local f32 f32 f32 f32 f32 f32 f32 f32 f32)))",
            limits,
        )
        .unwrap_err();
        assert!(err.to_string().contains("over 10 locals"), "{err}");
        assert!(err.offset().is_some());
    }

    #[test]
    fn too_many_types_are_refused_at_the_section() {
        let limits = LoadLimits {
            max_types: 2,
            ..LoadLimits::default()
        };
        let three =
            "(module (type (func)) (rec (type (func (param i32))) (type (func (param i64)))))";
        let err = load(three, limits).unwrap_err();
        assert!(matches!(err, LoadError::LimitExceeded { .. }), "{err}");
        assert!(err.to_string().contains("3 types"), "{err}");
        assert!(load("(module (type (func)) (type (func (param i32))))", limits).is_ok());
    }

    #[test]
    fn element_items_are_counted_across_segments() {
        let limits = LoadLimits {
            max_element_items: 3,
            ..LoadLimits::default()
        };
        let module = |second: &str| {
            format!(
                "(module (table 10 funcref) (func $f) \
                 (elem (i32.const 0) func $f $f) (elem (i32.const 2) func {second}))"
            )
        };
        let err = load(&module("$f $f"), limits).unwrap_err();
        assert!(err.to_string().contains("over 3 items"), "{err}");
        assert!(err.offset().is_some_and(|at| at > 8), "{err:?}");
        assert!(load(&module("$f"), limits).is_ok());
    }

    #[test]
    fn data_bytes_are_counted_across_segments() {
        let limits = LoadLimits {
            max_data_bytes: 8,
            ..LoadLimits::default()
        };
        let module = |second: &str| {
            format!(
                r#"(module (memory 1) (data (i32.const 0) "abcd") (data (i32.const 9) "{second}"))"#
            )
        };
        let err = load(&module("efghi"), limits).unwrap_err();
        assert!(err.to_string().contains("over 8 bytes"), "{err}");
        assert!(load(&module("efgh"), limits).is_ok());
    }

    #[test]
    fn oversized_files_are_refused_before_parsing() {
        let limits = LoadLimits {
            max_module_bytes: 8,
            ..LoadLimits::default()
        };
        let err = load("(module (func))", limits).unwrap_err();
        assert_eq!(err.offset(), Some(0));
        assert!(err.to_string().contains("over the limit of 8 bytes"));
    }
}
