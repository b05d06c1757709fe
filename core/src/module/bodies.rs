//! Validating function bodies, in parallel when there are many: bodies
//! validate independently once the sections before the code section have,
//! and on a 100 MB module they are most of the loader's time.
//!
//! The result is the sequential one: bodies are queued as the code section
//! is read and validated together before anything after it (the next
//! section, or the failure of a later entry) is looked at, and the failing
//! body reported is the first one in module order.

use std::sync::atomic::{AtomicUsize, Ordering};

use wasmparser::{FuncToValidate, FuncValidatorAllocations, FunctionBody, ValidatorResources};

use crate::error::LoadError;

/// Below this many bytes of queued bodies, one thread validates them (a
/// thread costs more than it saves).
const PARALLEL_BYTES: usize = 1 << 20;

/// A body and the validator state it is checked against.
type Body<'a> = (FuncToValidate<ValidatorResources>, FunctionBody<'a>);

/// Function bodies waiting for validation, in module order.
#[derive(Default)]
pub(super) struct PendingBodies<'a> {
    bodies: Vec<Body<'a>>,
    bytes: usize,
}

impl<'a> PendingBodies<'a> {
    pub fn push(&mut self, func: FuncToValidate<ValidatorResources>, body: FunctionBody<'a>) {
        self.bytes += body.range().len();
        self.bodies.push((func, body));
    }

    /// Validates every queued body; the error is the first failing body's
    /// in module order.
    pub fn validate(&mut self) -> Result<(), LoadError> {
        let bodies = std::mem::take(&mut self.bodies);
        let bytes = std::mem::take(&mut self.bytes);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        if bodies.is_empty() {
            return Ok(());
        }
        if bytes < PARALLEL_BYTES || threads == 1 {
            let mut allocations = FuncValidatorAllocations::default();
            for (func, body) in bodies {
                let mut validator = func.into_validator(allocations);
                validator.validate(&body)?;
                allocations = validator.into_allocations();
            }
            return Ok(());
        }
        let next = AtomicUsize::new(0);
        // The lowest failing index so far: workers skip bodies past it.
        let first_failure = AtomicUsize::new(usize::MAX);
        let slots: Vec<std::sync::Mutex<Option<Body<'a>>>> = bodies
            .into_iter()
            .map(|b| std::sync::Mutex::new(Some(b)))
            .collect();
        let errors = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let mut allocations = FuncValidatorAllocations::default();
                        let mut errors = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            if i >= slots.len() || i > first_failure.load(Ordering::Relaxed) {
                                break errors;
                            }
                            let taken = slots[i].lock().unwrap_or_else(|e| e.into_inner()).take();
                            let Some((func, body)) = taken else { continue };
                            let mut validator = func.into_validator(allocations);
                            if let Err(error) = validator.validate(&body) {
                                first_failure.fetch_min(i, Ordering::Relaxed);
                                errors.push((i, error));
                            }
                            allocations = validator.into_allocations();
                        }
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap_or_default())
                .collect::<Vec<_>>()
        });
        match errors.into_iter().min_by_key(|(i, _)| *i) {
            Some((_, error)) => Err(error.into()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Features, LoadError, ValidatedModule};

    /// A module with enough body bytes to validate in parallel, whose
    /// functions `bad` (in any order) do not validate.
    fn module(functions: usize, bad: &[usize]) -> Vec<u8> {
        let mut body = String::from("i32.const 7");
        for _ in 0..60 {
            body.push_str(" i32.const 7 i32.add");
        }
        let mut text = String::from("(module\n");
        for i in 0..functions {
            if bad.contains(&i) {
                text.push_str("(func (result i32) i64.const 1)\n");
            } else {
                text.push_str(&format!("(func (result i32) {body})\n"));
            }
        }
        text.push(')');
        wat::parse_str(&text).unwrap()
    }

    #[test]
    fn the_first_invalid_body_in_module_order_is_reported_as_sequentially() {
        let bytes = module(40_000, &[25_000, 20_000, 39_999]);
        assert!(
            bytes.len() > super::PARALLEL_BYTES,
            "the test must go parallel"
        );
        let sequential =
            wasmparser::Validator::new_with_features(Features::default().to_wasmparser())
                .validate_all(&bytes)
                .err()
                .expect("the module is invalid");
        let error = ValidatedModule::new(&bytes, Features::default()).unwrap_err();
        let LoadError::Invalid { offset, message } = error else {
            panic!("expected an invalid module, got {error:?}");
        };
        assert_eq!(offset, sequential.offset());
        assert_eq!(message, sequential.message());
        assert!(ValidatedModule::new(&module(40_000, &[]), Features::default()).is_ok());
    }
}
